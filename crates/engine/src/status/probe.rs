//! One probe of one VM: the probe command over the pooled connection (connecting first if
//! needed), its stdout read up to a bound, its round trip timed.

use super::model::ProbeError;
use crate::ssh::{run as exec_run, Output, RunEnd, SshPool, Target};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vmo_status::probe::{parse, COMMAND, MAX_OUTPUT};
use vmo_status::Reading;

/// How long the probe command may take once connected.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take, on top (the SSH connect timeout covers TCP only).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// What a host answered and how long the answer took.
pub type Answer = (Reading, Duration);

pub async fn probe(pool: &SshPool, target: &Target) -> Result<Answer, ProbeError> {
    let connection = tokio::time::timeout(CONNECT_TIMEOUT, pool.get(target))
        .await
        .map_err(|_| ProbeError {
            code: "timeout".into(),
            message: format!("no SSH session within {} s", CONNECT_TIMEOUT.as_secs()),
        })?
        .map_err(|e| ProbeError {
            code: e.kind.as_str().into(),
            message: e.message,
        })?;
    let (tx, mut rx) = mpsc::channel(8);
    let collect = async move {
        let mut out = Vec::new();
        while let Some(chunk) = rx.recv().await {
            if let Output::Stdout(data) = chunk {
                let room = MAX_OUTPUT.saturating_sub(out.len());
                out.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
        out
    };
    let cancel = CancellationToken::new();
    let run = async {
        let ran = exec_run(&connection, COMMAND, &tx, &cancel, Some(PROBE_TIMEOUT)).await;
        drop(tx);
        ran
    };
    let (ran, out) = tokio::join!(run, collect);
    let (end, took) = match ran {
        Ok(done) => done,
        Err(e) => {
            // The connection may be broken: the next probe reconnects.
            pool.discard(target).await;
            return Err(ProbeError {
                code: e.kind.as_str().into(),
                message: e.message,
            });
        }
    };
    if end == RunEnd::TimedOut {
        return Err(ProbeError {
            code: "timeout".into(),
            message: format!(
                "connected, but the status probe got no answer within {} s",
                PROBE_TIMEOUT.as_secs()
            ),
        });
    }
    // A host that answers but whose shell ran something else (a forced command, a menu)
    // is reachable all the same: it shows latency and nothing more.
    let reading = parse(&out).unwrap_or_else(|e| {
        tracing::debug!(target = %target.name, "status probe not understood: {e}");
        Reading::default()
    });
    Ok((reading, took))
}
