//! End to end: jobs in the real app against three real sshd servers on 127.0.0.1 — lines
//! arrive live, the log filters by host, a long job is cancelled, the failed host retried,
//! the log exported to a file, and a desktop notification goes out on D-Bus.

mod support;

use std::path::Path;
use support::lag;
use support::notifications::NotificationMonitor;
use support::webdriver::{Driver, Session};
use support::{choose, fleet_in_inventory, wait_log_showing};

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

#[test]
fn run_watch_filter_cancel_retry_export_and_notify() {
    // host0 and host1 serve "web"; host2 is production (guarded by default).
    let (fleet, data) =
        fleet_in_inventory(3, &[("host0", "web"), ("host1", "web"), ("host2", "prod")]);
    // Notifications travel on the session bus this test runs in (dbus-run-session).
    let monitor = NotificationMonitor::start(&data.path().join("notifications.txt"));
    let export = data.path().join("exported.log");
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
            ("VMO_TEST_SAVE_AS", &export),
        ],
    );
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard

    // Three VMs selected, one command; host2 fails.
    for i in 0..3 {
        s.click(&format!("#vm-row-host{i} input[type=checkbox]"));
    }
    s.click("#vm-run-selected");
    s.wait_text("#run-targets", "host2");
    let port2 = fleet.hosts()[2].port();
    // line3 waits for a file the test writes once it saw the first two (bounded: 60 s).
    let go_on = data.path().join("line3.go");
    s.fill(
        "#run-command",
        &format!(
            "echo line1; echo line2; i=0; \
             while [ ! -e {go} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo line3; \
             case \"$SSH_CONNECTION\" in *\" {port2}\") echo broken >&2; exit 5;; esac",
            go = go_on.display()
        ),
    );
    s.click("#run-start");
    // host2 is tagged prod: the dialog asks first.
    s.wait_text("#run-confirm", "host2");
    s.click("#run-confirm-yes");

    // The job page: lines arrive while it runs.
    s.wait_text("#job-page h1", "Job #1");
    // One moment: the first lines are shown, line3 is not, the job runs.
    let (lines_while, state_while) = wait_log_showing(&s, &["line1", "line2"]);
    assert!(!lines_while.contains("line3"), "{lines_while}");
    assert!(state_while.contains("running"), "{state_while}");
    std::fs::write(&go_on, "").unwrap();
    s.wait_text("#log-lines", "line3");
    s.wait_text("#job-state", "failed");
    // The exit cells themselves, exactly (the row also holds durations such as "3.5 s").
    for (host, exit) in [("host0", "0"), ("host1", "0"), ("host2", "5")] {
        s.wait_attr(&format!("#job-host-{host} .job-exit"), "data-exit", exit);
        assert_eq!(s.text_of(&format!("#job-host-{host} .job-exit")), exit);
    }
    s.wait_text("#job-host-host0", "succeeded");
    s.wait_script(
        "return document.getElementById('log-count').textContent.startsWith('10 lines');",
    );
    s.screenshot("jobs-01-finished");

    // Filter by host.
    choose(&s, "#log-host", "1");
    s.wait_script(
        "return document.getElementById('log-count').textContent.startsWith('3 of 10 lines');",
    );
    let shown = s.text_of("#log-lines");
    assert!(
        shown.contains("host1") && !shown.contains("host0"),
        "{shown}"
    );

    // Export what the filter shows.
    s.click("#log-export");
    s.click("#log-export-text");
    s.wait_text("#toast", "Saved 3 lines");
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (i, line) in lines.iter().enumerate() {
        assert!(line.ends_with(&format!("host1: line{}", i + 1)), "{text}");
        assert!(line.starts_with('['), "timestamped: {text}");
    }

    // Grouped: two hosts identical, one differs.
    s.click("#log-view-grouped");
    s.wait_text("#log-group-summary", "identical on 2 hosts, 1 differs");
    s.screenshot("jobs-02-grouped");

    // Retry the failed host only: a new job on host2 alone.
    s.click("#job-retry-failed");
    s.wait_text("#job-page h1", "Job #2");
    s.wait_text("#job-state", "failed");
    let hosts = s.text_of("#job-hosts");
    assert!(
        hosts.contains("host2") && !hosts.contains("host0"),
        "{hosts}"
    );

    // A long job, cancelled: the remote command stops.
    let pid_file = data.path().join("long.pid");
    s.click("#nav-vms");
    s.click("#vm-row-host0 button[title='Run on host0']");
    s.fill(
        "#run-command",
        &format!("echo $$ > {}; sleep 60", pid_file.display()),
    );
    s.click("#run-start");
    s.wait_text("#job-page h1", "Job #3");
    let pid = support::webdriver::wait_for_file(&pid_file);
    s.click("#job-cancel");
    s.wait_text("#job-state", "cancelled");
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the cancelled command still runs"
    );

    // The Jobs screen lists all three, newest first; the state filter narrows it.
    s.click("#nav-jobs");
    s.wait_text("#job-row-3", "cancelled");
    s.wait_text("#job-row-1", "host0, host1");
    choose(&s, "#job-state-filter", "cancelled");
    s.wait_gone("#job-row-1");
    s.find("#job-row-3");
    s.screenshot("jobs-03-list");

    // Targets by tag: the preview shows the tagged VMs, and the job is labelled by the tag.
    s.click("#nav-vms");
    s.click("#vm-row-host0 button[title='Run on host0']");
    choose(&s, "#run-target-kind", "tag");
    choose(&s, "#run-target-tag", "web");
    s.wait_text("#run-targets", "host1");
    let preview = s.text_of("#run-targets");
    assert!(
        preview.contains("host0") && !preview.contains("host2"),
        "{preview}"
    );
    s.fill("#run-command", "true");
    s.click("#run-start");
    s.wait_text("#job-page h1", "Job #4");
    s.wait_text("#job-state", "succeeded");
    s.wait_text(".job-facts", "on tag:web");
    s.quit();

    // A notification was sent for the failed job.
    monitor.assert_notified("Job #1 failed");
}

/// The colour of the first span with an inline colour under `css`, and its text, as
/// "rgb(r, g, b)|text" (`null` when there is none).
fn coloured_span(s: &Session, css: &str) -> serde_json::Value {
    s.execute(&format!(
        "const e = document.querySelector({:?}); \
         return e ? getComputedStyle(e).color + '|' + e.textContent : null;",
        format!("{css} span[style*=color]")
    ))
}

/// Escape sequences are drawn as colours in every view, never printed; in the grouped view
/// a host that never ran is listed apart with its reason, not as "identical" output.
#[test]
fn every_view_renders_colours_and_grouping_sets_apart_hosts_that_did_not_run() {
    let (fleet, data) = fleet_in_inventory(3, &[]);
    fleet.stop_host(2);
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
        ],
    );
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    for i in 0..3 {
        s.click(&format!("#vm-row-host{i} input[type=checkbox]"));
    }
    s.click("#vm-run-selected");
    s.wait_text("#run-targets", "host2");
    s.fill("#run-command", r"printf '\033[31mred\033[0m\n'");
    s.click("#run-start");
    s.wait_text("#job-state", "failed");
    s.wait_text("#job-host-host2", "unreachable");
    let red = serde_json::json!("rgb(205, 0, 0)|red");

    // Interleaved.
    s.wait_text("#log-lines", "red");
    assert_eq!(coloured_span(&s, "#log-lines"), red);

    // Grouped: the two hosts that ran are one group; host2 is apart, with its reason.
    s.click("#log-view-grouped");
    s.wait_text(
        "#log-group-summary",
        "identical on all 2 hosts; 1 did not run",
    );
    s.screenshot("jobs-05-grouped-colours");
    let groups = s.text_of("#log-groups");
    assert!(
        !groups.contains("[31m") && !groups.contains('\u{1b}'),
        "raw escape sequences shown: {groups:?}"
    );
    assert_eq!(coloured_span(&s, "#log-group-0 .log-group-output"), red);
    let group = s.text_of("#log-group-0 .log-group-head");
    assert!(
        group.contains("host0, host1") && !group.contains("host2"),
        "{group}"
    );
    assert!(s.try_find("#log-group-1").is_none(), "{groups}");
    let apart = s.text_of("#log-not-run-2");
    assert!(
        apart.contains("host2") && apart.contains("refused"),
        "{apart}"
    );

    // Per host.
    s.click("#log-view-host");
    s.wait_text("#log-lines", "red");
    assert_eq!(coloured_span(&s, "#log-lines"), red);
    assert!(!s.text_of("#log-lines").contains("[31m"));
    s.quit();
}

/// A 1,000,000-line job in the viewer: counted, scrolled to the middle (the rows drawn are
/// the ones there, not all of them), and filtered by text.
#[test]
fn a_million_line_log_scrolls_and_filters() {
    let (fleet, data) = fleet_in_inventory(1, &[]);
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
        ],
    );
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    s.click("#vm-row-host0 button[title='Run on host0']");
    s.fill("#run-command", "seq 1 1000000 | sed 's/^/row /'");
    s.click("#run-start");
    s.wait_text("#job-state", "succeeded");
    s.wait_script(
        "return document.getElementById('log-count').textContent.startsWith('1000000 lines');",
    );
    // Only a window of rows is in the page, and it follows the end.
    let drawn = s.execute("return document.querySelectorAll('#log-lines .log-line').length;");
    let drawn = drawn.as_u64().unwrap();
    assert!((10..200).contains(&drawn), "{drawn} rows drawn");
    s.wait_text("#log-lines", "row 1000000");

    // Scroll to the middle: the rows there are drawn.
    s.execute(
        "const e = document.getElementById('log-lines'); \
         e.scrollTop = 500000 * 18; e.dispatchEvent(new Event('scroll')); return true;",
    );
    s.wait_text("#log-lines", "row 500001");
    // Scrolled up, the view no longer follows; the button takes it back to the end.
    s.click("#log-follow");
    wait_view(&s, "the end after Follow", |v| {
        v.at_end && v.last_row() == Some(1_000_000)
    });
    s.wait_gone("#log-follow");

    // Filter while that many lines are loaded.
    let started = std::time::Instant::now();
    s.fill("#log-search", "row 777777");
    s.wait_script(
        "return document.getElementById('log-count').textContent.startsWith('1 of 1000000 lines');",
    );
    eprintln!(
        "filtering 1,000,000 lines in the UI (debug build): {:.2?}",
        started.elapsed()
    );
    s.wait_text("#log-lines", "row 777777");
    s.screenshot("jobs-04-million");
    s.quit();
}

/// What the log viewer shows right now: its scroll position, whether that is the end,
/// the numbers of the `row N` lines in sight (not merely drawn), and its line count.
#[derive(Debug)]
struct LogView {
    top: f64,
    at_end: bool,
    rows: Vec<u64>,
    count: String,
    follow_button: bool,
}

impl LogView {
    fn read(s: &Session) -> LogView {
        let v = s.execute(
            "const e = document.getElementById('log-lines'); \
             if (!e) return null; \
             const box = e.getBoundingClientRect(); \
             const rows = [...e.querySelectorAll('.log-line')] \
               .filter(r => { const b = r.getBoundingClientRect(); \
                              return b.bottom > box.top + 1 && b.top < box.bottom - 1; }) \
               .map(r => { const m = r.textContent.match(/row (\\d+)$/); return m ? +m[1] : null; }) \
               .filter(n => n !== null); \
             return { top: e.scrollTop, \
                      atEnd: e.scrollTop + e.clientHeight >= e.scrollHeight - 2 * 18, \
                      rows, \
                      count: (document.getElementById('log-count') || {}).textContent || '', \
                      follow: !!document.getElementById('log-follow') };",
        );
        LogView {
            top: v["top"].as_f64().unwrap_or(-1.0),
            at_end: v["atEnd"].as_bool().unwrap_or(false),
            rows: v["rows"]
                .as_array()
                .map(|rows| rows.iter().filter_map(|n| n.as_u64()).collect())
                .unwrap_or_default(),
            count: v["count"].as_str().unwrap_or_default().to_string(),
            follow_button: v["follow"].as_bool().unwrap_or(false),
        }
    }

    fn first_row(&self) -> Option<u64> {
        self.rows.first().copied()
    }

    fn last_row(&self) -> Option<u64> {
        self.rows.last().copied()
    }
}

/// Waits (bounded) until the log view satisfies `ok`; returns that view.
fn wait_view(s: &Session, what: &str, ok: impl Fn(&LogView) -> bool) -> LogView {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let view = LogView::read(s);
        if ok(&view) {
            return view;
        }
        if std::time::Instant::now() > deadline {
            s.screenshot("log-view");
            panic!("the log view never showed {what}: {view:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Following a running job's log: the view sticks to the end as lines arrive; scrolled up,
/// it stays where the user put it while more arrive; the Follow button takes it back to
/// the end, and it follows again. Each batch of lines waits for a file the test writes.
#[test]
fn the_log_follows_pauses_when_scrolled_up_and_follows_again() {
    let (fleet, data) = fleet_in_inventory(1, &[]);
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
        ],
    );
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    s.click("#vm-row-host0 button[title='Run on host0']");
    let (more, last) = (data.path().join("more.go"), data.path().join("last.go"));
    // Waits for a file, bounded (60 s), so a failed test leaves nothing running.
    let wait_for = |file: &Path| {
        format!(
            "i=0; while [ ! -e {} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done",
            file.display()
        )
    };
    s.fill(
        "#run-command",
        &format!(
            "seq 1 200 | sed 's/^/row /'; {}; seq 201 260 | sed 's/^/row /'; \
             {}; seq 261 300 | sed 's/^/row /'",
            wait_for(&more),
            wait_for(&last)
        ),
    );
    s.click("#run-start");
    s.wait_text("#job-state", "running");

    // Following by default: the end is in sight.
    let view = wait_view(&s, "row 200 at the end", |v| {
        v.count.starts_with("200 lines") && v.at_end && v.last_row() == Some(200)
    });
    assert!(!view.follow_button, "{view:?}");

    // The user scrolls up: following pauses.
    s.execute(
        "const e = document.getElementById('log-lines'); \
         e.scrollTop = 0; e.dispatchEvent(new Event('scroll')); return true;",
    );
    let paused = wait_view(&s, "the top, paused", |v| {
        v.follow_button && v.first_row() == Some(1)
    });
    assert_eq!(paused.top, 0.0, "{paused:?}");

    // More lines arrive: counted, but the view stays where the user put it. (An absence
    // over time: watched for a while after the count changed, not merely once.)
    std::fs::write(&more, "").unwrap();
    wait_view(&s, "260 lines counted", |v| {
        v.count.starts_with("260 lines")
    });
    for _ in 0..10 {
        let view = LogView::read(&s);
        assert_eq!(view.top, 0.0, "new lines moved the view: {view:?}");
        assert_eq!(view.first_row(), Some(1), "{view:?}");
        assert!(view.last_row() < Some(200), "{view:?}");
        assert!(view.follow_button, "{view:?}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    s.screenshot("jobs-06-follow-paused");

    // Follow: back to the end, and the button goes.
    s.click("#log-follow");
    let view = wait_view(&s, "row 260 at the end", |v| {
        v.at_end && v.last_row() == Some(260)
    });
    assert!(view.top > 0.0, "{view:?}");
    s.wait_gone("#log-follow");

    // And it follows the next lines by itself.
    std::fs::write(&last, "").unwrap();
    wait_view(&s, "row 300 at the end", |v| {
        v.count.starts_with("300 lines") && v.at_end && v.last_row() == Some(300)
    });
    s.wait_text("#job-state", "succeeded");
    let view = LogView::read(&s);
    assert!(view.at_end && !view.follow_button, "{view:?}");
    s.quit();
}

/// Benchmark, not a test of the suite (`bench/run --ui` runs it in release): while 20 hosts
/// stream into the open log viewer (and the user scrolls and filters), how long is the UI's
/// event loop ever kept busy? Reads the app's lag probe (`VMO_LAG_PROBE`), prints it, and
/// fails if one turn of the loop was busy longer than `lag::BUSY_BOUND_MS` (50 ms in
/// release) from the first click to the end.
#[test]
#[ignore = "benchmark: bench/run runs it with --release"]
fn ui_responsiveness_while_twenty_hosts_stream() {
    let (fleet, data) = fleet_in_inventory(20, &[]);
    let probe = data.path().join("lag.txt");
    let phase = |what: &str| {
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        println!("phase at {at}: {what}");
    };
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", data.path()),
            ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
            ("VMO_LAG_PROBE", &probe),
        ],
    );
    let s = driver.session();
    s.click("#nav-vms"); // the app opens on the dashboard
    s.find("#vm-row-host19");
    let from = lag::unix_ms();
    phase("s.click('#vm-table thead input[type=chec");
    s.click("#vm-table thead input[type=checkbox]");
    s.wait_text("#vm-run-selected", "(20)");
    s.click("#vm-run-selected");
    // 20 hosts x 50,000 lines, paced so the stream lasts a few seconds.
    s.fill(
        "#run-command",
        "for i in $(seq 1 10); do seq 1 5000 | sed 's/.*/line &: \\x1b[32mok\\x1b[0m/'; sleep 0.3; done",
    );
    phase("s.click('#run-start');");
    s.click("#run-start");
    s.wait_text("#job-state", "running");
    // The user looks around while it streams.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    s.execute(
        "const e = document.getElementById('log-lines'); e.scrollTop = 1000; \
         e.dispatchEvent(new Event('scroll')); return true;",
    );
    std::thread::sleep(std::time::Duration::from_millis(1000));
    phase("s.fill('#log-search', 'line 4999:');");
    s.fill("#log-search", "line 4999:");
    std::thread::sleep(std::time::Duration::from_millis(1000));
    phase("s.click('#log-view-grouped');");
    s.click("#log-view-grouped");
    // A debug build streams slowly: allow minutes, not the usual seconds.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while !s.text_of("#job-state").contains("succeeded") {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    phase("s.click('#log-view-interleaved');");
    s.click("#log-view-interleaved");
    s.wait_script(
        "return document.getElementById('log-count').textContent.includes('of 1000000 lines');",
    );
    let to = lag::unix_ms();
    let report = lag::LagReport::after(&probe, to);
    s.quit();
    println!(
        "UI event loop while 20 hosts streamed 1,000,000 lines: {}",
        report.summary(from, to)
    );
    report.assert_responsive(from, to, "20 hosts streaming into the log viewer");
}
