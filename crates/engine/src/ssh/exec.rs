//! Running one command over a connection: stdout and stderr streamed as they arrive (raw
//! bytes), back-pressure through a bounded channel, and a real stop on cancel or timeout.
//!
//! The command runs in the user's login shell (`$SHELL -c`), as with `ssh host cmd`, with
//! `VMO_RUN_ID` in its environment to find and stop it. Login shells are assumed
//! POSIX-like, and stopping by marker needs Linux's /proc on the server.

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
    let run_id = next_run_id();
    channel
        .exec(true, wrap(command, &run_id))
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
            stop_remote(connection, channel, &run_id).await;
            reason
        }
    };
    Ok((end, started.elapsed()))
}

/// The user's command as sshd runs it (in the user's own shell), with a run marker put
/// in its environment first. Every process it starts inherits the marker (even through
/// `exec`), so they can all be found again to stop them. The command follows on its own
/// line, verbatim: no second shell to start, no quoting to get wrong.
fn wrap(command: &str, run_id: &str) -> String {
    format!("export {RUN_ENV}={run_id}\n{command}")
}

const RUN_ENV: &str = "VMO_RUN_ID";

/// Unique per run; the trailing `.` keeps one id from being a prefix of another.
fn next_run_id() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("vmo-{:x}-{nanos:x}-{n:x}.", std::process::id())
}

/// Stops the command and everything it started: SIGTERM, a grace period, SIGKILL, then
/// close the channel. The signal goes two ways: the SSH `signal` request (sshd refuses it
/// for root logins, which run without privilege separation), and `kill` from a second
/// channel to every process carrying the run marker in its environment.
async fn stop_remote(
    connection: &Connection,
    channel: russh::Channel<russh::client::Msg>,
    run_id: &str,
) {
    // Keep draining the command's output while stopping it: a full channel would stall the
    // whole connection, including the channel that carries the kill.
    let (mut output, control) = channel.split();
    for (signal, name) in [(Sig::TERM, "TERM"), (Sig::KILL, "KILL")] {
        let _ = control.signal(signal).await;
        let kill = format!(
            "pids=$(grep -l -s -a -F '{RUN_ENV}={run_id}' /proc/[0-9]*/environ | cut -d/ -f3); \
             [ -z \"$pids\" ] || kill -{name} $pids 2>/dev/null; true"
        );
        let kill = run_quietly(connection, &kill);
        tokio::pin!(kill);
        let mut kill_sent = false;
        let grace = tokio::time::sleep(GRACE);
        tokio::pin!(grace);
        let ended = loop {
            tokio::select! {
                sent = &mut kill, if !kill_sent => {
                    kill_sent = true;
                    if let Err(err) = sent {
                        tracing::debug!("cannot send {name} to the remote command: {err}");
                    }
                }
                msg = output.wait() => match msg {
                    None | Some(ChannelMsg::Close | ChannelMsg::ExitStatus { .. } | ChannelMsg::ExitSignal { .. }) => break true,
                    Some(_) => {}
                },
                () = &mut grace => break false,
            }
        };
        if ended {
            break;
        }
    }
    let _ = control.close().await;
}

/// Runs a helper command on its own channel, ignoring its output.
async fn run_quietly(connection: &Connection, command: &str) -> Result<(), russh::Error> {
    let mut channel = connection.handle.channel_open_session().await?;
    channel.exec(true, command).await?;
    while let Some(msg) = channel.wait().await {
        if matches!(msg, ChannelMsg::Close) {
            break;
        }
    }
    Ok(())
}

fn signal_label(sig: &Sig) -> String {
    match sig {
        Sig::Custom(name) => name.clone(),
        other => format!("{other:?}"),
    }
}
