//! The builder's form: one field per parameter, typed, with suggestions from a host.

use super::screen::dom_id;
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::BTreeMap;
use vmo_engine::commands::model::Problem;
use vmo_engine::commands::{Param, ParamType};
use vmo_engine::VmId;

/// The message for `field` among `problems`, if any.
pub fn field_problem(problems: &[Problem], field: &str) -> Option<String> {
    problems
        .iter()
        .find(|p| p.field == field)
        .map(|p| p.message.clone())
}

/// Writes a value into an uncontrolled input from code (a suggestion was picked).
fn set_input(id: &str, value: &str) {
    let script = format!(
        "const e = document.getElementById({}); if (e) {{ e.value = {}; }}",
        serde_json::to_string(id).unwrap_or_default(),
        serde_json::to_string(value).unwrap_or_default()
    );
    document::eval(&script);
}

#[component]
pub fn ParamField(
    template: String,
    param: Param,
    values: Signal<BTreeMap<String, String>>,
    first_vm: Option<VmId>,
    problem: Option<String>,
) -> Element {
    let name = param.name.clone();
    let input_id = format!("builder-param-{}", dom_id(&name));
    let default = param.default.clone().unwrap_or_default();
    let set = {
        let name = name.clone();
        move |value: String| {
            values.write().insert(name.clone(), value);
        }
    };
    let field = match param.kind {
        ParamType::Boolean => rsx! {
            select {
                id: "{input_id}",
                onchange: {
                    let mut set = set.clone();
                    move |e: FormEvent| set(e.value())
                },
                option { value: "", if default.is_empty() { "—" } else { "default ({default})" } }
                option { value: "true", "true" }
                option { value: "false", "false" }
            }
        },
        ParamType::Choice if param.suggest.is_none() => rsx! {
            select {
                id: "{input_id}",
                onchange: {
                    let mut set = set.clone();
                    move |e: FormEvent| set(e.value())
                },
                option { value: "", if default.is_empty() { "choose…" } else { "default ({default})" } }
                for choice in param.choices.iter() {
                    option { key: "{choice}", value: "{choice}", "{choice}" }
                }
            }
        },
        _ => rsx! {
            input {
                id: "{input_id}",
                class: "mono",
                r#type: if param.kind == ParamType::Integer { "number" } else { "text" },
                placeholder: "{default}",
                oninput: {
                    let mut set = set.clone();
                    move |e: FormEvent| set(e.value())
                },
            }
        },
    };
    rsx! {
        div { class: "field", id: "builder-field-{dom_id(&name)}",
            label { r#for: "{input_id}",
                span { class: "mono", "{name}" }
                if param.required && default.is_empty() { span { class: "required", " *" } }
                span { class: "muted", " {param.kind.as_str()}" }
                if let (Some(min), Some(max)) = (param.min, param.max) { span { class: "muted", " {min}…{max}" } }
            }
            {field}
            if !param.description.is_empty() {
                p { class: "hint", "{param.description}" }
            }
            if param.suggest.is_none() && param.kind != ParamType::Choice && !param.choices.is_empty() {
                div { class: "suggestions chips",
                    for (i, choice) in param.choices.iter().enumerate() {
                        button {
                            key: "{i}",
                            class: "chip",
                            id: "builder-choice-{dom_id(&name)}-{i}",
                            onclick: {
                                let (choice, input_id, mut set) = (choice.clone(), input_id.clone(), set.clone());
                                move |_| {
                                    set_input(&input_id, &choice);
                                    set(choice.clone());
                                }
                            },
                            "{choice}"
                        }
                    }
                }
            }
            if param.suggest.is_some() {
                Suggestions { template, param: name.clone(), input_id: input_id.clone(), first_vm, on_pick: set }
            }
            if let Some(message) = problem {
                p { class: "field-error", id: "builder-error-{dom_id(&name)}", "{message}" }
            }
        }
    }
}

/// The suggest command's lines from the first target, as chips to pick from.
#[component]
fn Suggestions(
    template: String,
    param: String,
    input_id: String,
    first_vm: Option<VmId>,
    on_pick: EventHandler<String>,
) -> Element {
    let ctx = use_context::<UiContext>();
    let mut attempt = use_signal(|| 0u32);
    let id = dom_id(&param);
    let suggestions = use_resource(use_reactive!(|(template, param, first_vm)| {
        let _ = attempt();
        let commands = ctx.engine.commands().clone();
        async move {
            match first_vm {
                None => Ok(None),
                Some(vm) => commands.suggest(&template, &param, vm).await.map(Some),
            }
        }
    }));
    let body = match &*suggestions.read() {
        None => {
            rsx! { span { class: "spinner", id: "builder-suggest-loading-{id}", "Asking the host for suggestions…" } }
        }
        Some(Ok(None)) => {
            rsx! { span { class: "muted", "Choose targets to get suggestions from the first one." } }
        }
        Some(Ok(Some(found))) if found.choices.is_empty() => rsx! {
            span { class: "muted", id: "builder-suggest-empty-{id}", "{found.vm} suggested nothing." }
        },
        Some(Ok(Some(found))) => rsx! {
            span { class: "muted", "From {found.vm}: " }
            for (i, choice) in found.choices.iter().enumerate() {
                button {
                    key: "{i}",
                    class: "chip",
                    id: "builder-suggest-{id}-{i}",
                    onclick: {
                        let choice = choice.clone();
                        let input_id = input_id.clone();
                        move |_| {
                            set_input(&input_id, &choice);
                            on_pick.call(choice.clone());
                        }
                    },
                    "{choice}"
                }
            }
        },
        Some(Err(e)) => rsx! {
            span { class: "field-error", id: "builder-suggest-error-{id}", "No suggestions: {e.message}" }
        },
    };
    rsx! {
        div { class: "suggestions chips", id: "builder-suggest-{id}",
            {body}
            if suggestions.read().is_some() && first_vm.is_some() {
                button {
                    class: "button small",
                    id: "builder-suggest-retry-{id}",
                    title: "Run the suggest command again",
                    onclick: move |_| attempt += 1,
                    "↻"
                }
            }
        }
    }
}
