//! Test fixtures for VM Orchestrator: fleets of real OpenSSH servers on loopback.
//!
//! A [`Fleet`] is N `sshd` processes listening on `127.0.0.1`, each with its own ed25519 host
//! key, plus a generated client key that every host accepts, and a matching `ssh_config` and
//! `known_hosts`, so that plain `ssh -F <fleet.ssh_config()> host0 true` works with
//! `StrictHostKeyChecking yes`. Everything lives in one temporary directory; dropping the
//! fleet kills every server (including the per-connection processes, so open sessions die)
//! and removes the directory.
//!
//! ```no_run
//! let fleet = vmo_testkit::Fleet::builder().hosts(3).sshd_option("MaxSessions 50").start();
//! let out = fleet.ssh_command(0).arg("echo hi").output().unwrap();
//! assert_eq!(out.stdout, b"hi\n");
//! ```
//!
//! The API is synchronous and [`Fleet`] is `Send + Sync`: share it in an `Arc` with tokio
//! tasks, and call the blocking methods from `spawn_blocking` if you care about a stalled
//! worker for a few milliseconds (tests usually don't).
//!
//! Benchmarks with the OpenSSH client: OpenSSH 9.x negotiates `sntrup761x25519-sha512` by
//! default, whose client-side key generation costs ~0.1 s of CPU per login (a login takes
//! ~0.35 s instead of ~0.18 s with `-o KexAlgorithms=curve25519-sha256`). The generated
//! `ssh_config` keeps OpenSSH's defaults; pass the option yourself where it matters.
//!
//! Readiness: `start()` returns once each sshd process has logged `Server listening on
//! 127.0.0.1 port P` in its own log (it logs that after `listen()`), which also proves the
//! port is bound by *that* process rather than by whoever else may have grabbed it.
//!
//! This is a test-support crate: a setup failure panics with a message that includes the
//! relevant log, which is what a failing test should do.
//!
//! Requirements: OpenSSH (`/usr/sbin/sshd`, `ssh`, `ssh-keygen`, `ssh-agent`, `ssh-add`) and
//! `kill` on `PATH`. Linux only (process trees are found through `/proc`). Running as root
//! is needed for [`FleetBuilder::password_user`] and for logging in as another user; as any
//! other user the fleet still works, and the client logs in as that user.

mod small_disk;
pub use small_disk::SmallDisk;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The OpenSSH server binary. sshd re-executes itself, so it must be an absolute path.
pub const SSHD: &str = "/usr/sbin/sshd";

/// The dedicated system user created for password authentication (see
/// [`FleetBuilder::password_user`]).
pub const PASSWORD_USER: &str = "vmo-pwtest";

/// The fixed password of [`PASSWORD_USER`]. Fixed rather than random so that tests in several
/// processes can set it concurrently without invalidating each other.
pub const PASSWORD_USER_PASSWORD: &str = "vmo-testkit-Pw-4711";

/// How long `start()` / `restart_host()` wait for an sshd to listen.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often an sshd is respawned on a fresh port when its port was taken in the meantime.
const PORT_RETRIES: usize = 5;

/// Environment variable the generated askpass script prints.
const ASKPASS_ENV: &str = "VMO_TESTKIT_ASKPASS_SECRET";

/// A key algorithm for [`Fleet::extra_key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// `ssh-ed25519`.
    Ed25519,
    /// `ecdsa-sha2-nistp256`.
    Ecdsa,
    /// `ssh-rsa`, 2048 bits (smallest size current OpenSSH accepts without complaint; fast to
    /// generate).
    Rsa,
}

impl KeyKind {
    fn keygen_args(self) -> &'static [&'static str] {
        match self {
            KeyKind::Ed25519 => &["-t", "ed25519"],
            KeyKind::Ecdsa => &["-t", "ecdsa", "-b", "256"],
            KeyKind::Rsa => &["-t", "rsa", "-b", "2048"],
        }
    }

    fn file_stem(self) -> &'static str {
        match self {
            KeyKind::Ed25519 => "ed25519",
            KeyKind::Ecdsa => "ecdsa",
            KeyKind::Rsa => "rsa",
        }
    }
}

/// One server of a [`Fleet`]: its ssh_config alias (`host0`, `host1`, ...), its port on
/// `127.0.0.1`, and its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshdHost {
    name: String,
    port: u16,
    dir: PathBuf,
    config: PathBuf,
    log: PathBuf,
    stderr: PathBuf,
    host_key: PathBuf,
}

impl SshdHost {
    fn new(root: &Path, index: usize, port: u16) -> SshdHost {
        let name = format!("host{index}");
        let dir = root.join(&name);
        SshdHost {
            config: dir.join("sshd_config"),
            log: dir.join("sshd.log"),
            stderr: dir.join("sshd.stderr"),
            host_key: dir.join("ssh_host_ed25519_key"),
            name,
            port,
            dir,
        }
    }

    /// The ssh_config alias: `host0` .. `hostN-1`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The TCP port on 127.0.0.1. Stays the same across [`Fleet::restart_host`].
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// This host's directory inside the fleet directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The generated `sshd_config`.
    pub fn config(&self) -> &Path {
        &self.config
    }

    /// The sshd log (`sshd -E`, `LogLevel VERBOSE`). Appended to across restarts.
    pub fn log(&self) -> &Path {
        &self.log
    }

    /// The private host key (the public one is next to it, with `.pub`).
    pub fn host_key(&self) -> &Path {
        &self.host_key
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("sshd.pid")
    }

    fn logs(&self) -> String {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let stderr = fs::read_to_string(&self.stderr).unwrap_or_default();
        format!(
            "--- {} ---\n{log}--- {} ---\n{stderr}",
            self.log.display(),
            self.stderr.display()
        )
    }
}

/// Configures a [`Fleet`]; get one from [`Fleet::builder`].
#[derive(Debug, Clone)]
#[must_use = "a FleetBuilder does nothing until .start()"]
pub struct FleetBuilder {
    hosts: usize,
    password_user: bool,
    sshd_options: Vec<String>,
}

impl Default for FleetBuilder {
    fn default() -> Self {
        FleetBuilder {
            hosts: 1,
            password_user: false,
            sshd_options: Vec::new(),
        }
    }
}

impl FleetBuilder {
    /// Number of servers (default 1).
    pub fn hosts(mut self, n: usize) -> Self {
        self.hosts = n;
        self
    }

    /// Enable password authentication on every host and make sure the system user
    /// [`PASSWORD_USER`] exists with password [`PASSWORD_USER_PASSWORD`] (created once with
    /// `useradd`/`chpasswd`; idempotent and safe to do from concurrent tests and processes).
    /// Needs root; as any other user it is ignored and [`Fleet::password_user`] is `None`.
    pub fn password_user(mut self, enable: bool) -> Self {
        self.password_user = enable;
        self
    }

    /// An extra `sshd_config` line for every host, e.g. `"MaxSessions 50"`.
    ///
    /// Lines are written *before* the harness defaults, and sshd keeps the first value it
    /// reads for a keyword, so they override the defaults. Lines starting with `Match` go to
    /// the end of the file (a `Match` block extends to the end or to the next `Match`).
    /// `Port` and `ListenAddress` are managed by the harness and rejected, as is a `LogLevel`
    /// below `INFO` (readiness and [`Fleet::accepted_logins`] read the log).
    pub fn sshd_option(mut self, line: impl Into<String>) -> Self {
        let line = line.into();
        let mut words = line.split_whitespace();
        let keyword = words.next().unwrap_or("").to_ascii_lowercase();
        let value = words.next().unwrap_or("").to_ascii_lowercase();
        assert!(
            keyword != "port" && keyword != "listenaddress",
            "vmo-testkit: sshd option {line:?}: Port and ListenAddress are managed by the harness"
        );
        assert!(
            !(keyword == "loglevel" && matches!(value.as_str(), "quiet" | "fatal" | "error")),
            "vmo-testkit: sshd option {line:?}: the harness needs LogLevel INFO or more verbose"
        );
        self.sshd_options.push(line);
        self
    }

    /// Generate the keys, start every sshd and return once all of them listen.
    ///
    /// Panics (with the sshd log) if one does not listen within 10 s.
    pub fn start(self) -> Fleet {
        Fleet::start_with(self)
    }
}

/// N OpenSSH servers on 127.0.0.1 with a client key, `known_hosts` and `ssh_config`; see the
/// crate documentation. Stops everything and deletes its directory on drop.
pub struct Fleet {
    hosts: Vec<SshdHost>,
    procs: Vec<Mutex<Proc>>,
    user: String,
    client_key: PathBuf,
    known_hosts: PathBuf,
    ssh_config: PathBuf,
    authorized_keys: PathBuf,
    askpass: PathBuf,
    password_user: Option<(String, String)>,
    /// Serialises appends to `authorized_keys`.
    keys_lock: Mutex<()>,
    /// Numbers extra keys and agent sockets.
    counter: AtomicUsize,
    /// Last field: dropped after `Drop::drop` has stopped every process.
    dir: TempDir,
}

/// A running (or stopped) sshd.
struct Proc {
    child: Option<Child>,
    /// Length of the log when the current process was spawned; readiness looks after it.
    log_offset: u64,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("dir", &self.dir.path())
            .field("hosts", &self.hosts)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// A builder: `.hosts(n)`, `.sshd_option(..)`, `.password_user(true)`, then `.start()`.
    pub fn builder() -> FleetBuilder {
        FleetBuilder::default()
    }

    /// Shorthand for `Fleet::builder().hosts(n).start()`.
    pub fn start(n: usize) -> Fleet {
        Fleet::builder().hosts(n).start()
    }

    fn start_with(builder: FleetBuilder) -> Fleet {
        // sshd insists on its privilege separation directory; harmless when not root.
        let _ = fs::create_dir_all("/run/sshd");

        let dir = tempfile::Builder::new()
            .prefix("vmo-fleet.")
            .tempdir()
            .expect("vmo-testkit: cannot create the fleet's temporary directory");
        let root = dir.path().to_path_buf();

        let password_user = if builder.password_user && is_root() {
            ensure_password_user();
            Some((
                PASSWORD_USER.to_string(),
                PASSWORD_USER_PASSWORD.to_string(),
            ))
        } else {
            None
        };

        let ports = free_ports(builder.hosts);
        let hosts: Vec<SshdHost> = ports
            .iter()
            .enumerate()
            .map(|(i, &port)| SshdHost::new(&root, i, port))
            .collect();

        // All keys at once: one ssh-keygen process each, concurrently.
        let client_key = root.join("id_ed25519");
        let mut keygens = vec![spawn_keygen(
            &client_key,
            &["-t", "ed25519"],
            "",
            "vmo-testkit-client",
        )];
        for host in &hosts {
            fs::create_dir_all(&host.dir).expect("vmo-testkit: cannot create a host directory");
            keygens.push(spawn_keygen(
                &host.host_key,
                &["-t", "ed25519"],
                "",
                &host.name,
            ));
        }
        for keygen in keygens {
            finish_keygen(keygen);
        }
        set_mode(&client_key, 0o600);

        let authorized_keys = root.join("authorized_keys");
        let client_pub = read_pub(&client_key);
        fs::write(&authorized_keys, format!("{client_pub}\n"))
            .expect("vmo-testkit: cannot write authorized_keys");
        set_mode(&authorized_keys, 0o600);

        let askpass = root.join("askpass.sh");
        fs::write(
            &askpass,
            format!("#!/bin/sh\nprintf '%s\\n' \"${ASKPASS_ENV}\"\n"),
        )
        .expect("vmo-testkit: cannot write the askpass script");
        set_mode(&askpass, 0o700);

        let procs = hosts
            .iter()
            .map(|_| {
                Mutex::new(Proc {
                    child: None,
                    log_offset: 0,
                })
            })
            .collect();
        let mut fleet = Fleet {
            hosts,
            procs,
            user: current_user(),
            client_key,
            known_hosts: root.join("known_hosts"),
            ssh_config: root.join("ssh_config"),
            authorized_keys,
            askpass,
            password_user,
            keys_lock: Mutex::new(()),
            counter: AtomicUsize::new(0),
            dir,
        };
        // From here on a panic drops `fleet`, which kills whatever was started.
        fleet.start_all(&builder.sshd_options);
        fleet.write_client_files();
        fleet
    }

    /// Spawn every sshd, then wait for all; respawn on a new port when a port was taken.
    fn start_all(&mut self, options: &[String]) {
        let password = self.password_user.is_some();
        for (host, proc) in self.hosts.iter().zip(&self.procs) {
            write_sshd_config(host, &self.authorized_keys, password, options);
            let mut proc = lock(proc);
            spawn_sshd(host, &mut proc);
        }
        let mut retries = 0;
        let mut pending: Vec<usize> = (0..self.hosts.len()).collect();
        let mut deadline = Instant::now() + READY_TIMEOUT;
        while !pending.is_empty() {
            let mut still = Vec::new();
            for i in pending {
                let mut proc = lock(&self.procs[i]);
                match poll_ready(&self.hosts[i], &mut proc) {
                    Ready::Yes => {}
                    Ready::Pending => still.push(i),
                    Ready::Exited(status) => {
                        let host = &self.hosts[i];
                        let logs = host.logs();
                        if !logs.contains("Address already in use") || retries >= PORT_RETRIES {
                            panic!(
                                "vmo-testkit: sshd for {} (port {}) exited with {status}\n{logs}",
                                host.name, host.port
                            );
                        }
                        retries += 1;
                        let port = free_ports(1)[0];
                        let host = &mut self.hosts[i];
                        host.port = port;
                        write_sshd_config(host, &self.authorized_keys, password, options);
                        spawn_sshd(host, &mut proc);
                        deadline = deadline.max(Instant::now() + READY_TIMEOUT);
                        still.push(i);
                    }
                }
            }
            pending = still;
            if pending.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                let host = &self.hosts[pending[0]];
                panic!(
                    "vmo-testkit: {} of {} sshd(s) not listening after {:?}; first: {} (port {})\n{}",
                    pending.len(),
                    self.hosts.len(),
                    READY_TIMEOUT,
                    host.name,
                    host.port,
                    host.logs()
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// known_hosts and ssh_config, once the ports are final.
    fn write_client_files(&self) {
        let mut known_hosts = String::new();
        let mut config = String::from("# Generated by vmo-testkit\n");
        for host in &self.hosts {
            let _ = writeln!(
                known_hosts,
                "[127.0.0.1]:{} {}",
                host.port,
                key_without_comment(&read_pub(&host.host_key))
            );
            let _ = write!(
                config,
                "\nHost {}\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n",
                host.name,
                host.port,
                self.user,
                quote(&self.client_key)
            );
        }
        let _ = write!(
            config,
            "\nHost *\n  UserKnownHostsFile {}\n  GlobalKnownHostsFile /dev/null\n  \
             StrictHostKeyChecking yes\n  UpdateHostKeys no\n  CheckHostIP no\n  \
             ConnectTimeout 10\n",
            quote(&self.known_hosts)
        );
        fs::write(&self.known_hosts, known_hosts).expect("vmo-testkit: cannot write known_hosts");
        fs::write(&self.ssh_config, config).expect("vmo-testkit: cannot write ssh_config");
    }

    /// The servers, in order: `hosts()[i].name() == format!("host{i}")`.
    pub fn hosts(&self) -> &[SshdHost] {
        &self.hosts
    }

    /// The fleet's temporary directory (removed on drop).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The local user the client logs in as (the `User` in [`Fleet::ssh_config`]): the user
    /// running the tests.
    pub fn user(&self) -> String {
        self.user.clone()
    }

    /// The client's ed25519 private key (no passphrase, mode 0600), authorized on every host.
    /// The public key is next to it, with `.pub`.
    pub fn client_key(&self) -> &Path {
        &self.client_key
    }

    /// The shared `AuthorizedKeysFile` of every host (re-read by sshd on each login).
    pub fn authorized_keys(&self) -> &Path {
        &self.authorized_keys
    }

    /// Generate another client key (mode 0600, optionally encrypted with `passphrase`) and
    /// authorize it on every host. Returns the private key's path; the public key is next to
    /// it, with `.pub`.
    pub fn extra_key(&self, kind: KeyKind, passphrase: Option<&str>) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let path = self
            .dir()
            .join(format!("extra_{n}_id_{}", kind.file_stem()));
        let comment = format!("vmo-testkit-extra-{n}");
        finish_keygen(spawn_keygen(
            &path,
            kind.keygen_args(),
            passphrase.unwrap_or(""),
            &comment,
        ));
        set_mode(&path, 0o600);
        let public = read_pub(&path);
        let _guard = lock(&self.keys_lock);
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&self.authorized_keys)
            .expect("vmo-testkit: cannot open authorized_keys");
        file.write_all(format!("{public}\n").as_bytes())
            .expect("vmo-testkit: cannot append to authorized_keys");
        path
    }

    /// `known_hosts` with a line `[127.0.0.1]:PORT <host key>` per host, as of `start()`
    /// (never updated by [`Fleet::restart_host`]).
    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// An ssh_config with a `Host hostN` block per host (HostName, Port, User,
    /// IdentityFile) and a `Host *` block with `UserKnownHostsFile` = [`Fleet::known_hosts`],
    /// `StrictHostKeyChecking yes` and `GlobalKnownHostsFile /dev/null`.
    pub fn ssh_config(&self) -> &Path {
        &self.ssh_config
    }

    /// `ssh -F <ssh_config> -o BatchMode=yes hostN`, with `SSH_AUTH_SOCK` removed from the
    /// environment (so a developer's agent does not interfere) and stdin from `/dev/null`
    /// (override both as needed). Append options or the remote command.
    pub fn ssh_command(&self, host: usize) -> Command {
        let mut cmd = Command::new("ssh");
        cmd.arg("-F")
            .arg(&self.ssh_config)
            .args(["-o", "BatchMode=yes"])
            .arg(&self.host(host).name)
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null());
        cmd
    }

    /// Make `cmd` (ssh, ssh-add, ...) read `secret` whenever it would prompt for a passphrase
    /// or password: `SSH_ASKPASS` pointing to a script that prints it, and
    /// `SSH_ASKPASS_REQUIRE=force`. Note that ssh does not prompt with `BatchMode=yes`.
    pub fn set_askpass<'c>(&self, cmd: &'c mut Command, secret: &str) -> &'c mut Command {
        set_askpass(cmd, &self.askpass, secret)
    }

    /// Stop sshd `i`: kill the listener and every process it forked, so the port refuses
    /// connections and open sessions drop (as if the machine went away). No-op if stopped.
    pub fn stop_host(&self, i: usize) {
        self.host(i);
        let mut proc = lock(&self.procs[i]);
        if let Some(mut child) = proc.child.take() {
            kill_trees(&mut [&mut child]);
        }
    }

    /// Stop sshd `i` (if running) and start it again on the same port; with `new_host_key`
    /// it gets a freshly generated host key first. [`Fleet::known_hosts`] is not updated, so
    /// clients then see a changed host key. Also starts a host stopped by
    /// [`Fleet::stop_host`].
    pub fn restart_host(&self, i: usize, new_host_key: bool) {
        let host = self.host(i);
        let mut proc = lock(&self.procs[i]);
        if let Some(mut child) = proc.child.take() {
            kill_trees(&mut [&mut child]);
        }
        if new_host_key {
            let public = pub_path(&host.host_key);
            let _ = fs::remove_file(&host.host_key);
            let _ = fs::remove_file(&public);
            finish_keygen(spawn_keygen(
                &host.host_key,
                &["-t", "ed25519"],
                "",
                &host.name,
            ));
        }
        let mut retries = 0;
        spawn_sshd(host, &mut proc);
        let mut deadline = Instant::now() + READY_TIMEOUT;
        loop {
            match poll_ready(host, &mut proc) {
                Ready::Yes => return,
                Ready::Pending => {}
                Ready::Exited(status) => {
                    let logs = host.logs();
                    if !logs.contains("Address already in use") || retries >= 50 {
                        panic!(
                            "vmo-testkit: restarted sshd for {} (port {}) exited with {status}\n{logs}",
                            host.name, host.port
                        );
                    }
                    // Someone took the port in the meantime (an outgoing connection's local
                    // port, say). It must stay the same, so wait and try again.
                    retries += 1;
                    thread::sleep(Duration::from_millis(100));
                    spawn_sshd(host, &mut proc);
                    deadline = deadline.max(Instant::now() + READY_TIMEOUT);
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "vmo-testkit: restarted sshd for {} (port {}) not listening after {:?}\n{}",
                    host.name,
                    host.port,
                    READY_TIMEOUT,
                    host.logs()
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// Freezes sshd `i` as a hung machine would: SIGSTOP to its listener and to every sshd
    /// process serving a connection. Connections stay open and the kernel still accepts new
    /// ones, but nothing answers. The users' commands are left running. Undo with
    /// [`Fleet::thaw_host`] (before the fleet is dropped, so it shuts down cleanly).
    pub fn freeze_host(&self, i: usize) {
        send_signal("STOP", &self.sshd_processes(i));
    }

    /// Resumes sshd `i` after [`Fleet::freeze_host`].
    pub fn thaw_host(&self, i: usize) {
        send_signal("CONT", &self.sshd_processes(i));
    }

    /// The listener of sshd `i` and its sshd descendants (one or two per connection).
    fn sshd_processes(&self, i: usize) -> Vec<u32> {
        let Some(listener) = self.sshd_pid(i) else {
            return Vec::new();
        };
        let mut pids = vec![listener];
        pids.extend(descendants(&[listener]).into_iter().filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|comm| comm.trim().starts_with("sshd"))
        }));
        pids
    }

    /// Whether sshd `i` is running (not stopped with [`Fleet::stop_host`]).
    pub fn is_running(&self, i: usize) -> bool {
        self.sshd_pid(i).is_some()
    }

    /// The pid of sshd `i`'s listener process, if it runs.
    pub fn sshd_pid(&self, i: usize) -> Option<u32> {
        self.host(i);
        let mut proc = lock(&self.procs[i]);
        let child = proc.child.as_mut()?;
        match child.try_wait() {
            Ok(None) => Some(child.id()),
            _ => None,
        }
    }

    /// Successful logins on host `i` so far: lines `Accepted publickey for` / `Accepted
    /// password for` / `Accepted keyboard-interactive` in its log (across restarts). Lets a
    /// test prove that connections are reused.
    pub fn accepted_logins(&self, i: usize) -> usize {
        let log = fs::read_to_string(&self.host(i).log).unwrap_or_default();
        log.lines()
            .filter(|line| {
                line.contains("Accepted publickey for ")
                    || line.contains("Accepted password for ")
                    || line.contains("Accepted keyboard-interactive")
            })
            .count()
    }

    /// Host `i`'s current host key fingerprint as `ssh-keygen -lf` prints it: `SHA256:...`.
    pub fn host_key_fingerprint(&self, i: usize) -> String {
        let host = self.host(i);
        let _proc = lock(&self.procs[i]); // not in the middle of a key change
        let out = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(pub_path(&host.host_key))
            .stdin(Stdio::null())
            .output()
            .expect("vmo-testkit: cannot run ssh-keygen -lf");
        assert!(
            out.status.success(),
            "vmo-testkit: ssh-keygen -lf failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // "256 SHA256:abc... comment (ED25519)"
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .expect("vmo-testkit: unexpected ssh-keygen -lf output")
            .to_string()
    }

    /// Host `i`'s current public host key, `"ssh-ed25519 AAAA..."` (no comment).
    pub fn host_public_key(&self, i: usize) -> String {
        let host = self.host(i);
        let _proc = lock(&self.procs[i]);
        key_without_comment(&read_pub(&host.host_key))
    }

    /// Start an `ssh-agent -D -a <socket>` holding [`Fleet::client_key`]. The agent is killed
    /// when the returned [`Agent`] is dropped; drop it before the fleet (its socket lives in
    /// the fleet directory).
    pub fn agent(&self) -> Agent {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let socket = self.dir().join(format!("agent-{n}.sock"));
        let stderr = File::create(self.dir().join(format!("agent-{n}.stderr")))
            .expect("vmo-testkit: cannot create the agent's stderr file");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&socket)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("vmo-testkit: cannot start ssh-agent");
        let mut agent = Agent {
            socket,
            askpass: self.askpass.clone(),
            child,
        };
        let deadline = Instant::now() + READY_TIMEOUT;
        while UnixStream::connect(&agent.socket).is_err() {
            if let Ok(Some(status)) = agent.child.try_wait() {
                let err = fs::read_to_string(self.dir().join(format!("agent-{n}.stderr")))
                    .unwrap_or_default();
                panic!("vmo-testkit: ssh-agent exited with {status}: {err}");
            }
            assert!(
                Instant::now() < deadline,
                "vmo-testkit: ssh-agent socket {} did not appear",
                agent.socket.display()
            );
            thread::sleep(Duration::from_millis(5));
        }
        agent.add(&self.client_key, None);
        agent
    }

    /// `Some((user, password))` if the fleet was built with
    /// [`FleetBuilder::password_user`]`(true)` and the tests run as root; `None` otherwise
    /// (then password authentication stays disabled).
    pub fn password_user(&self) -> Option<(String, String)> {
        self.password_user.clone()
    }

    fn host(&self, i: usize) -> &SshdHost {
        self.hosts.get(i).unwrap_or_else(|| {
            panic!(
                "vmo-testkit: no host {i} (the fleet has {})",
                self.hosts.len()
            )
        })
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let mut children: Vec<Child> = self
            .procs
            .iter_mut()
            .filter_map(|proc| {
                proc.get_mut()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .child
                    .take()
            })
            .collect();
        let mut refs: Vec<&mut Child> = children.iter_mut().collect();
        kill_trees(&mut refs);
    }
}

/// An `ssh-agent` started by [`Fleet::agent`]; killed on drop.
#[derive(Debug)]
pub struct Agent {
    socket: PathBuf,
    askpass: PathBuf,
    child: Child,
}

impl Agent {
    /// The agent's socket: set `SSH_AUTH_SOCK` to it.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// `ssh-add` a private key, answering its passphrase prompt (through askpass) if given.
    pub fn add(&self, key: &Path, passphrase: Option<&str>) {
        let mut cmd = Command::new("ssh-add");
        cmd.arg(key)
            .env("SSH_AUTH_SOCK", &self.socket)
            .stdin(Stdio::null());
        set_askpass(&mut cmd, &self.askpass, passphrase.unwrap_or(""));
        let out = cmd.output().expect("vmo-testkit: cannot run ssh-add");
        assert!(
            out.status.success(),
            "vmo-testkit: ssh-add {} failed: {}",
            key.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A currently free TCP port on 127.0.0.1 (bound and released; a later bind can still lose
/// a race, which [`Fleet`] handles by retrying).
pub fn free_port() -> u16 {
    free_ports(1)[0]
}

/// `n` distinct free ports (all held at once while picking, so they differ).
fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| {
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .expect("vmo-testkit: cannot bind 127.0.0.1:0")
        })
        .collect();
    listeners
        .iter()
        .map(|l| {
            l.local_addr()
                .expect("vmo-testkit: no local address")
                .port()
        })
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not make the fleet unusable for Drop or other threads.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn set_askpass<'c>(cmd: &'c mut Command, script: &Path, secret: &str) -> &'c mut Command {
    cmd.env("SSH_ASKPASS", script)
        .env("SSH_ASKPASS_REQUIRE", "force")
        .env(ASKPASS_ENV, secret)
}

fn quote(path: &Path) -> String {
    format!("\"{}\"", path.display())
}

fn pub_path(key: &Path) -> PathBuf {
    let mut name = key.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn read_pub(key: &Path) -> String {
    let path = pub_path(key);
    fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("vmo-testkit: cannot read {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn key_without_comment(public: &str) -> String {
    public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("vmo-testkit: cannot chmod {}: {e}", path.display()));
}

fn spawn_keygen(path: &Path, type_args: &[&str], passphrase: &str, comment: &str) -> Child {
    Command::new("ssh-keygen")
        .arg("-q")
        .args(type_args)
        .arg("-N")
        .arg(passphrase)
        .arg("-C")
        .arg(comment)
        .arg("-f")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vmo-testkit: cannot run ssh-keygen")
}

fn finish_keygen(child: Child) {
    let out = child
        .wait_with_output()
        .expect("vmo-testkit: ssh-keygen did not finish");
    assert!(
        out.status.success(),
        "vmo-testkit: ssh-keygen failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_sshd_config(host: &SshdHost, authorized_keys: &Path, password: bool, options: &[String]) {
    let mut config = String::from(
        "# Generated by vmo-testkit. sshd keeps the first value of a keyword, so the\n\
         # options given to the builder come first and override the defaults below.\n",
    );
    let (matches, plain): (Vec<&String>, Vec<&String>) = options.iter().partition(|line| {
        line.trim_start()
            .get(..5)
            .is_some_and(|word| word.eq_ignore_ascii_case("match"))
    });
    for line in plain {
        let _ = writeln!(config, "{line}");
    }
    let _ = write!(
        config,
        "Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey {host_key}\n\
         PidFile {pid}\n\
         UsePAM no\n\
         AuthorizedKeysFile {authorized_keys}\n\
         StrictModes no\n\
         PermitRootLogin yes\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication {password}\n\
         KbdInteractiveAuthentication no\n\
         MaxStartups 1000:30:1000\n\
         MaxSessions 100\n\
         LogLevel VERBOSE\n\
         SetEnv SHLVL=1\n\
         Subsystem sftp internal-sftp\n\
         AllowTcpForwarding yes\n\
         ClientAliveInterval 0\n\
         PrintMotd no\n\
         PrintLastLog no\n",
        port = host.port,
        host_key = quote(&host.host_key),
        pid = quote(&host.pid_file()),
        authorized_keys = quote(authorized_keys),
        password = if password { "yes" } else { "no" },
    );
    if openssh_at_least(9, 8) {
        // Newer sshd penalises "misbehaving" sources (all tests come from 127.0.0.1).
        config.push_str("PerSourcePenalties no\n");
    }
    for line in matches {
        let _ = writeln!(config, "{line}");
    }
    fs::write(&host.config, config).expect("vmo-testkit: cannot write sshd_config");
}

fn spawn_sshd(host: &SshdHost, proc: &mut Proc) {
    proc.log_offset = fs::metadata(&host.log).map(|m| m.len()).unwrap_or(0);
    let stderr = File::options()
        .create(true)
        .append(true)
        .open(&host.stderr)
        .expect("vmo-testkit: cannot open the sshd stderr file");
    let child = Command::new(SSHD)
        .arg("-D")
        .arg("-E")
        .arg(&host.log)
        .arg("-f")
        .arg(&host.config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("vmo-testkit: cannot start {SSHD}: {e}"));
    proc.child = Some(child);
}

enum Ready {
    Yes,
    Pending,
    Exited(ExitStatus),
}

/// Ready when this very process logged that it listens on its port: that proves the port is
/// bound by our sshd (a bare TCP connect could reach whoever else holds the port, and would
/// cost sshd a fork and re-exec per host).
fn poll_ready(host: &SshdHost, proc: &mut Proc) -> Ready {
    let Some(child) = proc.child.as_mut() else {
        return Ready::Pending;
    };
    if let Ok(Some(status)) = child.try_wait() {
        proc.child = None;
        return Ready::Exited(status);
    }
    let needle = format!("Server listening on 127.0.0.1 port {}.", host.port);
    if read_from(&host.log, proc.log_offset).contains(&needle) {
        Ready::Yes
    } else {
        Ready::Pending
    }
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        if file.seek(SeekFrom::Start(offset)).is_ok() {
            let _ = file.read_to_string(&mut text);
        }
    }
    text
}

/// Kill each child and every process descended from it, then reap the children.
///
/// sshd's per-connection processes call `setsid()`, so a process group kill misses them;
/// instead the listener is frozen (SIGSTOP: it can no longer fork), its descendants are
/// found through `/proc` and frozen too until no new one appears, and then all get SIGKILL.
fn kill_trees(children: &mut [&mut Child]) {
    if children.is_empty() {
        return;
    }
    let roots: Vec<u32> = children.iter().map(|c| c.id()).collect();
    send_signal("STOP", &roots);
    let mut frozen: HashSet<u32> = HashSet::new();
    for _ in 0..100 {
        let fresh: Vec<u32> = descendants(&roots)
            .into_iter()
            .filter(|pid| frozen.insert(*pid))
            .collect();
        if fresh.is_empty() {
            break;
        }
        send_signal("STOP", &fresh);
    }
    let mut all: Vec<u32> = roots.clone();
    all.extend(frozen.iter().copied());
    send_signal("KILL", &all);
    for child in children.iter_mut() {
        let _ = child.wait();
    }
    // The descendants are not our children (init reaps them); wait until they are dead, so
    // that no process holds a socket of the host any more when this returns.
    let deadline = Instant::now() + Duration::from_secs(5);
    while frozen.iter().any(|&pid| is_alive(pid)) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(2));
    }
}

fn send_signal(signal: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    // Exit status ignored: some of the processes may have exited meanwhile.
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .args(pids.iter().map(u32::to_string))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `(ppid, state)` of a process, from `/proc/PID/stat`.
fn proc_stat(pid: &str) -> Option<(u32, char)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ..."; comm may contain spaces and parentheses.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    Some((ppid, state))
}

fn is_alive(pid: u32) -> bool {
    matches!(proc_stat(&pid.to_string()), Some((_, state)) if state != 'Z' && state != 'X')
}

fn descendants(roots: &[u32]) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Ok(pid) = name.parse::<u32>() else {
                continue;
            };
            if let Some((ppid, _)) = proc_stat(name) {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut found = Vec::new();
    let mut queue: Vec<u32> = roots.to_vec();
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).map(Vec::as_slice).unwrap_or(&[]) {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

fn run_stdout(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn is_root() -> bool {
    static ROOT: OnceLock<bool> = OnceLock::new();
    *ROOT.get_or_init(|| run_stdout("id", &["-u"]).as_deref() == Some("0"))
}

fn current_user() -> String {
    static USER: OnceLock<String> = OnceLock::new();
    USER.get_or_init(|| {
        run_stdout("id", &["-un"])
            .filter(|user| !user.is_empty())
            .or_else(|| std::env::var("USER").ok())
            .expect("vmo-testkit: cannot determine the current user (id -un)")
    })
    .clone()
}

/// The local OpenSSH version (major, minor) from `ssh -V`, or (0, 0) if unknown.
fn openssh_at_least(major: u32, minor: u32) -> bool {
    static VERSION: OnceLock<(u32, u32)> = OnceLock::new();
    let version = *VERSION.get_or_init(|| {
        let out = Command::new("ssh")
            .arg("-V")
            .stdin(Stdio::null())
            .output()
            .ok();
        // "OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL ..." (on stderr)
        let text = out
            .map(|o| String::from_utf8_lossy(&o.stderr).into_owned())
            .unwrap_or_default();
        let parse = || -> Option<(u32, u32)> {
            let v = text.split("OpenSSH_").nth(1)?;
            let (maj, rest) = v.split_once('.')?;
            let min: String = rest.chars().take_while(char::is_ascii_digit).collect();
            Some((maj.parse().ok()?, min.parse().ok()?))
        };
        parse().unwrap_or((0, 0))
    });
    version >= (major, minor)
}

/// Create [`PASSWORD_USER`] if absent and set its password. Once per process; retried
/// because concurrent processes may hold the lock on /etc/passwd or /etc/shadow.
fn ensure_password_user() {
    static DONE: OnceLock<Result<(), String>> = OnceLock::new();
    let result = DONE.get_or_init(|| {
        let mut last_error = String::new();
        for _ in 0..50 {
            if run_stdout("getent", &["passwd", PASSWORD_USER]).is_none() {
                match Command::new("useradd")
                    .args(["-M", "-s", "/bin/sh", PASSWORD_USER])
                    .stdin(Stdio::null())
                    .output()
                {
                    // 9: the name is already in use (created concurrently): fine.
                    Ok(out) if out.status.success() || out.status.code() == Some(9) => {}
                    Ok(out) => {
                        last_error =
                            format!("useradd: {}", String::from_utf8_lossy(&out.stderr).trim());
                        thread::sleep(Duration::from_millis(100));
                        continue;
                    }
                    Err(e) => return Err(format!("cannot run useradd: {e}")),
                }
            }
            let chpasswd = Command::new("chpasswd")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn();
            let mut child = match chpasswd {
                Ok(child) => child,
                Err(e) => return Err(format!("cannot run chpasswd: {e}")),
            };
            if let Some(mut stdin) = child.stdin.take() {
                let _ = writeln!(stdin, "{PASSWORD_USER}:{PASSWORD_USER_PASSWORD}");
            }
            match child.wait_with_output() {
                Ok(out) if out.status.success() => return Ok(()),
                Ok(out) => {
                    last_error =
                        format!("chpasswd: {}", String::from_utf8_lossy(&out.stderr).trim())
                }
                Err(e) => last_error = format!("chpasswd: {e}"),
            }
            thread::sleep(Duration::from_millis(100));
        }
        Err(last_error)
    });
    if let Err(e) = result {
        panic!("vmo-testkit: cannot set up the password user {PASSWORD_USER}: {e}");
    }
}

/// A private D-Bus session bus with an unlocked GNOME Keyring (Secret Service) on it, its
/// files in a temporary folder, so no real keyring is touched. Both stop on drop.
pub struct PrivateKeyring {
    bus: Child,
    address: String,
    dir: tempfile::TempDir,
}

impl PrivateKeyring {
    /// A keyring whose services share the test's display (`DISPLAY`, e.g. Xvfb): an
    /// unlock prompt shows there and waits for an answer that never comes, as on a desktop
    /// nobody watches.
    pub fn start() -> Self {
        Self::start_with(true)
    }

    /// A keyring that cannot prompt: services started on its bus get no display, so an
    /// unlock prompt (gcr-prompter) fails at once, as on a machine without a desktop.
    pub fn without_prompts() -> Self {
        Self::start_with(false)
    }

    fn start_with(prompts: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut bus = Command::new("dbus-daemon");
        bus.args(["--session", "--nofork", "--print-address=1"])
            // A keyring daemon the bus starts on demand keeps its files here too.
            .env("XDG_DATA_HOME", dir.path())
            .env("XDG_RUNTIME_DIR", dir.path())
            .stdout(Stdio::piped());
        if !prompts {
            bus.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
        }
        let mut bus = bus
            .spawn()
            .expect("dbus-daemon (Debian package dbus) is needed");
        let mut address = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(bus.stdout.take().expect("piped stdout")),
            &mut address,
        )
        .expect("dbus-daemon printed its address");
        let address = address.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        let keyring = Self { bus, address, dir };
        keyring.start_daemon();
        keyring
    }

    /// Unlocks the login keyring as the next desktop login does: its daemon is stopped and
    /// started again with the keyring's password, on the same files, so what was stored
    /// is still there. (A running gnome-keyring-daemon takes an unlock only through a
    /// prompt, which cannot show here.)
    pub fn unlock(&self) {
        if let Some(pid) = self.daemon_pid() {
            send_signal("TERM", &[pid]);
            let deadline = Instant::now() + READY_TIMEOUT;
            while self.daemon_pid() == Some(pid) {
                assert!(Instant::now() < deadline, "the keyring daemon did not stop");
                thread::sleep(Duration::from_millis(20));
            }
        }
        self.start_daemon();
    }

    /// The process that serves the Secret Service on this bus, if one does.
    fn daemon_pid(&self) -> Option<u32> {
        let out = Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            .args([
                "--print-reply",
                "--dest=org.freedesktop.DBus",
                "/",
                "org.freedesktop.DBus.GetConnectionUnixProcessID",
                "string:org.freedesktop.secrets",
            ])
            .stderr(Stdio::null())
            .output()
            .ok()?;
        // "   uint32 12345"
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .skip_while(|word| *word != "uint32")
            .nth(1)?
            .parse()
            .ok()
    }

    /// Starts the keyring daemon on this bus, unlocking the login keyring (creating it the
    /// first time) with its password on stdin, as a desktop login does.
    fn start_daemon(&self) {
        let mut daemon = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .env("XDG_DATA_HOME", self.dir.path())
            // Its own control socket too: otherwise `--unlock` hands the password to any
            // keyring daemon already running for this user (e.g. one a desktop portal
            // started on another bus) instead of starting one on this bus.
            .env("XDG_RUNTIME_DIR", self.dir.path())
            .env_remove("GNOME_KEYRING_CONTROL")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon (Debian package gnome-keyring) is needed");
        // The password of the login keyring (an empty one creates none).
        daemon.stdin.take().unwrap().write_all(b"vmo-test").unwrap();
        assert!(
            daemon.wait().unwrap().success(),
            "gnome-keyring-daemon --unlock failed"
        );
        // It forks into the background: serving once it holds the name on the bus.
        let deadline = Instant::now() + READY_TIMEOUT;
        while self.daemon_pid().is_none() {
            assert!(Instant::now() < deadline, "no keyring daemon on the bus");
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Locks the login keyring, as a screen lock or a timeout would (the Secret Service's
    /// `Lock`): secrets stay stored but cannot be read until [`PrivateKeyring::unlock`].
    pub fn lock(&self) {
        let out = Command::new("dbus-send")
            .arg(format!("--bus={}", self.address))
            .args([
                "--print-reply",
                "--dest=org.freedesktop.secrets",
                "/org/freedesktop/secrets",
                "org.freedesktop.Secret.Service.Lock",
                "array:objpath:/org/freedesktop/secrets/collection/login",
            ])
            .output()
            .expect("dbus-send (Debian package dbus) is needed");
        assert!(
            out.status.success(),
            "locking the keyring failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl PrivateKeyring {
    /// The bus address, for `DBUS_SESSION_BUS_ADDRESS` of whatever should use this keyring.
    pub fn address(&self) -> &str {
        &self.address
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        // The keyring daemon leaves when its bus goes away.
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_parsing_handles_odd_command_names() {
        let me = std::process::id().to_string();
        let (ppid, state) = proc_stat(&me).expect("own stat");
        assert!(ppid > 0);
        assert!(matches!(state, 'R' | 'S'));
    }

    #[test]
    fn free_ports_are_distinct() {
        let ports = free_ports(50);
        let unique: HashSet<u16> = ports.iter().copied().collect();
        assert_eq!(unique.len(), 50);
    }

    #[test]
    fn sshd_options_come_first_and_match_blocks_last() {
        let dir = tempfile::tempdir().unwrap();
        let host = SshdHost::new(dir.path(), 0, 2222);
        fs::create_dir_all(&host.dir).unwrap();
        let options = vec![
            "Match User nobody".to_string(),
            "MaxSessions 50".to_string(),
        ];
        write_sshd_config(&host, Path::new("/tmp/ak"), false, &options);
        let text = fs::read_to_string(&host.config).unwrap();
        let ours = text.find("MaxSessions 50").unwrap();
        let default = text.find("MaxSessions 100").unwrap();
        let matched = text.find("Match User nobody").unwrap();
        assert!(ours < default && default < matched, "{text}");
        assert!(text.contains("PasswordAuthentication no"));
    }

    #[test]
    #[should_panic(expected = "managed by the harness")]
    fn port_option_is_rejected() {
        let _ = Fleet::builder().sshd_option("Port 22");
    }

    #[test]
    fn key_comment_is_dropped() {
        assert_eq!(
            key_without_comment("ssh-ed25519 AAAA host0 extra"),
            "ssh-ed25519 AAAA"
        );
    }
}
