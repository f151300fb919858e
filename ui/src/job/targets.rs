//! Which VMs a run goes to: those chosen, every VM with a tag, or all. Shared by the run
//! dialog and the template builder, so both pick, label and guard targets the same way.

use std::collections::HashSet;
use vmo_engine::jobs::label_for_names;
use vmo_engine::{Vm, VmId};

/// Names a dialog shows of its targets; the rest are counted ("and 9,900 more").
pub const PREVIEW_NAMES: usize = 100;

/// How a dialog picks its VMs.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetChoice {
    Chosen,
    Tag(String),
    All,
}

/// The VMs a choice comes to, as a dialog shows them.
pub struct Targets {
    pub vms: Vec<Vm>,
    pub names: Vec<String>,
    /// How the job is labelled: "web-1, web-2", "tag:web", "all VMs".
    pub label: String,
    /// The names of those carrying a tag that needs confirmation.
    pub guarded: Vec<String>,
}

impl TargetChoice {
    /// `chosen`: the VMs picked on the VMs screen; `guarded_tags` from the preferences.
    pub fn targets(&self, inventory: &[Vm], chosen: &[VmId], guarded_tags: &[String]) -> Targets {
        let chosen: HashSet<VmId> = match self {
            TargetChoice::Chosen => chosen.iter().copied().collect(),
            _ => HashSet::new(),
        };
        let vms: Vec<Vm> = inventory
            .iter()
            .filter(|vm| match self {
                TargetChoice::Chosen => chosen.contains(&vm.id),
                TargetChoice::Tag(tag) => vm.tags.contains(tag),
                TargetChoice::All => true,
            })
            .cloned()
            .collect();
        let names: Vec<String> = vms.iter().map(|vm| vm.name.clone()).collect();
        let label = match self {
            TargetChoice::Chosen => {
                label_for_names(&names.iter().map(String::as_str).collect::<Vec<_>>())
            }
            TargetChoice::Tag(tag) => format!("tag:{tag}"),
            TargetChoice::All => "all VMs".to_string(),
        };
        let guarded = vms
            .iter()
            .filter(|vm| vm.tags.iter().any(|t| guarded_tags.contains(t)))
            .map(|vm| vm.name.clone())
            .collect();
        Targets {
            vms,
            names,
            label,
            guarded,
        }
    }
}
