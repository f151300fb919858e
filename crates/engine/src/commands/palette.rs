//! The palette's items from what the engine knows: templates, history, VMs and tags.

use super::{HistoryEntry, TemplateEntry};
use crate::vm::Vm;
use vmo_command::search::{Item, ItemKind};

/// Templates (key: name), history (key: the command; boosted by frecency), VMs (key: the
/// id), tags (key: the tag), then `extra`.
pub(crate) fn items(
    templates: &[TemplateEntry],
    history: &[HistoryEntry],
    vms: &[Vm],
    extra: Vec<Item>,
) -> Vec<Item> {
    let mut items = Vec::with_capacity(templates.len() + history.len() + vms.len() * 2);
    items.extend(extra);
    for entry in templates {
        let t = &entry.template;
        let mut detail = t.description.clone();
        for tag in &t.tags {
            detail.push_str(" #");
            detail.push_str(tag);
        }
        items.push(Item::new(ItemKind::Template, &t.name, &t.name).with_detail(detail.trim()));
    }
    for h in history {
        let label = match &h.template {
            Some(run) => run.to_string(),
            None => h.command.clone(),
        };
        items.push(
            Item::new(ItemKind::History, &h.command, label)
                .with_detail(if h.template.is_some() {
                    h.command.as_str()
                } else {
                    ""
                })
                .with_boost(h.score),
        );
    }
    items.extend(vm_items(vms));
    items
}

/// VMs (key: the id as text, detail `user@host`) and their distinct tags (key: the tag).
pub fn vm_items(vms: &[Vm]) -> Vec<Item> {
    let mut items = Vec::with_capacity(vms.len() + 16);
    let mut tags: Vec<&str> = Vec::new();
    for vm in vms {
        let address = if vm.user.is_empty() {
            vm.host.clone()
        } else {
            format!("{}@{}", vm.user, vm.host)
        };
        items.push(Item::new(ItemKind::Vm, vm.id.0.to_string(), &vm.name).with_detail(address));
        tags.extend(vm.tags.iter().map(String::as_str));
    }
    tags.sort_unstable();
    tags.dedup();
    items.extend(
        tags.into_iter()
            .map(|tag| Item::new(ItemKind::Tag, tag, format!("tag:{tag}"))),
    );
    items
}
