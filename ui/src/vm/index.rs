//! The inventory as the VM list looks things up in it: made once per inventory change,
//! not per render or keystroke, so a 10,000-VM list filters, selects and counts tags in
//! a few milliseconds.

use std::collections::{BTreeMap, HashMap};
use vmo_engine::{Vm, VmFilter, VmId};

pub struct Index {
    /// Where each VM is in the inventory's list.
    pub by_id: HashMap<VmId, u32>,
    /// Each VM's search text, lower-cased, in list order.
    haystacks: Vec<String>,
    /// Every tag and how many VMs carry it, by tag.
    pub tags: Vec<(String, usize)>,
    /// Whether any VM goes through a jump host (the list shows that column only then).
    pub jumps: bool,
}

impl Index {
    pub fn of(vms: &[Vm]) -> Self {
        let mut tags: BTreeMap<&str, usize> = BTreeMap::new();
        for tag in vms.iter().flat_map(|vm| vm.tags.iter()) {
            *tags.entry(tag.as_str()).or_default() += 1;
        }
        Self {
            by_id: vms
                .iter()
                .enumerate()
                .map(|(i, vm)| (vm.id, i as u32))
                .collect(),
            haystacks: vms.iter().map(VmFilter::haystack).collect(),
            tags: tags.into_iter().map(|(t, n)| (t.to_string(), n)).collect(),
            jumps: vms.iter().any(|vm| vm.jump_host.is_some()),
        }
    }

    /// The positions of the VMs `filter` keeps, in list order. `vms` is the list the
    /// index was made of.
    pub fn matching(&self, vms: &[Vm], filter: &VmFilter) -> Vec<u32> {
        vms.iter()
            .zip(&self.haystacks)
            .enumerate()
            .filter(|(_, (vm, haystack))| filter.matches_in(vm, || haystack.as_str()))
            .map(|(i, _)| i as u32)
            .collect()
    }

    pub fn get<'a>(&self, vms: &'a [Vm], id: VmId) -> Option<&'a Vm> {
        self.by_id
            .get(&id)
            .and_then(|i| vms.get(*i as usize))
            .filter(|vm| vm.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(id: i64, name: &str, tags: &[&str], jump: Option<&str>) -> Vm {
        Vm {
            id: VmId(id),
            name: name.into(),
            host: format!("10.0.0.{id}"),
            port: 22,
            user: String::new(),
            auth: vmo_engine::AuthMethod::Agent,
            key_file: None,
            jump_host: jump.map(str::to_string),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            notes: String::new(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn filters_counts_and_finds_like_the_inventory_itself() {
        let vms = vec![
            vm(7, "db-1", &["db", "prod"], None),
            vm(3, "web-1", &["prod", "web"], Some("bastion")),
            vm(9, "web-2", &["web"], None),
        ];
        let index = Index::of(&vms);
        for query in [
            "",
            "web",
            "tag:prod",
            "10.0.0.9",
            "bastion tag:web",
            "nothing",
        ] {
            let filter = VmFilter::parse(query);
            let expected: Vec<u32> = (0..3)
                .filter(|i| filter.matches(&vms[*i as usize]))
                .collect();
            assert_eq!(index.matching(&vms, &filter), expected, "{query}");
        }
        assert_eq!(
            index.tags,
            [("db".into(), 1), ("prod".into(), 2), ("web".into(), 2)]
        );
        assert!(index.jumps);
        assert_eq!(
            index.get(&vms, VmId(9)).map(|v| v.name.as_str()),
            Some("web-2")
        );
        assert!(index.get(&vms, VmId(1)).is_none());
    }
}
