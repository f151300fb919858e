//! A VM from the inventory, resolved into the SSH engine's [`Target`]: a concrete endpoint
//! with its chain of jump hosts.

use crate::ssh::{expand_home, user_or_local, SshError, SshErrorKind, Target};
use crate::vm::{split_hop, Vm};

/// Longest ProxyJump chain followed; also stops VMs that jump through each other.
const MAX_HOPS: usize = 8;

/// Resolves `vm` against the inventory: each ProxyJump hop names a VM or is
/// `[user@]host[:port]`; hops are used in order (the first is dialled directly).
pub fn resolve_target(vm: &Vm, inventory: &[Vm]) -> Result<Target, SshError> {
    resolve_at(vm, inventory, 0)
}

fn resolve_at(vm: &Vm, inventory: &[Vm], depth: usize) -> Result<Target, SshError> {
    if depth > MAX_HOPS {
        return Err(SshError::new(
            SshErrorKind::Config,
            format!(
                "jump hosts of {:?} nest deeper than {MAX_HOPS} (a loop?)",
                vm.name
            ),
        ));
    }
    let mut jump: Option<Box<Target>> = None;
    if let Some(chain) = &vm.jump_host {
        for hop in chain.split(',').map(str::trim) {
            let mut next = match inventory.iter().find(|v| v.name.eq_ignore_ascii_case(hop)) {
                // The first hop keeps its own jump host; later hops go through the previous.
                Some(hop_vm) if jump.is_none() => resolve_at(hop_vm, inventory, depth + 1)?,
                Some(hop_vm) => Target {
                    jump: None,
                    ..resolve_at(hop_vm, inventory, depth + 1)?
                },
                None => hop_target(hop)?,
            };
            if jump.is_some() {
                next.jump = jump.take();
            }
            jump = Some(Box::new(next));
        }
    }
    Ok(Target {
        name: vm.name.clone(),
        host: vm.host.clone(),
        port: vm.port,
        user: user_or_local(&vm.user),
        auth: vm.auth,
        key_file: vm.key_file.as_deref().map(expand_home),
        jump,
    })
}

fn hop_target(hop: &str) -> Result<Target, SshError> {
    let (user, host, port) = split_hop(hop);
    let port = match port {
        None => 22,
        Some(p) => p.parse().map_err(|_| {
            SshError::new(
                SshErrorKind::Config,
                format!("jump host {hop:?} has a bad port"),
            )
        })?,
    };
    Ok(Target::direct(hop, host, port, &user_or_local(user)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::{AuthMethod, VmId};

    fn vm(name: &str, host: &str, jump: Option<&str>) -> Vm {
        Vm {
            id: VmId(1),
            name: name.into(),
            host: host.into(),
            port: 22,
            user: "ops".into(),
            auth: AuthMethod::Agent,
            key_file: None,
            jump_host: jump.map(str::to_string),
            tags: vec![],
            notes: String::new(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn chains_resolve_in_order() {
        let inv = vec![
            vm("bastion", "10.0.0.1", None),
            vm("inner", "10.1.0.1", None),
            vm("db", "10.2.0.1", Some("bastion,inner")),
        ];
        let t = resolve_target(&inv[2], &inv).unwrap();
        let inner = t.jump.as_ref().unwrap();
        assert_eq!(inner.host, "10.1.0.1");
        let outer = inner.jump.as_ref().unwrap();
        assert_eq!(outer.host, "10.0.0.1");
        assert!(outer.jump.is_none());
        assert_eq!(
            t.connection_key(),
            "ops@10.2.0.1:22 via ops@10.1.0.1:22 via ops@10.0.0.1:22"
        );
    }

    #[test]
    fn literal_hops_and_loops() {
        let inv = vec![vm("web", "10.0.0.9", Some("admin@gw.example:2222"))];
        let hop = resolve_target(&inv[0], &inv).unwrap().jump.unwrap();
        assert_eq!(
            (hop.user.as_str(), hop.host.as_str(), hop.port),
            ("admin", "gw.example", 2222)
        );

        let inv = vec![vm("a", "h1", Some("b")), vm("b", "h2", Some("a"))];
        let err = resolve_target(&inv[0], &inv).unwrap_err();
        assert_eq!(err.kind, SshErrorKind::Config);
    }
}
