//! Errors as they cross every boundary: a stable machine code, a human message, and for
//! validation failures the message of each offending field. Front ends match on the code,
//! never on the text.

use serde::Serialize;

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
    /// The database failed.
    Database,
    /// A file or directory could not be used.
    Io,
    /// The disk holding the data directory is full.
    DiskFull,
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
            Self::Database => "database",
            Self::Io => "io",
            Self::DiskFull => "disk_full",
            Self::Ssh => "ssh",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: &'static str,
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

    /// The message for one field, if validation flagged it.
    pub fn field(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.as_str())
    }
}

/// SQLite's primary result code for "database or disk is full" (ENOSPC ends up here).
const SQLITE_FULL: i64 = 13;

impl From<sqlx::Error> for EngineError {
    fn from(err: sqlx::Error) -> Self {
        let code = match &err {
            sqlx::Error::Database(db) => db.code().and_then(|c| c.parse::<i64>().ok()),
            _ => None,
        };
        // Extended codes keep the primary one in their low byte.
        if code.is_some_and(|c| c & 0xff == SQLITE_FULL) {
            return Self::new(ErrorCode::DiskFull, "the disk is full");
        }
        Self::new(ErrorCode::Database, format!("database error: {err}"))
    }
}

impl From<sqlx::migrate::MigrateError> for EngineError {
    fn from(err: sqlx::migrate::MigrateError) -> Self {
        Self::new(
            ErrorCode::Database,
            format!("database migration failed: {err}"),
        )
    }
}
