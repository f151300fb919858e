//! `vmo job`: the job history shared with the desktop app.

use crate::args::JobCommand;
use crate::exec::{run_job, Display};
use anyhow::{bail, Context as _};
use std::collections::HashSet;
use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;
use vmo_engine::jobs::log::{self, JobLog, LogFilter, Stream, TextMatch};
use vmo_engine::jobs::{
    host_summaries, now_ms, JobDetail, JobId, JobQuery, JobState, JobSummary, Origin,
};
use vmo_engine::Engine;

/// How often `logs --follow` looks for new output of a job run by another process.
const FOLLOW_EVERY: Duration = Duration::from_millis(250);

pub async fn run(engine: &Engine, command: JobCommand) -> anyhow::Result<ExitCode> {
    match command {
        JobCommand::List {
            states,
            vm,
            text,
            limit,
            json,
        } => list(engine, states, vm, text, limit, json).await,
        JobCommand::Show { id, json } => show(engine, JobId(id), json).await,
        JobCommand::Logs {
            id,
            hosts,
            stream,
            grep,
            timestamps,
            follow,
        } => {
            let job = JobId(id);
            let (detail, _) = engine.jobs().log(job).await?;
            let filter = log_filter(&detail, &hosts, stream.as_deref(), grep.as_deref())?;
            logs(engine, job, &filter, timestamps, follow).await
        }
        JobCommand::Export {
            id,
            format,
            output,
            hosts,
            stream,
            grep,
        } => {
            let (detail, log) = engine.jobs().log(JobId(id)).await?;
            let filter = log_filter(&detail, &hosts, stream.as_deref(), grep.as_deref())?;
            let file = std::fs::File::create(&output)
                .with_context(|| format!("cannot create {}", output.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let lines = log.filter(&filter);
            let written = match format.as_str() {
                "text" => log::export_text(&log, &lines, true, &mut out),
                "jsonl" => log::export_jsonl(&log, &lines, &mut out),
                "csv" => log::export_csv(&host_summaries(&detail, &log), &mut out),
                other => bail!("unknown --format {other:?}: use text, jsonl or csv"),
            }
            .and_then(|n| out.flush().map(|()| n))
            .with_context(|| format!("cannot write {}", output.display()))?;
            eprintln!("vmo: wrote {written} lines to {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        JobCommand::Retry { id, failed } => {
            let spec = engine
                .jobs()
                .rerun_spec(JobId(id), failed, Origin::Cli)
                .await?;
            let inventory = engine.inventory().list().await?;
            let names = spec
                .targets
                .iter()
                .filter_map(|id| inventory.iter().find(|vm| vm.id == *id))
                .map(|vm| vm.name.clone())
                .collect();
            let display = Display {
                json: false,
                group: false,
                quiet: false,
                record: true,
                repeat: 1,
                raw: false,
            };
            run_job(engine, spec, names, display).await
        }
        JobCommand::Cancel { id, host } => {
            let job = JobId(id);
            match host {
                None => engine.jobs().cancel(job).await?,
                Some(name) => {
                    let detail = engine.jobs().detail(job).await?;
                    let Some(host) = detail.hosts.iter().find(|h| h.name == name) else {
                        bail!("job {job} has no host {name:?}");
                    };
                    engine.jobs().cancel_host(job, host.host).await?;
                }
            }
            eprintln!("vmo: asked to stop job {job}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn list(
    engine: &Engine,
    states: Vec<String>,
    vm: Option<String>,
    text: Option<String>,
    limit: u32,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let states = states
        .iter()
        .map(|s| {
            JobState::parse(s).with_context(|| {
                let known: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
                format!("unknown state {s:?}; states are {}", known.join(", "))
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let vm = match vm {
        Some(name) => Some(engine.inventory().find_by_name(&name).await?.id),
        None => None,
    };
    let jobs = engine
        .jobs()
        .list(&JobQuery {
            states,
            vm,
            text,
            limit: Some(limit),
        })
        .await?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&jobs)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(
        out,
        "{:>6}  {:<11}  {:>7}  {:>9}  {:<19}  {:<20}  COMMAND",
        "ID", "STATE", "HOSTS", "DURATION", "STARTED", "TARGETS"
    )?;
    let now = now_ms();
    for job in &jobs {
        writeln!(
            out,
            "{:>6}  {:<11}  {:>7}  {:>9}  {:<19}  {:<20}  {}",
            job.id.0,
            job.state.as_str(),
            format!("{}/{}", job.hosts_succeeded, job.hosts_total),
            job.duration_ms(now).map(seconds).unwrap_or_default(),
            utc_time(job.created_at),
            clip(&job.target_label, 20),
            job.command
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(engine: &Engine, job: JobId, json: bool) -> anyhow::Result<ExitCode> {
    let detail = engine.jobs().detail(job).await?;
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string_pretty(&detail)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let j: &JobSummary = &detail.job;
    writeln!(out, "job {}: {}", j.id, j.state)?;
    writeln!(out, "command:  {}", j.command)?;
    writeln!(
        out,
        "targets:  {} ({} hosts)",
        j.target_label, j.hosts_total
    )?;
    writeln!(out, "started:  {} by {}", utc_time(j.created_at), j.origin)?;
    if let Some(ms) = j.duration_ms(now_ms()) {
        writeln!(out, "duration: {}", seconds(ms))?;
    }
    let o = &j.options;
    writeln!(
        out,
        "options:  concurrency {}, timeout {}{}{}",
        o.concurrency,
        o.timeout
            .map(|t| format!("{} s", t.as_secs_f64()))
            .unwrap_or_else(|| "none".into()),
        if o.stop_on_failure {
            ", stop on failure"
        } else {
            ""
        },
        if o.canary { ", canary" } else { "" },
    )?;
    if let Some(of) = j.retry_of {
        writeln!(out, "retry of: job {of}")?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{:<20}  {:<11}  {:>6}  {:>9}  DETAIL",
        "HOST", "STATE", "EXIT", "DURATION"
    )?;
    for h in &detail.hosts {
        let exit = h
            .exit_code
            .map(|c| c.to_string())
            .or_else(|| h.signal.clone())
            .unwrap_or_default();
        let mut detail = h.error.clone().unwrap_or_default();
        if let Some(kind) = &h.error_kind {
            detail.push_str(crate::output::advice(kind));
        }
        if h.truncated {
            detail.push_str(" (output truncated)");
        }
        writeln!(
            out,
            "{:<20}  {:<11}  {:>6}  {:>9}  {}",
            clip(&h.name, 20),
            h.state.as_str(),
            exit,
            h.duration_ms().map(seconds).unwrap_or_default(),
            detail.trim()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the matching lines; with `follow`, keeps reading new chunks until the job ends.
async fn logs(
    engine: &Engine,
    job: JobId,
    filter: &LogFilter,
    timestamps: bool,
    follow: bool,
) -> anyhow::Result<ExitCode> {
    let (detail, mut log) = engine.jobs().log(job).await?;
    let mut printed = print_lines(&log, filter, 0, timestamps)?;
    let mut state = detail.job.state;
    let mut finished: HashSet<u32> = HashSet::new();
    while follow && !state.is_final() {
        tokio::time::sleep(FOLLOW_EVERY).await;
        // The job's state first: output written before it ended is then all in the table.
        let detail = engine.jobs().detail(job).await?;
        state = detail.job.state;
        loop {
            let chunks = engine.jobs().chunks(job, log.last_chunk_id(), 4096).await?;
            for chunk in &chunks {
                log.push(chunk);
            }
            if chunks.len() < 4096 {
                break;
            }
        }
        for host in detail.hosts.iter().filter(|h| h.state.is_final()) {
            if finished.insert(host.host) {
                log.flush_host(host.host);
            }
        }
        printed = print_lines(&log, filter, printed, timestamps)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints lines `from..` that match; returns the number of lines seen.
fn print_lines(
    log: &JobLog,
    filter: &LogFilter,
    from: usize,
    timestamps: bool,
) -> anyhow::Result<usize> {
    let lines: Vec<u32> = log
        .filter(filter)
        .into_iter()
        .filter(|i| *i as usize >= from)
        .collect();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = log::export_text(log, &lines, timestamps, &mut out).and_then(|_| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        return Err(e.into());
    }
    Ok(log.len())
}

fn log_filter(
    detail: &JobDetail,
    hosts: &[String],
    stream: Option<&str>,
    grep: Option<&str>,
) -> anyhow::Result<LogFilter> {
    let mut filter = LogFilter::default();
    if !hosts.is_empty() {
        let mut chosen = HashSet::new();
        for name in hosts {
            let host = detail
                .hosts
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .with_context(|| format!("job {} has no host {name:?}", detail.job.id))?;
            chosen.insert(host.host);
        }
        filter.hosts = Some(chosen);
    }
    if let Some(stream) = stream {
        filter.stream = Some(match Stream::parse(stream) {
            Some(s @ (Stream::Stdout | Stream::Stderr)) => s,
            _ => bail!("--stream is stdout or stderr, not {stream:?}"),
        });
    }
    if let Some(pattern) = grep {
        filter.text = Some(
            TextMatch::new(pattern, true, true)
                .map_err(|e| anyhow::anyhow!("bad --grep pattern: {e}"))?,
        );
    }
    Ok(filter)
}

fn seconds(ms: i64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// UTC, to the second: "2026-11-29 10:00:03".
fn utc_time(ms: i64) -> String {
    let text = log::format_rfc3339_millis(ms);
    text.get(..19).unwrap_or(&text).replace('T', " ")
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut clipped: String = text.chars().take(width - 1).collect();
        clipped.push('…');
        clipped
    }
}
