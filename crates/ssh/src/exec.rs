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
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How long a stopped command gets between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// How long the server has to show a sign of life once a stop begins (a reply to the kill
/// channel, or any message on the command's channel). One that says nothing (a hung
/// machine, a frozen sshd) is given up: the run ends at once, the connection is retired,
/// and the stop goes on in the background in case the server wakes.
const ANSWER_WITHIN: Duration = Duration::from_secs(1);

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
///
/// The timeout covers starting the command too: a server that does not even open a
/// session is given up when it expires, like one that hangs mid-run (see [`ANSWER_WITHIN`]).
pub async fn run(
    connection: &Arc<Connection>,
    command: &str,
    output: &mpsc::Sender<Output>,
    cancel: &CancellationToken,
    timeout: Option<Duration>,
) -> Result<(RunEnd, Duration), SshError> {
    let started = Instant::now();
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let who = connection.target_key.clone();
    let fail = |m: String| SshError::new(SshErrorKind::Protocol, m);
    let opened = tokio::select! {
        opened = connection.handle.channel_open_session() => opened,
        () = cancel.cancelled() => return Ok((RunEnd::Cancelled, started.elapsed())),
        () = until(deadline) => {
            // Nothing started: there is nothing to stop, only a server that does not answer.
            tracing::info!(target = %who, "no answer to opening a session before the timeout; giving up on this connection");
            connection.give_up();
            return Ok((RunEnd::TimedOut, started.elapsed()));
        }
    };
    let mut channel = opened.map_err(|e| fail(format!("cannot open a session on {who}: {e}")))?;
    let run_id = next_run_id();
    let mut status: Option<RunEnd> = None;
    let mut lost = false;
    let stop = tokio::select! {
        sent = channel.exec(true, wrap(command, &run_id)) => {
            sent.map_err(|e| fail(format!("cannot start the command on {who}: {e}")))?;
            follow(&mut channel, output, cancel, deadline, &mut status, &mut lost).await
        }
        // The command may have started: stop it as any other.
        () = cancel.cancelled() => Some(RunEnd::Cancelled),
        () = until(deadline) => Some(RunEnd::TimedOut),
    };
    let end = match stop {
        // The connection died under the command (sshd killed, connection reset): say so,
        // rather than blame the server for a channel closed without an exit status.
        None if lost && status.is_none() => {
            return Err(fail(
                "the connection was lost mid-run (the host went away or the network \
                 dropped it)"
                    .into(),
            ))
        }
        None => status.unwrap_or(RunEnd::Closed),
        Some(reason) => {
            stop_remote(connection.clone(), channel, run_id).await;
            reason
        }
    };
    Ok((end, started.elapsed()))
}

/// Passes the command's output on until its channel closes (None; `status` holds how it
/// ended, if the server said; `lost` that the connection went without a close) or it
/// must be stopped (why).
async fn follow(
    channel: &mut russh::Channel<russh::client::Msg>,
    output: &mpsc::Sender<Output>,
    cancel: &CancellationToken,
    deadline: Option<tokio::time::Instant>,
    status: &mut Option<RunEnd>,
    lost: &mut bool,
) -> Option<RunEnd> {
    loop {
        let msg = tokio::select! {
            msg = channel.wait() => msg,
            () = cancel.cancelled() => return Some(RunEnd::Cancelled),
            () = until(deadline) => return Some(RunEnd::TimedOut),
        };
        let delivered = match msg {
            Some(ChannelMsg::Close) => return None,
            // The session is gone without closing the channel: the connection broke.
            None => {
                *lost = true;
                return None;
            }
            Some(ChannelMsg::Data { data }) => output.send(Output::Stdout(data)).await.is_ok(),
            Some(ChannelMsg::ExtendedData { data, ext: 1 }) => {
                output.send(Output::Stderr(data)).await.is_ok()
            }
            Some(ChannelMsg::ExitStatus { exit_status }) => {
                *status = Some(RunEnd::Exited { code: exit_status });
                true
            }
            Some(ChannelMsg::ExitSignal {
                signal_name,
                core_dumped,
                ..
            }) => {
                *status = Some(RunEnd::Signaled {
                    signal: signal_label(&signal_name),
                    core_dumped,
                });
                true
            }
            Some(_) => true,
        };
        if !delivered {
            // Nobody reads the output any more: stop the command rather than run blind.
            return Some(RunEnd::Cancelled);
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
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
///
/// Waits for the stop only while the server answers: without a sign of life within
/// [`ANSWER_WITHIN`], the connection is given up and the stop finishes in the background.
async fn stop_remote(
    connection: Arc<Connection>,
    channel: russh::Channel<russh::client::Msg>,
    run_id: String,
) {
    let (alive, mut answered) = watch::channel(false);
    let mut stopping = tokio::spawn(stop_sequence(connection.clone(), channel, run_id, alive));
    // Ends early when the server answers, or when the sequence is over (sender dropped).
    let answered = tokio::time::timeout(ANSWER_WITHIN, answered.wait_for(|alive| *alive))
        .await
        .is_ok();
    if answered || stopping.is_finished() {
        let _ = (&mut stopping).await;
        return;
    }
    tracing::info!(
        target = %connection.target_key,
        "the server does not answer while its command is being stopped; giving up on this connection"
    );
    connection.give_up();
    // Dropping the handle detaches the task: the stop goes on without us.
}

/// The stop itself. Reports any sign of life from the server on `alive`; every wait is
/// bounded, so on a server that never answers it ends after about two grace periods.
async fn stop_sequence(
    connection: Arc<Connection>,
    channel: russh::Channel<russh::client::Msg>,
    run_id: String,
    alive: watch::Sender<bool>,
) {
    // Keep draining the command's output while stopping it: a full channel would stall the
    // whole connection, including the channel that carries the kill.
    let (mut output, control) = channel.split();
    for (signal, name) in [(Sig::TERM, "TERM"), (Sig::KILL, "KILL")] {
        if tokio::time::timeout(GRACE, control.signal(signal))
            .await
            .is_err()
        {
            tracing::debug!("cannot send {name} to the remote command: no room on the connection");
        }
        let kill = format!(
            "pids=$(grep -l -s -a -F '{RUN_ENV}={run_id}' /proc/[0-9]*/environ | cut -d/ -f3); \
             [ -z \"$pids\" ] || kill -{name} $pids 2>/dev/null; true"
        );
        let kill = run_quietly(&connection, &kill, &alive);
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
                msg = output.wait() => {
                    alive.send_replace(true);
                    match msg {
                        None | Some(ChannelMsg::Close | ChannelMsg::ExitStatus { .. } | ChannelMsg::ExitSignal { .. }) => break true,
                        Some(_) => {}
                    }
                }
                () = &mut grace => break false,
            }
        };
        if ended {
            break;
        }
    }
    let _ = tokio::time::timeout(GRACE, control.close()).await;
}

/// Runs a helper command on its own channel, ignoring its output; `alive` hears when the
/// server opened the channel.
async fn run_quietly(
    connection: &Connection,
    command: &str,
    alive: &watch::Sender<bool>,
) -> Result<(), russh::Error> {
    let mut channel = connection.handle.channel_open_session().await?;
    alive.send_replace(true);
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
