//! Turning `--vm`, `--tag` and `--all` into inventory VMs, refusing names that do not exist.

use anyhow::bail;
use vmo_engine::{Engine, Vm};

pub async fn select(
    engine: &Engine,
    names: &[String],
    tags: &[String],
    all: bool,
) -> anyhow::Result<Vec<Vm>> {
    let inventory = engine.inventory().list().await?;
    if all {
        return Ok(inventory);
    }
    if names.is_empty() && tags.is_empty() {
        bail!("say which VMs: NAME..., --vm NAME, --tag TAG or --all");
    }
    let mut chosen: Vec<Vm> = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        match inventory
            .iter()
            .find(|vm| vm.name.eq_ignore_ascii_case(name))
        {
            Some(vm) => chosen.push(vm.clone()),
            None => missing.push(name.as_str()),
        }
    }
    if !missing.is_empty() {
        bail!("no VM named {}", missing.join(", "));
    }
    for tag in tags {
        let tag = tag.to_lowercase();
        let tagged: Vec<&Vm> = inventory
            .iter()
            .filter(|vm| vm.tags.contains(&tag))
            .collect();
        if tagged.is_empty() {
            bail!("no VM is tagged {tag:?}");
        }
        chosen.extend(tagged.into_iter().cloned());
    }
    chosen.sort_by_key(|vm| vm.id);
    chosen.dedup_by_key(|vm| vm.id);
    Ok(chosen)
}
