//! Probe rounds over a fleet, against OpenSSH doing the same probe with a new login per
//! host (what a status tool without a pool does). Run by `bench/status`, which starts
//! the fleet; see bench/README.md.
//!
//! `probe_bench SSH_CONFIG KNOWN_HOSTS FLEET_DIR FLEET_PID [ROUNDS]` prints, per method,
//! the wall time per round, client CPU per round, server CPU per host per round, and the
//! logins the servers saw (from their logs).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use vmo_engine::ssh::{NoSecrets, SshSettings};
use vmo_engine::status::Health;
use vmo_engine::{Engine, Paths};

/// Clock ticks per second of /proc's CPU figures (USER_HZ, 100 on Linux).
const TICKS: f64 = 100.0;
/// OpenSSH processes at once for the reference (pdsh's default fan-out is 32).
const SSH_PARALLEL: usize = 32;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [ssh_config, known_hosts, fleet_dir, fleet_pid, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: probe_bench SSH_CONFIG KNOWN_HOSTS FLEET_DIR FLEET_PID [ROUNDS]");
    };
    let rounds: usize = rest.first().map_or(Ok(10), |r| r.parse())?;
    let fleet_pid: u32 = fleet_pid.parse()?;
    let fleet_dir = PathBuf::from(fleet_dir);
    let runtime = tokio::runtime::Runtime::new()?;
    let data = tempfile::tempdir()?;
    let engine = runtime.block_on(async {
        let settings = SshSettings {
            known_hosts: PathBuf::from(known_hosts),
            agent_socket: None,
            ..SshSettings::from_env()
        };
        let engine =
            Engine::open_with(Paths::new(data.path()), &settings, Arc::new(NoSecrets)).await?;
        engine
            .inventory()
            .import_apply(Path::new(ssh_config), None)
            .await?;
        anyhow::Ok(engine)
    })?;
    let vms = runtime.block_on(engine.inventory().list())?;
    let hosts = vms.len();
    println!("probe round over {hosts} hosts ({rounds} warm rounds; CPU in ms)");
    println!(
        "{:<34} {:>10} {:>14} {:>18} {:>12}",
        "method", "wall/round", "client/round", "server/host/round", "new logins"
    );

    let measure = |label: &str, rounds: usize, round: &mut dyn FnMut() -> anyhow::Result<()>| {
        let logins = logins(&fleet_dir);
        let (server, client, started) = (tree_cpu(fleet_pid), self_cpu(), Instant::now());
        for _ in 0..rounds {
            round()?;
        }
        let wall = started.elapsed() / rounds as u32;
        let client = (self_cpu() - client) / rounds as f64;
        let server = (tree_cpu(fleet_pid) - server) / rounds as f64 / hosts as f64;
        println!(
            "{label:<34} {:>7.1} ms {:>11.1} ms {:>15.2} ms {:>12}",
            wall.as_secs_f64() * 1000.0,
            client * 1000.0,
            server * 1000.0,
            logins_since(&fleet_dir, logins)
        );
        anyhow::Ok(())
    };
    let mut vmo_round = || {
        let statuses = runtime.block_on(engine.status().probe_round(&vms))?;
        let online = statuses
            .iter()
            .filter(|s| s.health != Health::Offline)
            .count();
        anyhow::ensure!(online == hosts, "{} hosts offline", hosts - online);
        Ok(())
    };
    measure("vmo, first round (connects)", 1, &mut vmo_round)?;
    measure("vmo, pooled connections", rounds, &mut vmo_round)?;
    let names: Vec<String> = vms.iter().map(|vm| vm.name.clone()).collect();
    let mut ssh_round = || openssh_round(ssh_config, known_hosts, &names);
    measure("OpenSSH, a login per host", rounds.min(3), &mut ssh_round)?;
    let memory = std::fs::read_to_string("/proc/self/status")?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .map(|l| l.trim_start_matches("VmHWM:").trim().to_string())
        .unwrap_or_default();
    println!("probe_bench peak RSS (engine, pool, OpenSSH reference excluded): {memory}");
    Ok(())
}

/// The probe over `ssh` with the fleet's ssh_config, SSH_PARALLEL at once.
fn openssh_round(config: &str, known_hosts: &str, hosts: &[String]) -> anyhow::Result<()> {
    for chunk in hosts.chunks(SSH_PARALLEL) {
        let children: Vec<_> = chunk
            .iter()
            .map(|host| {
                Command::new("ssh")
                    .args(["-F", config, "-o", "BatchMode=yes"])
                    .arg("-o")
                    .arg(format!("UserKnownHostsFile={known_hosts}"))
                    .args([host.as_str(), vmo_status_command()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
            })
            .collect::<Result<_, _>>()?;
        for mut child in children {
            let status = child.wait()?;
            anyhow::ensure!(status.success(), "ssh failed: {status}");
        }
    }
    Ok(())
}

fn vmo_status_command() -> &'static str {
    vmo_status::probe::COMMAND
}

/// CPU seconds of this process and its reaped children.
fn self_cpu() -> f64 {
    stat_cpu(std::process::id(), true)
}

/// CPU seconds of every live process under `root` (listeners, per-connection sshd,
/// sessions) plus what they reaped: a run's server CPU is the difference.
fn tree_cpu(root: u32) -> f64 {
    let mut parents = std::collections::HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            if let Some(ppid) = stat_fields(pid).and_then(|f| f.get(1)?.parse::<u32>().ok()) {
                parents.insert(pid, ppid);
            }
        }
    }
    let under = |mut pid: u32| {
        while let Some(&p) = parents.get(&pid) {
            if p == root {
                return true;
            }
            pid = p;
        }
        false
    };
    parents
        .keys()
        .filter(|pid| under(**pid))
        .map(|pid| stat_cpu(*pid, true))
        .sum()
}

/// Fields of /proc/PID/stat after the command name (state is field 0).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn stat_cpu(pid: u32, children: bool) -> f64 {
    let Some(f) = stat_fields(pid) else {
        return 0.0;
    };
    // utime, stime, cutime, cstime are fields 14-17 of stat, 11-14 here.
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let own = n(11) + n(12);
    (if children { own + n(13) + n(14) } else { own }) / TICKS
}

/// Logins every host's sshd logged so far.
fn logins(fleet_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(fleet_dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("sshd.log")).ok())
        .map(|log| log.matches("Accepted publickey for ").count())
        .sum()
}

fn logins_since(fleet_dir: &Path, before: usize) -> usize {
    // sshd writes its log line as it accepts; give the last ones a moment.
    std::thread::sleep(Duration::from_millis(200));
    logins(fleet_dir) - before
}
