//! End to end: command templates in the real app against real sshd servers on 127.0.0.1 —
//! the starter library is listed and read-only; a template with two parameters is created
//! with a live preview; it runs through the builder on two VMs chosen on the VMs screen,
//! one value picked from what the first host suggested and one full of shell syntax, which
//! arrives unchanged; the job shows its template run; a Warp workflow is imported through the
//! (test-answered) open dialog and the templates exported as YAML.

mod support;

use std::path::Path;
use support::choose;
use support::fleet_in_inventory;
use support::webdriver::Driver;
use vmo_engine::commands::{Param, Template};
use vmo_engine::{Engine, Paths};

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

const WARP: &str = "\
name: Echo a greeting
command: echo {{greeting}}
description: Says hello
tags: [demo]
arguments:
  - name: greeting
    description: what to say
    default_value: hello
";

/// A dangerous template whose suggest command always fails, stored before the app starts.
fn add_broken_template(data: &Path) {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = Engine::open(Paths::new(data)).await.unwrap();
        let mut template = Template::new("e2e-broken", "echo got={{word}}");
        template.dangerous = true;
        template.declared = vec![Param {
            suggest: Some("echo no list here >&2; exit 3".into()),
            ..Param::text("word")
        }];
        engine.commands().create(template).await.unwrap();
    });
}

#[test]
fn templates_create_run_import_export() {
    let (fleet, data) =
        fleet_in_inventory(3, &[("host0", "web"), ("host1", "web"), ("host2", "db")]);
    let warp = data.path().join("greeting.yaml");
    std::fs::write(&warp, WARP).unwrap();
    add_broken_template(data.path());
    let export = data.path().join("exported.yaml");
    let marker = data.path().join("must-not-exist");
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
            ("VMO_TEST_SAVE_AS", &export),
            ("VMO_TEST_OPEN", &warp),
        ],
    );
    let s = driver.session();

    // The starter library is there, marked, and read-only.
    s.click("#nav-commands");
    s.wait_text("#template-restart-service", "starter");
    assert!(s.try_find("#template-edit-restart-service").is_none());
    assert!(s.try_find("#template-delete-restart-service").is_none());
    s.wait_text("#template-duplicate-restart-service", "Duplicate to edit");
    // Duplicating opens the copy for editing; deleting asks first.
    s.click("#template-duplicate-restart-service");
    s.wait_text("#template-editor h2", "Edit restart-service-copy");
    s.click("#template-editor .icon-button");
    s.click("#template-delete-restart-service-copy");
    s.click("#template-delete-confirm");
    s.wait_text("#toast", "Deleted restart-service-copy");
    s.wait_gone("#template-restart-service-copy");

    // A new template: two placeholders, declared, one with a suggest command.
    s.click("#commands-new");
    s.fill("#editor-name", "e2e-pick");
    s.fill("#editor-tags", "e2e");
    s.fill(
        "#editor-command",
        "echo picked={{file}}; printf 'note=%s\\n' {{note}}",
    );
    s.click("#editor-declare");
    // A parameter the command does not use is said next to it.
    s.fill("#editor-param-1-name", "notes");
    s.wait_text("#editor-param-1", "not used in the command");
    s.fill("#editor-param-1-name", "note");
    s.wait_script(
        "return !document.getElementById('editor-param-1').textContent.includes('not used');",
    );
    s.fill("#editor-param-0-suggest", "ls /etc | head -5");
    s.fill("#editor-param-1-description", "anything at all");
    // The live preview, quoted for the shell.
    s.fill("#editor-sample-file", "hosts");
    s.fill("#editor-sample-note", "it's");
    s.wait_text(
        "#editor-preview",
        r#"echo picked='hosts'; printf 'note=%s\n' 'it'\''s'"#,
    );
    s.execute("document.getElementById('editor-preview').scrollIntoView(); return true;");
    s.screenshot("commands-01-editor");
    s.click("#editor-save");
    s.wait_text("#toast", "Saved e2e-pick");
    s.wait_gone("#template-editor");
    s.wait_text("#template-e2e-pick", "printf");

    // Run it from the VMs screen on two selected VMs.
    s.click("#nav-vms");
    s.click("#vm-row-host0 input[type=checkbox]");
    s.click("#vm-row-host1 input[type=checkbox]");
    s.click("#vm-run-template-selected");
    choose(&s, "#builder-template", "e2e-pick");
    let targets = s.wait_text("#builder-targets", "host1");
    assert!(
        targets.contains("host0") && !targets.contains("host2"),
        "{targets}"
    );
    // Suggestions come from host0's /etc.
    let picked = s.text_of("#builder-suggest-file-0");
    assert!(!picked.is_empty());
    s.click("#builder-suggest-file-0");
    // The note is required: said next to its field.
    s.click("#builder-run");
    s.wait_text("#builder-error-note", "");
    let value = format!("$(touch {}); 'q' \"d\"", marker.display());
    s.fill("#builder-param-note", &value);
    s.wait_text("#builder-preview", &format!("picked='{picked}'"));
    s.wait_gone("#builder-error-note");
    s.screenshot("commands-02-builder");
    s.click("#builder-run");

    // The job page: the template run, and each host's output, exact.
    s.wait_text("#job-page h1", "Job #1");
    s.wait_text("#job-template", "e2e-pick");
    s.wait_text("#job-state", "succeeded");
    let lines = s.wait_text("#log-lines", &format!("note={value}"));
    for host in ["host0", "host1"] {
        assert!(
            lines.contains(host) && lines.contains(&format!("picked={picked}")),
            "{lines}"
        );
    }
    assert_eq!(
        lines.matches(&format!("note={value}")).count(),
        2,
        "{lines}"
    );
    assert!(!marker.exists(), "the value ran as a command");
    s.screenshot("commands-03-job");
    s.click("#nav-jobs");
    s.wait_text("#job-row-1", "e2e-pick");

    // From the Commands screen: a failing suggest command is said (and can be retried), the
    // value typed by hand, the targets chosen by tag, and a dangerous template asks first.
    s.click("#nav-commands");
    s.click("#template-run-e2e-broken");
    choose(&s, "#builder-target-tag", "web");
    s.wait_text("#builder-targets", "host1");
    s.wait_text("#builder-suggest-error-word", "exit status 3: no list here");
    s.click("#builder-suggest-retry-word");
    s.wait_text("#builder-suggest-error-word", "exit status 3");
    s.fill("#builder-param-word", "typed");
    s.click("#builder-run");
    s.wait_text("#builder-confirm", "dangerous");
    s.screenshot("commands-04-dangerous");
    s.click("#builder-confirm-yes");
    s.wait_text("#job-page h1", "Job #2");
    s.wait_text("#job-state", "succeeded");
    s.wait_text("#log-lines", "got=typed");

    // A VM's detail view opens the builder on that VM.
    s.click("#nav-vms");
    s.click("#vm-row-host2 .vm-name");
    s.wait_text("#vm-detail", "host2");
    s.click("#vm-detail-run-template");
    s.wait_gone("#vm-detail");
    choose(&s, "#builder-template", "uptime-load");
    let targets = s.wait_text("#builder-targets", "host2");
    assert!(!targets.contains("host0"), "{targets}");
    s.wait_text("#builder-preview", "uptime");
    s.click("#builder .icon-button");
    s.wait_gone("#builder");

    // Import a Warp workflow through the open dialog.
    s.click("#nav-commands");
    s.click("#commands-import");
    s.wait_text("#toast", "Imported 1 template: 1 new");
    s.wait_text("#template-Echo_a_greeting", "echo {{greeting}}");

    // Export the user's templates as YAML.
    s.click("#commands-export");
    s.wait_text("#toast", "Saved 3 templates");
    let yaml = std::fs::read_to_string(&export).unwrap();
    assert!(
        yaml.contains("e2e-pick") && yaml.contains("Echo a greeting"),
        "{yaml}"
    );
    assert!(
        !yaml.contains("restart-service"),
        "starters are not exported: {yaml}"
    );
    s.screenshot("commands-05-list");
    s.quit();
}
