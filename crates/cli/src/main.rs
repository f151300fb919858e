//! `vmo`: the headless front end. Same engine, same data directory as the desktop app.

mod args;
mod demo;
mod exec;
mod job;
mod output;
mod profile;
mod select;
mod status;
mod template;
mod vm;

use anyhow::Context as _;
use args::{Cli, Command};
use clap::Parser;
use std::process::ExitCode;
use std::sync::Arc;
use vmo_engine::ssh::{KeyringSecrets, SshSettings, KEYRING_SERVICE};
use vmo_engine::{Engine, EngineError, ErrorCode, Paths, Profiles};

/// The terminal is for what the user asked: vmo's own warnings show, libraries (sqlx,
/// russh, ...) speak only of errors. `RUST_LOG` overrides it.
const QUIET_LOGS: &str = "error,vmo=warn,vmo_engine=warn,vmo_ssh=warn,vmo_joblog=warn";

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(QUIET_LOGS)),
        )
        .with_writer(std::io::stderr)
        .init();
    vmo_engine::keep_files_private();
    vmo_engine::raise_open_file_limit();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(err) => {
            eprintln!("vmo: cannot start: {err}");
            return ExitCode::from(2);
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("vmo: {err:#}");
            ExitCode::from(2)
        }
    };
    // Dropping the runtime would wait for every blocking task, and a keyring call stuck
    // on an unlock prompt nobody answers never returns: vmo would hang after its answer.
    runtime.shutdown_background();
    code
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let root = match &cli.data_dir {
        Some(dir) => Paths::new(dir),
        None => Paths::from_env()?,
    };
    let profiles = Profiles::new(&root);
    if let Command::Profile(command) = &cli.command {
        return profile::run(&profiles, command);
    }
    let paths = match (&cli.command, &cli.profile) {
        // The demo fleet lives in its own profile, whatever --profile says.
        (Command::Demo(_), _) => vmo_engine::demo::demo_paths(&root)?,
        (_, Some(name)) => profiles.open(name)?,
        (_, None) => root,
    };
    // The app's settings file: job defaults, the global limit, the output cap.
    let app_settings = vmo_engine::Settings::load_from_store_file(&paths.settings_file());
    let mut settings = paths.ssh_settings(SshSettings::from_env());
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
    engine.apply_settings(app_settings)?;
    let database = engine.paths().database_file();
    let ran = match cli.command {
        Command::Vm(command) => vm::run(&engine, command, cli.ssh_config).await,
        Command::Exec(args) => exec::run(&engine, args).await,
        Command::Status(args) => status::run(&engine, args).await,
        Command::Job(command) => job::run(&engine, command).await,
        Command::Profile(command) => profile::run(&profiles, &command),
        Command::Demo(command) => demo::run(&engine, command).await,
        Command::Template(command) => template::run(&engine, command).await,
        Command::History { json, limit } => template::history(&engine, json, limit).await,
    };
    ran.map_err(|err| name_the_database(err, &database))
}

/// A database found locked mid-command does not know its file; the user needs to.
fn name_the_database(err: anyhow::Error, file: &std::path::Path) -> anyhow::Error {
    match err.downcast_ref::<EngineError>() {
        Some(locked) if locked.code == ErrorCode::DatabaseLocked => {
            anyhow::Error::new(locked.clone().in_database(file))
        }
        _ => err,
    }
}
