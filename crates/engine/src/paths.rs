//! Where the app keeps its files. One place decides, so the desktop app and the CLI always
//! open the same database.

use std::path::{Path, PathBuf};

/// Environment variable that moves the whole data directory (tests, portable installs).
pub const DATA_DIR_ENV: &str = "VMO_DATA_DIR";
const APP_DIR: &str = "vm-orchestrator";

#[derive(Debug, Clone)]
pub struct Paths {
    data_dir: PathBuf,
}

impl Paths {
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
        }
    }

    /// `$VMO_DATA_DIR`, else `$XDG_DATA_HOME/vm-orchestrator` (`~/.local/share/vm-orchestrator`).
    pub fn from_env() -> Result<Self, crate::EngineError> {
        if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(Self::new(dir));
        }
        dirs::data_dir()
            .map(|d| Self::new(d.join(APP_DIR)))
            .ok_or_else(|| {
                crate::EngineError::new(
                    crate::ErrorCode::Io,
                    format!("no home data directory found; set {DATA_DIR_ENV}"),
                )
            })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join("inventory.sqlite3")
    }

    /// Run locks: how the app and `vmo` take turns on a VM and share the global limit.
    pub fn locks_dir(&self) -> PathBuf {
        self.data_dir.join("locks")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    /// The user's OpenSSH client config, the default import source.
    pub fn default_ssh_config() -> Option<PathBuf> {
        dirs::home_dir().map(|h| h.join(".ssh").join("config"))
    }
}

/// Creates `dir` (and missing parents) readable by its owner only: job output and run locks
/// are nobody else's business, and another user must not be able to hold a VM's turn. A
/// folder that already exists keeps the permissions its owner gave it.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}
