//! `vmo status`: one probe round over the chosen VMs (all by default), as a table or JSON;
//! with `--watch`, a round every N seconds until Ctrl-C. Exit status 1 while any chosen VM
//! is offline or could not be probed (a host key not trusted yet).

use crate::select::select;
use serde::Serialize;
use std::process::ExitCode;
use std::time::Duration;
use vmo_engine::jobs::human_bytes;
use vmo_engine::status::{Health, VmStatus};
use vmo_engine::{Engine, Vm};

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// VMs to probe; none (and no --tag): every VM.
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[arg(long)]
    pub all: bool,
    /// One JSON array per round (one line each).
    #[arg(long)]
    pub json: bool,
    /// Probe again every SECONDS until Ctrl-C.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub watch: Option<u64>,
    /// Print the one shell command a probe runs on each VM, and probe nothing.
    #[arg(long)]
    pub show_probe: bool,
}

pub async fn run(engine: &Engine, args: StatusArgs) -> anyhow::Result<ExitCode> {
    if args.show_probe {
        println!("{}", vmo_engine::status::PROBE_COMMAND);
        return Ok(ExitCode::SUCCESS);
    }
    let all = args.all || (args.names.is_empty() && args.tags.is_empty());
    let vms = select(engine, &args.names, &args.tags, all).await?;
    if vms.is_empty() {
        println!("No VMs yet: add one with `vmo vm add` or import with `vmo vm import`.");
        return Ok(ExitCode::SUCCESS);
    }
    loop {
        let statuses = engine.status().probe_round(&vms).await?;
        if args.json {
            let rows: Vec<JsonRow> = vms
                .iter()
                .zip(&statuses)
                .map(|(vm, status)| JsonRow {
                    name: &vm.name,
                    status,
                })
                .collect();
            println!("{}", serde_json::to_string(&rows)?);
        } else {
            print!("{}", table(&vms, &statuses));
        }
        let offline = statuses.iter().any(VmStatus::unreachable);
        let code = if offline {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        };
        let Some(every) = args.watch else {
            return Ok(code);
        };
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(every)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(code),
        }
        if !args.json {
            println!();
        }
    }
}

#[derive(Serialize)]
struct JsonRow<'a> {
    name: &'a str,
    #[serde(flatten)]
    status: &'a VmStatus,
}

const HEADER: [&str; 9] = [
    "NAME", "STATUS", "LATENCY", "LOAD", "CPU", "MEM", "DISK", "UPTIME", "DETAILS",
];

/// Columns padded to their widest cell; figures right-aligned.
fn table(vms: &[Vm], statuses: &[VmStatus]) -> String {
    let mut rows = vec![HEADER.map(str::to_string)];
    for (vm, s) in vms.iter().zip(statuses) {
        let r = s.reading.as_ref().filter(|_| s.health != Health::Offline);
        let pct = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.0}%"));
        let details = match s.health {
            Health::Offline | Health::Degraded | Health::Unknown => s.reason().unwrap_or_default(),
            _ => r
                .and_then(|r| r.os.clone().or(r.kernel.clone()))
                .unwrap_or_default(),
        };
        rows.push([
            vm.name.clone(),
            s.health.as_str().to_string(),
            s.latency_ms
                .filter(|_| s.health != Health::Offline)
                .map_or("–".into(), |l| format!("{l} ms")),
            r.and_then(|r| r.load)
                .map_or("–".into(), |l| format!("{:.2}", l[0])),
            pct(s.cpu_pct.filter(|_| r.is_some())),
            r.and_then(|r| r.memory).map_or("–".into(), |m| {
                format!("{:.0}% of {}", m.pct(), human_bytes(m.total))
            }),
            r.and_then(|r| r.disk).map_or("–".into(), |d| {
                format!("{:.0}% of {}", d.pct(), human_bytes(d.total))
            }),
            r.and_then(|r| r.uptime_secs).map_or("–".into(), uptime),
            details,
        ]);
    }
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            let right = (2..8).contains(&c);
            if c == HEADER.len() - 1 {
                line.push_str(cell);
            } else if right {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
                line.push_str("  ");
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// "3d 4h", "5h 12m", "7m".
pub fn uptime(secs: u64) -> String {
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{m}m"),
        (0, h) => format!("{h}h {m}m"),
        (d, h) => format!("{d}d {h}h"),
    }
}
