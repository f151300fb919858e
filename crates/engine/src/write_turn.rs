//! One writer at a time over every process sharing a database file.
//!
//! SQLite's busy wait polls, sleeping up to 100 ms between tries: with ten `vmo` runs and
//! the app committing many times a second, one writer could lose every race for longer
//! than the busy timeout and fail with "locked". Our writers first take a turn on a lock
//! file beside the database (`flock`, tried every 2 ms), so they take turns among
//! themselves, and SQLite's busy timeout only ever waits for other programs.

use sqlx::SqlitePool;
use std::collections::HashMap;
use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How often a held turn is tried again.
const POLL: Duration = Duration::from_millis(2);
/// Past this, write without a turn: SQLite's busy timeout then says who holds it.
const PATIENCE: Duration = Duration::from_secs(60);

struct Turn {
    file: File,
    /// This process's writers queue here first: a `flock` is shared by one process's
    /// descriptors, so it cannot keep two of our own tasks apart.
    local: Arc<tokio::sync::Mutex<()>>,
}

/// Held while writing; the next writer goes when it drops.
pub(crate) struct WriteTurn {
    turn: Arc<Turn>,
    _local: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for WriteTurn {
    fn drop(&mut self) {
        if let Err(e) = self.turn.file.unlock() {
            tracing::warn!("cannot hand over the database write turn: {e}");
        }
    }
}

fn turns() -> &'static Mutex<HashMap<PathBuf, Arc<Turn>>> {
    static TURNS: OnceLock<Mutex<HashMap<PathBuf, Arc<Turn>>>> = OnceLock::new();
    TURNS.get_or_init(Default::default)
}

fn turn_for(database: &Path) -> Option<Arc<Turn>> {
    let mut turns = turns().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(turn) = turns.get(database) {
        return Some(turn.clone());
    }
    let mut name = database.as_os_str().to_owned();
    name.push(".write-turn");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PathBuf::from(name))
        // A read-only folder: no turns, SQLite's busy wait alone (reads still work).
        .inspect_err(|e| tracing::debug!("no database write turns: {e}"))
        .ok()?;
    let turn = Arc::new(Turn {
        file,
        local: Arc::new(tokio::sync::Mutex::new(())),
    });
    turns.insert(database.to_path_buf(), turn.clone());
    Some(turn)
}

/// Waits for this process's and then every process's turn to write to `pool`'s database.
/// None when turns cannot be used (then SQLite's own waiting applies).
pub(crate) async fn take(pool: &SqlitePool) -> Option<WriteTurn> {
    let turn = turn_for(pool.connect_options().get_filename())?;
    let local = turn.local.clone().lock_owned().await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        match turn.file.try_lock() {
            Ok(()) => {
                return Some(WriteTurn {
                    turn,
                    _local: local,
                })
            }
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                tokio::time::sleep(POLL).await;
            }
            Err(TryLockError::WouldBlock) => return None,
            Err(TryLockError::Error(e)) => {
                tracing::debug!("no database write turn: {e}");
                return None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_turn_at_a_time_in_a_process_and_across_processes() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("db.sqlite3");
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&database)
            .create_if_missing(true);
        let pool = SqlitePool::connect_with(options).await.unwrap();
        let first = take(&pool).await.unwrap();
        // Another task of this process waits...
        let waiting = tokio::spawn({
            let pool = pool.clone();
            async move { take(&pool).await.is_some() }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished());
        // ...and so does another process (its own descriptor of the same file).
        let other = File::open(dir.path().join("db.sqlite3.write-turn")).unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop(first);
        assert!(waiting.await.unwrap());
        assert!(other.try_lock().is_ok());
    }
}
