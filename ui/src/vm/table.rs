//! The inventory table with selection, live status columns (sortable) and per-row
//! actions. Only the rows in sight are in the page (see [`crate::shared::virtual_rows`]):
//! a 10,000-VM inventory is a tall scroll box with a few dozen rows; selecting all, the
//! bulk actions and the count cover every matching VM, drawn or not.

use super::Panel;
use crate::shared::toast::use_toasts;
use crate::shared::virtual_rows::use_scroll_box;
use crate::status::{Sort, SortKey, StatusCells};
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::BTreeSet;
use std::rc::Rc;
use vmo_engine::status::Metric;
use vmo_engine::{AuthMethod, Vm, VmId};

/// Must match `#vm-table tbody tr.vm-row` in style.css.
pub const ROW_PX: f64 = 37.0;

/// The sortable status columns: key, label, header id.
const STATUS_COLUMNS: [(SortKey, &str, &str); 6] = [
    (SortKey::Status, "Status", "sort-status"),
    (SortKey::Metric(Metric::Latency), "Latency", "sort-latency"),
    (SortKey::Metric(Metric::Load), "Load", "sort-load"),
    (SortKey::Metric(Metric::Cpu), "CPU", "sort-cpu"),
    (SortKey::Metric(Metric::Memory), "Mem", "sort-memory"),
    (SortKey::Metric(Metric::Disk), "Disk", "sort-disk"),
];

/// `rows`: positions in the inventory's list of the VMs shown, in the order shown.
#[component]
pub fn VmTable(
    rows: Memo<Rc<Vec<u32>>>,
    sort: Signal<Sort>,
    jumps: bool,
    selected: Signal<BTreeSet<VmId>>,
    panel: Signal<Panel>,
) -> Element {
    let inventory = super::use_inventory();
    let scroll = use_scroll_box(ROW_PX);
    // Whether every row shown (drawn or not) is selected: once per change, not per scroll.
    let all_selected = use_memo(move || {
        let rows = rows.read();
        let view = inventory.read();
        let selected = selected.read();
        !rows.is_empty()
            && rows.iter().all(|i| {
                view.vms
                    .get(*i as usize)
                    .is_some_and(|vm| selected.contains(&vm.id))
            })
    });
    let view = inventory.read();
    let shown = rows.read();
    if shown.is_empty() {
        return rsx! {
            div { class: "empty-state small", id: "vm-no-match", "No VM matches this search." }
        };
    }
    let window = scroll.window(shown.len());
    let drawn: Vec<Vm> = window
        .range()
        .filter_map(|i| view.vms.get(shown[i] as usize).cloned())
        .collect();
    // Check, name, address, auth, tags, six status columns, connection, actions.
    let columns = 13 + usize::from(jumps);
    rsx! {
        div {
            class: "table-scroll",
            id: "vm-table-scroll",
            onmounted: move |e| scroll.mounted(e),
            onscroll: move |e| scroll.scrolled(&e),
            onresize: move |e| scroll.resized(&e),
            table { class: "table virtual-table", id: "vm-table",
                thead {
                    tr {
                        th { class: "col-check",
                            input {
                                r#type: "checkbox",
                                title: "Select all shown",
                                checked: all_selected(),
                                // Every VM the search shows, not only the rows drawn.
                                onchange: move |_| {
                                    let everyone = all_selected();
                                    let view = inventory.peek();
                                    let ids = rows.peek().iter().filter_map(|i| view.vms.get(*i as usize)).map(|vm| vm.id).collect::<Vec<_>>();
                                    selected.with_mut(|s| {
                                        if everyone {
                                            ids.iter().for_each(|id| { s.remove(id); });
                                        } else {
                                            s.extend(ids);
                                        }
                                    });
                                },
                            }
                        }
                        th {
                            class: "sortable col-name",
                            id: "sort-name",
                            onclick: move |_| sort.set(sort().click(SortKey::Name)),
                            "Name{sort().arrow(SortKey::Name)}"
                        }
                        th { class: "col-address", "Address" }
                        th { class: "col-auth", "Auth" }
                        if jumps {
                            th { class: "col-jump", "Jump host" }
                        }
                        th { class: "col-tags", "Tags" }
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
                        th { class: "col-connection", "Connection" }
                        th { class: "col-actions", "" }
                    }
                }
                tbody {
                    tr { class: "spacer", style: "height: {window.before_px()}px;",
                        td { colspan: columns }
                    }
                    for vm in drawn {
                        VmRow { key: "{vm.id}", vm, jumps, selected, panel }
                    }
                    tr { class: "spacer", style: "height: {window.after_px()}px;",
                        td { colspan: columns }
                    }
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
    let tags_title = vm.tags.join(", ");
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
            class: if is_selected { "vm-row selected" } else { "vm-row" },
            td { class: "col-check",
                input {
                    r#type: "checkbox",
                    title: "Select {vm.name}",
                    checked: is_selected,
                    // What the box shows, not a toggle: a click landing while the row is
                    // redrawn cannot leave the two apart.
                    onchange: move |e| selected.with_mut(|s| {
                        if e.checked() {
                            s.insert(id);
                        } else {
                            s.remove(&id);
                        }
                    }),
                }
            }
            td { class: "col-name",
                button {
                    class: "link vm-name",
                    title: "{vm.name}",
                    onclick: move |_| panel.set(Panel::View(id)),
                    "{vm.name}"
                }
            }
            td { class: "mono vm-address", title: "{vm.address()}", "{vm.address()}" }
            td { class: "vm-auth col-auth", title: "{auth_title}", "{auth}" }
            if jumps {
                td { class: "mono col-jump", {vm.jump_host.clone().unwrap_or_default()} }
            }
            td { class: "col-tags", title: "{tags_title}",
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
