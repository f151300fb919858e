//! Secrets in a real OS keyring: GNOME Keyring's Secret Service, on a private D-Bus
//! session started by the test, with its files in a temporary folder, so no real keyring
//! (and no other test's keyring daemon) is touched.

use std::sync::Arc;
use vmo_ssh::{KeyringSecrets, SecretRef, Secrets};
use vmo_testkit::PrivateKeyring;

#[test]
fn secrets_round_trip_through_the_os_keyring() {
    let keyring = PrivateKeyring::start();
    // This test binary talks to no other bus.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", keyring.address());
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
