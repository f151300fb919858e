//! Where passwords and key passphrases come from. The engine asks and, when the user types
//! one in, hands it over for safe keeping; it never stores one itself, logs it, or puts it
//! in an error. The desktop app and `vmo` keep them in the OS keyring.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Names a secret (never holds one).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecretRef {
    /// The login password of `user@host:port`.
    Password {
        user: String,
        host: String,
        port: u16,
    },
    /// The passphrase of a private key file.
    Passphrase { key_file: PathBuf },
}

impl SecretRef {
    /// The keyring account name: unique per secret, readable in a keyring manager.
    pub fn account(&self) -> String {
        match self {
            Self::Password { user, host, port } => format!("password {user}@{host}:{port}"),
            Self::Passphrase { key_file } => format!("passphrase {}", key_file.display()),
        }
    }

    /// What to ask the user for.
    pub fn prompt(&self) -> String {
        match self {
            Self::Password { user, host, port } => format!("Password for {user}@{host}:{port}"),
            Self::Passphrase { key_file } => format!("Passphrase of key {}", key_file.display()),
        }
    }
}

/// A store of secrets. Calls may block (D-Bus): the engine makes them off the async
/// executor.
pub trait Secrets: Send + Sync {
    fn get(&self, secret: &SecretRef) -> Option<String>;
    fn set(&self, secret: &SecretRef, value: &str) -> Result<(), String>;

    /// Like [`Secrets::get`], but tells "none is stored" (`Ok(None)`) from "the store
    /// cannot say" (`Err`, why in the user's words): asking the user to type a password
    /// that is stored in a locked keyring would be the wrong question.
    fn lookup(&self, secret: &SecretRef) -> Result<Option<String>, StoreUnavailable> {
        Ok(self.get(secret))
    }
}

/// Why a secret store could not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreUnavailable {
    /// No Secret Service answers (none runs, or no session bus).
    Unreachable,
    /// The keyring is locked, and unlocking it was refused or failed.
    Locked,
    /// It did not answer in time (typically an unlock prompt nobody answers).
    NoAnswer,
}

impl StoreUnavailable {
    /// What is wrong and what to do, as the end of a sentence about the secret.
    pub fn explain(self) -> String {
        match self {
            Self::Unreachable => "the OS keyring (Secret Service) cannot be reached; start it \
                                  (GNOME Keyring, KWallet or KeePassXC) and try again"
                .to_string(),
            Self::Locked => "the OS keyring is locked; unlock it and try again".to_string(),
            Self::NoAnswer => format!(
                "the OS keyring did not answer within {} s; unlock it and try again",
                super::SECRET_STORE_TIMEOUT.as_secs()
            ),
        }
    }
}

/// Holds nothing: password and encrypted-key logins fail with a clear message.
pub struct NoSecrets;

impl Secrets for NoSecrets {
    fn get(&self, _: &SecretRef) -> Option<String> {
        None
    }
    fn set(&self, _: &SecretRef, _: &str) -> Result<(), String> {
        Err("no secret store is available".into())
    }
}

/// Secrets held in memory for the life of the process (tests).
#[derive(Default)]
pub struct MemorySecrets {
    entries: Mutex<HashMap<String, String>>,
}

impl MemorySecrets {
    pub fn set_password(&self, user: &str, host: &str, port: u16, password: &str) {
        let secret = SecretRef::Password {
            user: user.into(),
            host: host.into(),
            port,
        };
        let _ = self.set(&secret, password);
    }

    pub fn set_passphrase(&self, key_file: &std::path::Path, passphrase: &str) {
        let secret = SecretRef::Passphrase {
            key_file: key_file.to_path_buf(),
        };
        let _ = self.set(&secret, passphrase);
    }
}

impl Secrets for MemorySecrets {
    fn get(&self, secret: &SecretRef) -> Option<String> {
        self.entries.lock().ok()?.get(&secret.account()).cloned()
    }
    fn set(&self, secret: &SecretRef, value: &str) -> Result<(), String> {
        self.entries
            .lock()
            .map_err(|_| "secret store lock poisoned".to_string())?
            .insert(secret.account(), value.to_string());
        Ok(())
    }
}

/// The OS keyring (Secret Service on Linux: GNOME Keyring, KWallet, KeePassXC).
pub struct KeyringSecrets {
    service: String,
}

impl KeyringSecrets {
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_string(),
        }
    }

    fn entry(&self, secret: &SecretRef) -> Result<keyring::Entry, String> {
        keyring::Entry::new(&self.service, &secret.account()).map_err(|e| e.to_string())
    }
}

impl Secrets for KeyringSecrets {
    fn get(&self, secret: &SecretRef) -> Option<String> {
        self.lookup(secret).ok().flatten()
    }

    fn lookup(&self, secret: &SecretRef) -> Result<Option<String>, StoreUnavailable> {
        let entry = keyring::Entry::new(&self.service, &secret.account());
        match entry.and_then(|e| e.get_password()) {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(err) => {
                // Not the secret itself: only which one, and why it is unavailable.
                tracing::debug!(account = %secret.account(), "no secret from the keyring: {err}");
                Err(match err {
                    keyring::Error::NoStorageAccess(_) => StoreUnavailable::Locked,
                    _ => StoreUnavailable::Unreachable,
                })
            }
        }
    }

    fn set(&self, secret: &SecretRef, value: &str) -> Result<(), String> {
        self.entry(secret)?
            .set_password(value)
            .map_err(|e| format!("the OS keyring refused to store it: {e}"))
    }
}
