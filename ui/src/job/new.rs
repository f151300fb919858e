//! Starting a job: the command, the hosts it will run on, options, and a confirmation when
//! it reaches VMs with a guarded tag (`prod` by default).

use crate::shared::modal::Modal;
use crate::shell::Screen;
use crate::vm::use_inventory;
use crate::UiContext;
use dioxus::prelude::*;
use std::time::Duration;
use vmo_engine::jobs::{label_for_names, JobOptions, JobSpec, Origin};
use vmo_engine::VmId;

/// How the dialog picks its VMs.
#[derive(Debug, Clone, PartialEq)]
enum TargetChoice {
    Chosen,
    Tag(String),
    All,
}

/// The tag a switch to "VMs with a tag" starts from: the one already picked, if any.
fn current_tag(by: Signal<TargetChoice>) -> String {
    match &*by.peek() {
        TargetChoice::Tag(tag) => tag.clone(),
        _ => String::new(),
    }
}

#[component]
pub fn NewJobDialog(ids: Vec<VmId>, on_close: EventHandler<()>) -> Element {
    let ctx = use_context::<UiContext>();
    let inventory = use_inventory();
    let mut screen = use_context::<Signal<Screen>>();
    let mut command = use_signal(String::new);
    let mut concurrency = use_signal(|| "64".to_string());
    let mut timeout = use_signal(String::new);
    let mut stop_on_failure = use_signal(|| false);
    let mut canary = use_signal(|| false);
    let mut confirming = use_signal(|| false);
    let mut error = use_signal(|| None::<String>);

    // Which VMs: those chosen on the VMs screen, every VM with a tag, or all of them.
    let mut by = use_signal(|| {
        if ids.is_empty() {
            TargetChoice::All
        } else {
            TargetChoice::Chosen
        }
    });
    let all_vms = inventory.read().vms.clone();
    let mut tags: Vec<String> = all_vms.iter().flat_map(|vm| vm.tags.clone()).collect();
    tags.sort();
    tags.dedup();
    let vms: Vec<vmo_engine::Vm> = all_vms
        .iter()
        .filter(|vm| match &*by.read() {
            TargetChoice::Chosen => ids.contains(&vm.id),
            TargetChoice::Tag(tag) => vm.tags.contains(tag),
            TargetChoice::All => true,
        })
        .cloned()
        .collect();
    let names: Vec<String> = vms.iter().map(|vm| vm.name.clone()).collect();
    let target_label = match &*by.read() {
        TargetChoice::Chosen => {
            label_for_names(&names.iter().map(String::as_str).collect::<Vec<_>>())
        }
        TargetChoice::Tag(tag) => format!("tag:{tag}"),
        TargetChoice::All => "all VMs".to_string(),
    };
    let guarded_tags = ctx.prefs.guarded_tags();
    let guarded: Vec<String> = vms
        .iter()
        .filter(|vm| vm.tags.iter().any(|t| guarded_tags.contains(t)))
        .map(|vm| vm.name.clone())
        .collect();
    let title = match names.as_slice() {
        [one] => format!("Run on {one}"),
        many => format!("Run on {} VMs", many.len()),
    };
    let chosen_count = ids.len();

    let submit = {
        let ctx = ctx.clone();
        let target_label = target_label.clone();
        let guarded = guarded.clone();
        let targets: Vec<VmId> = vms.iter().map(|vm| vm.id).collect();
        use_callback(move |confirmed: bool| {
            let text = command.peek().trim().to_string();
            if targets.is_empty() {
                error.set(Some("No VM matches these targets.".into()));
                return;
            }
            if text.is_empty() {
                error.set(Some("Type a command to run.".into()));
                return;
            }
            let Ok(concurrency) = concurrency.peek().trim().parse::<usize>() else {
                error.set(Some(
                    "Concurrency must be a whole number of hosts, at least 1.".into(),
                ));
                return;
            };
            let timeout = match timeout.peek().trim() {
                "" => None,
                t => match t.parse::<f64>() {
                    Ok(secs) if secs > 0.0 && secs <= 1e9 => Some(Duration::from_secs_f64(secs)),
                    _ => {
                        error.set(Some(
                            "Timeout must be a number of seconds above 0, or empty for none."
                                .into(),
                        ));
                        return;
                    }
                },
            };
            if !guarded.is_empty() && !confirmed {
                confirming.set(true);
                return;
            }
            let spec = JobSpec {
                command: text,
                targets: targets.clone(),
                target_label: target_label.clone(),
                options: JobOptions {
                    concurrency,
                    timeout,
                    stop_on_failure: stop_on_failure(),
                    canary: canary(),
                },
                origin: Origin::App,
                retry_of: None,
            };
            let ctx = ctx.clone();
            spawn(async move {
                match ctx.engine.jobs().submit(spec).await {
                    Ok(job) => {
                        on_close.call(());
                        screen.set(Screen::Job(job.id));
                    }
                    Err(e) => {
                        confirming.set(false);
                        error.set(Some(e.message));
                    }
                }
            });
        })
    };

    rsx! {
        Modal { title, id: "run-dialog", on_close: move |_| on_close.call(()),
            div { class: "modal-body run-body",
                div { class: "field",
                    label { r#for: "run-command", "Command" }
                    input {
                        id: "run-command",
                        class: "mono",
                        placeholder: "uptime",
                        autofocus: true,
                        oninput: move |e| command.set(e.value()),
                        onkeydown: move |e| if e.key() == Key::Enter { submit.call(false) },
                    }
                }
                div { class: "field",
                    label { r#for: "run-target-kind", "Targets" }
                    div { class: "options-row",
                        select {
                            id: "run-target-kind",
                            onchange: move |e| by.set(match e.value().as_str() {
                                "tag" => TargetChoice::Tag(current_tag(by)),
                                "all" => TargetChoice::All,
                                _ => TargetChoice::Chosen,
                            }),
                            if chosen_count > 0 {
                                option { value: "chosen", selected: *by.read() == TargetChoice::Chosen, "The {chosen_count} chosen on the VMs screen" }
                            }
                            option { value: "tag", selected: matches!(*by.read(), TargetChoice::Tag(_)), "VMs with a tag" }
                            option { value: "all", selected: *by.read() == TargetChoice::All, "All VMs ({all_vms.len()})" }
                        }
                        if let TargetChoice::Tag(current) = by.read().clone() {
                            select {
                                id: "run-target-tag",
                                onchange: move |e| by.set(TargetChoice::Tag(e.value())),
                                option { value: "", selected: current.is_empty(), disabled: true, "choose a tag" }
                                for tag in tags.iter() {
                                    option { key: "{tag}", value: "{tag}", selected: *tag == current, "{tag}" }
                                }
                            }
                        }
                    }
                }
                div { class: "field",
                    label { "Runs on {names.len()} VM" if names.len() != 1 { "s" } }
                    div { class: "target-preview", id: "run-targets",
                        for name in names.iter() {
                            span {
                                key: "{name}",
                                class: if guarded.contains(name) { "tag guarded" } else { "tag" },
                                "{name}"
                            }
                        }
                    }
                }
                div { class: "options-row",
                    div { class: "field small",
                        label { r#for: "run-concurrency", "Hosts at once" }
                        input {
                            id: "run-concurrency",
                            r#type: "number",
                            min: "1",
                            initial_value: "64",
                            oninput: move |e| concurrency.set(e.value()),
                        }
                    }
                    div { class: "field small",
                        label { r#for: "run-timeout", "Timeout per host (s)" }
                        input {
                            id: "run-timeout",
                            r#type: "number",
                            min: "0",
                            placeholder: "none",
                            oninput: move |e| timeout.set(e.value()),
                        }
                    }
                    label { class: "check",
                        input {
                            r#type: "checkbox",
                            id: "run-stop-on-failure",
                            onchange: move |e| stop_on_failure.set(e.checked()),
                        }
                        "Stop on first failure"
                    }
                    label { class: "check",
                        input {
                            r#type: "checkbox",
                            id: "run-canary",
                            onchange: move |e| canary.set(e.checked()),
                        }
                        "Canary: one host first"
                    }
                }
                if let Some(message) = error() {
                    div { class: "alert error", id: "run-error", "{message}" }
                }
                if confirming() {
                    div { class: "alert alarm", id: "run-confirm",
                        strong { "This reaches guarded VMs: {guarded.join(\", \")}. " }
                        "They carry a tag you asked to confirm ({guarded_tags.join(\", \")}). Run anyway?"
                        div { class: "confirm-actions",
                            button { class: "button", onclick: move |_| confirming.set(false), "Go back" }
                            button { class: "button danger", id: "run-confirm-yes", onclick: move |_| submit.call(true), "Run on them" }
                        }
                    }
                }
            }
            div { class: "modal-foot",
                button { class: "button", onclick: move |_| on_close.call(()), "Cancel" }
                button { class: "button primary", id: "run-start", onclick: move |_| submit.call(false), "Run" }
            }
        }
    }
}
