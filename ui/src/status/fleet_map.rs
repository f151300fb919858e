//! The fleet map: one small square per VM, coloured by status or by a figure; point at
//! one for its figures (the line under the map), click to open the VM.
//!
//! At 10,000 VMs redrawing every square at once holds the UI's event loop for longer than
//! a frame, and a round of simulated status changes most of them. So the squares are drawn
//! in chunks, each its own component given its squares' looks, and a round's new looks are
//! handed to the chunks a slice at a time with the runtime free in between: the page draws
//! a few hundred squares per turn, and a chunk whose looks did not change is not drawn.

use super::figures::{metric_label, Figures};
use super::{health_class, open_vm, use_fleet};
use crate::shared::{breathe, Shared};
use crate::vm::use_inventory;
use crate::UiContext;
use dioxus::prelude::*;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use vmo_engine::settings::Thresholds;
use vmo_engine::status::{FleetStatus, Health, Metric, VmStatus};
use vmo_engine::VmId;

/// Squares per chunk, and chunks handed new looks per turn of the event loop.
const CHUNK: usize = 250;
const CHUNKS_PER_TURN: usize = 4;

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

/// Every square's class: for its figure's level, or its health.
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
type Look = (u8, Health);

fn look(metric: Option<Metric>, status: Option<&VmStatus>, thresholds: &Thresholds) -> Look {
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

/// The squares in order: groups (one, unnamed, unless grouped by first tag), each cut into
/// chunks of VMs (id and name).
struct Layout {
    groups: Vec<(String, Vec<usize>)>,
    chunks: Vec<Shared<Vec<(VmId, String)>>>,
}

impl Layout {
    fn of(vms: &[vmo_engine::Vm], grouped: bool) -> Self {
        let mut by_group: BTreeMap<String, Vec<(VmId, String)>> = BTreeMap::new();
        for vm in vms {
            let group = if grouped {
                vm.tags.first().cloned().unwrap_or_default()
            } else {
                String::new()
            };
            by_group
                .entry(group)
                .or_default()
                .push((vm.id, vm.name.clone()));
        }
        let (mut groups, mut chunks) = (Vec::new(), Vec::new());
        for (name, cells) in by_group {
            let mut indices = Vec::new();
            for chunk in cells.chunks(CHUNK) {
                indices.push(chunks.len());
                chunks.push(Shared::new(chunk.to_vec()));
            }
            groups.push((name, indices));
        }
        Self { groups, chunks }
    }

    fn looks_of(
        &self,
        chunk: usize,
        fleet: &FleetStatus,
        metric: Option<Metric>,
        thresholds: &Thresholds,
    ) -> Vec<Look> {
        self.chunks.get(chunk).map_or_else(Vec::new, |cells| {
            cells
                .iter()
                .map(|(id, _)| look(metric, fleet.get(*id), thresholds))
                .collect()
        })
    }
}

#[component]
pub fn FleetMap() -> Element {
    let ctx = use_context::<UiContext>();
    let fleet = use_fleet();
    let inventory = use_inventory();
    let mut by = use_signal(|| None::<Metric>);
    let mut grouped = use_signal(|| false);
    let pointed = use_signal(|| None::<VmId>);
    let thresholds = ctx.engine.settings().status.thresholds;
    let layout = use_memo(move || Shared::new(Layout::of(&inventory.read().vms, grouped())));
    // The looks each chunk shows, handed over a slice at a time.
    let mut shown = use_signal(Vec::<Shared<Vec<Look>>>::new);
    let handing = use_hook(|| Rc::new(Cell::new(None::<dioxus::core::Task>)));
    let drawn_layout = use_hook(|| Rc::new(RefCell::new(None::<Shared<Layout>>)));
    use_effect(move || {
        let layout = layout.read().clone();
        let metric = by();
        let _round = fleet.read();
        if let Some(task) = handing.take() {
            task.cancel();
        }
        // A new layout is drawn whole, once; a new round (or colouring) goes out in slices.
        let new_layout = drawn_layout.borrow().as_ref() != Some(&layout);
        if new_layout || shown.peek().len() != layout.chunks.len() {
            *drawn_layout.borrow_mut() = Some(layout.clone());
            let fleet = fleet.peek();
            let all = (0..layout.chunks.len())
                .map(|c| Shared::new(layout.looks_of(c, &fleet, metric, &thresholds)))
                .collect();
            shown.set(all);
            return;
        }
        handing.set(Some(spawn(async move {
            for first in (0..layout.chunks.len()).step_by(CHUNKS_PER_TURN) {
                let changed: Vec<(usize, Vec<Look>)> = {
                    let fleet = fleet.peek();
                    let shown = shown.peek();
                    (first..(first + CHUNKS_PER_TURN).min(layout.chunks.len()))
                        .map(|c| (c, layout.looks_of(c, &fleet, metric, &thresholds)))
                        .filter(|(c, looks)| shown.get(*c).is_none_or(|s| **s != *looks))
                        .collect()
                };
                if !changed.is_empty() {
                    shown.with_mut(|shown| {
                        for (c, looks) in changed {
                            if let Some(slot) = shown.get_mut(c) {
                                *slot = Shared::new(looks);
                            }
                        }
                    });
                    breathe().await;
                }
            }
        })));
    });
    let layout = layout.read();
    let shown = shown.read();
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
            for (group, chunks) in layout.groups.iter() {
                div { key: "{group}", class: "map-group",
                    if grouped() {
                        div { class: "map-group-name", if group.is_empty() { "untagged" } else { "{group}" } }
                    }
                    div { class: "map-cells",
                        for c in chunks.iter().copied() {
                            if let (Some(cells), Some(looks)) = (layout.chunks.get(c), shown.get(c)) {
                                MapChunk { key: "{c}", cells: cells.clone(), looks: looks.clone(), pointed }
                            }
                        }
                    }
                }
            }
        }
        MapDetail { pointed }
    }
}

/// Some squares of the map (drawn inside the map's grid: `display: contents`).
#[component]
fn MapChunk(
    cells: Shared<Vec<(VmId, String)>>,
    looks: Shared<Vec<Look>>,
    pointed: Signal<Option<VmId>>,
) -> Element {
    rsx! {
        div { class: "map-chunk",
            for ((id, name), (class, health)) in cells.iter().zip(looks.iter()) {
                button {
                    key: "{id.0}",
                    class: LOOKS[usize::from(*class)],
                    "data-vm": "{name}",
                    "data-health": health.as_str(),
                    "aria-label": "{name}",
                    onmouseenter: {
                        let id = *id;
                        move |_| pointed.set(Some(id))
                    },
                    onfocus: {
                        let id = *id;
                        move |_| pointed.set(Some(id))
                    },
                    onclick: {
                        let id = *id;
                        move |_| open_vm(id)
                    },
                }
            }
        }
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
