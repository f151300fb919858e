//! The one task that writes jobs to SQLite: it gathers what runs report for up to
//! `FLUSH_EVERY` (or `MAX_BATCH_BYTES`), merges small output chunks of the same host and
//! stream, commits one transaction, and only then tells subscribers. Runs never wait on
//! the disk unless the writer falls a whole channel behind (then they slow down instead
//! of memory growing).

use super::model::{JobHost, JobId};
use super::store::{JobStore, Write};
use super::JobEvent;
use std::collections::HashMap;
use std::sync::Arc;
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
}

impl Writer {
    pub fn start(store: JobStore, events: broadcast::Sender<JobEvent>) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, events, rx));
        Self { tx }
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

async fn run(
    store: JobStore,
    events: broadcast::Sender<JobEvent>,
    mut rx: mpsc::Receiver<Command>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = Batch::default();
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
        commit(&store, &events, batch).await;
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
            Write::JobStarted { .. } | Write::JobFinished { .. } => None,
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

async fn commit(store: &JobStore, events: &broadcast::Sender<JobEvent>, batch: Batch) {
    if batch.writes.is_empty() {
        return;
    }
    let announce: Vec<Announce> = batch
        .writes
        .iter()
        .filter_map(|w| match w {
            Write::Output { .. } => None,
            Write::JobStarted { job, .. } => Some(Announce::Started(*job)),
            Write::HostStarted { job, host, .. } => Some(Announce::HostStarted(*job, *host)),
            Write::HostFinished { job, host } => Some(Announce::HostFinished(*job, host.clone())),
            Write::JobFinished { job, .. } => Some(Announce::Finished(*job)),
        })
        .collect();
    let written = match store.apply(batch.writes).await {
        Ok(written) => written,
        Err(e) => {
            tracing::error!("cannot record job progress and output: {e}");
            return;
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
}
