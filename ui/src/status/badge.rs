//! The status badge: the state in words and colour, the reason in its tooltip.

use super::health_class;
use dioxus::prelude::*;
use vmo_engine::status::Health;

#[component]
pub fn StatusBadge(health: Health, reason: String, id: Option<String>) -> Element {
    let dot = match health {
        Health::Online => "●",
        Health::Degraded => "▲",
        Health::Offline => "✕",
        Health::Unknown => "?",
    };
    rsx! {
        span {
            id,
            class: "status-badge {health_class(health)}",
            "data-health": health.as_str(),
            title: "{reason}",
            span { class: "status-dot", "aria-hidden": "true", "{dot}" }
            "{health.as_str()}"
        }
    }
}
