//! The fleet map: one small square per VM, coloured by status or by a figure; hover for
//! the details, click to open the VM. Plain elements in one component: at 1,000 VMs a
//! round re-renders a thousand small divs whose attributes mostly compare equal.

use super::figures::{metric_label, Figures};
use super::{health_class, open_vm, use_fleet};
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

#[component]
pub fn FleetMap() -> Element {
    let ctx = use_context::<UiContext>();
    let fleet = use_fleet();
    let inventory = use_inventory();
    let mut by = use_signal(|| None::<Metric>);
    let mut grouped = use_signal(|| false);
    let thresholds = ctx.engine.settings().status.thresholds;
    let fleet = fleet.read();
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
    let cells = |vms: &[&Vm]| -> Vec<(String, i64, String, &'static str, String)> {
        vms.iter()
            .map(|vm| {
                let status = fleet.get(vm.id);
                let off = fleet.off.contains(&vm.id);
                let health = status.map_or(Health::Unknown, |s| s.health);
                let class = match (metric, status) {
                    (Some(m), Some(s)) => format!("map-cell level-{}", level(m, s, &thresholds)),
                    (Some(_), None) => "map-cell level-0".to_string(),
                    (None, _) => format!("map-cell {}", health_class(health)),
                };
                let title = Figures::of(status, off).summary(&vm.name);
                (vm.name.clone(), vm.id.0, class, health.as_str(), title)
            })
            .collect()
    };
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
                        for (name, id, class, health, title) in cells(vms) {
                            button {
                                key: "{id}",
                                class,
                                "data-vm": "{name}",
                                "data-health": health,
                                title,
                                onclick: move |_| open_vm(vmo_engine::VmId(id)),
                            }
                        }
                    }
                }
            }
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
