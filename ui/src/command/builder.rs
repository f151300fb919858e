//! The builder: a form from a template's parameters, suggestions from the hosts, a preview
//! of the exact command and the targets, then a job.

use super::keys::KeyPanel;
use super::params::{field_problem, ParamField};
use super::{use_command_ui, BuilderRequest};
use crate::job::{TargetChoice, Targets};
use crate::shared::modal::Modal;
use crate::shell::Screen;
use crate::vm::untrusted;
use crate::vm::use_inventory;
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::BTreeMap;
use vmo_engine::commands::model::render;
use vmo_engine::commands::{Commands, Template, Value, Values};
use vmo_engine::jobs::{label_for_names, JobOptions, Origin};
use vmo_engine::ssh::KeyStatus;
use vmo_engine::{Vm, VmId};

/// Open over any screen while a builder request is pending.
#[component]
pub fn BuilderDialog() -> Element {
    let ui = use_command_ui();
    let mut request = ui.builder;
    match request() {
        None => rsx! {},
        Some(req) => {
            let key = format!("{}|{:?}", req.template, req.targets);
            rsx! { Builder { key: "{key}", request: req, on_close: move |_| request.set(None) } }
        }
    }
}

#[component]
fn Builder(request: BuilderRequest, on_close: EventHandler<()>) -> Element {
    let ctx = use_context::<UiContext>();
    let inventory = use_inventory();
    let mut screen = use_context::<Signal<Screen>>();
    let mut name = use_signal(|| request.template.clone());
    let list_ctx = ctx.clone();
    let templates = use_resource(move || {
        let commands = list_ctx.engine.commands().clone();
        async move { commands.list().await }
    });
    let chosen_ids = request.targets.clone();
    let mut by = use_signal(|| None::<TargetChoice>);
    let mut values = use_signal(BTreeMap::<String, String>::new);
    let mut tried = use_signal(|| false);
    let mut confirming = use_signal(|| false);
    let mut error = use_signal(|| None::<String>);
    let mut running = use_signal(|| false);
    let mut blocked = use_signal(|| None::<Vec<(Vm, KeyStatus)>>);

    let list: Vec<Template> = match &*templates.read() {
        Some(Ok(list)) => list.iter().map(|e| e.template.clone()).collect(),
        Some(Err(e)) => {
            let message = e.message.clone();
            return rsx! {
                Modal { title: "Run a template", id: "builder", on_close: move |_| on_close.call(()),
                    div { class: "modal-body", div { class: "alert error", "{message}" } }
                }
            };
        }
        None => Vec::new(),
    };
    let template = list.iter().find(|t| t.name == name()).cloned();

    // Targets: the VMs given, else the template's default tag, else a tag to choose.
    let choice = by().unwrap_or_else(|| {
        if !chosen_ids.is_empty() {
            TargetChoice::Chosen
        } else {
            TargetChoice::Tag(
                template
                    .as_ref()
                    .and_then(|t| t.default_targets.clone())
                    .unwrap_or_default(),
            )
        }
    });
    let all_vms = inventory.read().vms.clone();
    let mut tags: Vec<String> = all_vms.iter().flat_map(|vm| vm.tags.clone()).collect();
    tags.sort();
    tags.dedup();
    let Targets {
        vms,
        names,
        label: target_label,
        guarded,
    } = choice.targets(
        &all_vms,
        &chosen_ids,
        &ctx.engine.settings().jobs.guarded_tags,
    );
    let first_vm = vms.first().map(|vm| vm.id);

    let given: Values = values()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k, Value::from_bytes(v)))
        .collect();
    let rendered = template.as_ref().map(|t| render(t, &given));
    let problems = match &rendered {
        Some(Err(p)) => p.0.clone(),
        _ => Vec::new(),
    };
    let dangerous = template.as_ref().is_some_and(|t| t.dangerous);
    let chosen_count = chosen_ids.len();
    let title = match &template {
        Some(t) => format!("Run {}", t.name),
        None => "Run a template".to_string(),
    };

    let run = {
        let rendered = rendered.clone();
        let needs_confirm = dangerous || !guarded.is_empty();
        let ctx = ctx.clone();
        let vms = vms.clone();
        move |confirmed: bool, without: Option<Vec<VmId>>| {
            tried.set(true);
            let Some(Ok(rendered)) = rendered.clone() else {
                return;
            };
            let mut chosen = vms.clone();
            if let Some(without) = &without {
                chosen.retain(|vm| !without.contains(&vm.id));
            }
            if chosen.is_empty() {
                error.set(Some("No VM matches these targets.".into()));
                return;
            }
            if needs_confirm && !confirmed {
                confirming.set(true);
                return;
            }
            confirming.set(false);
            blocked.set(None);
            error.set(None);
            running.set(true);
            let label = match without {
                None => target_label.clone(),
                Some(_) => {
                    label_for_names(&chosen.iter().map(|vm| vm.name.as_str()).collect::<Vec<_>>())
                }
            };
            let spec = Commands::job_spec(
                rendered,
                chosen.iter().map(|vm| vm.id).collect(),
                label,
                job_defaults(&ctx.engine.settings()),
                Origin::App,
            );
            let ctx = ctx.clone();
            let check_keys = without.is_none();
            spawn(async move {
                if check_keys {
                    let inventory = inventory.peek().vms.clone();
                    let found = untrusted(&ctx, &chosen, &inventory).await;
                    if !found.is_empty() {
                        running.set(false);
                        blocked.set(Some(found));
                        return;
                    }
                }
                match ctx.engine.jobs().submit(spec).await {
                    Ok(job) => {
                        on_close.call(());
                        screen.set(Screen::Job(job.id));
                    }
                    Err(e) => {
                        running.set(false);
                        error.set(Some(e.message));
                    }
                }
            });
        }
    };

    rsx! {
        Modal { title, id: "builder", on_close: move |_| on_close.call(()),
            div { class: "modal-body run-body builder-body",
                div { class: "field",
                    label { r#for: "builder-template", "Template" }
                    select {
                        id: "builder-template",
                        onchange: move |e| {
                            values.write().clear();
                            name.set(e.value());
                        },
                        option { value: "", disabled: true, selected: template.is_none(), "choose a template" }
                        for t in list.iter() {
                            option { key: "{t.name}", value: "{t.name}", selected: t.name == name(), "{t.name}" }
                        }
                    }
                    if let Some(t) = &template {
                        if !t.description.is_empty() { p { class: "hint", "{t.description}" } }
                    }
                }
                div { class: "field",
                    label { r#for: "builder-target-kind", "Targets" }
                    div { class: "options-row",
                        select {
                            id: "builder-target-kind",
                            onchange: move |e| by.set(Some(match e.value().as_str() {
                                "tag" => TargetChoice::Tag(String::new()),
                                "all" => TargetChoice::All,
                                _ => TargetChoice::Chosen,
                            })),
                            if chosen_count > 0 {
                                option { value: "chosen", selected: choice == TargetChoice::Chosen, "The {chosen_count} chosen" }
                            }
                            option { value: "tag", selected: matches!(choice, TargetChoice::Tag(_)), "VMs with a tag" }
                            option { value: "all", selected: choice == TargetChoice::All, "All VMs ({all_vms.len()})" }
                        }
                        if let TargetChoice::Tag(current) = choice.clone() {
                            select {
                                id: "builder-target-tag",
                                onchange: move |e| by.set(Some(TargetChoice::Tag(e.value()))),
                                option { value: "", selected: current.is_empty(), disabled: true, "choose a tag" }
                                for tag in tags.iter() {
                                    option { key: "{tag}", value: "{tag}", selected: *tag == current, "{tag}" }
                                }
                            }
                        }
                    }
                    div { class: "target-preview", id: "builder-targets",
                        if names.is_empty() { span { class: "muted", "No VM yet" } }
                        for name in names.iter().take(crate::job::PREVIEW_NAMES) {
                            span { key: "{name}", class: if guarded.contains(name) { "tag guarded" } else { "tag" }, "{name}" }
                        }
                        if names.len() > crate::job::PREVIEW_NAMES {
                            span { class: "muted", "and {names.len() - crate::job::PREVIEW_NAMES} more" }
                        }
                    }
                }
                if let Some(t) = &template {
                    div { class: "form-grid", id: "builder-params",
                        for param in t.params() {
                            ParamField {
                                key: "{t.name}/{param.name}",
                                template: t.name.clone(),
                                param: param.clone(),
                                values,
                                first_vm,
                                problem: {
                                    let field = format!("values.{}", param.name);
                                    let typed = values.read().get(&param.name).is_some_and(|v| !v.is_empty());
                                    if tried() || typed { field_problem(&problems, &field) } else { None }
                                },
                            }
                        }
                    }
                    div { class: "field",
                        label { "Command sent to each host" }
                        match &rendered {
                            Some(Ok(r)) => rsx! { pre { class: "command-preview", id: "builder-preview", "{r.command}" } },
                            _ => rsx! { pre { class: "command-preview muted", id: "builder-preview", "— fill the required fields —" } },
                        }
                    }
                }
                if let Some(message) = error() {
                    div { class: "alert error", id: "builder-error", "{message}" }
                }
                if let Some(found) = blocked() {
                    KeyPanel {
                        blocked: found,
                        on_close: move |_| on_close.call(()),
                        run_without: {
                            let mut run = run.clone();
                            move |without: Vec<VmId>| run(true, Some(without))
                        },
                    }
                }
                if confirming() {
                    div { class: "alert alarm", id: "builder-confirm",
                        if dangerous { strong { "This template is marked dangerous. " } }
                        if !guarded.is_empty() {
                            strong { "It reaches guarded VMs: {guarded.join(\", \")}. " }
                        }
                        "Run it on {names.len()} VM(s) anyway?"
                        div { class: "confirm-actions",
                            button { class: "button", onclick: move |_| confirming.set(false), "Go back" }
                            button {
                                class: "button danger",
                                id: "builder-confirm-yes",
                                onclick: {
                                    let mut run = run.clone();
                                    move |_| run(true, None)
                                },
                                "Run anyway"
                            }
                        }
                    }
                }
            }
            div { class: "modal-foot",
                button { class: "button", onclick: move |_| on_close.call(()), "Cancel" }
                button {
                    class: "button primary",
                    id: "builder-run",
                    disabled: running() || template.is_none(),
                    onclick: {
                        let mut run = run.clone();
                        move |_| run(false, None)
                    },
                    if running() { "Checking host keys…" } else { "Run" }
                }
            }
        }
    }
}

/// The builder has no concurrency or timeout fields: its jobs take the settings' defaults.
fn job_defaults(settings: &vmo_engine::Settings) -> JobOptions {
    JobOptions {
        concurrency: settings.jobs.hosts_at_once,
        timeout: settings
            .jobs
            .timeout_secs
            .map(std::time::Duration::from_secs),
        ..JobOptions::default()
    }
}
