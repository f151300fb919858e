//! The demo fleet: N local OpenSSH servers on 127.0.0.1, so a new user can test, run
//! commands and watch status before adding a real machine. Everything lives in the `demo`
//! profile (its own database and known_hosts, apart from real data): the servers' host
//! keys and a client key are generated in `<demo profile>/demo-fleet/`, the host keys are
//! trusted in that profile's known_hosts, and the servers are registered as VMs tagged
//! `demo`.
//!
//! The fleet's state file names the servers (port, pid) and who started them: servers the
//! app started stop when it quits, and a crashed app's leftovers are stopped at its next
//! start ([`cleanup_orphans`]); `vmo demo up` leaves them running until `vmo demo down`.

use crate::error::{EngineError, ErrorCode};
use crate::paths::{Paths, Profiles};
use crate::vm::{AuthMethod, VmDraft};
use crate::Engine;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The profile the demo fleet lives in.
pub const DEMO_PROFILE: &str = "demo";
/// The tag its VMs carry.
pub const DEMO_TAG: &str = "demo";
/// At most this many servers (each is one sshd process and a few files).
pub const MAX_HOSTS: usize = 50;
const DIR: &str = "demo-fleet";
const STATE: &str = "fleet.json";
/// Names the sshd program to run instead of looking for it (unusual installs, tests).
pub const SSHD_ENV: &str = "VMO_DEMO_SSHD";
/// How long a started server may take to accept connections.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// Who started the fleet: the app stops its own fleet when it quits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Owner {
    /// The desktop app with this pid (its leftovers are stopped if it died).
    App { pid: u32 },
    /// `vmo demo up`: runs until `vmo demo down`.
    Cli,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoHost {
    pub name: String,
    pub port: u16,
    pub pid: u32,
}

/// The running demo fleet, as its state file records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoFleet {
    pub owner: Owner,
    pub hosts: Vec<DemoHost>,
}

fn fleet_dir(paths: &Paths) -> PathBuf {
    paths.data_dir().join(DIR)
}

/// The demo profile's paths (created if needed) under the same root as `root`.
pub fn demo_paths(root: &Paths) -> Result<Paths, EngineError> {
    let profiles = Profiles::new(root);
    match profiles.open(DEMO_PROFILE) {
        Ok(paths) => Ok(paths),
        Err(_) => profiles.create(DEMO_PROFILE),
    }
}

/// The fleet recorded in the demo profile, if any.
pub fn running(demo: &Paths) -> Option<DemoFleet> {
    let text = std::fs::read_to_string(fleet_dir(demo).join(STATE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// Starts `hosts` servers (stopping a previous demo fleet first) and registers them in the
/// demo profile's inventory, whose engine is `demo` (opened on `demo_paths`).
pub async fn up(demo: &Engine, hosts: usize, owner: Owner) -> Result<DemoFleet, EngineError> {
    if !(1..=MAX_HOSTS).contains(&hosts) {
        return Err(EngineError::validation(vec![crate::FieldError {
            field: "hosts".into(),
            message: format!("a demo fleet has 1 to {MAX_HOSTS} hosts"),
        }]));
    }
    let sshd = match std::env::var_os(SSHD_ENV) {
        Some(path) => Some(PathBuf::from(path)).filter(|p| p.is_file()),
        None => find_program("sshd", &["/usr/sbin/sshd", "/usr/local/sbin/sshd"]),
    };
    let sshd = sshd.ok_or_else(|| {
        EngineError::new(
            ErrorCode::Io,
            "the demo fleet needs OpenSSH's server, which is not installed: \
             install the openssh-server package (sudo apt install openssh-server)",
        )
    })?;
    let keygen = find_program("ssh-keygen", &["/usr/bin/ssh-keygen"]).ok_or_else(|| {
        EngineError::new(
            ErrorCode::Io,
            "ssh-keygen is missing: install the openssh-client package",
        )
    })?;
    let paths = demo.paths().clone();
    let fleet = tokio::task::spawn_blocking(move || start(&paths, &sshd, &keygen, hosts, owner))
        .await
        .map_err(|e| EngineError::new(ErrorCode::Io, format!("demo task failed: {e}")))??;
    register(demo, &fleet).await?;
    Ok(fleet)
}

/// Stops the demo fleet (every server and the sessions under it) and removes its VMs.
/// Returns how many servers were stopped.
pub async fn down(demo: &Engine) -> Result<usize, EngineError> {
    let paths = demo.paths().clone();
    let stopped = tokio::task::spawn_blocking(move || stop(&paths))
        .await
        .map_err(|e| EngineError::new(ErrorCode::Io, format!("demo task failed: {e}")))??;
    forget_vms(demo).await?;
    Ok(stopped)
}

/// At the app's start: stops a demo fleet whose app died (servers nobody will stop) and
/// removes its VMs. Returns how many servers were stopped.
pub async fn cleanup_orphans(root: &Paths) -> usize {
    stop_app_fleet(root, |owner| !alive(owner)).await
}

/// As the app quits: stops the fleet this process started and removes its VMs.
pub async fn stop_if_owned_by(root: &Paths, pid: u32) -> usize {
    stop_app_fleet(root, |owner| owner == pid).await
}

/// Stops an app-owned fleet whose owner `matches`, then removes its VMs (a stopped demo
/// fleet is not worth a list of offline VMs; the button starts a fresh one).
async fn stop_app_fleet(root: &Paths, matches: impl Fn(u32) -> bool) -> usize {
    let Ok(paths) = Profiles::new(root).open(DEMO_PROFILE) else {
        return 0;
    };
    let owned = matches!(running(&paths), Some(DemoFleet { owner: Owner::App { pid }, .. }) if matches(pid));
    if !owned {
        return 0;
    }
    let stopped = stop(&paths).unwrap_or_else(|e| {
        tracing::warn!("cannot stop the demo fleet: {e}");
        0
    });
    let ssh = paths.ssh_settings(crate::ssh::SshSettings::from_env());
    match Engine::open_with(paths, &ssh, std::sync::Arc::new(crate::ssh::NoSecrets)).await {
        Ok(engine) => {
            if let Err(e) = forget_vms(&engine).await {
                tracing::warn!("cannot remove the demo VMs: {e}");
            }
        }
        Err(e) => tracing::warn!("cannot open the demo profile: {e}"),
    }
    stopped
}

async fn forget_vms(demo: &Engine) -> Result<(), EngineError> {
    let vms = demo.inventory().list().await?;
    let ids: Vec<_> = vms
        .iter()
        .filter(|vm| vm.tags.iter().any(|t| t == DEMO_TAG))
        .map(|vm| vm.id)
        .collect();
    if !ids.is_empty() {
        demo.inventory().delete(&ids).await?;
    }
    Ok(())
}

fn find_program(name: &str, fallbacks: &[&str]) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .chain(fallbacks.iter().map(PathBuf::from))
        .find(|p| p.is_file())
}

fn io(what: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::new(ErrorCode::Io, format!("demo fleet: {what}: {e}"))
}

fn start(
    paths: &Paths,
    sshd: &Path,
    keygen: &Path,
    hosts: usize,
    owner: Owner,
) -> Result<DemoFleet, EngineError> {
    stop(paths)?;
    let dir = fleet_dir(paths);
    crate::paths::create_private_dir(&dir).map_err(|e| io("cannot create its folder", e))?;
    // sshd run by root wants its privilege separation folder.
    let _ = std::fs::create_dir_all("/run/sshd");
    let client_key = dir.join("id_ed25519");
    if !client_key.exists() {
        keypair(keygen, &client_key, "vmo-demo-client")?;
    }
    let client_pub = std::fs::read_to_string(client_key.with_extension("pub"))
        .map_err(|e| io("cannot read the client key", e))?;
    let authorized = dir.join("authorized_keys");
    std::fs::write(&authorized, &client_pub).map_err(|e| io("cannot write authorized_keys", e))?;
    let mut fleet = DemoFleet {
        owner,
        hosts: Vec::with_capacity(hosts),
    };
    let mut known_hosts = String::new();
    for i in 1..=hosts {
        let name = format!("demo-{i}");
        let host_key = dir.join(format!("{name}_host_ed25519"));
        if !host_key.exists() {
            keypair(keygen, &host_key, &name)?;
        }
        let port = free_port()?;
        let config = dir.join(format!("{name}.sshd_config"));
        std::fs::write(
            &config,
            sshd_config(port, &host_key, &authorized, &dir, &name),
        )
        .map_err(|e| io("cannot write an sshd_config", e))?;
        let log = dir.join(format!("{name}.log"));
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(sshd)
                .arg("-D")
                .arg("-f")
                .arg(&config)
                .arg("-E")
                .arg(&log)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group: a Ctrl-C to `vmo` does not reach it.
                .process_group(0)
                .spawn()
                .map_err(|e| io(&format!("cannot start {}", sshd.display()), e))?
        };
        fleet.hosts.push(DemoHost {
            name,
            port,
            pid: child.id(),
        });
        // Recorded as each starts: a failure later still leaves a state to stop them by.
        write_state(paths, &fleet)?;
        let public = std::fs::read_to_string(host_key.with_extension("pub"))
            .map_err(|e| io("cannot read a host key", e))?;
        let mut words = public.split_whitespace();
        if let (Some(kind), Some(key)) = (words.next(), words.next()) {
            known_hosts.push_str(&format!("[127.0.0.1]:{port} {kind} {key}\n"));
        }
    }
    let deadline = Instant::now() + READY_WITHIN;
    for host in &fleet.hosts {
        while std::net::TcpStream::connect(("127.0.0.1", host.port)).is_err() {
            if Instant::now() > deadline || !alive(host.pid) {
                let log = std::fs::read_to_string(dir.join(format!("{}.log", host.name)))
                    .unwrap_or_default();
                let _ = stop(paths);
                return Err(io(
                    &format!("{} did not start", host.name),
                    log.lines().last().unwrap_or("no log"),
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    trust(paths, &known_hosts)?;
    Ok(fleet)
}

/// The demo profile's known_hosts: earlier demo lines out, this fleet's keys in.
fn trust(paths: &Paths, lines: &str) -> Result<(), EngineError> {
    let Some(file) = paths.known_hosts_file() else {
        return Err(io(
            "known_hosts",
            "the demo profile has no known_hosts of its own",
        ));
    };
    std::fs::write(&file, lines).map_err(|e| io("cannot write known_hosts", e))
}

fn sshd_config(port: u16, host_key: &Path, authorized: &Path, dir: &Path, name: &str) -> String {
    format!(
        "# The VM Orchestrator demo fleet: {name}. Loopback only, key login only.\n\
         Port {port}\n\
         ListenAddress 127.0.0.1\n\
         HostKey \"{host_key}\"\n\
         PidFile \"{pid}\"\n\
         AuthorizedKeysFile \"{authorized}\"\n\
         UsePAM no\n\
         StrictModes no\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         MaxStartups 100:30:200\n\
         PrintMotd no\n\
         PrintLastLog no\n\
         LogLevel INFO\n",
        host_key = host_key.display(),
        pid = dir.join(format!("{name}.pid")).display(),
        authorized = authorized.display(),
    )
}

fn keypair(keygen: &Path, file: &Path, comment: &str) -> Result<(), EngineError> {
    let out = Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| io("cannot run ssh-keygen", e))?;
    if !out.status.success() {
        return Err(io(
            "ssh-keygen failed",
            String::from_utf8_lossy(&out.stderr),
        ));
    }
    Ok(())
}

fn free_port() -> Result<u16, EngineError> {
    let listener =
        std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| io("no free port", e))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| io("no free port", e))
}

fn write_state(paths: &Paths, fleet: &DemoFleet) -> Result<(), EngineError> {
    let text = serde_json::to_string_pretty(fleet).map_err(|e| io("state", e))?;
    std::fs::write(fleet_dir(paths).join(STATE), text).map_err(|e| io("cannot write its state", e))
}

/// Stops every recorded server and whatever runs under it (connections, sessions), then
/// forgets the fleet. Only processes that are the recorded sshd (checked by their command
/// line naming our config) are touched.
fn stop(paths: &Paths) -> Result<usize, EngineError> {
    let Some(fleet) = running(paths) else {
        return Ok(0);
    };
    let dir = fleet_dir(paths);
    let mut stopped = 0;
    for host in &fleet.hosts {
        let config = dir.join(format!("{}.sshd_config", host.name));
        if !is_our_sshd(host.pid, &config) {
            continue;
        }
        let mut victims = descendants(host.pid);
        victims.push(host.pid);
        for pid in &victims {
            signal(*pid, "KILL");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(host.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        stopped += 1;
    }
    // A connection handler forked while we looked is not in any list above; it still
    // names our folder on its command line.
    for pid in processes_naming(&dir) {
        signal(pid, "KILL");
    }
    std::fs::remove_file(dir.join(STATE)).map_err(|e| io("cannot remove its state", e))?;
    Ok(stopped)
}

/// Live processes whose command line contains `dir`.
fn processes_naming(dir: &Path) -> Vec<u32> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
        })
        .collect()
}

/// sshd rewrites its listener's command line into one title ("sshd: /usr/sbin/sshd -D -f
/// CONFIG [listener] …"), so the config path is looked for anywhere in it.
fn is_our_sshd(pid: u32, config: &Path) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        let config = config.as_os_str().as_encoded_bytes();
        cmdline.windows(config.len()).any(|w| w == config)
    })
}

/// Alive and not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            let rest = &stat[stat.rfind(')')? + 2..];
            rest.chars().next()
        })
        .is_some_and(|state| state != 'Z' && state != 'X')
}

/// Every process below `root` (connection handlers, sessions, their commands).
fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let ppid = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = s[s.rfind(')')? + 2..].to_string();
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                });
            if let Some(ppid) = ppid {
                parent_of.push((pid, ppid));
            }
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parent_of
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

fn signal(pid: u32, name: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The VMs of the fleet in the demo inventory: created or updated (ports change at every
/// start), tagged `demo`, logging in with the fleet's client key as the current user.
async fn register(demo: &Engine, fleet: &DemoFleet) -> Result<(), EngineError> {
    let user = current_user();
    let key = fleet_dir(demo.paths()).join("id_ed25519");
    let existing = demo.inventory().list().await?;
    for host in &fleet.hosts {
        let draft = VmDraft {
            name: host.name.clone(),
            host: "127.0.0.1".into(),
            port: host.port,
            user: user.clone(),
            auth: AuthMethod::KeyFile,
            key_file: Some(key.display().to_string()),
            jump_host: None,
            tags: vec![DEMO_TAG.into()],
            notes: "A local OpenSSH server of the demo fleet (`vmo demo down` stops it).".into(),
        };
        match existing.iter().find(|vm| vm.name == host.name) {
            Some(vm) => demo.inventory().update(vm.id, draft).await?,
            None => demo.inventory().create(draft).await?,
        };
    }
    Ok(())
}

fn current_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| {
            let out = Command::new("id").arg("-un").output().ok()?;
            Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
        })
        .unwrap_or_else(|| "root".into())
}
