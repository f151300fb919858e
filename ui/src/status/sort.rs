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

/// Orders `rows` (indices into `vms`, given in name order) stably, so ties keep name
/// order. Each VM's key is looked up once, not once per comparison: 10,000 rows sort in
/// a few milliseconds.
pub fn sort_rows(rows: &mut [u32], vms: &[Vm], fleet: &FleetStatus, sort: Sort) {
    let vm = |i: u32| &vms[i as usize];
    match sort.key {
        SortKey::Name => {
            if sort.reversed {
                rows.reverse();
            }
        }
        SortKey::Status => rows.sort_by_cached_key(|i| {
            let rank = rank(fleet, vm(*i));
            if sort.reversed {
                usize::MAX - rank
            } else {
                rank
            }
        }),
        SortKey::Metric(metric) => {
            let mut keyed: Vec<(Option<f64>, u32)> = rows
                .iter()
                .map(|i| {
                    let value = fleet
                        .get(vm(*i).id)
                        .filter(|s| s.health != Health::Offline)
                        .and_then(|s| s.metric(metric));
                    (value, *i)
                })
                .collect();
            keyed.sort_by(|(a, _), (b, _)| match (a, b) {
                (Some(x), Some(y)) => {
                    let o = y.partial_cmp(x).unwrap_or(Ordering::Equal);
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
            for (row, (_, i)) in rows.iter_mut().zip(keyed) {
                *row = i;
            }
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

    /// The names in the order `sort` gives, from rows in name order.
    fn sorted<'a>(vms: &'a [Vm], fleet: &FleetStatus, sort: Sort) -> Vec<&'a str> {
        let mut rows: Vec<u32> = (0..vms.len() as u32).collect();
        sort_rows(&mut rows, vms, fleet, sort);
        rows.iter()
            .map(|i| vms[*i as usize].name.as_str())
            .collect()
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
        let vms = vec![
            vm(1, "a"),
            vm(2, "b"),
            vm(3, "c"),
            vm(4, "d"),
            vm(5, "e"),
            vm(6, "f"),
        ];
        let by_status = Sort::default().click(SortKey::Status);
        assert_eq!(sorted(&vms, &f, by_status), ["b", "c", "f", "a", "d", "e"]);
        let reversed = by_status.click(SortKey::Status);
        assert_eq!(sorted(&vms, &f, reversed), ["e", "a", "d", "f", "c", "b"]);
        let by_name = Sort::default().click(SortKey::Name);
        assert_eq!(sorted(&vms, &f, by_name), ["f", "e", "d", "c", "b", "a"]);
    }

    #[test]
    fn a_metric_sorts_highest_first_with_unknown_figures_last() {
        let f = fleet(&[
            (1, Health::Online, Some(5)),
            (2, Health::Offline, Some(7)),
            (3, Health::Degraded, Some(900)),
            (4, Health::Online, Some(40)),
        ]);
        let vms = vec![vm(1, "a"), vm(2, "b"), vm(3, "c"), vm(4, "d")];
        let sort = Sort::default().click(SortKey::Metric(Metric::Latency));
        assert_eq!(sorted(&vms, &f, sort), ["c", "d", "a", "b"]);
        let reversed = sort.click(SortKey::Metric(Metric::Latency));
        assert_eq!(sorted(&vms, &f, reversed), ["a", "d", "c", "b"]);
        assert_eq!(sort.arrow(SortKey::Name), "");
    }
}
