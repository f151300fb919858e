//! `vmo-bench-fleet N [SSHD_OPTION...]`: start N OpenSSH servers on 127.0.0.1 with
//! vmo-testkit, print where their client files are, and keep them running until stdin
//! closes or SIGINT/SIGTERM/SIGHUP arrives; then stop every sshd and delete the fleet
//! directory (what dropping the `Fleet` does).
//!
//! Output on stdout, one `KEY=VALUE` per line (shell-safe: paths are single-quoted), then
//! a final `READY` line:
//!
//! ```text
//! FLEET_DIR='/tmp/vmo-fleet.XXXX'
//! FLEET_SSH_CONFIG='/tmp/vmo-fleet.XXXX/ssh_config'
//! FLEET_KNOWN_HOSTS='/tmp/vmo-fleet.XXXX/known_hosts'
//! FLEET_CLIENT_KEY='/tmp/vmo-fleet.XXXX/id_ed25519'
//! FLEET_USER='root'
//! FLEET_HOSTS=N
//! FLEET_PORTS='p0 p1 ...'
//! READY
//! ```
//!
//! Used by `bench/run`; it has no tests of its own.

use std::io::{Read, Write};
use std::path::Path;
use std::process::ExitCode;

use tokio::signal::unix::{signal, SignalKind};
use vmo_testkit::Fleet;

/// Upper bound on the fleet size (each host is one sshd process and a few files).
const MAX_HOSTS: usize = 500;

fn quoted(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let hosts = match args.next().map(|n| n.parse::<usize>()) {
        Some(Ok(n)) if (1..=MAX_HOSTS).contains(&n) => n,
        _ => {
            eprintln!("usage: vmo-bench-fleet N [SSHD_OPTION...]   (1 <= N <= {MAX_HOSTS})");
            return ExitCode::from(2);
        }
    };
    let mut builder = Fleet::builder().hosts(hosts);
    for option in args {
        builder = builder.sshd_option(option);
    }

    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("vmo-bench-fleet: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        // Install the handlers before starting servers, so that a signal during start-up
        // still ends in a clean stop.
        let (Ok(mut int), Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) else {
            eprintln!("vmo-bench-fleet: cannot install signal handlers");
            return ExitCode::FAILURE;
        };

        let fleet = tokio::task::spawn_blocking(move || builder.start())
            .await
            .expect("vmo-bench-fleet: fleet start-up panicked");
        let ports: Vec<String> = fleet.hosts().iter().map(|h| h.port().to_string()).collect();
        let report = format!(
            "FLEET_DIR={}\nFLEET_SSH_CONFIG={}\nFLEET_KNOWN_HOSTS={}\nFLEET_CLIENT_KEY={}\n\
             FLEET_USER='{}'\nFLEET_HOSTS={}\nFLEET_PORTS='{}'\nREADY\n",
            quoted(fleet.dir()),
            quoted(fleet.ssh_config()),
            quoted(fleet.known_hosts()),
            quoted(fleet.client_key()),
            fleet.user(),
            fleet.hosts().len(),
            ports.join(" "),
        );
        let mut stdout = std::io::stdout().lock();
        // A reader that went away is not fatal: stdin still says when to stop.
        let _ = stdout.write_all(report.as_bytes());
        let _ = stdout.flush();
        drop(stdout);

        // Stdin is read on a plain thread: it blocks, and EOF is the normal way to stop.
        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::spawn(move || {
            let mut sink = [0u8; 4096];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            let _ = eof_tx.send(());
        });

        let why = tokio::select! {
            _ = eof_rx => "stdin closed",
            _ = int.recv() => "SIGINT",
            _ = term.recv() => "SIGTERM",
            _ = hup.recv() => "SIGHUP",
        };
        eprintln!(
            "vmo-bench-fleet: {why}; stopping {} sshd",
            fleet.hosts().len()
        );
        tokio::task::spawn_blocking(move || drop(fleet))
            .await
            .expect("vmo-bench-fleet: stopping the fleet panicked");
        ExitCode::SUCCESS
    })
}
