//! Reliability at fleet size, in the real app: 10,000 VMs and a finished job over all
//! 10,000 of them. The VM list counts 10,000 but holds only the rows in sight, scrolls to
//! its last VM, searches, selects all and tags all 10,000 in one go (checked in the
//! database); the job page's host table and the grouped view draw bounded rows and count
//! right ("identical on 8990 hosts").
//!
//! The job is real, not written into the database: 10,000 VMs point at two real sshd (an
//! alias per VM, as many inventories name one machine many ways) or, for ten of them, at
//! a closed port; the engine runs the command on every one of them through its pooled
//! connections, so every host has its own record, state and output, as after a real run.
//! The two servers answer differently, which makes two groups; the closed port makes
//! hosts that did not run. Status is simulated (`VMO_SIMULATE_STATUS`): 10,000 VMs change
//! every second while the test runs, without 10,000 probes a round.
//!
//! With `--nocapture` it prints how long each step took.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::webdriver::{Driver, Session};
use tokio::sync::broadcast::error::RecvError;
use vmo_engine::jobs::{HostState, JobId, JobOptions, JobSpec, JobState, Origin};
use vmo_engine::{Engine, JobEvent, Paths, VmId};
use vmo_testkit::Fleet;

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");
const VMS: usize = 10_000;
/// At most this many rows of a list in the page at once.
const MAX_ROWS: u64 = 200;
/// Must match `ROW_PX` of the VM list (ui/src/vm/table.rs).
const VM_ROW_PX: f64 = 37.0;

/// Which server VM `i` points at: a closed port for ten of them (they cannot run), the
/// second sshd for a tenth (another output), the first for the rest.
fn server_of(i: usize) -> usize {
    if i % 1000 == 999 {
        2
    } else if i % 10 == 3 {
        1
    } else {
        0
    }
}
const NOT_RUN: usize = 10;
const OTHERS: usize = 1000;
const SAME: usize = VMS - NOT_RUN - OTHERS;

fn name(i: usize) -> String {
    format!("vm-{i:05}")
}

/// The seeded data directory: 10,000 VMs and one finished job over all of them.
struct Seed {
    fleet: Fleet,
    data: tempfile::TempDir,
    job: JobId,
    log_lines: usize,
}

fn seed() -> Seed {
    // Thousands of VMs share each server's one pooled connection: room for the sessions
    // a job runs at once on it (and those still closing), as a gateway would be set up.
    let fleet = Fleet::builder()
        .hosts(2)
        .sshd_option("MaxSessions 1000")
        .start();
    let data = tempfile::tempdir().unwrap();
    let closed = vmo_testkit::free_port();
    let ports = [fleet.hosts()[0].port(), fleet.hosts()[1].port(), closed];
    let config = data.path().join("ssh_config");
    let hosts: String = (0..VMS)
        .map(|i| {
            format!(
                "Host {}\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n",
                name(i),
                ports[server_of(i)],
                fleet.user(),
                fleet.client_key().display()
            )
        })
        .collect();
    std::fs::write(&config, hosts).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (job, log_lines) = runtime.block_on(async {
        let engine = Engine::open_with(
            Paths::new(data.path()),
            &support::reliability::ssh_settings(fleet.known_hosts()),
            std::sync::Arc::new(vmo_engine::ssh::NoSecrets),
        )
        .await
        .unwrap();
        let started = Instant::now();
        let summary = engine
            .inventory()
            .import_apply(&config, None)
            .await
            .unwrap();
        assert_eq!(summary.added, VMS);
        println!("seed: imported {VMS} VMs in {:.2?}", started.elapsed());
        let ids: Vec<VmId> = engine
            .inventory()
            .list()
            .await
            .unwrap()
            .iter()
            .map(|vm| vm.id)
            .collect();
        let started = Instant::now();
        let mut events = engine.jobs().subscribe();
        let spec = JobSpec {
            command: format!(
                "if [ \"${{SSH_CONNECTION##* }}\" = {} ]; then echo other; else echo same; fi",
                ports[1]
            ),
            targets: ids,
            target_label: "all VMs".into(),
            options: JobOptions {
                concurrency: 128,
                ..JobOptions::default()
            },
            origin: Origin::App,
            retry_of: None,
            template: None,
        };
        let id = engine.jobs().submit(spec).await.unwrap().id;
        let finished = async {
            loop {
                match events.recv().await {
                    Ok(JobEvent::Finished { job, .. }) if job.id == id => return job,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => panic!("the engine went away"),
                }
            }
        };
        let done = tokio::time::timeout(Duration::from_secs(300), finished)
            .await
            .expect("the job ends within 5 minutes");
        let detail = engine.jobs().detail(id).await.unwrap();
        let mut failures: std::collections::BTreeMap<String, usize> = Default::default();
        for host in detail
            .hosts
            .iter()
            .filter(|h| h.state != HostState::Succeeded)
        {
            *failures
                .entry(format!(
                    "{}: {}",
                    host.state,
                    host.error.clone().unwrap_or_default()
                ))
                .or_default() += 1;
        }
        println!("seed: hosts that did not succeed: {failures:?}");
        assert_eq!(done.state, JobState::Failed, "ten hosts could not run");
        assert_eq!(done.hosts_total as usize, VMS);
        assert_eq!(done.hosts_succeeded as usize, VMS - NOT_RUN);
        println!(
            "seed: ran a job on {VMS} hosts in {:.2?}",
            started.elapsed()
        );
        let (_, log) = engine.jobs().log(done.id).await.unwrap();
        (done.id, log.len())
    });
    drop(runtime);
    Seed {
        fleet,
        data,
        job,
        log_lines,
    }
}

fn number(s: &Session, script: &str) -> u64 {
    let value = s.execute(&format!("return {script};"));
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{script} gave {value}"))
}

/// Scrolls the box `id` to `top` pixels (or its end) as a person would: the position,
/// then the event the page sends on.
fn scroll(s: &Session, id: &str, top: Option<f64>) {
    let to = top.map_or("e.scrollHeight".to_string(), |t| t.to_string());
    s.execute(&format!(
        "const e = document.getElementById('{id}'); e.scrollTop = {to}; \
         e.dispatchEvent(new Event('scroll')); return true;"
    ));
}

/// Whether the element `css` lies inside the visible part of the box `id`.
fn in_sight(s: &Session, css: &str, id: &str) -> bool {
    s.execute(&format!(
        "const r = document.querySelector('{css}').getBoundingClientRect(); \
         const b = document.getElementById('{id}').getBoundingClientRect(); \
         return r.top >= b.top && r.bottom <= b.bottom + 1;"
    )) == serde_json::Value::Bool(true)
}

fn drawn_vm_rows(s: &Session) -> u64 {
    number(
        s,
        "document.querySelectorAll('#vm-table tbody tr.vm-row').length",
    )
}

#[test]
fn ten_thousand_vms_and_a_ten_thousand_host_job_stay_bounded_in_the_page() {
    let started = Instant::now();
    let mut step = Instant::now();
    let seed = seed();
    let mut lap = |what: &str| {
        println!("{what}: {:.2?}", step.elapsed());
        step = Instant::now();
    };
    lap("seeded");
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", seed.data.path()),
            ("VMO_KNOWN_HOSTS", seed.fleet.known_hosts()),
            ("VMO_SIMULATE_STATUS", Path::new("1")),
        ],
    );
    let s = driver.session();
    s.wait_text("#header-status", "10000 VMs");
    lap("app up with 10,000 VMs");

    // The list: every VM counted, a window of rows drawn, each the height the code
    // assumes (or the spacers would lie about where rows are).
    s.click("#nav-vms");
    s.wait_text("#vm-count", "10000 of 10000 shown");
    s.find("#vm-row-vm-00000");
    let rows = drawn_vm_rows(&s);
    assert!((10..=MAX_ROWS).contains(&rows), "{rows} VM rows drawn");
    println!("VM list: {rows} of {VMS} rows drawn");
    let all_rows = number(&s, "document.querySelectorAll('tr').length");
    assert!(
        all_rows <= MAX_ROWS + 10,
        "{all_rows} table rows in the page"
    );
    let heights = s.execute(
        "return [...document.querySelectorAll('#vm-table tbody tr.vm-row')] \
         .map(r => r.getBoundingClientRect().height);",
    );
    for h in heights.as_array().unwrap() {
        let h = h.as_f64().unwrap();
        assert!(
            (h - VM_ROW_PX).abs() < 0.6,
            "a row is {h} px high: {heights}"
        );
    }
    s.screenshot("scale-01-vm-list");
    lap("VM list");

    // Scrolled to the end, the last VM is drawn, in sight.
    scroll(&s, "vm-table-scroll", None);
    s.find("#vm-row-vm-09999");
    assert!(in_sight(&s, "#vm-row-vm-09999", "vm-table-scroll"));
    assert!(drawn_vm_rows(&s) <= MAX_ROWS);
    // And the middle, where the spacers say it is.
    scroll(&s, "vm-table-scroll", Some(5000.0 * VM_ROW_PX));
    s.find("#vm-row-vm-05003");
    assert!(in_sight(&s, "#vm-row-vm-05003", "vm-table-scroll"));
    s.screenshot("scale-02-vm-list-middle");
    lap("VM list scrolled");

    // A search narrows to exactly its matches.
    s.fill("#vm-search", "vm-0123");
    s.wait_text("#vm-count", "10 of 10000 shown");
    let names = s.execute(
        "return [...document.querySelectorAll('#vm-table tbody tr.vm-row')].map(r => r.id);",
    );
    let expected: Vec<String> = (1230..1240)
        .map(|i| format!("vm-row-{}", name(i)))
        .collect();
    assert_eq!(names, serde_json::json!(expected));
    s.fill("#vm-search", "");
    s.wait_text("#vm-count", "10000 of 10000 shown");
    lap("search");

    // Select all: every VM the search shows, drawn or not; then tag them all at once.
    s.click("input[title='Select all shown']");
    s.wait_text("#vm-selection-count", "10000 selected");
    s.wait_text("#vm-delete-selected", "(10000)");
    s.click("#vm-tag-selected");
    s.wait_text("#vm-tag-dialog", "Tag 10000 VMs");
    assert!(
        number(&s, "document.querySelectorAll('#vm-tag-dialog li').length") <= 60,
        "the dialog lists a few names, not 10,000"
    );
    s.fill("#vm-tag-input", "Bulk");
    s.click("#vm-tag-add");
    s.wait_text("#toast", "Tagged 10000 VMs with bulk");
    s.fill("#vm-search", "tag:bulk");
    s.wait_text("#vm-count", "10000 of 10000 shown");
    let tagged = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = Engine::open(Paths::new(seed.data.path())).await.unwrap();
        engine.inventory().list().await.unwrap()
    });
    assert_eq!(tagged.len(), VMS);
    let untagged: Vec<&str> = tagged
        .iter()
        .filter(|vm| !vm.tags.contains(&"bulk".to_string()))
        .map(|vm| vm.name.as_str())
        .collect();
    assert!(untagged.is_empty(), "not tagged: {untagged:?}");
    s.screenshot("scale-03-tagged");
    lap("select all, tag 10,000");

    // The job page: its 10,000 hosts counted, a window of them drawn.
    s.click("#nav-jobs");
    s.click(&format!("#job-row-{} td", seed.job.0));
    s.wait_text("#job-page", "10000/10000");
    s.find("#job-host-vm-00000");
    let host_rows = number(
        &s,
        "document.querySelectorAll('#job-hosts tbody tr[id^=job-host-]').length",
    );
    assert!((5..=MAX_ROWS).contains(&host_rows), "{host_rows} host rows");
    println!("job page: {host_rows} of {VMS} host rows drawn");
    scroll(&s, "job-hosts-scroll", None);
    s.wait_text("#job-host-vm-09999", "unreachable");
    assert!(in_sight(&s, "#job-host-vm-09999", "job-hosts-scroll"));
    s.wait_text(&format!("#job-host-{}", name(9993)), "succeeded");
    // The log: every line counted, a window drawn; the host picker offers a bounded list.
    s.wait_script(&format!(
        "return document.getElementById('log-count').textContent.startsWith('{} lines');",
        seed.log_lines
    ));
    let lines = number(
        &s,
        "document.querySelectorAll('#log-lines .log-line').length",
    );
    assert!((5..=MAX_ROWS).contains(&lines), "{lines} log lines drawn");
    println!("job page: {lines} of {} log lines drawn", seed.log_lines);
    let offered = number(&s, "document.querySelectorAll('#log-host option').length");
    assert!(offered <= 205, "{offered} hosts offered");
    // A host far down the table is picked from it, and the log shows its output alone.
    s.click(&format!("#job-host-{} button.link", name(9993)));
    s.wait_script("return document.getElementById('log-count').textContent.startsWith('1 of ');");
    s.wait_text("#log-lines", "other");
    s.screenshot("scale-04-job-page");
    let total_rows = number(&s, "document.querySelectorAll('tr').length");
    assert!(
        total_rows <= 2 * MAX_ROWS,
        "{total_rows} rows on the job page"
    );
    lap("job page");

    // Grouped: the counts are right, and a group of 8,990 hosts names a few of them; its
    // full list, and the hosts that did not run, draw only what is in sight.
    s.click("#log-view-grouped");
    let summary = format!("identical on {SAME} hosts, {OTHERS} differ; {NOT_RUN} did not run");
    s.wait_text("#log-group-summary", &summary);
    let head = s.text_of("#log-group-0 .log-group-head");
    assert!(
        head.contains(&format!("and {} more", SAME - 8)) && head.contains(&format!("{SAME} hosts")),
        "{head}"
    );
    let in_groups = number(&s, "document.querySelectorAll('#log-groups *').length");
    assert!(in_groups < 1000, "{in_groups} elements in the grouped view");
    println!("grouped view: {in_groups} elements");
    s.click("#log-group-hosts-toggle-0");
    s.find("#log-group-hosts-0 .virtual-row");
    let names_drawn = number(
        &s,
        "document.querySelectorAll('#log-group-hosts-0 .virtual-row').length",
    );
    assert!(names_drawn <= MAX_ROWS, "{names_drawn} names drawn");
    println!("grouped view: {names_drawn} of {SAME} names of the largest group drawn");
    scroll(&s, "log-group-hosts-0", None);
    s.wait_text("#log-group-hosts-0", &name(VMS - 2));
    assert_eq!(
        number(
            &s,
            "document.querySelectorAll('#log-not-run-list .virtual-row').length"
        ),
        NOT_RUN as u64
    );
    let apart = s.text_of("#log-not-run-999");
    assert!(
        apart.contains(&name(999)) && apart.contains("unreachable"),
        "{apart}"
    );
    s.screenshot("scale-05-grouped");
    lap("grouped view");
    s.quit();
    println!("whole test: {:.2?}", started.elapsed());
}

/// What the lag probe said about one stretch of use.
struct Lag {
    what: &'static str,
    report: String,
}

impl Lag {
    fn figure(&self, name: &str) -> f64 {
        self.report
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {:?}", self.report))
    }
}

/// Starts the probe's figures over, runs `act`, lets `settle` pass (status changes every
/// second meanwhile) and returns the figures of that stretch, from a report written after.
fn measure(
    s: &Session,
    probe: &Path,
    what: &'static str,
    settle: Duration,
    act: impl FnOnce(&Session),
) -> Lag {
    let mut reset = probe.as_os_str().to_owned();
    reset.push(".reset");
    let reset = std::path::PathBuf::from(reset);
    std::fs::write(&reset, "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while reset.exists() {
        assert!(
            Instant::now() < deadline,
            "the lag probe never started over"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    act(s);
    std::thread::sleep(settle);
    let ended = std::time::SystemTime::now();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let fresh = std::fs::metadata(probe)
            .and_then(|m| m.modified())
            .is_ok_and(|at| at > ended);
        if fresh {
            break;
        }
        assert!(Instant::now() < deadline, "the lag probe stopped reporting");
        std::thread::sleep(Duration::from_millis(50));
    }
    let report = std::fs::read_to_string(probe).unwrap().trim().to_string();
    println!("UI event loop at 10,000 VMs, {what}: {report}");
    Lag { what, report }
}

/// Benchmark (bench/run --ui runs it in release): how long the UI's event loop is ever
/// kept busy at 10,000 VMs whose status changes every second, over the dashboard, the VM
/// list by name and by status, scrolling it, typing a search, selecting all and tagging
/// them all, the job page of a 10,000-host job and its grouped view. Fails if any stretch
/// kept it busy 50 ms or more.
#[test]
#[ignore = "benchmark: bench/run --ui runs it with --release"]
fn ui_event_loop_at_ten_thousand_vms() {
    let seed = seed();
    let probe = seed.data.path().join("lag.txt");
    let driver = Driver::start(
        Path::new(APP),
        &[
            ("VMO_DATA_DIR", seed.data.path()),
            ("VMO_KNOWN_HOSTS", seed.fleet.known_hosts()),
            ("VMO_SIMULATE_STATUS", Path::new("1")),
            ("VMO_LAG_PROBE", &probe),
        ],
    );
    let s = driver.session();
    s.wait_text("#header-status", "10000 VMs");
    let settle = Duration::from_secs(5);
    let mut lags = Vec::new();
    lags.push(measure(&s, &probe, "dashboard", settle, |s| {
        s.find(".map-cell[data-vm=vm-09999]");
    }));
    lags.push(measure(&s, &probe, "VM list by name", settle, |s| {
        s.click("#nav-vms");
        s.wait_text("#vm-count", "10000 of 10000 shown");
    }));
    lags.push(measure(
        &s,
        &probe,
        "VM list sorted by status",
        settle,
        |s| {
            s.click("#sort-status");
            s.wait_text("#sort-status", "▾");
        },
    ));
    lags.push(measure(&s, &probe, "scrolling the list", settle, |s| {
        for step in 0..=40 {
            scroll(
                s,
                "vm-table-scroll",
                Some(f64::from(step) * 250.0 * VM_ROW_PX),
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        scroll(s, "vm-table-scroll", None);
        s.find("#vm-table tbody tr.vm-row");
    }));
    lags.push(measure(&s, &probe, "typing a search", settle, |s| {
        for key in "vm-0123".chars() {
            s.keys("#vm-search", &key.to_string());
            std::thread::sleep(Duration::from_millis(120));
        }
        s.wait_text("#vm-count", "10 of 10000 shown");
        s.fill("#vm-search", "");
        s.wait_text("#vm-count", "10000 of 10000 shown");
    }));
    lags.push(measure(&s, &probe, "select all, tag all", settle, |s| {
        s.click("input[title='Select all shown']");
        s.wait_text("#vm-selection-count", "10000 selected");
        s.click("#vm-tag-selected");
        s.fill("#vm-tag-input", "bench");
        s.click("#vm-tag-add");
        s.wait_text("#toast", "Tagged 10000 VMs with bench");
        s.wait_text("#vm-table", "bench");
    }));
    lags.push(measure(&s, &probe, "job page", settle, |s| {
        s.click("#nav-jobs");
        s.click(&format!("#job-row-{} td", seed.job.0));
        s.wait_text("#job-page", "10000/10000");
        s.find("#job-host-vm-00000");
        scroll(s, "job-hosts-scroll", None);
        s.find("#job-host-vm-09999");
    }));
    lags.push(measure(&s, &probe, "grouped view", settle, |s| {
        s.click("#log-view-grouped");
        s.wait_text("#log-group-summary", "identical on 8990 hosts");
        s.click("#log-group-hosts-toggle-0");
        s.find("#log-group-hosts-0 .virtual-row");
        scroll(s, "log-group-hosts-0", None);
        s.wait_text("#log-group-hosts-0", &name(VMS - 2));
    }));
    s.quit();
    let over: Vec<String> = lags
        .iter()
        .filter(|lag| lag.figure("busy_max_ms") >= 50.0)
        .map(|lag| format!("{}: {}", lag.what, lag.report))
        .collect();
    let worst = lags
        .iter()
        .map(|lag| lag.figure("busy_max_ms"))
        .fold(0.0, f64::max);
    println!("UI event loop at 10,000 VMs, worst stretch: busy_max_ms={worst:.1}");
    assert!(
        over.is_empty(),
        "the UI event loop was busy 50 ms or more: {over:#?}"
    );
}
