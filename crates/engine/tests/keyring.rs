//! Secrets in a real OS keyring: GNOME Keyring's Secret Service, on a private D-Bus
//! session started by the test, with its files in a temporary folder, so no real keyring
//! (and no other test's keyring daemon) is touched.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use vmo_engine::ssh::{KeyringSecrets, SecretRef, Secrets};

/// A private session bus with an unlocked GNOME Keyring on it; both stop on drop.
struct PrivateKeyring {
    bus: Child,
    _dir: tempfile::TempDir,
}

impl PrivateKeyring {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) is needed");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        // This test binary talks to no other bus.
        std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address);
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("XDG_DATA_HOME", dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (Debian package gnome-keyring) is needed");
        // The password of the new login keyring (an empty one creates none).
        daemon.stdin.take().unwrap().write_all(b"vmo-test").unwrap();
        daemon.wait().unwrap();
        Self { bus, _dir: dir }
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        // The keyring daemon leaves when its bus goes away.
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[test]
fn secrets_round_trip_through_the_os_keyring() {
    let _keyring = PrivateKeyring::start();
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

    // The engine reads secrets from `spawn_blocking` inside its tokio runtime.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = Arc::new(store);
    let got = runtime.block_on(async move {
        tokio::task::spawn_blocking(move || store.get(&passphrase))
            .await
            .unwrap()
    });
    assert_eq!(got.as_deref(), Some("correct horse"));
}
