//! `vmo --profile`, `vmo profile …` and the settings file, as real processes: profiles keep
//! their inventories apart, an unknown one is refused with the list, and the app's job
//! defaults (settings.json) hold for `vmo exec` when no flag says otherwise.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use vmo_testkit::Fleet;

const VMO: &str = env!("CARGO_BIN_EXE_vmo");

fn vmo(dir: &Path, args: &[&str]) -> Output {
    Command::new(VMO)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .arg("--known-hosts")
        .arg(dir.join("known_hosts"))
        .args(args)
        .env_remove("SSH_AUTH_SOCK")
        .env_remove("VMO_DATA_DIR")
        .env_remove("VMO_KNOWN_HOSTS")
        .env_remove("RUST_LOG")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .output()
        .expect("cannot start vmo")
}

#[track_caller]
fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "vmo failed: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn names(dir: &Path, profile: Option<&str>) -> Vec<String> {
    let mut args = vec!["vm", "list", "--json"];
    if let Some(p) = profile {
        args.extend(["--profile", p]);
    }
    let list: serde_json::Value = serde_json::from_str(&ok(&vmo(dir, &args))).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|vm| vm["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn profiles_keep_inventories_apart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(&vmo(d, &["vm", "add", "office", "--host", "10.0.0.1"]));
    assert_eq!(ok(&vmo(d, &["profile", "list"])), "default\n");

    let out = ok(&vmo(d, &["profile", "create", "lab"]));
    assert!(out.contains("created profile lab"), "{out}");
    ok(&vmo(
        d,
        &[
            "--profile",
            "lab",
            "vm",
            "add",
            "bench",
            "--host",
            "10.0.0.1",
        ],
    ));
    assert_eq!(names(d, None), ["office"]);
    assert_eq!(names(d, Some("default")), ["office"]);
    assert_eq!(names(d, Some("lab")), ["bench"]);
    assert!(d.join("data/profiles/lab/inventory.sqlite3").exists());
    assert_eq!(
        ok(&vmo(d, &["profile", "list", "--json"])),
        "[\"default\",\"lab\"]\n"
    );

    // Refusals: a taken name, a bad name, an unknown profile (listing the ones there are).
    let taken = vmo(d, &["profile", "create", "lab"]);
    assert_eq!(taken.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&taken.stderr).contains("exists"));
    let bad = vmo(d, &["profile", "create", "Lab Two"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("lowercase letters"));
    let unknown = vmo(d, &["--profile", "work", "vm", "list"]);
    assert_eq!(unknown.status.code(), Some(2));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        err.contains("no profile \"work\"") && err.contains("default, lab"),
        "{err}"
    );
    assert!(
        !d.join("data/profiles/work").exists(),
        "an unknown profile was created"
    );
}

#[test]
fn job_defaults_come_from_the_settings_file() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::copy(fleet.known_hosts(), d.join("known_hosts")).unwrap();
    ok(&vmo(
        d,
        &[
            "vm",
            "import-ssh-config",
            fleet.ssh_config().to_str().unwrap(),
        ],
    ));
    // The desktop app's store: other keys beside ours, as tauri-plugin-store writes it.
    let settings = serde_json::json!({
        "theme": "dark",
        "settings": { "jobs": { "timeout_secs": 1, "hosts_at_once": 3 } }
    });
    std::fs::write(d.join("data/settings.json"), settings.to_string()).unwrap();

    let started = Instant::now();
    let out = vmo(d, &["exec", "--all", "--", "sleep 30"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "no timeout applied"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[timed out"),
        "{out:?}"
    );
    let jobs: serde_json::Value =
        serde_json::from_str(&ok(&vmo(d, &["job", "list", "--json"]))).unwrap();
    let job = &jobs[0];
    assert_eq!(job["options"]["concurrency"], 3, "{job}");

    // A flag still wins over the file.
    let out = vmo(
        d,
        &[
            "exec",
            "--all",
            "--timeout",
            "20",
            "--",
            "sleep 2; echo done",
        ],
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("done"),
        "{out:?}"
    );

    // A broken file is not fatal: defaults, and a warning.
    std::fs::write(d.join("data/settings.json"), "{ broken").unwrap();
    let out = vmo(d, &["exec", "--all", "--", "echo fine"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("settings"),
        "{out:?}"
    );
}
