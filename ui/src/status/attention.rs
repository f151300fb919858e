//! Hosts needing attention: offline and degraded VMs, worst first, then those that could
//! not be probed (a host key to review), with the reason.

use super::figures::{format_ago, reason};
use super::{open_vm, to_vms_screen, use_fleet, StatusBadge};
use crate::job::now_ms;
use crate::vm::use_inventory;
use crate::vm::VmRequest;
use dioxus::prelude::*;
use vmo_engine::status::{FleetStatus, Health};
use vmo_engine::vm::Vm;
use vmo_engine::VmId;

/// Rows shown before "and N more": the map shows the rest.
const SHOWN: usize = 50;

/// Offline before degraded before not probeable; within a state, the longest in it first, then by name.
pub fn needing_attention<'a>(vms: &'a [Vm], fleet: &FleetStatus) -> Vec<&'a Vm> {
    let mut list: Vec<(&Vm, Health, i64)> = vms
        .iter()
        .filter_map(|vm| {
            let s = fleet.get(vm.id)?;
            (matches!(s.health, Health::Offline | Health::Degraded) || s.unreachable())
                .then_some((vm, s.health, s.since_ms))
        })
        .collect();
    list.sort_by_key(|(_, health, since)| (*health, *since));
    list.into_iter().map(|(vm, _, _)| vm).collect()
}

#[component]
pub fn Attention() -> Element {
    let fleet = use_fleet();
    let inventory = use_inventory();
    let fleet = fleet.read();
    let inventory = inventory.read();
    let list = needing_attention(&inventory.vms, &fleet);
    let now = now_ms();
    if list.is_empty() {
        return rsx! { p { class: "muted", id: "attention-none", "Every probed VM is online." } };
    }
    let more = list.len().saturating_sub(SHOWN);
    // Never probed because nobody trusted their keys yet: one review for all of them.
    let untrusted: Vec<VmId> = list
        .iter()
        .filter(|vm| {
            fleet
                .get(vm.id)
                .and_then(|s| s.error.as_ref())
                .is_some_and(|e| e.untrusted_key())
        })
        .map(|vm| vm.id)
        .collect();
    rsx! {
        if !untrusted.is_empty() {
            div { class: "attention-actions",
                button {
                    class: "button",
                    id: "attention-review-keys",
                    onclick: {
                        let ids = untrusted.clone();
                        move |_| to_vms_screen(VmRequest::ReviewKeys(ids.clone()))
                    },
                    if untrusted.len() == 1 { "Review 1 host key" } else { "Review {untrusted.len()} host keys" }
                }
            }
        }
        ul { class: "widget-list", id: "attention-list",
            for vm in list.into_iter().take(SHOWN) {
                li {
                    key: "{vm.id.0}",
                    class: "widget-row attention-row",
                    "data-vm": "{vm.name}",
                    onclick: {
                        let id = vm.id;
                        move |_| open_vm(id)
                    },
                    StatusBadge {
                        health: fleet.health(vm.id),
                        reason: reason(fleet.get(vm.id), false),
                    }
                    span { class: "attention-name", "{vm.name}" }
                    // Cut to the widget's width; the whole reason in the tooltip.
                    span {
                        class: "attention-reason ellipsis",
                        title: reason(fleet.get(vm.id), false),
                        {reason(fleet.get(vm.id), false)}
                    }
                    span { class: "muted",
                        {fleet.get(vm.id).map(|s| format!("since {}", format_ago(now, s.since_ms))).unwrap_or_default()}
                    }
                }
            }
        }
        if more > 0 {
            p { class: "muted", "and {more} more" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmo_engine::status::VmStatus;
    use vmo_engine::VmId;

    #[test]
    fn offline_first_then_degraded_longest_first() {
        let vm = |id: i64| crate::status::test_vm(id, &format!("vm{id}"));
        let vms: Vec<Vm> = (1..=5).map(vm).collect();
        let mut fleet = FleetStatus::default();
        for (id, health, since) in [
            (1, Health::Degraded, 50),
            (2, Health::Online, 0),
            (3, Health::Offline, 70),
            (4, Health::Degraded, 10),
        ] {
            let mut s = VmStatus::unknown(VmId(id));
            s.health = health;
            s.since_ms = since;
            fleet.vms.insert(VmId(id), s);
        }
        let names: Vec<&str> = needing_attention(&vms, &fleet)
            .iter()
            .map(|vm| vm.name.as_str())
            .collect();
        assert_eq!(names, ["vm3", "vm4", "vm1"]);
    }
}
