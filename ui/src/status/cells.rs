//! A VM row's status cells: badge and figures. Each follows the fleet through its own
//! memo, so a round re-renders only the cells whose text changed, never whole rows.

use super::{use_fleet, Figures, StatusBadge};
use dioxus::prelude::*;
use vmo_engine::VmId;

#[component]
pub fn StatusCells(vm: VmId, name: String) -> Element {
    let fleet = use_fleet();
    let figures = use_memo(move || {
        let fleet = fleet.read();
        Figures::of(fleet.get(vm), fleet.off.contains(&vm))
    });
    let f = figures.read();
    rsx! {
        td { class: "status-col", id: "vm-health-{name}",
            StatusBadge { health: f.health, reason: f.reason.clone() }
        }
        td { class: "status-col num", "{f.latency}" }
        td { class: "status-col num", "{f.load}" }
        td { class: "status-col num", "{f.cpu}" }
        td { class: "status-col num", "{f.memory}" }
        td { class: "status-col num", "{f.disk}" }
    }
}
