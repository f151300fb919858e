//! The fleet map: one small square per VM, coloured by status or by a figure; point at
//! one for its figures (the line under the map), click to open the VM. Plain elements in
//! one component that renders only when a square's colour changed (a memo of every
//! square's look), and no square carries text that changes every round: at 10,000 VMs a
//! round is a few attribute changes, not 10,000 tooltips rewritten.

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

/// Every square's class: for its health, or for its figure's level.
const LOOKS: [&str; 10] = [
    "map-cell level-0",
    "map-cell level-1",
    "map-cell level-2",
    "map-cell level-3",
    "map-cell level-4",
    "map-cell level-5",
    "map-cell health-online",
    "map-cell health-degraded",
    "map-cell health-offline",
    "map-cell health-unknown",
];

/// A square's look: an index into [`LOOKS`], and its health (for `data-health`).
fn look(metric: Option<Metric>, status: Option<&VmStatus>, thresholds: &Thresholds) -> (u8, Health) {
    let health = status.map_or(Health::Unknown, |s| s.health);
    let class = match (metric, status) {
        (Some(m), Some(s)) => level(m, s, thresholds).min(5),
        (Some(_), None) => 0,
        (None, _) => match health {
            Health::Online => 6,
            Health::Degraded => 7,
            Health::Offline => 8,
            Health::Unknown => 9,
        },
    };
    (class, health)
}

#[component]
pub fn FleetMap() -> Element {
    let ctx = use_context::<UiContext>();
    let fleet = use_fleet();
    let inventory = use_inventory();
    let mut by = use_signal(|| None::<Metric>);
    let mut grouped = use_signal(|| false);
    let mut pointed = use_signal(|| None::<VmId>);
    let thresholds = ctx.engine.settings().status.thresholds;
    // Every square's look, in inventory order: a round that changes no colour changes
    // nothing here, and the map is not rendered again.
    let looks = use_memo(move || {
        let fleet = fleet.read();
        let metric = by();
        inventory
            .read()
            .vms
            .iter()
            .map(|vm| look(metric, fleet.get(vm.id), &thresholds))
            .collect::<Vec<_>>()
    });
    let looks = looks.read();
    let inventory = inventory.read();
    let mut groups: BTreeMap<String, Vec<(&Vm, (u8, Health))>> = BTreeMap::new();
    for (vm, look) in inventory.vms.iter().zip(looks.iter()) {
        let group = if grouped() {
            vm.tags.first().cloned().unwrap_or_default()
        } else {
            String::new()
        };
        groups.entry(group).or_default().push((vm, *look));
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
            onmouseleave: move |_| pointed.set(None),
            for (group, vms) in groups.iter() {
                div { key: "{group}", class: "map-group",
                    if grouped() {
                        div { class: "map-group-name", if group.is_empty() { "untagged" } else { "{group}" } }
                    }
                    div { class: "map-cells",
                        for (vm, (class, health)) in vms.iter() {
                            button {
                                key: "{vm.id.0}",
                                class: LOOKS[usize::from(*class)],
                                "data-vm": "{vm.name}",
                                "data-health": health.as_str(),
                                "aria-label": "{vm.name}",
                                onmouseenter: {
                                    let id = vm.id;
                                    move |_| pointed.set(Some(id))
                                },
                                onfocus: {
                                    let id = vm.id;
                                    move |_| pointed.set(Some(id))
                                },
                                onclick: {
                                    let id = vm.id;
                                    move |_| open_vm(id)
                                },
                            }
                        }
                    }
                }
            }
        }
        MapDetail { pointed }
    }
}

/// The figures of the square pointed at, live; a hint when none is.
#[component]
fn MapDetail(pointed: Signal<Option<VmId>>) -> Element {
    let fleet = use_fleet();
    let inventory = use_inventory();
    let line = pointed().and_then(|id| {
        let inventory = inventory.read();
        let vm = inventory.vms.iter().find(|vm| vm.id == id)?;
        let fleet = fleet.read();
        Some(Figures::of(fleet.get(id), fleet.off.contains(&id)).summary(&vm.name))
    });
    rsx! {
        p { class: "muted map-detail", id: "fleet-map-detail",
            {line.unwrap_or_else(|| "Point at a square for its figures; click it to open the VM.".to_string())}
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
