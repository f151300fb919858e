//! Settings: theme, job notifications, output cap, guarded tags, where data lives.

use crate::shared::toast::use_toasts;
use crate::{Notifications, Theme, UiContext};
use dioxus::prelude::*;

#[component]
pub fn Settings() -> Element {
    let ctx = use_context::<UiContext>();
    let mut theme = use_context::<Signal<Theme>>();
    let data_dir = ctx.engine.paths().data_dir().display().to_string();
    let database = ctx.engine.paths().database_file().display().to_string();
    let logs = ctx.engine.paths().log_dir().display().to_string();
    rsx! {
        section { class: "screen",
            h1 { "Settings" }
            div { class: "card settings",
                h2 { "Appearance" }
                div { class: "segmented", id: "theme-choice",
                    for choice in Theme::ALL {
                        button {
                            key: "{choice.as_str()}",
                            id: "theme-{choice.as_str()}",
                            class: if theme() == choice { "active" } else { "" },
                            onclick: {
                                let prefs = ctx.prefs.clone();
                                move |_| {
                                    if let Err(err) = prefs.set_theme(choice) {
                                        tracing::warn!("cannot save theme: {err}");
                                    }
                                    theme.set(choice);
                                }
                            },
                            match choice {
                                Theme::System => "System",
                                Theme::Light => "Light",
                                Theme::Dark => "Dark",
                            }
                        }
                    }
                }
            }
            JobSettings {}
            div { class: "card settings",
                h2 { "Data" }
                dl { class: "facts",
                    dt { "Data directory" }
                    dd { code { "{data_dir}" } }
                    dt { "Inventory database" }
                    dd { code { "{database}" } }
                    dt { "App logs" }
                    dd { code { "{logs}" } }
                }
                p { class: "muted",
                    "Passwords and key passphrases are never stored here; they belong in the OS keyring."
                }
            }
        }
    }
}

#[component]
fn JobSettings() -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let mut notify = use_signal(|| ctx.prefs.notifications());
    let cap = ctx.prefs.output_cap_mib();
    let tags = ctx.prefs.guarded_tags().join(", ");
    let mut save_notify = {
        let prefs = ctx.prefs.clone();
        move |change: fn(&mut Notifications, bool), on: bool| {
            let mut next = notify();
            change(&mut next, on);
            match prefs.set_notifications(next) {
                Ok(()) => notify.set(next),
                Err(e) => toasts.error(format!("Cannot save: {e}")),
            }
        }
    };
    let n = notify();
    rsx! {
        div { class: "card settings", id: "job-settings",
            h2 { "Jobs" }
            p { class: "muted", "Desktop notifications when a job ends:" }
            div { class: "check-list", id: "notify-choices",
                label { class: "check",
                    input { r#type: "checkbox", id: "notify-succeeded", checked: n.succeeded,
                        onchange: {
                            let mut save = save_notify.clone();
                            move |e: FormEvent| save(|n, on| n.succeeded = on, e.checked())
                        } }
                    "it succeeded"
                }
                label { class: "check",
                    input { r#type: "checkbox", id: "notify-failed", checked: n.failed,
                        onchange: {
                            let mut save = save_notify.clone();
                            move |e: FormEvent| save(|n, on| n.failed = on, e.checked())
                        } }
                    "it failed or timed out"
                }
                label { class: "check",
                    input { r#type: "checkbox", id: "notify-recovered", checked: n.recovered,
                        onchange: move |e: FormEvent| save_notify(|n, on| n.recovered = on, e.checked()) }
                    "it succeeded after its previous run failed"
                }
            }
            div { class: "field small",
                label { r#for: "output-cap", "Output kept per host (MiB)" }
                input {
                    id: "output-cap",
                    r#type: "number",
                    min: "1",
                    initial_value: "{cap}",
                    onchange: {
                        let ctx = ctx.clone();
                        move |e: FormEvent| {
                            let saved = e
                                .value()
                                .trim()
                                .parse::<u64>()
                                .map_err(|_| "a whole number of MiB, at least 1".to_string())
                                .and_then(|mib| ctx.prefs.set_output_cap_mib(mib).map(|()| mib));
                            match saved {
                                Ok(mib) => {
                                    ctx.engine.jobs().set_output_cap(mib.saturating_mul(1 << 20));
                                    toasts.show(format!("Jobs keep up to {mib} MiB per host"));
                                }
                                Err(e) => toasts.error(format!("Output cap: {e}")),
                            }
                        }
                    },
                }
                p { class: "hint", "Beyond it a job keeps running; its output is marked as cut." }
            }
            div { class: "field",
                label { r#for: "guarded-tags", "Ask before running on VMs tagged" }
                input {
                    id: "guarded-tags",
                    initial_value: "{tags}",
                    placeholder: "prod, critical",
                    onchange: move |e: FormEvent| {
                        let tags = e.value().split(',').map(str::to_string).collect();
                        if let Err(err) = ctx.prefs.set_guarded_tags(tags) {
                            toasts.error(format!("Cannot save: {err}"));
                        }
                    },
                }
            }
        }
    }
}
