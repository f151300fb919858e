//! End to end in the real webview: settings are checked next to their field, kept across a
//! relaunch, and profiles keep their inventories apart.
//! Run through `.ci/run`, which provides Xvfb, D-Bus and tauri-driver.

mod support;

use std::path::Path;
use support::webdriver::{Driver, Session};

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

/// Types a value into a settings field and commits it (the field listens to `change`).
fn set_field(s: &Session, id: &str, value: &str) {
    s.find(&format!("#{id}"));
    s.execute(&format!(
        "const e = document.getElementById('{id}'); e.value = '{value}'; \
         e.dispatchEvent(new Event('change', {{ bubbles: true }})); return true;"
    ));
}

fn field_is(s: &Session, id: &str, value: &str) {
    s.wait_script(&format!(
        "return document.getElementById('{id}')?.value === '{value}';"
    ));
}

fn add_vm(s: &Session, name: &str, host: &str) {
    s.click("#vm-add");
    s.fill("#vm-name", name);
    s.fill("#vm-host", host);
    s.click("#vm-save");
    s.wait_gone("#vm-form");
    s.find(&format!("#vm-row-{name}"));
}

fn switch_to(s: &Session, profile: &str) {
    s.click("#profile-menu");
    s.click(&format!("#profile-item-{profile}"));
    s.wait_text("#profile-current", profile);
}

#[test]
fn settings_survive_a_relaunch() {
    let data = tempfile::tempdir().unwrap();
    let driver = Driver::start(Path::new(APP), &[("VMO_DATA_DIR", data.path())]);
    let s = driver.session();
    // The app opens on the dashboard.
    s.click("#nav-vms");
    s.find("#vm-empty");
    s.click("#nav-settings");
    s.click("#theme-dark");
    s.find("#app.theme-dark");

    // Out of bounds: the engine's message next to the field, nothing applied.
    set_field(&s, "setting-interval", "2");
    s.wait_text("#setting-interval-error", "between 5 and 3600 seconds");
    set_field(&s, "setting-global-limit", "0");
    s.wait_text("#setting-global-limit-error", "between 1 and 1024");
    s.screenshot("settings-01-errors");
    // In bounds: the error goes, the value is in force and kept.
    set_field(&s, "setting-interval", "120");
    s.wait_gone("#setting-interval-error");
    set_field(&s, "setting-global-limit", "16");
    s.wait_gone("#setting-global-limit-error");
    set_field(&s, "setting-default-user", "ops");
    // The file holds the engine's settings as one object, which vmo reads too (saved
    // by the shell as it hears the change).
    let file = data.path().join("settings.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let stored = loop {
        let stored: serde_json::Value = std::fs::read_to_string(&file)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        if stored["settings"]["new_vm"]["user"] == "ops" || std::time::Instant::now() > deadline {
            break stored;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    s.quit();
    assert_eq!(stored["theme"], "dark", "{stored}");
    assert_eq!(
        stored["settings"]["status"]["interval_secs"], 120,
        "{stored}"
    );
    assert_eq!(stored["settings"]["jobs"]["global_limit"], 16, "{stored}");

    let s = driver.session();
    s.find("#app.theme-dark");
    s.click("#nav-settings");
    field_is(&s, "setting-interval", "120");
    field_is(&s, "setting-global-limit", "16");
    // A new VM starts from the default user.
    s.click("#nav-vms");
    s.click("#vm-add");
    field_is(&s, "vm-user", "ops");
    s.screenshot("settings-02-relaunched");
    s.quit();
}

#[test]
fn profiles_keep_inventories_apart() {
    let data = tempfile::tempdir().unwrap();
    let driver = Driver::start(Path::new(APP), &[("VMO_DATA_DIR", data.path())]);
    let s = driver.session();
    // The app opens on the dashboard.
    s.click("#nav-vms");
    s.find("#vm-empty");
    s.wait_text("#profile-current", "default");
    s.wait_script("return document.title === 'VM Orchestrator — default';");
    add_vm(&s, "office", "10.0.0.1");

    // A bad name is refused next to the field; a good one creates and switches.
    s.click("#profile-menu");
    s.click("#profile-new");
    s.fill("#profile-name", "Lab");
    s.wait_text("#profile-name-error", "lowercase letters");
    s.fill("#profile-name", "default");
    s.wait_text("#profile-name-error", "main profile");
    s.fill("#profile-name", "lab");
    s.wait_gone("#profile-name-error");
    s.click("#profile-create");
    s.wait_text("#profile-current", "lab");
    s.wait_script("return document.title === 'VM Orchestrator — lab';");
    // A switch opens the new profile on its dashboard.
    s.click("#nav-vms");
    s.find("#vm-empty");
    add_vm(&s, "bench", "10.1.0.1");
    s.screenshot("profiles-01-lab");

    switch_to(&s, "default");
    s.click("#nav-vms");
    s.find("#vm-row-office");
    assert!(s.try_find("#vm-row-bench").is_none(), "lab's VM in default");
    s.wait_text("#vm-count", "1 of 1 shown");

    switch_to(&s, "lab");
    s.click("#nav-vms");
    s.find("#vm-row-bench");
    assert!(
        s.try_find("#vm-row-office").is_none(),
        "default's VM in lab"
    );
    s.click("#nav-settings");
    s.wait_text("#data-profile", "lab");
    s.quit();

    // Each profile has its own database; the app reopens the one used last.
    assert!(data.path().join("inventory.sqlite3").exists());
    assert!(data.path().join("profiles/lab/inventory.sqlite3").exists());
    let s = driver.session();
    s.wait_text("#profile-current", "lab");
    s.click("#nav-vms");
    s.find("#vm-row-bench");
    s.quit();
}
