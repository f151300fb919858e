//! The one task that writes jobs to SQLite: it gathers what runs report for up to
//! `FLUSH_EVERY` (or `MAX_BATCH_BYTES`), merges small output chunks of the same host and
//! stream, commits one transaction, and only then tells subscribers. Runs never wait on
//! the disk unless the writer falls a whole channel behind (then they slow down instead
//! of memory growing).
//!
//! When another process holds the database past the busy timeout (ten `vmo` runs and the
//! app writing at once), nothing is lost: the whole batch waits and is tried again every
//! `RETRY_LOCKED` with whatever came since, for up to `LOCKED_PATIENCE` and
//! `MAX_WAITING_BYTES` of output, and a flush waits for it. The gathering window also
//! grows with how long commits take, so busy writers commit less often and starve each
//! other less (SQLite's busy wait polls; it is not a queue).
//!
//! When a commit fails otherwise (the disk is full), or waited too long, the output in it
//! is lost: it is counted per job and announced at once, the job's state changes are kept
//! and tried again with the next batch, and the job can no longer end as succeeded. The
//! remote commands are not stopped for it: what they do on the hosts matters more than our
//! copy of what they printed.

use super::model::{HostState, JobDetail, JobHost, JobId, JobState, JobSummary};
use super::store::{JobStore, Write};
use super::JobEvent;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::time::Instant;
use vmo_joblog::Chunk;

/// How long the writer gathers before committing: also the UI's update period (~20/s).
const FLUSH_EVERY: Duration = Duration::from_millis(50);
/// A batch this big is committed at once.
const MAX_BATCH_BYTES: usize = 8 << 20;
/// Merged chunks stay at most this big (rows a viewer can load in pieces).
const MAX_CHUNK_BYTES: usize = 256 << 10;
/// Writes waiting for the writer; a full queue makes runs wait.
const QUEUE: usize = 256;
/// The gathering window at most, when commits are slow (the database is contended).
const MAX_WINDOW: Duration = Duration::from_millis(500);
/// How soon a batch the database refused (locked) is tried again, with no new writes.
const RETRY_LOCKED: Duration = Duration::from_millis(200);
/// How long a locked database is waited for before its output counts as lost.
const LOCKED_PATIENCE: Duration = Duration::from_secs(60);
/// Output kept in memory while the database is locked, at most.
const MAX_WAITING_BYTES: usize = 64 << 20;

enum Command {
    Write(Write),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Command>,
    pending: Pending,
}

/// What the disk has not taken (yet): output lost per job, and state changes that failed
/// to commit. Those were announced all the same and are tried again with every batch;
/// until they land, reads are patched with them, so what was announced can be reloaded.
pub(crate) type Pending = Arc<Mutex<Unsaved>>;

#[derive(Default)]
pub(crate) struct Unsaved {
    losses: HashMap<JobId, Loss>,
    writes: Vec<Write>,
    /// Why the last commit failed, while `writes` wait.
    failure: Option<String>,
    /// Since when the database has refused every batch as locked; `writes` then holds
    /// the output too, and is tried again without waiting for new writes.
    locked_since: Option<Instant>,
}

/// Output of one job that could not be recorded.
#[derive(Debug, Clone, Default)]
struct Loss {
    bytes: u64,
    hosts: BTreeSet<u32>,
    /// Why, as the first failure said it.
    cause: String,
    /// Not yet written to the job's row.
    unsaved: bool,
}

impl Loss {
    /// "2.0 MiB of output from 3 hosts was not recorded: the disk holding /d is full".
    fn describe(&self) -> String {
        let hosts = match self.hosts.len() {
            1 => "1 host".to_string(),
            n => format!("{n} hosts"),
        };
        format!(
            "{} of output from {hosts} was not recorded: {}",
            super::human_bytes(self.bytes),
            self.cause
        )
    }
}

impl Writer {
    pub fn start(store: JobStore, events: broadcast::Sender<JobEvent>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        let pending = Pending::default();
        let data_dir = store
            .pool()
            .connect_options()
            .get_filename()
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        tokio::spawn(run(store, events, rx, pending.clone(), data_dir));
        Self { tx, pending }
    }

    pub async fn write(&self, write: Write) {
        if self.tx.send(Command::Write(write)).await.is_err() {
            tracing::error!("the job writer is gone; a job update was lost");
        }
    }

    /// Returns once everything sent before is committed (or has failed to be).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Command::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// `job` as this process knows it: with what it lost, and its state changes that are
    /// not on disk yet.
    pub fn patch(&self, job: &mut JobSummary) {
        patch_summary(&self.pending, job);
    }

    /// Like [`Writer::patch`], with the hosts too.
    pub fn patch_detail(&self, detail: &mut JobDetail) {
        let hosts_before = detail.hosts.clone();
        self.patch(&mut detail.job);
        let pending = lock(&self.pending);
        for write in &pending.writes {
            match write {
                Write::HostStarted { job, host, at } if *job == detail.job.id => {
                    if let Some(h) = detail.hosts.iter_mut().find(|h| h.host == *host) {
                        if h.state == HostState::Queued {
                            h.state = HostState::Running;
                            h.started_at = Some(*at);
                        }
                    }
                }
                Write::HostFinished { job, host } if *job == detail.job.id => {
                    if let Some(h) = detail.hosts.iter_mut().find(|h| h.host == host.host) {
                        let vm_id = h.vm_id;
                        *h = (**host).clone();
                        h.vm_id = vm_id;
                    }
                }
                _ => {}
            }
        }
        // Counts from the hosts themselves, now that they are patched.
        if detail.hosts != hosts_before {
            detail.job.hosts_done =
                detail.hosts.iter().filter(|h| h.state.is_final()).count() as u32;
            detail.job.hosts_succeeded = detail
                .hosts
                .iter()
                .filter(|h| h.state == HostState::Succeeded)
                .count() as u32;
        }
    }
}

fn patch_summary(pending: &Pending, job: &mut JobSummary) {
    let pending = lock(pending);
    let unsaved_end = pending
        .writes
        .iter()
        .any(|w| matches!(w, Write::JobFinished { job: id, .. } if *id == job.id));
    job.record_error = match (pending.losses.get(&job.id), &pending.failure) {
        (Some(loss), _) => Some(loss.describe()),
        (None, Some(cause)) if unsaved_end => {
            Some(format!("how it ended was not recorded: {cause}"))
        }
        (None, _) => job.record_error.take(),
    };
    for write in &pending.writes {
        match write {
            Write::JobStarted { job: id, at } if *id == job.id => {
                if job.state == JobState::Queued {
                    job.state = JobState::Running;
                }
                job.started_at.get_or_insert(*at);
            }
            Write::HostFinished { job: id, host } if *id == job.id => {
                // The row on disk still says it runs.
                job.hosts_done = (job.hosts_done + 1).min(job.hosts_total);
                if host.state == HostState::Succeeded {
                    job.hosts_succeeded += 1;
                }
            }
            Write::JobFinished { job: id, state, at } if *id == job.id => {
                // A job missing part of its record did not succeed.
                job.state = match state {
                    JobState::Succeeded if job.record_error.is_some() => JobState::Failed,
                    other => *other,
                };
                job.finished_at = Some(*at);
            }
            _ => {}
        }
    }
}

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, Unsaved> {
    pending.lock().unwrap_or_else(|e| e.into_inner())
}

async fn run(
    store: JobStore,
    events: broadcast::Sender<JobEvent>,
    mut rx: mpsc::Receiver<Command>,
    pending: Pending,
    data_dir: PathBuf,
) {
    let mut window = FLUSH_EVERY;
    let mut closed = false;
    // Answered once what came before them is on disk (or given up on).
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        let waiting = lock(&pending).locked_since.is_some();
        let first = if waiting {
            // A refused batch is tried again soon, new writes or not.
            if closed {
                tokio::time::sleep(RETRY_LOCKED).await;
                None
            } else {
                match tokio::time::timeout(RETRY_LOCKED, rx.recv()).await {
                    Ok(Some(command)) => Some(command),
                    Ok(None) => {
                        closed = true;
                        None
                    }
                    Err(_) => None,
                }
            }
        } else if closed {
            break;
        } else {
            match rx.recv().await {
                Some(command) => Some(command),
                None => break,
            }
        };
        let mut batch = Batch::default();
        // Unsaved writes go first, in their order; their state changes were announced.
        for write in lock(&pending).writes.iter().cloned() {
            batch.push(write);
        }
        batch.announced = batch.writes.len();
        let deadline = Instant::now() + window;
        let mut next = first;
        loop {
            match next.take() {
                Some(Command::Write(write)) => batch.push(write),
                // A flush ends the batch: whoever waits wants it on disk now.
                Some(Command::Flush(done)) => {
                    flushes.push(done);
                    break;
                }
                None => {}
            }
            if batch.bytes >= MAX_BATCH_BYTES || closed {
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(command)) => next = Some(command),
                Ok(None) => {
                    closed = true;
                    break;
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        commit(&store, &events, batch, &pending, &data_dir).await;
        // Slow commits (the database is contended) gather longer: fewer, bigger ones.
        window = (started.elapsed() * 4).clamp(FLUSH_EVERY, MAX_WINDOW);
        if lock(&pending).locked_since.is_none() {
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
    }
    for done in flushes {
        let _ = done.send(());
    }
}

#[derive(Default)]
struct Batch {
    writes: Vec<Write>,
    /// The first this many writes were announced before (retried after a failure).
    announced: usize,
    bytes: usize,
    /// The index of the last write of each (job, host) in `writes`.
    last_of_host: HashMap<(JobId, u32), usize>,
}

impl Batch {
    fn push(&mut self, write: Write) {
        let key = match &write {
            Write::Output { job, chunk } => Some((*job, chunk.host)),
            Write::HostStarted { job, host, .. } => Some((*job, *host)),
            Write::HostFinished { job, host } => Some((*job, host.host)),
            Write::JobStarted { .. } | Write::JobFinished { .. } | Write::RecordError { .. } => {
                None
            }
        };
        if let Write::Output { chunk, .. } = &write {
            self.bytes += chunk.data.len();
            // Append to this host's previous chunk when it is of the same stream and
            // nothing of this host came between: order per host stays exact.
            if let Some(&index) = key.as_ref().and_then(|k| self.last_of_host.get(k)) {
                if let Some(Write::Output {
                    chunk: previous, ..
                }) = self.writes.get_mut(index)
                {
                    if previous.stream == chunk.stream
                        && previous.data.len() + chunk.data.len() <= MAX_CHUNK_BYTES
                    {
                        previous.data.extend_from_slice(&chunk.data);
                        return;
                    }
                }
            }
        }
        if let Some(key) = key {
            self.last_of_host.insert(key, self.writes.len());
        }
        self.writes.push(write);
    }
}

/// What to announce once a batch is on disk.
enum Announce {
    Started(JobId),
    HostStarted(JobId, u32),
    HostFinished(JobId, Box<JobHost>),
    Finished(JobId),
}

/// Commits `batch`, then announces it. On failure, counts the lost output, keeps the
/// state changes to try again, and announces those all the same: they happened, and
/// reads are patched with them until they are on disk.
async fn commit(
    store: &JobStore,
    events: &broadcast::Sender<JobEvent>,
    mut batch: Batch,
    pending: &Pending,
    data_dir: &std::path::Path,
) {
    settle_losses(&mut batch.writes, pending);
    if batch.writes.is_empty() {
        return;
    }
    let announce: Vec<Announce> = batch.writes[batch.announced..]
        .iter()
        .filter_map(|w| match w {
            Write::Output { .. } | Write::RecordError { .. } => None,
            Write::JobStarted { job, .. } => Some(Announce::Started(*job)),
            Write::HostStarted { job, host, .. } => Some(Announce::HostStarted(*job, *host)),
            Write::HostFinished { job, host } => Some(Announce::HostFinished(*job, host.clone())),
            Write::JobFinished { job, .. } => Some(Announce::Finished(*job)),
        })
        .collect();
    // Kept before the batch moves into the transaction: what a failure must retry or count.
    let retry: Vec<Write> = batch
        .writes
        .iter()
        .filter(|w| !matches!(w, Write::Output { .. } | Write::RecordError { .. }))
        .cloned()
        .collect();
    let tally: Vec<(JobId, Option<(u32, usize)>)> = batch.writes.iter().map(tally).collect();
    let written = match store.apply(&batch.writes).await {
        Ok(ids) => {
            let mut pending = lock(pending);
            pending.writes.clear();
            pending.failure = None;
            pending.locked_since = None;
            pending.losses.values_mut().for_each(|l| l.unsaved = false);
            batch
                .writes
                .into_iter()
                .filter_map(|write| match write {
                    Write::Output { job, chunk } => Some((job, chunk)),
                    _ => None,
                })
                .zip(ids)
                .map(|((job, mut chunk), id)| {
                    chunk.id = id;
                    (job, chunk)
                })
                .collect()
        }
        Err(e) if e.code == crate::ErrorCode::DatabaseLocked && can_wait(pending, &batch) => {
            // Another process holds the database: everything waits, nothing is lost. The
            // state changes are announced now all the same (reads are patched with them);
            // the output is, once it is on disk.
            let mut pending = lock(pending);
            if pending.locked_since.is_none() {
                tracing::warn!("job output waits for the database: {e}");
                pending.locked_since = Some(Instant::now());
            }
            pending.writes = batch.writes;
            Vec::new()
        }
        Err(e) => {
            let cause = match e.code {
                crate::ErrorCode::DiskFull => {
                    format!(
                        "the disk holding {} is full (free some space before the next run)",
                        data_dir.display()
                    )
                }
                // Not "try again": the output is gone, the job goes on.
                crate::ErrorCode::DatabaseLocked => format!(
                    "another program held the database {} longer than output can wait \
                     ({} s, {} MiB)",
                    store.pool().connect_options().get_filename().display(),
                    LOCKED_PATIENCE.as_secs(),
                    MAX_WAITING_BYTES >> 20
                ),
                _ => format!("cannot write to {}: {e}", data_dir.display()),
            };
            record_losses(&tally, &cause, pending, events);
            let mut pending = lock(pending);
            // Once per bad spell in the app's log, not twenty times a second.
            if pending.failure.is_none() {
                tracing::error!("job output is being lost: {cause} ({e})");
            }
            pending.writes = retry;
            pending.failure = Some(cause);
            pending.locked_since = None;
            Vec::new()
        }
    };
    // Output first (one event per job), then what changed state: a viewer that hears a
    // host finished already has all its output.
    let mut by_job: Vec<(JobId, Vec<Chunk>)> = Vec::new();
    for (job, chunk) in written {
        match by_job.iter_mut().find(|(j, _)| *j == job) {
            Some((_, chunks)) => chunks.push(chunk),
            None => by_job.push((job, vec![chunk])),
        }
    }
    for (job, chunks) in by_job {
        let _ = events.send(JobEvent::Output {
            job,
            chunks: Arc::new(chunks),
        });
    }
    for item in announce {
        let event = match item {
            Announce::Started(job) => match patched_summary(store, pending, job).await {
                Ok(summary) => JobEvent::Started(summary),
                Err(e) => {
                    tracing::warn!("cannot read job {job}: {e}");
                    continue;
                }
            },
            Announce::HostStarted(job, host) => JobEvent::HostStarted { job, host },
            Announce::HostFinished(job, host) => JobEvent::HostFinished { job, host: *host },
            Announce::Finished(job) => match patched_summary(store, pending, job).await {
                Ok(summary) => {
                    let previous = store.previous_state(&summary).await.unwrap_or(None);
                    JobEvent::Finished {
                        job: summary,
                        previous,
                    }
                }
                Err(e) => {
                    tracing::warn!("cannot read job {job}: {e}");
                    continue;
                }
            },
        };
        let _ = events.send(event);
    }
}

async fn patched_summary(
    store: &JobStore,
    pending: &Pending,
    job: JobId,
) -> Result<JobSummary, crate::EngineError> {
    let mut summary = store.summary(job).await?;
    patch_summary(pending, &mut summary);
    Ok(summary)
}

/// Whether a batch the database refused as locked may wait in memory for another try:
/// not for ever, and not past `MAX_WAITING_BYTES` of output.
fn can_wait(pending: &Pending, batch: &Batch) -> bool {
    let since = lock(pending).locked_since;
    batch.bytes <= MAX_WAITING_BYTES && since.is_none_or(|t| t.elapsed() < LOCKED_PATIENCE)
}

/// A job that lost output cannot succeed, and its row says what it lost.
fn settle_losses(writes: &mut Vec<Write>, pending: &Pending) {
    let pending = lock(pending);
    let losses = &pending.losses;
    for write in writes.iter_mut() {
        if let Write::JobFinished { job, state, .. } = write {
            if *state == JobState::Succeeded && losses.contains_key(job) {
                *state = JobState::Failed;
            }
        }
    }
    for (job, loss) in losses.iter().filter(|(_, loss)| loss.unsaved) {
        writes.push(Write::RecordError {
            job: *job,
            message: loss.describe(),
        });
    }
}

/// A write's job, and for output its host and size.
fn tally(write: &Write) -> (JobId, Option<(u32, usize)>) {
    match write {
        Write::Output { job, chunk } => (*job, Some((chunk.host, chunk.data.len()))),
        Write::JobStarted { job, .. }
        | Write::HostStarted { job, .. }
        | Write::HostFinished { job, .. }
        | Write::JobFinished { job, .. }
        | Write::RecordError { job, .. } => (*job, None),
    }
}

/// Counts the output of a failed batch as lost, and says so once per job.
fn record_losses(
    tally: &[(JobId, Option<(u32, usize)>)],
    cause: &str,
    pending: &Pending,
    events: &broadcast::Sender<JobEvent>,
) {
    let mut pending = lock(pending);
    let losses = &mut pending.losses;
    // State changes are tried again, not lost: only output counts.
    for (job, (host, bytes)) in tally
        .iter()
        .filter_map(|&(job, output)| Some((job, output?)))
    {
        let first = !losses.contains_key(&job);
        let loss = losses.entry(job).or_insert_with(|| Loss {
            cause: cause.to_string(),
            ..Loss::default()
        });
        loss.unsaved = true;
        loss.bytes += bytes as u64;
        loss.hosts.insert(host);
        if first {
            let _ = events.send(JobEvent::RecordingFailed {
                job,
                message: format!("output is not being recorded: {cause}"),
            });
        }
    }
}
