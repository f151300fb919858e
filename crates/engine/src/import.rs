//! Host discovery from an ssh config or an Ansible inventory: a plan the user previews,
//! then applies. Hosts are matched to the inventory by name (the ssh alias, the Ansible
//! host name), so re-importing updates instead of duplicating, and a VM's notes survive a
//! re-import; its tags are kept and the file's (Ansible groups) are added to them.

use crate::ansible::AnsibleHost;
use crate::ssh_config::SshHost;
use crate::vm::{AuthMethod, Vm, VmDraft, VmId};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

/// Which kind of file an import reads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportSource {
    /// An OpenSSH client config (`~/.ssh/config`).
    #[default]
    SshConfig,
    /// An Ansible inventory, INI or YAML.
    Ansible,
}

/// One host found in a file, whatever its format.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FoundHost {
    pub alias: String,
    pub host_name: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity_file: Option<String>,
    pub proxy_jump: Option<String>,
    /// Tags the file gives the host, added to the VM's own.
    pub tags: Vec<String>,
    /// Why the file's settings cannot become a VM (the plan shows the host as invalid).
    pub problem: Option<String>,
}

impl From<SshHost> for FoundHost {
    fn from(h: SshHost) -> Self {
        Self {
            alias: h.alias,
            host_name: h.host_name,
            port: h.port,
            user: h.user,
            identity_file: h.identity_file,
            proxy_jump: h.proxy_jump,
            tags: Vec::new(),
            problem: None,
        }
    }
}

impl From<AnsibleHost> for FoundHost {
    fn from(h: AnsibleHost) -> Self {
        Self {
            alias: h.name,
            host_name: h.host,
            port: h.port,
            user: h.user,
            identity_file: h.key_file,
            proxy_jump: h.jump,
            tags: h.tags,
            problem: h.problem,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ImportAction {
    Add,
    /// `changes` lists each differing setting as "port: 22 → 2222".
    Update {
        id: VmId,
        changes: Vec<String>,
    },
    Unchanged {
        id: VmId,
    },
    /// The host cannot become a VM as written; `reason` says why.
    Invalid {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedHost {
    pub alias: String,
    /// The settings as resolved from the file (merged with the existing VM's tags/notes).
    pub draft: VmDraft,
    pub action: ImportAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportPlan {
    pub source: PathBuf,
    pub hosts: Vec<PlannedHost>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub invalid: usize,
}

impl ImportPlan {
    pub fn build<H: Into<FoundHost>>(
        source: PathBuf,
        found: impl IntoIterator<Item = H>,
        inventory: &[Vm],
    ) -> Self {
        // By name once, so a 10,000-host file against a 10,000-VM inventory is not
        // 100 million comparisons.
        let mut by_name: HashMap<String, &Vm> = HashMap::new();
        for vm in inventory {
            by_name.entry(vm.name.to_ascii_lowercase()).or_insert(vm);
        }
        let hosts = found
            .into_iter()
            .map(|host| {
                let host: FoundHost = host.into();
                let existing = by_name.get(&host.alias.to_ascii_lowercase()).copied();
                plan_host(host, existing)
            })
            .collect();
        Self { source, hosts }
    }

    pub fn summary(&self) -> ImportSummary {
        let mut s = ImportSummary::default();
        for host in &self.hosts {
            match host.action {
                ImportAction::Add => s.added += 1,
                ImportAction::Update { .. } => s.updated += 1,
                ImportAction::Unchanged { .. } => s.unchanged += 1,
                ImportAction::Invalid { .. } => s.invalid += 1,
            }
        }
        s
    }

    /// Keeps only the named hosts (case-insensitive), for a user's partial selection.
    pub fn retain(&mut self, aliases: &[String]) {
        let wanted: HashSet<String> = aliases.iter().map(|a| a.to_ascii_lowercase()).collect();
        self.hosts
            .retain(|h| wanted.contains(&h.alias.to_ascii_lowercase()));
    }
}

fn plan_host(host: FoundHost, existing: Option<&Vm>) -> PlannedHost {
    let mut tags = existing.map(|vm| vm.tags.clone()).unwrap_or_default();
    tags.extend(host.tags.iter().cloned());
    let draft = VmDraft {
        name: existing.map_or_else(|| host.alias.clone(), |vm| vm.name.clone()),
        host: host.host_name.clone().unwrap_or_else(|| host.alias.clone()),
        port: host.port.unwrap_or(22),
        user: host.user.clone().unwrap_or_default(),
        // A file without IdentityFile says nothing about auth: keep what the user chose.
        auth: match (&host.identity_file, existing) {
            (Some(_), _) => AuthMethod::KeyFile,
            (None, Some(vm)) if vm.auth != AuthMethod::KeyFile => vm.auth,
            (None, _) => AuthMethod::Agent,
        },
        key_file: host.identity_file.clone(),
        jump_host: host.proxy_jump.clone(),
        tags,
        notes: existing.map(|vm| vm.notes.clone()).unwrap_or_default(),
    };
    let (draft, action) = match draft.clone().validate() {
        _ if host.problem.is_some() => {
            let reason = host.problem.clone().unwrap_or_default();
            (draft, ImportAction::Invalid { reason })
        }
        Err(err) => {
            let reason = err
                .fields
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            (draft, ImportAction::Invalid { reason })
        }
        Ok(draft) => {
            let action = match existing {
                None => ImportAction::Add,
                Some(vm) => match changes(vm, &draft) {
                    c if c.is_empty() => ImportAction::Unchanged { id: vm.id },
                    changes => ImportAction::Update { id: vm.id, changes },
                },
            };
            (draft, action)
        }
    };
    PlannedHost {
        alias: host.alias,
        draft,
        action,
    }
}

fn changes(vm: &Vm, draft: &VmDraft) -> Vec<String> {
    let show = |v: Option<&str>| v.filter(|s| !s.is_empty()).unwrap_or("—").to_string();
    let mut out = Vec::new();
    let mut diff = |label: &str, old: String, new: String| {
        if old != new {
            out.push(format!("{label}: {old} → {new}"));
        }
    };
    diff("host", vm.host.clone(), draft.host.clone());
    diff("port", vm.port.to_string(), draft.port.to_string());
    diff("user", show(Some(&vm.user)), show(Some(&draft.user)));
    diff("auth", vm.auth.label().into(), draft.auth.label().into());
    diff(
        "key file",
        show(vm.key_file.as_deref()),
        show(draft.key_file.as_deref()),
    );
    diff(
        "jump host",
        show(vm.jump_host.as_deref()),
        show(draft.jump_host.as_deref()),
    );
    let mut old_tags = vm.tags.clone();
    old_tags.sort();
    diff(
        "tags",
        show(Some(&old_tags.join(", "))),
        show(Some(&draft.tags.join(", "))),
    );
    out
}
