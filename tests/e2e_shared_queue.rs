//! End to end: one queue for the app and `vmo`. With the real app open on a data
//! directory, a `vmo exec` on the same directory shows on the Jobs screen and its page
//! while it runs, and its end raises a desktop notification; a job whose output the disk
//! cannot hold says so on its page and in a notification, and never ends as succeeded.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::notifications::NotificationMonitor;
use support::webdriver::Driver;
use support::{fleet_in_inventory, wait_log_showing};

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

/// `vmo`, built beside the app by `cargo test --workspace` (its own package's tests).
fn vmo() -> PathBuf {
    let vmo = Path::new(APP).with_file_name("vmo");
    assert!(
        vmo.exists(),
        "{} is missing: build it first (cargo build -p vmo-cli)",
        vmo.display()
    );
    vmo
}

#[test]
fn a_vmo_job_shows_live_in_the_open_app_and_notifies() {
    let (fleet, data) = fleet_in_inventory(2, &[]);
    let monitor = NotificationMonitor::start(&data.path().join("notifications.txt"));
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
        ],
    );
    let s = driver.session();
    s.click("#nav-jobs");

    // Another program runs a job on both VMs; host1 fails at the end. "second" waits for
    // a file the test writes once it saw "first" (bounded: 60 s).
    let port1 = fleet.hosts()[1].port();
    let go_on = data.path().join("second.go");
    let mut exec = Command::new(vmo())
        .arg("--data-dir")
        .arg(data.path())
        .arg("--known-hosts")
        .arg(fleet.known_hosts())
        .args(["exec", "--all", "--"])
        .arg(format!(
            "echo first; i=0; \
             while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \
             echo second; case \"$SSH_CONNECTION\" in *\" {port1}\") exit 3;; esac",
            go = go_on.display()
        ))
        .env_remove("VMO_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    // It appears on the Jobs screen while it runs, marked as started by vmo...
    let row = s.wait_text("#job-row-1", "running");
    assert!(row.contains("vmo"), "{row}");
    // ...and its page shows its output live.
    s.click("#job-row-1 td.command-cell");
    s.wait_text("#job-page h1", "Job #1");
    // One moment: "first" is shown, "second" is not, the job runs.
    let (lines, state) = wait_log_showing(&s, &["host0", "host1", "first"]);
    assert!(!lines.contains("second"), "{lines}");
    assert!(state.contains("running"), "{state}");
    s.screenshot("shared-queue-01-live");
    std::fs::write(&go_on, "").unwrap();
    s.wait_text("#job-state", "failed");
    s.wait_text("#log-lines", "second");
    s.wait_attr("#job-host-host0 .job-exit", "data-exit", "0");
    s.wait_attr("#job-host-host1 .job-exit", "data-exit", "3");
    assert_eq!(exec.wait().unwrap().code(), Some(1));
    s.quit();
    monitor.assert_notified("Job #1 failed");
}

#[test]
fn output_the_disk_cannot_hold_is_reported_on_the_job_and_notified() {
    let fleet = vmo_testkit::Fleet::start(2);
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let disk = vmo_testkit::SmallDisk::mount(&data, "8m");
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = vmo_engine::Engine::open(vmo_engine::Paths::new(&data))
            .await
            .unwrap();
        engine
            .inventory()
            .import_apply(fleet.ssh_config(), None)
            .await
            .unwrap();
    });
    let monitor = NotificationMonitor::start(&root.path().join("notifications.txt"));
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", &data),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
        ],
    );
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    s.find("#vm-row-host0");
    // Leave about 1 MB free, then run 2 x 4 MB of output.
    disk.fill(1 << 20);

    for i in 0..2 {
        s.click(&format!("#vm-row-host{i} input[type=checkbox]"));
    }
    s.click("#vm-run-selected");
    s.fill(
        "#run-command",
        "yes 0123456789012345678901234567890123456789 | head -c 4000000",
    );
    s.click("#run-start");
    s.wait_text("#job-page h1", "Job #1");
    let error = s.wait_text("#job-record-error", "was not recorded");
    assert!(
        error.contains(&format!("the disk holding {} is full", data.display())),
        "{error}"
    );
    // Both hosts succeed, the job does not.
    s.wait_text("#job-host-host0", "succeeded");
    s.wait_text("#job-host-host1", "succeeded");
    s.wait_text("#job-state", "failed");
    s.screenshot("shared-queue-02-disk-full");
    s.quit();
    monitor.assert_notified("output not recorded");
}
