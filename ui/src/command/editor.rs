//! Creating and editing a template: its fields, its typed parameters, and a live preview of
//! the command rendered for sample values, with each problem next to its field.

use super::params::field_problem;
use crate::shared::modal::Modal;
use crate::shared::toast::use_toasts;
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::BTreeMap;
use vmo_engine::commands::model::render;
use vmo_engine::commands::model::Problem;
use vmo_engine::commands::{Param, ParamType, Template, Value, Values};

/// Every type a parameter can have, as the select lists them.
const TYPES: [ParamType; 5] = [
    ParamType::Text,
    ParamType::Integer,
    ParamType::Choice,
    ParamType::Boolean,
    ParamType::Path,
];

/// Words separated by commas or spaces.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// `None` for a blank field.
fn non_empty(text: &str) -> Option<String> {
    Some(text.to_string()).filter(|t| !t.trim().is_empty())
}

#[component]
pub fn TemplateEditor(editing: Option<Template>, on_close: EventHandler<()>) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let original = editing.as_ref().map(|t| t.name.clone());
    let start = editing.unwrap_or_else(|| Template::new("", ""));
    let mut draft = use_signal(|| start.clone());
    // One key per declared parameter, so removing one keeps the others' inputs in place.
    let mut keys = use_signal(|| (0..start.declared.len() as u64).collect::<Vec<u64>>());
    let mut next_key = use_signal(|| start.declared.len() as u64);
    let samples = use_signal(BTreeMap::<String, String>::new);
    let mut tried = use_signal(|| false);
    let mut refused = use_signal(|| None::<(String, Vec<Problem>)>);

    let current = draft();
    let defined = current.validate().err().map(|p| p.0).unwrap_or_default();
    let server = refused().map(|(_, p)| p).unwrap_or_default();
    let problem = |field: &str| -> Option<String> {
        let shown = field.starts_with("params.") || tried();
        shown
            .then(|| field_problem(&defined, field).or_else(|| field_problem(&server, field)))
            .flatten()
    };
    let undeclared: Vec<String> = current
        .placeholders()
        .into_iter()
        .filter(|p| !current.declared.iter().any(|d| d.name == *p))
        .collect();
    let title = match &original {
        Some(name) => format!("Edit {name}"),
        None => "New template".to_string(),
    };

    let save = move |_| {
        tried.set(true);
        let template = draft.peek().clone();
        if template.validate().is_err() {
            return;
        }
        let commands = ctx.engine.commands().clone();
        let original = original.clone();
        spawn(async move {
            let saved = match &original {
                Some(name) => commands.update(name, template).await,
                None => commands.create(template).await,
            };
            match saved {
                Ok(entry) => {
                    toasts.show(format!("Saved {}", entry.template.name));
                    on_close.call(());
                }
                Err(e) => {
                    let problems = e
                        .fields
                        .iter()
                        .map(|f| Problem::new(f.field.to_string(), f.message.clone()))
                        .collect();
                    refused.set(Some((e.message, problems)));
                }
            }
        });
    };

    rsx! {
        Modal { title, id: "template-editor", on_close: move |_| on_close.call(()),
            div { class: "modal-body form-grid template-editor",
                div { class: "field-row",
                    div { class: "field grow",
                        label { r#for: "editor-name", "Name" }
                        input {
                            id: "editor-name",
                            initial_value: "{start.name}",
                            placeholder: "restart-service",
                            autofocus: true,
                            oninput: move |e| draft.write().name = e.value(),
                        }
                        FieldError { message: problem("name") }
                    }
                    div { class: "field grow",
                        label { r#for: "editor-tags", "Tags" }
                        input {
                            id: "editor-tags",
                            initial_value: "{start.tags.join(\" \")}",
                            placeholder: "systemd web",
                            oninput: move |e| draft.write().tags = words(&e.value()),
                        }
                        FieldError { message: problem("tags") }
                    }
                }
                div { class: "field",
                    label { r#for: "editor-description", "Description" }
                    input {
                        id: "editor-description",
                        initial_value: "{start.description}",
                        oninput: move |e| draft.write().description = e.value(),
                    }
                }
                div { class: "field",
                    label { r#for: "editor-command", "Command" }
                    textarea {
                        id: "editor-command",
                        class: "mono",
                        rows: "3",
                        initial_value: "{start.command}",
                        placeholder: "sudo systemctl restart {{{{unit}}}}",
                        oninput: move |e| draft.write().command = e.value(),
                    }
                    p { class: "hint", "Write {{{{name}}}} where a value goes (or {{{{name:default}}}}); values are quoted for the remote shell." }
                    FieldError { message: problem("command") }
                }
                div { class: "field-row",
                    div { class: "field grow",
                        label { r#for: "editor-default-targets", "Default targets (a VM tag)" }
                        input {
                            id: "editor-default-targets",
                            initial_value: "{start.default_targets.clone().unwrap_or_default()}",
                            oninput: move |e| draft.write().default_targets = non_empty(&e.value()).map(|t| t.trim().to_string()),
                        }
                        FieldError { message: problem("default_targets") }
                    }
                    label { class: "check",
                        input {
                            r#type: "checkbox",
                            id: "editor-dangerous",
                            initial_checked: start.dangerous,
                            onchange: move |e| draft.write().dangerous = e.checked(),
                        }
                        "Dangerous: always ask before running"
                    }
                }
                div { class: "params-head",
                    h3 { "Parameters" }
                    if !undeclared.is_empty() {
                        span { class: "muted", "Not declared (required text): {undeclared.join(\", \")} " }
                        button {
                            class: "button small",
                            id: "editor-declare",
                            onclick: move |_| {
                                let names = undeclared.clone();
                                for name in names {
                                    draft.write().declared.push(Param::text(name));
                                    keys.write().push(next_key());
                                    next_key += 1;
                                }
                            },
                            "Declare them"
                        }
                    }
                    button {
                        class: "button small",
                        id: "editor-add-param",
                        onclick: move |_| {
                            draft.write().declared.push(Param::text(""));
                            keys.write().push(next_key());
                            next_key += 1;
                        },
                        "Add parameter"
                    }
                }
                for (index, (key, param)) in keys().into_iter().zip(current.declared.clone()).enumerate() {
                    ParamEditor {
                        key: "{key}",
                        index,
                        param: param.clone(),
                        draft,
                        keys,
                        problem: field_problem(&defined, &format!("params.{}", param.name)),
                    }
                }
                Preview { template: current.clone(), samples }
                if let Some((message, _)) = refused() {
                    div { class: "alert error", id: "editor-error", "{message}" }
                }
            }
            div { class: "modal-foot",
                button { class: "button", onclick: move |_| on_close.call(()), "Cancel" }
                button { class: "button primary", id: "editor-save", onclick: save, "Save" }
            }
        }
    }
}

#[component]
pub fn FieldError(message: Option<String>) -> Element {
    match message {
        Some(m) => rsx! { p { class: "field-error", "{m}" } },
        None => rsx! {},
    }
}

/// One declared parameter's definition; `index` is its place in `draft.declared`.
#[component]
fn ParamEditor(
    index: usize,
    param: Param,
    draft: Signal<Template>,
    keys: Signal<Vec<u64>>,
    problem: Option<String>,
) -> Element {
    let mut edit = move |change: &dyn Fn(&mut Param)| {
        if let Some(p) = draft.write().declared.get_mut(index) {
            change(p);
        }
    };
    let n = index;
    let kind = param.kind;
    rsx! {
        div { class: "param-editor", id: "editor-param-{n}",
            div { class: "field-row",
                div { class: "field",
                    label { "Name" }
                    input {
                        id: "editor-param-{n}-name",
                        class: "mono",
                        initial_value: "{param.name}",
                        oninput: move |e| edit(&|p| p.name = e.value()),
                    }
                }
                div { class: "field",
                    label { "Type" }
                    select {
                        id: "editor-param-{n}-type",
                        onchange: move |e| {
                            let chosen = TYPES.into_iter().find(|t| t.as_str() == e.value()).unwrap_or_default();
                            edit(&|p| p.kind = chosen)
                        },
                        for t in TYPES {
                            option { value: t.as_str(), selected: t == kind, {t.as_str()} }
                        }
                    }
                }
                div { class: "field",
                    label { "Default" }
                    input {
                        id: "editor-param-{n}-default",
                        initial_value: "{param.default.clone().unwrap_or_default()}",
                        oninput: move |e| edit(&|p| p.default = Some(e.value()).filter(|v| !v.is_empty())),
                    }
                }
                label { class: "check",
                    input {
                        r#type: "checkbox",
                        id: "editor-param-{n}-required",
                        initial_checked: param.required,
                        onchange: move |e| edit(&|p| p.required = e.checked()),
                    }
                    "Required"
                }
                button {
                    class: "icon-button",
                    title: "Remove this parameter",
                    id: "editor-param-{n}-remove",
                    onclick: move |_| {
                        if index < draft.peek().declared.len() {
                            draft.write().declared.remove(index);
                            keys.write().remove(index);
                        }
                    },
                    "✕"
                }
            }
            div { class: "field-row",
                div { class: "field grow",
                    label { "Description" }
                    input {
                        id: "editor-param-{n}-description",
                        initial_value: "{param.description}",
                        oninput: move |e| edit(&|p| p.description = e.value()),
                    }
                }
                if kind == ParamType::Integer {
                    div { class: "field",
                        label { "Min" }
                        input {
                            id: "editor-param-{n}-min",
                            class: "narrow",
                            r#type: "number",
                            initial_value: "{param.min.map(|v| v.to_string()).unwrap_or_default()}",
                            oninput: move |e| edit(&|p| p.min = e.value().trim().parse().ok()),
                        }
                    }
                    div { class: "field",
                        label { "Max" }
                        input {
                            id: "editor-param-{n}-max",
                            class: "narrow",
                            r#type: "number",
                            initial_value: "{param.max.map(|v| v.to_string()).unwrap_or_default()}",
                            oninput: move |e| edit(&|p| p.max = e.value().trim().parse().ok()),
                        }
                    }
                }
            }
            div { class: "field-row",
                div { class: "field grow",
                    label { "Choices (one per line)" }
                    textarea {
                        id: "editor-param-{n}-choices",
                        rows: "2",
                        initial_value: "{param.choices.join(\"\\n\")}",
                        oninput: move |e| edit(&|p| p.choices = e.value().lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()),
                    }
                }
                div { class: "field grow",
                    label { "Or a suggest command (run on the first target)" }
                    input {
                        id: "editor-param-{n}-suggest",
                        class: "mono",
                        placeholder: "systemctl list-units --type=service --plain --no-legend | cut -d' ' -f1",
                        initial_value: "{param.suggest.clone().unwrap_or_default()}",
                        oninput: move |e| edit(&|p| p.suggest = non_empty(&e.value())),
                    }
                }
            }
            FieldError { message: problem }
        }
    }
}

/// The command as it would be sent, for the sample values typed here.
#[component]
fn Preview(template: Template, samples: Signal<BTreeMap<String, String>>) -> Element {
    let values: Values = samples()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, Value::from_bytes(v)))
        .collect();
    let rendered = render(&template, &values);
    let problems = rendered
        .as_ref()
        .err()
        .map(|p| p.0.clone())
        .unwrap_or_default();
    rsx! {
        div { class: "template-preview",
            h3 { "Preview" }
            for param in template.params() {
                div { key: "{param.name}", class: "field sample",
                    label { r#for: "editor-sample-{param.name}", "{param.name} (sample)" }
                    input {
                        id: "editor-sample-{param.name}",
                        placeholder: "{param.default.clone().unwrap_or_default()}",
                        oninput: {
                            let name = param.name.clone();
                            move |e: FormEvent| {
                                samples.write().insert(name.clone(), e.value());
                            }
                        },
                    }
                    if samples.read().get(&param.name).is_some_and(|v| !v.is_empty()) {
                        FieldError { message: field_problem(&problems, &format!("values.{}", param.name)) }
                    }
                }
            }
            match rendered {
                Ok(r) => rsx! { pre { class: "command-preview", id: "editor-preview", "{r.command}" } },
                Err(_) => rsx! { pre { class: "command-preview muted", id: "editor-preview", "— fill the samples and fix the fields above to see the command —" } },
            }
        }
    }
}
