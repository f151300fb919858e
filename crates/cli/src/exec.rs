//! `vmo exec`: one command on many VMs.

use crate::args::{ExecArgs, RunFlags};
use crate::output::{print_grouped, print_json, Collected, LinePrinter};
use crate::select::select;
use anyhow::bail;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vmo_engine::jobs::{label_for_names, JobOptions, JobSpec, JobState, JobSummary, Origin};
use vmo_engine::resolve_target;
use vmo_engine::ssh::{run_on_hosts, FanoutEvent, HostOutcome, HostResult, RunOptions, Target};
use vmo_engine::Engine;
use vmo_engine::Settings;

/// Longest `--timeout` accepted (about 31 years).
const MAX_TIMEOUT_SECS: f64 = 1e9;

enum Mode {
    Stream(LinePrinter),
    Collect(Vec<Collected>),
    Quiet,
}

/// How output is shown, and whether the run is recorded.
pub struct Display {
    pub json: bool,
    pub group: bool,
    pub quiet: bool,
    pub record: bool,
    pub repeat: usize,
    /// Output passed through as is, even to a terminal.
    pub raw: bool,
}

pub async fn run(engine: &Engine, args: ExecArgs) -> anyhow::Result<ExitCode> {
    let vms = select(engine, &args.vms, &args.tags, args.all).await?;
    if vms.is_empty() {
        bail!("the inventory is empty");
    }
    let target_label = target_label(&args.vms, &args.tags, args.all);
    let spec = JobSpec {
        command: args.command.join(" "),
        targets: vms.iter().map(|vm| vm.id).collect(),
        target_label,
        options: args.run.options(&engine.settings())?,
        origin: Origin::Cli,
        retry_of: None,
        template: None,
    };
    // Without --output-cap the settings' cap (already applied) holds.
    if let Some(cap) = args.output_cap {
        if cap == 0 {
            bail!("--output-cap must be at least 1 MiB");
        }
        engine.jobs().set_output_cap(cap.saturating_mul(1 << 20));
    }
    let names = vms.iter().map(|vm| vm.name.clone()).collect();
    let display = args.run.display(!args.no_record, args.repeat);
    run_job(engine, spec, names, display).await
}

impl RunFlags {
    /// The job options these flags ask for (`--timeout` checked); a flag left out takes
    /// the job defaults of the settings.
    pub fn options(&self, settings: &Settings) -> anyhow::Result<JobOptions> {
        let timeout = match self.timeout {
            Some(_) => timeout_from(self.timeout)?,
            None => settings.jobs.timeout_secs.map(Duration::from_secs),
        };
        Ok(JobOptions {
            concurrency: self
                .concurrency
                .unwrap_or(settings.jobs.hosts_at_once)
                .max(1),
            timeout,
            stop_on_failure: self.stop_on_failure,
            canary: self.canary,
        })
    }

    pub fn display(&self, record: bool, repeat: usize) -> Display {
        Display {
            json: self.json,
            group: self.group,
            quiet: self.quiet,
            record,
            repeat,
            raw: self.raw,
        }
    }
}

/// `--timeout` checked: positive and bounded (a deadline too far away overflows the clock).
fn timeout_from(secs: Option<f64>) -> anyhow::Result<Option<Duration>> {
    match secs {
        Some(secs) if secs.is_finite() && secs > 0.0 && secs <= MAX_TIMEOUT_SECS => {
            Ok(Some(Duration::from_secs_f64(secs)))
        }
        Some(_) => {
            bail!("--timeout must be a positive number of seconds, at most {MAX_TIMEOUT_SECS}")
        }
        None => Ok(None),
    }
}

/// How the targets were chosen, for people: "all VMs", "web-1, tag:db".
pub fn target_label(vms: &[String], tags: &[String], all: bool) -> String {
    if all {
        return "all VMs".to_string();
    }
    let mut parts: Vec<String> = vms.to_vec();
    parts.extend(tags.iter().map(|t| format!("tag:{t}")));
    label_for_names(&parts.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Runs `spec` as a job (`display.repeat` times), printing as it goes; the exit status
/// says whether every host succeeded.
pub async fn run_job(
    engine: &Engine,
    spec: JobSpec,
    names: Vec<String>,
    display: Display,
) -> anyhow::Result<ExitCode> {
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    // Ctrl-C here, as opposed to a cancel asked for by another program (the app).
    let interrupted = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let by_user = interrupted.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("vmo: interrupted; stopping remote commands (Ctrl-C again to quit now)");
            by_user.store(true, std::sync::atomic::Ordering::SeqCst);
            on_interrupt.cancel();
        }
        // The handler stays installed: without this, a second Ctrl-C would do nothing
        // while stopping hangs.
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("vmo: interrupted again; quitting without waiting for the remote commands");
            std::process::exit(130);
        }
    });

    let runs = display.repeat.max(1);
    let mut results = Vec::new();
    let mut job = None;
    for round in 1..=runs {
        let last = round == runs;
        let mode = if !last || display.quiet {
            Mode::Quiet
        } else if display.json || display.group {
            Mode::Collect(vec![
                Collected::with_cap(engine.jobs().output_cap());
                names.len()
            ])
        } else {
            use std::io::IsTerminal as _;
            // A terminal acts on escape sequences; what hosts print must not drive it.
            let terminal = [
                !display.raw && std::io::stdout().is_terminal(),
                !display.raw && std::io::stderr().is_terminal(),
            ];
            Mode::Stream(LinePrinter::new(names.clone(), terminal))
        };
        let started = Instant::now();
        let (done, mode) = run_round(engine, &spec, display.record, &cancel, mode).await?;
        if runs > 1 {
            eprintln!("run {round}: {:.3} s", started.elapsed().as_secs_f64());
        }
        job = done.0;
        results = done.1;
        if let Mode::Collect(collected) = mode {
            if display.group {
                use std::io::IsTerminal as _;
                print_grouped(
                    &results,
                    &collected,
                    !display.raw && std::io::stdout().is_terminal(),
                );
            } else {
                for result in &results {
                    print_json(result, &collected[result.index]);
                }
            }
        }
        if cancel.is_cancelled() {
            break;
        }
    }
    // A host without a result (its task panicked in the engine) did not succeed either.
    let missing = names.len().saturating_sub(results.len());
    let failed = results.iter().filter(|r| !r.outcome.success()).count() + missing;
    if failed > 0 && !display.json && !display.quiet {
        let unreachable = results
            .iter()
            .filter(|r| matches!(&r.outcome, HostOutcome::Failed { error } if error.kind.is_unreachable()))
            .count();
        let job = job
            .as_ref()
            .map(|j: &JobSummary| format!("job {}: ", j.id))
            .unwrap_or_default();
        eprintln!(
            "vmo: {job}{failed} of {} hosts failed ({unreachable} unreachable)",
            names.len()
        );
    }
    if let Some(j) = job.as_ref() {
        if j.state == JobState::Cancelled && !interrupted.load(std::sync::atomic::Ordering::SeqCst)
        {
            eprintln!("vmo: job {} was cancelled by another program", j.id);
        }
    }
    // Whatever the hosts did, a run whose record is incomplete did not succeed.
    let lost = job
        .as_ref()
        .and_then(|j| Some((j.id, j.record_error.clone()?)));
    // The cause says what to do (a full disk, a program holding the database): no advice
    // of our own that could be the wrong one.
    if let Some((id, lost)) = &lost {
        eprintln!("vmo: job {id}: {lost}. The remote commands were not stopped for it.");
    }
    Ok(if failed == 0 && lost.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// One run: as a job (recorded), or straight through the SSH engine (`--no-record`).
async fn run_round(
    engine: &Engine,
    spec: &JobSpec,
    record: bool,
    cancel: &CancellationToken,
    mut mode: Mode,
) -> anyhow::Result<((Option<JobSummary>, Vec<HostResult>), Mode)> {
    let (tx, mut events) = mpsc::channel(256);
    let run = async {
        if record {
            let (job, results) = engine.jobs().run(spec.clone(), tx, cancel.clone()).await?;
            return Ok((Some(job), results));
        }
        let (targets, mut results) = resolve(engine, spec).await?;
        for result in &results {
            let _ = tx.send(FanoutEvent::Finished(result.clone())).await;
        }
        let options = RunOptions {
            concurrency: spec.options.concurrency,
            timeout: spec.options.timeout,
        };
        // run_on_hosts numbers its targets 0..n; map them back to host positions.
        let (positions, targets): (Vec<usize>, Vec<Target>) = targets.into_iter().unzip();
        let position = |i: usize| positions.get(i).copied().unwrap_or(i);
        let (fan_tx, mut fan_rx) = mpsc::channel(256);
        let pool = engine.ssh().pool().clone();
        let run = run_on_hosts(
            pool,
            targets,
            spec.command.clone(),
            options,
            cancel.clone(),
            fan_tx,
        );
        let forward = async {
            while let Some(event) = fan_rx.recv().await {
                let event = match event {
                    FanoutEvent::Output { index, output } => FanoutEvent::Output {
                        index: position(index),
                        output,
                    },
                    FanoutEvent::Finished(mut r) => {
                        r.index = position(r.index);
                        FanoutEvent::Finished(r)
                    }
                };
                if tx.send(event).await.is_err() {
                    break;
                }
            }
        };
        let (ran, ()) = tokio::join!(run, forward);
        results.extend(ran.into_iter().map(|mut r| {
            r.index = position(r.index);
            r
        }));
        results.sort_by_key(|r| r.index);
        Ok::<_, anyhow::Error>((None, results))
    };
    let print = async {
        while let Some(event) = events.recv().await {
            match (&mut mode, event) {
                (Mode::Stream(p), FanoutEvent::Output { index, output }) => {
                    p.output(index, &output);
                    // Write when nothing more is waiting: big writes under load, prompt
                    // lines when output trickles.
                    if events.is_empty() {
                        p.flush();
                    }
                }
                (Mode::Stream(p), FanoutEvent::Finished(result)) => p.finish(&result),
                (Mode::Collect(c), FanoutEvent::Output { index, output }) => c[index].add(&output),
                _ => {}
            }
        }
        if let Mode::Stream(p) = &mut mode {
            p.flush();
        }
    };
    let (done, ()) = tokio::join!(run, print);
    Ok((done?, mode))
}

/// The spec's VMs as SSH targets with their host positions; those whose jump hosts do
/// not resolve become failed results.
async fn resolve(
    engine: &Engine,
    spec: &JobSpec,
) -> anyhow::Result<(Vec<(usize, Target)>, Vec<HostResult>)> {
    let everyone = engine.inventory().list().await?;
    let mut targets = Vec::new();
    let mut failed = Vec::new();
    for (index, id) in spec.targets.iter().enumerate() {
        let Some(vm) = everyone.iter().find(|vm| vm.id == *id) else {
            bail!("VM #{} is no longer in the inventory", id.0);
        };
        match resolve_target(vm, &everyone) {
            Ok(target) => targets.push((index, target)),
            Err(error) => failed.push(HostResult {
                index,
                name: vm.name.clone(),
                outcome: HostOutcome::Failed { error },
                duration: Duration::ZERO,
            }),
        }
    }
    Ok((targets, failed))
}
