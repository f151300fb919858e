//! The SSH engine on russh: connections to targets (with ProxyJump chains), host keys
//! verified against OpenSSH's known_hosts, authentication by agent, key file or password,
//! streamed execution with real cancellation, a connection pool, and fan-out. It knows no
//! database, no job and no inventory: the engine resolves VMs into [`Target`]s.

mod connect;
mod error;
mod exec;
mod fanout;
mod host_keys;
mod key_scan;
mod known_hosts;
mod pool;
mod secrets;
mod target;

pub use connect::{Connection, Connector};
pub use error::{PresentedKey, SshError, SshErrorKind};
pub use exec::{run, Output, RunEnd};
pub use fanout::{run_host, run_on_hosts, FanoutEvent, HostOutcome, HostResult, RunOptions};
pub use host_keys::{ChangedKey, HostKeyVerdict, HostKeys};
pub use key_scan::{KeyScan, KeyStatus, SCAN_CONCURRENCY};
pub use known_hosts::KnownHostsLine;
pub use pool::SshPool;
pub use secrets::{KeyringSecrets, MemorySecrets, NoSecrets, SecretRef, Secrets, StoreUnavailable};
pub use target::{expand_home, user_or_local, AuthMethod, Target};

use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Ciphers offered, best first. AES-GCM first: with the CPU's AES instructions it costs a
/// fraction of ChaCha20-Poly1305 (russh's first choice, and OpenSSH's), which matters when
/// a host streams gigabytes; ChaCha20 stays for servers or CPUs without fast AES.
/// Host certificate kinds asked for where a `@cert-authority` line applies, best first.
const CERTIFICATE_ALGORITHMS: &[russh::keys::Algorithm] = &[
    russh::keys::Algorithm::Ed25519,
    russh::keys::Algorithm::Ecdsa {
        curve: russh::keys::EcdsaCurve::NistP256,
    },
    russh::keys::Algorithm::Rsa {
        hash: Some(russh::keys::HashAlg::Sha512),
    },
    russh::keys::Algorithm::Rsa {
        hash: Some(russh::keys::HashAlg::Sha256),
    },
];

const CIPHERS: &[russh::cipher::Name] = &[
    russh::cipher::AES_256_GCM,
    russh::cipher::CHACHA20_POLY1305,
    russh::cipher::AES_256_CTR,
    russh::cipher::AES_192_CTR,
    russh::cipher::AES_128_CTR,
];

/// How long a secret store (a D-Bus keyring) may take to answer.
pub const SECRET_STORE_TIMEOUT: Duration = Duration::from_secs(20);

/// The keyring service name under which the desktop app and `vmo` keep secrets.
pub const KEYRING_SERVICE: &str = "vm-orchestrator";

/// Environment variable naming another known_hosts file (tests, portable setups).
pub const KNOWN_HOSTS_ENV: &str = "VMO_KNOWN_HOSTS";

#[derive(Debug, Clone)]
pub struct SshSettings {
    /// The OpenSSH known_hosts file to verify against (and write trusted keys to).
    pub known_hosts: PathBuf,
    /// Accept and record unknown host keys (never changed ones), like `accept-new`.
    pub accept_new: bool,
    pub connect_timeout: Duration,
    pub keepalive: Duration,
    pub idle_expiry: Duration,
    /// The ssh-agent socket (`SSH_AUTH_SOCK`).
    pub agent_socket: Option<PathBuf>,
}

impl SshSettings {
    /// The user's `~/.ssh/known_hosts` (or `$VMO_KNOWN_HOSTS`) and `SSH_AUTH_SOCK`.
    pub fn from_env() -> Self {
        Self {
            known_hosts: std::env::var_os(KNOWN_HOSTS_ENV)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| expand_home("~/.ssh/known_hosts")),
            accept_new: false,
            connect_timeout: Duration::from_secs(10),
            keepalive: Duration::from_secs(30),
            idle_expiry: Duration::from_secs(300),
            agent_socket: std::env::var_os("SSH_AUTH_SOCK")
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        }
    }
}

/// The result of a connection test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionTest {
    pub name: String,
    pub ok: bool,
    /// TCP connect, handshake and login.
    pub connect_ms: u64,
    /// One round trip of a trivial command over the open connection.
    pub command_ms: Option<u64>,
    pub server_version: Option<String>,
    pub fingerprint: Option<String>,
    pub error: Option<SshError>,
}

impl ConnectionTest {
    /// A test that could not even start (e.g. its jump hosts do not resolve).
    pub fn failed(name: String, error: SshError) -> Self {
        Self {
            name,
            ok: false,
            connect_ms: 0,
            command_ms: None,
            server_version: None,
            fingerprint: None,
            error: Some(error),
        }
    }
}

/// The SSH engine: pool, host keys and secrets. Cheap to clone.
#[derive(Clone)]
pub struct Ssh {
    pool: Arc<SshPool>,
    host_keys: Arc<HostKeys>,
    secrets: Arc<dyn Secrets>,
}

impl Ssh {
    pub fn new(settings: &SshSettings, secrets: Arc<dyn Secrets>) -> Self {
        let host_keys = Arc::new(HostKeys::new(
            settings.known_hosts.clone(),
            settings.accept_new,
        ));
        let config = |certificates: &'static [russh::keys::Algorithm]| russh::client::Config {
            nodelay: true,
            keepalive_interval: Some(settings.keepalive),
            keepalive_max: 3,
            preferred: russh::Preferred {
                cipher: std::borrow::Cow::Borrowed(CIPHERS),
                host_key_certificates: std::borrow::Cow::Borrowed(certificates),
                ..Default::default()
            },
            ..Default::default()
        };
        let connector = Connector {
            config: Arc::new(config(&[])),
            config_with_certificates: Arc::new(config(CERTIFICATE_ALGORITHMS)),
            host_keys: host_keys.clone(),
            secrets: secrets.clone(),
            agent_socket: settings.agent_socket.clone(),
            connect_timeout: settings.connect_timeout,
        };
        Self {
            pool: Arc::new(SshPool::new(connector, settings.idle_expiry)),
            host_keys,
            secrets,
        }
    }

    /// Keeps a password or passphrase the user typed in the secret store (the OS keyring),
    /// for this and later logins.
    pub async fn remember_secret(&self, secret: SecretRef, value: String) -> Result<(), SshError> {
        let store = self.secrets.clone();
        let account = secret.account();
        // A locked keyring may wait for an unlock prompt nobody answers: do not hang on it.
        let stored = tokio::time::timeout(
            SECRET_STORE_TIMEOUT,
            tokio::task::spawn_blocking(move || store.set(&secret, &value)),
        )
        .await
        .map_err(|_| {
            SshError::new(
                SshErrorKind::Config,
                "the OS keyring did not answer; is it unlocked?",
            )
        })?;
        stored
            .map_err(|e| {
                SshError::new(
                    SshErrorKind::Config,
                    format!("secret store task failed: {e}"),
                )
            })?
            .map_err(|e| SshError::new(SshErrorKind::Config, format!("cannot keep {account}: {e}")))
    }

    /// Drops idle pooled connections every minute, for as long as the pool lives. Needs a
    /// tokio runtime.
    pub fn expire_idle_connections(&self) {
        let pool = Arc::downgrade(&self.pool);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(pool) = pool.upgrade() else { break };
                let expired = pool.expire_idle().await;
                if expired > 0 {
                    tracing::debug!(expired, "idle SSH connections closed");
                }
            }
        });
    }

    pub fn pool(&self) -> &Arc<SshPool> {
        &self.pool
    }

    pub fn host_keys(&self) -> &HostKeys {
        &self.host_keys
    }

    /// Connects afresh (jump hosts may come from the pool), logs in, runs `true`.
    pub async fn test(&self, target: &Target) -> ConnectionTest {
        let started = Instant::now();
        let mut report = ConnectionTest {
            name: target.name.clone(),
            ok: false,
            connect_ms: 0,
            command_ms: None,
            server_version: None,
            fingerprint: None,
            error: None,
        };
        let via = match &target.jump {
            Some(jump) => match self.pool.get(jump).await {
                Ok(c) => Some(c),
                Err(e) => {
                    report.error = Some(e.context(format!("jump host {}", jump.name)));
                    return report;
                }
            },
            None => None,
        };
        let connection = match self.pool.connector().connect(target, via).await {
            Ok(c) => Arc::new(c),
            Err(e) => {
                report.connect_ms = started.elapsed().as_millis() as u64;
                report.error = Some(e);
                return report;
            }
        };
        report.connect_ms = connection.setup_time.as_millis() as u64;
        report.fingerprint = Some(connection.fingerprint.clone());
        let (tx, mut rx) = mpsc::channel(4);
        let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
        let ran = run(
            &connection,
            "true",
            &tx,
            &CancellationToken::new(),
            Some(Duration::from_secs(30)),
        )
        .await;
        drop(tx);
        let _ = drain.await;
        report.server_version = connection.server_version();
        match ran {
            Ok((end, took)) => {
                report.command_ms = Some(took.as_millis() as u64);
                report.ok = end.success();
                if !report.ok {
                    report.error = Some(SshError::new(
                        SshErrorKind::Protocol,
                        format!("`true` did not succeed: {end:?}"),
                    ));
                }
            }
            Err(e) => report.error = Some(e),
        }
        report
    }
}
