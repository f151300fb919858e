//! `vmo exec`: one command on many VMs.

use crate::args::ExecArgs;
use crate::output::{print_grouped, print_json, Collected, LinePrinter};
use crate::select::select;
use anyhow::bail;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vmo_engine::ssh::{run_on_hosts, FanoutEvent, HostOutcome, HostResult, RunOptions, Target};
use vmo_engine::Engine;

/// Longest `--timeout` accepted (about 31 years).
const MAX_TIMEOUT_SECS: f64 = 1e9;

enum Mode {
    Stream(LinePrinter),
    Collect(Vec<Collected>),
    Quiet,
}

pub async fn run(engine: &Engine, args: ExecArgs) -> anyhow::Result<ExitCode> {
    let vms = select(engine, &args.vms, &args.tags, args.all).await?;
    if vms.is_empty() {
        bail!("the inventory is empty");
    }
    let command = args.command.join(" ");
    let everyone = engine.inventory().list().await?;
    let mut targets = Vec::new();
    let mut unresolved = Vec::new();
    for vm in &vms {
        match Target::resolve(vm, &everyone) {
            Ok(t) => targets.push(t),
            Err(e) => unresolved.push((vm.name.clone(), e)),
        }
    }
    let timeout = match args.timeout {
        // Bounded: a deadline too far in the future overflows the clock.
        Some(secs) if secs.is_finite() && secs > 0.0 && secs <= MAX_TIMEOUT_SECS => {
            Some(Duration::from_secs_f64(secs))
        }
        Some(_) => {
            bail!("--timeout must be a positive number of seconds, at most {MAX_TIMEOUT_SECS}")
        }
        None => None,
    };
    // A VM whose jump hosts cannot be resolved is a failed host, as in `vm test`: the
    // others still run. Its results come after the targets'.
    let unresolved: Vec<HostResult> = unresolved
        .into_iter()
        .enumerate()
        .map(|(i, (name, error))| HostResult {
            index: targets.len() + i,
            name,
            outcome: HostOutcome::Failed { error },
            duration: Duration::ZERO,
        })
        .collect();
    let options = RunOptions {
        concurrency: args.concurrency.max(1),
        timeout,
    };
    let cancel = CancellationToken::new();
    let on_interrupt = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("vmo: interrupted; stopping remote commands (Ctrl-C again to quit now)");
            on_interrupt.cancel();
        }
        // The handler stays installed: without this, a second Ctrl-C would do nothing
        // while stopping hangs.
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("vmo: interrupted again; quitting without waiting for the remote commands");
            std::process::exit(130);
        }
    });

    let mut names: Vec<String> = targets.iter().map(|t| t.name.clone()).collect();
    names.extend(unresolved.iter().map(|r| r.name.clone()));
    let runs = args.repeat.max(1);
    let mut results = Vec::new();
    for round in 1..=runs {
        let last = round == runs;
        let mode = if !last {
            Mode::Quiet
        } else if args.json || args.group {
            Mode::Collect(vec![Collected::default(); names.len()])
        } else {
            Mode::Stream(LinePrinter::new(names.clone()))
        };
        let started = Instant::now();
        let (done, mut mode) =
            fan_out(engine, targets.clone(), &command, options, &cancel, mode).await;
        if runs > 1 {
            eprintln!("run {round}: {:.3} s", started.elapsed().as_secs_f64());
        }
        results = done;
        if let Mode::Stream(printer) = &mut mode {
            for result in &unresolved {
                printer.finish(result);
            }
        }
        results.extend(unresolved.iter().cloned());
        if last {
            if let Mode::Collect(collected) = mode {
                if args.group {
                    print_grouped(&results, &collected);
                } else {
                    for result in &results {
                        print_json(result, &collected[result.index]);
                    }
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
    if failed > 0 && !args.json {
        let unreachable = results
            .iter()
            .filter(|r| matches!(&r.outcome, HostOutcome::Failed { error } if error.kind.is_unreachable()))
            .count();
        eprintln!(
            "vmo: {failed} of {} hosts failed ({unreachable} unreachable)",
            names.len()
        );
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn fan_out(
    engine: &Engine,
    targets: Vec<Target>,
    command: &str,
    options: RunOptions,
    cancel: &CancellationToken,
    mut mode: Mode,
) -> (Vec<HostResult>, Mode) {
    let (tx, mut events) = mpsc::channel(256);
    let run = run_on_hosts(
        engine.ssh().pool().clone(),
        targets,
        command.to_string(),
        options,
        cancel.clone(),
        tx,
    );
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
    let (results, ()) = tokio::join!(run, print);
    (results, mode)
}
