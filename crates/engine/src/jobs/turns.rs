//! Whose turn it is to run on a host, across processes. The app and every `vmo` share the
//! data directory, so the queue's rules (one job at a time per VM, a global limit of host
//! runs) are file locks in its `locks/` folder: `flock` locks that the kernel drops when a
//! process ends, so a crash never leaves a VM locked. Inside one process, waiters queue on
//! tokio primitives first, so only one of them polls a given file.

use crate::error::{EngineError, ErrorCode};
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// How often a waiter looks at a lock another process holds: first quickly, then less.
const POLL_FIRST: Duration = Duration::from_millis(5);
const POLL_MAX: Duration = Duration::from_millis(100);

pub(crate) struct Turns {
    dir: PathBuf,
    /// One in-process queue per VM, in front of its file lock.
    vm_queues: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// This process's share of the global limit, in front of the slot files.
    slots: Arc<Semaphore>,
    slot_table: Arc<SlotTable>,
}

/// The global limit as files `slot-N.lock`, N < limit: a host run holds one of them.
struct SlotTable {
    state: Mutex<SlotState>,
    /// Permits to retire as they come back, after the limit shrank below what was in use.
    debt: AtomicUsize,
}

struct SlotState {
    /// Opened as the limit first reaches them; a lock belongs to an open file, so each slot
    /// is one `File` here. Files past a lowered limit stay open (a run may hold one) but
    /// are no longer handed out.
    files: Vec<File>,
    /// Which slots this process holds (re-locking our own file would "succeed").
    held: Vec<bool>,
    limit: usize,
}

/// One VM's turn; dropping it lets the next job (of any process) run there.
pub(crate) struct HostTurn {
    _file: Option<File>,
    _queue: OwnedMutexGuard<()>,
}

/// One of the global slots; dropping it frees it for any process.
pub(crate) struct Slot {
    index: Option<usize>,
    table: Arc<SlotTable>,
    permit: Option<OwnedSemaphorePermit>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(index) = self.index {
            // Under the table's lock: no task here may take the slot before it is unlocked.
            let mut state = self.table.state();
            if let Err(e) = state.files[index].unlock() {
                tracing::warn!("cannot free run slot {index}: {e}");
            }
            state.held[index] = false;
        }
        // A shrunk limit takes its permits back as runs end.
        let owed = self
            .table
            .debt
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| d.checked_sub(1));
        if owed.is_ok() {
            if let Some(permit) = self.permit.take() {
                permit.forget();
            }
        }
    }
}

impl SlotTable {
    fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Turns {
    /// Creates `dir` if needed and opens the `limit` slot files.
    pub fn open(dir: &Path, limit: usize) -> Result<Self, EngineError> {
        crate::paths::create_private_dir(dir).map_err(|e| io_error(dir, e))?;
        let turns = Self {
            dir: dir.to_path_buf(),
            vm_queues: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(0)),
            slot_table: Arc::new(SlotTable {
                state: Mutex::new(SlotState {
                    files: Vec::new(),
                    held: Vec::new(),
                    limit: 0,
                }),
                debt: AtomicUsize::new(0),
            }),
        };
        turns.set_limit(limit)?;
        Ok(turns)
    }

    /// Changes the global limit at once. Growing opens more slot files and lets waiters
    /// in; shrinking lets running hosts finish and makes new ones wait until fewer than
    /// `limit` run.
    pub fn set_limit(&self, limit: usize) -> Result<(), EngineError> {
        let mut state = self.slot_table.state();
        while state.files.len() < limit {
            let n = state.files.len();
            let file = open_lock(&self.dir.join(format!("slot-{n}.lock")))?;
            state.files.push(file);
            state.held.push(false);
        }
        let old = state.limit;
        state.limit = limit;
        if limit > old {
            let mut grow = limit - old;
            // Cancel debt first: those permits were never retired.
            let _ = self
                .slot_table
                .debt
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |d| {
                    let paid = d.min(grow);
                    grow -= paid;
                    Some(d - paid)
                });
            self.slots.add_permits(grow);
        } else if old > limit {
            let shrink = old - limit;
            let retired = self.slots.forget_permits(shrink);
            self.slot_table
                .debt
                .fetch_add(shrink - retired, Ordering::AcqRel);
        }
        Ok(())
    }

    /// Waits until no other job, here or in another process, runs on the VM `key`.
    /// `None` when cancelled first.
    pub async fn host_turn(&self, key: &str, cancel: &CancellationToken) -> Option<HostTurn> {
        let queue = self.vm_queue(key);
        let queued = tokio::select! {
            guard = queue.lock_owned() => guard,
            () = cancel.cancelled() => return None,
        };
        let file = match open_lock(&self.dir.join(format!("{}.lock", file_stem(key)))) {
            Ok(file) => poll(cancel, || match file.try_lock() {
                Ok(()) => Ok(Some(())),
                Err(TryLockError::WouldBlock) => Ok(None),
                Err(TryLockError::Error(e)) => Err(e),
            })
            .await?
            .map(|()| file),
            Err(e) => Err(std::io::Error::other(e.message)),
        };
        Some(HostTurn {
            _file: without_lock_on_error(file, key),
            _queue: queued,
        })
    }

    /// Waits for one of the global slots, shared by every process. `None` when cancelled.
    pub async fn slot(&self, cancel: &CancellationToken) -> Option<Slot> {
        let permit = tokio::select! {
            p = self.slots.clone().acquire_owned() => p.ok()?,
            () = cancel.cancelled() => return None,
        };
        let table = self.slot_table.clone();
        let index = poll(cancel, || {
            let mut state = table.state();
            let state = &mut *state;
            for index in 0..state.limit {
                if state.held[index] {
                    continue;
                }
                match state.files[index].try_lock() {
                    Ok(()) => {
                        state.held[index] = true;
                        return Ok(Some(index));
                    }
                    Err(TryLockError::WouldBlock) => {}
                    Err(TryLockError::Error(e)) => return Err(e),
                }
            }
            Ok(None)
        })
        .await?;
        Some(Slot {
            index: without_lock_on_error(index, "the global limit"),
            table,
            permit: Some(permit),
        })
    }

    fn vm_queue(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut queues = self.vm_queues.lock().unwrap_or_else(|e| e.into_inner());
        queues.retain(|_, q| Arc::strong_count(q) > 1 || q.try_lock().is_err());
        queues.entry(key.to_string()).or_default().clone()
    }
}

/// Tries `attempt` until it gives something, sleeping a little longer each time; `None`
/// when cancelled, `Some(Err)` when the lock itself fails (not merely held by someone).
async fn poll<T>(
    cancel: &CancellationToken,
    mut attempt: impl FnMut() -> std::io::Result<Option<T>>,
) -> Option<std::io::Result<T>> {
    let mut pause = POLL_FIRST;
    loop {
        match attempt() {
            Ok(Some(got)) => return Some(Ok(got)),
            Ok(None) => {}
            Err(e) => return Some(Err(e)),
        }
        tokio::select! {
            () = tokio::time::sleep(pause) => {}
            () = cancel.cancelled() => return None,
        }
        pause = (pause * 2).min(POLL_MAX);
    }
}

/// A lock file that cannot be used (a read-only or odd file system) must not stop jobs:
/// the rules still hold inside this process, and running beats hanging. Said loudly.
fn without_lock_on_error<T>(got: std::io::Result<T>, what: &str) -> Option<T> {
    got.map_err(|e| {
        tracing::warn!("run lock for {what} unusable ({e}); other programs' jobs may overlap")
    })
    .ok()
}

fn open_lock(path: &Path) -> Result<File, EngineError> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| io_error(path, e))
}

fn io_error(path: &Path, e: std::io::Error) -> EngineError {
    EngineError::new(
        ErrorCode::Io,
        format!("cannot use the run lock {}: {e}", path.display()),
    )
}

/// A lock key ("vm:12") as a file name ("vm-12").
fn file_stem(key: &str) -> String {
    key.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two `Turns` on one folder stand for two processes: their files are separate open
    /// files, which is what `flock` tells apart.
    #[tokio::test]
    async fn slots_and_vm_turns_hold_across_openers() {
        let dir = tempfile::tempdir().unwrap();
        let (app, cli) = (
            Turns::open(dir.path(), 2).unwrap(),
            Turns::open(dir.path(), 2).unwrap(),
        );
        let never = CancellationToken::new();
        let a = app.slot(&never).await.unwrap();
        let b = cli.slot(&never).await.unwrap();
        // The limit (2) is used up over both: a third waits until one is freed.
        let waiting = tokio::time::timeout(Duration::from_millis(300), app.slot(&never)).await;
        assert!(waiting.is_err(), "a third slot was handed out");
        drop(b);
        let c = tokio::time::timeout(Duration::from_secs(2), app.slot(&never))
            .await
            .expect("a freed slot is taken")
            .unwrap();
        drop((a, c));

        let turn = app.host_turn("vm:1", &never).await.unwrap();
        let other_vm = tokio::time::timeout(Duration::from_secs(2), cli.host_turn("vm:2", &never));
        assert!(other_vm.await.is_ok(), "another VM is free");
        let cancel = CancellationToken::new();
        let same_vm = cli.host_turn("vm:1", &cancel);
        tokio::pin!(same_vm);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), &mut same_vm)
                .await
                .is_err(),
            "two jobs got the same VM"
        );
        drop(turn);
        let got = tokio::time::timeout(Duration::from_secs(2), &mut same_vm).await;
        assert!(matches!(got, Ok(Some(_))), "the VM's turn passes on");
        // Only the owner may take (or hold up) a turn.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
            let private = dir.path().join("private");
            let _ = Turns::open(&private, 1).unwrap();
            assert_eq!(mode(&private), 0o700);
            assert_eq!(mode(&private.join("slot-0.lock")), 0o600);
        }
        // Cancelling a waiter ends its wait.
        let _held = app.host_turn("vm:3", &never).await.unwrap();
        cancel.cancel();
        assert!(cli.host_turn("vm:3", &cancel).await.is_none());
    }

    /// The limit changes while runs hold slots: growing lets waiters in at once,
    /// shrinking lets the running finish and holds new ones back until under the limit.
    #[tokio::test]
    async fn the_limit_changes_at_runtime() {
        let dir = tempfile::tempdir().unwrap();
        let turns = Turns::open(dir.path(), 1).unwrap();
        let never = CancellationToken::new();
        let short = Duration::from_millis(300);
        let a = turns.slot(&never).await.unwrap();
        assert!(tokio::time::timeout(short, turns.slot(&never))
            .await
            .is_err());
        turns.set_limit(3).unwrap();
        assert!(dir.path().join("slot-2.lock").exists());
        let b = tokio::time::timeout(short, turns.slot(&never))
            .await
            .expect("grown")
            .unwrap();
        let c = tokio::time::timeout(short, turns.slot(&never))
            .await
            .expect("grown")
            .unwrap();
        assert!(tokio::time::timeout(short, turns.slot(&never))
            .await
            .is_err());

        // Down to 1 with 3 running: they go on; a new one waits until only 0 run.
        turns.set_limit(1).unwrap();
        drop(c);
        assert!(
            tokio::time::timeout(short, turns.slot(&never))
                .await
                .is_err(),
            "2 still run"
        );
        drop(b);
        assert!(
            tokio::time::timeout(short, turns.slot(&never))
                .await
                .is_err(),
            "1 still runs"
        );
        drop(a);
        let d = tokio::time::timeout(Duration::from_secs(2), turns.slot(&never))
            .await
            .expect("under the limit again")
            .unwrap();
        assert!(
            tokio::time::timeout(short, turns.slot(&never))
                .await
                .is_err(),
            "limit is 1"
        );
        // Another process sees the same files: slot 0 is taken, the rest are past the limit.
        let other = Turns::open(dir.path(), 1).unwrap();
        assert!(tokio::time::timeout(short, other.slot(&never))
            .await
            .is_err());
        drop(d);
        // Shrink then grow before runs end: the debt is paid back, not doubled.
        let e = turns.slot(&never).await.unwrap();
        turns.set_limit(2).unwrap();
        let f = tokio::time::timeout(short, turns.slot(&never))
            .await
            .expect("2")
            .unwrap();
        turns.set_limit(1).unwrap();
        turns.set_limit(2).unwrap();
        drop(e);
        let g = tokio::time::timeout(short, turns.slot(&never))
            .await
            .expect("2 again")
            .unwrap();
        assert!(tokio::time::timeout(short, turns.slot(&never))
            .await
            .is_err());
        drop((f, g));
    }
}
