//! The app's own logs: stderr and a daily file in the log directory; level from RUST_LOG
//! (default `info`).

use std::path::Path;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::{fmt, prelude::*, EnvFilter};

/// Keep the guard alive for the life of the app, or the file loses its last lines.
pub fn init(log_dir: &Path) -> Option<WorkerGuard> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let stderr = fmt::layer().with_writer(std::io::stderr);
    let (file, guard) = match vmo_engine::paths::create_private_dir(log_dir) {
        Ok(()) => {
            let appender = tracing_appender::rolling::daily(log_dir, "vm-orchestrator.log");
            let (writer, guard) = tracing_appender::non_blocking(appender);
            (
                Some(fmt::layer().with_ansi(false).with_writer(writer)),
                Some(guard),
            )
        }
        Err(err) => {
            eprintln!("cannot create log directory {}: {err}", log_dir.display());
            (None, None)
        }
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(file)
        .try_init();
    guard
}
