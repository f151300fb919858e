//! Host keys against the user's OpenSSH `known_hosts`. Known and matching: go. Unknown:
//! refused, unless the user trusted it (once, in memory; or always, written to the file),
//! or `accept_new` is on (like `StrictHostKeyChecking=accept-new`). Changed: always refused.

use super::error::{PresentedKey, SshError, SshErrorKind};
use russh::keys::{HashAlg, PublicKey};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct HostKeys {
    known_hosts: PathBuf,
    accept_new: bool,
    /// (host, port, fingerprint) the user trusted for this run of the app only.
    trusted_once: Mutex<HashSet<(String, u16, String)>>,
}

pub fn describe(host: &str, port: u16, key: &PublicKey) -> PresentedKey {
    PresentedKey {
        host: host.to_string(),
        port,
        algorithm: key.algorithm().to_string(),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        openssh: key.to_openssh().unwrap_or_default(),
    }
}

fn endpoint(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

impl HostKeys {
    pub fn new(known_hosts: PathBuf, accept_new: bool) -> Self {
        Self {
            known_hosts,
            accept_new,
            trusted_once: Mutex::new(HashSet::new()),
        }
    }

    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// Ok if the key may be used; otherwise the precise refusal.
    pub fn verify(&self, host: &str, port: u16, key: &PublicKey) -> Result<(), SshError> {
        let presented = describe(host, port, key);
        match russh::keys::check_known_hosts_path(host, port, key, &self.known_hosts) {
            Ok(true) => Ok(()),
            Ok(false) => {
                let once = (host.to_string(), port, presented.fingerprint.clone());
                if self.trusted_once.lock().is_ok_and(|set| set.contains(&once)) {
                    return Ok(());
                }
                if self.accept_new {
                    self.learn(host, port, key)?;
                    tracing::info!(host = %endpoint(host, port), fingerprint = %presented.fingerprint, "new host key accepted and recorded");
                    return Ok(());
                }
                Err(SshError {
                    kind: SshErrorKind::HostKeyUnknown,
                    message: format!(
                        "the host key of {} is not known ({} {}); verify the fingerprint and trust it, or use --accept-new",
                        endpoint(host, port),
                        presented.algorithm,
                        presented.fingerprint
                    ),
                    host_key: Some(Box::new(presented)),
                    secret: None,
                })
            }
            Err(russh::keys::Error::KeyChanged { line }) => Err(SshError {
                kind: SshErrorKind::HostKeyChanged,
                message: format!(
                    "HOST KEY CHANGED for {}: it now presents {} {}, but line {line} of {} holds another key. \
                     Someone may be intercepting the connection, or the host was reinstalled. \
                     Refusing to connect; remove the old line only if you know why it changed.",
                    endpoint(host, port),
                    presented.algorithm,
                    presented.fingerprint,
                    self.known_hosts.display()
                ),
                host_key: Some(Box::new(presented)),
                secret: None,
            }),
            Err(err) => Err(SshError::new(
                SshErrorKind::Config,
                format!("cannot read {}: {err}", self.known_hosts.display()),
            )),
        }
    }

    /// The user looked at the fingerprint and said yes. `always` writes known_hosts.
    pub fn trust(&self, key: &PresentedKey, always: bool) -> Result<(), SshError> {
        let parsed = PublicKey::from_openssh(&key.openssh).map_err(|e| {
            SshError::new(
                SshErrorKind::Protocol,
                format!("not an OpenSSH public key: {e}"),
            )
        })?;
        if parsed.fingerprint(HashAlg::Sha256).to_string() != key.fingerprint {
            return Err(SshError::new(
                SshErrorKind::Protocol,
                "the key does not match its fingerprint",
            ));
        }
        if always {
            self.learn(&key.host, key.port, &parsed)
        } else {
            if let Ok(mut set) = self.trusted_once.lock() {
                set.insert((key.host.clone(), key.port, key.fingerprint.clone()));
            }
            Ok(())
        }
    }

    fn learn(&self, host: &str, port: u16, key: &PublicKey) -> Result<(), SshError> {
        russh::keys::known_hosts::learn_known_hosts_path(host, port, key, &self.known_hosts)
            .map_err(|e| {
                SshError::new(
                    SshErrorKind::Config,
                    format!("cannot write {}: {e}", self.known_hosts.display()),
                )
            })
    }
}
