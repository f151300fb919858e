//! The fleet map: one small square per VM, coloured by status or by a figure; hover for
//! the details, click to open the VM. Each square follows the fleet through its own memo
//! of its colour, so a round re-renders only the squares whose colour changed, and the
//! details (a tooltip whose figures change every round) are made only for the square
//! under the pointer: at 10,000 VMs a round is not 10,000 attributes rewritten.

use super::figures::{metric_label, Figures};
use super::{health_class, open_vm, use_fleet};
use vmo_engine::VmId;
use crate::vm::use_inventory;
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::BTreeMap;
use vmo_engine::settings::Thresholds;
use vmo_engine::status::{Health, Metric, VmStatus};
use vmo_engine::vm::Vm;

/// 0: no figure; 1 (far from the limit) to 5 (at or over it).
pub fn level(metric: Metric, status: &VmStatus, thresholds: &Thresholds) -> u8 {
    if status.health == Health::Offline {
        return 0;
    }
    let (value, limit) = match metric {
        Metric::Load => (
            status.reading.as_ref().and_then(|r| r.load_per_cpu()),
            thresholds.load_per_cpu,
        ),
        Metric::Latency => (status.metric(metric), thresholds.latency_ms as f64),
        Metric::Cpu => (status.metric(metric), 90.0),
        Metric::Memory => (status.metric(metric), thresholds.memory_pct),
        Metric::Disk => (status.metric(metric), thresholds.disk_pct),
    };
    let Some(value) = value else { return 0 };
    let ratio = value / limit.max(f64::MIN_POSITIVE);
    match ratio {
        r if r < 0.25 => 1,
        r if r < 0.5 => 2,
        r if r < 0.8 => 3,
        r if r < 1.0 => 4,
        _ => 5,
    }
}

/// A square's class for its health, or for its figure's level.
fn cell_class(metric: Option<Metric>, status: Option<&VmStatus>, thresholds: &Thresholds) -> &'static str {
    const LEVELS: [&str; 6] = [
        "map-cell level-0",
        "map-cell level-1",
        "map-cell level-2",
        "map-cell level-3",
        "map-cell level-4",
        "map-cell level-5",
    ];
    match (metric, status) {
        (Some(m), Some(s)) => LEVELS[usize::from(level(m, s, thresholds)).min(5)],
        (Some(_), None) => LEVELS[0],
        (None, s) => match s.map_or(Health::Unknown, |s| s.health) {
            Health::Online => "map-cell health-online",
            Health::Degraded => "map-cell health-degraded",
            Health::Offline => "map-cell health-offline",
            Health::Unknown => "map-cell health-unknown",
        },
    }
}

#[component]
pub fn FleetMap() -> Element {
    let ctx = use_context::<UiContext>();
    let inventory = use_inventory();
    let mut by = use_signal(|| None::<Metric>);
    let mut grouped = use_signal(|| false);
    let thresholds = ctx.engine.settings().status.thresholds;
    let inventory = inventory.read();
    let mut groups: BTreeMap<String, Vec<&Vm>> = BTreeMap::new();
    for vm in &inventory.vms {
        let group = if grouped() {
            vm.tags.first().cloned().unwrap_or_default()
        } else {
            String::new()
        };
        groups.entry(group).or_default().push(vm);
    }
    let metric = by();
    rsx! {
        div { class: "map-controls",
            label { "Colour by "
                select {
                    id: "fleet-map-by",
                    onchange: move |e| by.set(Metric::parse(&e.value())),
                    option { value: "status", "status" }
                    for m in Metric::ALL {
                        option { key: "{m.as_str()}", value: m.as_str(), {metric_label(m)} }
                    }
                }
            }
            label { class: "check",
                input {
                    r#type: "checkbox",
                    id: "fleet-map-group",
                    onchange: move |e| grouped.set(e.checked()),
                }
                " Group by first tag"
            }
            MapLegend { metric }
        }
        div { id: "fleet-map", class: "fleet-map",
            for (group, vms) in groups.iter() {
                div { key: "{group}", class: "map-group",
                    if grouped() {
                        div { class: "map-group-name", if group.is_empty() { "untagged" } else { "{group}" } }
                    }
                    div { class: "map-cells",
                        for vm in vms.iter() {
                            MapCell { key: "{vm.id.0}", id: vm.id, name: vm.name.clone(), metric, thresholds }
                        }
                    }
                }
            }
        }
    }
}

/// One VM's square.
#[component]
fn MapCell(id: VmId, name: String, metric: Option<Metric>, thresholds: Thresholds) -> Element {
    let fleet = use_fleet();
    let mut pointed = use_signal(|| false);
    // What the square shows, compared each round: unchanged, no render.
    let look = use_memo(use_reactive!(|(metric, thresholds)| {
        let fleet = fleet.read();
        let status = fleet.get(id);
        (
            cell_class(metric, status, &thresholds),
            status.map_or(Health::Unknown, |s| s.health),
        )
    }));
    let (class, health) = look();
    // The details only under the pointer (or the focus), live while it stays there.
    let title = pointed().then(|| {
        let fleet = fleet.read();
        Figures::of(fleet.get(id), fleet.off.contains(&id)).summary(&name)
    });
    rsx! {
        button {
            class,
            "data-vm": "{name}",
            "data-health": health.as_str(),
            title,
            onmouseenter: move |_| pointed.set(true),
            onmouseleave: move |_| pointed.set(false),
            onfocus: move |_| pointed.set(true),
            onblur: move |_| pointed.set(false),
            onclick: move |_| open_vm(id),
        }
    }
}

#[component]
fn MapLegend(metric: Option<Metric>) -> Element {
    match metric {
        None => rsx! {
            span { class: "map-legend",
                for h in Health::ALL {
                    span { key: "{h.as_str()}", class: "legend-item",
                        span { class: "legend-swatch {health_class(h)}" }
                        "{h.as_str()}"
                    }
                }
            }
        },
        Some(_) => rsx! {
            span { class: "map-legend",
                "low "
                for l in 1..=5 {
                    span { key: "{l}", class: "legend-swatch level-{l}" }
                }
                " at limit"
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmo_engine::VmId;

    #[test]
    fn levels_grow_towards_the_threshold() {
        let t = Thresholds::default();
        let mut s = VmStatus::unknown(VmId(1));
        s.health = Health::Online;
        assert_eq!(level(Metric::Latency, &s, &t), 0, "no figure");
        s.latency_ms = Some(10);
        assert_eq!(level(Metric::Latency, &s, &t), 1);
        s.latency_ms = Some(600);
        assert_eq!(level(Metric::Latency, &s, &t), 3);
        s.latency_ms = Some(1000);
        assert_eq!(level(Metric::Latency, &s, &t), 5);
        s.health = Health::Offline;
        assert_eq!(
            level(Metric::Latency, &s, &t),
            0,
            "offline has no live figure"
        );
    }
}
