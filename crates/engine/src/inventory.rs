//! The VM inventory service: validation, persistence and change notifications in one
//! place, so every front end gets the same rules and sees every change.

use crate::ansible;
use crate::error::{EngineError, ErrorCode};
use crate::import::{ImportAction, ImportPlan, ImportSource, ImportSummary};
use crate::ssh_config;
use crate::store::Store;
use crate::vm::{Vm, VmDraft, VmId, NAME_MAX, TAGS_MAX};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use tokio::sync::broadcast;

/// What changed in the inventory. Subscribers reload what they show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InventoryEvent {
    Created {
        id: VmId,
    },
    Updated {
        id: VmId,
    },
    Deleted {
        ids: Vec<VmId>,
    },
    Imported {
        added: usize,
        updated: usize,
    },
    /// A tag was added to (`added`) or removed from `count` VMs at once.
    Tagged {
        tag: String,
        added: bool,
        count: usize,
    },
}

#[derive(Clone)]
pub struct Inventory {
    store: Store,
    events: broadcast::Sender<InventoryEvent>,
}

impl Inventory {
    pub(crate) fn new(store: Store) -> Self {
        let (events, _) = broadcast::channel(64);
        Self { store, events }
    }

    /// Every change from now on. A lagging receiver only misses that it must reload.
    pub fn subscribe(&self) -> broadcast::Receiver<InventoryEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: InventoryEvent) {
        // No subscriber is not an error: the CLI has none.
        let _ = self.events.send(event);
    }

    pub async fn list(&self) -> Result<Vec<Vm>, EngineError> {
        self.store.list_vms().await
    }

    /// Every VM's id, without reading the records.
    pub(crate) async fn ids(&self) -> Result<HashSet<VmId>, EngineError> {
        self.store.vm_ids().await
    }

    pub async fn get(&self, id: VmId) -> Result<Vm, EngineError> {
        self.store.get_vm(id).await
    }

    pub async fn find_by_name(&self, name: &str) -> Result<Vm, EngineError> {
        self.store
            .find_vm_by_name(name)
            .await?
            .ok_or_else(|| EngineError::not_found(format!("VM {name:?}")))
    }

    pub async fn create(&self, draft: VmDraft) -> Result<Vm, EngineError> {
        let draft = draft.validate()?;
        let vm = self.store.insert_vm(&draft, crate::jobs::now_ms()).await?;
        tracing::info!(vm = %vm.name, id = %vm.id, "VM created");
        self.emit(InventoryEvent::Created { id: vm.id });
        Ok(vm)
    }

    pub async fn update(&self, id: VmId, draft: VmDraft) -> Result<Vm, EngineError> {
        let draft = draft.validate()?;
        let vm = self
            .store
            .update_vm(id, &draft, crate::jobs::now_ms())
            .await?;
        tracing::info!(vm = %vm.name, id = %vm.id, "VM updated");
        self.emit(InventoryEvent::Updated { id });
        Ok(vm)
    }

    /// Deletes all of `ids`, or none of them if one does not exist.
    pub async fn delete(&self, ids: &[VmId]) -> Result<(), EngineError> {
        // An id listed twice is still one existing VM, not a missing one.
        let mut seen = HashSet::new();
        let ids: Vec<VmId> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        if ids.is_empty() {
            return Ok(());
        }
        self.store.delete_vms(&ids).await?;
        tracing::info!(count = ids.len(), "VMs deleted");
        self.emit(InventoryEvent::Deleted { ids });
        Ok(())
    }

    /// Adds `tag` to every VM of `ids` (normalised like a draft's tags), all in one
    /// transaction: every VM gets it, or none does (a missing VM, one that already has
    /// the most tags). Returns how many VMs did not have it yet.
    pub async fn add_tag(&self, ids: &[VmId], tag: &str) -> Result<usize, EngineError> {
        self.change_tag(ids, tag, true).await
    }

    /// Removes `tag` from every VM of `ids` in one transaction (none if one is missing).
    /// Returns how many VMs had it.
    pub async fn remove_tag(&self, ids: &[VmId], tag: &str) -> Result<usize, EngineError> {
        self.change_tag(ids, tag, false).await
    }

    async fn change_tag(&self, ids: &[VmId], tag: &str, add: bool) -> Result<usize, EngineError> {
        let tag = crate::vm::normalize_tag(tag)?;
        let mut seen = HashSet::new();
        let ids: Vec<VmId> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
        let now = crate::jobs::now_ms();
        let count = if add {
            self.store.add_tag(&ids, &tag, TAGS_MAX, now).await?
        } else {
            self.store.remove_tag(&ids, &tag, now).await?
        };
        if count > 0 {
            tracing::info!(%tag, count, added = add, "tag changed on VMs");
            self.emit(InventoryEvent::Tagged {
                tag,
                added: add,
                count,
            });
        }
        Ok(count)
    }

    /// Copies a VM under the first free name `NAME-copy`, `NAME-copy-2`, ...
    pub async fn duplicate(&self, id: VmId) -> Result<Vm, EngineError> {
        let original = self.get(id).await?;
        let taken: Vec<String> = self
            .list()
            .await?
            .into_iter()
            .map(|vm| vm.name.to_lowercase())
            .collect();
        let stem: String = original.name.chars().take(NAME_MAX - 9).collect();
        let name = (1..)
            .map(|n| match n {
                1 => format!("{stem}-copy"),
                n => format!("{stem}-copy-{n}"),
            })
            .find(|candidate| !taken.contains(&candidate.to_lowercase()))
            .ok_or_else(|| EngineError::new(ErrorCode::Conflict, "no free name for the copy"))?;
        self.create(VmDraft {
            name,
            ..original.draft()
        })
        .await
    }

    /// Reads an ssh config and says what importing it would do. Changes nothing.
    pub async fn import_preview(&self, path: &Path) -> Result<ImportPlan, EngineError> {
        self.import_preview_from(ImportSource::SshConfig, path)
            .await
    }

    /// Applies an ssh config; see [`Inventory::import_apply_from`].
    pub async fn import_apply(
        &self,
        path: &Path,
        only: Option<&[String]>,
    ) -> Result<ImportSummary, EngineError> {
        self.import_apply_from(ImportSource::SshConfig, path, only)
            .await
    }

    /// Reads an ssh config or an Ansible inventory and says what importing it would do.
    /// Changes nothing.
    pub async fn import_preview_from(
        &self,
        source: ImportSource,
        path: &Path,
    ) -> Result<ImportPlan, EngineError> {
        let file = path.to_path_buf();
        let read = tokio::task::spawn_blocking(move || -> Result<_, EngineError> {
            Ok(match source {
                ImportSource::SshConfig => ssh_config::load(&file)?
                    .into_iter()
                    .map(Into::into)
                    .collect::<Vec<crate::import::FoundHost>>(),
                ImportSource::Ansible => {
                    ansible::load(&file)?.into_iter().map(Into::into).collect()
                }
            })
        });
        let found = read
            .await
            .map_err(|e| EngineError::new(ErrorCode::Io, format!("import task failed: {e}")))??;
        let inventory = self.list().await?;
        Ok(ImportPlan::build(path.to_path_buf(), found, &inventory))
    }

    /// Re-reads the file and applies it in one transaction: all of it or nothing.
    /// `only`: the aliases the user ticked in the preview; `None` imports every host.
    pub async fn import_apply_from(
        &self,
        source: ImportSource,
        path: &Path,
        only: Option<&[String]>,
    ) -> Result<ImportSummary, EngineError> {
        let mut plan = self.import_preview_from(source, path).await?;
        if let Some(aliases) = only {
            plan.retain(aliases);
        }
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        for host in &plan.hosts {
            match &host.action {
                ImportAction::Add => inserts.push(host.draft.clone()),
                ImportAction::Update { id, .. } => updates.push((*id, host.draft.clone())),
                ImportAction::Unchanged { .. } | ImportAction::Invalid { .. } => {}
            }
        }
        self.store
            .upsert_vms(&inserts, &updates, crate::jobs::now_ms())
            .await?;
        let summary = plan.summary();
        tracing::info!(
            source = %path.display(),
            added = summary.added,
            updated = summary.updated,
            kind = ?source,
            "hosts imported"
        );
        if summary.added + summary.updated > 0 {
            self.emit(InventoryEvent::Imported {
                added: summary.added,
                updated: summary.updated,
            });
        }
        Ok(summary)
    }

    /// The inventory (or the VMs tagged `tag`) as an Ansible YAML inventory; jump hosts
    /// naming a VM are resolved to its address. An unknown tag is `not_found`.
    pub async fn export_ansible(&self, tag: Option<&str>) -> Result<String, EngineError> {
        let all = self.list().await?;
        let chosen: Vec<Vm> = match tag {
            None => all.clone(),
            Some(tag) => {
                let tag = tag.trim().to_lowercase();
                let chosen: Vec<Vm> = all
                    .iter()
                    .filter(|vm| vm.tags.contains(&tag))
                    .cloned()
                    .collect();
                if chosen.is_empty() {
                    return Err(EngineError::not_found(format!("VMs tagged {tag:?}")));
                }
                chosen
            }
        };
        Ok(ansible::export(&chosen, &all))
    }
}
