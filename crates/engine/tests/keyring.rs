//! Secrets in the real OS keyring: GNOME Keyring's Secret Service on the test's private
//! D-Bus session (`.ci/run` runs the suite inside `dbus-run-session`).

use std::process::{Command, Stdio};
use vmo_engine::ssh::{KeyringSecrets, SecretRef, Secrets};

/// Starts an unlocked GNOME Keyring on this D-Bus session, keeping its files in a temporary
/// folder so no real keyring is touched.
fn unlocked_keyring(dir: &std::path::Path) {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "no D-Bus session: run the suite through .ci/run"
    );
    let mut daemon = Command::new("gnome-keyring-daemon")
        .args(["--unlock", "--components=secrets"])
        .env("XDG_DATA_HOME", dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("gnome-keyring-daemon (Debian package gnome-keyring) is needed");
    // The password of the (new) login keyring; an empty one creates none.
    use std::io::Write;
    daemon.stdin.take().unwrap().write_all(b"vmo-test").unwrap();
    let _ = daemon.wait();
}

#[test]
fn passwords_and_passphrases_round_trip_through_the_os_keyring() {
    let dir = tempfile::tempdir().unwrap();
    unlocked_keyring(dir.path());
    let store = KeyringSecrets::new(&format!("vm-orchestrator-test-{}", std::process::id()));
    let password = SecretRef::Password {
        user: "ops".into(),
        host: "10.0.0.5".into(),
        port: 2222,
    };
    let passphrase = SecretRef::Passphrase {
        key_file: "/home/ops/.ssh/id_ed25519".into(),
    };
    assert_eq!(store.get(&password), None);
    store.set(&password, "s3cret pass").unwrap();
    store.set(&passphrase, "correct horse").unwrap();
    assert_eq!(store.get(&password).as_deref(), Some("s3cret pass"));
    assert_eq!(store.get(&passphrase).as_deref(), Some("correct horse"));
    // Another port is another secret.
    let other = SecretRef::Password {
        user: "ops".into(),
        host: "10.0.0.5".into(),
        port: 22,
    };
    assert_eq!(store.get(&other), None);
    store.set(&password, "rotated").unwrap();
    assert_eq!(store.get(&password).as_deref(), Some("rotated"));
}

/// The engine reads secrets from `spawn_blocking` inside its tokio runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyring_works_from_the_engines_blocking_pool() {
    let dir = tempfile::tempdir().unwrap();
    unlocked_keyring(dir.path());
    let store = std::sync::Arc::new(KeyringSecrets::new(&format!(
        "vm-orchestrator-test-async-{}",
        std::process::id()
    )));
    let secret = SecretRef::Passphrase {
        key_file: "/k".into(),
    };
    let (s, r) = (store.clone(), secret.clone());
    tokio::task::spawn_blocking(move || s.set(&r, "from a blocking thread"))
        .await
        .unwrap()
        .unwrap();
    let got = tokio::task::spawn_blocking(move || store.get(&secret))
        .await
        .unwrap();
    assert_eq!(got.as_deref(), Some("from a blocking thread"));
}
