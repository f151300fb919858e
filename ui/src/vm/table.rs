//! The inventory table with selection, live status columns (sortable) and per-row
//! actions.

use super::Panel;
use crate::shared::toast::use_toasts;
use crate::status::{sort_vms, use_fleet, Sort, SortKey, StatusCells};
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::BTreeSet;
use vmo_engine::status::Metric;
use vmo_engine::{AuthMethod, Vm, VmId};

/// The sortable status columns: key, label, header id.
const STATUS_COLUMNS: [(SortKey, &str, &str); 6] = [
    (SortKey::Status, "Status", "sort-status"),
    (SortKey::Metric(Metric::Latency), "Latency", "sort-latency"),
    (SortKey::Metric(Metric::Load), "Load", "sort-load"),
    (SortKey::Metric(Metric::Cpu), "CPU", "sort-cpu"),
    (SortKey::Metric(Metric::Memory), "Mem", "sort-memory"),
    (SortKey::Metric(Metric::Disk), "Disk", "sort-disk"),
];

#[component]
pub fn VmTable(vms: Vec<Vm>, selected: Signal<BTreeSet<VmId>>, panel: Signal<Panel>) -> Element {
    let mut sort = use_signal(Sort::default);
    let fleet = use_fleet();
    let mut vms = vms;
    // Only a sort by status or a figure follows the fleet here; the rows' status cells
    // follow it on their own, so a probe round never re-renders whole rows.
    if sort().key != SortKey::Name {
        sort_vms(&mut vms, &fleet.read(), sort());
    } else {
        sort_vms(&mut vms, &fleet.peek(), sort());
    }
    // The status columns need the room; a jump host column only when one is used.
    let jumps = vms.iter().any(|vm| vm.jump_host.is_some());
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
                    th {
                        class: "sortable",
                        id: "sort-name",
                        onclick: move |_| sort.set(sort().click(SortKey::Name)),
                        "Name{sort().arrow(SortKey::Name)}"
                    }
                    th { "Address" }
                    th { class: "col-auth", "Auth" }
                    if jumps {
                        th { "Jump host" }
                    }
                    th { "Tags" }
                    for (key, label, id) in STATUS_COLUMNS {
                        th {
                            key: "{id}",
                            class: "sortable status-col",
                            id,
                            title: "Sort by {label.to_lowercase()} (again: reverse)",
                            onclick: move |_| sort.set(sort().click(key)),
                            "{label}{sort().arrow(key)}"
                        }
                    }
                    th { "Connection" }
                    th { class: "col-actions", "" }
                }
            }
            tbody {
                for vm in vms {
                    VmRow { key: "{vm.id}", vm, jumps, selected, panel }
                }
            }
        }
    }
}

#[component]
fn VmRow(vm: Vm, jumps: bool, selected: Signal<BTreeSet<VmId>>, panel: Signal<Panel>) -> Element {
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
            td { class: "vm-auth col-auth", title: "{auth_title}", "{auth}" }
            if jumps {
                td { class: "mono", {vm.jump_host.clone().unwrap_or_default()} }
            }
            td {
                for tag in vm.tags.iter() {
                    span { key: "{tag}", class: "tag", "{tag}" }
                }
            }
            StatusCells { vm: id, name: vm.name.clone() }
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
