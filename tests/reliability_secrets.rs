//! Reliability suite, secrets: a password and a key's passphrase typed once (and a wrong
//! password on the way) reach the OS keyring and nothing else: no file of the data
//! directory, no log line at TRACE level (russh's included), no engine or Tauri event, no
//! output of `vmo`. Its own test binary: it points this process's D-Bus at a private keyring.

mod support;

use std::process::Command;
use std::sync::{Arc, Mutex};
use support::reliability::{assert_no_secret, files_under, holds, ssh_settings, vmo, App};
use vmo_engine::ssh::{KeyringSecrets, SecretRef, KEYRING_SERVICE};
use vmo_engine::{AuthMethod, Engine, Paths, VmDraft};
use vmo_testkit::{Fleet, KeyKind, PrivateKeyring};

const PASSPHRASE: &str = "Passphrase-of-enc-7f3a91";
const WRONG_PASSWORD: &str = "Wrong-Password-c0ffee42";

/// A password VM and a VM whose key has a passphrase, both used by the app (connection
/// tests, a job), by status probes and by `vmo`, with everything logged at TRACE level.
#[test]
fn secrets_reach_no_file_log_event_or_output() {
    let keyring = PrivateKeyring::start();
    // This test binary's only bus: the secrets go to the private keyring.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", keyring.address());
    let trace = tempfile::NamedTempFile::new().unwrap();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(Mutex::new(trace.reopen().unwrap()))
        .init();

    let fleet = Fleet::builder().hosts(2).password_user(true).start();
    let (pw_user, password) = fleet
        .password_user()
        .expect("the password user needs root (CI runs as root)");
    let enc_key = fleet.extra_key(KeyKind::Ed25519, Some(PASSPHRASE));
    let secrets = [password.as_str(), PASSPHRASE, WRONG_PASSWORD];
    let data = tempfile::tempdir().unwrap();
    let (pw_port, enc_port) = (fleet.hosts()[0].port(), fleet.hosts()[1].port());

    let engine = tauri::async_runtime::block_on(Engine::open_with(
        Paths::new(data.path()),
        &ssh_settings(fleet.known_hosts()),
        Arc::new(KeyringSecrets::new(KEYRING_SERVICE)),
    ))
    .unwrap();
    let mut engine_events = engine.jobs().subscribe();
    let mut app = App::new(engine.clone());
    let create =
        |draft: VmDraft| tauri::async_runtime::block_on(engine.inventory().create(draft)).unwrap();
    let pw = create(VmDraft {
        name: "pw".into(),
        host: "127.0.0.1".into(),
        port: pw_port,
        user: pw_user.clone(),
        auth: AuthMethod::Password,
        ..Default::default()
    });
    let enc = create(VmDraft {
        name: "enc".into(),
        host: "127.0.0.1".into(),
        port: enc_port,
        user: fleet.user(),
        auth: AuthMethod::KeyFile,
        key_file: Some(enc_key.to_string_lossy().into_owned()),
        ..Default::default()
    });
    // As the secret dialog keeps what the user types: first a mistyped password.
    let remember = |secret: SecretRef, value: &str| {
        tauri::async_runtime::block_on(engine.ssh().remember_secret(secret, value.into())).unwrap()
    };
    let password_ref = SecretRef::Password {
        user: pw_user.clone(),
        host: "127.0.0.1".into(),
        port: pw_port,
    };
    remember(password_ref.clone(), WRONG_PASSWORD);
    let tests = app.call("vm_test", serde_json::json!({ "ids": [pw.id] }));
    assert_eq!(tests[0]["error"]["kind"], "auth_failed", "{tests}");
    remember(password_ref, &password);
    remember(
        SecretRef::Passphrase {
            key_file: enc_key.clone(),
        },
        PASSPHRASE,
    );

    // The app: connection tests, then a job on both.
    let tests = app.call("vm_test", serde_json::json!({ "ids": [pw.id, enc.id] }));
    assert_eq!(tests[0]["ok"], true, "{tests}");
    assert_eq!(tests[1]["ok"], true, "{tests}");
    let job = app.call(
        "job_submit",
        serde_json::json!({ "command": "echo ran-as-$(id -un)", "targets": [pw.id, enc.id] }),
    );
    let job_id = job["id"].clone();
    app.wait_event(vm_orchestrator::events::JOB_CHANGED, |change| {
        change["kind"] == "finished" && change["job"]["id"] == job_id
    });
    let detail = app.call("job_get", serde_json::json!({ "id": job_id }));
    assert_eq!(detail["job"]["state"], "succeeded", "{detail}");
    // Status probes over the same logins.
    let statuses = tauri::async_runtime::block_on(engine.status().probe_round(&[pw, enc])).unwrap();
    assert!(statuses.iter().all(|s| s.error.is_none()), "{statuses:?}");

    // `vmo` on the same data directory and keyring, at TRACE level.
    let out = Command::new(vmo())
        .args(["exec", "--all", "--", "echo vmo-ran"])
        .env("VMO_DATA_DIR", data.path())
        .env("VMO_KNOWN_HOSTS", fleet.known_hosts())
        .env("DBUS_SESSION_BUS_ADDRESS", keyring.address())
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout.matches("vmo-ran").count(), 2, "{stdout}");
    assert!(out.stderr.len() > 10_000, "vmo logged at TRACE level");
    assert_no_secret("vmo's output", &out.stdout, &secrets);
    assert_no_secret("vmo's log", &out.stderr, &secrets);

    // The sweep: events, logs, files.
    while let Ok(event) = app.events.try_recv() {
        app.seen.push(event);
    }
    assert!(app.seen.len() >= 4, "{:?}", app.seen);
    for (name, payload) in &app.seen {
        assert_no_secret(&format!("a {name} event"), payload.as_bytes(), &secrets);
    }
    let mut engine_seen = 0;
    while let Ok(event) = engine_events.try_recv() {
        engine_seen += 1;
        assert_no_secret("an engine event", format!("{event:?}").as_bytes(), &secrets);
    }
    assert!(engine_seen >= 4, "engine events seen: {engine_seen}");
    let log = std::fs::read(trace.path()).unwrap();
    assert!(
        holds(&log, "russh") && log.len() > 50_000,
        "the app-side log was written at TRACE level ({} bytes)",
        log.len()
    );
    assert_no_secret("the TRACE log", &log, &secrets);
    let files = files_under(data.path());
    assert!(files.iter().any(|f| f.ends_with("inventory.sqlite3")));
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        assert_no_secret(&file.display().to_string(), &bytes, &secrets);
    }
    // They are where they belong.
    let keyring_store = KeyringSecrets::new(KEYRING_SERVICE);
    assert_eq!(
        vmo_engine::ssh::Secrets::get(&keyring_store, &SecretRef::Passphrase { key_file: enc_key })
            .as_deref(),
        Some(PASSPHRASE)
    );
}
