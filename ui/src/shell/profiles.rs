//! The profile menu in the header: which profile is shown, switching to another (saying
//! what happens to the jobs still running here), and creating one.

use crate::shared::modal::Modal;
use crate::UiContext;
use dioxus::prelude::*;
use vmo_engine::jobs::{JobQuery, JobState};
use vmo_engine::Engine;

/// The active profile's engine, provided by the root component; setting it re-mounts the
/// shell on that engine.
#[derive(Clone)]
pub struct ActiveEngine(pub Engine);

/// Opens a profile (through the host) and re-mounts the shell on its engine; provided by
/// the root component.
#[derive(Clone, Copy)]
pub struct SwitchProfile(pub Callback<String>);

/// A switch waiting for the user's word: (to, jobs running here).
#[derive(Clone, PartialEq)]
struct PendingSwitch {
    to: String,
    running: usize,
}

#[component]
pub fn ProfileMenu() -> Element {
    let ctx = use_context::<UiContext>();
    let SwitchProfile(switch) = use_context::<SwitchProfile>();
    let mut open = use_signal(|| false);
    let mut pending = use_signal(|| None::<PendingSwitch>);
    let mut creating = use_signal(|| false);
    let current = ctx.engine.profile().to_owned();
    let names = if open() {
        ctx.profiles.list()
    } else {
        Vec::new()
    };

    let switch_to = move |name: String| switch.call(name);
    let ask = {
        let ctx = ctx.clone();
        move |name: String| {
            open.set(false);
            let engine = ctx.engine.clone();
            spawn(async move {
                let running = running_jobs(&engine).await;
                if running == 0 {
                    switch_to(name);
                } else {
                    pending.set(Some(PendingSwitch { to: name, running }));
                }
            });
        }
    };

    rsx! {
        div { class: "profile-menu",
            button {
                class: "button small",
                id: "profile-menu",
                title: "Profile: separate inventories",
                onclick: move |_| open.toggle(),
                span { class: "muted", "Profile " }
                strong { id: "profile-current", "{current}" }
                " ▾"
            }
            if open() {
                div { class: "profile-list card", id: "profile-list", role: "menu",
                    for name in names {
                        button {
                            key: "{name}",
                            id: "profile-item-{name}",
                            class: if name == current { "menu-item active" } else { "menu-item" },
                            onclick: {
                                let ask = ask.clone();
                                let name = name.clone();
                                let current = current.clone();
                                move |_| {
                                    if name == current {
                                        open.set(false);
                                    } else {
                                        let mut ask = ask.clone();
                                        ask(name.clone());
                                    }
                                }
                            },
                            "{name}"
                        }
                    }
                    button {
                        id: "profile-new",
                        class: "menu-item",
                        onclick: move |_| {
                            open.set(false);
                            creating.set(true);
                        },
                        "New profile…"
                    }
                }
            }
            if let Some(p) = pending() {
                Modal {
                    title: "Switch to {p.to}?",
                    id: "profile-switch-dialog",
                    on_close: move |_| pending.set(None),
                    p {
                        "{p.running} job" if p.running != 1 { "s" } " still running in {current} keep"
                        if p.running == 1 { "s" } " running; you'll be notified when "
                        if p.running == 1 { "it ends." } else { "they end." }
                    }
                    div { class: "modal-foot",
                        button { class: "button", onclick: move |_| pending.set(None), "Stay" }
                        button {
                            class: "button primary",
                            id: "profile-switch-confirm",
                            onclick: {
                                move |_| {
                                    pending.set(None);
                                    switch_to(p.to.clone());
                                }
                            },
                            "Switch to {p.to}"
                        }
                    }
                }
            }
            if creating() {
                NewProfile {
                    on_close: move |_| creating.set(false),
                    on_created: move |name: String| {
                        creating.set(false);
                        switch_to(name);
                    },
                }
            }
        }
    }
}

async fn running_jobs(engine: &Engine) -> usize {
    let live = JobQuery {
        states: vec![JobState::Queued, JobState::Running],
        ..Default::default()
    };
    engine.jobs().list(&live).await.map_or(0, |jobs| jobs.len())
}

#[component]
fn NewProfile(on_close: EventHandler<()>, on_created: EventHandler<String>) -> Element {
    let ctx = use_context::<UiContext>();
    let mut name = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    let create = use_callback(move |()| {
        let wanted = name().trim().to_owned();
        match ctx.profiles.create(&wanted) {
            Ok(()) => on_created.call(wanted),
            Err(e) => error.set(Some(e.field("name").unwrap_or(&e.message).to_owned())),
        }
    });
    rsx! {
        Modal { title: "New profile", id: "profile-new-dialog", on_close: move |_| on_close.call(()),
            div {
                div { class: "field",
                    label { r#for: "profile-name", "Name" }
                    input {
                        id: "profile-name",
                        placeholder: "lab",
                        autofocus: true,
                        initial_value: "",
                        onkeydown: move |e: KeyboardEvent| {
                            if e.key() == Key::Enter {
                                create.call(());
                            }
                        },
                        oninput: move |e: FormEvent| {
                            name.set(e.value());
                            error.set(vmo_engine::paths::check_profile_name(e.value().trim()).err().map(|e| e.message));
                        },
                    }
                    if let Some(err) = error() {
                        p { class: "field-error", id: "profile-name-error", "{err}" }
                    }
                    p { class: "hint",
                        "Lowercase letters, digits, - and _. A profile has its own inventory, job history "
                        "and known_hosts file (isolated networks reuse private addresses, so host keys "
                        "are not shared with your ~/.ssh/known_hosts). Settings are shared by all profiles."
                    }
                }
                div { class: "modal-foot",
                    button { r#type: "button", class: "button", onclick: move |_| on_close.call(()), "Cancel" }
                    button { r#type: "button", class: "button primary", id: "profile-create", onclick: move |_| create.call(()), "Create and switch" }
                }
            }
        }
    }
}
