//! Running one command over a connection: stdout and stderr streamed as they arrive (raw
//! bytes), back-pressure through a bounded channel, and a real stop on cancel or timeout.

use super::connect::Connection;
use super::error::{SshError, SshErrorKind};
use russh::{ChannelMsg, Sig};
use serde::Serialize;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a stopped command gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Stdout(bytes::Bytes),
    Stderr(bytes::Bytes),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunEnd {
    /// The command exited with this status.
    Exited {
        code: u32,
    },
    /// The command was killed by a signal (e.g. "TERM", "KILL", "SEGV").
    Signaled {
        signal: String,
        core_dumped: bool,
    },
    /// The server closed the channel without saying how the command ended.
    Closed,
    TimedOut,
    Cancelled,
}

impl RunEnd {
    pub fn success(&self) -> bool {
        matches!(self, RunEnd::Exited { code: 0 })
    }
}

/// Runs `command`, sending its output to `output` (awaiting when it is full, which in turn
/// stops reading from the server: memory stays bounded whatever the output size).
pub async fn run(
    connection: &Connection,
    command: &str,
    output: &mpsc::Sender<Output>,
    cancel: &CancellationToken,
    timeout: Option<Duration>,
) -> Result<(RunEnd, Duration), SshError> {
    let started = Instant::now();
    let who = connection.target_key.clone();
    let fail = |m: String| SshError::new(SshErrorKind::Protocol, m);
    let mut channel = connection
        .handle
        .channel_open_session()
        .await
        .map_err(|e| fail(format!("cannot open a session on {who}: {e}")))?;
    channel
        .exec(true, command)
        .await
        .map_err(|e| fail(format!("cannot start the command on {who}: {e}")))?;
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut status: Option<RunEnd> = None;
    let stop: Option<RunEnd> = loop {
        let expired = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        let msg = tokio::select! {
            msg = channel.wait() => msg,
            () = cancel.cancelled() => break Some(RunEnd::Cancelled),
            () = expired => break Some(RunEnd::TimedOut),
        };
        let delivered = match msg {
            None | Some(ChannelMsg::Close) => break None,
            Some(ChannelMsg::Data { data }) => output.send(Output::Stdout(data)).await.is_ok(),
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                output.send(Output::Stderr(data)).await.is_ok()
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                status = Some(RunEnd::Exited { code: exit_status });
                true
            }
            Some(ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                ..
            }) => {
                status = Some(RunEnd::Signaled {
                    signal: signal_label(&signal_name),
                    core_dumped,
                });
                true
            }
            Some(_) => true,
        };
        if !delivered {
            // Nobody reads the output any more: stop the command rather than run blind.
            break Some(RunEnd::Cancelled);
        }
    };
    let end = match stop {
        None => status.unwrap_or(RunEnd::Closed),
        Some(reason) => {
            stop_remote(&mut channel).await;
            reason
        }
    };
    Ok((end, started.elapsed()))
}

/// SIGTERM (sshd delivers it to the command's whole process group), a grace period,
/// SIGKILL, then close the channel.
async fn stop_remote(channel: &mut russh::Channel<russh::client::Msg>) {
    for signal in [Sig::TERM, Sig::KILL] {
        if channel.signal(signal).await.is_err() {
            return;
        }
        let ended = tokio::time::timeout(GRACE, async {
            while let Some(msg) = channel.wait().await {
                if matches!(
                    msg,
                    ChannelMsg::Close
                        | ChannelMsg::ExitStatus { .. }
                        | ChannelMsg::ExitSignal { .. }
                ) {
                    return;
                }
            }
        })
        .await;
        if ended.is_ok() {
            break;
        }
    }
    let _ = channel.close().await;
}

fn signal_label(sig: &Sig) -> String {
    match sig {
        Sig::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    }
}
