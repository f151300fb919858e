//! Templates and command history in SQLite (migration `0004_commands.sql`).

use crate::error::{EngineError, ErrorCode};
use serde::Serialize;
use sqlx::SqlitePool;
use vmo_command::{Template, TemplateRun};

/// A user template as stored.
#[derive(Debug, Clone)]
pub(crate) struct StoredTemplate {
    pub template: Template,
    pub created_at: i64,
    pub updated_at: i64,
}

/// One distinct command that was run, how often and when last.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub command: String,
    /// The template (and values) it last ran from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateRun>,
    pub count: u32,
    /// Unix milliseconds.
    pub first_used_at: i64,
    pub last_used_at: i64,
    /// Frecency at the time it was read (see `vmo_command::frecency`).
    pub score: f64,
}

/// command, template, template_params, use_count, first_used_at, last_used_at.
type HistoryRow = (String, Option<String>, Option<String>, i64, i64, i64);

#[derive(Clone)]
pub(crate) struct CommandStore {
    pool: SqlitePool,
}

fn corrupt(name: &str, e: impl std::fmt::Display) -> EngineError {
    EngineError::new(
        ErrorCode::Database,
        format!("template {name:?} is unreadable in the database: {e}"),
    )
}

fn to_json(t: &Template) -> Result<String, EngineError> {
    serde_json::to_string(t)
        .map_err(|e| EngineError::new(ErrorCode::Database, format!("cannot store template: {e}")))
}

impl CommandStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub async fn list(&self) -> Result<Vec<StoredTemplate>, EngineError> {
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(
            "SELECT name, definition, created_at, updated_at FROM templates \
             ORDER BY name COLLATE NOCASE",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(name, json, created_at, updated_at)| {
                Ok(StoredTemplate {
                    template: serde_json::from_str(&json).map_err(|e| corrupt(&name, e))?,
                    created_at,
                    updated_at,
                })
            })
            .collect()
    }

    pub async fn get(&self, name: &str) -> Result<Option<StoredTemplate>, EngineError> {
        let row: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT definition, created_at, updated_at FROM templates WHERE name = ?",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|(json, created_at, updated_at)| {
            Ok(StoredTemplate {
                template: serde_json::from_str(&json).map_err(|e| corrupt(name, e))?,
                created_at,
                updated_at,
            })
        })
        .transpose()
    }

    pub async fn insert(&self, t: &Template, now: i64) -> Result<(), EngineError> {
        sqlx::query(
            "INSERT INTO templates (name, definition, created_at, updated_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&t.name)
        .bind(to_json(t)?)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| name_conflict(e, &t.name))?;
        Ok(())
    }

    /// Replaces the template named `old` (which may be renamed). False if there is none.
    pub async fn update(&self, old: &str, t: &Template, now: i64) -> Result<bool, EngineError> {
        let done = sqlx::query(
            "UPDATE templates SET name = ?, definition = ?, updated_at = ? WHERE name = ?",
        )
        .bind(&t.name)
        .bind(to_json(t)?)
        .bind(now)
        .bind(old)
        .execute(&self.pool)
        .await
        .map_err(|e| name_conflict(e, &t.name))?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn delete(&self, name: &str) -> Result<bool, EngineError> {
        let done = sqlx::query("DELETE FROM templates WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Adds or replaces (by name) all of `templates` in one transaction: (added, updated).
    pub async fn upsert_all(
        &self,
        templates: &[Template],
        now: i64,
    ) -> Result<(usize, usize), EngineError> {
        let mut tx = self.pool.begin().await?;
        let (mut added, mut updated) = (0, 0);
        for t in templates {
            let done = sqlx::query(
                "UPDATE templates SET name = ?, definition = ?, updated_at = ? WHERE name = ?",
            )
            .bind(&t.name)
            .bind(to_json(t)?)
            .bind(now)
            .bind(&t.name)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() > 0 {
                updated += 1;
                continue;
            }
            sqlx::query(
                "INSERT INTO templates (name, definition, created_at, updated_at) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(&t.name)
            .bind(to_json(t)?)
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            added += 1;
        }
        tx.commit().await?;
        Ok((added, updated))
    }

    /// Counts one more run of `command` (from `template`, if given).
    pub async fn record_run(
        &self,
        command: &str,
        template: Option<&TemplateRun>,
        now: i64,
    ) -> Result<(), EngineError> {
        let params = template
            .map(|t| serde_json::to_string(&t.params))
            .transpose()
            .map_err(|e| EngineError::new(ErrorCode::Database, e.to_string()))?;
        let _turn = crate::write_turn::take(&self.pool).await;
        // A later ad hoc run of the same text keeps the template it is known to come from.
        sqlx::query(
            "INSERT INTO command_history (command, template, template_params, use_count, \
             first_used_at, last_used_at) VALUES (?1, ?2, ?3, 1, ?4, ?4) \
             ON CONFLICT (command) DO UPDATE SET use_count = use_count + 1, \
             last_used_at = excluded.last_used_at, \
             template = COALESCE(excluded.template, template), \
             template_params = CASE WHEN excluded.template IS NULL THEN template_params \
                               ELSE excluded.template_params END",
        )
        .bind(command)
        .bind(template.map(|t| t.name.as_str()))
        .bind(params)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Most recently used first, at most `limit` (0: all).
    pub async fn history(&self, limit: u32, now: i64) -> Result<Vec<HistoryEntry>, EngineError> {
        let limit = if limit == 0 { -1 } else { i64::from(limit) };
        let rows: Vec<HistoryRow> = sqlx::query_as(
            "SELECT command, template, template_params, use_count, first_used_at, last_used_at \
             FROM command_history ORDER BY last_used_at DESC, id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(command, template, params, count, first, last)| {
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                HistoryEntry {
                    template: template.map(|name| TemplateRun {
                        name,
                        // Unreadable values only lose the display of them, not the entry.
                        params: params
                            .and_then(|p| serde_json::from_str(&p).ok())
                            .unwrap_or_default(),
                    }),
                    command,
                    count,
                    first_used_at: first,
                    last_used_at: last,
                    score: vmo_command::frecency::score(count, last, now),
                }
            })
            .collect())
    }
}

fn name_conflict(err: sqlx::Error, name: &str) -> EngineError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let message = format!("A template named {name:?} already exists");
            EngineError {
                code: ErrorCode::Conflict,
                message: message.clone(),
                fields: vec![crate::FieldError {
                    field: "name".into(),
                    message,
                }],
            }
        }
        _ => err.into(),
    }
}
