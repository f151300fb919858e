//! Where and how to connect: a concrete endpoint with its chain of jump hosts. (The engine
//! resolves inventory VMs into targets.)

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How the engine authenticates. The record names the method only: passwords and key
/// passphrases live in the OS keyring, never here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    #[default]
    Agent,
    KeyFile,
    Password,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 3] = [Self::Agent, Self::KeyFile, Self::Password];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agent => "agent",
            Self::KeyFile => "key_file",
            Self::Password => "password",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Agent => "SSH agent",
            Self::KeyFile => "Key file",
            Self::Password => "Password",
        }
    }
}

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
