//! Reliability suite, security: nobody but the user drives the app or reads what it keeps.
//!
//! - Secrets: `reliability_secrets.rs` (its own binary: it points D-Bus at a private keyring).
//! - Every file and folder the app and `vmo` create is private to the user: checked by mode
//!   and by another local user (`nobody`) failing to read them.
//! - The UI transport's secret is in no process's argv or environment and in no log.
//! - A changed host key is refused on every path: the app's connection test and key scan,
//!   `vmo exec`, status probes, and a VM reached through a jump host whose key changed; a
//!   key marked `@revoked` is refused by `vmo` too.
//!
//! Elsewhere, not repeated here: the transport's Origin/Host/secret/one-window refusals
//! (`ui/tests/transport.rs`), the window's navigation lock (`src-tauri/src/window.rs`),
//! known_hosts markers, wildcards and hashed names against real sshd
//! (`crates/ssh/tests/host_keys.rs`), the database never holding a secret column
//! (`crates/engine/tests/inventory.rs`). `unsafe` is denied workspace-wide (Cargo.toml).

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use support::reliability::{files_under, holds, ssh_settings, vmo, App, APP};
use support::webdriver::Driver;
use vmo_engine::{AuthMethod, Engine, Paths, VmDraft};
use vmo_testkit::Fleet;

fn run_as_nobody(args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .args(args)
        .output()
        .expect("setpriv (util-linux)")
}

/// Mode bits of every entry under `dir` (itself included) that others could use.
fn shared_entries(dir: &Path) -> Vec<String> {
    let mut open = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
        if mode & 0o077 != 0 {
            open.push(format!("{} {:o}", folder.display(), mode & 0o777));
        }
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                folders.push(path);
            } else if meta.permissions().mode() & 0o077 != 0 {
                open.push(format!(
                    "{} {:o}",
                    path.display(),
                    meta.permissions().mode() & 0o777
                ));
            }
        }
    }
    open
}

/// The real app and `vmo` on a data directory neither has seen: whatever they create is
/// for the user alone, and the UI transport's secret shows up nowhere but in the window.
#[test]
fn what_the_app_and_vmo_write_is_private_and_the_transport_secret_stays_in_the_window() {
    let fleet = Fleet::start(2);
    let parent = tempfile::tempdir().unwrap();
    // A parent others may enter, so only our own modes keep them out.
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = parent.path().join("fresh-data");
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.as_path()),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
        ],
    );
    let s = driver.session();
    s.find("#dashboard");
    // Something the app keeps in its store file.
    s.click("#getting-started-dismiss");
    s.wait_gone("#getting-started");

    let url = s.execute("return location.href;");
    let url = url.as_str().unwrap().to_string();
    let secret = url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(secret.len(), 64, "{url}");

    // `vmo` beside it: VMs, a run (locks, output), host keys in a new profile's file.
    let vmo_run = |args: &[&str]| {
        let out = Command::new(vmo())
            .args(args)
            .env("VMO_DATA_DIR", &data)
            .env("VMO_KNOWN_HOSTS", fleet.known_hosts())
            .output()
            .unwrap();
        assert!(out.status.success(), "vmo {args:?}: {out:?}");
        out
    };
    for (i, host) in fleet.hosts().iter().enumerate() {
        vmo_run(&[
            "vm",
            "add",
            &format!("h{i}"),
            "--host",
            "127.0.0.1",
            "--port",
            &host.port().to_string(),
            "--user",
            &fleet.user(),
            "--key",
            fleet.client_key().to_str().unwrap(),
        ]);
    }
    let out = vmo_run(&["exec", "--all", "--", "echo private-run"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .matches("private-run")
            .count(),
        2
    );
    vmo_run(&["profile", "create", "lab"]);
    let store = data.join("settings.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&store).is_ok_and(|t| t.contains("getting_started_dismissed")) {
        assert!(
            std::time::Instant::now() < deadline,
            "{} not written",
            store.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // The secret: not in any process's argv or environment, not in any file we wrote.
    let mut processes = 0;
    for entry in std::fs::read_dir("/proc").unwrap() {
        let dir = entry.unwrap().path();
        if !dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        for part in ["cmdline", "environ"] {
            if let Ok(bytes) = std::fs::read(dir.join(part)) {
                processes += 1;
                assert!(
                    !holds(&bytes, &secret),
                    "the transport secret is in {}",
                    dir.join(part).display()
                );
            }
        }
    }
    assert!(processes > 10, "read {processes} process records");
    let files = files_under(&data);
    assert!(
        files.iter().any(|f| f.starts_with(data.join("logs"))),
        "{files:?}"
    );
    for file in &files {
        assert!(
            !holds(&std::fs::read(file).unwrap(), &secret),
            "the transport secret is in {}",
            file.display()
        );
    }
    s.quit();

    // Private by mode, and to another local user in fact.
    assert_eq!(shared_entries(&data), Vec::<String>::new());
    for expected in [
        "inventory.sqlite3",
        "settings.json",
        "locks",
        "logs",
        "profiles/lab",
    ] {
        assert!(data.join(expected).exists(), "{expected} was written");
    }
    let listing = run_as_nobody(&["ls", data.to_str().unwrap()]);
    assert!(!listing.status.success(), "{listing:?}");
    assert!(
        String::from_utf8_lossy(&listing.stderr).contains("Permission denied"),
        "{listing:?}"
    );
    for file in &files {
        let read = run_as_nobody(&["cat", file.to_str().unwrap()]);
        assert!(!read.status.success(), "nobody read {}", file.display());
    }
}

/// host0 is reinstalled (new key); host1 is reached through host0 as its jump host;
/// host2's key is marked `@revoked`. Every path refuses, and says why.
#[test]
fn changed_and_revoked_keys_are_refused_on_every_path() {
    let fleet = Fleet::start(3);
    let data = tempfile::tempdir().unwrap();
    let known_hosts = data.path().join("known_hosts");
    std::fs::copy(fleet.known_hosts(), &known_hosts).unwrap();
    let engine = tauri::async_runtime::block_on(Engine::open_with(
        Paths::new(data.path()),
        &ssh_settings(&known_hosts),
        Arc::new(vmo_engine::ssh::NoSecrets),
    ))
    .unwrap();
    let vms = tauri::async_runtime::block_on(async {
        let inventory = engine.inventory();
        let mut vms = Vec::new();
        for (i, (name, jump)) in [("host0", None), ("host1", Some("host0")), ("host2", None)]
            .into_iter()
            .enumerate()
        {
            vms.push(
                inventory
                    .create(VmDraft {
                        name: name.into(),
                        host: "127.0.0.1".into(),
                        port: fleet.hosts()[i].port(),
                        user: fleet.user(),
                        auth: AuthMethod::KeyFile,
                        key_file: Some(fleet.client_key().to_string_lossy().into_owned()),
                        jump_host: jump.map(str::to_string),
                        ..Default::default()
                    })
                    .await
                    .unwrap(),
            );
        }
        vms
    });
    let app = App::new(engine.clone());
    let ids: Vec<vmo_engine::VmId> = vms.iter().map(|vm| vm.id).collect();
    let tests = app.call("vm_test", serde_json::json!({ "ids": ids }));
    assert!(
        tests.as_array().unwrap().iter().all(|t| t["ok"] == true),
        "all fine before: {tests}"
    );

    fleet.restart_host(0, true);
    let host2_key =
        std::fs::read_to_string(fleet.hosts()[2].host_key().with_extension("pub")).unwrap();
    let mut text = std::fs::read_to_string(&known_hosts).unwrap();
    text.push_str(&format!("@revoked * {host2_key}"));
    std::fs::write(&known_hosts, text).unwrap();
    let logins_before: Vec<usize> = (0..3).map(|i| fleet.accepted_logins(i)).collect();
    // Pooled connections from before are trusted no longer than the key: start afresh.
    drop(app);
    let engine = tauri::async_runtime::block_on(Engine::open_with(
        Paths::new(data.path()),
        &ssh_settings(&known_hosts),
        Arc::new(vmo_engine::ssh::NoSecrets),
    ))
    .unwrap();
    let app = App::new(engine.clone());
    let expected = [
        ("host0", "host_key_changed"),
        ("host1", "host_key_changed"),
        ("host2", "host_key_revoked"),
    ];

    // The app's connection test.
    let tests = app.call("vm_test", serde_json::json!({ "ids": ids }));
    for (i, (name, kind)) in expected.iter().enumerate() {
        assert_eq!(tests[i]["error"]["kind"], *kind, "{name}: {tests}");
    }
    assert!(
        tests[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("[127.0.0.1]:{}", fleet.hosts()[0].port())),
        "the jump host's key is the one named: {tests}"
    );
    // The app's key review: the jump host's change blocks the hop, nothing is offered to trust.
    let scan = app.call("host_keys_scan", serde_json::json!({ "ids": ids }));
    let scan_text = scan.to_string();
    assert!(!scan_text.contains("\"unknown\""), "{scan_text}");
    // Status probes.
    let statuses = tauri::async_runtime::block_on(engine.status().probe_round(&vms)).unwrap();
    for (status, (name, kind)) in statuses.iter().zip(expected) {
        let error = status
            .error
            .as_ref()
            .unwrap_or_else(|| panic!("{name} probed"));
        assert_eq!(error.code, kind, "{name}: {status:?}");
    }
    // `vmo exec`.
    let out = Command::new(vmo())
        .args(["exec", "--all", "--", "echo should-not-run"])
        .env("VMO_DATA_DIR", data.path())
        .env("VMO_KNOWN_HOSTS", &known_hosts)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("should-not-run"),
        "{out:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("HOST KEY CHANGED").count(), 2, "{stderr}");
    assert_eq!(stderr.matches("REVOKED HOST KEY").count(), 1, "{stderr}");
    // Not one login anywhere, and known_hosts untouched by any of it.
    let logins_after: Vec<usize> = (0..3).map(|i| fleet.accepted_logins(i)).collect();
    assert_eq!(logins_before, logins_after);
    assert!(std::fs::read_to_string(&known_hosts)
        .unwrap()
        .ends_with(&format!("@revoked * {host2_key}")));
}
