//! End to end: a new user's first minute, from an empty data directory and no server of
//! their own: "Try the demo fleet" on the dashboard starts local OpenSSH servers in the
//! `demo` profile, the app switches to it, `uname -a` runs on every demo VM, a killed
//! app's servers are stopped at its next start, and the getting-started steps stay
//! dismissed once dismissed.

mod support;

use std::path::Path;
use support::choose;
use support::webdriver::Driver;

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

/// Processes of the demo fleet running now, by their config files on their command line
/// (listeners only: `[listener]` in sshd's title).
fn demo_processes(data: &Path, listeners_only: bool) -> usize {
    let marker = data.join("profiles/demo/demo-fleet");
    let marker = marker.to_string_lossy();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).into_owned())
        .filter(|c| c.contains(marker.as_ref()) && (!listeners_only || c.contains("[listener]")))
        .count()
}

/// Kills whatever still names the test's demo fleet when the test ends, also when it fails
/// half-way (the app that owned the servers is gone by then).
struct KillLeftovers<'a>(&'a Path);

impl Drop for KillLeftovers<'_> {
    fn drop(&mut self) {
        let marker = self
            .0
            .join("profiles/demo/demo-fleet")
            .display()
            .to_string();
        let _ = std::process::Command::new("pkill")
            .args(["-KILL", "-f", &marker])
            .status();
    }
}

#[test]
fn the_demo_fleet_runs_a_command_on_every_host_within_a_minute() {
    let data = tempfile::tempdir().unwrap();
    let _leftovers = KillLeftovers(data.path());
    // No known_hosts of the user's: the demo profile trusts its own servers.
    let started = std::time::Instant::now();
    let driver = Driver::start(Path::new(APP), &[("VMO_DATA_DIR", data.path())]);
    let s = driver.session();
    s.find("#dashboard-empty");
    s.find("#getting-started");
    s.click("#dashboard-demo");
    s.wait_text("#profile-current", "demo");
    s.wait_text("#header-status", "5 VMs");
    assert_eq!(demo_processes(data.path(), true), 5);

    s.click("#nav-vms");
    s.find("#vm-row-demo-5");
    s.click("#vm-row-demo-1 button[title='Run on demo-1']");
    choose(&s, "#run-target-kind", "all");
    s.wait_text("#run-targets", "demo-5");
    s.fill("#run-command", "uname -a");
    s.click("#run-start");
    s.wait_text("#job-state", "succeeded");
    for i in 1..=5 {
        s.wait_text(&format!("#job-host-demo-{i}"), "succeeded");
    }
    s.wait_text("#log-viewer", "Linux");
    println!(
        "from launch to uname on 5 demo hosts: {:?}",
        started.elapsed()
    );
    s.screenshot("demo-01-job");
    // Probed too: all five reachable (default thresholds: a busy test machine may show
    // some as degraded), none offline or unknown.
    s.click("#nav-dashboard");
    s.wait_script(
        "const n = id => Number((document.querySelector('#fleet-count-' + id + ' .summary-number') || {}).textContent); \
         return n('online') + n('degraded') === 5 && !n('offline') && !n('unknown');",
    );
    s.quit();
    // The session's end kills the app (no clean quit): its servers are left behind until
    // the next start, which stops them and removes their VMs.
    let s = driver.session();
    s.wait_text("#profile-current", "demo");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while demo_processes(data.path(), false) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        demo_processes(data.path(), false),
        0,
        "demo processes left behind"
    );
    s.find("#dashboard-empty");
    // The first-launch steps stay until dismissed, and stay dismissed.
    s.click("#getting-started-dismiss");
    s.wait_gone("#getting-started");
    s.quit();
    let s = driver.session();
    s.find("#dashboard-empty");
    assert!(
        s.try_find("#getting-started").is_none(),
        "dismissed, yet shown"
    );
    s.quit();
}
