//! `vmo profile list|create`: the profiles of the data directory.

use crate::args::ProfileCommand;
use std::process::ExitCode;
use vmo_engine::Profiles;

pub fn run(profiles: &Profiles, command: &ProfileCommand) -> anyhow::Result<ExitCode> {
    match command {
        ProfileCommand::List { json } => {
            let names = profiles.list();
            if *json {
                println!("{}", serde_json::to_string(&names)?);
            } else {
                for name in names {
                    println!("{name}");
                }
            }
        }
        ProfileCommand::Create { name } => {
            let paths = profiles.create(name)?;
            println!(
                "created profile {} in {}",
                paths.profile(),
                paths.data_dir().display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
