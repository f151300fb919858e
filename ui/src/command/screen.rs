//! The Commands screen: templates by tag, search, create, edit, duplicate, delete, import
//! and export.

use super::editor::TemplateEditor;
use super::files::{export_templates, import_templates};
use super::use_command_ui;
use crate::shared::modal::Modal;
use crate::shared::toast::use_toasts;
use crate::UiContext;
use dioxus::prelude::*;
use tokio::sync::broadcast::error::RecvError;
use vmo_engine::commands::TemplateEntry;

/// What is open over the list.
#[derive(Debug, Clone, PartialEq)]
enum Panel {
    Closed,
    Create,
    Edit(String),
    ConfirmDelete(String),
}

/// The templates, loaded once and reloaded on every command event.
fn use_templates() -> Signal<Result<Vec<TemplateEntry>, String>> {
    let ctx = use_context::<UiContext>();
    let mut list = use_signal(|| Ok(Vec::new()));
    use_future(move || {
        let commands = ctx.engine.commands().clone();
        async move {
            let mut events = commands.subscribe();
            loop {
                list.set(commands.list().await.map_err(|e| e.message));
                loop {
                    match events.recv().await {
                        Ok(vmo_engine::commands::CommandEvent::HistoryChanged) => continue,
                        Ok(_) | Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => return,
                    }
                }
            }
        }
    });
    list
}

/// Whether `entry` matches every word of `query` (name, description, tags, command).
fn matches(entry: &TemplateEntry, query: &str) -> bool {
    let t = &entry.template;
    let hay = format!(
        "{} {} {} {}",
        t.name,
        t.description,
        t.tags.join(" "),
        t.command
    )
    .to_lowercase();
    query
        .split_whitespace()
        .all(|word| hay.contains(&word.to_lowercase()))
}

/// Templates grouped by their first tag ("untagged" last), each group sorted by name.
fn grouped(entries: Vec<TemplateEntry>) -> Vec<(String, Vec<TemplateEntry>)> {
    let mut groups: std::collections::BTreeMap<String, Vec<TemplateEntry>> = Default::default();
    for entry in entries {
        let key = entry
            .template
            .tags
            .first()
            .cloned()
            .unwrap_or_else(|| "~untagged".into());
        groups.entry(key).or_default().push(entry);
    }
    groups
        .into_iter()
        .map(|(tag, mut list)| {
            list.sort_by_key(|e| e.template.name.to_lowercase());
            (tag.trim_start_matches('~').to_string(), list)
        })
        .collect()
}

#[component]
pub fn CommandsScreen() -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let templates = use_templates();
    let mut query = use_signal(String::new);
    let mut tag = use_signal(|| None::<String>);
    let mut panel = use_signal(|| Panel::Closed);
    let command_ui = use_command_ui();
    // "New template" asked from the palette: open the editor once.
    let mut asked = command_ui.new_template;
    use_effect(move || {
        if asked() {
            asked.set(false);
            panel.set(Panel::Create);
        }
    });

    let all = match &*templates.read() {
        Ok(all) => all.clone(),
        Err(e) => {
            return rsx! {
                section { class: "screen", div { class: "alert error", id: "commands-error", "Cannot load the templates: {e}" } }
            }
        }
    };
    let mut tags: Vec<String> = all.iter().flat_map(|e| e.template.tags.clone()).collect();
    tags.sort();
    tags.dedup();
    let chosen_tag = tag();
    let shown: Vec<TemplateEntry> = all
        .iter()
        .filter(|e| matches(e, &query()))
        .filter(|e| match &chosen_tag {
            Some(t) => e.template.tags.contains(t),
            None => true,
        })
        .cloned()
        .collect();
    let count = shown.len();
    let total = all.len();
    let groups = grouped(shown);
    let import_ctx = ctx.clone();

    rsx! {
        section { class: "screen commands-screen", id: "commands-screen",
            div { class: "screen-head",
                h1 { "Commands" }
                div { class: "actions",
                    button {
                        class: "button",
                        id: "commands-palette",
                        title: "Find templates, VMs and recent commands (Ctrl+K)",
                        onclick: move |_| command_ui.open_palette(),
                        "Find… Ctrl+K"
                    }
                    button {
                        class: "button",
                        id: "commands-import",
                        onclick: move |_| import_templates(import_ctx.clone(), toasts),
                        "Import…"
                    }
                    button {
                        class: "button",
                        id: "commands-export",
                        onclick: move |_| export_templates(ctx.clone(), toasts),
                        "Export…"
                    }
                    button {
                        class: "button primary",
                        id: "commands-new",
                        onclick: move |_| panel.set(Panel::Create),
                        "New template"
                    }
                }
            }
            div { class: "toolbar",
                input {
                    class: "search",
                    id: "commands-search",
                    r#type: "search",
                    placeholder: "Search name, description, command…",
                    oninput: move |e| query.set(e.value()),
                }
                div { class: "chips", id: "commands-tags",
                    for t in tags {
                        button {
                            key: "{t}",
                            class: if chosen_tag.as_deref() == Some(t.as_str()) { "chip active" } else { "chip" },
                            onclick: {
                                let t = t.clone();
                                move |_| {
                                    let same = tag.peek().as_deref() == Some(t.as_str());
                                    tag.set(if same { None } else { Some(t.clone()) });
                                }
                            },
                            "{t}"
                        }
                    }
                }
            }
            div { class: "template-groups", id: "commands-list",
                for (group, entries) in groups {
                    div { key: "{group}", class: "template-group",
                        h2 { class: "template-group-title", "{group}" }
                        for entry in entries {
                            TemplateCard { key: "{entry.template.name}", entry, panel }
                        }
                    }
                }
            }
            p { class: "muted count", id: "commands-count", "{count} of {total} templates shown" }
        }
        match panel() {
            Panel::Closed => rsx! {},
            Panel::Create => rsx! { TemplateEditor { editing: None, on_close: move |_| panel.set(Panel::Closed) } },
            Panel::Edit(name) => match all.iter().find(|e| e.template.name == name) {
                Some(entry) => rsx! { TemplateEditor { editing: Some(entry.template.clone()), on_close: move |_| panel.set(Panel::Closed) } },
                None => rsx! {},
            },
            Panel::ConfirmDelete(name) => rsx! { ConfirmDelete { name, panel } },
        }
    }
}

/// Dots and spaces are not welcome in element ids.
pub(super) fn dom_id(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[component]
fn TemplateCard(entry: TemplateEntry, panel: Signal<Panel>) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let command_ui = use_command_ui();
    let t = entry.template.clone();
    let id = dom_id(&t.name);
    let name = t.name.clone();
    let duplicate = move |_| {
        let commands = ctx.engine.commands().clone();
        let name = name.clone();
        spawn(async move {
            match commands.duplicate(&name).await {
                Ok(copy) => {
                    toasts.show(format!("Copied as {}", copy.template.name));
                    panel.set(Panel::Edit(copy.template.name));
                }
                Err(e) => toasts.error(e.message),
            }
        });
    };
    rsx! {
        div { class: "card template-card", id: "template-{id}",
            div { class: "template-head",
                strong { class: "template-name", "{t.name}" }
                if entry.starter {
                    span { class: "badge starter", title: "From the starter library: read-only", "starter" }
                }
                if t.dangerous {
                    span { class: "badge bad", "dangerous" }
                }
                for tag in t.tags.iter() {
                    span { key: "{tag}", class: "tag", "{tag}" }
                }
                div { class: "actions template-actions",
                    button {
                        class: "button small primary",
                        id: "template-run-{id}",
                        onclick: {
                            let name = t.name.clone();
                            move |_| command_ui.open_builder(name.clone(), Vec::new())
                        },
                        "Run…"
                    }
                    if entry.starter {
                        button { class: "button small", id: "template-duplicate-{id}", onclick: duplicate, "Duplicate to edit" }
                    } else {
                        button {
                            class: "button small",
                            id: "template-edit-{id}",
                            onclick: {
                                let name = t.name.clone();
                                move |_| panel.set(Panel::Edit(name.clone()))
                            },
                            "Edit"
                        }
                        button { class: "button small", id: "template-duplicate-{id}", onclick: duplicate, "Duplicate" }
                        button {
                            class: "button small danger-text",
                            id: "template-delete-{id}",
                            onclick: {
                                let name = t.name.clone();
                                move |_| panel.set(Panel::ConfirmDelete(name.clone()))
                            },
                            "Delete"
                        }
                    }
                }
            }
            if !t.description.is_empty() {
                p { class: "muted template-description", "{t.description}" }
            }
            code { class: "template-command", "{t.command}" }
        }
    }
}

#[component]
fn ConfirmDelete(name: String, panel: Signal<Panel>) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let mut error = use_signal(|| None::<String>);
    rsx! {
        Modal { title: "Delete {name}?", id: "template-delete-dialog", on_close: move |_| panel.set(Panel::Closed),
            div { class: "modal-body",
                p { "This removes the template. Jobs that ran from it keep their command and values." }
                if let Some(message) = error() {
                    div { class: "alert error", "{message}" }
                }
            }
            div { class: "modal-foot",
                button { class: "button", onclick: move |_| panel.set(Panel::Closed), "Cancel" }
                button {
                    class: "button danger",
                    id: "template-delete-confirm",
                    onclick: move |_| {
                        let commands = ctx.engine.commands().clone();
                        let name = name.clone();
                        spawn(async move {
                            match commands.delete(&name).await {
                                Ok(()) => {
                                    panel.set(Panel::Closed);
                                    toasts.show(format!("Deleted {name}"));
                                }
                                Err(e) => error.set(Some(e.message)),
                            }
                        });
                    },
                    "Delete"
                }
            }
        }
    }
}
