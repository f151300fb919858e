//! Output flows through bounded buffers: a reader that stops reading holds the server back
//! instead of growing this process. A test binary of its own, so that the memory it
//! measures (this process's peak resident size, `VmHWM`) is this test's alone.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use vmo_ssh::{run, AuthMethod, NoSecrets, Output, RunEnd, Ssh, SshSettings, Target};
use vmo_testkit::Fleet;

/// `seq 1 5000000` prints 38,888,896 bytes.
const TOTAL: u64 = 38_888_896;
/// At most this much may be on its way (written by `seq`, not yet read by us) while the
/// reader is stopped: SSH windows, sshd's and russh's buffers, our channel. Whole output
/// buffered would be all of it.
const IN_FLIGHT_LIMIT: u64 = 8 << 20;
/// At most this much may this process grow by, reading all of it. Whole output buffered
/// would be at least `TOTAL`.
const GROWTH_LIMIT_KB: u64 = 8 << 10;

fn ssh_and_target(fleet: &Fleet) -> (Ssh, Target) {
    let settings = SshSettings {
        known_hosts: fleet.known_hosts().to_path_buf(),
        accept_new: false,
        connect_timeout: Duration::from_secs(5),
        keepalive: Duration::from_secs(30),
        idle_expiry: Duration::from_secs(300),
        agent_socket: None,
    };
    let host = &fleet.hosts()[0];
    let target = Target {
        auth: AuthMethod::KeyFile,
        key_file: Some(fleet.client_key().to_path_buf()),
        ..Target::direct(host.name(), "127.0.0.1", host.port(), &fleet.user())
    };
    (Ssh::new(&settings, Arc::new(NoSecrets)), target)
}

/// A field of /proc/self/status, in kB.
fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

/// Bytes the process has written so far (`wchar` of /proc/PID/io); None once it is gone.
fn written(pid: &str) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar: "))
        .and_then(|v| v.trim().parse().ok())
}

async fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `seq` stops writing (no progress for 500 ms): held back by the reader that
/// does not read. Returns how much it wrote by then. Fails if it finishes instead.
async fn wait_until_held_back(pid: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = 0;
    let mut still_since = Instant::now();
    loop {
        let Some(now) = written(pid) else {
            panic!(
                "seq finished (last seen at {last} of {TOTAL} bytes) while nobody read: \
                 its output was taken in whole"
            );
        };
        if now != last {
            last = now;
            still_since = Instant::now();
        } else if still_since.elapsed() >= Duration::from_millis(500) {
            return now;
        }
        assert!(Instant::now() < deadline, "seq never stopped writing");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn large_output_streams_in_order_with_bounded_buffers() {
    let fleet = Fleet::start(1);
    let (ssh, target) = ssh_and_target(&fleet);
    let conn = ssh.pool().get(&target).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("seq.pid");
    // `exec`: the shell becomes seq, so the PID written is the writer's.
    let command = format!("echo $$ > {}; exec seq 1 5000000", pid_file.display());
    let before_kb = status_kb("VmRSS");

    // A reader on a tiny channel that does not read until told to.
    let (tx, mut rx) = mpsc::channel(2);
    let go = Arc::new(Notify::new());
    let reader = tokio::spawn({
        let go = go.clone();
        async move {
            go.notified().await;
            let (mut total, mut lines, mut last) = (0u64, 0usize, Vec::new());
            while let Some(Output::Stdout(d)) = rx.recv().await {
                total += d.len() as u64;
                lines += d.iter().filter(|b| **b == b'\n').count();
                last = d.to_vec();
            }
            (total, lines, last)
        }
    });
    let running =
        tokio::spawn(
            async move { run(&conn, &command, &tx, &CancellationToken::new(), None).await },
        );

    // While nobody reads, the server is held back: little of the output is on its way.
    let pid = wait_for_file(&pid_file).await;
    let in_flight = wait_until_held_back(&pid).await;
    let held_kb = status_kb("VmRSS");
    println!(
        "held back after {:.1} MiB of {:.1} MiB; this process grew by {:.1} MiB",
        in_flight as f64 / 1048576.0,
        TOTAL as f64 / 1048576.0,
        held_kb.saturating_sub(before_kb) as f64 / 1024.0
    );
    assert!(
        in_flight < IN_FLIGHT_LIMIT,
        "{in_flight} bytes written while nobody read"
    );

    // Then everything arrives, in order, and this process never grew by much.
    go.notify_one();
    let (end, _) = running.await.unwrap().unwrap();
    let (total, lines, last) = reader.await.unwrap();
    let growth_kb = status_kb("VmHWM").saturating_sub(before_kb);
    println!(
        "peak growth over the whole run: {:.1} MiB",
        growth_kb as f64 / 1024.0
    );
    assert_eq!(end, RunEnd::Exited { code: 0 });
    assert_eq!(lines, 5_000_000);
    assert_eq!(total, TOTAL, "every byte of seq 1 5000000");
    assert!(last.ends_with(b"5000000\n"), "order kept to the end");
    assert!(
        growth_kb < GROWTH_LIMIT_KB,
        "this process grew by {growth_kb} kB for {TOTAL} bytes of output"
    );
}
