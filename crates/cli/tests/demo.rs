//! `vmo demo up|down` as a new user runs them: real sshd processes on 127.0.0.1 in the
//! `demo` profile, commands run on them, and nothing left behind after `down`.

use std::path::Path;
use std::process::{Command, Output};

const VMO: &str = env!("CARGO_BIN_EXE_vmo");

fn vmo(data: &Path, args: &[&str]) -> Output {
    Command::new(VMO)
        .args(args)
        .env("VMO_DATA_DIR", data)
        .env("HOME", data.join("home"))
        .env_remove("VMO_KNOWN_HOSTS")
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Processes naming this data directory's demo fleet (listeners say `[listener]`).
fn processes(data: &Path, listeners_only: bool) -> usize {
    let marker = data.join("profiles/demo/demo-fleet").display().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .filter(|c| c.contains(&marker) && (!listeners_only || c.contains("[listener]")))
        .count()
}

/// Demo sshd listeners running for this data directory.
fn servers(data: &Path) -> usize {
    processes(data, true)
}

/// Waits (bounded) until no process names the demo fleet; returns how many are left.
fn settle(data: &Path) -> usize {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while processes(data, false) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    processes(data, false)
}

/// Stops the fleet when the test ends, also when it fails half-way (no stray sshd).
struct DownOnDrop<'a>(&'a Path);

impl Drop for DownOnDrop<'_> {
    fn drop(&mut self) {
        let _ = vmo(self.0, &["demo", "down"]);
    }
}

#[test]
fn demo_up_runs_commands_and_down_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    std::fs::create_dir_all(data.join("home")).unwrap();
    let _down = DownOnDrop(data);
    let up = vmo(data, &["demo", "up", "--hosts", "3"]);
    assert!(up.status.success(), "{}", text(&up));
    assert!(
        text(&up).contains("Started 3 demo servers"),
        "{}",
        text(&up)
    );
    assert_eq!(servers(data), 3);
    let ports: Vec<u16> = text(&up)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("demo-"))
        .filter_map(|l| l.rsplit(':').next()?.parse().ok())
        .collect();
    assert_eq!(ports.len(), 3, "{}", text(&up));

    // Kept apart: the default profile has no VM; the demo profile has three, reachable
    // with their keys trusted (no --accept-new).
    let default = vmo(data, &["vm", "list"]);
    assert!(!text(&default).contains("demo-1"), "{}", text(&default));
    let ran = vmo(
        data,
        &["--profile", "demo", "exec", "--all", "--", "uname -s"],
    );
    assert!(ran.status.success(), "{}", text(&ran));
    for i in 1..=3 {
        assert!(
            text(&ran).contains(&format!("demo-{i}: Linux")),
            "{}",
            text(&ran)
        );
    }

    // `up` again replaces the fleet rather than adding to it.
    let again = vmo(data, &["demo", "up", "--hosts", "2"]);
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(servers(data), 2);

    let down = vmo(data, &["demo", "down"]);
    assert!(down.status.success(), "{}", text(&down));
    assert!(
        text(&down).contains("Stopped 2 demo servers"),
        "{}",
        text(&down)
    );
    assert_eq!(settle(data), 0, "processes left behind");
    for port in ports {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still answers"
        );
    }
    let list = vmo(data, &["--profile", "demo", "vm", "list"]);
    assert!(!text(&list).contains("demo-1"), "{}", text(&list));
}

#[test]
fn a_missing_sshd_names_the_package_to_install() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(VMO)
        .args(["demo", "up"])
        .env("VMO_DATA_DIR", dir.path())
        .env("VMO_DEMO_SSHD", dir.path().join("no-sshd-here"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("openssh-server"), "{}", text(&out));
    assert_eq!(processes(dir.path(), false), 0);
}
