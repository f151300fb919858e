//! Suggestions for a parameter from the target itself: its suggest command run over the
//! SSH pool with a timeout, output lines as choices, kept a while per (VM, command) so a
//! form that reopens does not ask the host again.

use crate::error::{EngineError, ErrorCode};
use crate::ssh::{run_host, HostOutcome, Output, RunEnd, Ssh, Target};
use crate::vm::VmId;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a suggest command may take.
pub const SUGGEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long its answer is reused.
pub const SUGGEST_TTL: Duration = Duration::from_secs(60);
/// Suggestions kept per answer, and output read.
const MAX_CHOICES: usize = 5000;
const MAX_OUTPUT: usize = 1 << 20;
/// Answers cached at most (the oldest goes first).
const MAX_CACHED: usize = 256;

/// A parameter's choices as a host gave them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestions {
    /// Distinct non-empty lines, in the order the command printed them.
    pub choices: Vec<String>,
    /// The VM that answered.
    pub vm: String,
    /// Answered from the cache (within [`SUGGEST_TTL`]) rather than by running it.
    pub cached: bool,
}

struct Cached {
    at: Instant,
    choices: Vec<String>,
}

#[derive(Clone)]
pub(crate) struct Suggester {
    cache: Arc<Mutex<HashMap<(VmId, String), Cached>>>,
    timeout: Arc<Mutex<Duration>>,
    ttl: Arc<Mutex<Duration>>,
}

impl Suggester {
    pub fn new() -> Self {
        Self {
            cache: Arc::default(),
            timeout: Arc::new(Mutex::new(SUGGEST_TIMEOUT)),
            ttl: Arc::new(Mutex::new(SUGGEST_TTL)),
        }
    }

    pub fn set_limits(&self, timeout: Duration, ttl: Duration) {
        *lock(&self.timeout) = timeout;
        *lock(&self.ttl) = ttl;
    }

    pub async fn suggest(
        &self,
        ssh: &Ssh,
        vm: VmId,
        target: Target,
        command: &str,
    ) -> Result<Suggestions, EngineError> {
        let key = (vm, command.to_string());
        let ttl = *lock(&self.ttl);
        if let Some(hit) = lock(&self.cache).get(&key).filter(|c| c.at.elapsed() < ttl) {
            return Ok(Suggestions {
                choices: hit.choices.clone(),
                vm: target.name.clone(),
                cached: true,
            });
        }
        let timeout = *lock(&self.timeout);
        let choices = run(ssh, &target, command, timeout).await?;
        let mut cache = lock(&self.cache);
        cache.retain(|_, c| c.at.elapsed() < ttl);
        if cache.len() >= MAX_CACHED {
            if let Some(oldest) = cache
                .iter()
                .min_by_key(|(_, c)| c.at)
                .map(|(k, _)| k.clone())
            {
                cache.remove(&oldest);
            }
        }
        cache.insert(
            key,
            Cached {
                at: Instant::now(),
                choices: choices.clone(),
            },
        );
        Ok(Suggestions {
            choices,
            vm: target.name,
            cached: false,
        })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn run(
    ssh: &Ssh,
    target: &Target,
    command: &str,
    timeout: Duration,
) -> Result<Vec<String>, EngineError> {
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let collect = async {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(chunk) = rx.recv().await {
            let (buf, data) = match chunk {
                Output::Stdout(d) => (&mut out, d),
                Output::Stderr(d) => (&mut err, d),
            };
            let room = MAX_OUTPUT.saturating_sub(buf.len());
            buf.extend_from_slice(&data[..data.len().min(room)]);
        }
        (out, err)
    };
    let run = run_host(ssh.pool(), target, command, Some(timeout), &cancel, tx);
    let ((outcome, _), (out, err)) = tokio::join!(run, collect);
    let name = &target.name;
    let failed = |why: String| {
        EngineError::new(
            ErrorCode::Ssh,
            format!("the suggest command failed on {name}: {why}"),
        )
    };
    match outcome {
        HostOutcome::Ran {
            end: RunEnd::Exited { code: 0 },
        } => {}
        HostOutcome::Ran {
            end: RunEnd::TimedOut,
        } => {
            return Err(failed(format!(
                "no answer within {} s",
                timeout.as_secs_f64()
            )))
        }
        HostOutcome::Ran { end } => {
            let how = match end {
                RunEnd::Exited { code } => format!("exit status {code}"),
                RunEnd::Signaled { signal, .. } => format!("killed by {signal}"),
                other => format!("{other:?}").to_lowercase(),
            };
            let stderr = String::from_utf8_lossy(&err);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            return Err(failed(if first.is_empty() {
                how
            } else {
                format!("{how}: {}", first.trim())
            }));
        }
        HostOutcome::Failed { error } => return Err(failed(error.message)),
        HostOutcome::Cancelled | HostOutcome::Skipped { .. } => {
            return Err(failed("it did not run".into()))
        }
    }
    let text = String::from_utf8_lossy(&out);
    let mut seen = std::collections::HashSet::new();
    let choices: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && seen.insert(l.to_string()))
        .take(MAX_CHOICES)
        .map(str::to_string)
        .collect();
    // A pipeline's status is its last command's: `systemctl … | awk …` "succeeds" with
    // nothing on a host without systemd. Nothing to offer plus a complaint is a failure.
    let stderr = String::from_utf8_lossy(&err);
    match stderr.lines().map(str::trim).find(|l| !l.is_empty()) {
        Some(complaint) if choices.is_empty() => {
            Err(failed(format!("no choices; it said: {complaint}")))
        }
        _ => Ok(choices),
    }
}
