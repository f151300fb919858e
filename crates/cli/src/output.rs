//! Printing what hosts said: streamed as `NAME: line`, grouped by identical output, or as
//! JSON. Output is bytes: printed as received, never assumed to be UTF-8.

use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use vmo_engine::ssh::{HostOutcome, HostResult, Output, RunEnd, SshErrorKind};

/// A line longer than this is printed in pieces rather than held in memory.
const MAX_LINE: usize = 64 * 1024;

/// Output waiting to be written is flushed at this size, or when no more is pending.
const FLUSH_AT: usize = 256 * 1024;

/// Splits each host's streams into lines and prints them with the host's name. Lines are
/// gathered into one buffer per stream and written in large pieces: a write per line costs
/// more than the SSH transfer itself.
pub struct LinePrinter {
    names: Vec<String>,
    partial: Vec<[Vec<u8>; 2]>,
    pending: [Vec<u8>; 2],
    /// Per stream (stdout, stderr): printed to a terminal, so made safe to show.
    terminal: [bool; 2],
}

impl LinePrinter {
    pub fn new(names: Vec<String>, terminal: [bool; 2]) -> Self {
        let partial = names.iter().map(|_| [Vec::new(), Vec::new()]).collect();
        Self {
            names,
            partial,
            pending: [Vec::new(), Vec::new()],
            terminal,
        }
    }

    pub fn output(&mut self, index: usize, output: &Output) {
        let (stream, data) = match output {
            Output::Stdout(d) => (0, d),
            Output::Stderr(d) => (1, d),
        };
        let name = &self.names[index];
        let terminal = self.terminal[stream];
        let buffer = &mut self.partial[index][stream];
        let pending = &mut self.pending[stream];
        buffer.extend_from_slice(data);
        let mut start = 0;
        while let Some(pos) = buffer[start..].iter().position(|b| *b == b'\n') {
            push_line(pending, name, &buffer[start..start + pos], terminal);
            start += pos + 1;
        }
        buffer.drain(..start);
        if buffer.len() > MAX_LINE {
            push_line(pending, name, buffer, terminal);
            buffer.clear();
        }
        if pending.len() >= FLUSH_AT {
            self.flush();
        }
    }

    /// Prints what is left of a host's last line, then its outcome if it failed.
    pub fn finish(&mut self, result: &HostResult) {
        for stream in 0..2 {
            let rest = std::mem::take(&mut self.partial[result.index][stream]);
            if !rest.is_empty() {
                let terminal = self.terminal[stream];
                push_line(
                    &mut self.pending[stream],
                    &self.names[result.index],
                    &rest,
                    terminal,
                );
            }
        }
        self.flush();
        if !result.outcome.success() {
            eprintln!("{}: [{}]", result.name, describe(&result.outcome));
        }
    }

    /// Writes everything gathered so far.
    pub fn flush(&mut self) {
        let [out, err] = &mut self.pending;
        if !out.is_empty() {
            exit_if_closed(std::io::stdout().lock().write_all(out));
            out.clear();
        }
        if !err.is_empty() {
            let _ = std::io::stderr().lock().write_all(err);
            err.clear();
        }
    }
}

/// `name: line`; for a terminal, the line in its display form: colours kept, every other
/// escape sequence dropped, controls as symbols (invalid UTF-8 as U+FFFD).
fn push_line(pending: &mut Vec<u8>, name: &str, line: &[u8], terminal: bool) {
    pending.extend_from_slice(name.as_bytes());
    pending.extend_from_slice(b": ");
    if terminal {
        let text = String::from_utf8_lossy(line);
        pending.extend_from_slice(vmo_engine::jobs::log::ansi::for_terminal(&text).as_bytes());
    } else {
        pending.extend_from_slice(line);
    }
    pending.push(b'\n');
}

/// A closed stdout (`vmo exec ... | head`) is not worth a panic, nor worth running on
/// with nobody reading: exit as a process killed by SIGPIPE would (128 + 13). As with
/// `ssh host cmd | head`, the dropped connections make remote commands that keep writing
/// get SIGPIPE too.
fn exit_if_closed(written: std::io::Result<()>) {
    if let Err(err) = written {
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
    }
}

/// What `vmo` suggests after an SSH error of this kind (`SshErrorKind::as_str`). The engine's
/// messages name no front end's options; the terminal's advice is ours to give.
pub fn advice(kind: &str) -> &'static str {
    if kind == SshErrorKind::HostKeyUnknown.as_str() {
        "; use --accept-new, or check the fingerprint and add it to known_hosts"
    } else {
        ""
    }
}

/// `exit 3`, `killed by TERM`, `timed out`, `unreachable (refused): ...`.
pub fn describe(outcome: &HostOutcome) -> String {
    match outcome {
        HostOutcome::Ran { end } => match end {
            RunEnd::Exited { code } => format!("exit {code}"),
            RunEnd::Signaled { signal, .. } => format!("killed by {signal}"),
            RunEnd::Closed => "closed without an exit status".into(),
            RunEnd::TimedOut => "timed out; stopped".into(),
            RunEnd::Cancelled => "cancelled; stopped".into(),
        },
        HostOutcome::Failed { error } if error.kind.is_unreachable() => {
            format!("unreachable ({}): {}", error.kind.as_str(), error.message)
        }
        HostOutcome::Failed { error } => format!(
            "{}: {}{}",
            error.kind.as_str(),
            error.message,
            advice(error.kind.as_str())
        ),
        HostOutcome::Cancelled => "cancelled before it started".into(),
        HostOutcome::Skipped { reason } => format!("skipped: {reason}"),
    }
}

/// What one host said, kept for `--group` and `--json`: at most `cap` bytes (the job's
/// output cap), so a host that never stops talking cannot exhaust the memory; what comes
/// after is dropped and `truncated` says so.
#[derive(Clone)]
pub struct Collected {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub truncated: bool,
    cap: u64,
}

impl Collected {
    pub fn with_cap(cap: u64) -> Self {
        Self {
            stdout: Vec::new(),
            stderr: Vec::new(),
            truncated: false,
            cap,
        }
    }

    pub fn add(&mut self, output: &Output) {
        let kept = (self.stdout.len() + self.stderr.len()) as u64;
        let room = usize::try_from(self.cap.saturating_sub(kept)).unwrap_or(usize::MAX);
        let (buffer, data) = match output {
            Output::Stdout(d) => (&mut self.stdout, d),
            Output::Stderr(d) => (&mut self.stderr, d),
        };
        buffer.extend_from_slice(&data[..data.len().min(room)]);
        self.truncated |= data.len() > room;
    }
}

/// What makes two hosts' results the same: stdout, stderr, whether they were cut, and (for
/// failures) the outcome. Borrowed: the output is not copied to be compared.
type GroupKey<'a> = (&'a [u8], &'a [u8], bool, String);

/// Hosts with identical stdout, stderr and outcome, printed once with all their names;
/// to a `terminal`, each line in its display form (see [`push_line`]).
pub fn print_grouped(results: &[HostResult], collected: &[Collected], terminal: bool) {
    let mut groups: BTreeMap<GroupKey<'_>, Vec<&str>> = BTreeMap::new();
    for result in results {
        let c = &collected[result.index];
        let status = if result.outcome.success() {
            String::new()
        } else {
            describe(&result.outcome)
        };
        groups
            .entry((&c.stdout, &c.stderr, c.truncated, status))
            .or_default()
            .push(&result.name);
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(_, names)| std::cmp::Reverse(names.len()));
    let mut out = std::io::stdout().lock();
    for ((stdout, stderr, truncated, status), names) in groups {
        let header = format!("{} ({})", names.join(","), names.len());
        let rule = "-".repeat(header.len().min(78));
        let _ = writeln!(out, "{rule}\n{header}\n{rule}");
        write_output(&mut out, stdout, terminal);
        if !stderr.is_empty() {
            let _ = writeln!(out, "[stderr]");
            write_output(&mut out, stderr, terminal);
        }
        if truncated {
            let _ = writeln!(
                out,
                "[output cut at the job's output cap; the rest was not kept]"
            );
        }
        if !status.is_empty() {
            let _ = writeln!(out, "[{status}]");
        }
    }
}

/// A host's output, ended by a line break; to a terminal, line by line in display form.
fn write_output(out: &mut impl Write, output: &[u8], terminal: bool) {
    if terminal {
        for line in output.split_inclusive(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            let text = String::from_utf8_lossy(line);
            let _ = writeln!(out, "{}", vmo_engine::jobs::log::ansi::for_terminal(&text));
        }
        return;
    }
    let _ = out.write_all(output);
    if !output.is_empty() && !output.ends_with(b"\n") {
        let _ = writeln!(out);
    }
}

#[derive(Serialize)]
struct JsonHost<'a> {
    name: &'a str,
    ok: bool,
    /// The exit code, when the command exited.
    exit_code: Option<u32>,
    signal: Option<&'a str>,
    /// `exited`, `signaled`, `closed`, `timed_out`, `cancelled`, or the SSH error kind.
    status: &'a str,
    error: Option<&'a str>,
    stdout: String,
    stderr: String,
    /// False when stdout or stderr held bytes that are not UTF-8 (shown as U+FFFD).
    utf8: bool,
    /// True when the output went past the job's output cap: the rest was not kept.
    truncated: bool,
    duration_ms: u64,
}

pub fn print_json(result: &HostResult, collected: &Collected) {
    let (exit_code, signal, status, error) = match &result.outcome {
        HostOutcome::Ran { end } => match end {
            RunEnd::Exited { code } => (Some(*code), None, "exited", None),
            RunEnd::Signaled { signal, .. } => (None, Some(signal.as_str()), "signaled", None),
            RunEnd::Closed => (None, None, "closed", None),
            RunEnd::TimedOut => (None, None, "timed_out", None),
            RunEnd::Cancelled => (None, None, "cancelled", None),
        },
        HostOutcome::Failed { error } => (
            None,
            None,
            error.kind.as_str(),
            Some(error.message.as_str()),
        ),
        HostOutcome::Cancelled => (None, None, "cancelled", None),
        HostOutcome::Skipped { reason } => (None, None, "skipped", Some(reason.as_str())),
    };
    let utf8 = std::str::from_utf8(&collected.stdout).is_ok()
        && std::str::from_utf8(&collected.stderr).is_ok();
    let host = JsonHost {
        name: &result.name,
        ok: result.outcome.success(),
        exit_code,
        signal,
        status,
        error,
        stdout: String::from_utf8_lossy(&collected.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&collected.stderr).into_owned(),
        utf8,
        truncated: collected.truncated,
        duration_ms: result.duration.as_millis() as u64,
    };
    if let Ok(line) = serde_json::to_string(&host) {
        exit_if_closed(writeln!(std::io::stdout(), "{line}"));
    }
}
