//! The fleet summary widget: VMs per state, and probing paused or running.

use super::{health_class, use_fleet};
use crate::vm::use_inventory;
use crate::UiContext;
use dioxus::prelude::*;
use vmo_engine::status::Health;

#[component]
pub fn FleetSummary() -> Element {
    let ctx = use_context::<UiContext>();
    let fleet = use_fleet();
    let inventory = use_inventory();
    let fleet = fleet.read();
    let counts = fleet.counts(inventory.read().vms.iter().map(|vm| vm.id));
    let paused = fleet.paused;
    let interval = ctx.engine.settings().status.interval_secs;
    rsx! {
        div { class: "fleet-summary", id: "fleet-summary",
            for health in [Health::Online, Health::Degraded, Health::Offline, Health::Unknown] {
                div {
                    key: "{health.as_str()}",
                    class: "summary-count {health_class(health)}",
                    id: "fleet-count-{health.as_str()}",
                    span { class: "summary-number", "{counts.of(health)}" }
                    span { class: "summary-label", "{health.as_str()}" }
                }
            }
        }
        div { class: "probe-state",
            if paused {
                span { id: "probing-state", "Probing is paused: the states shown are the last seen." }
            } else {
                span { id: "probing-state", "Probing every {interval} s." }
            }
            button {
                class: "button small",
                id: "status-pause",
                onclick: move |_| ctx.engine.status().set_paused(!paused),
                if paused { "Resume" } else { "Pause" }
            }
        }
    }
}
