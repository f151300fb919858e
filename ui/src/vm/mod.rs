//! The VM inventory screen: list, search, tags, and the dialogs to view, add, edit,
//! duplicate, delete and import VMs.

mod connection;
mod demo;
mod detail;
mod form;
mod host_keys;
mod import;
mod index;
mod state;
mod table;
mod tag;

pub use connection::provide_connection_tests;
pub use demo::DemoButton;
pub use host_keys::{blocked_names, untrusted, use_key_review};

pub use state::{provide_inventory, use_inventory};

use crate::shared::modal::Modal;
use crate::shared::toast::use_toasts;
use crate::shared::Shared;
use crate::status::{sort_rows, use_fleet, Sort, SortKey};
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::BTreeSet;
use vmo_engine::{Vm, VmFilter, VmId};

/// Names listed in a dialog about many VMs; the rest are counted.
const NAMES_LISTED: usize = 50;

/// The dialog open over the list, if any.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Panel {
    Closed,
    View(VmId),
    Create,
    Edit(VmId),
    Import,
    ConfirmDelete(Vec<VmId>),
    /// Add a tag to these VMs, or remove one.
    Tag(Vec<VmId>),
    Run(Vec<VmId>),
    /// The run dialog opened from elsewhere (the palette): a command to start from, and
    /// every VM with `tag` (or all VMs) as targets.
    RunWith {
        command: String,
        tag: Option<String>,
    },
}

/// What another part of the app (the command palette) asks of the VMs screen. It is set
/// together with a switch to the screen, which acts on it and clears it.
#[derive(Debug, Clone, PartialEq)]
pub enum VmRequest {
    View(VmId),
    /// Show the VMs with this tag.
    Tag(String),
    /// Open the run dialog with this command (empty: none) on a tag's VMs or all VMs.
    Run {
        command: String,
        tag: Option<String>,
    },
    Create,
    Import,
    TestAll,
    /// Fetch these VMs' host keys and open the review of those not trusted yet.
    ReviewKeys(Vec<VmId>),
}

#[derive(Clone, Copy)]
struct VmRequests(Signal<Option<VmRequest>>);

/// Call once, at the root.
pub fn provide_vm_requests() {
    use_context_provider(|| VmRequests(Signal::new(None)));
}

/// Leaves a request for the VMs screen (from an event handler; show the screen too).
pub fn request(request: VmRequest) {
    let mut slot = consume_context::<VmRequests>().0;
    slot.set(Some(request));
}

/// The request slot: set it (and show the VMs screen) to have the screen act.
pub fn use_vm_requests() -> Signal<Option<VmRequest>> {
    use_context::<VmRequests>().0
}

#[component]
pub fn VmScreen() -> Element {
    let inventory = use_inventory();
    let mut query = use_signal(String::new);
    let mut selected = use_signal(BTreeSet::<VmId>::new);
    let mut panel = use_signal(|| Panel::Closed);
    let ctx = use_context::<UiContext>();
    let tests = connection::use_connection_tests();
    let review = use_key_review();
    let toasts = use_toasts();
    let mut requests = use_vm_requests();

    // Act on what the palette asked (it may ask while the screen is already shown).
    use_effect({
        let ctx = ctx.clone();
        move || {
            if requests.read().is_none() {
                return;
            }
            let Some(request) = requests.write().take() else {
                return;
            };
            match request {
                VmRequest::View(id) => panel.set(Panel::View(id)),
                VmRequest::Tag(tag) => show_search(query, format!("tag:{tag}")),
                VmRequest::Run { command, tag } => panel.set(Panel::RunWith { command, tag }),
                VmRequest::Create => panel.set(Panel::Create),
                VmRequest::Import => panel.set(Panel::Import),
                VmRequest::TestAll => {
                    let vms = inventory.peek().vms.clone();
                    let ids = vms.iter().map(|vm| vm.id).collect();
                    tests.start(&ctx, ids, &vms);
                }
                VmRequest::ReviewKeys(ids) => {
                    let all = inventory.peek().vms.clone();
                    let wanted: std::collections::HashSet<VmId> = ids.iter().copied().collect();
                    let chosen: Vec<Vm> = all
                        .iter()
                        .filter(|vm| wanted.contains(&vm.id))
                        .cloned()
                        .collect();
                    let ctx = ctx.clone();
                    spawn(async move {
                        if review.scan(&ctx, &chosen, &all).await == 0 {
                            toasts.show("Every one of these host keys is trusted now");
                            ctx.engine.status().probe_soon(&ids);
                        }
                    });
                }
            }
        }
    });

    // Made once per inventory change: positions by id, search texts, tag counts.
    let index = use_memo(move || Shared::new(index::Index::of(&inventory.read().vms)));
    let filter = use_memo(move || VmFilter::parse(&query()));
    let sort = use_signal(Sort::default);
    let fleet = use_fleet();
    // The rows in order: positions in the inventory's list. Only a sort by status or a
    // figure follows the fleet; the rows' status cells follow it on their own, so a probe
    // round never re-renders whole rows. Equal orders compare equal: no re-render.
    let rows = use_memo(move || {
        let view = inventory.read();
        let index = index.read();
        let sort = sort();
        let mut rows = index.matching(&view.vms, &filter.read());
        if sort.key == SortKey::Name {
            sort_rows(&mut rows, &view.vms, &fleet.peek(), sort);
        } else {
            sort_rows(&mut rows, &view.vms, &fleet.read(), sort);
        }
        std::rc::Rc::new(rows)
    });
    // Selection only ever names VMs that still exist.
    let live_selection = use_memo(move || {
        let index = index.read();
        let live: Vec<VmId> = selected
            .read()
            .iter()
            .filter(|id| index.by_id.contains_key(id))
            .copied()
            .collect();
        std::rc::Rc::new(live)
    });
    let view = inventory.read();
    let filter = filter.read();
    let selection_count = live_selection.read().len();
    let tag_chips: Vec<(String, usize, bool)> = index
        .read()
        .tags
        .iter()
        .map(|(t, n)| (t.clone(), *n, filter.tags.iter().any(|f| f == t)))
        .collect();
    let find = |id: VmId| index.peek().get(&view.vms, id).cloned();
    let chosen = move || live_selection.peek().to_vec();
    // Exports the tag being filtered (one tag chip on), else everything.
    let export_tag = match filter.tags.as_slice() {
        [tag] => Some(tag.clone()),
        _ => None,
    };
    let export_title = match &export_tag {
        Some(tag) => format!("Save the VMs tagged {tag} as an Ansible YAML inventory"),
        None => "Save every VM as an Ansible YAML inventory".to_string(),
    };

    rsx! {
        section { class: "screen vm-screen",
            div { class: "screen-head",
                h1 { "VMs" }
                div { class: "actions",
                    if selection_count > 0 {
                        button {
                            class: "button",
                            id: "vm-test-selected",
                            onclick: {
                                let ctx = ctx.clone();
                                move |_| {
                                    let vms = inventory.peek().vms.clone();
                                    tests.start(&ctx, chosen(), &vms);
                                }
                            },
                            "Test selected ({selection_count})"
                        }
                        button {
                            class: "button",
                            id: "vm-run-selected",
                            onclick: move |_| panel.set(Panel::Run(chosen())),
                            "Run on selected ({selection_count})"
                        }
                        button {
                            class: "button",
                            id: "vm-run-template-selected",
                            onclick: move |_| consume_context::<crate::command::CommandUi>().open_builder("", chosen()),
                            "Run template…"
                        }
                        button {
                            class: "button",
                            id: "vm-tag-selected",
                            onclick: move |_| panel.set(Panel::Tag(chosen())),
                            "Tag selected…"
                        }
                        button {
                            class: "button danger",
                            id: "vm-delete-selected",
                            onclick: move |_| panel.set(Panel::ConfirmDelete(chosen())),
                            "Delete selected ({selection_count})"
                        }
                    }
                    button {
                        class: "button",
                        id: "vm-import",
                        onclick: move |_| panel.set(Panel::Import),
                        "Import hosts…"
                    }
                    if !view.vms.is_empty() {
                        button {
                            class: "button",
                            id: "vm-export-ansible",
                            title: "{export_title}",
                            onclick: {
                                let ctx = ctx.clone();
                                let tag = export_tag.clone();
                                move |_| import::export_ansible(ctx.clone(), toasts, tag.clone())
                            },
                            "Export to Ansible…"
                        }
                    }
                    button {
                        class: "button primary",
                        id: "vm-add",
                        onclick: move |_| panel.set(Panel::Create),
                        "Add VM"
                    }
                }
            }
            div { class: "toolbar",
                input {
                    class: "search",
                    id: "vm-search",
                    r#type: "search",
                    placeholder: "Search name, host, notes…  tag:prod",
                    // Uncontrolled: echoing keystrokes back could drop typed characters;
                    // tag chips write the box through `set_search`.
                    oninput: move |e| query.set(e.value()),
                }
                div { class: "chips",
                    for (tag, count, active) in tag_chips {
                        button {
                            key: "{tag}",
                            class: if active { "chip active" } else { "chip" },
                            onclick: move |_| set_search(query, toggle_tag(&query(), &tag, active)),
                            "{tag} "
                            span { class: "chip-count", "{count}" }
                        }
                    }
                }
            }
            connection::HostKeyChangedBanner {}
            if let Some(error) = &view.error {
                div { class: "alert error", id: "vm-load-error", "Cannot load the inventory: {error}" }
            }
            if view.loaded && view.vms.is_empty() {
                div { class: "empty-state", id: "vm-empty",
                    p { class: "empty-title", "No VMs yet" }
                    p { "Add a VM by hand, or import the hosts you already have in your SSH config or an Ansible inventory. Or try everything first on a demo fleet of local servers." }
                    div { class: "actions",
                        demo::DemoButton { id: "vm-demo-start" }
                        button { class: "button", onclick: move |_| panel.set(Panel::Import), "Import hosts…" }
                        button { class: "button primary", onclick: move |_| panel.set(Panel::Create), "Add VM" }
                    }
                }
            } else if view.loaded {
                p { class: "muted count", id: "vm-count",
                    "{rows.read().len()} of {view.vms.len()} shown"
                    if selection_count > 0 {
                        span { id: "vm-selection-count", " · {selection_count} selected " }
                        button {
                            class: "link",
                            id: "vm-clear-selection",
                            onclick: move |_| selected.set(BTreeSet::new()),
                            "Clear selection"
                        }
                    }
                }
                table::VmTable { rows, sort, jumps: index.read().jumps, selected, panel }
            }
        }
        connection::SecretDialog {}
        match panel() {
            Panel::Closed => rsx! {},
            Panel::View(id) => match find(id) {
                Some(vm) => rsx! { detail::VmDetail { vm, panel } },
                None => rsx! {},
            },
            Panel::Create => rsx! {
                form::VmForm { editing: None, panel }
            },
            Panel::Edit(id) => match find(id) {
                Some(vm) => rsx! { form::VmForm { editing: Some(vm), panel } },
                None => rsx! {},
            },
            Panel::Import => rsx! { import::ImportDialog { panel } },
            Panel::Run(ids) => rsx! { crate::job::NewJobDialog { ids, on_close: move |_| panel.set(Panel::Closed) } },
            Panel::RunWith { command, tag } => rsx! {
                crate::job::NewJobDialog { ids: Vec::new(), prefill: command, tag, on_close: move |_| panel.set(Panel::Closed) }
            },
            Panel::ConfirmDelete(ids) => {
                let names = listed_names(&ids, find);
                rsx! { ConfirmDelete { ids, names, panel, selected } }
            }
            Panel::Tag(ids) => {
                let names = listed_names(&ids, find);
                rsx! { tag::TagDialog { ids, names, panel } }
            }
        }
        // After the panel: the review opens over a run or import dialog that found keys.
        host_keys::HostKeyReview {
            on_trusted: {
                let ctx = ctx.clone();
                move |ids: Vec<VmId>| {
                    let vms = inventory.peek().vms.clone();
                    // Their status too: probed at once instead of at the next round.
                    ctx.engine.status().probe_soon(&ids);
                    tests.start(&ctx, ids, &vms);
                }
            }
        }
    }
}

/// The names a dialog about `ids` lists: the first [`NAMES_LISTED`].
fn listed_names(ids: &[VmId], find: impl Fn(VmId) -> Option<Vm>) -> Vec<String> {
    ids.iter()
        .take(NAMES_LISTED)
        .filter_map(|id| find(*id))
        .map(|vm| vm.name)
        .collect()
}

/// Changes the search from code: the signal, and the uncontrolled box on the page.
fn set_search(mut query: Signal<String>, text: String) {
    let script = format!(
        "document.getElementById('vm-search').value = {};",
        serde_json::to_string(&text).unwrap_or_default()
    );
    query.set(text);
    document::eval(&script);
}

/// Like [`set_search`], for a screen that may have just been mounted: the box may not be
/// on the page yet when the script runs, so it waits a few frames for it.
fn show_search(mut query: Signal<String>, text: String) {
    let script = format!(
        "const text = {}; let tries = 0; \
         const put = () => {{ const box = document.getElementById('vm-search'); \
           if (box) {{ box.value = text; }} else if (tries++ < 60) {{ requestAnimationFrame(put); }} }}; \
         put();",
        serde_json::to_string(&text).unwrap_or_default()
    );
    query.set(text);
    document::eval(&script);
}

/// Adds `tag:TAG` to a search, or removes it.
fn toggle_tag(query: &str, tag: &str, active: bool) -> String {
    let term = format!("tag:{tag}");
    if active {
        query
            .split_whitespace()
            .filter(|t| !t.eq_ignore_ascii_case(&term))
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        format!("{} {term}", query.trim()).trim().to_string()
    }
}

#[component]
fn ConfirmDelete(
    ids: Vec<VmId>,
    names: Vec<String>,
    panel: Signal<Panel>,
    selected: Signal<BTreeSet<VmId>>,
) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let mut error = use_signal(|| None::<String>);
    let title = match (names.as_slice(), ids.len()) {
        ([one], 1) => format!("Delete {one}?"),
        (_, count) => format!("Delete {count} VMs?"),
    };
    let unlisted = ids.len().saturating_sub(names.len());
    rsx! {
        Modal { title, id: "vm-delete-dialog", on_close: move |_| panel.set(Panel::Closed),
            div { class: "modal-body",
                p { "This removes the VM from the inventory. It does not touch the machine itself." }
                ul { class: "name-list",
                    for name in names.iter() {
                        li { key: "{name}", "{name}" }
                    }
                    if unlisted > 0 {
                        li { class: "muted", id: "vm-delete-more", "and {unlisted} more" }
                    }
                }
                if let Some(message) = error() {
                    div { class: "alert error", "{message}" }
                }
            }
            div { class: "modal-foot",
                button { class: "button", onclick: move |_| panel.set(Panel::Closed), "Cancel" }
                button {
                    class: "button danger",
                    id: "vm-delete-confirm",
                    onclick: move |_| {
                        let inventory = ctx.engine.inventory().clone();
                        let ids = ids.clone();
                        let count = ids.len();
                        spawn(async move {
                            match inventory.delete(&ids).await {
                                Ok(()) => {
                                    selected.with_mut(|s| ids.iter().for_each(|id| { s.remove(id); }));
                                    panel.set(Panel::Closed);
                                    toasts.show(if count == 1 { "VM deleted".to_string() } else { format!("{count} VMs deleted") });
                                }
                                Err(err) => error.set(Some(err.message)),
                            }
                        });
                    },
                    "Delete"
                }
            }
        }
    }
}
