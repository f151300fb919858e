//! The header's fleet line, "42 online · 2 degraded · 1 offline"; a click opens the
//! dashboard.

use super::{health_class, use_fleet};
use crate::shell::Screen;
use crate::vm::use_inventory;
use dioxus::prelude::*;
use vmo_engine::status::Health;

#[component]
pub fn HeaderSummary() -> Element {
    let fleet = use_fleet();
    let inventory = use_inventory();
    let mut screen = use_context::<Signal<Screen>>();
    let fleet = fleet.read();
    // Counted over the inventory, so deleted VMs never count.
    let counts = fleet.counts(inventory.read().vms.iter().map(|vm| vm.id));
    let parts: Vec<(Health, usize)> = [
        Health::Online,
        Health::Degraded,
        Health::Offline,
        Health::Unknown,
    ]
    .into_iter()
    .map(|h| (h, counts.of(h)))
    .filter(|(_, n)| *n > 0)
    .collect();
    if parts.is_empty() {
        return rsx! {};
    }
    let last = parts.len() - 1;
    rsx! {
        button {
            class: "status-summary",
            id: "header-status-summary",
            title: "{counts.summary()} — open the dashboard",
            onclick: move |_| screen.set(Screen::Dashboard),
            for (i, (health, n)) in parts.into_iter().enumerate() {
                span { key: "{health.as_str()}", class: "summary-part {health_class(health)}",
                    "{n} {health.as_str()}"
                }
                if i < last { span { class: "summary-sep", " · " } }
            }
            if fleet.paused {
                span { class: "summary-paused", " · paused" }
            }
        }
    }
}
