//! `vmo vm ...`: the inventory, and connection tests.

use crate::args::VmCommand;
use crate::select::select;
use anyhow::{bail, Context as _};
use std::path::PathBuf;
use std::process::ExitCode;
use vmo_engine::resolve_target;
use vmo_engine::{AuthMethod, Engine, ImportSource, Paths, VmDraft};

pub async fn run(
    engine: &Engine,
    command: VmCommand,
    ssh_config: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let inventory = engine.inventory();
    match command {
        VmCommand::List { json } => {
            let vms = inventory.list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&vms)?);
            } else if vms.is_empty() {
                eprintln!("no VMs; add one with `vmo vm add` or `vmo vm import-ssh-config`");
            } else {
                let width = vms.iter().map(|vm| vm.name.len()).max().unwrap_or(4).max(4);
                println!("{:width$}  {:32}  {:10}  TAGS", "NAME", "ADDRESS", "AUTH");
                for vm in vms {
                    let address = match &vm.jump_host {
                        Some(jump) => format!("{} via {jump}", vm.address()),
                        None => vm.address(),
                    };
                    println!(
                        "{:width$}  {:32}  {:10}  {}",
                        vm.name,
                        address,
                        vm.auth.as_str(),
                        vm.tags.join(",")
                    );
                }
            }
        }
        VmCommand::Add {
            name,
            host,
            port,
            user,
            key,
            jump,
            tags,
        } => {
            let draft = VmDraft {
                name,
                host,
                port,
                user,
                auth: if key.is_some() {
                    AuthMethod::KeyFile
                } else {
                    AuthMethod::Agent
                },
                key_file: key,
                jump_host: jump,
                tags,
                notes: String::new(),
            };
            let vm = inventory.create(draft).await.map_err(field_errors)?;
            println!("added {} ({})", vm.name, vm.address());
        }
        VmCommand::Rm { names } => {
            let mut ids = Vec::new();
            for name in &names {
                ids.push(inventory.find_by_name(name).await?.id);
            }
            inventory.delete(&ids).await?;
            println!("removed {}", names.join(", "));
        }
        VmCommand::ImportSshConfig { file } => {
            let file = file
                .or(ssh_config)
                .or_else(Paths::default_ssh_config)
                .context("no home directory for ~/.ssh/config")?;
            import(engine, ImportSource::SshConfig, &file).await?;
        }
        VmCommand::ImportAnsible { file } => {
            import(engine, ImportSource::Ansible, &file).await?;
        }
        VmCommand::ExportAnsible { tag, output } => {
            let yaml = inventory.export_ansible(tag.as_deref()).await?;
            match output {
                Some(path) => {
                    std::fs::write(&path, yaml)
                        .with_context(|| format!("cannot write {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{yaml}"),
            }
        }
        VmCommand::Test {
            select: which,
            json,
        } => {
            let mut names = which.names.clone();
            names.extend(which.vms.iter().cloned());
            let vms = select(engine, &names, &which.tags, which.all).await?;
            if vms.is_empty() {
                bail!("the inventory is empty");
            }
            let everyone = inventory.list().await?;
            let mut tests = tokio::task::JoinSet::new();
            for (index, vm) in vms.iter().enumerate() {
                let ssh = engine.ssh().clone();
                let target = resolve_target(vm, &everyone);
                let name = vm.name.clone();
                tests.spawn(async move {
                    let report = match target {
                        Ok(target) => ssh.test(&target).await,
                        Err(error) => vmo_engine::ssh::ConnectionTest::failed(name, error),
                    };
                    (index, report)
                });
            }
            let mut reports: Vec<_> = tests.join_all().await;
            reports.sort_by_key(|(i, _)| *i);
            let all_ok = reports.iter().all(|(_, r)| r.ok);
            for (_, report) in &reports {
                if json {
                    println!("{}", serde_json::to_string(report)?);
                } else if report.ok {
                    println!(
                        "{}: ok  {} ms connect, {} ms command  {}  {}",
                        report.name,
                        report.connect_ms,
                        report.command_ms.unwrap_or(0),
                        report.server_version.as_deref().unwrap_or("?"),
                        report.fingerprint.as_deref().unwrap_or("?"),
                    );
                } else if let Some(error) = &report.error {
                    println!(
                        "{}: FAILED ({})  {}{}",
                        report.name,
                        error.kind.as_str(),
                        error.message,
                        crate::output::advice(error.kind.as_str())
                    );
                }
            }
            return Ok(if all_ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Validation errors, one line per field, as a person reads them at a terminal.
fn field_errors(err: vmo_engine::EngineError) -> anyhow::Error {
    if err.fields.is_empty() {
        return err.into();
    }
    let lines: Vec<String> = err
        .fields
        .iter()
        .map(|f| format!("  {}: {}", f.field, f.message))
        .collect();
    anyhow::anyhow!("the VM is not valid:\n{}", lines.join("\n"))
}

/// Previews (to list the hosts that cannot be imported), then applies the whole file.
async fn import(
    engine: &Engine,
    source: ImportSource,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    let inventory = engine.inventory();
    let plan = inventory.import_preview_from(source, file).await?;
    for host in &plan.hosts {
        if let vmo_engine::ImportAction::Invalid { reason } = &host.action {
            eprintln!("skipped {}: {reason}", host.alias);
        }
    }
    let summary = inventory.import_apply_from(source, file, None).await?;
    println!(
        "{}: {} added, {} updated, {} unchanged, {} skipped",
        file.display(),
        summary.added,
        summary.updated,
        summary.unchanged,
        summary.invalid
    );
    Ok(())
}
