//! Runs one job: hosts wait for a job slot (the job's concurrency), their host's turn (one
//! job at a time per VM) and a global slot, then run through the SSH pool. Output goes to
//! the writer (capped per host) and, unbounded by the cap, to an optional observer (`vmo
//! exec` prints from it). Canary and stop-on-failure decide which hosts start at all.

use super::model::{HostState, JobHost, JobId, JobOptions, JobState};
use super::store::Write;
use super::turns::{HostTurn, Slot, Turns};
use super::writer::Writer;
use crate::ssh::{
    run_host, FanoutEvent, HostOutcome, HostResult, Output, RunEnd, SshError, SshPool, Target,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use vmo_joblog::{Chunk, Stream};

/// What every job shares.
pub(crate) struct Shared {
    pub pool: Arc<SshPool>,
    pub writer: Writer,
    /// Per-VM turns and the global limit of host runs, shared with other processes.
    pub turns: Turns,
    /// Output bytes kept per host; the rest is counted, not stored.
    pub output_cap: AtomicU64,
}

pub(crate) struct PlannedHost {
    pub index: u32,
    pub name: String,
    /// What serialises jobs on this host (the VM id, or its name).
    pub lock_key: String,
    /// Err: failed before it could run (recorded as failed when the job was created).
    pub target: Result<Target, SshError>,
    pub cancel: CancellationToken,
}

pub(crate) struct Plan {
    pub job: JobId,
    pub command: Arc<str>,
    pub options: JobOptions,
    pub hosts: Vec<PlannedHost>,
    pub cancel: CancellationToken,
}

/// Shared by the host tasks of one job.
struct JobRun {
    shared: Arc<Shared>,
    job: JobId,
    command: Arc<str>,
    options: JobOptions,
    permits: Arc<Semaphore>,
    started: AtomicBool,
    /// Set when a host failed under stop-on-failure: why the rest are skipped.
    stop: Mutex<Option<String>>,
    observer: Option<mpsc::Sender<FanoutEvent>>,
}

/// Unix time in milliseconds, as every record stores it.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Runs the job to its end and records it; returns each host's result in host order.
pub(crate) async fn run(
    shared: Arc<Shared>,
    plan: Plan,
    observer: Option<mpsc::Sender<FanoutEvent>>,
) -> Vec<HostResult> {
    let run = Arc::new(JobRun {
        shared,
        job: plan.job,
        command: plan.command,
        options: plan.options,
        permits: Arc::new(Semaphore::new(plan.options.concurrency.max(1))),
        started: AtomicBool::new(false),
        stop: Mutex::new(None),
        observer,
    });
    let mut hosts = plan.hosts.into_iter();
    let mut results = Vec::new();
    if plan.options.canary && hosts.len() > 1 {
        if let Some(canary) = hosts.next() {
            let name = canary.name.clone();
            let result = run.clone().host(canary).await;
            if !result.outcome.success() {
                *run.stop.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some(format!("the canary host {name} did not succeed"));
            }
            results.push(result);
        }
    }
    let mut tasks = tokio::task::JoinSet::new();
    for host in hosts {
        tasks.spawn(run.clone().host(host));
    }
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(err) => tracing::error!("a job host task failed: {err}"),
        }
    }
    results.sort_by_key(|r| r.index);
    let state = job_state(plan.cancel.is_cancelled(), &results);
    run.shared
        .writer
        .write(Write::JobFinished {
            job: run.job,
            state,
            at: now_ms(),
        })
        .await;
    results
}

/// A job's final state from its hosts'.
fn job_state(cancelled: bool, results: &[HostResult]) -> JobState {
    let states: Vec<HostState> = results.iter().map(|r| host_state(&r.outcome)).collect();
    let any = |s: HostState| states.contains(&s);
    if cancelled {
        JobState::Cancelled
    } else if any(HostState::Failed) || any(HostState::Unreachable) || any(HostState::Skipped) {
        JobState::Failed
    } else if any(HostState::TimedOut) {
        JobState::TimedOut
    } else if any(HostState::Cancelled) {
        JobState::Cancelled
    } else {
        JobState::Succeeded
    }
}

pub(crate) fn host_state(outcome: &HostOutcome) -> HostState {
    match outcome {
        HostOutcome::Ran { end } => match end {
            RunEnd::Exited { code: 0 } => HostState::Succeeded,
            RunEnd::Exited { .. } | RunEnd::Signaled { .. } | RunEnd::Closed => HostState::Failed,
            RunEnd::TimedOut => HostState::TimedOut,
            RunEnd::Cancelled => HostState::Cancelled,
        },
        HostOutcome::Failed { error } if error.kind.is_unreachable() => HostState::Unreachable,
        HostOutcome::Failed { .. } => HostState::Failed,
        HostOutcome::Cancelled => HostState::Cancelled,
        HostOutcome::Skipped { .. } => HostState::Skipped,
    }
}

impl JobRun {
    async fn host(self: Arc<Self>, host: PlannedHost) -> HostResult {
        let result = |outcome, duration| HostResult {
            index: host.index as usize,
            name: host.name.clone(),
            outcome,
            duration,
        };
        let target = match &host.target {
            Ok(target) => target,
            // Recorded as failed when the job was created.
            Err(error) => {
                let done = result(
                    HostOutcome::Failed {
                        error: error.clone(),
                    },
                    Duration::ZERO,
                );
                self.observe(FanoutEvent::Finished(done.clone())).await;
                return done;
            }
        };
        let waited = self.wait_turn(&host).await;
        let (outcome, duration, kept) = match waited {
            Err(outcome) => (outcome, Duration::ZERO, Kept::default()),
            Ok(_turn) => {
                let started = now_ms();
                if !self.started.swap(true, Ordering::SeqCst) {
                    self.shared
                        .writer
                        .write(Write::JobStarted {
                            job: self.job,
                            at: started,
                        })
                        .await;
                }
                self.shared
                    .writer
                    .write(Write::HostStarted {
                        job: self.job,
                        host: host.index,
                        at: started,
                    })
                    .await;
                let (tx, rx) = mpsc::channel::<Output>(16);
                let run = run_host(
                    &self.shared.pool,
                    target,
                    &self.command,
                    self.options.timeout,
                    &host.cancel,
                    tx,
                );
                let ((outcome, duration), kept) = tokio::join!(run, self.record(host.index, rx));
                (outcome, duration, kept)
            }
        };
        if self.options.stop_on_failure && !outcome.success() {
            let mut stop = self.stop.lock().unwrap_or_else(|e| e.into_inner());
            stop.get_or_insert_with(|| format!("{} did not succeed", host.name));
        }
        let done = result(outcome, duration);
        self.shared
            .writer
            .write(Write::HostFinished {
                job: self.job,
                host: Box::new(finished_host(&host, &done, kept)),
            })
            .await;
        self.observe(FanoutEvent::Finished(done.clone())).await;
        done
    }

    /// Waits for a job slot, the host's turn and a global slot; Err if the host must not run.
    async fn wait_turn(&self, host: &PlannedHost) -> Result<Turn, HostOutcome> {
        let cancelled = || HostOutcome::Cancelled;
        let permit = tokio::select! {
            p = self.permits.clone().acquire_owned() => p.map_err(|_| cancelled())?,
            () = host.cancel.cancelled() => return Err(cancelled()),
        };
        // Always the VM before a slot, in every process: no process holds a slot while
        // it waits for a VM, so waiting never goes round in a circle.
        let turn = self
            .shared
            .turns
            .host_turn(&host.lock_key, &host.cancel)
            .await
            .ok_or_else(cancelled)?;
        let slot = self
            .shared
            .turns
            .slot(&host.cancel)
            .await
            .ok_or_else(cancelled)?;
        if let Some(reason) = self.stop.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(HostOutcome::Skipped { reason });
        }
        Ok(Turn {
            _job_slot: permit,
            _host_turn: turn,
            _global_slot: slot,
        })
    }

    /// Keeps `host`'s output (up to the cap, then a marker) and passes all of it on.
    async fn record(&self, host: u32, mut rx: mpsc::Receiver<Output>) -> Kept {
        let cap = self.shared.output_cap.load(Ordering::Relaxed);
        let mut kept = Kept::default();
        while let Some(output) = rx.recv().await {
            let (stream, data) = match &output {
                Output::Stdout(d) => (Stream::Stdout, d),
                Output::Stderr(d) => (Stream::Stderr, d),
            };
            let room = cap.saturating_sub(kept.bytes);
            if room > 0 {
                let take = data.len().min(usize::try_from(room).unwrap_or(usize::MAX));
                kept.bytes += take as u64;
                self.write_chunk(host, stream, data[..take].to_vec()).await;
            }
            if !kept.truncated && (data.len() as u64) > room {
                kept.truncated = true;
                let note = format!(
                    "[vmo: output truncated at {}; the command kept running and the rest was not kept]",
                    human_bytes(cap)
                );
                self.write_chunk(host, Stream::Marker, note.into_bytes())
                    .await;
            }
            self.observe(FanoutEvent::Output {
                index: host as usize,
                output,
            })
            .await;
        }
        kept
    }

    async fn write_chunk(&self, host: u32, stream: Stream, data: Vec<u8>) {
        let chunk = Chunk {
            id: 0,
            host,
            stream,
            at_ms: now_ms(),
            data,
        };
        self.shared
            .writer
            .write(Write::Output {
                job: self.job,
                chunk,
            })
            .await;
    }

    async fn observe(&self, event: FanoutEvent) {
        if let Some(observer) = &self.observer {
            let _ = observer.send(event).await;
        }
    }
}

/// A host's permission to run; dropping it lets the next one go.
struct Turn {
    _job_slot: tokio::sync::OwnedSemaphorePermit,
    _host_turn: HostTurn,
    _global_slot: Slot,
}

#[derive(Default)]
struct Kept {
    bytes: u64,
    truncated: bool,
}

fn finished_host(host: &PlannedHost, done: &HostResult, kept: Kept) -> JobHost {
    let finished_at = now_ms();
    let (exit_code, signal, error, error_kind) = match &done.outcome {
        HostOutcome::Ran { end } => match end {
            RunEnd::Exited { code } => (Some(i64::from(*code)), None, None, None),
            RunEnd::Signaled { signal, .. } => (None, Some(signal.clone()), None, None),
            RunEnd::Closed => (
                None,
                None,
                Some("the server closed the channel without an exit status".to_string()),
                None,
            ),
            RunEnd::TimedOut => (None, None, Some("timed out".to_string()), None),
            RunEnd::Cancelled => (None, None, Some("cancelled".to_string()), None),
        },
        HostOutcome::Failed { error } => (
            None,
            None,
            Some(error.message.clone()),
            Some(error.kind.as_str().to_string()),
        ),
        HostOutcome::Cancelled => (None, None, Some("cancelled before it started".into()), None),
        HostOutcome::Skipped { reason } => (None, None, Some(format!("skipped: {reason}")), None),
    };
    JobHost {
        host: host.index,
        vm_id: None,
        name: host.name.clone(),
        state: host_state(&done.outcome),
        exit_code,
        signal,
        error,
        error_kind,
        started_at: Some(finished_at - done.duration.as_millis() as i64),
        finished_at: Some(finished_at),
        out_bytes: kept.bytes as i64,
        truncated: kept.truncated,
    }
}

/// "256 MiB", "1.5 GiB", "300 bytes".
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut value = n as f64;
    let mut unit = "";
    for u in UNITS {
        value /= 1024.0;
        unit = u;
        if value < 1024.0 {
            break;
        }
    }
    if value.fract() == 0.0 {
        format!("{value:.0} {unit}")
    } else {
        format!("{value:.1} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_bytes(300), "300 bytes");
        assert_eq!(human_bytes(256 << 20), "256 MiB");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }

    #[test]
    fn job_state_follows_its_hosts() {
        let host = |outcome| HostResult {
            index: 0,
            name: "a".into(),
            outcome,
            duration: Duration::ZERO,
        };
        let ok = || {
            host(HostOutcome::Ran {
                end: RunEnd::Exited { code: 0 },
            })
        };
        let timed_out = || {
            host(HostOutcome::Ran {
                end: RunEnd::TimedOut,
            })
        };
        let failed = || {
            host(HostOutcome::Ran {
                end: RunEnd::Exited { code: 2 },
            })
        };
        assert_eq!(job_state(false, &[ok(), ok()]), JobState::Succeeded);
        assert_eq!(job_state(false, &[ok(), timed_out()]), JobState::TimedOut);
        assert_eq!(job_state(false, &[timed_out(), failed()]), JobState::Failed);
        assert_eq!(job_state(true, &[ok(), failed()]), JobState::Cancelled);
        assert_eq!(
            job_state(false, &[ok(), host(HostOutcome::Cancelled)]),
            JobState::Cancelled
        );
    }
}
