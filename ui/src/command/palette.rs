//! The command palette (Ctrl+K): fuzzy-find screens, VMs, tags, templates, recent commands
//! and actions from anywhere.
//!
//! Ctrl+K is heard by a small script on the page (`document`, capture phase), so it works
//! whatever has the focus, even nothing; the script also remembers what had the focus, so
//! Esc puts it back. The index is built when the palette opens and again on inventory and
//! command events; each keystroke searches it on a blocking thread.

use super::search::{search, Highlighted};
use super::{use_command_ui, CommandUi};
use crate::shell::Screen;
use crate::vm::{use_vm_requests, VmRequest};
use crate::UiContext;
use dioxus::prelude::*;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use vmo_engine::commands::{Hit, Item, ItemKind, SearchIndex};
use vmo_engine::{Vm, VmId};

/// Results shown at once.
const LIMIT: usize = 50;

/// Installed once per page. Ctrl+K (or ⌘K) opens the palette, remembering the focused
/// element; keys the palette and a completion list use are kept from moving the caret
/// or the focus (liveview handlers cannot prevent defaults themselves).
///
/// It answers through the liveview socket itself (`window.interpreter.ipc`), not through
/// the eval glue's `dioxus.send`: that posts to `window.ipc`, which in the app's webview is
/// the native IPC object (read-only, and closed to the UI origin), so nothing would arrive.
const KEYS_JS: &str = r#"
const send = (value) => {
    const ipc = (window.interpreter && window.interpreter.ipc) || window.ipc;
    ipc.postMessage(JSON.stringify({
        method: 'query',
        params: { id: _request_id, data: value, returned_value: false },
    }));
};
const remember = () => {
    const el = document.activeElement;
    if (el && el !== document.body && !(el.closest && el.closest('#palette'))) {
        window.__vmoPaletteReturn = el;
    }
};
const onKey = (e) => {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && (e.key === 'k' || e.key === 'K')) {
        e.preventDefault();
        e.stopPropagation();
        remember();
        send('open');
        return;
    }
    const id = e.target && e.target.id;
    const listKey = e.key === 'ArrowDown' || e.key === 'ArrowUp' || e.key === 'Tab';
    if (listKey && id === 'palette-input') {
        e.preventDefault();
    }
    if (listKey && id === 'run-command' && document.getElementById('run-suggestions')) {
        e.preventDefault();
    }
};
const onPointer = (e) => {
    if (e.target && e.target.closest && e.target.closest('#palette-open')) {
        remember();
    }
};
if (window.__vmoKeys) {
    document.removeEventListener('keydown', window.__vmoKeys.key, true);
    document.removeEventListener('mousedown', window.__vmoKeys.pointer, true);
}
window.__vmoKeys = { key: onKey, pointer: onPointer };
document.addEventListener('keydown', onKey, true);
document.addEventListener('mousedown', onPointer, true);
"#;

/// Back to where the focus was before the palette opened.
const RESTORE_FOCUS_JS: &str = r#"
const el = window.__vmoPaletteReturn;
window.__vmoPaletteReturn = null;
if (el && el.isConnected && el.focus) { el.focus(); }
"#;

const FOCUS_INPUT_JS: &str =
    "const box = document.getElementById('palette-input'); if (box) { box.focus(); }";

/// The palette when open, and the Ctrl+K listener always.
#[component]
pub fn Palette() -> Element {
    let ui = use_command_ui();
    use_global_keys(ui);
    rsx! {
        if (ui.palette_open)() {
            PaletteDialog {}
        }
    }
}

fn use_global_keys(ui: CommandUi) {
    use_future(move || async move {
        let mut keys = document::eval(KEYS_JS);
        loop {
            match keys.recv::<String>().await {
                Ok(message) if message == "open" => {
                    if *ui.palette_open.peek() {
                        document::eval(FOCUS_INPUT_JS);
                    } else {
                        ui.open_palette();
                    }
                }
                Ok(_) => {}
                Err(err) => {
                    tracing::warn!("Ctrl+K listener stopped: {err}");
                    break;
                }
            }
        }
    });
}

/// Screens by key, as the palette lists them.
const SCREENS: [(&str, &str, Screen); 5] = [
    ("dashboard", "Dashboard", Screen::Dashboard),
    ("vms", "VMs", Screen::Vms),
    ("jobs", "Jobs", Screen::Jobs),
    ("commands", "Commands", Screen::Commands),
    ("settings", "Settings", Screen::Settings),
];

/// Screens and actions: what the engine does not know of.
fn extra_items(vms: &[Vm]) -> Vec<Item> {
    let tags: Vec<&str> = vms
        .iter()
        .flat_map(|vm| vm.tags.iter().map(String::as_str))
        .collect();
    extra_items_for(tags)
}

fn extra_items_for(mut tags: Vec<&str>) -> Vec<Item> {
    let mut items: Vec<Item> = SCREENS
        .iter()
        .map(|(key, label, _)| Item::new(ItemKind::Screen, *key, *label).with_detail("screen"))
        .collect();
    let actions = [
        ("test-all", "Test all VMs", "connection test of every VM"),
        ("new-vm", "New VM", "add a VM by hand"),
        (
            "import",
            "Import hosts…",
            "from ~/.ssh/config or an Ansible inventory",
        ),
        ("new-template", "New template", "opens the template editor"),
        ("run", "Run a command…", "on all VMs"),
    ];
    items.extend(actions.iter().map(|(key, label, detail)| {
        Item::new(ItemKind::Action, *key, *label).with_detail(*detail)
    }));
    tags.sort_unstable();
    tags.dedup();
    items.extend(tags.into_iter().map(|tag| {
        Item::new(
            ItemKind::Action,
            format!("run-tag:{tag}"),
            format!("Run on tag:{tag}"),
        )
        .with_detail("run a command on these VMs")
    }));
    items
}

/// What a result is, in a word.
fn kind_label(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::Action => "action",
        ItemKind::Screen => "screen",
        ItemKind::Template => "template",
        ItemKind::Vm => "VM",
        ItemKind::Tag => "tag",
        ItemKind::History => "recent",
    }
}

/// Where Enter on an item leads.
#[derive(Debug, Clone, PartialEq)]
enum Target {
    Screen(Screen),
    Vms(VmRequest),
    Builder(String),
    NewTemplate,
}

fn target(item: &Item) -> Option<Target> {
    let key = item.key.clone();
    Some(match item.kind {
        ItemKind::Screen => Target::Screen(SCREENS.iter().find(|s| s.0 == key)?.2),
        ItemKind::Vm => Target::Vms(VmRequest::View(VmId(key.parse().ok()?))),
        ItemKind::Tag => Target::Vms(VmRequest::Tag(key)),
        ItemKind::Template => Target::Builder(key),
        ItemKind::History => Target::Vms(VmRequest::Run {
            command: key,
            tag: None,
        }),
        ItemKind::Action => match key.as_str() {
            "test-all" => Target::Vms(VmRequest::TestAll),
            "new-vm" => Target::Vms(VmRequest::Create),
            "import" => Target::Vms(VmRequest::Import),
            "new-template" => Target::NewTemplate,
            "run" => Target::Vms(VmRequest::Run {
                command: String::new(),
                tag: None,
            }),
            other => Target::Vms(VmRequest::Run {
                command: String::new(),
                tag: Some(other.strip_prefix("run-tag:")?.to_string()),
            }),
        },
    })
}

/// Builds the index now and again on every inventory or command change, while mounted.
fn use_palette_index() -> (Signal<Option<Arc<SearchIndex>>>, Signal<Option<String>>) {
    let ctx = use_context::<UiContext>();
    let mut index = use_signal(|| None::<Arc<SearchIndex>>);
    let mut error = use_signal(|| None::<String>);
    use_future(move || {
        let ctx = ctx.clone();
        async move {
            let commands = ctx.engine.commands().clone();
            let inventory = ctx.engine.inventory().clone();
            let mut command_events = commands.subscribe();
            let mut inventory_events = inventory.subscribe();
            loop {
                let vms = inventory.list().await.unwrap_or_default();
                match commands.palette(extra_items(&vms)).await {
                    Ok(built) => {
                        index.set(Some(Arc::new(built)));
                        error.set(None);
                    }
                    Err(err) => error.set(Some(err.message)),
                }
                let closed = tokio::select! {
                    event = command_events.recv() => matches!(event, Err(RecvError::Closed)),
                    event = inventory_events.recv() => matches!(event, Err(RecvError::Closed)),
                };
                if closed {
                    break;
                }
            }
        }
    });
    (index, error)
}

#[component]
fn PaletteDialog() -> Element {
    let mut ui = use_command_ui();
    let mut screen = use_context::<Signal<Screen>>();
    let mut requests = use_vm_requests();
    let (index, error) = use_palette_index();
    let mut query = use_signal(String::new);
    let mut selected = use_signal(|| 0usize);
    let mut hits = use_signal(Vec::<Hit>::new);
    // The query the shown hits answer (tests and benchmarks wait for it).
    let mut answered = use_signal(String::new);

    // Each keystroke (or a new index) searches again; a newer one cancels an older one.
    let _search = use_resource(move || async move {
        let text = query();
        let Some(index) = index() else { return };
        let found = search(index, text.clone(), LIMIT).await;
        selected.set(0);
        hits.set(found);
        answered.set(text);
    });

    let mut close = move |restore_focus: bool| {
        ui.palette_open.set(false);
        if restore_focus {
            document::eval(RESTORE_FOCUS_JS);
        }
    };
    let mut activate = move |item: Item| {
        close(false);
        match target(&item) {
            Some(Target::Screen(s)) => screen.set(s),
            Some(Target::Vms(request)) => {
                requests.set(Some(request));
                screen.set(Screen::Vms);
            }
            Some(Target::Builder(name)) => ui.open_builder(name, Vec::new()),
            Some(Target::NewTemplate) => {
                let mut new_template = ui.new_template;
                new_template.set(true);
                screen.set(Screen::Commands);
            }
            None => tracing::warn!("palette item without a target: {item:?}"),
        }
    };

    let shown = hits.read().clone();
    let count = shown.len();
    let loading = index.read().is_none() && error.read().is_none();
    rsx! {
        div { class: "backdrop palette-backdrop", onclick: move |_| close(true),
            div {
                class: "palette",
                id: "palette",
                role: "dialog",
                onclick: move |e| e.stop_propagation(),
                onkeydown: move |e| match e.key() {
                    Key::Escape => close(true),
                    Key::ArrowDown if count > 0 => select(selected, (selected() + 1) % count),
                    Key::ArrowUp if count > 0 => select(selected, (selected() + count - 1) % count),
                    Key::Enter => {
                        if let Some(item) = chosen(index, query, answered, hits, selected) {
                            activate(item);
                        }
                    }
                    _ => {}
                },
                input {
                    id: "palette-input",
                    class: "palette-input",
                    r#type: "text",
                    placeholder: "Search VMs, tags, templates, recent commands, screens, actions…",
                    autocomplete: "off",
                    spellcheck: "false",
                    onmounted: move |_| {
                        document::eval(FOCUS_INPUT_JS);
                    },
                    oninput: move |e| query.set(e.value()),
                }
                if let Some(message) = error() {
                    div { class: "alert error", id: "palette-error", "Cannot search: {message}" }
                }
                ul { class: "palette-hits", id: "palette-hits", role: "listbox", "data-query": "{answered}",
                    for (i, hit) in shown.into_iter().enumerate() {
                        PaletteHit {
                            key: "{i}-{hit.item.key}",
                            index: i,
                            hit: hit.clone(),
                            selected: i == selected(),
                            on_pick: activate,
                        }
                    }
                }
                if count == 0 && !loading {
                    p { class: "muted palette-empty", id: "palette-empty", "Nothing matches." }
                }
                div { class: "palette-foot muted",
                    span { kbd { "↑" } kbd { "↓" } " move" }
                    span { kbd { "Enter" } " open or run" }
                    span { kbd { "Esc" } " close" }
                }
            }
        }
    }
}

/// Highlights hit `at`, scrolled into view.
fn select(mut selected: Signal<usize>, at: usize) {
    selected.set(at);
    document::eval(&format!(
        "const hit = document.getElementById('palette-hit-{at}'); \
         if (hit) {{ hit.scrollIntoView({{ block: 'nearest' }}); }}"
    ));
}

/// What Enter acts on: the highlighted hit, or — when the last keystroke's answer has not
/// arrived yet (Enter typed right after a letter) — the best hit for what is typed now,
/// searched here once rather than acting on the previous query's list.
fn chosen(
    index: Signal<Option<Arc<SearchIndex>>>,
    query: Signal<String>,
    answered: Signal<String>,
    hits: Signal<Vec<Hit>>,
    selected: Signal<usize>,
) -> Option<Item> {
    if *answered.peek() == *query.peek() {
        return hits
            .peek()
            .get(*selected.peek())
            .map(|hit| hit.item.clone());
    }
    let index = index.peek().clone()?;
    let best = index.search(&query.peek(), 1);
    best.into_iter().next().map(|hit| hit.item)
}

#[component]
fn PaletteHit(index: usize, hit: Hit, selected: bool, on_pick: EventHandler<Item>) -> Element {
    let item = hit.item.clone();
    rsx! {
        li {
            id: "palette-hit-{index}",
            role: "option",
            class: if selected { "palette-hit selected" } else { "palette-hit" },
            "data-kind": kind_label(hit.item.kind),
            onclick: move |_| on_pick.call(item.clone()),
            span { class: "palette-kind", "{kind_label(hit.item.kind)}" }
            span { class: "palette-label",
                Highlighted { text: hit.item.label.clone(), positions: hit.label_positions.clone() }
            }
            if !hit.item.detail.is_empty() {
                span { class: "palette-detail",
                    Highlighted { text: hit.item.detail.clone(), positions: hit.detail_positions.clone() }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_item_has_a_target() {
        for item in extra_items_for(vec!["web", "db", "web"]) {
            assert!(target(&item).is_some(), "{item:?}");
        }
        let tag_run = Item::new(ItemKind::Action, "run-tag:web", "Run on tag:web");
        assert_eq!(
            target(&tag_run),
            Some(Target::Vms(VmRequest::Run {
                command: String::new(),
                tag: Some("web".into())
            }))
        );
        assert_eq!(
            target(&Item::new(ItemKind::Vm, "7", "host1")),
            Some(Target::Vms(VmRequest::View(VmId(7))))
        );
        assert_eq!(target(&Item::new(ItemKind::Vm, "x", "bad")), None);
    }
}
