//! Why a connection or a run failed, precisely enough for a person to act on it.
//! Messages never contain a secret.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SshErrorKind {
    /// The host name does not resolve.
    Dns,
    /// Nothing listens on that port.
    Refused,
    /// No TCP answer within the connect timeout.
    ConnectTimeout,
    /// Any other network failure (unreachable network, reset, ...).
    Network,
    /// The host key is not in known_hosts, and nobody said to trust it.
    HostKeyUnknown,
    /// known_hosts holds a different key for this host: possible attack.
    HostKeyChanged,
    /// known_hosts marks the presented key `@revoked`: never usable.
    HostKeyRevoked,
    /// The server refused every credential we had.
    AuthFailed,
    /// A key file is missing, unreadable, malformed, or its passphrase is wrong or absent.
    KeyFile,
    /// The ssh-agent could not be reached or used.
    Agent,
    /// The OS keyring (Secret Service) holding a password or passphrase is missing, locked
    /// or silent.
    Keyring,
    /// The SSH conversation itself failed (protocol error, connection lost).
    Protocol,
    /// A jump host, or the VM it names, could not be resolved.
    Config,
    /// What the user was shown (a host key, a known_hosts line) is no longer true: look again.
    Outdated,
}

impl SshErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dns => "dns",
            Self::Refused => "refused",
            Self::ConnectTimeout => "connect_timeout",
            Self::Network => "network",
            Self::HostKeyUnknown => "host_key_unknown",
            Self::HostKeyChanged => "host_key_changed",
            Self::HostKeyRevoked => "host_key_revoked",
            Self::AuthFailed => "auth_failed",
            Self::KeyFile => "key_file",
            Self::Agent => "agent",
            Self::Keyring => "keyring",
            Self::Protocol => "protocol",
            Self::Config => "config",
            Self::Outdated => "outdated",
        }
    }

    /// The host could not be reached at all (as opposed to refusing us).
    pub fn is_unreachable(self) -> bool {
        matches!(
            self,
            Self::Dns | Self::Refused | Self::ConnectTimeout | Self::Network
        )
    }
}

/// The key a server presented, for the "trust this host?" question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresentedKey {
    pub host: String,
    pub port: u16,
    pub algorithm: String,
    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The public key in OpenSSH format, to write to known_hosts if trusted.
    pub openssh: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct SshError {
    pub kind: SshErrorKind,
    pub message: String,
    /// Set for `HostKeyUnknown`, `HostKeyChanged` and `HostKeyRevoked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_key: Option<Box<PresentedKey>>,
    /// Set when a password or passphrase is missing or was refused: the one to ask for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<Box<super::SecretRef>>,
}

impl SshError {
    pub fn new(kind: SshErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            host_key: None,
            secret: None,
        }
    }

    /// Marks the secret whose absence or refusal caused this error.
    pub fn needing(mut self, secret: super::SecretRef) -> Self {
        self.secret = Some(Box::new(secret));
        self
    }

    /// Prefixes the message with where it happened (e.g. a jump host).
    pub fn context(mut self, context: impl std::fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }
}
