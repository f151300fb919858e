//! Where the app keeps its files. One place decides, so the desktop app and the CLI always
//! open the same database.
//!
//! The root data directory holds the app-wide files (`settings.json`, the app's logs) and
//! the **default profile**'s data, where it always was (existing users keep their data).
//! Every other profile lives in `<root>/profiles/<name>/` with its own database, run locks
//! and `known_hosts`.

use crate::error::{EngineError, ErrorCode, FieldError};
use std::path::{Path, PathBuf};

/// Environment variable that moves the whole data directory (tests, portable installs).
pub const DATA_DIR_ENV: &str = "VMO_DATA_DIR";
const APP_DIR: &str = "vm-orchestrator";
/// The profile whose data is the root data directory itself.
pub const DEFAULT_PROFILE: &str = "default";
const PROFILES_DIR: &str = "profiles";
/// Remembers which profile the app opened last (one line, a profile name).
const LAST_PROFILE_FILE: &str = "last-profile";

#[derive(Debug, Clone)]
pub struct Paths {
    root: PathBuf,
    profile: String,
    data_dir: PathBuf,
}

impl Paths {
    /// The default profile of the root data directory `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        let root = data_dir.into();
        Self {
            data_dir: root.clone(),
            root,
            profile: DEFAULT_PROFILE.to_owned(),
        }
    }

    /// `$VMO_DATA_DIR`, else `$XDG_DATA_HOME/vm-orchestrator` (`~/.local/share/vm-orchestrator`).
    pub fn from_env() -> Result<Self, EngineError> {
        if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
            return Ok(Self::new(dir));
        }
        dirs::data_dir()
            .map(|d| Self::new(d.join(APP_DIR)))
            .ok_or_else(|| {
                EngineError::new(
                    ErrorCode::Io,
                    format!("no home data directory found; set {DATA_DIR_ENV}"),
                )
            })
    }

    /// The same root, profile `name` (not checked: see [`Profiles::open`]).
    fn with_profile(&self, name: &str) -> Self {
        let data_dir = if name == DEFAULT_PROFILE {
            self.root.clone()
        } else {
            self.root.join(PROFILES_DIR).join(name)
        };
        Self {
            root: self.root.clone(),
            profile: name.to_owned(),
            data_dir,
        }
    }

    /// The profile's own directory: its database, run locks, known_hosts.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The root data directory (app-wide files; the default profile's data).
    pub fn root_dir(&self) -> &Path {
        &self.root
    }

    /// This profile's name (`default` for the root's own data).
    pub fn profile(&self) -> &str {
        &self.profile
    }

    pub fn is_default_profile(&self) -> bool {
        self.profile == DEFAULT_PROFILE
    }

    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join("inventory.sqlite3")
    }

    /// Run locks: how the app and `vmo` take turns on a VM and share the global limit.
    pub fn locks_dir(&self) -> PathBuf {
        self.data_dir.join("locks")
    }

    /// The app's own logs: app-wide, at the root.
    pub fn log_dir(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The settings store (tauri-plugin-store's file, read by `vmo` too): app-wide.
    pub fn settings_file(&self) -> PathBuf {
        self.root.join("settings.json")
    }

    /// The known_hosts file this profile verifies against: None for the default profile
    /// (the user's own OpenSSH file), `<profile>/known_hosts` for the others, because
    /// isolated networks reuse private addresses and one lab's keys must not clash with,
    /// or vouch for, another's.
    pub fn known_hosts_file(&self) -> Option<PathBuf> {
        (!self.is_default_profile()).then(|| self.data_dir.join("known_hosts"))
    }

    /// `settings` with this profile's known_hosts file, if it has its own.
    pub fn ssh_settings(&self, mut settings: vmo_ssh::SshSettings) -> vmo_ssh::SshSettings {
        if let Some(file) = self.known_hosts_file() {
            settings.known_hosts = file;
        }
        settings
    }

    /// The user's OpenSSH client config, the default import source.
    pub fn default_ssh_config() -> Option<PathBuf> {
        dirs::home_dir().map(|h| h.join(".ssh").join("config"))
    }
}

/// The profiles of one root data directory.
#[derive(Debug, Clone)]
pub struct Profiles {
    root: Paths,
}

impl Profiles {
    pub fn new(root: &Paths) -> Self {
        Self {
            root: root.with_profile(DEFAULT_PROFILE),
        }
    }

    /// Every profile, `default` first, then by name.
    pub fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.root.join(PROFILES_DIR))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| check_name(n).is_ok())
            .collect();
        names.sort();
        names.insert(0, DEFAULT_PROFILE.to_owned());
        names
    }

    /// An existing profile's paths; `not_found` names the profiles there are.
    pub fn open(&self, name: &str) -> Result<Paths, EngineError> {
        let known = self.list();
        if known.iter().any(|n| n == name) {
            return Ok(self.root.with_profile(name));
        }
        Err(EngineError::new(
            ErrorCode::NotFound,
            format!(
                "there is no profile {name:?}; profiles: {} (create one with `vmo profile create NAME`)",
                known.join(", ")
            ),
        ))
    }

    /// Creates the profile `name` (its directory, private); `conflict` if it exists.
    pub fn create(&self, name: &str) -> Result<Paths, EngineError> {
        let name = name.trim();
        check_profile_name(name)?;
        if self.list().iter().any(|n| n == name) {
            return Err(EngineError {
                code: ErrorCode::Conflict,
                message: format!("a profile named {name} exists"),
                fields: vec![FieldError {
                    field: "name".into(),
                    message: format!("a profile named {name} exists"),
                }],
            });
        }
        let paths = self.root.with_profile(name);
        create_private_dir(paths.data_dir()).map_err(|e| {
            EngineError::new(
                ErrorCode::Io,
                format!("cannot create {}: {e}", paths.data_dir().display()),
            )
        })?;
        Ok(paths)
    }

    /// The profile opened last (by the app), if it still exists; else `default`.
    pub fn last_used(&self) -> String {
        std::fs::read_to_string(self.root.root.join(LAST_PROFILE_FILE))
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|n| self.list().contains(n))
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned())
    }

    pub fn set_last_used(&self, name: &str) -> Result<(), EngineError> {
        let file = self.root.root.join(LAST_PROFILE_FILE);
        create_private_dir(&self.root.root)
            .and_then(|()| std::fs::write(&file, format!("{name}\n")))
            .map_err(|e| {
                EngineError::new(
                    ErrorCode::Io,
                    format!("cannot write {}: {e}", file.display()),
                )
            })
    }
}

/// Profile names: `[a-z0-9][a-z0-9_-]{0,31}`; `default` is the root's own and cannot be
/// created. The error names the field `name`.
pub fn check_profile_name(name: &str) -> Result<(), EngineError> {
    check_name(name)?;
    if name == DEFAULT_PROFILE {
        return Err(name_error(
            "\"default\" is the main profile's name; pick another",
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), EngineError> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if name.is_empty() {
        return Err(name_error("a profile needs a name"));
    }
    if !first_ok || !rest_ok || name.len() > 32 {
        return Err(name_error(
            "1 to 32 characters: lowercase letters, digits, '-' or '_', starting with a letter or digit",
        ));
    }
    Ok(())
}

fn name_error(message: &str) -> EngineError {
    EngineError::validation(vec![FieldError {
        field: "name".into(),
        message: message.to_owned(),
    }])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_live_apart_and_default_is_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = Paths::new(dir.path());
        let profiles = Profiles::new(&root);
        assert_eq!(profiles.list(), vec!["default"]);
        assert_eq!(root.known_hosts_file(), None);

        let lab = profiles.create("lab").unwrap();
        assert_eq!(lab.data_dir(), dir.path().join("profiles/lab"));
        assert_eq!(
            lab.database_file(),
            dir.path().join("profiles/lab/inventory.sqlite3")
        );
        assert_eq!(lab.locks_dir(), dir.path().join("profiles/lab/locks"));
        assert_eq!(lab.settings_file(), dir.path().join("settings.json"));
        assert_eq!(lab.log_dir(), dir.path().join("logs"));
        assert_eq!(
            lab.known_hosts_file(),
            Some(dir.path().join("profiles/lab/known_hosts"))
        );
        profiles.create("work-2").unwrap();
        assert_eq!(profiles.list(), vec!["default", "lab", "work-2"]);

        assert_eq!(
            profiles.create("lab").unwrap_err().code,
            ErrorCode::Conflict
        );
        for bad in ["", "Lab", "-x", "a b", "default", &"x".repeat(33), "../x"] {
            let err = profiles.create(bad).unwrap_err();
            assert!(
                err.field("name").is_some() || err.code == ErrorCode::Conflict,
                "{bad}: {err:?}"
            );
        }
        assert!(check_profile_name(&"x".repeat(32)).is_ok());

        let err = profiles.open("nope").unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        assert!(
            err.message.contains("default, lab, work-2"),
            "{}",
            err.message
        );
        assert_eq!(profiles.open("lab").unwrap().data_dir(), lab.data_dir());

        assert_eq!(profiles.last_used(), "default");
        profiles.set_last_used("lab").unwrap();
        assert_eq!(profiles.last_used(), "lab");
        std::fs::remove_dir(lab.data_dir()).unwrap();
        assert_eq!(
            profiles.last_used(),
            "default",
            "a removed profile is not reopened"
        );
    }
}
