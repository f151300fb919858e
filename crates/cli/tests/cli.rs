//! The `vmo` binary against real OpenSSH servers on loopback (vmo-testkit fleets).
//!
//! Every run gets its own data directory and known_hosts file, `SSH_AUTH_SOCK` removed and
//! `HOME` pointed at a temporary directory, so nothing depends on the developer's setup.
//! Tests that measure time or memory take an exclusive lock so that the others (each with
//! its own sshd fleet) do not skew them on a small machine.

use serde_json::Value;
use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};
use tempfile::TempDir;
use vmo_testkit::Fleet;

const VMO: &str = env!("CARGO_BIN_EXE_vmo");

/// Longest any single `vmo` run may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(120);

static MACHINE: RwLock<()> = RwLock::new(());

/// For ordinary tests: run alongside each other.
fn shared() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(|e| e.into_inner())
}

/// For tests that measure wall time or memory: run alone.
fn exclusive() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(|e| e.into_inner())
}

/// A private data directory, known_hosts file and HOME for `vmo`.
struct Ctx {
    dir: TempDir,
}

impl Ctx {
    fn new() -> Ctx {
        let dir = tempfile::Builder::new()
            .prefix("vmo-cli-test.")
            .tempdir()
            .unwrap();
        fs::create_dir_all(dir.path().join("home")).unwrap();
        fs::write(dir.path().join("known_hosts"), "").unwrap();
        Ctx { dir }
    }

    /// A context whose inventory holds the fleet's hosts (imported from its ssh_config,
    /// so with key-file authentication) and whose known_hosts trusts all of them.
    fn with_fleet(fleet: &Fleet) -> Ctx {
        let ctx = Ctx::new();
        fs::copy(fleet.known_hosts(), ctx.known_hosts()).unwrap();
        let out = ctx.run(&[
            "vm",
            "import-ssh-config",
            fleet.ssh_config().to_str().unwrap(),
        ]);
        out.assert_code(0);
        ctx
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn data_dir(&self) -> PathBuf {
        self.path().join("data")
    }

    fn known_hosts(&self) -> PathBuf {
        self.path().join("known_hosts")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(VMO);
        cmd.arg("--data-dir")
            .arg(self.data_dir())
            .arg("--known-hosts")
            .arg(self.known_hosts())
            .args(args)
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("VMO_DATA_DIR")
            .env_remove("VMO_KNOWN_HOSTS")
            .env_remove("RUST_LOG")
            .env("HOME", self.path().join("home"))
            .stdin(Stdio::null());
        cmd
    }

    fn run(&self, args: &[&str]) -> Run {
        run(self.command(args), RUN_LIMIT)
    }

    /// `vm add NAME --host 127.0.0.1 --port P --user U --key K [--tag T]...` for fleet host i.
    fn add_host(&self, fleet: &Fleet, i: usize, name: &str, tags: &[&str]) {
        let port = fleet.hosts()[i].port().to_string();
        let user = fleet.user();
        let key = fleet.client_key().to_str().unwrap().to_string();
        let mut args = vec![
            "vm",
            "add",
            name,
            "--host",
            "127.0.0.1",
            "--port",
            &port,
            "--user",
            &user,
            "--key",
            &key,
        ];
        for tag in tags {
            args.extend(["--tag", tag]);
        }
        self.run(&args).assert_code(0);
    }
}

/// A finished `vmo` run.
struct Run {
    args: String,
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }

    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn stdout_lines(&self) -> Vec<String> {
        self.stdout().lines().map(str::to_string).collect()
    }

    fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lines().map(str::to_string).collect()
    }

    #[track_caller]
    fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code(), Some(code), "unexpected exit status\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "$ vmo {}\n[{}, {:.2?}]\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.args,
            self.status,
            self.elapsed,
            self.stdout(),
            self.stderr
        )
    }
}

fn describe_args(cmd: &Command) -> String {
    cmd.get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `cmd` to completion, collecting stdout and stderr; kills it and fails the test if
/// it takes longer than `limit`.
fn run(mut cmd: Command, limit: Duration) -> Run {
    let args = describe_args(&cmd);
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start vmo");
    let stdout = reader(child.stdout.take().unwrap());
    let stderr = reader(child.stderr.take().unwrap());
    let status = wait_or_kill(&mut child, limit, &args);
    let elapsed = started.elapsed();
    Run {
        args,
        status,
        stdout: stdout.join().unwrap(),
        stderr: String::from_utf8_lossy(&stderr.join().unwrap()).into_owned(),
        elapsed,
    }
}

fn reader(mut from: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = from.read_to_end(&mut buf);
        buf
    })
}

fn wait_or_kill(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vmo {what} still running after {limit:?}; killed");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn parse_json_lines(run: &Run) -> Vec<Value> {
    run.stdout_lines()
        .iter()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not a JSON line: {line:?}: {e}\n{run}"))
        })
        .collect()
}

/// Whether a process is gone: no /proc entry, or a zombie/dead one.
fn process_gone(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            let state = stat
                .rfind(')')
                .and_then(|i| stat[i + 1..].split_whitespace().next())
                .unwrap_or("");
            state == "Z" || state == "X"
        }
    }
}

fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Peak resident memory of a running process (kB), from /proc/PID/status.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Runs `cmd` with stdout to `out_file`, sampling VmHWM every ~20 ms; returns the exit
/// status and the last sample (kB).
fn run_sampling_memory(cmd: Command, out_file: &Path, limit: Duration) -> (ExitStatus, u64) {
    let what = describe_args(&cmd);
    let (status, peak) = sample_memory(cmd, out_file, limit);
    assert!(
        status.success(),
        "vmo {what} failed with {status}: {}",
        fs::read_to_string(out_file.with_extension("stderr")).unwrap_or_default()
    );
    (status, peak)
}

/// Runs `cmd` as [`run_sampling_memory`] does, whatever its exit status.
fn sample_memory(mut cmd: Command, out_file: &Path, limit: Duration) -> (ExitStatus, u64) {
    let what = describe_args(&cmd);
    let errors = out_file.with_extension("stderr");
    let mut child = cmd
        .stdout(Stdio::from(File::create(out_file).unwrap()))
        .stderr(Stdio::from(File::create(&errors).unwrap()))
        .spawn()
        .expect("cannot start vmo");
    let pid = child.id();
    let deadline = Instant::now() + limit;
    let mut last = 0;
    let status = loop {
        // Sample before checking for exit: a zombie has no memory figures any more.
        if let Some(kb) = vm_hwm_kb(pid) {
            last = kb;
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("vmo {what} still running after {limit:?}; killed");
        }
        thread::sleep(Duration::from_millis(20));
    };
    (status, last)
}

fn vm_names(ctx: &Ctx) -> Vec<String> {
    let out = ctx.run(&["vm", "list", "--json"]);
    out.assert_code(0);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|vm| vm["name"].as_str().unwrap().to_string())
        .collect()
}

// --- 1. inventory ----------------------------------------------------------------------

#[test]
fn inventory_add_list_rm_and_validation() {
    let _lock = shared();
    let ctx = Ctx::new();

    // Empty inventory: the table says so on stderr, JSON is an empty array.
    let out = ctx.run(&["vm", "list"]);
    out.assert_code(0);
    assert!(out.stdout.is_empty(), "{out}");
    assert!(out.stderr.contains("no VMs"), "{out}");
    let out = ctx.run(&["vm", "list", "--json"]);
    out.assert_code(0);
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        Value::Array(vec![])
    );

    let out = ctx.run(&[
        "vm",
        "add",
        "web1",
        "--host",
        "10.0.0.5",
        "--port",
        "2201",
        "--user",
        "alice",
        "--key",
        "/keys/id_web",
        "--tag",
        "Web",
        "--tag",
        "prod",
    ]);
    out.assert_code(0);
    assert_eq!(out.stdout(), "added web1 (alice@10.0.0.5:2201)\n", "{out}");
    ctx.run(&[
        "vm",
        "add",
        "db1",
        "--host",
        "db.example.com",
        "--tag",
        "db",
    ])
    .assert_code(0);

    let out = ctx.run(&["vm", "list"]);
    out.assert_code(0);
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 3, "{out}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["NAME", "ADDRESS", "AUTH", "TAGS"], "{out}");
    let rows: Vec<Vec<&str>> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(
        rows.contains(&vec!["web1", "alice@10.0.0.5:2201", "key_file", "prod,web"]),
        "{out}"
    );
    assert!(
        rows.contains(&vec!["db1", "db.example.com", "agent", "db"]),
        "{out}"
    );

    let out = ctx.run(&["vm", "list", "--json"]);
    out.assert_code(0);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().expect("a JSON array");
    assert_eq!(list.len(), 2, "{out}");
    let web = list.iter().find(|vm| vm["name"] == "web1").expect("web1");
    assert_eq!(web["host"], "10.0.0.5");
    assert_eq!(web["port"], 2201);
    assert_eq!(web["user"], "alice");
    assert_eq!(web["auth"], "key_file");
    assert_eq!(web["key_file"], "/keys/id_web");
    assert_eq!(web["jump_host"], Value::Null);
    assert_eq!(web["tags"], serde_json::json!(["prod", "web"]));
    assert!(web["id"].is_i64(), "{web}");
    let db = list.iter().find(|vm| vm["name"] == "db1").expect("db1");
    assert_eq!(db["port"], 22);
    assert_eq!(db["auth"], "agent");
    assert_eq!(db["key_file"], Value::Null);

    // Bad input: non-zero exit, and the message names the field.
    let out = ctx.run(&["vm", "add", "bad1", "--host", "10.0.0.6", "--port", "0"]);
    out.assert_code(2);
    assert!(
        out.stderr.contains("port: Port must be a whole number"),
        "{out}"
    );
    let out = ctx.run(&["vm", "add", "bad2", "--host", "10.0.0.6", "--port", "70000"]);
    out.assert_code(2);
    assert!(out.stderr.contains("--port"), "{out}");
    let out = ctx.run(&["vm", "add", "bad3", "--host", "not a host!"]);
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("host: \"not a host!\" is not a valid host name"),
        "{out}"
    );
    let out = ctx.run(&["vm", "add", "-bad", "--host", "10.0.0.6"]);
    assert_ne!(out.code(), Some(0), "{out}");
    // Nothing invalid was stored.
    assert_eq!(vm_names(&ctx).len(), 2);

    // A taken name (case-insensitively) is refused clearly.
    let out = ctx.run(&["vm", "add", "web1", "--host", "10.0.0.7"]);
    out.assert_code(2);
    assert!(
        out.stderr
            .contains("name: A VM named \"web1\" already exists"),
        "{out}"
    );
    let out = ctx.run(&["vm", "add", "WEB1", "--host", "10.0.0.7"]);
    assert_ne!(out.code(), Some(0), "{out}");
    assert!(out.stderr.contains("already exists"), "{out}");

    // rm: a missing name changes nothing; then the real removal.
    let out = ctx.run(&["vm", "rm", "web1", "nosuch"]);
    out.assert_code(2);
    assert!(out.stderr.contains("nosuch"), "{out}");
    assert_eq!(vm_names(&ctx).len(), 2);
    let out = ctx.run(&["vm", "rm", "web1"]);
    out.assert_code(0);
    assert_eq!(out.stdout(), "removed web1\n");
    assert_eq!(vm_names(&ctx), ["db1"]);
    let out = ctx.run(&["vm", "list"]);
    assert!(!out.stdout().contains("web1"), "{out}");
}

#[test]
fn import_ssh_config_twice_changes_nothing_the_second_time() {
    let _lock = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::new();
    let config = fleet.ssh_config().to_str().unwrap();

    let first = ctx.run(&["vm", "import-ssh-config", config]);
    first.assert_code(0);
    assert!(
        first.stdout().contains(": 3 added, 0 updated, 0 unchanged"),
        "{first}"
    );
    let second = ctx.run(&["vm", "import-ssh-config", config]);
    second.assert_code(0);
    assert!(
        second
            .stdout()
            .contains(": 0 added, 0 updated, 3 unchanged"),
        "{second}"
    );
    // --ssh-config is the default file for the subcommand.
    let third = ctx.run(&["--ssh-config", config, "vm", "import-ssh-config"]);
    third.assert_code(0);
    assert!(
        third.stdout().contains("0 added, 0 updated, 3 unchanged"),
        "{third}"
    );

    let out = ctx.run(&["vm", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 3, "{out}");
    for (i, host) in fleet.hosts().iter().enumerate() {
        let vm = list
            .iter()
            .find(|vm| vm["name"] == host.name())
            .unwrap_or_else(|| panic!("host{i} missing\n{out}"));
        assert_eq!(vm["host"], "127.0.0.1");
        assert_eq!(vm["port"], host.port());
        assert_eq!(vm["user"], fleet.user());
        assert_eq!(vm["auth"], "key_file");
        assert_eq!(vm["key_file"], fleet.client_key().to_str().unwrap());
    }
}

// --- 2. vm test --------------------------------------------------------------------------

#[test]
fn vm_test_reports_fingerprints_versions_and_failures() {
    let _lock = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::with_fleet(&fleet);

    let out = ctx.run(&["vm", "test", "--all"]);
    out.assert_code(0);
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 3, "{out}");
    for i in 0..3 {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("host{i}: ")))
            .unwrap_or_else(|| panic!("no line for host{i}\n{out}"));
        assert!(line.starts_with(&format!("host{i}: ok ")), "{out}");
        assert!(line.contains("OpenSSH"), "{out}");
        assert!(
            line.ends_with(&format!(" {}", fleet.host_key_fingerprint(i))),
            "{out}"
        );
    }

    let out = ctx.run(&["vm", "test", "--all", "--json"]);
    out.assert_code(0);
    let reports = parse_json_lines(&out);
    assert_eq!(reports.len(), 3, "{out}");
    for (i, report) in reports.iter().enumerate() {
        assert_eq!(report["name"], format!("host{i}"), "{out}");
        assert_eq!(report["ok"], true, "{out}");
        assert!(
            report["server_version"]
                .as_str()
                .unwrap()
                .contains("OpenSSH"),
            "{out}"
        );
        assert_eq!(report["fingerprint"], fleet.host_key_fingerprint(i));
        assert!(report["connect_ms"].is_u64());
        assert!(report["command_ms"].is_u64());
        assert_eq!(report["error"], Value::Null);
    }

    // By name, positional or --vm.
    let out = ctx.run(&["vm", "test", "host2", "--vm", "host0"]);
    out.assert_code(0);
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("host0: ok ") && lines[1].starts_with("host2: ok "),
        "{out}"
    );

    fleet.stop_host(1);
    let out = ctx.run(&["vm", "test", "--all"]);
    out.assert_code(1);
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("host0: ok "), "{out}");
    assert!(lines[1].starts_with("host1: FAILED (refused)"), "{out}");
    assert!(lines[2].starts_with("host2: ok "), "{out}");

    let out = ctx.run(&["vm", "test", "--all", "--json"]);
    out.assert_code(1);
    let reports = parse_json_lines(&out);
    assert_eq!(reports[1]["ok"], false);
    assert_eq!(reports[1]["error"]["kind"], "refused");
    assert_eq!(reports[0]["ok"], true);
}

// --- 3. host keys ------------------------------------------------------------------------

#[test]
fn host_keys_unknown_accept_new_and_changed() {
    let _lock = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::with_fleet(&fleet);
    // Start from an EMPTY known_hosts.
    fs::write(ctx.known_hosts(), "").unwrap();

    let out = ctx.run(&["exec", "--all", "--", "true"]);
    out.assert_code(1);
    for i in 0..3 {
        let line = out
            .stderr_lines()
            .into_iter()
            .find(|l| l.starts_with(&format!("host{i}: [")))
            .unwrap_or_else(|| panic!("no error line for host{i}\n{out}"));
        assert!(line.contains("not known"), "{out}");
        assert!(line.contains(&fleet.host_key_fingerprint(i)), "{out}");
        // The engine's words are neutral; vmo adds its own advice.
        assert!(
            line.ends_with(
                "; use --accept-new, or check the fingerprint and add it to known_hosts]"
            ),
            "{out}"
        );
        assert!(
            line.contains(&format!("[127.0.0.1]:{}", fleet.hosts()[i].port())),
            "{out}"
        );
    }
    assert!(
        out.stderr.contains("3 of 3 hosts failed (0 unreachable)"),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(ctx.known_hosts()).unwrap(),
        "",
        "known_hosts was written"
    );

    // vm test says the same, without writing either.
    let out = ctx.run(&["vm", "test", "--all"]);
    out.assert_code(1);
    assert_eq!(
        out.stdout_lines()
            .iter()
            .filter(|l| l.contains("FAILED (host_key_unknown)") && l.contains("use --accept-new"))
            .count(),
        3,
        "{out}"
    );
    assert_eq!(fs::read_to_string(ctx.known_hosts()).unwrap(), "");

    let out = ctx.run(&["--accept-new", "exec", "--all", "--", "echo ok"]);
    out.assert_code(0);
    let mut lines = out.stdout_lines();
    lines.sort();
    assert_eq!(lines, ["host0: ok", "host1: ok", "host2: ok"], "{out}");
    let known = fs::read_to_string(ctx.known_hosts()).unwrap();
    let entries: Vec<&str> = known.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(entries.len(), 3, "{known}");
    for i in 0..3 {
        let expected = format!(
            "[127.0.0.1]:{} {}",
            fleet.hosts()[i].port(),
            fleet.host_public_key(i)
        );
        assert!(
            entries.iter().any(|e| e.trim_end() == expected),
            "no {expected:?} in\n{known}"
        );
    }

    // Now trusted without --accept-new.
    ctx.run(&["exec", "--all", "--", "true"]).assert_code(0);

    // A changed key is refused even with --accept-new; the others go on.
    fleet.restart_host(0, true);
    let out = ctx.run(&["--accept-new", "exec", "--all", "--", "echo ok"]);
    out.assert_code(1);
    let mut lines = out.stdout_lines();
    lines.sort();
    assert_eq!(lines, ["host1: ok", "host2: ok"], "{out}");
    let host0 = out
        .stderr_lines()
        .into_iter()
        .find(|l| l.starts_with("host0: ["))
        .unwrap_or_else(|| panic!("no error for host0\n{out}"));
    assert!(host0.contains("HOST KEY CHANGED"), "{out}");
    assert!(host0.contains(&fleet.host_key_fingerprint(0)), "{out}");
    assert!(
        out.stderr.contains("1 of 3 hosts failed (0 unreachable)"),
        "{out}"
    );
    assert_eq!(
        fs::read_to_string(ctx.known_hosts()).unwrap(),
        known,
        "known_hosts changed"
    );
}

// --- 4. exec output ----------------------------------------------------------------------

#[test]
fn exec_streams_lines_with_host_names() {
    let _lock = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::with_fleet(&fleet);

    let out = ctx.run(&["exec", "--all", "--", "echo out; echo err >&2"]);
    out.assert_code(0);
    let mut lines = out.stdout_lines();
    lines.sort();
    assert_eq!(lines, ["host0: out", "host1: out", "host2: out"], "{out}");
    let mut errors = out.stderr_lines();
    errors.sort();
    assert_eq!(errors, ["host0: err", "host1: err", "host2: err"], "{out}");

    // Several words after `--` make one command line, as with ssh.
    let out = ctx.run(&["exec", "--vm", "host1", "--", "echo", "a", "b"]);
    out.assert_code(0);
    assert_eq!(out.stdout(), "host1: a b\n", "{out}");

    // A last line without a newline still comes out, as a line.
    let out = ctx.run(&["exec", "--vm", "host0", "--", "printf 'one\\ntwo'"]);
    out.assert_code(0);
    assert_eq!(out.stdout(), "host0: one\nhost0: two\n", "{out}");

    // Exit codes.
    let out = ctx.run(&["exec", "--all", "--", "exit 3"]);
    out.assert_code(1);
    for i in 0..3 {
        assert!(out.stderr.contains(&format!("host{i}: [exit 3]")), "{out}");
    }
    assert!(
        out.stderr.contains("3 of 3 hosts failed (0 unreachable)"),
        "{out}"
    );
    // Only one host fails: only it is reported, and the exit status is still 1.
    let port0 = fleet.hosts()[0].port();
    let only_host0 =
        format!("echo hi; [ \"$(echo $SSH_CONNECTION | cut -d' ' -f4)\" != {port0} ] || exit 3");
    let out = ctx.run(&["exec", "--all", "--", &only_host0]);
    out.assert_code(1);
    assert_eq!(out.stdout_lines().len(), 3, "{out}");
    assert!(out.stderr.contains("host0: [exit 3]"), "{out}");
    assert!(!out.stderr.contains("host1: ["), "{out}");
    assert!(
        out.stderr.contains("1 of 3 hosts failed (0 unreachable)"),
        "{out}"
    );
}

#[test]
fn exec_group_merges_identical_output() {
    let _lock = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::with_fleet(&fleet);

    let out = ctx.run(&["exec", "--all", "--group", "--", "echo same; echo also"]);
    out.assert_code(0);
    let rule = "-".repeat("host0,host1,host2 (3)".len());
    assert_eq!(
        out.stdout(),
        format!("{rule}\nhost0,host1,host2 (3)\n{rule}\nsame\nalso\n"),
        "{out}"
    );

    // Each server's own port: three different outputs, three groups of one.
    let out = ctx.run(&[
        "exec",
        "--all",
        "--group",
        "--",
        "echo $SSH_CONNECTION | cut -d\" \" -f4",
    ]);
    out.assert_code(0);
    let lines = out.stdout_lines();
    assert_eq!(lines.len(), 12, "{out}");
    for (i, host) in fleet.hosts().iter().enumerate() {
        let header = format!("host{i} (1)");
        let at = lines
            .iter()
            .position(|l| *l == header)
            .unwrap_or_else(|| panic!("no group {header:?}\n{out}"));
        assert!(lines[at - 1].starts_with("---"), "{out}");
        assert!(lines[at + 1].starts_with("---"), "{out}");
        assert_eq!(lines[at + 2], host.port().to_string(), "{out}");
    }

    // stderr and failures are part of what makes a group, and are shown in it.
    let port2 = fleet.hosts()[2].port();
    let cmd = format!(
        "echo x; echo warn >&2; [ \"$(echo $SSH_CONNECTION | cut -d' ' -f4)\" != {port2} ] || exit 4"
    );
    let out = ctx.run(&["exec", "--all", "--group", "--", &cmd]);
    out.assert_code(1);
    let text = out.stdout();
    assert!(
        text.contains("host0,host1 (2)\n") && text.contains("host2 (1)\n"),
        "{out}"
    );
    assert!(text.contains("x\n[stderr]\nwarn\n[exit 4]\n"), "{out}");
}

#[test]
fn exec_json_one_object_per_host() {
    let _lock = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::with_fleet(&fleet);

    let out = ctx.run(&["exec", "--all", "--json", "--", "echo out; echo err >&2"]);
    out.assert_code(0);
    let hosts = parse_json_lines(&out);
    assert_eq!(hosts.len(), 3, "{out}");
    let names: BTreeSet<&str> = hosts.iter().map(|h| h["name"].as_str().unwrap()).collect();
    assert_eq!(names, BTreeSet::from(["host0", "host1", "host2"]));
    for host in &hosts {
        assert_eq!(host["ok"], true, "{out}");
        assert_eq!(host["exit_code"], 0, "{out}");
        assert_eq!(host["status"], "exited", "{out}");
        assert_eq!(host["stdout"], "out\n", "{out}");
        assert_eq!(host["stderr"], "err\n", "{out}");
        assert_eq!(host["utf8"], true, "{out}");
        assert!(host["duration_ms"].is_u64(), "{out}");
    }
    // Nothing else on stderr in JSON mode.
    assert_eq!(out.stderr, "", "{out}");

    let out = ctx.run(&["exec", "--vm", "host1", "--json", "--", "exit 5"]);
    out.assert_code(1);
    let hosts = parse_json_lines(&out);
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0]["ok"], false);
    assert_eq!(hosts[0]["exit_code"], 5);

    // --json and --group do not mix.
    let out = ctx.run(&["exec", "--all", "--json", "--group", "--", "true"]);
    out.assert_code(2);
    assert!(out.stderr.contains("cannot be used with"), "{out}");
}

#[test]
fn exec_passes_non_utf8_bytes_through() {
    let _lock = shared();
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);

    let out = ctx.run(&["exec", "--vm", "host0", "--", "printf 'a\\377b\\n'"]);
    out.assert_code(0);
    assert_eq!(out.stdout, b"host0: a\xffb\n", "{out}");

    let out = ctx.run(&["exec", "--vm", "host0", "--", "printf 'a\\377b\\n' >&2"]);
    out.assert_code(0);
    assert!(out.stdout.is_empty(), "{out}");

    let out = ctx.run(&[
        "exec",
        "--vm",
        "host0",
        "--json",
        "--",
        "printf 'a\\377b\\n'",
    ]);
    out.assert_code(0);
    let hosts = parse_json_lines(&out);
    assert_eq!(hosts[0]["utf8"], false, "{out}");
    assert_eq!(hosts[0]["stdout"], "a\u{FFFD}b\n", "{out}");

    let out = ctx.run(&[
        "exec",
        "--vm",
        "host0",
        "--group",
        "--",
        "printf 'a\\377b\\n'",
    ]);
    out.assert_code(0);
    assert_eq!(
        out.stdout, b"---------\nhost0 (1)\n---------\na\xffb\n",
        "{out}"
    );
}

// --- 5. selection and exit statuses ------------------------------------------------------

#[test]
fn exec_selection_by_tag_and_name_and_usage_errors() {
    let _lock = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::new();
    fs::copy(fleet.known_hosts(), ctx.known_hosts()).unwrap();

    // An empty inventory.
    let out = ctx.run(&["exec", "--all", "--", "true"]);
    out.assert_code(2);
    assert!(out.stderr.contains("the inventory is empty"), "{out}");

    ctx.add_host(&fleet, 0, "web-a", &["web"]);
    ctx.add_host(&fleet, 1, "web-b", &["web", "db"]);
    ctx.add_host(&fleet, 2, "db-a", &["DB"]);

    let hosts_of = |run: &Run| -> Vec<String> {
        let mut names: Vec<String> = run
            .stdout_lines()
            .iter()
            .map(|l| l.split(": ").next().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let out = ctx.run(&["exec", "--tag", "web", "--", "echo hi"]);
    out.assert_code(0);
    assert_eq!(hosts_of(&out), ["web-a", "web-b"], "{out}");
    let out = ctx.run(&["exec", "--tag", "Db", "--", "echo hi"]);
    out.assert_code(0);
    assert_eq!(hosts_of(&out), ["db-a", "web-b"], "{out}");
    // A union, each host once.
    let out = ctx.run(&[
        "exec", "--tag", "web", "--tag", "db", "--vm", "web-a", "--", "echo hi",
    ]);
    out.assert_code(0);
    assert_eq!(hosts_of(&out), ["db-a", "web-a", "web-b"], "{out}");
    let out = ctx.run(&["exec", "--vm", "DB-A", "--", "echo hi"]);
    out.assert_code(0);
    assert_eq!(out.stdout(), "db-a: hi\n", "{out}");

    // Usage and selection errors: exit status 2, nothing runs.
    let usage: &[(&[&str], &str)] = &[
        (
            &["exec", "--vm", "nosuch", "--", "echo hi"],
            "no VM named nosuch",
        ),
        (
            &["exec", "--vm", "web-a", "--vm", "nosuch", "--", "echo hi"],
            "no VM named nosuch",
        ),
        (
            &["exec", "--tag", "nosuch", "--", "echo hi"],
            "no VM is tagged \"nosuch\"",
        ),
        (&["exec", "--", "echo hi"], "say which VMs"),
        (&["exec", "--all"], "COMMAND"),
        (
            &["exec", "--all", "--timeout", "0", "--", "echo hi"],
            "--timeout",
        ),
        (
            &["exec", "--all", "--timeout", "soon", "--", "echo hi"],
            "--timeout",
        ),
        (
            &["exec", "--all", "--timeout", "nan", "--", "echo hi"],
            "--timeout",
        ),
        (
            &["exec", "--all", "--timeout", "1e19", "--", "echo hi"],
            "--timeout",
        ),
        (
            &["exec", "--all", "--timeout", "1e30", "--", "echo hi"],
            "--timeout",
        ),
        (&["exec", "--all", "--bogus", "--", "echo hi"], "--bogus"),
        (&["vm", "test", "nosuch"], "no VM named nosuch"),
        (&["vm", "test"], "say which VMs"),
        (&["vm", "rm", "nosuch"], "nosuch"),
        (&["frobnicate"], "frobnicate"),
    ];
    for (args, message) in usage {
        let out = ctx.run(args);
        out.assert_code(2);
        assert!(out.stderr.contains(message), "expected {message:?}\n{out}");
        assert!(out.stdout.is_empty(), "{out}");
    }

    // Host failures: exit status 1.
    ctx.run(&["exec", "--vm", "web-a", "--", "false"])
        .assert_code(1);
    fleet.stop_host(2);
    let out = ctx.run(&["exec", "--tag", "db", "--", "echo hi"]);
    out.assert_code(1);
    assert_eq!(out.stdout(), "web-b: hi\n", "{out}");
    assert!(out.stderr.contains("db-a: [unreachable (refused)"), "{out}");
    ctx.run(&["vm", "test", "db-a"]).assert_code(1);
    let out = ctx.run(&["exec", "--vm", "db-a", "--json", "--", "true"]);
    out.assert_code(1);
    let hosts = parse_json_lines(&out);
    assert_eq!(hosts.len(), 1, "{out}");
    assert_eq!(hosts[0]["ok"], false);
    assert_eq!(hosts[0]["status"], "refused");
    assert_eq!(hosts[0]["exit_code"], Value::Null);
    assert!(
        hosts[0]["error"].as_str().unwrap().contains("refused"),
        "{out}"
    );
}

#[test]
fn exec_unresolvable_jump_host_is_a_host_failure() {
    let _lock = shared();
    let fleet = Fleet::start(2);
    let ctx = Ctx::with_fleet(&fleet);
    // Two VMs that jump through each other: their targets cannot be resolved.
    ctx.run(&[
        "vm",
        "add",
        "loopa",
        "--host",
        "127.0.0.1",
        "--jump",
        "loopb",
    ])
    .assert_code(0);
    ctx.run(&[
        "vm",
        "add",
        "loopb",
        "--host",
        "127.0.0.1",
        "--jump",
        "loopa",
    ])
    .assert_code(0);

    // As in `vm test`: those two fail (exit status 1), the others still run.
    let out = ctx.run(&["vm", "test", "--all"]);
    out.assert_code(1);
    assert!(out.stdout().contains("loopa: FAILED (config)"), "{out}");
    let out = ctx.run(&["exec", "--all", "--", "echo hi"]);
    out.assert_code(1);
    let mut lines = out.stdout_lines();
    lines.sort();
    assert_eq!(lines, ["host0: hi", "host1: hi"], "{out}");
    assert!(
        out.stderr.contains("loopa: [config: jump hosts of"),
        "{out}"
    );
    assert!(
        out.stderr.contains("loopb: [config: jump hosts of"),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("vmo: job #1: 2 of 4 hosts failed (0 unreachable)"),
        "{out}"
    );

    let out = ctx.run(&["exec", "--all", "--json", "--", "echo hi"]);
    out.assert_code(1);
    let hosts = parse_json_lines(&out);
    assert_eq!(hosts.len(), 4, "{out}");
    let loopa = hosts.iter().find(|h| h["name"] == "loopa").unwrap();
    assert_eq!(loopa["ok"], false);
    assert_eq!(loopa["status"], "config");

    let out = ctx.run(&["exec", "--all", "--group", "--", "echo hi"]);
    out.assert_code(1);
    assert!(out.stdout().contains("host0,host1 (2)\n"), "{out}");
    assert!(out.stdout().contains("[config: jump hosts of"), "{out}");

    // Only broken ones selected: still a host failure, not a usage error.
    let out = ctx.run(&["exec", "--vm", "loopa", "--", "echo hi"]);
    out.assert_code(1);
    assert!(out.stdout.is_empty(), "{out}");
}

// --- 6. one host down among many ---------------------------------------------------------

#[test]
fn one_host_down_among_twenty() {
    let _lock = exclusive();
    let fleet = Fleet::start(20);
    let ctx = Ctx::with_fleet(&fleet);
    fleet.stop_host(7);
    let port7 = fleet.hosts()[7].port();

    let out = run(
        ctx.command(&["exec", "--all", "--concurrency", "20", "--", "echo hi"]),
        Duration::from_secs(60),
    );
    out.assert_code(1);
    let mut lines = out.stdout_lines();
    lines.sort();
    let mut expected: Vec<String> = (0..20)
        .filter(|i| *i != 7)
        .map(|i| format!("host{i}: hi"))
        .collect();
    expected.sort();
    assert_eq!(lines, expected, "{out}");
    assert!(
        out.stderr.contains(&format!(
            "host7: [unreachable (refused): connection to 127.0.0.1:{port7} refused]"
        )),
        "{out}"
    );
    assert!(
        out.stderr
            .contains("vmo: job #1: 1 of 20 hosts failed (1 unreachable)"),
        "{out}"
    );
    eprintln!("20 hosts, one down: {:.2?}", out.elapsed);
    assert!(out.elapsed < Duration::from_secs(10), "{out}");
}

// --- 7. timeout --------------------------------------------------------------------------

#[test]
fn timeout_stops_the_remote_command() {
    let _lock = exclusive();
    let fleet = Fleet::start(2);
    let ctx = Ctx::with_fleet(&fleet);
    let pids = ctx.path().join("pids");
    fs::create_dir(&pids).unwrap();
    let cmd = format!(
        "echo $$ > {}/$(echo $SSH_CONNECTION | cut -d' ' -f4); sleep 30",
        pids.display()
    );

    let out = run(
        ctx.command(&["exec", "--all", "--timeout", "1", "--", &cmd]),
        Duration::from_secs(60),
    );
    out.assert_code(1);
    assert!(out.elapsed < Duration::from_secs(8), "{out}");
    assert!(out.elapsed >= Duration::from_secs(1), "{out}");
    for i in 0..2 {
        assert!(
            out.stderr.contains(&format!("host{i}: [timed out")),
            "{out}"
        );
    }
    assert!(
        out.stderr.contains("2 of 2 hosts failed (0 unreachable)"),
        "{out}"
    );
    for host in fleet.hosts() {
        let pid: u32 = fs::read_to_string(pids.join(host.port().to_string()))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            wait_until(Duration::from_secs(3), || process_gone(pid)),
            "remote command {pid} on {} still runs",
            host.name()
        );
    }

    // A fast command is not affected by a timeout.
    let out = ctx.run(&["exec", "--all", "--timeout", "5", "--", "echo quick"]);
    out.assert_code(0);
    assert_eq!(out.stdout_lines().len(), 2, "{out}");
}

// --- 8. Ctrl-C, and a closed stdout ------------------------------------------------------

/// A `vmo exec --all` in the background whose remote commands have written their PIDs.
struct Background {
    child: Child,
    stdout: Option<std::process::ChildStdout>,
    stderr: thread::JoinHandle<Vec<u8>>,
    /// The remote shells' PIDs (the servers are local), one per host.
    remote: Vec<u32>,
}

/// Starts `vmo exec --all -- <command>`, where `PIDFILE` in `command` is replaced with a
/// file per host (named after the server's port); returns once every file holds a PID.
fn start_exec(ctx: &Ctx, fleet: &Fleet, command: &str) -> Background {
    let pids = ctx.path().join("pids");
    fs::create_dir_all(&pids).unwrap();
    let pidfile = format!("{}/$(echo $SSH_CONNECTION | cut -d' ' -f4)", pids.display());
    let command = command.replace("PIDFILE", &pidfile);
    let mut child = ctx
        .command(&["exec", "--all", "--", &command])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take();
    let stderr = reader(child.stderr.take().unwrap());
    let files: Vec<PathBuf> = fleet
        .hosts()
        .iter()
        .map(|h| pids.join(h.port().to_string()))
        .collect();
    let read_pid = |f: &PathBuf| -> Option<u32> { fs::read_to_string(f).ok()?.trim().parse().ok() };
    if !wait_until(Duration::from_secs(30), || {
        files.iter().all(|f| read_pid(f).is_some())
    }) {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the remote commands did not start");
    }
    let remote: Vec<u32> = files.iter().map(|f| read_pid(f).unwrap()).collect();
    assert!(remote.iter().all(|pid| !process_gone(*pid)));
    Background {
        child,
        stdout,
        stderr,
        remote,
    }
}

fn interrupt(child: &Child) {
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
}

#[test]
fn interrupt_stops_remote_commands() {
    let _lock = exclusive();
    let fleet = Fleet::start(2);
    let ctx = Ctx::with_fleet(&fleet);
    let mut bg = start_exec(&ctx, &fleet, "echo $$ > PIDFILE; sleep 600");
    let stdout = reader(bg.stdout.take().unwrap());

    let interrupted = Instant::now();
    interrupt(&bg.child);
    let status = wait_or_kill(&mut bg.child, Duration::from_secs(30), "exec (interrupted)");
    let took = interrupted.elapsed();
    let stdout = String::from_utf8_lossy(&stdout.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&bg.stderr.join().unwrap()).into_owned();
    let report = format!("[{status}, {took:.2?}]\nstdout: {stdout}\nstderr: {stderr}");
    assert!(took < Duration::from_secs(8), "{report}");
    assert!(!status.success(), "{report}");
    assert_eq!(status.code(), Some(1), "{report}");
    assert!(stderr.contains("vmo: interrupted"), "{report}");
    for i in 0..2 {
        assert!(stderr.contains(&format!("host{i}: [cancelled")), "{report}");
    }
    assert!(stderr.contains("2 of 2 hosts failed"), "{report}");
    for pid in bg.remote {
        assert!(
            wait_until(Duration::from_secs(3), || process_gone(pid)),
            "remote command {pid} survived the interrupt\n{report}"
        );
    }
}

/// A host that hangs mid-run (its sshd stopped) is given up about a second after
/// `--timeout`, not after the whole TERM, grace, KILL sequence waited on it; the other host
/// is not held up and the job records the hang as a timeout.
#[test]
fn a_frozen_host_ends_as_timed_out_soon_after_its_timeout() {
    let _lock = exclusive();
    let fleet = Fleet::start(2);
    let ctx = Ctx::with_fleet(&fleet);
    let pids = ctx.path().join("pids");
    fs::create_dir_all(&pids).unwrap();
    let port1 = fleet.hosts()[1].port();
    let command = format!(
        "echo $$ > {}/$(echo $SSH_CONNECTION | cut -d' ' -f4); \
         case \"$SSH_CONNECTION\" in *\" {port1}\") sleep 30;; esac; echo done",
        pids.display()
    );
    let mut child = ctx
        .command(&["exec", "--all", "--timeout", "2", "--", &command])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = reader(child.stdout.take().unwrap());
    let stderr = reader(child.stderr.take().unwrap());
    let started = pids.join(port1.to_string());
    assert!(
        wait_until(Duration::from_secs(30), || fs::read_to_string(&started)
            .is_ok_and(|pid| pid.ends_with('\n'))),
        "the command never started on host1"
    );
    // The command runs on host1 (its timeout already counting): the machine hangs.
    let frozen = Instant::now();
    fleet.freeze_host(1);
    let status = wait_or_kill(&mut child, Duration::from_secs(30), "exec (frozen host)");
    let took = frozen.elapsed();
    fleet.thaw_host(1);
    let stdout = String::from_utf8_lossy(&stdout.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
    let report =
        format!("[{status}, {took:.2?} after the freeze]\nstdout: {stdout}\nstderr: {stderr}");
    eprintln!("{report}");
    assert!(took < Duration::from_millis(3500), "{report}");
    assert_eq!(status.code(), Some(1), "{report}");
    assert!(stdout.contains("host0: done"), "{report}");
    assert!(stderr.contains("host1: [timed out"), "{report}");

    let shown = ctx.run(&["job", "show", "1", "--json"]);
    shown.assert_code(0);
    let job: Value = serde_json::from_str(&shown.stdout()).unwrap();
    assert_eq!(job["hosts"][1]["state"], "timed_out", "{shown}");
    assert_eq!(job["hosts"][0]["state"], "succeeded", "{shown}");
}

#[test]
fn second_interrupt_quits_at_once() {
    let _lock = exclusive();
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    // Ignores SIGTERM: stopping it takes the whole grace period before SIGKILL.
    let mut bg = start_exec(
        &ctx,
        &fleet,
        "trap '' TERM; echo $$ > PIDFILE; exec sleep 600",
    );
    drop(bg.stdout.take());

    interrupt(&bg.child);
    thread::sleep(Duration::from_millis(300));
    assert!(
        bg.child.try_wait().unwrap().is_none(),
        "vmo did not wait for the stop"
    );
    let again = Instant::now();
    interrupt(&bg.child);
    let status = wait_or_kill(
        &mut bg.child,
        Duration::from_secs(30),
        "exec (interrupted twice)",
    );
    let took = again.elapsed();
    let stderr = String::from_utf8_lossy(&bg.stderr.join().unwrap()).into_owned();
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(took < Duration::from_millis(1500), "{took:?}\n{stderr}");
    assert!(stderr.contains("interrupted again"), "{stderr}");
    // The abandoned command was left running, as promised; once its session is gone it is
    // no longer below the fleet's sshd, so end it here.
    for pid in bg.remote {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        assert!(wait_until(Duration::from_secs(3), || process_gone(pid)));
    }
}

#[test]
fn closed_stdout_ends_vmo_and_the_remote_commands() {
    let _lock = shared();
    let fleet = Fleet::start(2);
    let ctx = Ctx::with_fleet(&fleet);
    // `vmo exec --all -- yes | head -2`
    let mut bg = start_exec(&ctx, &fleet, "echo $$ > PIDFILE; exec yes");
    let mut lines = BufReader::new(bg.stdout.take().unwrap()).lines();
    for _ in 0..2 {
        let line = lines.next().unwrap().unwrap();
        assert!(line.ends_with(": y"), "{line:?}");
    }
    drop(lines);
    let status = wait_or_kill(&mut bg.child, Duration::from_secs(20), "exec | head");
    let stderr = String::from_utf8_lossy(&bg.stderr.join().unwrap()).into_owned();
    // Like a process killed by SIGPIPE, and without a panic message.
    assert_eq!(status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for pid in bg.remote {
        assert!(
            wait_until(Duration::from_secs(5), || process_gone(pid)),
            "remote `yes` {pid} still runs"
        );
    }

    // JSON lines into a reader that stops early: no panic either.
    let mut child = ctx
        .command(&["exec", "--all", "--json", "--", "echo hi"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let stderr = reader(child.stderr.take().unwrap());
    let status = wait_or_kill(&mut child, Duration::from_secs(20), "exec --json | true");
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
    assert_eq!(status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Stopping a command that keeps writing: the engine must keep draining its channel while
/// it sends the kill on another, or the full channel stalls the whole connection.
#[test]
fn timeout_stops_a_command_that_keeps_writing() {
    let _lock = exclusive();
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    // `exec`: the shell becomes `yes`, so the PID written is the writer's.
    let pid_file = ctx.path().join("yes.pid");
    let yes = format!("echo $$ > {}; exec yes", pid_file.display());
    let mut cmd = ctx.command(&["exec", "--all", "--timeout", "1", "--", &yes]);
    cmd.stdout(Stdio::null()).stderr(Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let status = wait_or_kill(
        &mut child,
        Duration::from_secs(40),
        "exec --timeout 1 -- yes",
    );
    assert_eq!(status.code(), Some(1));
    // Timeout, TERM (and at worst a 2 s grace, then KILL), on a loaded debug build: the
    // point is that it ends, where a stalled connection would hang for ever.
    let took = started.elapsed();
    eprintln!("yes stopped after {took:?}");
    assert!(took < Duration::from_secs(20), "{took:?}");
    // And the remote `yes` is gone, not left writing into a closed channel.
    let pid: u32 = fs::read_to_string(&pid_file)
        .expect("the remote command started")
        .trim()
        .parse()
        .unwrap();
    assert!(
        wait_until(Duration::from_secs(3), || process_gone(pid)),
        "the remote yes ({pid}) still runs"
    );
}

#[test]
fn json_and_group_keep_at_most_the_output_cap_of_an_endless_yes() {
    let _lock = exclusive();
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    for mode in ["--json", "--group"] {
        let out_file = ctx.path().join("yes.out");
        let args = [
            "exec",
            "--vm",
            "host0",
            mode,
            "--output-cap",
            "1",
            "--timeout",
            "4",
            "--",
            "yes",
        ];
        let (status, peak_kb) =
            sample_memory(ctx.command(&args), &out_file, Duration::from_secs(60));
        println!(
            "yes for 4 s with {mode}: vmo peak RSS (VmHWM) {:.1} MB",
            peak_kb as f64 / 1024.0
        );
        assert_eq!(status.code(), Some(1), "timed out: a failure");
        let text = fs::read_to_string(&out_file).unwrap();
        if mode == "--json" {
            let host: Value = serde_json::from_str(text.trim_end()).unwrap();
            assert_eq!(host["status"], "timed_out");
            assert_eq!(host["truncated"], true);
            assert_eq!(host["stdout"].as_str().unwrap(), "y\n".repeat(1 << 19));
        } else {
            assert_eq!(text.matches("y\n").count(), 1 << 19);
            assert!(
                text.contains("[output cut at the job's output cap"),
                "{}",
                &text[text.len() - 200..]
            );
        }
        assert!(peak_kb > 0, "no memory sample");
        assert!(peak_kb < 60 * 1024, "vmo {mode} peaked at {peak_kb} kB");
    }
}

// --- 9. large output ---------------------------------------------------------------------

#[test]
fn fifty_megabytes_of_output_in_bounded_memory() {
    let _lock = exclusive();
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    let out_file = ctx.path().join("big.out");

    let started = Instant::now();
    let (_, peak_kb) = run_sampling_memory(
        ctx.command(&[
            "exec",
            "--vm",
            "host0",
            "--",
            "head -c 50000000 /dev/zero | tr \"\\0\" \"x\" | fold -w 100",
        ]),
        &out_file,
        Duration::from_secs(300),
    );
    let took = started.elapsed();
    println!(
        "50 MB in lines: {took:.2?}, vmo peak RSS (VmHWM) {:.1} MB",
        peak_kb as f64 / 1024.0
    );

    let expected = format!("host0: {}", "x".repeat(100));
    let mut count = 0usize;
    for line in BufReader::new(File::open(&out_file).unwrap()).lines() {
        let line = line.unwrap();
        assert!(
            line == expected,
            "line {count} is {:?}",
            &line[..line.len().min(120)]
        );
        count += 1;
    }
    assert_eq!(count, 500_000);
    assert_eq!(fs::metadata(&out_file).unwrap().len(), 500_000 * 108);
    assert!(peak_kb > 0, "no memory sample");
    assert!(peak_kb < 60 * 1024, "vmo peaked at {peak_kb} kB");

    // One 10 MB line without a newline: printed in pieces, every byte there.
    let out_file = ctx.path().join("line.out");
    let (_, peak_kb) = run_sampling_memory(
        ctx.command(&[
            "exec",
            "--vm",
            "host0",
            "--",
            "head -c 10000000 /dev/zero | tr \"\\0\" y",
        ]),
        &out_file,
        Duration::from_secs(300),
    );
    println!(
        "10 MB line: vmo peak RSS (VmHWM) {:.1} MB",
        peak_kb as f64 / 1024.0
    );
    let bytes = fs::read(&out_file).unwrap();
    assert!(bytes.ends_with(b"\n"));
    let mut ys = 0usize;
    let mut pieces = 0usize;
    for piece in bytes[..bytes.len() - 1].split(|b| *b == b'\n') {
        let rest = piece
            .strip_prefix(b"host0: ")
            .unwrap_or_else(|| panic!("piece {pieces} lacks the host name"));
        assert!(
            rest.iter().all(|b| *b == b'y'),
            "piece {pieces} holds more than y"
        );
        ys += rest.len();
        pieces += 1;
    }
    assert_eq!(ys, 10_000_000);
    assert!(pieces > 1, "one 10 MB piece: held in memory");
    assert!(peak_kb < 60 * 1024, "vmo peaked at {peak_kb} kB");
}

// --- 10. repeat --------------------------------------------------------------------------

#[test]
fn repeat_reuses_one_connection() {
    let _lock = shared();
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    assert_eq!(fleet.accepted_logins(0), 0);

    let out = ctx.run(&["exec", "--vm", "host0", "--repeat", "3", "--", "echo once"]);
    out.assert_code(0);
    let runs: Vec<String> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.starts_with("run "))
        .collect();
    assert_eq!(runs.len(), 3, "{out}");
    for (i, line) in runs.iter().enumerate() {
        let secs = line
            .strip_prefix(&format!("run {}: ", i + 1))
            .and_then(|l| l.strip_suffix(" s"))
            .unwrap_or_else(|| panic!("odd line {line:?}\n{out}"));
        secs.parse::<f64>().unwrap();
    }
    // Output of the last run only.
    assert_eq!(out.stdout(), "host0: once\n", "{out}");
    assert_eq!(fleet.accepted_logins(0), 1, "connection not reused");

    let out = ctx.run(&["exec", "--vm", "host0", "--repeat", "3", "--", "true"]);
    out.assert_code(0);
    assert_eq!(out.stderr_lines().len(), 3, "{out}");
    assert_eq!(fleet.accepted_logins(0), 2);
}

// --- 10. jobs: history, logs, export, retry, interrupted ---------------------------------

#[test]
fn exec_is_recorded_and_job_commands_read_it_back() {
    let _lock = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::with_fleet(&fleet);
    let port2 = fleet.hosts()[2].port();
    let command = format!(
        "echo hello; echo 'error 42' >&2; case \"$SSH_CONNECTION\" in *\" {port2}\") exit 3;; esac"
    );
    ctx.run(&["exec", "--all", "--", &command]).assert_code(1);

    let out = ctx.run(&["job", "list", "--json"]);
    out.assert_code(0);
    let jobs: Value = serde_json::from_str(&out.stdout()).unwrap();
    assert_eq!(jobs[0]["id"], 1, "{out}");
    assert_eq!(jobs[0]["state"], "failed");
    assert_eq!(jobs[0]["origin"], "cli");
    assert_eq!(jobs[0]["hosts_total"], 3);
    assert_eq!(jobs[0]["hosts_succeeded"], 2);
    let table = ctx.run(&["job", "list", "--state", "failed"]);
    assert!(table.stdout().contains("failed"), "{table}");
    assert!(table.stdout().contains("2/3"), "{table}");
    let none = ctx.run(&["job", "list", "--state", "succeeded"]);
    assert_eq!(none.stdout_lines().len(), 1, "header only: {none}");
    let bad = ctx.run(&["job", "list", "--state", "done"]);
    bad.assert_code(2);
    assert!(bad.stderr.contains("unknown state \"done\""), "{bad}");

    let show = ctx.run(&["job", "show", "1"]);
    show.assert_code(0);
    assert!(show.stdout().contains("job #1: failed"), "{show}");
    let host2 = show
        .stdout_lines()
        .into_iter()
        .find(|l| l.starts_with("host2"))
        .unwrap();
    assert!(host2.contains("failed") && host2.contains(" 3 "), "{host2}");

    let logs = ctx.run(&["job", "logs", "1", "--host", "host1"]);
    assert_eq!(
        logs.stdout(),
        "host1: hello\nhost1 [stderr]: error 42\n",
        "{logs}"
    );
    let grep = ctx.run(&["job", "logs", "1", "--grep", "^error [0-9]+$"]);
    assert_eq!(grep.stdout_lines().len(), 3, "{grep}");
    let stderr_only = ctx.run(&["job", "logs", "1", "--stream", "stdout", "--host", "host0"]);
    assert_eq!(stderr_only.stdout(), "host0: hello\n");
    let bad = ctx.run(&["job", "logs", "1", "--grep", "(unclosed"]);
    bad.assert_code(2);
    assert!(bad.stderr.contains("bad --grep pattern"), "{bad}");
    let bad = ctx.run(&["job", "logs", "1", "--host", "nope"]);
    assert!(bad.stderr.contains("job #1 has no host \"nope\""), "{bad}");

    // Exports.
    let csv = ctx.path().join("summary.csv");
    ctx.run(&[
        "job",
        "export",
        "1",
        "--format",
        "csv",
        "-o",
        csv.to_str().unwrap(),
    ])
    .assert_code(0);
    let text = fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), 4, "{text}");
    assert!(rows[0].starts_with("host,state,exit_code"), "{text}");
    assert!(rows[3].starts_with("host2,failed,3,"), "{text}");
    let jsonl = ctx.path().join("log.jsonl");
    ctx.run(&[
        "job",
        "export",
        "1",
        "--format",
        "jsonl",
        "--stream",
        "stderr",
        "-o",
        jsonl.to_str().unwrap(),
    ])
    .assert_code(0);
    let lines: Vec<Value> = fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines
        .iter()
        .all(|l| l["stream"] == "stderr" && l["line"] == "error 42"));
    let txt = ctx.path().join("log.txt");
    ctx.run(&[
        "job",
        "export",
        "1",
        "--format",
        "text",
        "-o",
        txt.to_str().unwrap(),
    ])
    .assert_code(0);
    assert_eq!(fs::read_to_string(&txt).unwrap().lines().count(), 6);

    // Retry the failed host with the same command: only host2 runs, as job #2.
    let retry = ctx.run(&["job", "retry", "1", "--failed"]);
    retry.assert_code(1);
    assert_eq!(retry.stdout(), "host2: hello\n", "{retry}");
    let show = ctx.run(&["job", "show", "2", "--json"]);
    let detail: Value = serde_json::from_str(&show.stdout()).unwrap();
    assert_eq!(detail["job"]["retry_of"], 1);
    assert_eq!(detail["hosts"].as_array().unwrap().len(), 1);
}

#[test]
fn a_job_killed_mid_run_is_interrupted_with_its_output_kept() {
    let _lock = shared();
    let fleet = Fleet::start(2);
    let ctx = Ctx::with_fleet(&fleet);
    let mut child = ctx
        .command(&["exec", "--all", "--", "seq 1 500; sleep 60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Read until every host printed its last line, so the output was received...
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = 0;
    let mut line = String::new();
    while seen < 2 {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0);
        if line.ends_with(": 500\n") {
            seen += 1;
        }
    }
    // ...and the writer's periodic commit put it on disk, then kill it hard.
    thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();

    // The next start of anything on this data dir marks the job interrupted.
    let show = ctx.run(&["job", "show", "1", "--json"]);
    let detail: Value = serde_json::from_str(&show.stdout()).unwrap();
    assert_eq!(detail["job"]["state"], "interrupted", "{show}");
    for host in detail["hosts"].as_array().unwrap() {
        assert_eq!(host["state"], "interrupted", "{show}");
    }
    let logs = ctx.run(&["job", "logs", "1", "--host", "host1"]);
    let expected: String = (1..=500).map(|i| format!("host1: {i}\n")).collect();
    assert_eq!(logs.stdout(), expected);
}

#[test]
fn logs_follow_prints_until_the_job_ends() {
    let _lock = shared();
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    // "second" is written only once a file exists, which the test creates after `logs
    // --follow` printed "first": so it can only have arrived by following. (Bounded: the
    // remote command gives up waiting after 60 s.)
    let go_on = ctx.path().join("second.go");
    let command = format!(
        "echo first; i=0; while [ ! -e {} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; \
         echo second",
        go_on.display()
    );
    let mut exec = ctx
        .command(&["exec", "--all", "--", &command])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(20), || {
        ctx.run(&["job", "logs", "1"]).stdout().contains("first")
    }));
    let mut follow = ctx
        .command(&["job", "logs", "1", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = reader(follow.stderr.take().unwrap());
    let (lines, from_follow) = std::sync::mpsc::channel();
    let stdout = BufReader::new(follow.stdout.take().unwrap());
    thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let first = from_follow
        .recv_timeout(Duration::from_secs(30))
        .expect("logs --follow printed nothing");
    assert_eq!(first, "host0: first");
    assert!(
        exec.try_wait().unwrap().is_none(),
        "the job ended before following began"
    );
    fs::write(&go_on, "").unwrap();
    let status = wait_or_kill(&mut follow, Duration::from_secs(30), "job logs 1 --follow");
    // Until the reader reaches the end of the output (the sender goes), bounded.
    let mut rest = Vec::new();
    while let Ok(line) = from_follow.recv_timeout(Duration::from_secs(30)) {
        rest.push(line);
    }
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
    assert!(status.success(), "{status}: {stderr}");
    assert_eq!(rest, ["host0: second"], "{stderr}");
    assert!(exec.wait().unwrap().success());
}

#[test]
fn exec_quiet_no_record_and_output_cap() {
    let _lock = shared();
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    let quiet = ctx.run(&["exec", "--vm", "host0", "--quiet", "--", "echo hi; exit 2"]);
    quiet.assert_code(1);
    assert!(
        quiet.stdout.is_empty() && quiet.stderr.is_empty(),
        "{quiet}"
    );
    let logs = ctx.run(&["job", "logs", "1"]);
    assert_eq!(
        logs.stdout(),
        "host0: hi\n",
        "recorded all the same: {logs}"
    );

    let unrecorded = ctx.run(&["exec", "--vm", "host0", "--no-record", "--", "echo there"]);
    unrecorded.assert_code(0);
    assert_eq!(unrecorded.stdout(), "host0: there\n");
    let list = ctx.run(&["job", "list", "--json"]);
    let jobs: Value = serde_json::from_str(&list.stdout()).unwrap();
    assert_eq!(jobs.as_array().unwrap().len(), 1, "{list}");

    let capped = ctx.run(&[
        "exec",
        "--vm",
        "host0",
        "--quiet",
        "--output-cap",
        "1",
        "--",
        "head -c 3000000 /dev/zero | tr '\\0' x",
    ]);
    capped.assert_code(0);
    let show = ctx.run(&["job", "show", "2", "--json"]);
    let detail: Value = serde_json::from_str(&show.stdout()).unwrap();
    assert_eq!(detail["hosts"][0]["truncated"], true, "{show}");
    assert_eq!(detail["hosts"][0]["out_bytes"], 1 << 20, "{show}");
    let logs = ctx.run(&["job", "logs", "2"]);
    assert!(
        logs.stdout().contains("output truncated at 1 MiB"),
        "marker shown"
    );

    let bad = ctx.run(&["exec", "--vm", "host0", "--output-cap", "0", "--", "true"]);
    bad.assert_code(2);
    assert!(
        bad.stderr.contains("--output-cap must be at least 1 MiB"),
        "{bad}"
    );
}

// --- one queue for the app and every vmo ------------------------------------------------

/// `[start, end]` stamps (ns) the command below appends to `dir/<server port>` on each host.
fn stamped(dir: &Path, seconds: f64) -> String {
    format!(
        "f={}/$(echo $SSH_CONNECTION | cut -d' ' -f4); echo \"start $(date +%s%N)\" >> $f; \
         sleep {seconds}; echo \"end $(date +%s%N)\" >> $f",
        dir.display()
    )
}

/// The `(start, end)` pairs of one host's stamp file, in start order.
fn intervals(file: &Path) -> Vec<(u128, u128)> {
    let text = fs::read_to_string(file).unwrap();
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for line in text.lines() {
        let (what, at) = line.split_once(' ').unwrap();
        let at: u128 = at.parse().unwrap();
        if what == "start" {
            starts.push(at);
        } else {
            ends.push(at);
        }
    }
    starts.sort_unstable();
    ends.sort_unstable();
    starts.into_iter().zip(ends).collect()
}

#[test]
fn three_vmo_runs_on_the_same_vms_take_turns() {
    let _lock = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::with_fleet(&fleet);
    let stamps = ctx.path().join("stamps");
    fs::create_dir_all(&stamps).unwrap();
    let command = stamped(&stamps, 0.6);
    // Three processes at once, each on every VM.
    let runs: Vec<Child> = (0..3)
        .map(|_| {
            ctx.command(&["exec", "--all", "--quiet", "--", &command])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut run in runs {
        assert!(wait_or_kill(&mut run, RUN_LIMIT, "exec").success());
    }
    // The turns are files only this user can take (or hold up).
    use std::os::unix::fs::PermissionsExt;
    for dir in [ctx.data_dir(), ctx.data_dir().join("locks")] {
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
    }
    for host in fleet.hosts() {
        let runs = intervals(&stamps.join(host.port().to_string()));
        assert_eq!(runs.len(), 3, "every process ran on port {}", host.port());
        for pair in runs.windows(2) {
            assert!(
                pair[1].0 >= pair[0].1,
                "two jobs overlapped on port {}: {runs:?}",
                host.port()
            );
        }
    }
}

/// The desktop app's view of the data directory: an engine in this process that follows
/// the jobs other processes run.
struct App {
    runtime: tokio::runtime::Runtime,
    engine: vmo_engine::Engine,
    events: tokio::sync::broadcast::Receiver<vmo_engine::JobEvent>,
}

impl App {
    fn open(ctx: &Ctx) -> App {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let (engine, events) = runtime.block_on(async {
            let mut settings = vmo_engine::ssh::SshSettings::from_env();
            settings.known_hosts = ctx.known_hosts();
            let engine = vmo_engine::Engine::open_with(
                vmo_engine::Paths::new(ctx.data_dir()),
                &settings,
                std::sync::Arc::new(vmo_engine::ssh::NoSecrets),
            )
            .await
            .unwrap();
            let events = engine.jobs().subscribe();
            engine.jobs().follow_other_processes().await.unwrap();
            (engine, events)
        });
        App {
            runtime,
            engine,
            events,
        }
    }

    /// The next job event, waiting at most `limit`.
    fn next(&mut self, limit: Duration) -> vmo_engine::JobEvent {
        let events = &mut self.events;
        self.runtime
            .block_on(async { tokio::time::timeout(limit, events.recv()).await })
            .expect("a job event in time")
            .expect("the event stream")
    }
}

#[test]
fn the_open_app_sees_a_vmo_job_live_and_hears_it_end() {
    use vmo_engine::jobs::{JobState, Origin};
    use vmo_engine::JobEvent;
    let _lock = shared();
    let fleet = Fleet::start(2);
    let ctx = Ctx::with_fleet(&fleet);
    let mut app = App::open(&ctx);
    let mut exec = ctx
        .command(&["exec", "--all", "--", "echo one; sleep 2; echo two"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut output = String::new();
    let mut created = None;
    let mut one_seen_at = None;
    let finished = loop {
        match app.next(Duration::from_secs(30)) {
            JobEvent::Created(job) => created = Some(job),
            JobEvent::Output { chunks, .. } => {
                for chunk in chunks.iter() {
                    output.push_str(&String::from_utf8_lossy(&chunk.data));
                }
                if output.matches("one").count() == 2 && one_seen_at.is_none() {
                    one_seen_at = Some(started.elapsed());
                }
            }
            JobEvent::Finished { job, .. } => break job,
            _ => {}
        }
    };
    let created = created.expect("a Created event for the vmo job");
    assert_eq!(created.origin, Origin::Cli);
    assert_eq!(created.hosts_total, 2);
    assert_eq!(finished.id, created.id);
    assert_eq!(finished.state, JobState::Succeeded);
    assert_eq!(output.matches("two").count(), 2, "{output:?}");
    // Live: the first lines arrived while the job still ran (it sleeps 2 s after them).
    let one_seen_at = one_seen_at.expect("both hosts' first line");
    assert!(
        one_seen_at + Duration::from_millis(1000) < started.elapsed(),
        "first lines seen only at {one_seen_at:?}, the job ended at {:?}",
        started.elapsed()
    );
    assert!(exec.wait().unwrap().success());
}

#[test]
fn the_open_app_cancels_a_vmo_job() {
    use vmo_engine::jobs::{HostState, JobState};
    use vmo_engine::JobEvent;
    let _lock = shared();
    let fleet = Fleet::start(2);
    let ctx = Ctx::with_fleet(&fleet);
    let mut app = App::open(&ctx);
    let mut exec = start_exec(&ctx, &fleet, "echo $$ > PIDFILE; sleep 60");
    let job = loop {
        if let JobEvent::Created(job) = app.next(Duration::from_secs(30)) {
            break job.id;
        }
    };
    let jobs = app.engine.jobs().clone();
    app.runtime.block_on(jobs.cancel(job)).unwrap();
    let status = wait_or_kill(&mut exec.child, Duration::from_secs(20), "exec");
    assert_eq!(status.code(), Some(1), "a cancelled run does not succeed");
    let stderr = String::from_utf8_lossy(&exec.stderr.join().unwrap()).into_owned();
    assert!(
        stderr.contains(&format!("job {job} was cancelled by another program")),
        "{stderr}"
    );
    for pid in &exec.remote {
        assert!(
            wait_until(Duration::from_secs(5), || process_gone(*pid)),
            "remote command {pid} still runs"
        );
    }
    let detail = app.runtime.block_on(jobs.detail(job)).unwrap();
    assert_eq!(detail.job.state, JobState::Cancelled);
    assert!(detail.hosts.iter().all(|h| h.state == HostState::Cancelled));
    // A finished job cannot be cancelled again; the error says why.
    let again = app.runtime.block_on(jobs.cancel(job)).unwrap_err();
    assert!(again.message.contains("nothing to cancel"), "{again}");

    // `vmo job cancel` reaches another vmo's job too: one host, then the rest.
    fs::remove_dir_all(ctx.path().join("pids")).unwrap();
    let mut exec = start_exec(&ctx, &fleet, "echo $$ > PIDFILE; sleep 60");
    ctx.run(&["job", "cancel", "2", "--host", "host0"])
        .assert_code(0);
    assert!(
        wait_until(Duration::from_secs(5), || process_gone(exec.remote[0])),
        "host0's command still runs"
    );
    assert!(!process_gone(exec.remote[1]), "host1 was not asked to stop");
    ctx.run(&["job", "cancel", "2"]).assert_code(0);
    let status = wait_or_kill(&mut exec.child, Duration::from_secs(20), "exec");
    assert_eq!(status.code(), Some(1));
    assert!(wait_until(Duration::from_secs(5), || process_gone(
        exec.remote[1]
    )));
    let finished = ctx.run(&["job", "cancel", "2"]);
    finished.assert_code(2);
    assert!(
        finished
            .stderr
            .contains("job #2 is cancelled: nothing to cancel"),
        "{finished}"
    );
}

#[test]
fn a_full_disk_is_never_reported_as_success() {
    let _lock = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::new();
    fs::copy(fleet.known_hosts(), ctx.known_hosts()).unwrap();
    let disk = vmo_testkit::SmallDisk::mount(&ctx.data_dir(), "8m");
    ctx.run(&[
        "vm",
        "import-ssh-config",
        fleet.ssh_config().to_str().unwrap(),
    ])
    .assert_code(0);
    let filler = disk.fill(1 << 20);
    // 3 hosts x 4 MB of lines into 1 MB of room; every host itself succeeds.
    let exec = ctx.run(&[
        "exec",
        "--all",
        "--quiet",
        "--",
        "yes 0123456789012345678901234567890123456789 | head -c 4000000",
    ]);
    exec.assert_code(1);
    let data_dir = ctx.data_dir().display().to_string();
    assert!(
        exec.stderr.contains("was not recorded")
            && exec
                .stderr
                .contains(&format!("the disk holding {data_dir} is full")),
        "{exec}"
    );

    // Room again: the database is whole, the job did not become a success, and the next
    // run is recorded in full.
    fs::remove_file(filler).unwrap();
    let show = ctx.run(&["job", "show", "1", "--json"]);
    show.assert_code(0);
    let job: Value = serde_json::from_str(&show.stdout()).unwrap();
    let state = job["job"]["state"].as_str().unwrap().to_string();
    assert!(state == "failed" || state == "interrupted", "{show}");
    let again = ctx.run(&["exec", "--all", "--quiet", "--", "seq 1 1000"]);
    again.assert_code(0);
    let logs = ctx.run(&["job", "logs", "2", "--host", "host2"]);
    let expected: String = (1..=1000).map(|i| format!("host2: {i}\n")).collect();
    assert_eq!(logs.stdout(), expected);
}

#[test]
fn an_app_opened_during_a_vmo_job_follows_it_to_its_end() {
    use vmo_engine::jobs::JobState;
    use vmo_engine::JobEvent;
    let _lock = shared();
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    let mut exec = ctx
        .command(&["exec", "--all", "--", "echo one; sleep 2; echo two"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    assert!(wait_until(Duration::from_secs(20), || {
        ctx.run(&["job", "logs", "1"]).stdout().contains("one")
    }));
    // The app starts while the job runs: it picks it up where it is.
    let mut app = App::open(&ctx);
    let mut later = String::new();
    let finished = loop {
        match app.next(Duration::from_secs(30)) {
            JobEvent::Output { chunks, .. } => {
                for chunk in chunks.iter() {
                    later.push_str(&String::from_utf8_lossy(&chunk.data));
                }
            }
            JobEvent::Finished { job, .. } => break job,
            _ => {}
        }
    };
    assert_eq!(finished.state, JobState::Succeeded);
    assert_eq!(later, "two\n", "only what came after the app opened");
    assert!(exec.wait().unwrap().success());
}

/// Holds `file` from another connection, as another program would: with `exclusive`, the
/// whole file (`PRAGMA locking_mode=EXCLUSIVE` and a write: nobody else may even read);
/// otherwise a write transaction (readers go on, writers wait).
fn hold_database(
    runtime: &tokio::runtime::Runtime,
    file: &Path,
    exclusive: bool,
) -> sqlx::SqliteConnection {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteLockingMode};
    use sqlx::ConnectOptions;
    runtime.block_on(async {
        let mode = if exclusive {
            SqliteLockingMode::Exclusive
        } else {
            SqliteLockingMode::Normal
        };
        let mut conn = SqliteConnectOptions::new()
            .filename(file)
            .locking_mode(mode)
            .connect()
            .await
            .unwrap();
        let begin = if exclusive {
            "BEGIN EXCLUSIVE"
        } else {
            "BEGIN IMMEDIATE"
        };
        sqlx::query(begin).execute(&mut conn).await.unwrap();
        sqlx::query("UPDATE vms SET notes = 'held' WHERE name = 'web-1'")
            .execute(&mut conn)
            .await
            .unwrap();
        conn
    })
}

fn release_database(runtime: &tokio::runtime::Runtime, mut conn: sqlx::SqliteConnection) {
    use sqlx::Connection;
    runtime.block_on(async {
        sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    });
}

#[track_caller]
fn assert_locked_explained(out: &Run, file: &Path) {
    assert_ne!(out.code(), Some(0), "{out}");
    assert!(out.elapsed < Duration::from_secs(15), "{out}");
    assert!(
        out.stderr.contains(&format!(
            "the database {} is locked by another program",
            file.display()
        )),
        "names the file and who holds it:\n{out}"
    );
    assert!(out.stderr.contains("try again"), "says what to do:\n{out}");
    // One line of vmo's own, no sqlx chatter ("slow statement", "(code: 5)").
    assert_eq!(out.stderr.lines().count(), 1, "{out}");
    assert!(!out.stderr.contains("slow statement"), "{out}");
    assert!(!out.stderr.contains("code: 5"), "{out}");
}

/// Another program holds the database: `vmo` says so in words (which file, that another
/// program holds it, what to do), shows no library chatter, and gives up in bounded time.
#[test]
fn a_database_locked_by_another_program_is_explained() {
    let _machine = shared();
    let ctx = Ctx::new();
    ctx.run(&["vm", "add", "web-1", "--host", "10.0.0.5"])
        .assert_code(0);
    let file = ctx.data_dir().join("inventory.sqlite3");
    let runtime = tokio::runtime::Runtime::new().unwrap();

    // Held whole: vmo cannot even open it.
    let holder = hold_database(&runtime, &file, true);
    for args in [
        &["vm", "list"][..],
        &["vm", "add", "web-2", "--host", "10.0.0.6"],
    ] {
        let out = run(ctx.command(args), Duration::from_secs(30));
        assert_locked_explained(&out, &file);
        eprintln!("{out}");
    }
    release_database(&runtime, holder);

    // Held for writing: reading works, a change waits, then is refused the same way.
    let holder = hold_database(&runtime, &file, false);
    let out = ctx.run(&["vm", "list"]);
    out.assert_code(0);
    assert!(out.stdout().contains("web-1"), "{out}");
    let out = run(
        ctx.command(&["vm", "add", "web-2", "--host", "10.0.0.6"]),
        Duration::from_secs(30),
    );
    assert_locked_explained(&out, &file);
    eprintln!("{out}");
    release_database(&runtime, holder);

    // Once the other program lets go, all is well.
    ctx.run(&["vm", "add", "web-2", "--host", "10.0.0.6"])
        .assert_code(0);
    let out = ctx.run(&["vm", "list"]);
    out.assert_code(0);
    assert!(out.stdout().contains("web-2"), "{out}");
}

/// Every host of a test fleet is this machine, whose load and latency follow whatever else
/// runs: the app's settings file with thresholds no busy test machine crosses.
fn relax_thresholds(ctx: &Ctx) {
    let settings = serde_json::json!({ "settings": { "status": { "thresholds": {
        "load_per_cpu": 1000.0, "memory_pct": 100.0, "disk_pct": 100.0, "latency_ms": 600000
    } } } });
    fs::write(ctx.data_dir().join("settings.json"), settings.to_string()).unwrap();
}

#[test]
fn status_probes_the_chosen_vms_as_a_table_or_json_and_fails_while_one_is_offline() {
    let _machine = shared();
    let fleet = Fleet::start(3);
    let ctx = Ctx::with_fleet(&fleet);
    relax_thresholds(&ctx);
    let out = ctx.run(&["status"]);
    out.assert_code(0);
    let lines = out.stdout_lines();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("LATENCY"),
        "{out}"
    );
    assert_eq!(lines.len(), 4, "{out}");
    for (i, line) in lines[1..].iter().enumerate() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            &cells[..2],
            [format!("host{i}").as_str(), "online"],
            "{out}"
        );
        assert!(line.contains(" ms "), "{out}");
    }

    fleet.stop_host(1);
    let out = ctx.run(&["status", "--json", "host0", "host1"]);
    out.assert_code(1);
    let rows: Value = serde_json::from_str(out.stdout().trim()).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(rows[0]["name"], "host0");
    assert_eq!(rows[0]["health"], "online");
    // CPU busy from the previous run's reading (seconds ago).
    assert!(rows[0]["cpu_pct"].is_number(), "{out}");
    assert!(rows[0]["reading"]["memory"]["total"].as_u64().unwrap() > 0);
    assert_eq!(rows[1]["health"], "offline");
    assert_eq!(rows[1]["error"]["code"], "refused", "{out}");
    let table = ctx.run(&["status", "--tag", "nosuchtag"]);
    table.assert_code(2);
    // The table names the reason; the other hosts stay online.
    let out = ctx.run(&["status", "--all"]);
    out.assert_code(1);
    let host1 = out
        .stdout_lines()
        .into_iter()
        .find(|l| l.starts_with("host1"))
        .unwrap();
    assert!(
        host1.contains("offline") && host1.contains("refused"),
        "{out}"
    );
    // One login per host per run: a round is one command over one connection.
    assert_eq!(fleet.accepted_logins(0), 3);
    // What runs is there to read, and it is what the server ran.
    let probe = ctx.run(&["status", "--show-probe"]);
    probe.assert_code(0);
    assert!(probe.stdout().starts_with("echo 'vmo-probe 1'"), "{probe}");
    assert_eq!(
        fleet.accepted_logins(0),
        3,
        "--show-probe connects to nothing"
    );
}

#[test]
fn status_watch_probes_again_over_the_same_connection() {
    let _machine = shared();
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    relax_thresholds(&ctx);
    let mut child = ctx
        .command(&["status", "--json", "--watch", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let rounds: Vec<Value> = (0..3)
        .map(|_| serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(rounds.iter().all(|r| r[0]["health"] == "online"));
    assert!(rounds[2][0]["cpu_pct"].is_number());
    assert_eq!(
        fleet.accepted_logins(0),
        1,
        "each round reused the connection"
    );
}
