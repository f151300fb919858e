//! Faults, against a real sshd fleet (vmo-testkit), real SQLite files and the real `vmo`
//! and app binaries: what breaks is a server, a connection, the process itself, the disk
//! or the keyring; each time the user is told what happened in words, nothing already
//! recorded is lost, and the next job works once the fault is gone.
//!
//! - A host's sshd killed mid-job, and a connection reset mid-output (a proxy that resets
//!   the TCP connection): that host fails with its output so far kept, the others finish,
//!   and the same engine's pool logs in again for the next job.
//! - `vmo` and the app (a job started from its UI) killed with SIGKILL while 20 hosts
//!   stream: the job reads interrupted and what the database holds of each host is an
//!   exact, in-order prefix of the record the remote command kept of its own output; the
//!   database passes `PRAGMA integrity_check`; the next job works.
//! - A read-only data directory and a full disk at start-up: one clear line each, the
//!   earlier job intact, and everything works again once writable / freed.
//! - No Secret Service, and a locked keyring: a password VM fails naming the keyring,
//!   while an agent VM and an unencrypted-key VM still run; unlocked, all three run. An
//!   unlock prompt nobody answers costs the password VM 20 s, and `vmo` still exits.
//! - A database held by another program during a job: briefly or past the busy timeout,
//!   nothing is lost (the output waits in memory, up to a minute, and `vmo` says why).
//!
//! Covered elsewhere and not repeated here:
//! - a host frozen mid-job (its timeout fires, the others finish):
//!   `crates/cli/tests/cli.rs` `a_frozen_host_ends_as_timed_out_soon_after_its_timeout`,
//!   and `crates/ssh/tests/ssh.rs` `a_frozen_host_is_given_up_soon_after_its_timeout`;
//! - a disk that fills during a job (what was lost is said, the job never succeeds, the
//!   next run is recorded in full): `cli.rs` `a_full_disk_is_never_reported_as_success`,
//!   and in the app `tests/e2e_shared_queue.rs`
//!   `output_the_disk_cannot_hold_is_reported_on_the_job_and_notified`;
//! - a database held by another program (`database_locked`, naming the file, for reads
//!   and writes, and all well once released): `cli.rs`
//!   `a_database_locked_by_another_program_is_explained`;
//! - `vmo` killed after its output arrived (job interrupted, output kept): `cli.rs`
//!   `a_job_killed_mid_run_is_interrupted_with_its_output_kept` — the streaming case, with
//!   the prefix check, is here.
//!
//! Needs root (mounts, the keyring's password user), like CI. Run as the other e2e tests:
//! `dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" cargo test --test
//! reliability_faults -- --test-threads=1`.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use vmo_engine::jobs::{HostState, JobDetail, JobId, JobOptions, JobSpec, JobState, Origin};
use vmo_engine::ssh::{KeyringSecrets, NoSecrets, SecretRef, Secrets, SshSettings};
use vmo_engine::{AuthMethod, Engine, JobEvent, Paths, VmDraft, VmId};
use vmo_testkit::{Fleet, PrivateKeyring, SmallDisk};

const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

/// Longest any single `vmo` run may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// How a host whose connection broke mid-run ends (kind `protocol`).
const LOST: &str = "the connection was lost mid-run (the host went away or the network dropped it)";

/// Held while this process's `DBUS_SESSION_BUS_ADDRESS` is changed, and while a program
/// that keeps the bus it inherits (tauri-driver, and so the app) is started.
static BUS_ENV: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Lines every streaming host must have in the database before the kill: enough that a
/// lost or reordered batch shows.
const MIN_LINES_AT_KILL: usize = 300;

/// `vmo`, built beside the app (`cargo build -p vmo-cli`, or the workspace's tests).
fn vmo() -> PathBuf {
    let vmo = Path::new(APP).with_file_name("vmo");
    assert!(
        vmo.exists(),
        "{} is missing: build it first (cargo build -p vmo-cli)",
        vmo.display()
    );
    vmo
}

// --- vmo on a private data directory ------------------------------------------------------

/// A private data directory, known_hosts and HOME for `vmo`.
struct Ctx {
    dir: tempfile::TempDir,
}

impl Ctx {
    fn new() -> Ctx {
        let dir = tempfile::Builder::new()
            .prefix("vmo-faults.")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::write(dir.path().join("known_hosts"), "").unwrap();
        Ctx { dir }
    }

    /// The fleet's hosts in the inventory (key-file logins) and trusted.
    fn with_fleet(fleet: &Fleet) -> Ctx {
        let ctx = Ctx::new();
        std::fs::copy(fleet.known_hosts(), ctx.known_hosts()).unwrap();
        ctx.import(fleet);
        ctx
    }

    fn import(&self, fleet: &Fleet) {
        let config = fleet.ssh_config().to_str().unwrap();
        self.run(&["vm", "import-ssh-config", config])
            .assert_code(0);
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
        let mut cmd = Command::new(vmo());
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
        run(&mut self.command(args))
    }

    /// `vmo job show ID --json`.
    fn job(&self, id: i64) -> Value {
        let shown = self.run(&["job", "show", &id.to_string(), "--json"]);
        shown.assert_code(0);
        serde_json::from_str(&shown.stdout).unwrap()
    }

    /// Each host's lines of job `id` as the database holds them (`vmo job logs`); none
    /// while there is no such job yet.
    fn logged_lines(&self, id: i64) -> BTreeMap<String, Vec<String>> {
        let logs = self.run(&["job", "logs", &id.to_string()]);
        if logs.code == Some(2) && logs.stderr.contains(&format!("no job #{id}")) {
            return BTreeMap::new();
        }
        logs.assert_code(0);
        let mut lines: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in logs.stdout.lines() {
            let (host, text) = line.split_once(": ").unwrap_or((line, ""));
            lines
                .entry(host.to_string())
                .or_default()
                .push(text.to_string());
        }
        lines
    }
}

/// A finished `vmo` run.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    #[track_caller]
    fn assert_code(&self, code: i32) -> &Run {
        assert_eq!(self.code, Some(code), "unexpected exit status\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{:?}, {:.2?}]\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }
}

/// Runs `cmd` to its end, or kills it and fails after [`RUN_LIMIT`].
fn run(cmd: &mut Command) -> Run {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = reader(child.stdout.take().unwrap());
    let stderr = reader(child.stderr.take().unwrap());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still ran after {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
        elapsed: started.elapsed(),
    }
}

fn reader(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Polls `done` every 100 ms until it holds or `limit` passes; whether it held.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `PRAGMA integrity_check` of a database file, from a connection of its own.
fn integrity(file: &Path) -> String {
    use sqlx::ConnectOptions;
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(file)
            .connect()
            .await
            .unwrap();
        let (verdict,): (String,) = sqlx::query_as("PRAGMA integrity_check")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        verdict
    })
}

// --- streaming hosts that keep a record of their own output -------------------------------

/// A command that prints numbered lines for a long while, ~200 a second, each appended to
/// a file of its host's own (`<records>/<sshd port>`) *before* it is printed.
fn streaming_command(records: &Path) -> String {
    format!(
        "p=$(echo $SSH_CONNECTION | cut -d' ' -f4); f={}/$p; i=0; \
         while [ $i -lt 30000 ]; do i=$((i+1)); echo \"line $i of $p\" >> \"$f\"; \
         echo \"line $i of $p\"; if [ $((i % 20)) -eq 0 ]; then sleep 0.1; fi; done",
        records.display()
    )
}

/// Each host's own record, by host name: whole lines only (the last may be half written).
fn host_records(fleet: &Fleet, records: &Path) -> BTreeMap<String, Vec<String>> {
    fleet
        .hosts()
        .iter()
        .map(|host| {
            let text =
                std::fs::read_to_string(records.join(host.port().to_string())).unwrap_or_default();
            let whole = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
            let lines = whole.lines().map(str::to_string).collect();
            (host.name().to_string(), lines)
        })
        .collect()
}

/// Whether every one of the fleet's hosts has at least `n` lines in `logged`.
fn all_have(fleet: &Fleet, logged: &BTreeMap<String, Vec<String>>, n: usize) -> bool {
    fleet
        .hosts()
        .iter()
        .all(|h| logged.get(h.name()).is_some_and(|lines| lines.len() >= n))
}

/// After a kill: what the database holds of each host is an exact prefix of the host's own
/// record, at least `at_least` lines (what it held before the kill). Prints the figures.
fn assert_exact_prefixes(
    fleet: &Fleet,
    records: &Path,
    logged: &BTreeMap<String, Vec<String>>,
    at_least: &BTreeMap<String, usize>,
) {
    let recorded = host_records(fleet, records);
    let mut figures = Vec::new();
    for host in fleet.hosts() {
        let name = host.name();
        let own = &recorded[name];
        let db = logged.get(name).map(Vec::as_slice).unwrap_or_default();
        assert!(
            db.len() >= at_least[name] && db.len() >= MIN_LINES_AT_KILL,
            "{name}: {} lines in the database, {} before the kill",
            db.len(),
            at_least[name]
        );
        assert!(
            db.len() <= own.len(),
            "{name}: the database has {} lines, the host wrote {}",
            db.len(),
            own.len()
        );
        if let Some(i) = (0..db.len()).find(|&i| db[i] != own[i]) {
            panic!(
                "{name}: line {} differs: database {:?}, host {:?}",
                i + 1,
                db[i],
                own[i]
            );
        }
        figures.push((name.to_string(), own.len(), db.len()));
    }
    let lost: Vec<usize> = figures.iter().map(|(_, own, db)| own - db).collect();
    eprintln!(
        "at the kill: {} lines in the database of {} the hosts wrote; per host, {}..{} in \
         the database, {}..{} not (the last unflushed batch, and what was in flight)",
        figures.iter().map(|f| f.2).sum::<usize>(),
        figures.iter().map(|f| f.1).sum::<usize>(),
        figures.iter().map(|f| f.2).min().unwrap_or(0),
        figures.iter().map(|f| f.2).max().unwrap_or(0),
        lost.iter().min().unwrap_or(&0),
        lost.iter().max().unwrap_or(&0),
    );
}

fn line_counts(logged: &BTreeMap<String, Vec<String>>) -> BTreeMap<String, usize> {
    logged.iter().map(|(k, v)| (k.clone(), v.len())).collect()
}

/// The process that runs job `id` (its `owner`, "pid:start-time").
fn job_owner(database: &Path, id: i64) -> u32 {
    use sqlx::ConnectOptions;
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(database)
            .read_only(true)
            .connect()
            .await
            .unwrap();
        let (owner,): (String,) = sqlx::query_as("SELECT owner FROM jobs WHERE id = ?")
            .bind(id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        owner.split_once(':').unwrap().0.parse().unwrap()
    })
}

fn sigkill(pid: u32) {
    let killed = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success(), "kill -KILL {pid}");
    assert!(
        wait_until(Duration::from_secs(10), || !process_alive(pid)),
        "{pid} survived SIGKILL"
    );
}

/// Alive and not a zombie.
fn process_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 1..];
            rest.split_whitespace().next().map(|s| s != "Z" && s != "X")
        })
        .unwrap_or(false)
}

// --- an engine in this process, as the app holds one --------------------------------------

/// An engine on its own data directory, trusting `known_hosts`, with the fleet imported.
async fn engine_for(fleet: &Fleet, known_hosts: &Path, data: &Path) -> (Engine, Vec<VmId>) {
    let settings = SshSettings {
        known_hosts: known_hosts.to_path_buf(),
        accept_new: false,
        connect_timeout: Duration::from_secs(5),
        keepalive: Duration::from_secs(30),
        idle_expiry: Duration::from_secs(300),
        agent_socket: None,
    };
    let engine = Engine::open_with(Paths::new(data), &settings, Arc::new(NoSecrets))
        .await
        .unwrap();
    engine
        .inventory()
        .import_apply(fleet.ssh_config(), None)
        .await
        .unwrap();
    let mut vms = Vec::new();
    for host in fleet.hosts() {
        vms.push(
            engine
                .inventory()
                .find_by_name(host.name())
                .await
                .unwrap()
                .id,
        );
    }
    (engine, vms)
}

fn spec(command: &str, targets: &[VmId]) -> JobSpec {
    JobSpec {
        command: command.into(),
        targets: targets.to_vec(),
        target_label: format!("{} VMs", targets.len()),
        options: JobOptions::default(),
        origin: Origin::App,
        retry_of: None,
        template: None,
    }
}

/// Waits (bounded) for `job`'s Finished event, then reads it back.
async fn finished(
    engine: &Engine,
    events: &mut broadcast::Receiver<JobEvent>,
    job: JobId,
) -> JobDetail {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(JobEvent::Finished { job: j, .. }) if j.id == job => break,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("events ended: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("the job finished within 30 s");
    engine.jobs().detail(job).await.unwrap()
}

/// Host `host`'s stdout lines of `job`, as recorded.
async fn host_lines(engine: &Engine, job: JobId, host: u32) -> Vec<String> {
    let (_, log) = engine.jobs().log(job).await.unwrap();
    log.host_output(host, vmo_engine::jobs::log::Stream::Stdout)
        .map(str::to_string)
        .collect()
}

/// Polls (bounded) until host `host` of `job` has at least `n` lines recorded.
async fn wait_for_lines(engine: &Engine, job: JobId, host: u32, n: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = host_lines(engine, job, host).await;
        if lines.len() >= n {
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "host {host} of job {job} printed only {} lines",
            lines.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The shell of a run that wrote its PID to `file` (a local path: the hosts are here).
async fn wait_for_pid(file: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(file) {
            if let Ok(pid) = text.trim().parse() {
                if text.ends_with('\n') {
                    return pid;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            file.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// --- 1. sshd killed mid-job, and back -----------------------------------------------------

/// The sshd of one host dies mid-job (listener and sessions, as a machine going away):
/// that host fails at once with what it printed kept, the others run to their end; while
/// it is down the next job says it is unreachable; once it is back the same engine (the
/// app's pool) logs in again and the next job succeeds everywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sshd_killed_mid_job_fails_that_host_alone_and_the_pool_reconnects_once_it_is_back() {
    let fleet = Fleet::start(3);
    let dir = tempfile::tempdir().unwrap();
    let (engine, vms) = engine_for(&fleet, fleet.known_hosts(), &dir.path().join("data")).await;
    let mut events = engine.jobs().subscribe();

    // The pool holds a connection to every host.
    let warm = engine.jobs().submit(spec("true", &vms)).await.unwrap();
    assert_eq!(
        finished(&engine, &mut events, warm.id).await.job.state,
        JobState::Succeeded
    );
    assert_eq!(fleet.accepted_logins(1), 1);

    // host1 prints 100 lines and waits; the others take 3 s, then end.
    let pid_file = dir.path().join("host1.pid");
    let port1 = fleet.hosts()[1].port();
    let command = format!(
        "seq 1 100; case \"$SSH_CONNECTION\" in *\" {port1}\") echo $$ > {}; sleep 60;; \
         *) sleep 3;; esac; echo end",
        pid_file.display()
    );
    let job = engine.jobs().submit(spec(&command, &vms)).await.unwrap();
    wait_for_pid(&pid_file).await;
    wait_for_lines(&engine, job.id, 1, 100).await;
    let killed = Instant::now();
    fleet.stop_host(1);
    let detail = finished(&engine, &mut events, job.id).await;
    eprintln!("job with host1 killed: {:?}", detail.hosts[1]);
    assert_eq!(detail.job.state, JobState::Failed);
    let host1 = &detail.hosts[1];
    assert_eq!(host1.state, HostState::Failed, "{host1:?}");
    assert_eq!(host1.error_kind.as_deref(), Some("protocol"), "{host1:?}");
    assert_eq!(host1.error.as_deref(), Some(LOST), "{host1:?}");
    for other in [0, 2] {
        assert_eq!(detail.hosts[other].state, HostState::Succeeded);
        let lines = host_lines(&engine, job.id, other as u32).await;
        assert_eq!(lines.last().map(String::as_str), Some("end"));
    }
    let expected: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    assert_eq!(host_lines(&engine, job.id, 1).await, expected);
    // Given up as soon as the host went (the others' 3 s set the job's end).
    let host1_end = host1.finished_at.unwrap();
    let others_end = detail.hosts[0].finished_at.unwrap();
    assert!(
        host1_end <= others_end,
        "host1 was given up only after the others ended ({:?} after the kill)",
        killed.elapsed()
    );

    // While it is down: unreachable, in words; the others unaffected.
    let down = engine.jobs().submit(spec("echo up", &vms)).await.unwrap();
    let detail = finished(&engine, &mut events, down.id).await;
    assert_eq!(detail.hosts[1].state, HostState::Unreachable);
    assert_eq!(detail.hosts[1].error_kind.as_deref(), Some("refused"));
    assert_eq!(
        detail.hosts[1].error.as_deref(),
        Some(format!("connection to 127.0.0.1:{port1} refused").as_str())
    );
    assert_eq!(detail.hosts[0].state, HostState::Succeeded);

    // Back: the pool logs in again, and every host runs the next job.
    fleet.restart_host(1, false);
    let back = engine.jobs().submit(spec("echo back", &vms)).await.unwrap();
    let detail = finished(&engine, &mut events, back.id).await;
    assert_eq!(detail.job.state, JobState::Succeeded, "{detail:?}");
    assert_eq!(host_lines(&engine, back.id, 1).await, ["back"]);
    assert_eq!(fleet.accepted_logins(1), 2, "one new login for host1");
    assert_eq!(fleet.accepted_logins(0), 1, "host0's connection was kept");
}

// --- 2. a connection reset during output --------------------------------------------------

/// A TCP proxy to one sshd that can reset (RST) the client side of every connection it
/// carries, as a middlebox or a peer's crash does.
struct ResetProxy {
    port: u16,
    reset: watch::Sender<u32>,
}

impl ResetProxy {
    async fn start(upstream: u16) -> ResetProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (reset, _) = watch::channel(0u32);
        let resets = reset.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut reset = resets.subscribe();
                reset.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(mut server) =
                        tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = reset.changed() => {
                            // Zero linger: closing sends RST instead of FIN.
                            let _ = client.set_zero_linger();
                        }
                    }
                });
            }
        });
        ResetProxy { port, reset }
    }

    /// Resets every connection open now.
    fn reset_all(&self) {
        self.reset.send_modify(|n| *n += 1);
    }
}

/// A connection reset while a host streams: the host fails in words, what arrived before
/// the reset is kept in order, the remote command does not run on, and the next job over
/// the same engine connects again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_reset_during_output_keeps_what_came_and_the_next_job_reconnects() {
    let fleet = Fleet::start(1);
    let proxy = ResetProxy::start(fleet.hosts()[0].port()).await;
    let dir = tempfile::tempdir().unwrap();
    // The VM "relayed" is host0 reached through the proxy: trust host0's key there too.
    let known_hosts = dir.path().join("known_hosts");
    let mut trusted = std::fs::read_to_string(fleet.known_hosts()).unwrap();
    trusted.push_str(&format!(
        "[127.0.0.1]:{} {}\n",
        proxy.port,
        fleet.host_public_key(0)
    ));
    std::fs::write(&known_hosts, trusted).unwrap();
    let (engine, _) = engine_for(&fleet, &known_hosts, &dir.path().join("data")).await;
    let vm = engine
        .inventory()
        .create(VmDraft {
            name: "relayed".into(),
            host: "127.0.0.1".into(),
            port: proxy.port,
            user: fleet.user(),
            auth: AuthMethod::KeyFile,
            key_file: Some(fleet.client_key().display().to_string()),
            ..VmDraft::default()
        })
        .await
        .unwrap();
    let mut events = engine.jobs().subscribe();

    let pid_file = dir.path().join("stream.pid");
    let command = format!(
        "echo $$ > {}; i=0; while [ $i -lt 30000 ]; do i=$((i+1)); echo \"line $i\"; \
         if [ $((i % 50)) -eq 0 ]; then sleep 0.05; fi; done",
        pid_file.display()
    );
    let job = engine
        .jobs()
        .submit(spec(&command, &[vm.id]))
        .await
        .unwrap();
    let remote = wait_for_pid(&pid_file).await;
    let before = wait_for_lines(&engine, job.id, 0, 500).await.len();
    proxy.reset_all();
    let reset = Instant::now();
    let detail = finished(&engine, &mut events, job.id).await;
    let took = reset.elapsed();
    let host = &detail.hosts[0];
    eprintln!("reset after {before}+ lines; ended {took:.2?} later: {host:?}");
    assert_eq!(host.state, HostState::Failed, "{host:?}");
    assert_eq!(host.error.as_deref(), Some(LOST), "{host:?}");
    assert!(took < Duration::from_secs(5), "noticed after {took:?}");
    let lines = host_lines(&engine, job.id, 0).await;
    assert!(lines.len() >= before, "{} < {before}", lines.len());
    let expected: Vec<String> = (1..=lines.len()).map(|i| format!("line {i}")).collect();
    assert_eq!(lines, expected, "kept in order, nothing missing");
    // The server saw its connection go: the command does not run on.
    let gone = async {
        while Path::new(&format!("/proc/{remote}")).exists() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .expect("the remote command still runs after the reset");

    let logins = fleet.accepted_logins(0);
    let next = engine
        .jobs()
        .submit(spec("echo again", &[vm.id]))
        .await
        .unwrap();
    let detail = finished(&engine, &mut events, next.id).await;
    assert_eq!(detail.job.state, JobState::Succeeded, "{detail:?}");
    assert_eq!(host_lines(&engine, next.id, 0).await, ["again"]);
    assert_eq!(fleet.accepted_logins(0), logins + 1, "logged in again");
}

// --- 3. SIGKILL while 20 hosts stream -----------------------------------------------------

/// `vmo` killed with SIGKILL while 20 hosts stream: at the next start the job reads
/// interrupted, every host's lines in the database are an exact prefix of its own record
/// (at least what was there before the kill), the file passes its integrity check, and
/// the next job runs.
#[test]
fn vmo_killed_while_twenty_hosts_stream_keeps_an_exact_prefix_of_each() {
    let fleet = Fleet::start(20);
    let ctx = Ctx::with_fleet(&fleet);
    let records = ctx.path().join("records");
    std::fs::create_dir(&records).unwrap();
    let mut exec: Child = ctx
        .command(&[
            "exec",
            "--all",
            "--concurrency",
            "20",
            "--",
            &streaming_command(&records),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let mut before = BTreeMap::new();
    let streaming = wait_until(Duration::from_secs(60), || {
        let logged = ctx.logged_lines(1);
        before = line_counts(&logged);
        all_have(&fleet, &logged, MIN_LINES_AT_KILL)
    });
    if !streaming {
        let _ = exec.kill();
        panic!("not every host streamed {MIN_LINES_AT_KILL} lines: {before:?}");
    }
    exec.kill().unwrap(); // SIGKILL
    exec.wait().unwrap();

    let job = ctx.job(1);
    assert_eq!(job["job"]["state"], "interrupted", "{job}");
    for host in job["hosts"].as_array().unwrap() {
        assert_eq!(host["state"], "interrupted", "{host}");
    }
    assert_exact_prefixes(&fleet, &records, &ctx.logged_lines(1), &before);
    assert_eq!(integrity(&ctx.data_dir().join("inventory.sqlite3")), "ok");

    let next = ctx.run(&["exec", "--all", "--", "echo next"]);
    next.assert_code(0);
    assert_eq!(next.stdout.lines().count(), 20, "{next}");
    assert_eq!(ctx.job(2)["job"]["state"], "succeeded");
}

/// The app killed with SIGKILL while a job started from its UI streams from 20 hosts:
/// the same checks as for `vmo`, then the app opened again shows the job interrupted and
/// runs the next one.
#[test]
fn the_app_killed_while_twenty_hosts_stream_keeps_an_exact_prefix_of_each() {
    use support::webdriver::Driver;
    let (fleet, data) = support::fleet_in_inventory(20, &[]);
    let ctx = Ctx {
        dir: tempfile::Builder::new()
            .prefix("vmo-faults.")
            .tempdir()
            .unwrap(),
    };
    // `vmo` on the app's data directory, to read what the app recorded.
    std::fs::create_dir_all(ctx.path().join("home")).unwrap();
    std::os::unix::fs::symlink(data.path(), ctx.data_dir()).unwrap();
    std::fs::copy(fleet.known_hosts(), ctx.known_hosts()).unwrap();
    let records = ctx.path().join("records");
    std::fs::create_dir(&records).unwrap();

    let driver = {
        // The app inherits the driver's environment: the test session's bus, not a
        // keyring test's private one.
        let _env = BUS_ENV.lock().unwrap_or_else(|e| e.into_inner());
        Driver::start(
            Path::new(APP),
            &[
                ("VMO_DATA_DIR", data.path()),
                ("VMO_KNOWN_HOSTS", fleet.known_hosts()),
            ],
        )
    };
    let s = driver.session();
    s.click("#nav-vms");
    s.click("#vm-row-host0 button[title='Run on host0']");
    support::choose(&s, "#run-target-kind", "all");
    s.wait_text("#run-targets", "host19");
    s.fill("#run-command", &streaming_command(&records));
    s.click("#run-start");
    s.wait_text("#job-page h1", "Job #1");

    let mut before = BTreeMap::new();
    let streaming = wait_until(Duration::from_secs(60), || {
        let logged = ctx.logged_lines(1);
        before = line_counts(&logged);
        all_have(&fleet, &logged, MIN_LINES_AT_KILL)
    });
    s.screenshot("faults-01-streaming");
    assert!(
        streaming,
        "not every host streamed {MIN_LINES_AT_KILL} lines: {before:?}"
    );
    let app = job_owner(&data.path().join("inventory.sqlite3"), 1);
    sigkill(app);
    // The window went with it; the WebDriver session ends (nothing left to quit).
    let ended = Instant::now();
    drop(s);
    eprintln!(
        "WebDriver session of the killed app ended in {:.2?}",
        ended.elapsed()
    );

    let job = ctx.job(1);
    assert_eq!(job["job"]["state"], "interrupted", "{job}");
    assert_exact_prefixes(&fleet, &records, &ctx.logged_lines(1), &before);
    assert_eq!(integrity(&data.path().join("inventory.sqlite3")), "ok");

    // Opened again: the job reads interrupted, and the next one runs.
    let s = driver.session();
    s.click("#nav-jobs");
    s.wait_text("#job-row-1", "interrupted");
    s.click("#nav-vms");
    s.click("#vm-row-host3 button[title='Run on host3']");
    s.fill("#run-command", "echo next");
    s.click("#run-start");
    s.wait_text("#job-page h1", "Job #2");
    s.wait_text("#job-state", "succeeded");
    s.wait_text("#log-lines", "next");
    s.screenshot("faults-02-after-the-kill");
    s.quit();
}

// --- 4. the data directory: read-only, full -----------------------------------------------

/// Runs `mount ARGS` (root); panics on failure.
fn mount(args: &[&str], dir: &Path) {
    let status = Command::new("mount").args(args).arg(dir).status().unwrap();
    assert!(
        status.success(),
        "mount {args:?} {} (needs root)",
        dir.display()
    );
}

/// A read-only view of a directory (a read-only bind mount over itself), undone on drop.
struct ReadOnly(PathBuf);

impl ReadOnly {
    fn make(dir: &Path) -> ReadOnly {
        let status = Command::new("mount")
            .arg("--bind")
            .arg(dir)
            .arg(dir)
            .status()
            .unwrap();
        assert!(status.success(), "mount --bind (needs root)");
        let guard = ReadOnly(dir.to_path_buf());
        mount(&["-o", "remount,bind,ro"], dir);
        guard
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A job recorded, then the data directory goes read-only: every command says so in one
/// line (which directory, what to do) instead of SQLite's "unable to open database file";
/// writable again, the job is whole and the next one runs.
#[test]
fn a_read_only_data_directory_is_explained_and_nothing_recorded_is_lost() {
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    ctx.run(&["exec", "--all", "--", "seq 1 50"]).assert_code(0);
    let data = ctx.data_dir();

    let read_only = ReadOnly::make(&data);
    let expected = format!(
        "vmo: cannot open the inventory: the data directory {} is read-only; make it \
         writable and try again\n",
        data.display()
    );
    for args in [
        &["job", "list"][..],
        &["exec", "--all", "--", "echo never"],
        &["vm", "add", "web-2", "--host", "10.0.0.6"],
    ] {
        let out = ctx.run(args);
        out.assert_code(2);
        assert_eq!(out.stderr, expected, "{args:?}\n{out}");
    }
    drop(read_only);

    let logs = ctx.run(&["job", "logs", "1"]);
    let all: String = (1..=50).map(|i| format!("host0: {i}\n")).collect();
    assert_eq!(logs.stdout, all, "{logs}");
    ctx.run(&["exec", "--all", "--", "echo writable"])
        .assert_code(0);
    assert_eq!(ctx.job(2)["job"]["state"], "succeeded");
    assert_eq!(integrity(&data.join("inventory.sqlite3")), "ok");
}

/// A job recorded, then the disk fills up to the last byte: every command says the disk
/// holding the data directory is full (not SQLite's "disk I/O error"); with room again the
/// job is whole and the next one runs. (A disk that fills *during* a job: see the top.)
#[test]
fn a_full_disk_at_start_is_explained_and_nothing_recorded_is_lost() {
    let fleet = Fleet::start(1);
    let ctx = Ctx::new();
    std::fs::copy(fleet.known_hosts(), ctx.known_hosts()).unwrap();
    let data = ctx.data_dir();
    let disk = SmallDisk::mount(&data, "8m");
    ctx.import(&fleet);
    ctx.run(&["exec", "--all", "--", "seq 1 50"]).assert_code(0);

    let filler = disk.fill(0);
    let expected = format!(
        "vmo: cannot open the inventory: the disk holding {} is full; free some space and \
         try again\n",
        data.display()
    );
    for args in [&["job", "list"][..], &["exec", "--all", "--", "echo never"]] {
        let out = ctx.run(args);
        out.assert_code(2);
        assert_eq!(out.stderr, expected, "{args:?}\n{out}");
    }
    std::fs::remove_file(filler).unwrap();

    let logs = ctx.run(&["job", "logs", "1"]);
    let all: String = (1..=50).map(|i| format!("host0: {i}\n")).collect();
    assert_eq!(logs.stdout, all, "{logs}");
    ctx.run(&["exec", "--all", "--", "echo room"])
        .assert_code(0);
    assert_eq!(ctx.job(2)["job"]["state"], "succeeded");
    assert_eq!(integrity(&data.join("inventory.sqlite3")), "ok");
    drop(disk);
}

/// Another program holds the database for writing (an open transaction) for `held`.
fn hold_database_for(file: &Path, held: Duration) {
    use sqlx::{ConnectOptions, Connection};
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(file)
            .connect()
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::query("UPDATE vms SET notes = 'held'")
            .execute(&mut conn)
            .await
            .unwrap();
        // The fault itself: how long the other program keeps it.
        tokio::time::sleep(held).await;
        sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    });
}

/// Another program holds the database while a job streams. A hold shorter than the busy
/// timeout (5 s) costs nothing: the writer waits, and the runs wait on it. A longer one
/// (up to a minute) costs nothing either: the batch waits in memory, `vmo` says why on
/// stderr, and it is recorded once the database is free; the job before is intact and the
/// next one is recorded in full. (Held before a command starts: see `cli.rs` at the top.)
#[test]
fn a_database_held_during_a_job_delays_its_output_and_loses_none() {
    let fleet = Fleet::start(2);
    let ctx = Ctx::with_fleet(&fleet);
    let file = ctx.data_dir().join("inventory.sqlite3");
    let stream =
        |lines: u32| format!("for i in $(seq 1 {lines}); do echo \"line $i\"; sleep 0.05; done");
    let numbered =
        |lines: u32| -> Vec<String> { (1..=lines).map(|i| format!("line {i}")).collect() };
    let start = |id: i64, lines: u32| {
        let exec = ctx
            .command(&["exec", "--all", "--", &stream(lines)])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        assert!(
            wait_until(Duration::from_secs(30), || all_have(
                &fleet,
                &ctx.logged_lines(id),
                10
            )),
            "job {id} never streamed"
        );
        exec
    };
    let finish = |mut exec: Child| -> (Option<i32>, String) {
        let stderr = reader(exec.stderr.take().unwrap());
        let status = exec.wait().unwrap();
        (status.code(), stderr.join().unwrap())
    };

    // Held for 2 s mid-job: nothing lost.
    let exec = start(1, 80);
    hold_database_for(&file, Duration::from_secs(2));
    let (code, stderr) = finish(exec);
    assert_eq!(code, Some(0), "{stderr}");
    let job1 = ctx.logged_lines(1);
    for host in ["host0", "host1"] {
        assert_eq!(job1[host], numbered(80), "{host}");
    }

    // Held for 7 s, past SQLite's busy timeout: the output waits in memory (said on
    // stderr) and is recorded once the other program lets go. Nothing is lost.
    let exec = start(2, 200);
    hold_database_for(&file, Duration::from_secs(7));
    let (code, stderr) = finish(exec);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("job output waits for the database")
            && stderr.contains("is locked by another program"),
        "{stderr}"
    );
    let job2 = ctx.job(2);
    assert_eq!(job2["job"]["state"], "succeeded", "{job2}");
    let logged = ctx.logged_lines(2);
    for host in ["host0", "host1"] {
        assert_eq!(logged[host], numbered(200), "{host}");
    }

    // The job before is intact, and the next is recorded in full.
    assert_eq!(ctx.logged_lines(1), job1);
    ctx.run(&["exec", "--all", "--", "seq 1 100"])
        .assert_code(0);
    let job3 = ctx.logged_lines(3);
    let all: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    assert_eq!(job3["host0"], all);
    assert_eq!(integrity(&file), "ok");
}

// --- 5. the keyring: missing, locked ------------------------------------------------------

/// Stores `secret` in the private keyring, as the app does when a user types a password.
/// The keyring crate finds the bus through the environment only, so it is pointed there
/// for the call and put back at once, while no app is being started ([`BUS_ENV`]).
fn store_in_keyring(keyring: &PrivateKeyring, secret: &SecretRef, value: &str) {
    let _env = BUS_ENV.lock().unwrap_or_else(|e| e.into_inner());
    let before = std::env::var_os("DBUS_SESSION_BUS_ADDRESS");
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", keyring.address());
    let stored = KeyringSecrets::new(vmo_engine::ssh::KEYRING_SERVICE).set(secret, value);
    match before {
        Some(address) => std::env::set_var("DBUS_SESSION_BUS_ADDRESS", address),
        None => std::env::remove_var("DBUS_SESSION_BUS_ADDRESS"),
    }
    stored.unwrap();
}

/// Password, agent and unencrypted-key VMs on one fleet, with the password in a private
/// keyring. Without a Secret Service, and with the keyring locked, the password VM fails
/// with an error naming the keyring (code `keyring`), quickly, and the other two run;
/// unlocked again, all three run. The inventory and earlier jobs are untouched throughout.
#[test]
fn without_a_usable_keyring_a_password_vm_says_so_and_key_logins_still_run() {
    let fleet = Fleet::builder().hosts(3).password_user(true).start();
    let (user, password) = fleet.password_user().expect("root, for the password user");
    let agent = fleet.agent();
    let ctx = Ctx::new();
    std::fs::copy(fleet.known_hosts(), ctx.known_hosts()).unwrap();
    let port = |i: usize| fleet.hosts()[i].port();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = Engine::open(Paths::new(ctx.data_dir())).await.unwrap();
        let vm = |name: &str, port: u16, user: String, auth, key_file| VmDraft {
            name: name.into(),
            host: "127.0.0.1".into(),
            port,
            user,
            auth,
            key_file,
            ..VmDraft::default()
        };
        let key = Some(fleet.client_key().display().to_string());
        for draft in [
            vm("pw", port(0), user.clone(), AuthMethod::Password, None),
            vm("agent", port(1), fleet.user(), AuthMethod::Agent, None),
            vm("key", port(2), fleet.user(), AuthMethod::KeyFile, key),
        ] {
            engine.inventory().create(draft).await.unwrap();
        }
    });
    let keyring = PrivateKeyring::without_prompts();
    let secret = SecretRef::Password {
        user: user.clone(),
        host: "127.0.0.1".into(),
        port: port(0),
    };
    store_in_keyring(&keyring, &secret, &password);
    let exec = |bus: &str| {
        let mut cmd = ctx.command(&["exec", "--all", "--", "echo ran"]);
        cmd.env("DBUS_SESSION_BUS_ADDRESS", bus)
            .env("SSH_AUTH_SOCK", agent.socket());
        run(&mut cmd)
    };
    let all_ran = |out: &Run| {
        out.assert_code(0);
        let mut lines: Vec<&str> = out.stdout.lines().collect();
        lines.sort();
        assert_eq!(lines, ["agent: ran", "key: ran", "pw: ran"], "{out}");
    };
    all_ran(&exec(keyring.address()));

    let who = format!("{user}@127.0.0.1:{}", port(0));
    let failed_for = |out: &Run, why: &str| {
        out.assert_code(1);
        let mut lines: Vec<&str> = out.stdout.lines().collect();
        lines.sort();
        assert_eq!(lines, ["agent: ran", "key: ran"], "{out}");
        let expected = format!("pw: [keyring: cannot read the password for {who}: {why}]");
        assert!(
            out.stderr.lines().any(|l| l == expected),
            "expected {expected:?}\n{out}"
        );
        assert!(out.elapsed < Duration::from_secs(10), "{out}");
    };

    // No Secret Service on the bus (nothing listens at that address).
    let nowhere = format!("unix:path={}", ctx.path().join("no-bus").display());
    let out = exec(&nowhere);
    failed_for(
        &out,
        "the OS keyring (Secret Service) cannot be reached; start it (GNOME Keyring, \
         KWallet or KeePassXC) and try again",
    );

    // The keyring locked (its unlock prompt cannot show here, so it fails at once).
    keyring.lock();
    let out = exec(keyring.address());
    failed_for(&out, "the OS keyring is locked; unlock it and try again");

    // Unlocked: the stored password is still there, and all three run.
    keyring.unlock();
    all_ran(&exec(keyring.address()));
    let jobs = ctx.run(&["job", "list", "--json"]);
    jobs.assert_code(0);
    let listed: Vec<Value> = serde_json::from_str(&jobs.stdout).unwrap();
    assert_eq!(listed.len(), 4, "{jobs}");
    let vms = ctx.run(&["vm", "list"]);
    for name in ["pw", "agent", "key"] {
        assert!(vms.stdout.contains(name), "{vms}");
    }
    drop(agent);
}

/// A locked keyring whose unlock prompt shows on the desktop and nobody answers: the
/// password VM is given up after the secret store's patience (20 s) naming the keyring,
/// the key VM has run meanwhile, and `vmo` exits (before the fix it hung for good after
/// printing, waiting on the blocked keyring call).
#[test]
fn a_keyring_prompt_nobody_answers_fails_the_password_vm_and_vmo_still_exits() {
    assert!(
        std::env::var_os("DISPLAY").is_some(),
        "run under xvfb-run: the unlock prompt needs a display to wait on"
    );
    let fleet = Fleet::builder().hosts(2).password_user(true).start();
    let (user, password) = fleet.password_user().expect("root, for the password user");
    let ctx = Ctx::new();
    std::fs::copy(fleet.known_hosts(), ctx.known_hosts()).unwrap();
    let port = fleet.hosts()[0].port();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let engine = Engine::open(Paths::new(ctx.data_dir())).await.unwrap();
        for (name, port, user, auth, key_file) in [
            ("pw", port, user.clone(), AuthMethod::Password, None),
            (
                "key",
                fleet.hosts()[1].port(),
                fleet.user(),
                AuthMethod::KeyFile,
                Some(fleet.client_key().display().to_string()),
            ),
        ] {
            let draft = VmDraft {
                name: name.into(),
                host: "127.0.0.1".into(),
                port,
                user,
                auth,
                key_file,
                ..VmDraft::default()
            };
            engine.inventory().create(draft).await.unwrap();
        }
    });
    let keyring = PrivateKeyring::start();
    let secret = SecretRef::Password {
        user: user.clone(),
        host: "127.0.0.1".into(),
        port,
    };
    store_in_keyring(&keyring, &secret, &password);
    keyring.lock();

    let mut cmd = ctx.command(&["exec", "--all", "--", "echo ran"]);
    cmd.env("DBUS_SESSION_BUS_ADDRESS", keyring.address());
    let out = run(&mut cmd);
    out.assert_code(1);
    assert_eq!(out.stdout, "key: ran\n", "{out}");
    let expected = format!(
        "pw: [keyring: cannot read the password for {user}@127.0.0.1:{port}: the OS keyring \
         did not answer within 20 s; unlock it and try again]"
    );
    assert!(out.stderr.lines().any(|l| l == expected), "{out}");
    assert!(
        out.elapsed >= Duration::from_secs(20) && out.elapsed < Duration::from_secs(30),
        "{out}"
    );
}
