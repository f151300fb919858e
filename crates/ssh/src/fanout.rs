//! One command over many hosts, at most `concurrency` at once. Every host ends with a
//! precise outcome; one bad host never stalls or fails the others.

use super::error::SshError;
use super::exec::{self, Output, RunEnd};
use super::pool::SshPool;
use super::target::Target;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub concurrency: usize,
    /// Per host, from the start of its command.
    pub timeout: Option<Duration>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            concurrency: 64,
            timeout: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HostOutcome {
    /// The command ran; `end` says how it finished.
    Ran { end: RunEnd },
    /// No command ran: connecting or logging in failed.
    Failed { error: SshError },
    /// Cancelled before it could connect.
    Cancelled,
    /// Never started (a canary or an earlier host failed and the run stops on failure).
    Skipped { reason: String },
}

impl HostOutcome {
    pub fn success(&self) -> bool {
        matches!(self, HostOutcome::Ran { end } if end.success())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostResult {
    /// Index into the targets given.
    pub index: usize,
    pub name: String,
    pub outcome: HostOutcome,
    /// Connect (when not pooled) plus run.
    #[serde(serialize_with = "as_millis")]
    pub duration: Duration,
}

fn as_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

/// What a fan-out reports while it runs.
#[derive(Debug)]
pub enum FanoutEvent {
    Output { index: usize, output: Output },
    Finished(HostResult),
}

/// Runs `command` on every target; returns results in target order. Progress and output go
/// to `events` (bounded: a slow reader slows the hosts down rather than growing memory).
pub async fn run_on_hosts(
    pool: Arc<SshPool>,
    targets: Vec<Target>,
    command: String,
    options: RunOptions,
    cancel: CancellationToken,
    events: mpsc::Sender<FanoutEvent>,
) -> Vec<HostResult> {
    let limit = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let command: Arc<str> = command.into();
    let mut tasks = tokio::task::JoinSet::new();
    for (index, target) in targets.into_iter().enumerate() {
        let (pool, limit, command, cancel, events) = (
            pool.clone(),
            limit.clone(),
            command.clone(),
            cancel.clone(),
            events.clone(),
        );
        tasks.spawn(async move {
            let result = run_one(
                &pool, index, &target, &command, options, &limit, &cancel, &events,
            )
            .await;
            let _ = events.send(FanoutEvent::Finished(result.clone())).await;
            result
        });
    }
    drop(events);
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(err) => tracing::error!("a host task panicked: {err}"),
        }
    }
    results.sort_by_key(|r| r.index);
    results
}

#[allow(clippy::too_many_arguments)]
async fn run_one(
    pool: &SshPool,
    index: usize,
    target: &Target,
    command: &str,
    options: RunOptions,
    limit: &Semaphore,
    cancel: &CancellationToken,
    events: &mpsc::Sender<FanoutEvent>,
) -> HostResult {
    let _permit = tokio::select! {
        permit = limit.acquire() => permit.ok(),
        () = cancel.cancelled() => return HostResult {
            index,
            name: target.name.clone(),
            outcome: HostOutcome::Cancelled,
            duration: Duration::ZERO,
        },
    };
    // Forward this host's output, tagged with its index.
    let (tx, mut rx) = mpsc::channel::<Output>(16);
    let forward = async {
        while let Some(output) = rx.recv().await {
            if events
                .send(FanoutEvent::Output { index, output })
                .await
                .is_err()
            {
                break;
            }
        }
    };
    let run = run_host(pool, target, command, options.timeout, cancel, tx);
    let ((outcome, duration), ()) = tokio::join!(run, forward);
    HostResult {
        index,
        name: target.name.clone(),
        outcome,
        duration,
    }
}

/// Connects to `target` through the pool and runs `command`, its output to `output`
/// (closed when the run ends). The duration covers connecting (when not pooled) and the run.
pub async fn run_host(
    pool: &SshPool,
    target: &Target,
    command: &str,
    timeout: Option<Duration>,
    cancel: &CancellationToken,
    output: mpsc::Sender<Output>,
) -> (HostOutcome, Duration) {
    let started = Instant::now();
    let connection = tokio::select! {
        c = pool.get(target) => c,
        () = cancel.cancelled() => return (HostOutcome::Cancelled, started.elapsed()),
    };
    let connection = match connection {
        Ok(c) => c,
        Err(error) => return (HostOutcome::Failed { error }, started.elapsed()),
    };
    match exec::run(&connection, command, &output, cancel, timeout).await {
        Ok((end, _)) => (HostOutcome::Ran { end }, started.elapsed()),
        Err(error) => {
            // The connection may be broken: the next run reconnects.
            pool.discard(target).await;
            (HostOutcome::Failed { error }, started.elapsed())
        }
    }
}
