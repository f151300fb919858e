//! End to end: host keys at fleet scale in the real app against real sshd servers on
//! 127.0.0.1 — one review for twenty new hosts, a changed key replaced on its own, the run
//! dialog's key check, and the import that fetches keys for review.

mod support;

use std::path::Path;
use support::webdriver::{Driver, Session};
use vmo_engine::{Engine, Paths};
use vmo_testkit::Fleet;

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

/// `known_hosts` lines of the fleet (as of its start) for the hosts in `keep`.
fn fleet_lines(fleet: &Fleet, keep: &[usize]) -> String {
    let text = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    text.lines()
        .filter(|line| {
            keep.iter()
                .any(|&i| line.starts_with(&format!("[127.0.0.1]:{} ", fleet.hosts()[i].port())))
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// A data directory whose inventory holds every host of the fleet (imported from its config).
fn inventory_of(fleet: &Fleet) -> tempfile::TempDir {
    let data = tempfile::tempdir().unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = Engine::open(Paths::new(data.path())).await.unwrap();
        engine
            .inventory()
            .import_apply(fleet.ssh_config(), None)
            .await
            .unwrap();
    });
    data
}

fn count(s: &Session, css: &str) -> u64 {
    s.execute(&format!(
        "return document.querySelectorAll({css:?}).length;"
    ))
    .as_u64()
    .unwrap()
}

fn wait_count(s: &Session, css: &str, n: usize) {
    s.wait_script(&format!(
        "return document.querySelectorAll({css:?}).length === {n};"
    ));
}

#[test]
fn twenty_new_keys_in_one_review_and_a_changed_key_replaced_alone() {
    // host0..host19 are new; host20 was known and has been reinstalled since.
    let fleet = Fleet::start(21);
    let data = inventory_of(&fleet);
    let known_hosts = data.path().join("known_hosts");
    let old_line = fleet_lines(&fleet, &[20]);
    std::fs::write(&known_hosts, &old_line).unwrap();
    let old_fingerprint = fleet.host_key_fingerprint(20);
    fleet.restart_host(20, true);
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", &known_hosts),
        ],
    );
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    s.find("#vm-row-host20");

    // Every row, one test: one dialog lists the twenty new keys, the changed one apart.
    s.click("input[title='Select all shown']");
    s.click("#vm-test-selected");
    wait_count(&s, "#host-keys-unknown tbody tr", 20);
    assert_eq!(count(&s, "#host-key-review"), 1, "one dialog");
    let row = s.wait_text("#host-key-row-host7", "SHA256:");
    assert!(row.contains(&fleet.host_key_fingerprint(7)), "{row}");
    assert!(
        row.contains(&format!("127.0.0.1:{}", fleet.hosts()[7].port())),
        "{row}"
    );
    assert!(row.contains("ssh-ed25519"), "{row}");
    s.wait_text("#host-key-changed-host20", &fleet.host_key_fingerprint(20));
    assert_eq!(
        count(&s, "#host-key-row-host20"),
        0,
        "not among the bulk rows"
    );
    s.screenshot("keys-01-review");

    // Two clicks trust the twenty; the changed key is untouched.
    s.click("#host-keys-select-all");
    s.wait_text("#host-keys-count", "20 of 20 selected");
    s.click("#host-keys-always");
    wait_count(&s, ".vm-status .badge.ok", 20);
    let written = std::fs::read_to_string(&known_hosts).unwrap();
    assert_eq!(written.lines().count(), 21, "{written}");
    assert!(written.starts_with(&old_line), "{written}");
    for i in 0..20 {
        let line = format!(
            "[127.0.0.1]:{} {}",
            fleet.hosts()[i].port(),
            fleet.host_public_key(i)
        );
        assert!(written.lines().any(|l| l == line), "{line} missing");
    }
    s.wait_text("#vm-status-host20", "HOST KEY CHANGED");

    // The changed key: its own replace shows the old and new keys and the line it replaces.
    s.click("#host-key-replace-host20");
    let old = s.text_of("#host-key-old-fingerprint");
    assert!(old.contains(&old_fingerprint), "{old}");
    let new = s.text_of("#host-key-new-fingerprint");
    assert!(new.contains(&fleet.host_key_fingerprint(20)), "{new}");
    let line = s.text_of("#host-key-old-line-1");
    assert!(line.contains(old_line.trim()), "{line}");
    assert!(
        s.text_of("#host-key-replace-confirm")
            .contains(&known_hosts.display().to_string()),
        "the file is named"
    );
    s.screenshot("keys-02-replace");
    s.click("#host-key-replace-yes");
    s.wait_gone("#host-key-review");
    s.find("#vm-status-host20 .badge.ok");
    let written = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(!written.contains(old_line.trim()), "{written}");
    assert!(written.ends_with(&format!(
        "[127.0.0.1]:{} {}\n",
        fleet.hosts()[20].port(),
        fleet.host_public_key(20)
    )));
    assert_eq!(written.lines().count(), 21, "{written}");
    s.quit();
}

#[test]
fn import_fetches_keys_and_the_run_dialog_checks_them() {
    // host0 is known; host1 and host2 are not.
    let fleet = Fleet::start(3);
    let data = tempfile::tempdir().unwrap();
    let known_hosts = data.path().join("known_hosts");
    std::fs::write(&known_hosts, fleet_lines(&fleet, &[0])).unwrap();
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", &known_hosts),
        ],
    );
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard

    // Importing fetches the new hosts' keys and opens the review (the known one is not in it).
    s.click("#vm-import");
    s.fill("#import-path", &fleet.ssh_config().display().to_string());
    s.click("#import-preview");
    s.wait_text("#import-apply", "Import 3 hosts");
    s.click("#import-apply");
    wait_count(&s, "#host-keys-unknown tbody tr", 2);
    s.find("#host-key-row-host1");
    s.find("#host-key-row-host2");
    s.click("#host-keys-reject");
    s.wait_gone("#host-key-review");

    // The run dialog checks first: two hosts are not trusted; run on the trusted one only.
    s.click("input[title='Select all shown']");
    s.click("#vm-run-selected");
    s.fill("#run-command", "echo hi");
    s.click("#run-start");
    let offer = s.wait_text("#run-unknown-keys", "host1, host2");
    assert!(!offer.contains("--"), "{offer}");
    s.click("#run-trusted-only");
    s.wait_text("#job-state", "succeeded");
    s.find("#job-host-host0");
    assert_eq!(
        count(&s, "[id^='job-host-host']"),
        1,
        "only the trusted host"
    );

    // Again, this time reviewing: once the keys are trusted the run goes ahead by itself.
    s.click("#nav-vms");
    s.click("input[title='Select all shown']");
    s.click("#vm-run-selected");
    s.fill("#run-command", "echo hi");
    s.click("#run-start");
    s.click("#run-review-keys");
    wait_count(&s, "#host-keys-unknown tbody tr", 2);
    s.click("#host-keys-select-all");
    s.wait_text("#host-keys-count", "2 of 2 selected");
    s.click("#host-keys-always");
    s.wait_text("#job-state", "succeeded");
    wait_count(&s, "[id^='job-host-host']", 3);
    s.quit();
    assert_eq!(
        std::fs::read_to_string(&known_hosts)
            .unwrap()
            .lines()
            .count(),
        3
    );
}
