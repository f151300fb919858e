//! The dashboard, the home screen: widgets the user shows, hides and reorders; the
//! arrangement is kept through `Preferences::dashboard_layout`.

use super::attention::Attention;
use super::fleet_map::FleetMap;
use super::jobs_widgets::{RecentFailures, RunningJobs};
use super::layout::{self, Slot};
use super::summary::FleetSummary;
use crate::shared::toast::use_toasts;
use crate::shell::Screen;
use crate::vm::{use_inventory, VmRequest};
use crate::UiContext;
use dioxus::prelude::*;

#[component]
pub fn Dashboard() -> Element {
    let ctx = use_context::<UiContext>();
    let inventory = use_inventory();
    let toasts = use_toasts();
    let mut slots = use_signal(|| layout::parse(&ctx.prefs.dashboard_layout().unwrap_or_default()));
    let mut customizing = use_signal(|| false);
    let screen = use_context::<Signal<Screen>>();
    let save = use_callback(move |next: Vec<Slot>| {
        if let Err(e) = ctx.prefs.set_dashboard_layout(layout::store(&next)) {
            toasts.error(format!("Cannot keep the dashboard layout: {e}"));
        }
        slots.set(next);
    });
    let view = inventory.read();
    let empty = view.loaded && view.vms.is_empty();
    drop(view);
    let go_vms = move |request: Option<VmRequest>| {
        if let Some(request) = request {
            crate::vm::request(request);
        }
        let mut screen = screen;
        screen.set(Screen::Vms);
    };
    let current = slots();
    let last = current.len().saturating_sub(1);
    rsx! {
        section { class: "screen dashboard", id: "dashboard",
            div { class: "screen-head",
                h1 { "Dashboard" }
                div { class: "actions",
                    button {
                        class: if customizing() { "button primary" } else { "button" },
                        id: "dashboard-customize",
                        onclick: move |_| customizing.toggle(),
                        if customizing() { "Done" } else { "Customize" }
                    }
                }
            }
            GettingStarted {}
            if empty {
                div { class: "empty-state", id: "dashboard-empty",
                    p { class: "empty-title", "No VMs yet" }
                    p { "Add the machines you look after, or import the hosts in your SSH config: their status shows here within a probe. Or try everything first on a demo fleet of local servers." }
                    div { class: "actions",
                        crate::vm::DemoButton { id: "dashboard-demo" }
                        button { class: "button", id: "dashboard-import", onclick: move |_| go_vms(Some(VmRequest::Import)), "Import hosts…" }
                        button { class: "button primary", id: "dashboard-add", onclick: move |_| go_vms(Some(VmRequest::Create)), "Add VM" }
                        button { class: "button ghost", id: "dashboard-go-vms", onclick: move |_| go_vms(None), "Go to VMs" }
                    }
                }
            }
            if !empty || customizing() {
            div { class: "widgets",
                for (i, slot) in current.iter().cloned().enumerate() {
                    if slot.shown || customizing() {
                        div {
                            key: "{slot.id}",
                            id: "widget-{slot.id}",
                            class: if slot.shown { "widget widget-{slot.id}" } else { "widget widget-{slot.id} widget-hidden" },
                            div { class: "widget-head",
                                h2 { {layout::title(slot.id)} }
                                if customizing() {
                                    div { class: "widget-tools",
                                        button {
                                            class: "button ghost small",
                                            id: "widget-{slot.id}-up",
                                            title: "Move up",
                                            disabled: i == 0,
                                            onclick: move |_| {
                                                let next = layout::moved(&slots.peek(), slot.id, true);
                                                save.call(next)
                                            },
                                            "↑"
                                        }
                                        button {
                                            class: "button ghost small",
                                            id: "widget-{slot.id}-down",
                                            title: "Move down",
                                            disabled: i == last,
                                            onclick: move |_| {
                                                let next = layout::moved(&slots.peek(), slot.id, false);
                                                save.call(next)
                                            },
                                            "↓"
                                        }
                                        button {
                                            class: "button small",
                                            id: "widget-{slot.id}-toggle",
                                            onclick: move |_| {
                                                let next = layout::toggled(&slots.peek(), slot.id);
                                                save.call(next)
                                            },
                                            if slot.shown { "Hide" } else { "Show" }
                                        }
                                    }
                                }
                            }
                            if slot.shown {
                                div { class: "widget-body", {widget(slot.id)} }
                            }
                        }
                    }
                }
            }
            }
        }
    }
}

fn widget(id: &str) -> Element {
    match id {
        "summary" => rsx! { FleetSummary {} },
        "map" => rsx! { FleetMap {} },
        "attention" => rsx! { Attention {} },
        "running" => rsx! { RunningJobs {} },
        "failures" => rsx! { RecentFailures {} },
        _ => rsx! {},
    }
}

/// The first launch's three steps, until the user dismisses them (kept in preferences).
#[component]
fn GettingStarted() -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let mut shown = use_signal(|| !ctx.prefs.getting_started_dismissed());
    if !shown() {
        return rsx! {};
    }
    rsx! {
        div { class: "card getting-started", id: "getting-started",
            div { class: "widget-head",
                h2 { "Getting started" }
                button {
                    class: "button ghost small",
                    id: "getting-started-dismiss",
                    title: "Don't show this again",
                    onclick: move |_| {
                        if let Err(e) = ctx.prefs.dismiss_getting_started() {
                            toasts.error(format!("Cannot keep that: {e}"));
                        }
                        shown.set(false);
                    },
                    "Dismiss"
                }
            }
            ol { class: "steps",
                li { strong { "Add machines. " } "Import the hosts of your SSH config, add one by hand, or try a demo fleet of local servers first (nothing to install on them)." }
                li { strong { "Check them. " } "Their host keys are checked against your known_hosts; new ones are reviewed in one list. Status shows here within a probe." }
                li { strong { "Run a command. " } "Run on a VM, a selection or a tag, or press Ctrl+K to search templates, VMs and recent commands. Every run is a job with all its output." }
            }
        }
    }
}
