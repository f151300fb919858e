//! How the VM list sorts by status and by each figure.

use std::cmp::Ordering;
use vmo_engine::status::{FleetStatus, Health, Metric};
use vmo_engine::Vm;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    /// The inventory's natural order of names.
    #[default]
    Name,
    /// Worst first: offline, degraded, online, unknown.
    Status,
    /// Highest first; VMs without the figure last.
    Metric(Metric),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort {
    pub key: SortKey,
    pub reversed: bool,
}

impl Sort {
    /// A click on a column header: the same column flips, another starts in its own order.
    pub fn click(self, key: SortKey) -> Sort {
        Sort {
            key,
            reversed: self.key == key && !self.reversed,
        }
    }

    /// The arrow a header shows ("" when the list is not sorted by it).
    pub fn arrow(self, key: SortKey) -> &'static str {
        match (self.key == key, self.reversed) {
            (false, _) => "",
            (true, false) => " ▾",
            (true, true) => " ▴",
        }
    }
}

/// Worst first: offline, degraded, not probeable (a host key to review), online, unknown.
fn rank(fleet: &FleetStatus, vm: &Vm) -> usize {
    match fleet.get(vm.id) {
        Some(s) if s.health == Health::Offline => 0,
        Some(s) if s.health == Health::Degraded => 1,
        Some(s) if s.unreachable() => 2,
        Some(s) if s.health == Health::Online => 3,
        _ => 4,
    }
}

/// Sorts `vms` (given in name order) stably, so ties keep name order.
pub fn sort_vms(vms: &mut [Vm], fleet: &FleetStatus, sort: Sort) {
    match sort.key {
        SortKey::Name => {
            if sort.reversed {
                vms.reverse();
            }
        }
        SortKey::Status => vms.sort_by(|a, b| {
            let o = rank(fleet, a).cmp(&rank(fleet, b));
            if sort.reversed {
                o.reverse()
            } else {
                o
            }
        }),
        SortKey::Metric(metric) => {
            let value = |vm: &Vm| {
                fleet
                    .get(vm.id)
                    .filter(|s| s.health != Health::Offline)
                    .and_then(|s| s.metric(metric))
            };
            vms.sort_by(|a, b| match (value(a), value(b)) {
                (Some(x), Some(y)) => {
                    let o = y.partial_cmp(&x).unwrap_or(Ordering::Equal);
                    if sort.reversed {
                        o.reverse()
                    } else {
                        o
                    }
                }
                // Unknown figures stay last either way.
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmo_engine::status::VmStatus;
    use vmo_engine::VmId;

    use crate::status::test_vm as vm;

    fn fleet(entries: &[(i64, Health, Option<u32>)]) -> FleetStatus {
        let mut fleet = FleetStatus::default();
        for (id, health, latency) in entries {
            let mut s = VmStatus::unknown(VmId(*id));
            s.health = *health;
            s.latency_ms = *latency;
            fleet.vms.insert(VmId(*id), s);
        }
        fleet
    }

    fn names(vms: &[Vm]) -> Vec<&str> {
        vms.iter().map(|vm| vm.name.as_str()).collect()
    }

    #[test]
    fn status_sorts_worst_first_and_keeps_name_order_in_ties() {
        let f = fleet(&[
            (1, Health::Online, Some(5)),
            (2, Health::Offline, None),
            (3, Health::Degraded, Some(900)),
            (4, Health::Online, Some(40)),
        ]);
        let mut f = f;
        // f: never probed because nobody trusted its key: before the online ones.
        let mut untrusted = VmStatus::unknown(VmId(6));
        untrusted.error = Some(vmo_engine::status::ProbeError {
            code: "host_key_unknown".into(),
            message: "the host key of f is not known".into(),
        });
        f.vms.insert(VmId(6), untrusted);
        let mut vms = vec![
            vm(1, "a"),
            vm(2, "b"),
            vm(3, "c"),
            vm(4, "d"),
            vm(5, "e"),
            vm(6, "f"),
        ];
        let by_status = Sort::default().click(SortKey::Status);
        sort_vms(&mut vms, &f, by_status);
        assert_eq!(names(&vms), ["b", "c", "f", "a", "d", "e"]);
        sort_vms(&mut vms, &f, by_status.click(SortKey::Status));
        assert_eq!(names(&vms), ["e", "a", "d", "f", "c", "b"]);
    }

    #[test]
    fn a_metric_sorts_highest_first_with_unknown_figures_last() {
        let f = fleet(&[
            (1, Health::Online, Some(5)),
            (2, Health::Offline, Some(7)),
            (3, Health::Degraded, Some(900)),
            (4, Health::Online, Some(40)),
        ]);
        let mut vms = vec![vm(1, "a"), vm(2, "b"), vm(3, "c"), vm(4, "d")];
        let sort = Sort::default().click(SortKey::Metric(Metric::Latency));
        sort_vms(&mut vms, &f, sort);
        assert_eq!(names(&vms), ["c", "d", "a", "b"]);
        sort_vms(&mut vms, &f, sort.click(SortKey::Metric(Metric::Latency)));
        assert_eq!(names(&vms), ["a", "d", "c", "b"]);
        assert_eq!(sort.arrow(SortKey::Name), "");
    }
}
