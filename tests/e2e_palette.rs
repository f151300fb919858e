//! End to end: the command palette and the run dialog's completion in the real app, on two
//! real sshd servers. Ctrl+K from anywhere, fuzzy queries for a VM, a template, a screen
//! and an action, Enter, Esc with the focus put back; then a command run once comes back
//! as a suggestion under the run dialog's field.

mod support;

use std::path::Path;
use support::fleet_in_inventory;
use support::webdriver::{keys, Driver, Session};

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

fn open_palette(s: &Session) {
    s.press(&[keys::CONTROL, "k"]);
    s.find("#palette-input");
    s.wait_script(
        "return document.activeElement && document.activeElement.id === 'palette-input';",
    );
}

/// A screenshot once the window has painted what the test just saw.
fn screenshot(s: &Session, name: &str) {
    std::thread::sleep(std::time::Duration::from_millis(300));
    s.screenshot(name);
}

fn focused_id(s: &Session) -> String {
    s.execute("return document.activeElement ? document.activeElement.id : '';")
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn palette_finds_and_opens_and_completion_recalls_history() {
    let (fleet, data) = fleet_in_inventory(2, &[("host0", "web"), ("host1", "db")]);
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
        ],
    );
    let s = driver.session();
    s.find("#vm-row-host1");

    // A VM by a fuzzy query: Enter opens its detail on the VMs screen.
    open_palette(&s);
    s.keys("#palette-input", "hst1");
    s.wait_text("#palette-hit-0", "host1");
    s.wait_text("#palette-hit-0 mark", "h");
    screenshot(&s, "palette-vm");
    s.keys("#palette-input", keys::ENTER);
    s.wait_gone("#palette");
    s.wait_text("#vm-detail", "host1");
    s.click("#vm-detail .icon-button");
    s.wait_gone("#vm-detail");

    // Esc closes, and the focus goes back where it was.
    s.click("#vm-search");
    open_palette(&s);
    s.press(&[keys::ESCAPE]);
    s.wait_gone("#palette");
    s.wait_script("return document.activeElement && document.activeElement.id === 'vm-search';");

    // A starter template: Enter asks for the builder on it.
    open_palette(&s);
    s.keys("#palette-input", "dsk");
    s.wait_text("#palette-hit-0", "disk-usage");
    screenshot(&s, "palette-template");
    s.keys("#palette-input", keys::ENTER);
    s.wait_gone("#palette");
    s.wait_script(
        "const m = document.getElementById('builder-request'); \
         return !!m && m.dataset.template === 'disk-usage';",
    );

    // The header button, arrows, and a screen.
    s.click("#palette-open");
    s.find("#palette-input");
    s.keys("#palette-input", "jobs");
    s.wait_text("#palette-hits", "Jobs");
    let first = s.text_of("#palette-hit-0");
    if !first.contains("Jobs") {
        s.keys("#palette-input", keys::ARROW_DOWN);
        s.find("#palette-hit-1.selected");
    }
    s.keys("#palette-input", keys::ENTER);
    s.wait_gone("#palette");
    s.find("#nav-jobs.active");

    // An action: run a command on the VMs with a tag.
    open_palette(&s);
    s.keys("#palette-input", "run web");
    s.wait_text("#palette-hit-0", "Run on tag:web");
    s.keys("#palette-input", keys::ENTER);
    s.wait_text("#run-targets", "host0");
    assert!(!s.text_of("#run-targets").contains("host1"));
    s.fill("#run-command", "echo palette-$((40+2))");
    s.click("#run-start");
    s.wait_text("#log-lines", "palette-42");

    // The command is history now: the empty palette lists it first, and the run dialog's
    // field completes it from a fuzzy fragment.
    open_palette(&s);
    s.wait_text("#palette-hit-0", "echo palette-$((40+2))");
    s.keys("#palette-input", "run a command");
    s.wait_text("#palette-hit-0", "Run a command");
    s.keys("#palette-input", keys::ENTER);
    s.find("#run-dialog");
    s.click("#run-command");
    s.keys("#run-command", "plt40");
    s.wait_text("#run-suggestion-0", "echo palette-$((40+2))");
    screenshot(&s, "run-completion");
    s.keys("#run-command", keys::ARROW_DOWN);
    s.find("#run-suggestion-0.selected");
    assert_eq!(focused_id(&s), "run-command");
    s.keys("#run-command", keys::ENTER);
    s.wait_gone("#run-suggestions");
    s.wait_script(
        "return document.getElementById('run-command').value === 'echo palette-$((40+2))';",
    );
    // Enter again runs it.
    s.keys("#run-command", keys::ENTER);
    s.wait_text("#job-page h1", "Job #2");
    s.wait_text("#log-lines", "palette-42");

    // A template suggested in the run dialog opens the builder instead of pasting text.
    open_palette(&s);
    s.keys("#palette-input", "run a command");
    s.wait_text("#palette-hit-0", "Run a command");
    s.keys("#palette-input", keys::ENTER);
    s.click("#run-command");
    s.keys("#run-command", "memory");
    s.wait_text("#run-suggestion-0", "Memory and swap");
    s.keys("#run-command", keys::TAB);
    s.wait_gone("#run-dialog");
    s.wait_script(
        "const m = document.getElementById('builder-request'); \
         return !!m && m.dataset.template === 'memory';",
    );
    s.quit();
}
