//! The one task that writes jobs to SQLite: it gathers what runs report for up to
//! `FLUSH_EVERY` (or `MAX_BATCH_BYTES`), merges small output chunks of the same host and
//! stream, commits one transaction, and only then tells subscribers. Runs never wait on
//! the disk unless the writer falls a whole channel behind (then they slow down instead
//! of memory growing).
//!
//! When a commit fails (the disk is full), the output in it is lost: it is counted per job
//! and announced at once, the job's state changes are kept and tried again with the next
//! batch, and the job can no longer end as succeeded. The remote commands are not stopped
//! for it: what they do on the hosts matters more than our copy of what they printed.

use super::model::{JobHost, JobId, JobState};
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

enum Command {
    Write(Write),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Command>,
    losses: Losses,
}

/// What jobs lost because their writes failed, by job.
pub(crate) type Losses = Arc<Mutex<HashMap<JobId, Loss>>>;

/// Output of one job that could not be recorded.
#[derive(Debug, Clone, Default)]
pub(crate) struct Loss {
    bytes: u64,
    hosts: BTreeSet<u32>,
    /// Why, as the first failure said it.
    cause: String,
    /// Not yet written to the job's row.
    unsaved: bool,
}

impl Loss {
    /// "2.0 MiB of output from 3 hosts was not recorded: the disk holding /d is full".
    pub fn describe(&self) -> String {
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
        let losses = Losses::default();
        let data_dir = store
            .pool()
            .connect_options()
            .get_filename()
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        tokio::spawn(run(store, events, rx, losses.clone(), data_dir));
        Self { tx, losses }
    }

    /// What `job` lost, if anything: a description for people.
    pub fn loss(&self, job: JobId) -> Option<String> {
        lock(&self.losses).get(&job).map(Loss::describe)
    }

    pub async fn write(&self, write: Write) {
        if self.tx.send(Command::Write(write)).await.is_err() {
            tracing::error!("the job writer is gone; a job update was lost");
        }
    }

    /// Returns once everything sent before is committed.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Command::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

fn lock(losses: &Losses) -> std::sync::MutexGuard<'_, HashMap<JobId, Loss>> {
    losses.lock().unwrap_or_else(|e| e.into_inner())
}

async fn run(
    store: JobStore,
    events: broadcast::Sender<JobEvent>,
    mut rx: mpsc::Receiver<Command>,
    losses: Losses,
    data_dir: PathBuf,
) {
    // State changes of failed batches, tried again first.
    let mut retry: Vec<Write> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut batch = Batch::default();
        for write in retry.drain(..) {
            batch.push(write);
        }
        let mut flushes = Vec::new();
        let deadline = Instant::now() + FLUSH_EVERY;
        let mut next = Some(first);
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
            if batch.bytes >= MAX_BATCH_BYTES {
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(command)) => next = Some(command),
                Ok(None) | Err(_) => break,
            }
        }
        if let Err(kept) = commit(&store, &events, batch, &losses, &data_dir).await {
            retry = kept;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

#[derive(Default)]
struct Batch {
    writes: Vec<Write>,
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

/// Commits `batch` and announces it. On failure, counts the lost output and returns the
/// writes to try again (every one but output).
async fn commit(
    store: &JobStore,
    events: &broadcast::Sender<JobEvent>,
    mut batch: Batch,
    losses: &Losses,
    data_dir: &std::path::Path,
) -> Result<(), Vec<Write>> {
    settle_losses(&mut batch.writes, losses);
    if batch.writes.is_empty() {
        return Ok(());
    }
    let announce: Vec<Announce> = batch
        .writes
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
    let written = match store.apply(batch.writes).await {
        Ok(written) => written,
        Err(e) => {
            let cause = match e.code {
                crate::ErrorCode::DiskFull => {
                    format!("the disk holding {} is full", data_dir.display())
                }
                _ => format!("cannot write to {}: {e}", data_dir.display()),
            };
            tracing::error!("job output lost: {cause}");
            record_losses(&tally, &cause, losses, events);
            return Err(retry);
        }
    };
    for loss in lock(losses).values_mut() {
        loss.unsaved = false;
    }
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
            Announce::Started(job) => match store.summary(job).await {
                Ok(summary) => JobEvent::Started(summary),
                Err(e) => {
                    tracing::warn!("cannot read job {job}: {e}");
                    continue;
                }
            },
            Announce::HostStarted(job, host) => JobEvent::HostStarted { job, host },
            Announce::HostFinished(job, host) => JobEvent::HostFinished { job, host: *host },
            Announce::Finished(job) => match store.summary(job).await {
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
    Ok(())
}

/// A job that lost output cannot succeed, and its row says what it lost.
fn settle_losses(writes: &mut Vec<Write>, losses: &Losses) {
    let losses = lock(losses);
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
    losses: &Losses,
    events: &broadcast::Sender<JobEvent>,
) {
    let mut losses = lock(losses);
    for &(job, output) in tally {
        let first = !losses.contains_key(&job);
        let loss = losses.entry(job).or_insert_with(|| Loss {
            cause: cause.to_string(),
            ..Loss::default()
        });
        loss.unsaved = true;
        if let Some((host, bytes)) = output {
            loss.bytes += bytes as u64;
            loss.hosts.insert(host);
        }
        if first {
            let _ = events.send(JobEvent::RecordingFailed {
                job,
                message: format!("output is not being recorded: {cause}"),
            });
        }
    }
}
