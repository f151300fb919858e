//! A desktop without the tray indicator library must not take the app down. The library is
//! hidden in a private mount namespace (bind-mounting /dev/null over it), then the real app
//! is started under the suite's Xvfb. Needs root, as CI has.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

#[test]
fn app_runs_without_the_tray_library() {
    let libs: Vec<String> = glob_libs();
    assert!(
        !libs.is_empty(),
        "no appindicator library installed to hide"
    );
    let hide: String = libs
        .iter()
        .map(|lib| format!("mount --bind /dev/null {lib} && "))
        .collect();
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new("unshare")
        .args(["-m", "sh", "-c", &format!("{hide}exec {APP}")])
        .env("VMO_DATA_DIR", data.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare (util-linux) is needed");
    let (tx, lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });

    // The missing-library branch's own line (a tray that fails otherwise says "no tray
    // icon: <error>"), then the window's socket: the app went on to show its UI.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    for expected in [
        "no tray icon: the system tray library is missing",
        "UI window connected",
    ] {
        while !seen.iter().any(|l: &String| l.contains(expected)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match lines.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "the app never said {expected:?}; it said:\n{}",
                        seen.join("\n")
                    );
                }
            }
        }
    }
    // Still running with its window up, and no panic reached the terminal.
    let status = child.try_wait().unwrap();
    let _ = child.kill();
    let _ = child.wait();
    seen.extend(lines.try_iter());
    assert!(
        status.is_none(),
        "the app exited: {status:?}\n{}",
        seen.join("\n")
    );
    assert!(
        !seen.iter().any(|l| l.contains("panicked")),
        "{}",
        seen.join("\n")
    );
}

fn glob_libs() -> Vec<String> {
    let dir = "/usr/lib/x86_64-linux-gnu";
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.contains("appindicator3.so"))
                .map(|name| format!("{dir}/{name}"))
                .collect()
        })
        .unwrap_or_default()
}
