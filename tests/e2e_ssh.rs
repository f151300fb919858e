//! End to end: connection tests, the host-key question and an ad-hoc run, in the real
//! app against real sshd servers on 127.0.0.1.

mod support;

use std::path::Path;
use support::webdriver::Driver;
use vmo_engine::ssh::Secrets as _;
use vmo_engine::{Engine, Paths};
use vmo_testkit::Fleet;

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

#[test]
fn test_connections_trust_a_key_and_run_a_command() {
    let fleet = Fleet::start(2);
    let data = tempfile::tempdir().unwrap();
    // known_hosts knows host0 only: host1's key must be asked about.
    let known_hosts = data.path().join("known_hosts");
    let host0_port = fleet.hosts()[0].port();
    let host1_port = fleet.hosts()[1].port();
    let known: String = std::fs::read_to_string(fleet.known_hosts())
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(&format!("[127.0.0.1]:{host0_port} ")))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!known.is_empty());
    std::fs::write(&known_hosts, known).unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = Engine::open(Paths::new(data.path())).await.unwrap();
        let summary = engine
            .inventory()
            .import_apply(fleet.ssh_config(), None)
            .await
            .unwrap();
        assert_eq!(summary.added, 2);
    });

    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", &known_hosts),
        ],
    );
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    s.find("#vm-row-host0");

    // A known host tests ok.
    s.click("#vm-row-host0 button[title='Test host0']");
    s.wait_attr("#vm-status-host0 .badge", "data-status", "ok");

    // An unknown one asks, showing the server's real fingerprint, in app words.
    s.click("#vm-row-host1 button[title='Test host1']");
    let shown = s.wait_text("#host-key-row-host1", "SHA256:");
    assert!(shown.contains(&fleet.host_key_fingerprint(1)), "{shown}");
    s.wait_attr("#vm-status-host1 .badge", "data-status", "host_key_unknown");
    let status = s.wait_text("#vm-status-host1", "host key unknown");
    assert!(!status.contains("--accept-new"), "{status}");
    s.screenshot("ssh-01-host-key");
    s.click("#host-key-row-host1 input[type=checkbox]");
    s.wait_text("#host-keys-count", "1 of 1 selected");
    s.click("#host-keys-always");
    s.wait_gone("#host-key-review");
    s.wait_attr("#vm-status-host1 .badge", "data-status", "ok");
    let written = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(
        written.contains(&format!("[127.0.0.1]:{host1_port} ")),
        "{written}"
    );

    // An ad-hoc command becomes a job: output streams in, stderr apart, the exit status shown.
    s.click("#vm-row-host0 button[title='Run on host0']");
    s.fill("#run-command", "echo hello; echo oops >&2; exit 4");
    s.click("#run-start");
    s.wait_text("#log-lines", "hello");
    s.wait_text("#log-lines .stderr", "oops");
    s.wait_text("#job-state", "failed");
    s.wait_attr("#job-host-host0 .job-exit", "data-exit", "4");
    assert_eq!(s.text_of("#job-host-host0 .job-exit"), "4");
    s.screenshot("ssh-02-run");

    // A long command is cancelled, and the remote process really stops.
    let pid_file = data.path().join("remote.pid");
    s.click("#nav-vms");
    s.click("#vm-row-host0 button[title='Run on host0']");
    s.fill(
        "#run-command",
        &format!("echo $$ > {}; sleep 600", pid_file.display()),
    );
    s.click("#run-start");
    let pid = support::webdriver::wait_for_file(&pid_file);
    s.click("#job-cancel");
    s.wait_text("#job-state", "cancelled");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let alive = stat
        .rsplit_once(") ")
        .is_some_and(|(_, rest)| !rest.starts_with('Z'));
    assert!(!alive, "remote process {pid} survived the cancel: {stat}");
    s.click("#nav-vms");

    // The host is reinstalled with a new key: refused, with a warning that cannot be missed.
    fleet.restart_host(0, true);
    s.click("#vm-row-host0 button[title='Test host0']");
    s.wait_text("#host-key-changed", "HOST KEY CHANGED: host0");
    s.wait_attr("#vm-status-host0 .badge", "data-status", "host_key_changed");
    s.wait_text("#vm-status-host0", "HOST KEY CHANGED");
    s.screenshot("ssh-03-changed");
    s.quit();
}

/// The password prompt: asked, a wrong one refused and asked again with the reason, the
/// right one kept in a private GNOME Keyring (its own D-Bus) and nowhere in the data dir.
#[test]
fn a_password_is_asked_for_kept_in_the_keyring_and_used() {
    let fleet = Fleet::builder().hosts(1).password_user(true).start();
    let (user, password) = fleet
        .password_user()
        .expect("password logins need root to create the test user");
    let keyring = vmo_testkit::PrivateKeyring::start();
    let data = tempfile::tempdir().unwrap();
    let port = fleet.hosts()[0].port();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = Engine::open(Paths::new(data.path())).await.unwrap();
        let draft = vmo_engine::VmDraft {
            name: "pw".into(),
            host: "127.0.0.1".into(),
            port,
            user: user.clone(),
            auth: vmo_engine::AuthMethod::Password,
            ..Default::default()
        };
        engine.inventory().create(draft).await.unwrap();
    });
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
            ("DBUS_SESSION_BUS_ADDRESS", Path::new(keyring.address())),
        ],
    );
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard

    // No password stored yet: the app asks for it.
    s.click("#vm-row-pw button[title='Test pw']");
    s.wait_text(
        "#secret-dialog",
        &format!("Password for {user}@127.0.0.1:{port}"),
    );
    // A wrong one is refused by the server and asked for again.
    s.fill("#secret-value", "not-the-password");
    s.click("#secret-save");
    s.wait_attr("#vm-status-pw .badge", "data-status", "auth_failed");
    s.wait_text("#secret-reason", "refused the stored password");
    s.wait_text("#secret-dialog", "Password for");
    s.fill("#secret-value", &password);
    s.click("#secret-save");
    s.wait_attr("#vm-status-pw .badge", "data-status", "ok");
    s.quit();

    // It lives in the keyring, and nowhere in the inventory's files.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", keyring.address());
    let stored = vmo_engine::ssh::KeyringSecrets::new(vmo_engine::ssh::KEYRING_SERVICE).get(
        &vmo_engine::ssh::SecretRef::Password {
            user: user.clone(),
            host: "127.0.0.1".into(),
            port,
        },
    );
    assert_eq!(stored.as_deref(), Some(password.as_str()));
    for entry in std::fs::read_dir(data.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes
                    .windows(password.len())
                    .any(|w| w == password.as_bytes()),
                "the password leaked into {}",
                path.display()
            );
        }
    }
}
