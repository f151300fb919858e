//! SQLite persistence through sqlx. Migrations are embedded; WAL is on so the desktop app
//! and the CLI can share the file.

use crate::error::{is_locked, EngineError, ErrorCode};
use crate::vm::{AuthMethod, Vm, VmDraft, VmId};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Sqlite, SqlitePool, Transaction};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

/// How long a statement waits for another program's lock before it is refused.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
}

#[derive(sqlx::FromRow)]
struct VmRow {
    id: i64,
    name: String,
    host: String,
    port: i64,
    user: String,
    auth: String,
    key_file: Option<String>,
    jump_host: Option<String>,
    notes: String,
    created_at: i64,
    updated_at: i64,
}

impl VmRow {
    fn into_vm(self, tags: Vec<String>) -> Result<Vm, EngineError> {
        let corrupt = |what: &str| {
            EngineError::new(
                ErrorCode::Database,
                format!("VM {:?} has an invalid {what} in the database", self.name),
            )
        };
        Ok(Vm {
            id: VmId(self.id),
            port: u16::try_from(self.port).map_err(|_| corrupt("port"))?,
            auth: AuthMethod::parse(&self.auth).ok_or_else(|| corrupt("auth method"))?,
            name: self.name,
            host: self.host,
            user: self.user,
            key_file: self.key_file,
            jump_host: self.jump_host,
            tags,
            notes: self.notes,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// `SELECT <every VmRow column> FROM vms <rest>`, as the static string sqlx requires.
macro_rules! select_vms {
    ($rest:literal) => {
        concat!(
            "SELECT id, name, host, port, user, auth, key_file, jump_host, notes, created_at, ",
            "updated_at FROM vms ",
            $rest
        )
    };
}

/// Why the data directory holding `file` takes no write, in the user's words; `None` when
/// it does. Asked before opening: on a read-only or full disk SQLite either opens the file
/// read-only without a word (and the first write, or the run locks beside it, fail later
/// with an OS error) or says only "unable to open database file" (code 14) or "disk I/O
/// error" (code 4874: its shared-memory file could not grow). A small file written and
/// removed tells which, and costs a few microseconds per start.
fn unwritable(file: &Path) -> Option<EngineError> {
    let dir = file.parent()?;
    let probe = dir.join(format!(".vmo-write-probe-{}", std::process::id()));
    let written = std::fs::write(&probe, b"probe");
    let _ = std::fs::remove_file(&probe);
    let err = written.err()?;
    match err.kind() {
        std::io::ErrorKind::StorageFull => Some(EngineError::new(
            ErrorCode::DiskFull,
            format!(
                "the disk holding {} is full; free some space and try again",
                dir.display()
            ),
        )),
        std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied => {
            Some(EngineError::new(
                ErrorCode::ReadOnly,
                format!(
                    "the data directory {} is read-only; make it writable and try again",
                    dir.display()
                ),
            ))
        }
        _ => None,
    }
}

impl Store {
    pub async fn open(file: &Path) -> Result<Self, EngineError> {
        if let Some(dir) = file.parent() {
            crate::paths::create_private_dir(dir).map_err(|e| {
                EngineError::new(
                    ErrorCode::Io,
                    format!("cannot create data directory {}: {e}", dir.display()),
                )
            })?;
        }
        if let Some(err) = unwritable(file) {
            return Err(err);
        }
        let options = SqliteConnectOptions::new()
            .filename(file)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Job output is big blobs: 64 KiB pages halve the CPU of recording it (fewer
            // overflow pages to chain and checkpoint). Takes effect for new databases only.
            .page_size(65536)
            // sqlx logs every statement, and each one over a second as a multi-line warning
            // (a wait on a lock is one): library talk, not something a user can act on.
            .disable_statement_logging();
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| {
                if is_locked(&e) {
                    return EngineError::database_locked(Some(file));
                }
                EngineError::new(
                    ErrorCode::Database,
                    format!("cannot open database {}: {e}", file.display()),
                )
            })?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| EngineError::from(e).in_database(file))?;
        Ok(Self { pool })
    }

    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub async fn list_vms(&self) -> Result<Vec<Vm>, EngineError> {
        let rows: Vec<VmRow> = sqlx::query_as(select_vms!("ORDER BY name COLLATE NOCASE"))
            .fetch_all(&self.pool)
            .await?;
        let tag_rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT vm_id, tag FROM vm_tags ORDER BY tag")
                .fetch_all(&self.pool)
                .await?;
        // Records and natural order (as people number hosts: web-2 before web-10) are CPU
        // work that grows with the inventory: off the caller's thread (the UI's event loop
        // when it reloads 10,000 VMs).
        tokio::task::spawn_blocking(move || {
            let mut tags: HashMap<i64, Vec<String>> = HashMap::new();
            for (vm_id, tag) in tag_rows {
                tags.entry(vm_id).or_default().push(tag);
            }
            let mut vms = rows
                .into_iter()
                .map(|r| {
                    let t = tags.remove(&r.id).unwrap_or_default();
                    r.into_vm(t)
                })
                .collect::<Result<Vec<_>, _>>()?;
            vms.sort_by(|a, b| natord::compare_ignore_case(&a.name, &b.name));
            Ok(vms)
        })
        .await
        .map_err(|e| EngineError::new(ErrorCode::Io, format!("listing VMs failed: {e}")))?
    }

    /// Every VM's id (a cheap check of which VMs still exist).
    pub async fn vm_ids(&self) -> Result<HashSet<VmId>, EngineError> {
        let ids: Vec<(i64,)> = sqlx::query_as("SELECT id FROM vms")
            .fetch_all(&self.pool)
            .await?;
        Ok(ids.into_iter().map(|(id,)| VmId(id)).collect())
    }

    pub async fn get_vm(&self, id: VmId) -> Result<Vm, EngineError> {
        let mut tx = self.pool.begin().await?;
        let vm = fetch_vm(&mut tx, id).await?;
        tx.commit().await?;
        Ok(vm)
    }

    pub async fn find_vm_by_name(&self, name: &str) -> Result<Option<Vm>, EngineError> {
        let id: Option<(i64,)> = sqlx::query_as("SELECT id FROM vms WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        match id {
            Some((id,)) => self.get_vm(VmId(id)).await.map(Some),
            None => Ok(None),
        }
    }

    /// Inserts a validated draft.
    pub async fn insert_vm(&self, draft: &VmDraft, now: i64) -> Result<Vm, EngineError> {
        let mut tx = self.pool.begin().await?;
        let id = insert_vm(&mut tx, draft, now).await?;
        let vm = fetch_vm(&mut tx, id).await?;
        tx.commit().await?;
        Ok(vm)
    }

    /// Replaces every field of a VM with a validated draft.
    pub async fn update_vm(&self, id: VmId, draft: &VmDraft, now: i64) -> Result<Vm, EngineError> {
        let mut tx = self.pool.begin().await?;
        update_vm(&mut tx, id, draft, now).await?;
        let vm = fetch_vm(&mut tx, id).await?;
        tx.commit().await?;
        Ok(vm)
    }

    /// Deletes every listed VM (no id twice), or none if one is missing. One statement
    /// for the whole list: deleting 10,000 VMs is one pass, not 10,000 round trips.
    pub async fn delete_vms(&self, ids: &[VmId]) -> Result<(), EngineError> {
        let list = id_list(ids);
        // Reads (which VMs exist) before it writes: take the write lock up front, or a
        // writer elsewhere makes the upgrade fail at once instead of waiting.
        let _turn = crate::write_turn::take(&self.pool).await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        missing_vm(&mut tx, &list).await?;
        sqlx::query("DELETE FROM vms WHERE id IN (SELECT value FROM json_each(?))")
            .bind(&list)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds `tag` to every listed VM (no id twice) in one transaction, or changes nothing
    /// if one is missing or would get more than `max_tags` tags. Returns how many VMs
    /// did not have it yet.
    pub async fn add_tag(
        &self,
        ids: &[VmId],
        tag: &str,
        max_tags: usize,
        now: i64,
    ) -> Result<usize, EngineError> {
        let list = id_list(ids);
        // Reads (which VMs exist) before it writes: take the write lock up front, or a
        // writer elsewhere makes the upgrade fail at once instead of waiting.
        let _turn = crate::write_turn::take(&self.pool).await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        missing_vm(&mut tx, &list).await?;
        let full: Option<(String,)> = sqlx::query_as(
            "SELECT name FROM vms WHERE id IN (SELECT value FROM json_each(?1))
               AND NOT EXISTS (SELECT 1 FROM vm_tags t WHERE t.vm_id = vms.id AND t.tag = ?2)
               AND (SELECT count(*) FROM vm_tags t WHERE t.vm_id = vms.id) >= ?3
             ORDER BY name LIMIT 1",
        )
        .bind(&list)
        .bind(tag)
        .bind(i64::try_from(max_tags).unwrap_or(i64::MAX))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((name,)) = full {
            return Err(EngineError::validation(vec![crate::FieldError {
                field: "tag".into(),
                message: format!("{name} already has {max_tags} tags, the most a VM can have"),
            }]));
        }
        // The time first, while the VMs still lack the tag.
        sqlx::query(
            "UPDATE vms SET updated_at = ?3 WHERE id IN (SELECT value FROM json_each(?1))
               AND NOT EXISTS (SELECT 1 FROM vm_tags t WHERE t.vm_id = vms.id AND t.tag = ?2)",
        )
        .bind(&list)
        .bind(tag)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "INSERT OR IGNORE INTO vm_tags (vm_id, tag) SELECT value, ?2 FROM json_each(?1)",
        )
        .bind(&list)
        .bind(tag)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }

    /// Removes `tag` from every listed VM (no id twice) in one transaction, or changes
    /// nothing if one is missing. Returns how many VMs had it.
    pub async fn remove_tag(
        &self,
        ids: &[VmId],
        tag: &str,
        now: i64,
    ) -> Result<usize, EngineError> {
        let list = id_list(ids);
        // Reads (which VMs exist) before it writes: take the write lock up front, or a
        // writer elsewhere makes the upgrade fail at once instead of waiting.
        let _turn = crate::write_turn::take(&self.pool).await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        missing_vm(&mut tx, &list).await?;
        sqlx::query(
            "UPDATE vms SET updated_at = ?3 WHERE id IN (SELECT value FROM json_each(?1))
               AND EXISTS (SELECT 1 FROM vm_tags t WHERE t.vm_id = vms.id AND t.tag = ?2)",
        )
        .bind(&list)
        .bind(tag)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "DELETE FROM vm_tags WHERE tag = ?2 AND vm_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(&list)
        .bind(tag)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }

    /// Applies many inserts and updates atomically (ssh-config import).
    pub async fn upsert_vms(
        &self,
        inserts: &[VmDraft],
        updates: &[(VmId, VmDraft)],
        now: i64,
    ) -> Result<(), EngineError> {
        let mut tx = self.pool.begin().await?;
        for draft in inserts {
            insert_vm(&mut tx, draft, now).await?;
        }
        for (id, draft) in updates {
            update_vm(&mut tx, *id, draft, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Ids as a JSON array, for `json_each`: a whole list bound as one parameter.
fn id_list(ids: &[VmId]) -> String {
    let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
    serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into())
}

/// `not_found` naming the first listed id that is no VM.
async fn missing_vm(tx: &mut Transaction<'_, Sqlite>, list: &str) -> Result<(), EngineError> {
    let missing: Option<(i64,)> = sqlx::query_as(
        "SELECT value FROM json_each(?) WHERE value NOT IN (SELECT id FROM vms) LIMIT 1",
    )
    .bind(list)
    .fetch_optional(&mut **tx)
    .await?;
    match missing {
        Some((id,)) => Err(EngineError::not_found(format!("VM #{id}"))),
        None => Ok(()),
    }
}

async fn fetch_vm(tx: &mut Transaction<'_, Sqlite>, id: VmId) -> Result<Vm, EngineError> {
    let row: Option<VmRow> = sqlx::query_as(select_vms!("WHERE id = ?"))
        .bind(id.0)
        .fetch_optional(&mut **tx)
        .await?;
    let row = row.ok_or_else(|| EngineError::not_found(format!("VM #{id}")))?;
    let tags: Vec<(String,)> =
        sqlx::query_as("SELECT tag FROM vm_tags WHERE vm_id = ? ORDER BY tag")
            .bind(id.0)
            .fetch_all(&mut **tx)
            .await?;
    row.into_vm(tags.into_iter().map(|(t,)| t).collect())
}

async fn insert_vm(
    tx: &mut Transaction<'_, Sqlite>,
    draft: &VmDraft,
    now: i64,
) -> Result<VmId, EngineError> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO vms (name, host, port, user, auth, key_file, jump_host, notes, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(&draft.name)
    .bind(&draft.host)
    .bind(i64::from(draft.port))
    .bind(&draft.user)
    .bind(draft.auth.as_str())
    .bind(&draft.key_file)
    .bind(&draft.jump_host)
    .bind(&draft.notes)
    .bind(now)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| name_conflict(e, &draft.name))?;
    write_tags(tx, VmId(id), &draft.tags).await?;
    Ok(VmId(id))
}

async fn update_vm(
    tx: &mut Transaction<'_, Sqlite>,
    id: VmId,
    draft: &VmDraft,
    now: i64,
) -> Result<(), EngineError> {
    let done = sqlx::query(
        "UPDATE vms SET name = ?, host = ?, port = ?, user = ?, auth = ?, key_file = ?,
         jump_host = ?, notes = ?, updated_at = ? WHERE id = ?",
    )
    .bind(&draft.name)
    .bind(&draft.host)
    .bind(i64::from(draft.port))
    .bind(&draft.user)
    .bind(draft.auth.as_str())
    .bind(&draft.key_file)
    .bind(&draft.jump_host)
    .bind(&draft.notes)
    .bind(now)
    .bind(id.0)
    .execute(&mut **tx)
    .await
    .map_err(|e| name_conflict(e, &draft.name))?;
    if done.rows_affected() == 0 {
        return Err(EngineError::not_found(format!("VM #{id}")));
    }
    sqlx::query("DELETE FROM vm_tags WHERE vm_id = ?")
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    write_tags(tx, id, &draft.tags).await
}

async fn write_tags(
    tx: &mut Transaction<'_, Sqlite>,
    id: VmId,
    tags: &[String],
) -> Result<(), EngineError> {
    for tag in tags {
        sqlx::query("INSERT OR IGNORE INTO vm_tags (vm_id, tag) VALUES (?, ?)")
            .bind(id.0)
            .bind(tag)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The unique index on `name` is the source of truth for uniqueness (no check-then-insert
/// race); its violation becomes a field error the form can show.
fn name_conflict(err: sqlx::Error, name: &str) -> EngineError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => EngineError {
            code: ErrorCode::Conflict,
            message: format!("A VM named {name:?} already exists"),
            fields: vec![crate::FieldError {
                field: "name".into(),
                message: format!("A VM named {name:?} already exists"),
            }],
        },
        _ => err.into(),
    }
}
