//! Host keys of many servers at once, like `ssh-keyscan` with a verdict: connect far enough
//! to receive each server's key (no login), stop the handshake there, and judge the key
//! against known_hosts. Targets behind a jump host are reached through it.

use super::connect::HandshakeFailure;
use super::error::{PresentedKey, SshError, SshErrorKind};
use super::host_keys::{describe, ChangedKey, HostKeyVerdict};
use super::target::Target;
use super::Ssh;
use russh::client;
use russh::keys::{PublicKey, PublicKeyOrCertificate};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Servers scanned at once: a handshake costs the server ~20 ms of CPU, and a burst of
/// unauthenticated connections beyond sshd's `MaxStartups` would be dropped.
pub const SCAN_CONCURRENCY: usize = 32;

/// One server's key, judged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "snake_case")]
pub enum KeyStatus {
    /// known_hosts records it (or the user trusted it for this run).
    Known(PresentedKey),
    /// Nobody has said yes to it yet.
    Unknown(PresentedKey),
    /// known_hosts records another key of this type for the host.
    Changed(Box<ChangedKey>),
    /// No key was received (unreachable, refused, a jump host failed, ...).
    Error(SshError),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyScan {
    /// Index into the targets given.
    pub index: usize,
    pub name: String,
    pub status: KeyStatus,
}

impl Ssh {
    /// Scans the host keys of `targets`, at most [`SCAN_CONCURRENCY`] at once; results in
    /// target order. Accepts nothing, writes nothing.
    pub async fn scan_host_keys(&self, targets: Vec<Target>) -> Vec<KeyScan> {
        let patience = self.pool.connector().connect_timeout * 2;
        self.scan_host_keys_within(targets, patience).await
    }

    /// Like [`Self::scan_host_keys`], giving each host at most `patience` to show its key
    /// (a check before a run should not wait out a dead host's TCP timeout).
    pub async fn scan_host_keys_within(
        &self,
        targets: Vec<Target>,
        patience: Duration,
    ) -> Vec<KeyScan> {
        let limit = Arc::new(Semaphore::new(SCAN_CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for (index, target) in targets.into_iter().enumerate() {
            let (ssh, limit) = (self.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire().await.ok();
                let status = tokio::time::timeout(patience, ssh.scan_one(&target))
                    .await
                    .unwrap_or_else(|_| {
                        KeyStatus::Error(SshError::new(
                            SshErrorKind::ConnectTimeout,
                            format!(
                                "{} showed no host key within {patience:?}",
                                target.endpoint()
                            ),
                        ))
                    });
                KeyScan {
                    index,
                    name: target.name.clone(),
                    status,
                }
            });
        }
        let mut scans = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(scan) => scans.push(scan),
                Err(err) => tracing::error!("a host-key scan task failed: {err}"),
            }
        }
        scans.sort_by_key(|s| s.index);
        scans
    }

    /// Replaces the changed key of one host after the user compared old and new: only if
    /// the server still presents the key they saw, and known_hosts still holds the lines
    /// they were shown.
    pub async fn replace_host_key(
        &self,
        target: &Target,
        change: &ChangedKey,
    ) -> Result<(), SshError> {
        let reviewed = &change.presented.fingerprint;
        match self.scan_one(target).await {
            KeyStatus::Changed(now) if &now.presented.fingerprint == reviewed => {
                self.host_keys.replace(change)
            }
            KeyStatus::Known(now) if &now.fingerprint == reviewed => Ok(()),
            KeyStatus::Changed(now) => Err(not_reviewed(target, &now.presented, reviewed)),
            KeyStatus::Known(now) | KeyStatus::Unknown(now) => {
                Err(not_reviewed(target, &now, reviewed))
            }
            KeyStatus::Error(error) => Err(error),
        }
    }

    async fn scan_one(&self, target: &Target) -> KeyStatus {
        let via = match &target.jump {
            Some(jump) => match self.pool.get(jump).await {
                Ok(connection) => Some(connection),
                Err(e) => return KeyStatus::Error(e.context(format!("jump host {}", jump.name))),
            },
            None => None,
        };
        let caught = Arc::new(Mutex::new(None));
        let catcher = KeyCatcher {
            host: target.host.clone(),
            port: target.port,
            caught: caught.clone(),
        };
        let ended = self
            .pool
            .connector()
            .handshake(target, via.as_deref(), catcher, false)
            .await;
        let key = caught.lock().ok().and_then(|mut c| c.take());
        let key = match (key, ended) {
            (Some(Ok(key)), _) => key,
            (Some(Err(refused)), _) => return KeyStatus::Error(refused),
            (None, Err(HandshakeFailure::Transport(e))) => return KeyStatus::Error(e),
            (None, Err(HandshakeFailure::Ssh(e))) => {
                return KeyStatus::Error(SshError::new(
                    SshErrorKind::Protocol,
                    format!(
                        "SSH with {} failed before its host key: {e}",
                        target.endpoint()
                    ),
                ))
            }
            (None, Ok(_)) => {
                return KeyStatus::Error(SshError::new(
                    SshErrorKind::Protocol,
                    format!(
                        "{} finished a handshake without a host key",
                        target.endpoint()
                    ),
                ))
            }
        };
        let presented = describe(&target.host, target.port, &key);
        match self.host_keys.judge(&target.host, target.port, &key) {
            Ok(HostKeyVerdict::Known) => KeyStatus::Known(presented),
            Ok(HostKeyVerdict::Unknown) => KeyStatus::Unknown(presented),
            Ok(HostKeyVerdict::Changed(change)) => KeyStatus::Changed(change),
            Err(error) => KeyStatus::Error(error),
        }
    }
}

fn not_reviewed(target: &Target, now: &PresentedKey, reviewed: &str) -> SshError {
    SshError::new(
        SshErrorKind::Outdated,
        format!(
            "{} now presents {}, not the key you reviewed ({reviewed}); nothing was replaced",
            target.endpoint(),
            now.fingerprint
        ),
    )
}

/// Handshake callbacks that keep the server's key and end the handshake right there.
struct KeyCatcher {
    host: String,
    port: u16,
    caught: Arc<Mutex<Option<Result<PublicKey, SshError>>>>,
}

impl client::Handler for KeyCatcher {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        presented: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let seen = match presented {
            PublicKeyOrCertificate::PublicKey { key, .. } => Ok(key.clone()),
            _ => Err(SshError::new(
                SshErrorKind::HostKeyUnknown,
                format!(
                    "{}:{} presented a host certificate; only known_hosts keys are supported",
                    self.host, self.port
                ),
            )),
        };
        if let Ok(mut slot) = self.caught.lock() {
            *slot = Some(seen);
        }
        // Refusing ends the handshake before any login: we came for the key only.
        Ok(false)
    }
}
