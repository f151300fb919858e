//! Whose turn it is to run on a host, across processes. The app and every `vmo` share the
//! data directory, so the queue's rules (one job at a time per VM, a global limit of host
//! runs) are file locks in its `locks/` folder: `flock` locks that the kernel drops when a
//! process ends, so a crash never leaves a VM locked. Inside one process, waiters queue on
//! tokio primitives first, so only one of them polls a given file.

use crate::error::{EngineError, ErrorCode};
use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
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
    /// Opened once; a lock belongs to an open file, so each slot is one `File` here.
    files: Vec<File>,
    /// Which slots this process holds (re-locking our own file would "succeed").
    held: Mutex<Vec<bool>>,
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
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let Some(index) = self.index else { return };
        // Under the table's lock: no task here may take the slot before it is unlocked.
        let mut held = self.table.held();
        if let Err(e) = self.table.files[index].unlock() {
            tracing::warn!("cannot free run slot {index}: {e}");
        }
        held[index] = false;
    }
}

impl SlotTable {
    fn held(&self) -> std::sync::MutexGuard<'_, Vec<bool>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Turns {
    /// Creates `dir` if needed and opens the `limit` slot files.
    pub fn open(dir: &Path, limit: usize) -> Result<Self, EngineError> {
        crate::paths::create_private_dir(dir).map_err(|e| io_error(dir, e))?;
        let files = (0..limit)
            .map(|n| open_lock(&dir.join(format!("slot-{n}.lock"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            dir: dir.to_path_buf(),
            vm_queues: Mutex::new(HashMap::new()),
            slots: Arc::new(Semaphore::new(limit)),
            slot_table: Arc::new(SlotTable {
                held: Mutex::new(vec![false; files.len()]),
                files,
            }),
        })
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
            let mut held = table.held();
            for (index, file) in table.files.iter().enumerate() {
                if held[index] {
                    continue;
                }
                match file.try_lock() {
                    Ok(()) => {
                        held[index] = true;
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
            _permit: permit,
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
}
