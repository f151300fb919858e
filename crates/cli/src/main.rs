//! `vmo`: the headless front end. Same engine, same data directory as the desktop app.

mod args;
mod exec;
mod job;
mod output;
mod select;
mod vm;

use anyhow::Context as _;
use args::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use vmo_engine::ssh::{KeyringSecrets, SshSettings, KEYRING_SERVICE};
use vmo_engine::{Engine, Paths};

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(err) => {
            eprintln!("vmo: cannot start: {err}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("vmo: {err:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let paths = match &cli.data_dir {
        Some(dir) => Paths::new(dir),
        None => Paths::from_env()?,
    };
    let mut settings = SshSettings::from_env();
    if let Some(file) = &cli.known_hosts {
        settings.known_hosts = file.clone();
    }
    settings.accept_new = cli.accept_new;
    // Passwords and passphrases come from the OS keyring, where the desktop app keeps them.
    let engine = Engine::open_with(
        paths,
        &settings,
        Arc::new(KeyringSecrets::new(KEYRING_SERVICE)),
    )
    .await
    .context("cannot open the inventory")?;
    match cli.command {
        Command::Vm(command) => vm::run(&engine, command, cli.ssh_config).await,
        Command::Exec(args) => exec::run(&engine, args).await,
        Command::Job(command) => job::run(&engine, command).await,
    }
}
