//! Where passwords and key passphrases come from. The engine asks; it never stores them,
//! logs them or puts them in an error. The desktop app answers from the OS keyring.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

/// A source of secrets. Lookups happen at connect time, off the async executor's hot path.
pub trait Secrets: Send + Sync {
    /// The password of `user@host:port`.
    fn password(&self, user: &str, host: &str, port: u16) -> Option<String>;
    /// The passphrase of a private key file.
    fn passphrase(&self, key_file: &Path) -> Option<String>;
}

/// Holds nothing: password and encrypted-key logins fail with a clear message.
pub struct NoSecrets;

impl Secrets for NoSecrets {
    fn password(&self, _: &str, _: &str, _: u16) -> Option<String> {
        None
    }
    fn passphrase(&self, _: &Path) -> Option<String> {
        None
    }
}

/// Secrets held in memory for the life of the process (tests; a CLI run).
#[derive(Default)]
pub struct MemorySecrets {
    entries: Mutex<HashMap<String, String>>,
}

impl MemorySecrets {
    pub fn set_password(&self, user: &str, host: &str, port: u16, password: &str) {
        self.put(format!("password {user}@{host}:{port}"), password);
    }

    pub fn set_passphrase(&self, key_file: &Path, passphrase: &str) {
        self.put(format!("passphrase {}", key_file.display()), passphrase);
    }

    fn put(&self, key: String, value: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(key, value.to_string());
        }
    }

    fn get(&self, key: &str) -> Option<String> {
        self.entries.lock().ok()?.get(key).cloned()
    }
}

impl Secrets for MemorySecrets {
    fn password(&self, user: &str, host: &str, port: u16) -> Option<String> {
        self.get(&format!("password {user}@{host}:{port}"))
    }
    fn passphrase(&self, key_file: &Path) -> Option<String> {
        self.get(&format!("passphrase {}", key_file.display()))
    }
}
