//! Reliability suite, hostile input: what the tests elsewhere cover, and `vmo` on a terminal.
//!
//! - Every parser of user or remote input has property tests in its crate's `tests/fuzz.rs`
//!   (ssh config and Ansible in the engine, known_hosts in ssh, the line splitter and ANSI in
//!   joblog, templates and their importers in command, probe output in status); README's
//!   "Fuzzing" says how to run them longer.
//! - Remote output that tries to hurt (a 100 MB line, invalid UTF-8, OSC 0/2/52/8, NULs, a
//!   carriage-return storm, an endless `yes`) against real sshd: stored exactly, capped,
//!   timed out, in bounded memory (`crates/engine/tests/hostile_output.rs`), and shown
//!   without control characters in the app (`crates/joblog/tests/hostile.rs`).
//! - Here: the same output through `vmo exec` on a real terminal (a pty from `script`). A
//!   host cannot set the window title, write the clipboard, hide a link or clear the screen;
//!   colours stay. `--raw` passes the bytes through, as `ssh` would.

mod support;

use std::process::Command;
use support::reliability::vmo;
use vmo_testkit::Fleet;

/// `vmo ARGS` on a pseudo-terminal; returns what the terminal received.
fn on_a_terminal(fleet: &Fleet, data: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let mut line = shell_words::quote(vmo().to_str().unwrap()).into_owned();
    for arg in args {
        line.push(' ');
        line.push_str(&shell_words::quote(arg));
    }
    let out = Command::new("script")
        .args(["--quiet", "--return", "--command", &line, "/dev/null"])
        .env("VMO_DATA_DIR", data)
        .env("VMO_KNOWN_HOSTS", fleet.known_hosts())
        .output()
        .expect("script (util-linux)");
    assert!(out.status.success(), "{out:?}");
    out.stdout
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

#[test]
fn a_host_cannot_drive_the_terminal_vmo_prints_to() {
    let fleet = Fleet::start(1);
    let data = tempfile::tempdir().unwrap();
    let import = Command::new(vmo())
        .args(["vm", "import-ssh-config"])
        .arg(fleet.ssh_config())
        .env("VMO_DATA_DIR", data.path())
        .output()
        .unwrap();
    assert!(import.status.success(), "{import:?}");
    // Title, clipboard, a hidden link, a screen clear, a bell, a NUL and a colour.
    let hostile = r"printf '\033]0;owned\007\033]52;c;cm0gLXJmIH4=\007\033]8;;http://evil\033\\click\033]8;;\033\\ \033[2J\033[31mred\033[0m bell\007 nul\000!\n'";

    let shown = on_a_terminal(&fleet, data.path(), &["exec", "--all", "--", hostile]);
    let text = String::from_utf8_lossy(&shown);
    assert!(
        holds(
            &shown,
            "host0: click \u{1b}[0;38;5;1mred\u{1b}[0m bell\u{2407} nul\u{2400}!"
        ),
        "{text:?}"
    );
    for sequence in ["\u{1b}]0;", "\u{1b}]52;", "\u{1b}]8;", "\u{1b}[2J", "\u{7}"] {
        assert!(
            !holds(&shown, sequence),
            "{sequence:?} reached the terminal: {text:?}"
        );
    }

    // Grouped output is shown the same way.
    let grouped = on_a_terminal(
        &fleet,
        data.path(),
        &["exec", "--group", "--all", "--", hostile],
    );
    assert!(holds(&grouped, "host0 (1)"), "{grouped:?}");
    assert!(holds(&grouped, "click \u{1b}[0;38;5;1mred"), "{grouped:?}");
    assert!(!holds(&grouped, "\u{1b}]52;"), "{grouped:?}");

    // Asked for, the bytes go through untouched; and the job history has them exactly.
    let raw = on_a_terminal(
        &fleet,
        data.path(),
        &["exec", "--raw", "--all", "--", hostile],
    );
    assert!(holds(&raw, "\u{1b}]52;c;cm0gLXJmIH4=\u{7}"), "{raw:?}");
    let stored = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = vmo_engine::Engine::open(vmo_engine::Paths::new(data.path()))
            .await
            .unwrap();
        let chunks = engine
            .jobs()
            .chunks(vmo_engine::JobId(1), 0, 100)
            .await
            .unwrap();
        chunks.into_iter().flat_map(|c| c.data).collect::<Vec<u8>>()
    });
    assert_eq!(
        stored,
        b"\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\ \x1b[2J\x1b[31mred\x1b[0m bell\x07 nul\x00!\n",
        "the job history keeps what the host printed, byte for byte"
    );
}
