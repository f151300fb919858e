//! `vmo template …` and `vmo history`: templates listed, shown, imported, exported,
//! removed and run as jobs (through `vmo exec`'s runner), and the command history.

use crate::args::{TemplateCommand, TemplateRunArgs};
use crate::exec::{run_job, target_label};
use crate::select::select;
use anyhow::{bail, Context as _};
use std::process::ExitCode;
use vmo_engine::commands::{Commands, TemplateEntry, Value, Values};
use vmo_engine::jobs::Origin;
use vmo_engine::{Engine, EngineError};

pub async fn run(engine: &Engine, command: TemplateCommand) -> anyhow::Result<ExitCode> {
    let commands = engine.commands();
    match command {
        TemplateCommand::List { json } => {
            let all = commands.list().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else {
                list(&all);
            }
        }
        TemplateCommand::Show { name, json } => {
            let entry = commands.get(&name).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entry)?);
            } else {
                show(&entry);
            }
        }
        TemplateCommand::Import { files } => {
            let done = commands.import_files(&files).await?;
            println!(
                "imported {} template(s): {} added, {} updated",
                done.added + done.updated,
                done.added,
                done.updated
            );
        }
        TemplateCommand::Export { names, output } => {
            let names = (!names.is_empty()).then_some(names.as_slice());
            match output {
                Some(path) => {
                    commands.export_to(&path, names).await?;
                    eprintln!("wrote {}", path.display());
                }
                None => print!("{}", commands.export(names).await?),
            }
        }
        TemplateCommand::Rm { names } => {
            for name in &names {
                commands.delete(name).await?;
            }
        }
        TemplateCommand::Run(args) => return run_template(engine, args).await,
    }
    Ok(ExitCode::SUCCESS)
}

fn list(all: &[TemplateEntry]) {
    let width = all
        .iter()
        .map(|e| e.template.name.chars().count())
        .max()
        .unwrap_or(4)
        .max(4);
    println!("{:width$}  {:8}  DESCRIPTION", "NAME", "KIND");
    for e in all {
        let kind = if e.starter { "starter" } else { "yours" };
        println!(
            "{:width$}  {:8}  {}",
            e.template.name, kind, e.template.description
        );
    }
}

fn show(entry: &TemplateEntry) {
    let t = &entry.template;
    println!("name:        {}", t.name);
    if entry.starter {
        println!(
            "kind:        starter (read-only; `vmo template export {}` to copy it)",
            t.name
        );
    }
    if !t.description.is_empty() {
        println!("description: {}", t.description);
    }
    if !t.tags.is_empty() {
        println!("tags:        {}", t.tags.join(", "));
    }
    if let Some(tag) = &t.default_targets {
        println!("targets:     tag:{tag}");
    }
    if t.dangerous {
        println!("dangerous:   yes (run needs --yes)");
    }
    println!("command:     {}", t.command);
    for p in t.params() {
        let mut facts = vec![p.kind.as_str().to_string()];
        facts.push(if p.required { "required" } else { "optional" }.into());
        if let Some(d) = &p.default {
            facts.push(format!("default {d:?}"));
        }
        match (p.min, p.max) {
            (Some(a), Some(b)) => facts.push(format!("{a}..{b}")),
            (Some(a), None) => facts.push(format!(">= {a}")),
            (None, Some(b)) => facts.push(format!("<= {b}")),
            (None, None) => {}
        }
        if !p.choices.is_empty() {
            facts.push(format!("one of {}", p.choices.join("|")));
        }
        if let Some(s) = &p.suggest {
            facts.push(format!("suggested by `{s}`"));
        }
        println!(
            "  {{{{{}}}}}  {}  {}",
            p.name,
            facts.join(", "),
            p.description
        );
    }
}

/// `NAME=VALUE` pairs, values as bytes (a path need not be UTF-8).
fn parse_params(pairs: &[std::ffi::OsString]) -> anyhow::Result<Values> {
    use std::os::unix::ffi::OsStrExt;
    let mut values = Values::new();
    for pair in pairs {
        let bytes = pair.as_bytes();
        let Some(eq) = bytes.iter().position(|&b| b == b'=') else {
            bail!("--param {}: expected NAME=VALUE", pair.to_string_lossy());
        };
        let name = std::str::from_utf8(&bytes[..eq])
            .with_context(|| format!("--param {}: bad name", pair.to_string_lossy()))?;
        values.insert(name.to_string(), Value::from_bytes(&bytes[eq + 1..]));
    }
    Ok(values)
}

async fn run_template(engine: &Engine, args: TemplateRunArgs) -> anyhow::Result<ExitCode> {
    let commands = engine.commands();
    let template = commands.get(&args.name).await?.template;
    let values = parse_params(&args.params)?;
    let rendered = commands
        .render(&template.name, &values)
        .await
        .map_err(|e| problems(&template.name, e))?;
    if args.dry_run {
        println!("{}", rendered.command);
        return Ok(ExitCode::SUCCESS);
    }
    if template.dangerous && !args.yes {
        bail!(
            "{:?} is marked dangerous: add --yes to run it ({})",
            template.name,
            rendered.command
        );
    }
    let mut tags = args.tags.clone();
    if args.vms.is_empty() && tags.is_empty() && !args.all {
        match &template.default_targets {
            Some(tag) => tags.push(tag.clone()),
            None => bail!("say which VMs: --vm NAME, --tag TAG or --all"),
        }
    }
    let vms = select(engine, &args.vms, &tags, args.all).await?;
    if vms.is_empty() {
        bail!("the inventory is empty");
    }
    let options = args.run.options(&engine.settings())?;
    let spec = Commands::job_spec(
        rendered,
        vms.iter().map(|vm| vm.id).collect(),
        target_label(&args.vms, &tags, args.all),
        options,
        Origin::Cli,
    );
    let names = vms.iter().map(|vm| vm.name.clone()).collect();
    let display = args.run.display(true, 1);
    run_job(engine, spec, names, display).await
}

/// Every value problem on its own line: `  lines: must be at least 1`.
fn problems(template: &str, err: EngineError) -> anyhow::Error {
    if err.fields.is_empty() {
        return err.into();
    }
    let lines: Vec<String> = err
        .fields
        .iter()
        .map(|f| format!("  {}: {}", f.field.trim_start_matches("values."), f.message))
        .collect();
    anyhow::anyhow!(
        "cannot run {template:?}; fix these parameters (--param NAME=VALUE):\n{}",
        lines.join("\n")
    )
}

pub async fn history(engine: &Engine, json: bool, limit: u32) -> anyhow::Result<ExitCode> {
    let entries = engine.commands().history(limit).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
        return Ok(ExitCode::SUCCESS);
    }
    for e in &entries {
        let when = vmo_engine::jobs::log::format_rfc3339_millis(e.last_used_at);
        let what = match &e.template {
            Some(run) => format!("{run}    ({})", e.command),
            None => e.command.clone(),
        };
        println!("{when}  {:>4}x  {what}", e.count);
    }
    Ok(ExitCode::SUCCESS)
}
