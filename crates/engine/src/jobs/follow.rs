//! Jobs that other processes run (a `vmo exec` while the app is open), followed through
//! the database they share. SQLite's `data_version` changes whenever another connection
//! commits, so a cheap poll says when to look; what changed is then read back and
//! announced as the very `JobEvent`s this process's own jobs raise. Views, the tray and
//! notifications need not know who runs a job.

use super::model::{HostState, JobId, JobState};
use super::store::JobStore;
use super::JobEvent;
use crate::error::EngineError;
use sqlx::SqliteConnection;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// How often the database is asked whether someone else committed: the most a foreign
/// job's view lags behind its writer (which itself commits every 50 ms).
pub(crate) const POLL_EVERY: Duration = Duration::from_millis(200);
/// Every this many polls (~5 s), foreign jobs whose process is gone are marked interrupted.
const ORPHAN_CHECK_TICKS: u32 = 25;
/// Output read per job per look (at most 64 MiB: chunks are up to 256 KiB), so one chatty
/// job cannot hold the others up nor fill memory; the rest is read at the next look. A
/// writer commits at most 8 MiB per 50 ms, so this keeps up with any one writer.
const CHUNKS_PER_LOOK: u32 = 256;

/// A foreign job as last announced.
struct Seen {
    state: JobState,
    hosts: Vec<HostState>,
    last_chunk: i64,
}

pub(crate) struct Follower {
    store: JobStore,
    /// This process's owner tag: its own jobs are announced by its writer, not here.
    me: String,
    events: broadcast::Sender<JobEvent>,
    /// The highest job id looked at: newer ones are new.
    newest: i64,
    following: BTreeMap<JobId, Seen>,
    /// A job had more output than one look reads.
    behind: bool,
}

impl Follower {
    /// Starts from the database as it is: live foreign jobs are followed from their
    /// current state and output on (a view loads what came before from the database).
    pub async fn start(
        store: JobStore,
        me: String,
        events: broadcast::Sender<JobEvent>,
    ) -> Result<Self, EngineError> {
        let newest = store.newest_job().await?;
        let mut follower = Self {
            store,
            me,
            events,
            newest,
            following: BTreeMap::new(),
            behind: false,
        };
        for job in follower
            .store
            .foreign_live_jobs(&follower.me, newest)
            .await?
        {
            let detail = follower.store.detail(job).await?;
            let last_chunk = follower.store.last_chunk_id(job).await?;
            follower.following.insert(
                job,
                Seen {
                    state: detail.job.state,
                    hosts: detail.hosts.iter().map(|h| h.state).collect(),
                    last_chunk,
                },
            );
        }
        Ok(follower)
    }

    /// Polls until `alive` says the jobs service is gone.
    pub async fn run(mut self, alive: impl Fn() -> bool) {
        let mut watch: Option<(SqliteConnection, i64)> = None;
        let mut tick = tokio::time::interval(POLL_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut failing = false;
        let mut ticks: u32 = 0;
        while alive() {
            tick.tick().await;
            ticks = ticks.wrapping_add(1);
            // A `vmo` killed mid-job commits nothing more: look for ended owners now and
            // then, so its job ends here as interrupted instead of running forever.
            if ticks.is_multiple_of(ORPHAN_CHECK_TICKS) && !self.following.is_empty() {
                if let Err(e) = self
                    .store
                    .interrupt_orphans(super::owner::is_alive, super::now_ms())
                    .await
                {
                    tracing::warn!("cannot check for ended jobs: {e}");
                }
            }
            let looked = match self.changed(&mut watch).await {
                Ok(true) => self.look().await,
                Ok(false) => Ok(()),
                Err(e) => {
                    watch = None;
                    Err(e)
                }
            };
            // Said once per bad spell, not five times a second.
            match looked {
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!("cannot follow other programs' jobs: {e}");
                }
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("following other programs' jobs again");
                }
                _ => {}
            }
        }
    }

    /// Whether there is something to read: another connection committed since the last
    /// call, or the last look left output unread.
    async fn changed(
        &mut self,
        watch: &mut Option<(SqliteConnection, i64)>,
    ) -> Result<bool, EngineError> {
        let (connection, last) = match watch {
            Some(open) => open,
            None => watch.insert((self.store.watch_connection().await?, i64::MIN)),
        };
        let (version,): (i64,) = sqlx::query_as("PRAGMA data_version")
            .fetch_one(&mut *connection)
            .await?;
        let changed = version != *last || self.behind;
        *last = version;
        Ok(changed)
    }

    /// Reads what changed in foreign jobs and announces it.
    async fn look(&mut self) -> Result<(), EngineError> {
        for job in self.store.foreign_live_jobs(&self.me, self.newest).await? {
            self.newest = self.newest.max(job.0);
            if !self.following.contains_key(&job) {
                let summary = self.store.summary(job).await?;
                self.following.insert(
                    job,
                    Seen {
                        state: JobState::Queued,
                        hosts: vec![HostState::Queued; summary.hosts_total as usize],
                        last_chunk: 0,
                    },
                );
                let _ = self.events.send(JobEvent::Created(summary));
            }
        }
        let jobs: Vec<JobId> = self.following.keys().copied().collect();
        self.behind = false;
        for job in jobs {
            self.catch_up(job).await?;
        }
        Ok(())
    }

    /// Announces `job`'s new output, then its hosts' and its own changes of state (in the
    /// writer's order: a host's output before its end).
    async fn catch_up(&mut self, job: JobId) -> Result<(), EngineError> {
        let Some(seen) = self.following.get_mut(&job) else {
            return Ok(());
        };
        let chunks = self
            .store
            .chunks(job, seen.last_chunk, CHUNKS_PER_LOOK)
            .await?;
        let more_output = chunks.len() as u32 == CHUNKS_PER_LOOK;
        self.behind |= more_output;
        if let Some(last) = chunks.last() {
            seen.last_chunk = last.id;
            let _ = self.events.send(JobEvent::Output {
                job,
                chunks: Arc::new(chunks),
            });
        }
        let detail = self.store.detail(job).await?;
        if seen.state == JobState::Queued && detail.job.state != JobState::Queued {
            let _ = self.events.send(JobEvent::Started(detail.job.clone()));
        }
        seen.hosts.resize(detail.hosts.len(), HostState::Queued);
        for (before, host) in seen.hosts.iter_mut().zip(&detail.hosts) {
            // A host that ends with output still unread waits for the next look.
            if host.state.is_final() && more_output {
                continue;
            }
            if *before == HostState::Queued && host.state != HostState::Queued {
                let _ = self.events.send(JobEvent::HostStarted {
                    job,
                    host: host.host,
                });
            }
            if !before.is_final() && host.state.is_final() {
                let _ = self.events.send(JobEvent::HostFinished {
                    job,
                    host: host.clone(),
                });
            }
            *before = host.state;
        }
        seen.state = detail.job.state;
        if detail.job.state.is_final() && !more_output {
            self.following.remove(&job);
            let previous = self.store.previous_state(&detail.job).await.unwrap_or(None);
            let _ = self.events.send(JobEvent::Finished {
                job: detail.job,
                previous,
            });
        }
        Ok(())
    }
}

impl JobStore {
    /// A connection of its own: `data_version` is per connection.
    pub(crate) async fn watch_connection(&self) -> Result<SqliteConnection, EngineError> {
        let options = self.pool().connect_options();
        let connection = sqlx::ConnectOptions::connect(&*options).await?;
        Ok(connection)
    }
}
