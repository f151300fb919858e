//! Where and how to connect: a VM from the inventory, resolved into a concrete endpoint
//! with its chain of jump hosts.

use super::error::{SshError, SshErrorKind};
use crate::vm::{split_hop, AuthMethod, Vm};
use std::path::PathBuf;

/// Longest ProxyJump chain followed; also stops VMs that jump through each other.
const MAX_HOPS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The VM's name, or the hop as written for a jump host that is not a VM.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: AuthMethod,
    pub key_file: Option<PathBuf>,
    /// The host to tunnel through, itself possibly tunnelled.
    pub jump: Option<Box<Target>>,
}

impl Target {
    /// Resolves `vm` against the inventory: each ProxyJump hop names a VM or is
    /// `[user@]host[:port]`; hops are used in order (the first is dialled directly).
    pub fn resolve(vm: &Vm, inventory: &[Vm]) -> Result<Target, SshError> {
        resolve(vm, inventory, 0)
    }

    /// A direct target with agent authentication (tests, quick use).
    pub fn direct(name: &str, host: &str, port: u16, user: &str) -> Target {
        Target {
            name: name.to_string(),
            host: host.to_string(),
            port,
            user: user.to_string(),
            auth: AuthMethod::Agent,
            key_file: None,
            jump: None,
        }
    }

    /// Identity of the connection: same key, same pooled connection.
    pub fn connection_key(&self) -> String {
        let mut key = format!("{}@{}:{}", self.user, self.host, self.port);
        if let Some(jump) = &self.jump {
            key.push_str(" via ");
            key.push_str(&jump.connection_key());
        }
        key
    }

    /// `user@host:port` for messages.
    pub fn endpoint(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

fn resolve(vm: &Vm, inventory: &[Vm], depth: usize) -> Result<Target, SshError> {
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
                Some(hop_vm) if jump.is_none() => resolve(hop_vm, inventory, depth + 1)?,
                Some(hop_vm) => Target {
                    jump: None,
                    ..resolve(hop_vm, inventory, depth + 1)?
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

/// Like ssh: no user means the local user name.
pub fn user_or_local(user: &str) -> String {
    if !user.is_empty() {
        return user.to_string();
    }
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .unwrap_or_else(|| "root".to_string())
}

/// `~/x` → `$HOME/x`.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vm::VmId;

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
        let t = Target::resolve(&inv[2], &inv).unwrap();
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
        let hop = Target::resolve(&inv[0], &inv).unwrap().jump.unwrap();
        assert_eq!(
            (hop.user.as_str(), hop.host.as_str(), hop.port),
            ("admin", "gw.example", 2222)
        );

        let inv = vec![vm("a", "h1", Some("b")), vm("b", "h2", Some("a"))];
        let err = Target::resolve(&inv[0], &inv).unwrap_err();
        assert_eq!(err.kind, SshErrorKind::Config);
    }
}
