//! End to end in the real webview: the built app under Xvfb, driven through WebDriver
//! (tauri-driver + WebKitWebDriver), with a temporary data directory.
//! Run through `.ci/run`, which provides Xvfb, D-Bus and tauri-driver.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::webdriver::{Driver, Session};

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

/// Waits until nothing matches `css`, failing after `limit`; returns how long it took.
fn gone_within(s: &Session, css: &str, limit: Duration) -> Duration {
    let started = Instant::now();
    while s.try_find(css).is_some() {
        assert!(
            started.elapsed() < limit,
            "{css:?} still shown after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    started.elapsed()
}

fn row(name: &str) -> String {
    format!("#vm-row-{name}")
}

fn row_button(s: &Session, name: &str, label: &str) {
    s.click(&format!("#vm-row-{name} button[title='{label} {name}']"));
}

#[test]
fn inventory_end_to_end() {
    let data = tempfile::tempdir().unwrap();
    let ssh = tempfile::tempdir().unwrap();
    let config = ssh.path().join("config");
    std::fs::write(
        ssh.path().join("extra.conf"),
        "Host beta\n  HostName 10.9.0.2\n  Port 2200\n",
    )
    .unwrap();
    std::fs::write(
        &config,
        "Include extra.conf\n\nHost alpha\n  HostName 10.9.0.1\n  IdentityFile ~/.ssh/id_alpha\n\nHost *\n  User deploy\n",
    )
    .unwrap();
    let driver = Driver::start(Path::new(APP), &[("VMO_DATA_DIR", data.path())]);

    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    s.find("#vm-empty");
    s.screenshot("01-empty");

    // Add a VM through the form.
    s.click("#vm-add");
    s.fill("#vm-name", "web-1");
    s.fill("#vm-host", "10.0.0.5");
    s.fill("#vm-user", "ops");
    s.fill("#vm-tags", "Prod, web");
    s.click("#vm-save");
    s.wait_gone("#vm-form");
    assert_eq!(
        s.text_of(&format!("{} .vm-address", row("web-1"))),
        "ops@10.0.0.5"
    );
    s.wait_text(&row("web-1"), "prod");
    s.wait_text("#header-status", "1 VM");

    // Edit it: a bad port is refused next to the field and nothing is saved...
    row_button(&s, "web-1", "Edit");
    s.fill("#vm-port", "70000");
    s.click("#vm-save");
    s.wait_text(
        "#vm-port-error",
        "Port must be a whole number from 1 to 65535",
    );
    s.screenshot("02-bad-port");
    // ...then a good one is.
    s.fill("#vm-port", "2222");
    s.click("#vm-save");
    s.wait_gone("#vm-form");
    s.wait_text(
        &format!("{} .vm-address", row("web-1")),
        "ops@10.0.0.5:2222",
    );

    // A duplicate name is refused with a message on the name field.
    s.click("#vm-add");
    s.fill("#vm-name", "WEB-1");
    s.fill("#vm-host", "10.0.0.6");
    s.click("#vm-save");
    s.wait_text("#vm-name-error", "already exists");
    s.click("#vm-form .modal-foot .button:not(.primary)");
    s.wait_gone("#vm-form");

    // Import two hosts from an ssh config (with an Include and Host * defaults).
    s.click("#vm-import");
    s.fill("#import-path", config.to_str().unwrap());
    s.click("#import-preview");
    s.wait_text("#import-row-alpha", "new");
    s.wait_text("#import-row-beta", "deploy@10.9.0.2:2200");
    s.screenshot("03-import-preview");
    s.wait_text("#import-apply", "Import 2 hosts");
    s.click("#import-apply");
    s.wait_gone("#vm-import-dialog");
    // The confirmation leaves by itself, though the dialog that showed it has closed.
    s.wait_text("#toast", "Imported: 2 added, 0 updated");
    let took = gone_within(&s, "#toast", Duration::from_secs(8));
    eprintln!("the import toast left after {took:?}");
    s.wait_text(&format!("{} .vm-address", row("alpha")), "deploy@10.9.0.1");
    // The key file is in the row (its column gives way below 1440 px, as here).
    s.wait_script(&format!(
        "const c = document.querySelector('{} .vm-auth'); return !!c && c.textContent.includes('id_alpha');",
        row("alpha")
    ));
    s.wait_text(
        &format!("{} .vm-address", row("beta")),
        "deploy@10.9.0.2:2200",
    );
    s.wait_text("#header-status", "3 VMs");

    // Search narrows the list.
    s.fill("#vm-search", "10.9.0");
    s.wait_gone(&row("web-1"));
    s.find(&row("alpha"));
    s.fill("#vm-search", "");
    s.find(&row("web-1"));

    // Delete one, after confirming.
    row_button(&s, "beta", "Delete");
    s.wait_text("#vm-delete-dialog", "Delete beta?");
    s.click("#vm-delete-confirm");
    s.wait_gone(&row("beta"));
    s.wait_text("#header-status", "2 VMs");
    s.screenshot("04-after-delete");

    // The transport drops: the window reconnects by itself and still works.
    s.execute("window.vmoMarker = 1; window.vmoSocket.close();");
    // A reloaded page (marker gone) on an open socket.
    s.wait_script(
        "return window.vmoMarker === undefined && !!window.vmoSocket && window.vmoSocket.readyState === 1;",
    );
    s.click("#nav-vms"); // a fresh page opens on the dashboard
    s.find(&row("alpha"));
    s.click("#nav-settings");
    s.wait_text("#content", "Data directory");
    // An error stays (longer than information would) until its close button is clicked.
    s.execute(
        "const e = document.getElementById('output-cap'); e.value = '0'; \
         e.dispatchEvent(new Event('change', { bubbles: true })); return true;",
    );
    s.wait_text("#toast.error", "at least 1 MiB");
    std::thread::sleep(Duration::from_secs(6));
    s.wait_text("#toast.error", "at least 1 MiB");
    s.screenshot("04b-error-toast");
    s.click("#toast-close");
    s.wait_gone("#toast");
    s.click("#nav-jobs");
    s.wait_text("#jobs-empty", "No jobs");
    s.click("#nav-vms");
    s.find(&row("web-1"));

    // Quit and relaunch: the inventory is as it was.
    s.quit();
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    s.wait_text(
        &format!("{} .vm-address", row("web-1")),
        "ops@10.0.0.5:2222",
    );
    s.find(&row("alpha"));
    assert!(s.try_find(&row("beta")).is_none(), "deleted VM came back");
    s.wait_text("#vm-count", "2 of 2 shown");
    s.screenshot("05-relaunched");
    s.quit();

    assert!(data.path().join("inventory.sqlite3").exists());
}

#[test]
fn tags_details_duplicate_bulk_delete_and_theme() {
    let data = tempfile::tempdir().unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = vmo_engine::Engine::open(vmo_engine::Paths::new(data.path()))
            .await
            .unwrap();
        for (name, tags) in [("web-1", "prod web"), ("web-2", "web"), ("db-1", "prod")] {
            let draft = vmo_engine::VmDraft {
                name: name.into(),
                host: format!("{name}.lan"),
                tags: vmo_engine::vm::parse_tags(tags),
                notes: format!("notes of {name}"),
                ..Default::default()
            };
            engine.inventory().create(draft).await.unwrap();
        }
    });
    let driver = Driver::start(Path::new(APP), &[("VMO_DATA_DIR", data.path())]);
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    s.wait_text("#vm-count", "3 of 3 shown");

    // A tag chip filters, and a second click clears it.
    s.click(".chips .chip:first-child");
    s.wait_text("#vm-count", "2 of 3 shown");
    s.find(&row("web-1"));
    s.find(&row("db-1"));
    assert!(s.try_find(&row("web-2")).is_none());
    s.click(".chips .chip.active");
    s.wait_text("#vm-count", "3 of 3 shown");

    // Details show every field; Edit goes on from there.
    s.click(&format!("{} .vm-name", row("db-1")));
    s.wait_text("#vm-detail", "notes of db-1");
    s.wait_text("#vm-detail", "db-1.lan");
    s.click("#vm-detail-edit");
    s.wait_text("#vm-form .modal-head", "Edit db-1");
    s.click("#vm-form .modal-foot .button:not(.primary)");
    s.wait_gone("#vm-form");

    // Duplicate: a copy under a free name, opened for editing.
    row_button(&s, "web-1", "Duplicate");
    s.wait_text("#vm-form .modal-head", "Edit web-1-copy");
    s.click("#vm-form .modal-foot .button:not(.primary)");
    s.wait_text(&row("web-1-copy"), "prod");
    s.wait_text("#vm-count", "4 of 4 shown");

    // Bulk delete of a selection, after confirming. The boxes are ticked on the elements
    // themselves: a click by position could land on a neighbour while the list re-lays out
    // after the duplicate.
    for name in ["web-2", "web-1-copy"] {
        s.execute(&format!(
            "document.querySelector('{} input[type=checkbox]').click(); return true;",
            row(name)
        ));
        s.find(&format!("{}.selected", row(name)));
    }
    s.wait_text("#vm-delete-selected", "Delete selected (2)");
    s.click("#vm-delete-selected");
    s.wait_text("#vm-delete-dialog", "Delete 2 VMs?");
    let listed = s.text_of("#vm-delete-dialog .name-list");
    assert!(
        listed.contains("web-2") && listed.contains("web-1-copy") && !listed.contains("db-1"),
        "{listed}"
    );
    s.click("#vm-delete-confirm");
    s.wait_text("#vm-count", "2 of 2 shown");
    assert!(s.try_find(&row("web-2")).is_none());

    // The theme is a preference: chosen in Settings, kept across launches.
    s.click("#nav-settings");
    // The notification choices are a list: one per row, spaced, each box before its text.
    s.find("#notify-recovered");
    let boxes = s.execute(
        "return [...document.querySelectorAll('#job-settings label.check')].map(l => { \
           const r = l.getBoundingClientRect(); \
           const b = l.querySelector('input').getBoundingClientRect(); \
           const t = document.createRange(); t.selectNodeContents(l.lastChild); \
           const w = t.getBoundingClientRect(); \
           return [r.top, r.bottom, b.right, w.left]; });",
    );
    let boxes: Vec<Vec<f64>> = serde_json::from_value(boxes).unwrap();
    assert_eq!(boxes.len(), 3, "{boxes:?}");
    for pair in boxes.windows(2) {
        assert!(pair[1][0] >= pair[0][1] + 4.0, "rows touch: {boxes:?}");
    }
    for label in &boxes {
        assert!(
            label[3] >= label[2] + 4.0,
            "box runs into its text: {boxes:?}"
        );
    }
    s.screenshot("06a-settings");
    s.click("#theme-dark");
    s.find("#app.theme-dark");
    s.screenshot("06-dark-settings");
    s.quit();
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    s.find("#app.theme-dark");
    s.find(&row("web-1"));
    s.screenshot("07-dark-relaunched");
    s.quit();
}

#[test]
fn ansible_import_and_export() {
    let data = tempfile::tempdir().unwrap();
    let inventory = data.path().join("hosts.ini");
    std::fs::write(
        &inventory,
        "[web]\nweb[01:02] ansible_host=10.0.0.1 ansible_user=deploy\n\n[db]\n\
         db1 ansible_host=10.0.1.1 ansible_ssh_common_args='-o ProxyJump=web01'\n\n\
         [paris:children]\nweb\ndb\n\n[europe:children]\nparis\n\n[db:vars]\nansible_user=postgres\n",
    )
    .unwrap();
    let export = data.path().join("exported.yml");
    let driver = Driver::start(
        Path::new(APP),
        &[("VMO_DATA_DIR", data.path()), ("VMO_TEST_SAVE_AS", &export)],
    );
    let s = driver.session();
    s.click("#nav-vms");
    s.find("#vm-empty");

    // The import dialog reads an Ansible inventory when asked to.
    s.click("#vm-import");
    support::choose(&s, "#import-source", "ansible");
    s.fill("#import-path", inventory.to_str().unwrap());
    s.click("#import-preview");
    s.wait_text("#import-row-web02", "new");
    s.wait_text("#import-row-db1", "postgres@10.0.1.1:22");
    s.wait_text("#import-row-db1", "via web01");
    s.wait_text("#import-row-db1", "tags db, europe, paris");
    s.screenshot("ansible-01-preview");
    // No host-key fetch: these addresses lead nowhere.
    s.click("#import-fetch-keys");
    s.wait_text("#import-apply", "Import 3 hosts");
    s.click("#import-apply");
    s.wait_gone("#vm-import-dialog");
    s.wait_text("#toast", "Imported: 3 added, 0 updated");
    // Groups and their parents are tags.
    for tag in ["europe", "paris", "web"] {
        s.wait_text(&row("web01"), tag);
    }
    s.wait_text(&row("db1"), "db");
    s.wait_text(&row("db1"), "europe");

    // Filtered by one tag, the export holds that tag's VMs, the jump resolved.
    s.fill("#vm-search", "tag:db");
    s.wait_gone(&row("web01"));
    s.click("#vm-export-ansible");
    let text = support::webdriver::wait_for_file(&export);
    s.wait_text("#toast", "Saved the VMs tagged db");
    assert!(text.contains("db1:"), "{text}");
    assert!(!text.contains("web02"), "{text}");
    assert!(text.contains("ansible_user: postgres"), "{text}");
    assert!(text.contains("ProxyJump=deploy@10.0.0.1"), "{text}");
    assert!(text.contains("europe:"), "{text}");
    s.screenshot("ansible-02-exported");
    s.quit();
}
