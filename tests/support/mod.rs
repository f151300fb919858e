//! Shared helpers for the app's integration and end-to-end tests.
#![allow(dead_code)]

pub mod lag;
pub mod notifications;
pub mod reliability;
pub mod webdriver;

use vmo_engine::{Engine, Paths};
use vmo_testkit::Fleet;
use webdriver::Session;

/// A fleet of `n` sshd, and a data directory whose inventory holds them (imported from the
/// fleet's ssh config) with the given `(VM, tag)` pairs.
pub fn fleet_in_inventory(n: usize, tags: &[(&str, &str)]) -> (Fleet, tempfile::TempDir) {
    let fleet = Fleet::start(n);
    let data = tempfile::tempdir().unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = Engine::open(Paths::new(data.path())).await.unwrap();
        let inventory = engine.inventory();
        inventory
            .import_apply(fleet.ssh_config(), None)
            .await
            .unwrap();
        for (name, tag) in tags {
            let vm = inventory.find_by_name(name).await.unwrap();
            let mut draft = vm.draft();
            draft.tags = vec![tag.to_string()];
            inventory.update(vm.id, draft).await.unwrap();
        }
    });
    (fleet, data)
}

/// Chooses `value` in a `<select>` the way a user's choice would (a change event), once
/// the select is there and offers that value (options may arrive after the select).
pub fn choose(s: &Session, css: &str, value: &str) {
    s.wait_script(&format!(
        "const e = document.querySelector({css:?}); \
         return !!e && [...e.options].some(o => o.value === {value:?});"
    ));
    s.execute(&format!(
        "const e = document.querySelector({css:?}); e.value = {value:?}; \
         e.dispatchEvent(new Event('change', {{ bubbles: true }})); return true;"
    ));
}

/// The log viewer as one snapshot (the DOM between two batches of edits): its text and the
/// job's state, read in one script so the two belong to the same moment.
pub fn log_snapshot(s: &Session) -> (String, String) {
    let value = s.execute(
        "const text = id => (document.getElementById(id) || {}).textContent || ''; \
         return [text('log-lines'), text('job-state')];",
    );
    let part = |i: usize| value[i].as_str().unwrap_or_default().to_string();
    (part(0), part(1))
}

/// Waits until the log viewer shows `present` while the job reads running, and returns
/// that snapshot (text, job state), so a caller can check what else was or was not there
/// at that same moment. (Lines may show a moment before the state: job pages re-read a
/// job at most every 100 ms, output arrives as it comes.)
pub fn wait_log_showing(s: &Session, present: &[&str]) -> (String, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (lines, state) = log_snapshot(s);
        if present.iter().all(|p| lines.contains(p)) && state.contains("running") {
            return (lines, state);
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the log never showed {present:?}; last: {lines:?} ({state})"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
