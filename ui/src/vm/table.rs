//! The inventory table with selection and per-row actions.

use super::Panel;
use crate::shared::toast::use_toasts;
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::BTreeSet;
use vmo_engine::{AuthMethod, Vm, VmId};

#[component]
pub fn VmTable(vms: Vec<Vm>, selected: Signal<BTreeSet<VmId>>, panel: Signal<Panel>) -> Element {
    let shown_ids: Vec<VmId> = vms.iter().map(|vm| vm.id).collect();
    let all_selected =
        !shown_ids.is_empty() && shown_ids.iter().all(|id| selected.read().contains(id));
    if vms.is_empty() {
        return rsx! {
            div { class: "empty-state small", id: "vm-no-match", "No VM matches this search." }
        };
    }
    rsx! {
        table { class: "table", id: "vm-table",
            thead {
                tr {
                    th { class: "col-check",
                        input {
                            r#type: "checkbox",
                            title: "Select all shown",
                            checked: all_selected,
                            onchange: move |_| selected.with_mut(|s| {
                                if all_selected {
                                    shown_ids.iter().for_each(|id| { s.remove(id); });
                                } else {
                                    s.extend(shown_ids.iter().copied());
                                }
                            }),
                        }
                    }
                    th { "Name" }
                    th { "Address" }
                    th { "Auth" }
                    th { "Jump host" }
                    th { "Tags" }
                    th { "Connection" }
                    th { class: "col-actions", "" }
                }
            }
            tbody {
                for vm in vms {
                    VmRow { key: "{vm.id}", vm, selected, panel }
                }
            }
        }
    }
}

#[component]
fn VmRow(vm: Vm, selected: Signal<BTreeSet<VmId>>, panel: Signal<Panel>) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let inventory = super::use_inventory();
    let tests = super::connection::use_connection_tests();
    let id = vm.id;
    let is_selected = selected.read().contains(&id);
    // The key's file name keeps the row narrow; the full path is in the tooltip.
    let (auth, auth_title) = match (vm.auth, vm.key_file.as_deref()) {
        (AuthMethod::KeyFile, Some(path)) => {
            let file = path.rsplit('/').next().unwrap_or(path);
            (format!("Key {file}"), path.to_string())
        }
        (other, _) => (other.label().to_string(), String::new()),
    };
    rsx! {
        tr {
            id: "vm-row-{vm.name}",
            class: if is_selected { "selected" } else { "" },
            td { class: "col-check",
                input {
                    r#type: "checkbox",
                    title: "Select {vm.name}",
                    checked: is_selected,
                    onchange: move |_| selected.with_mut(|s| {
                        if !s.remove(&id) {
                            s.insert(id);
                        }
                    }),
                }
            }
            td {
                button {
                    class: "link vm-name",
                    onclick: move |_| panel.set(Panel::View(id)),
                    "{vm.name}"
                }
            }
            td { class: "mono vm-address", "{vm.address()}" }
            td { class: "vm-auth", title: "{auth_title}", "{auth}" }
            td { class: "mono", {vm.jump_host.clone().unwrap_or_default()} }
            td {
                for tag in vm.tags.iter() {
                    span { key: "{tag}", class: "tag", "{tag}" }
                }
            }
            td { class: "vm-status", id: "vm-status-{vm.name}",
                super::connection::StatusCell { id }
            }
            td { class: "col-actions",
                button {
                    class: "button ghost small",
                    title: "Test {vm.name}",
                    onclick: {
                        let ctx = ctx.clone();
                        move |_| {
                            let vms = inventory.peek().vms.clone();
                            tests.start(&ctx, vec![id], &vms);
                        }
                    },
                    "Test"
                }
                button {
                    class: "button ghost small",
                    title: "Run on {vm.name}",
                    onclick: move |_| panel.set(Panel::Run(vec![id])),
                    "Run"
                }
                button {
                    class: "button ghost small",
                    title: "Edit {vm.name}",
                    onclick: move |_| panel.set(Panel::Edit(id)),
                    "Edit"
                }
                button {
                    class: "button ghost small",
                    title: "Duplicate {vm.name}",
                    onclick: move |_| {
                        let store = ctx.engine.inventory().clone();
                        spawn(async move {
                            match store.duplicate(id).await {
                                Ok(copy) => {
                                    toasts.show(format!("Created {}", copy.name));
                                    panel.set(Panel::Edit(copy.id));
                                }
                                Err(err) => toasts.error(err.message),
                            }
                        });
                    },
                    "Duplicate"
                }
                button {
                    class: "button ghost small danger-text",
                    title: "Delete {vm.name}",
                    onclick: move |_| panel.set(Panel::ConfirmDelete(vec![id])),
                    "Delete"
                }
            }
        }
    }
}
