//! Starting a job: the command, the hosts it will run on, options, a confirmation when it
//! reaches VMs with a guarded tag (`prod` by default), and a check of the targets' host keys
//! first: hosts whose keys are not trusted are reviewed, or left out, before anything runs.

use super::targets::{TargetChoice, Targets, PREVIEW_NAMES};
use crate::command::{Choice, CompletionList, KeyOutcome};
use crate::shared::modal::Modal;
use crate::shell::Screen;
use crate::vm::{untrusted, use_inventory, use_key_review};
use crate::UiContext;
use dioxus::prelude::*;
use std::time::Duration;
use vmo_engine::jobs::{label_for_names, JobOptions, JobSpec, Origin};
use vmo_engine::ssh::KeyStatus;
use vmo_engine::{Vm, VmId};

/// Where the host-key check of the targets stands.
#[derive(Debug, Clone, PartialEq)]
enum KeyCheck {
    Idle,
    Checking,
    /// Some targets present keys that are not trusted: the run waits for the user's choice.
    Blocked(Vec<(Vm, KeyStatus)>),
    /// The review is open; once it has closed `since` is passed, the run checks again.
    Reviewing {
        since: u64,
    },
}

/// How the Run button was pressed.
#[derive(Debug, Clone, PartialEq)]
struct Go {
    /// The guarded-tag question was answered yes.
    confirmed: bool,
    /// Run without these VMs, without checking keys again ("Run on trusted hosts only").
    without: Option<Vec<VmId>>,
}

impl Go {
    const FIRST: Go = Go {
        confirmed: false,
        without: None,
    };
    const CONFIRMED: Go = Go {
        confirmed: true,
        without: None,
    };
}

/// The tag a switch to "VMs with a tag" starts from: the one already picked, if any.
fn current_tag(by: Signal<TargetChoice>) -> String {
    match &*by.peek() {
        TargetChoice::Tag(tag) => tag.clone(),
        _ => String::new(),
    }
}

/// `ids`: the VMs chosen on the VMs screen (may be empty); `prefill`: a command to start
/// from; `tag`: start with "VMs with a tag" (when `ids` is empty).
#[component]
pub fn NewJobDialog(
    ids: Vec<VmId>,
    #[props(default)] prefill: String,
    #[props(default)] tag: Option<String>,
    on_close: EventHandler<()>,
) -> Element {
    let ctx = use_context::<UiContext>();
    let command_ui = crate::command::use_command_ui();
    let completion = crate::command::use_completion();
    let inventory = use_inventory();
    let mut screen = use_context::<Signal<Screen>>();
    let mut command = use_signal(|| prefill.clone());
    // Job defaults from the settings; the user may change them for this run.
    let defaults = ctx.engine.settings().jobs;
    let start_concurrency = defaults.hosts_at_once.to_string();
    let start_timeout = defaults
        .timeout_secs
        .map(|t| t.to_string())
        .unwrap_or_default();
    let mut concurrency = use_signal(|| start_concurrency.clone());
    let mut timeout = use_signal(|| start_timeout.clone());
    let mut stop_on_failure = use_signal(|| false);
    let mut canary = use_signal(|| false);
    let mut confirming = use_signal(|| false);
    let mut error = use_signal(|| None::<String>);
    let mut check = use_signal(|| KeyCheck::Idle);
    let review = use_key_review();

    // Which VMs: those chosen on the VMs screen, every VM with a tag, or all of them.
    let mut by = use_signal(|| {
        if let (true, Some(tag)) = (ids.is_empty(), &tag) {
            TargetChoice::Tag(tag.clone())
        } else if ids.is_empty() {
            TargetChoice::All
        } else {
            TargetChoice::Chosen
        }
    });
    let all_vms = inventory.read().vms.clone();
    let mut tags: Vec<String> = all_vms.iter().flat_map(|vm| vm.tags.clone()).collect();
    tags.sort();
    tags.dedup();
    let guarded_tags = defaults.guarded_tags.clone();
    let Targets {
        vms,
        names,
        label: target_label,
        guarded,
    } = by.read().targets(&all_vms, &ids, &guarded_tags);
    let title = match names.as_slice() {
        [one] => format!("Run on {one}"),
        many => format!("Run on {} VMs", many.len()),
    };
    let chosen_count = ids.len();

    let submit = {
        let ctx = ctx.clone();
        let target_label = target_label.clone();
        let guarded = guarded.clone();
        let vms = vms.clone();
        use_callback(move |go: Go| {
            let mut chosen = vms.clone();
            if let Some(without) = &go.without {
                let without: std::collections::HashSet<&VmId> = without.iter().collect();
                chosen.retain(|vm| !without.contains(&vm.id));
            }
            let targets: Vec<VmId> = chosen.iter().map(|vm| vm.id).collect();
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
            if !guarded.is_empty() && !go.confirmed {
                confirming.set(true);
                return;
            }
            confirming.set(false);
            let target_label = match go.without {
                None => target_label.clone(),
                Some(_) => {
                    let names: Vec<&str> = chosen.iter().map(|vm| vm.name.as_str()).collect();
                    label_for_names(&names)
                }
            };
            let spec = JobSpec {
                command: text,
                targets,
                target_label,
                options: JobOptions {
                    concurrency,
                    timeout,
                    stop_on_failure: stop_on_failure(),
                    canary: canary(),
                },
                origin: Origin::App,
                retry_of: None,
                template: None,
            };
            let ctx = ctx.clone();
            let check_keys = go.without.is_none();
            spawn(async move {
                if check_keys {
                    check.set(KeyCheck::Checking);
                    let inventory = inventory.peek().vms.clone();
                    let blocked = untrusted(&ctx, &chosen, &inventory).await;
                    if !blocked.is_empty() {
                        check.set(KeyCheck::Blocked(blocked));
                        return;
                    }
                }
                check.set(KeyCheck::Idle);
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

    // A suggestion taken: a command goes into the field; a template opens the builder on
    // these targets instead (its parameters are a form there, not `{{param}}` text).
    let choose = {
        let targets: Vec<VmId> = vms.iter().map(|vm| vm.id).collect();
        use_callback(move |choice: Choice| match choice {
            Choice::Command(text) => {
                document::eval(&format!(
                    "const box = document.getElementById('run-command'); \
                     if (box) {{ box.value = {}; box.focus(); }}",
                    serde_json::to_string(&text).unwrap_or_default()
                ));
                command.set(text);
            }
            Choice::Template(name) => {
                command_ui.open_builder(name, targets.clone());
                on_close.call(());
            }
        })
    };

    // Back from the review: check again, and run if every key is now trusted.
    use_effect(move || {
        let closings = (review.closings)();
        if matches!(*check.peek(), KeyCheck::Reviewing { since } if closings > since) {
            submit.call(Go::CONFIRMED);
        }
    });

    rsx! {
        Modal { title, id: "run-dialog", on_close: move |_| on_close.call(()),
            div { class: "modal-body run-body",
                div { class: "field command-field",
                    label { r#for: "run-command", "Command" }
                    input {
                        id: "run-command",
                        class: "mono",
                        placeholder: "uptime",
                        autofocus: true,
                        autocomplete: "off",
                        spellcheck: "false",
                        initial_value: "{prefill}",
                        oninput: move |e| {
                            command.set(e.value());
                            completion.typed(e.value());
                        },
                        onblur: move |_| completion.dismiss(),
                        onkeydown: move |e| match completion.key(&e.key()) {
                            KeyOutcome::Chosen(choice) => choose.call(choice),
                            KeyOutcome::Handled => {}
                            KeyOutcome::Ignored => {
                                if e.key() == Key::Enter {
                                    submit.call(Go::FIRST);
                                }
                            }
                        },
                    }
                    CompletionList { completion, on_choose: move |choice| choose.call(choice) }
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
                        for name in names.iter().take(PREVIEW_NAMES) {
                            span {
                                key: "{name}",
                                class: if guarded.contains(name) { "tag guarded" } else { "tag" },
                                "{name}"
                            }
                        }
                        if names.len() > PREVIEW_NAMES {
                            span { class: "muted", id: "run-targets-more", "and {names.len() - PREVIEW_NAMES} more" }
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
                            initial_value: "{start_concurrency}",
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
                            initial_value: "{start_timeout}",
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
                KeyCheckPanel { check, submit }
                if confirming() {
                    div { class: "alert alarm", id: "run-confirm",
                        strong { "This reaches guarded VMs: {guarded.join(\", \")}. " }
                        "They carry a tag you asked to confirm ({guarded_tags.join(\", \")}). Run anyway?"
                        div { class: "confirm-actions",
                            button { class: "button", onclick: move |_| confirming.set(false), "Go back" }
                            button { class: "button danger", id: "run-confirm-yes", onclick: move |_| submit.call(Go::CONFIRMED), "Run on them" }
                        }
                    }
                }
            }
            div { class: "modal-foot",
                button { class: "button", onclick: move |_| on_close.call(()), "Cancel" }
                button {
                    class: "button primary",
                    id: "run-start",
                    disabled: matches!(check(), KeyCheck::Checking | KeyCheck::Reviewing { .. }),
                    onclick: move |_| submit.call(Go::FIRST),
                    if check() == KeyCheck::Checking { "Checking host keys…" } else { "Run" }
                }
            }
        }
    }
}

/// What the key check found, and the two ways on: review the keys, or run without those hosts.
#[component]
fn KeyCheckPanel(mut check: Signal<KeyCheck>, submit: Callback<Go>) -> Element {
    let review = use_key_review();
    match check() {
        KeyCheck::Idle | KeyCheck::Checking => rsx! {},
        KeyCheck::Reviewing { .. } => rsx! {
            div { class: "alert", id: "run-host-keys", "Reviewing host keys: the run checks again when the review closes." }
        },
        KeyCheck::Blocked(blocked) => {
            let (unknown, changed) = (
                crate::vm::blocked_names(&blocked, false),
                crate::vm::blocked_names(&blocked, true),
            );
            let without: Vec<VmId> = blocked.iter().map(|(vm, _)| vm.id).collect();
            rsx! {
                div { class: "alert warn", id: "run-host-keys",
                    if !unknown.is_empty() {
                        p { id: "run-unknown-keys",
                            strong { "Host keys not yet trusted: " }
                            "{unknown}. Nothing runs on a host until you trust its key."
                        }
                    }
                    if !changed.is_empty() {
                        p { id: "run-changed-keys",
                            strong { "HOST KEY CHANGED: " }
                            "{changed}. These hosts are left out unless you replace their key in the review."
                        }
                    }
                    div { class: "confirm-actions",
                        button {
                            class: "button",
                            id: "run-review-keys",
                            onclick: move |_| {
                                for (vm, status) in &blocked {
                                    review.add_scan(vm, status);
                                }
                                check.set(KeyCheck::Reviewing { since: *review.closings.peek() });
                            },
                            "Review host keys"
                        }
                        button {
                            class: "button primary",
                            id: "run-trusted-only",
                            onclick: move |_| submit.call(Go { confirmed: true, without: Some(without.clone()) }),
                            "Run on trusted hosts only"
                        }
                    }
                }
            }
        }
    }
}
