//! `vmo demo up|down`: the demo fleet (local OpenSSH servers in the `demo` profile) to
//! try everything without a real machine.

use std::process::ExitCode;
use vmo_engine::demo::{self, Owner, DEMO_PROFILE};
use vmo_engine::Engine;

#[derive(Debug, clap::Subcommand)]
pub enum DemoCommand {
    /// Start local OpenSSH servers on 127.0.0.1 and register them as VMs tagged `demo` in
    /// the `demo` profile, host keys trusted. They run until `vmo demo down`.
    Up {
        #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=demo::MAX_HOSTS as i64))]
        hosts: u16,
    },
    /// Stop the demo servers (and every session on them) and remove their VMs.
    Down,
}

/// `engine` is the demo profile's.
pub async fn run(engine: &Engine, command: DemoCommand) -> anyhow::Result<ExitCode> {
    match command {
        DemoCommand::Up { hosts } => {
            let fleet = demo::up(engine, usize::from(hosts), Owner::Cli).await?;
            println!(
                "Started {} demo servers in profile {DEMO_PROFILE}:",
                fleet.hosts.len()
            );
            for host in &fleet.hosts {
                println!("  {}  127.0.0.1:{}", host.name, host.port);
            }
            println!("Try: vmo --profile {DEMO_PROFILE} exec --all -- uname -a");
            println!("Stop them with: vmo demo down");
        }
        DemoCommand::Down => {
            let stopped = demo::down(engine).await?;
            println!("Stopped {stopped} demo servers.");
        }
    }
    Ok(ExitCode::SUCCESS)
}
