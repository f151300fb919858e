//! Errors as they cross every boundary: a stable machine code, a human message, and for
//! validation failures the message of each offending field. Front ends match on the code,
//! never on the text.

use serde::Serialize;
use std::borrow::Cow;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Input broke a rule; `fields` says which.
    Validation,
    /// The named record does not exist.
    NotFound,
    /// The change clashes with an existing record (e.g. a taken name).
    Conflict,
    /// An ssh config file could not be read or parsed.
    SshConfig,
    /// An Ansible inventory file could not be read or parsed.
    AnsibleInventory,
    /// The database failed.
    Database,
    /// Another program holds the database (SQLite busy or locked, past the busy timeout).
    DatabaseLocked,
    /// A file or directory could not be used.
    Io,
    /// The disk holding the data directory is full.
    DiskFull,
    /// The data directory takes no writes (a read-only mount, or no permission).
    ReadOnly,
    /// An SSH connection or run failed (the SSH error's own kind says how).
    Ssh,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Validation => "validation",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::SshConfig => "ssh_config",
            Self::AnsibleInventory => "ansible_inventory",
            Self::Database => "database",
            Self::DatabaseLocked => "database_locked",
            Self::Io => "io",
            Self::DiskFull => "disk_full",
            Self::ReadOnly => "read_only",
            Self::Ssh => "ssh",
        }
    }
}

/// One field's problem. `field` is a form field (`name`, `port`) or, for templates, a
/// dotted path (`params.unit`, `values.unit`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: Cow<'static, str>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct EngineError {
    pub code: ErrorCode,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
}

impl EngineError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn validation(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => one.message.clone(),
            _ => format!("{} fields need attention", fields.len()),
        };
        Self {
            code: ErrorCode::Validation,
            message,
            fields,
        }
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} does not exist"))
    }

    /// Another program holds the database `file` (or an unnamed one): what happened and
    /// what to do, in the user's words.
    pub fn database_locked(file: Option<&Path>) -> Self {
        let which = file.map_or_else(
            || "the database".to_owned(),
            |f| format!("the database {}", f.display()),
        );
        Self::new(
            ErrorCode::DatabaseLocked,
            format!(
                "{which} is locked by another program; close that program (or wait for it \
                 to finish) and try again"
            ),
        )
    }

    /// Names `file` in a locked-database error raised where the file was not known.
    pub fn in_database(self, file: &Path) -> Self {
        if self.code == ErrorCode::DatabaseLocked {
            Self::database_locked(Some(file))
        } else {
            self
        }
    }

    /// The message for one field, if validation flagged it.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.as_str())
    }
}

/// SQLite's primary result code for "database or disk is full" (ENOSPC ends up here).
const SQLITE_FULL: i32 = 13;

/// SQLite's primary result code of a database error (sqlx reports the extended code,
/// whose low byte is the primary one).
fn primary_code(err: &sqlx::Error) -> Option<i32> {
    match err {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|code| code.parse::<i32>().ok())
            .map(|code| code & 0xff),
        _ => None,
    }
}

/// SQLITE_BUSY (5) or SQLITE_LOCKED (6), in any extended form: someone else holds the
/// database.
pub(crate) fn is_locked(err: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    const SQLITE_LOCKED: i32 = 6;
    matches!(primary_code(err), Some(SQLITE_BUSY | SQLITE_LOCKED))
}

impl From<sqlx::Error> for EngineError {
    fn from(err: sqlx::Error) -> Self {
        if primary_code(&err) == Some(SQLITE_FULL) {
            return Self::new(ErrorCode::DiskFull, "the disk is full");
        }
        if is_locked(&err) {
            return Self::database_locked(None);
        }
        Self::new(ErrorCode::Database, format!("database error: {err}"))
    }
}

impl From<sqlx::migrate::MigrateError> for EngineError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        use sqlx::migrate::MigrateError;
        if let MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _) = &err {
            if is_locked(inner) {
                return Self::database_locked(None);
            }
        }
        Self::new(
            ErrorCode::Database,
            format!("database migration failed: {err}"),
        )
    }
}

impl From<vmo_ssh::SshError> for EngineError {
    fn from(err: vmo_ssh::SshError) -> Self {
        EngineError::new(ErrorCode::Ssh, err.message)
    }
}
