//! The inventory as an Ansible YAML inventory (what `ansible-inventory --list` reads).

use crate::vm::{AuthMethod, Vm};
use yaml_serde::value::{Tag, TaggedValue};
use yaml_serde::{Mapping, Value};

/// Longest ProxyJump chain followed through VMs; also stops VMs that jump through each other.
const MAX_HOPS: usize = 8;

/// `vms` as a YAML inventory: `all.hosts` with each host's connection variables, and one
/// child group per tag listing its hosts. Jump hosts naming a VM are resolved against
/// `inventory` to `user@host:port`. Tags named `all` or `ungrouped` are Ansible's own
/// groups and are left out.
pub fn export(vms: &[Vm], inventory: &[Vm]) -> String {
    let mut hosts = Mapping::new();
    let mut groups: std::collections::BTreeMap<&str, Mapping> = Default::default();
    for vm in vms {
        let mut vars = Mapping::new();
        let mut set = |key: &str, value: Value| {
            vars.insert(Value::String(key.into()), value);
        };
        set("ansible_host", text(vm.host.clone()));
        if vm.port != 22 {
            set("ansible_port", Value::Number(vm.port.into()));
        }
        if !vm.user.is_empty() {
            set("ansible_user", text(vm.user.clone()));
        }
        if let (AuthMethod::KeyFile, Some(key)) = (vm.auth, &vm.key_file) {
            set("ansible_ssh_private_key_file", text(key.clone()));
        }
        if let Some(jump) = &vm.jump_host {
            let chain = jump_chain(jump, inventory, 0).join(",");
            set(
                "ansible_ssh_common_args",
                text(format!("-o ProxyJump={chain}")),
            );
        }
        hosts.insert(Value::String(vm.name.clone()), Value::Mapping(vars));
        for tag in &vm.tags {
            if tag != "all" && tag != "ungrouped" {
                groups
                    .entry(tag)
                    .or_default()
                    .insert(Value::String(vm.name.clone()), Value::Null);
            }
        }
    }
    let mut all = Mapping::new();
    if !hosts.is_empty() {
        all.insert("hosts".into(), Value::Mapping(hosts));
    }
    if !groups.is_empty() {
        let mut children = Mapping::new();
        for (tag, members) in groups {
            let mut group = Mapping::new();
            group.insert("hosts".into(), Value::Mapping(members));
            children.insert(Value::String(tag.into()), Value::Mapping(group));
        }
        all.insert("children".into(), Value::Mapping(children));
    }
    let mut top = Mapping::new();
    top.insert("all".into(), Value::Mapping(all));
    // Serialising a tree of plain values cannot fail; an empty inventory is still valid.
    yaml_serde::to_string(&Value::Mapping(top)).unwrap_or_else(|_| "all: {}\n".into())
}

/// A value as YAML text, marked `!unsafe` where Ansible would read it as a Jinja template
/// (`{{`, `{%`, `{#`): a user name or key path that happens to hold one stays itself.
fn text(value: String) -> Value {
    if ["{{", "{%", "{#"].iter().any(|open| value.contains(open)) {
        Value::Tagged(Box::new(TaggedValue {
            tag: Tag::new("unsafe"),
            value: Value::String(value),
        }))
    } else {
        Value::String(value)
    }
}

/// Each hop of `jump` as `[user@]host[:port]`; a hop naming a VM becomes its address, and
/// the first hop's own jump hosts come first (as `targets.rs` dials them).
fn jump_chain(jump: &str, inventory: &[Vm], depth: usize) -> Vec<String> {
    let mut out = Vec::new();
    for (i, hop) in jump.split(',').map(str::trim).enumerate() {
        match inventory.iter().find(|v| v.name.eq_ignore_ascii_case(hop)) {
            Some(vm) if depth < MAX_HOPS => {
                if let (0, Some(inner)) = (i, &vm.jump_host) {
                    out.extend(jump_chain(inner, inventory, depth + 1));
                }
                out.push(vm.address());
            }
            _ => out.push(hop.to_string()),
        }
    }
    out
}
