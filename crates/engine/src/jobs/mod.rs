//! Jobs: runs made into records a user can queue, watch, control, search and come back to.
//!
//! A job is one command on a set of VMs with options (concurrency, per-host timeout,
//! stop-on-failure, canary). Submitting one records it (and its hosts) at once; its hosts
//! then wait their turn (per job, per VM, globally), run through the SSH pool, and every
//! byte of output goes to SQLite through one batching writer. Subscribers hear about it
//! after it is on disk, so what they show can always be reloaded from the database.

mod follow;
mod model;
mod owner;
mod runner;
mod store;
mod turns;
mod writer;

pub use model::{
    HostState, JobDetail, JobHost, JobId, JobOptions, JobQuery, JobSpec, JobState, JobSummary,
    Origin, DEFAULT_JOB_CONCURRENCY,
};
pub use runner::{human_bytes, now_ms};
pub use vmo_joblog as log;

use crate::error::{EngineError, ErrorCode, FieldError};
use crate::inventory::Inventory;
use crate::ssh::{FanoutEvent, HostResult, Ssh, SshError};
use crate::targets::resolve_target;
use runner::{Plan, PlannedHost, Shared};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use store::{JobStore, NewHost};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use vmo_joblog::{Chunk, JobLog};
use writer::Writer;

/// Per-host output kept by default; the rest is counted and marked, not stored.
pub const DEFAULT_OUTPUT_CAP: u64 = 256 << 20;
/// Host runs at once over all jobs of every process sharing the data directory.
pub const DEFAULT_MAX_PARALLEL_HOSTS: usize = 128;
/// How often a process running jobs looks for cancels other processes asked for.
pub const CANCEL_POLL: std::time::Duration = std::time::Duration::from_millis(250);
/// Chunks read per query when loading a log.
const CHUNK_PAGE: u32 = 4096;

/// What happened to jobs, announced once it is on disk.
#[derive(Debug, Clone)]
pub enum JobEvent {
    Created(JobSummary),
    /// Its first host started.
    Started(JobSummary),
    HostStarted {
        job: JobId,
        host: u32,
    },
    HostFinished {
        job: JobId,
        host: JobHost,
    },
    /// Output of the job could not be recorded (e.g. the disk is full): said at once, not
    /// after a commit (there is none). The job will not end as succeeded.
    RecordingFailed {
        job: JobId,
        message: String,
    },
    /// New output, batched (one event per job per writer commit, ~20 per second at most).
    Output {
        job: JobId,
        chunks: Arc<Vec<Chunk>>,
    },
    /// `previous`: how the run before it (same command and targets, or the job it
    /// retried) ended, to tell "fixed" from "still fine".
    Finished {
        job: JobSummary,
        previous: Option<JobState>,
    },
}

/// A job this process runs, and how to stop it or one of its hosts.
struct Live {
    cancel: CancellationToken,
    hosts: Vec<CancellationToken>,
}

#[derive(Clone)]
pub struct Jobs {
    inner: Arc<Inner>,
}

struct Inner {
    store: JobStore,
    inventory: Inventory,
    shared: Arc<Shared>,
    events: broadcast::Sender<JobEvent>,
    live: Mutex<HashMap<JobId, Live>>,
    owner: String,
    history: crate::commands::History,
}

impl Jobs {
    /// Marks jobs whose process ended as interrupted, and starts the writer.
    /// `locks` is the folder where processes sharing the database take turns.
    pub(crate) async fn open(
        pool: sqlx::SqlitePool,
        inventory: Inventory,
        ssh: &Ssh,
        locks: &std::path::Path,
        history: crate::commands::History,
    ) -> Result<Self, EngineError> {
        let store = JobStore::new(pool);
        let interrupted = store
            .interrupt_orphans(owner::is_alive, runner::now_ms())
            .await?;
        if !interrupted.is_empty() {
            // Routine after a crash or a closed pipe: the job history says it, not stderr.
            tracing::info!(
                ?interrupted,
                "jobs left running by an ended process are marked interrupted"
            );
        }
        let (events, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            pool: ssh.pool().clone(),
            writer: Writer::start(store.clone(), events.clone()),
            turns: turns::Turns::open(locks, DEFAULT_MAX_PARALLEL_HOSTS)?,
            output_cap: AtomicU64::new(DEFAULT_OUTPUT_CAP),
        });
        let jobs = Self {
            inner: Arc::new(Inner {
                store,
                inventory,
                shared,
                events,
                live: Mutex::new(HashMap::new()),
                owner: owner::this_process(),
                history,
            }),
        };
        jobs.watch_cancel_requests();
        Ok(jobs)
    }

    /// From now on, also announces the jobs other processes run on this database (a
    /// `vmo exec` while the app is open), about `follow::POLL_EVERY` behind their writer.
    /// Runs until this `Jobs` is dropped. Needs a tokio runtime.
    pub async fn follow_other_processes(&self) -> Result<(), EngineError> {
        let inner = &self.inner;
        let follower = follow::Follower::start(
            inner.store.clone(),
            inner.owner.clone(),
            inner.events.clone(),
        )
        .await?;
        let alive = Arc::downgrade(&self.inner);
        tokio::spawn(follower.run(move || alive.strong_count() > 0));
        Ok(())
    }

    /// Every job event from now on. A receiver that lags reloads from the database.
    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.inner.events.subscribe()
    }

    /// Output kept per host from the next job on.
    pub fn set_output_cap(&self, bytes: u64) {
        self.inner
            .shared
            .output_cap
            .store(bytes.max(1), Ordering::Relaxed);
    }

    /// Output kept per host, in bytes.
    pub fn output_cap(&self) -> u64 {
        self.inner.shared.output_cap.load(Ordering::Relaxed)
    }

    /// Host runs at once over every job of this process (and, through the slot files,
    /// every process using the same limit): applied at once; running hosts finish.
    pub fn set_global_limit(&self, limit: usize) -> Result<(), EngineError> {
        self.inner.shared.turns.set_limit(limit.max(1))
    }

    /// Records the job and starts it in the background.
    pub async fn submit(&self, spec: JobSpec) -> Result<JobSummary, EngineError> {
        let (summary, plan) = self.prepare(spec, CancellationToken::new()).await?;
        let shared = self.inner.shared.clone();
        let this = self.clone();
        tokio::spawn(async move {
            let job = plan.job;
            runner::run(shared, plan, None).await;
            this.forget(job);
        });
        Ok(summary)
    }

    /// Records the job and runs it to its end here, passing its output and host results
    /// to `observer` as they come (awaited: a slow observer slows the run down). `cancel`
    /// stops it (e.g. Ctrl-C in `vmo`). Returns the job as it ended, once it is on disk.
    pub async fn run(
        &self,
        spec: JobSpec,
        observer: mpsc::Sender<FanoutEvent>,
        cancel: CancellationToken,
    ) -> Result<(JobSummary, Vec<HostResult>), EngineError> {
        let (summary, plan) = self.prepare(spec, cancel).await?;
        let job = summary.id;
        let results = runner::run(self.inner.shared.clone(), plan, Some(observer)).await;
        self.forget(job);
        self.flush().await;
        let mut summary = self.inner.store.summary(job).await?;
        self.inner.shared.writer.patch(&mut summary);
        Ok((summary, results))
    }

    /// Stops a queued or running job: hosts not started never start, running commands are
    /// stopped (TERM, grace, KILL). A job another process runs (a `vmo exec` seen from
    /// the app) is asked to stop through the database; that process stops it within
    /// `CANCEL_POLL`.
    pub async fn cancel(&self, job: JobId) -> Result<(), EngineError> {
        if let Some(running) = self.live().get(&job) {
            running.cancel.cancel();
            return Ok(());
        }
        self.request_cancel(job, None).await
    }

    /// Stops one host of a running job; the others go on.
    pub async fn cancel_host(&self, job: JobId, host: u32) -> Result<(), EngineError> {
        if let Some(running) = self.live().get(&job) {
            let token = running.hosts.get(host as usize).ok_or_else(|| {
                EngineError::new(ErrorCode::NotFound, format!("job {job} has no host {host}"))
            })?;
            token.cancel();
            return Ok(());
        }
        self.request_cancel(job, Some(host)).await
    }

    async fn request_cancel(&self, job: JobId, host: Option<u32>) -> Result<(), EngineError> {
        if self.inner.store.request_cancel(job, host).await? {
            return Ok(());
        }
        let state = self.inner.store.summary(job).await?.state;
        Err(EngineError::new(
            ErrorCode::Conflict,
            match host {
                None => format!("job {job} is {state}: nothing to cancel"),
                Some(host) => format!("host {host} of job {job} is not running"),
            },
        ))
    }

    /// Stops what other processes asked to stop among this process's jobs, for as long
    /// as this `Jobs` lives. Looks only while it runs jobs.
    fn watch_cancel_requests(&self) {
        let jobs = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CANCEL_POLL).await;
                let Some(inner) = jobs.upgrade() else { break };
                let live: Vec<JobId> = lock_live(&inner).keys().copied().collect();
                if live.is_empty() {
                    continue;
                }
                let asked = match inner.store.cancel_requests(&live).await {
                    Ok(asked) => asked,
                    Err(e) => {
                        tracing::debug!("cannot read cancel requests: {e}");
                        continue;
                    }
                };
                let live = lock_live(&inner);
                for (job, host) in asked {
                    let Some(running) = live.get(&job) else {
                        continue;
                    };
                    match host {
                        None if !running.cancel.is_cancelled() => {
                            tracing::info!(%job, "cancelled by another program");
                            running.cancel.cancel();
                        }
                        Some(host) => {
                            if let Some(token) = running.hosts.get(host as usize) {
                                token.cancel();
                            }
                        }
                        None => {}
                    }
                }
            }
        });
    }

    /// The spec to run `job` again: all its hosts, or with `failed_only` those that did not
    /// succeed. Hosts whose VM was deleted since are left out (an error if none is left).
    pub async fn rerun_spec(
        &self,
        job: JobId,
        failed_only: bool,
        origin: Origin,
    ) -> Result<JobSpec, EngineError> {
        let detail = self.detail(job).await?;
        if !detail.job.state.is_final() {
            return Err(EngineError::new(
                ErrorCode::Conflict,
                format!("job {job} is still {}", detail.job.state),
            ));
        }
        let chosen: Vec<&JobHost> = detail
            .hosts
            .iter()
            .filter(|h| !failed_only || h.state.needs_retry())
            .collect();
        if chosen.is_empty() {
            return Err(EngineError::new(
                ErrorCode::Validation,
                format!("every host of job {job} succeeded: nothing to retry"),
            ));
        }
        let existing = self.inner.inventory.list().await?;
        let targets: Vec<_> = chosen
            .iter()
            .filter_map(|h| h.vm_id)
            .filter(|id| existing.iter().any(|vm| vm.id == *id))
            .collect();
        if targets.is_empty() {
            return Err(EngineError::new(
                ErrorCode::NotFound,
                format!("the VMs of job {job} are no longer in the inventory"),
            ));
        }
        let target_label = if failed_only {
            let names: Vec<&str> = chosen.iter().map(|h| h.name.as_str()).collect();
            label_for_names(&names)
        } else {
            detail.job.target_label.clone()
        };
        Ok(JobSpec {
            command: detail.job.command,
            targets,
            target_label,
            options: detail.job.options,
            origin,
            retry_of: Some(job),
            template: detail.job.template,
        })
    }

    pub async fn list(&self, query: &JobQuery) -> Result<Vec<JobSummary>, EngineError> {
        let mut jobs = self.inner.store.list(query).await?;
        jobs.iter_mut()
            .for_each(|job| self.inner.shared.writer.patch(job));
        Ok(jobs)
    }

    pub async fn detail(&self, job: JobId) -> Result<JobDetail, EngineError> {
        let mut detail = self.inner.store.detail(job).await?;
        self.inner.shared.writer.patch_detail(&mut detail);
        // Host rows keep the VM id; a deleted VM shows as such. (By a set of ids: a job
        // over 10,000 VMs is not 100 million comparisons.)
        let existing = self.inner.inventory.ids().await?;
        for host in &mut detail.hosts {
            if host.vm_id.is_some_and(|id| !existing.contains(&id)) {
                host.vm_id = None;
            }
        }
        Ok(detail)
    }

    /// Output chunks after chunk id `after` (0: from the start), at most `limit`.
    pub async fn chunks(
        &self,
        job: JobId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Chunk>, EngineError> {
        self.inner.store.chunks(job, after, limit).await
    }

    /// The whole output of a job as lines (partial last lines of finished hosts completed).
    /// Splitting into lines is CPU work: it runs off the async threads, a page at a time,
    /// so a caller's event loop (the UI's) keeps turning while a big log loads.
    pub async fn log(&self, job: JobId) -> Result<(JobDetail, JobLog), EngineError> {
        let detail = self.inner.store.detail(job).await?;
        let mut log = JobLog::new(detail.hosts.iter().map(|h| h.name.clone()).collect());
        loop {
            let chunks = self.chunks(job, log.last_chunk_id(), CHUNK_PAGE).await?;
            let last_page = (chunks.len() as u32) < CHUNK_PAGE;
            log = tokio::task::spawn_blocking(move || {
                for chunk in &chunks {
                    log.push(chunk);
                }
                log
            })
            .await
            .map_err(|e| EngineError::new(ErrorCode::Io, format!("reading the log failed: {e}")))?;
            if last_page {
                break;
            }
        }
        for host in detail.hosts.iter().filter(|h| h.state.is_final()) {
            log.flush_host(host.host);
        }
        Ok((detail, log))
    }

    /// Returns once everything reported so far is on disk.
    pub async fn flush(&self) {
        self.inner.shared.writer.flush().await;
    }

    async fn prepare(
        &self,
        spec: JobSpec,
        cancel: CancellationToken,
    ) -> Result<(JobSummary, Plan), EngineError> {
        validate(&spec)?;
        let everyone = self.inner.inventory.list().await?;
        let mut hosts = Vec::new();
        let mut planned = Vec::new();
        for (index, id) in spec.targets.iter().enumerate() {
            let vm = everyone.iter().find(|vm| vm.id == *id).ok_or_else(|| {
                EngineError::new(
                    ErrorCode::NotFound,
                    format!("VM #{} is no longer in the inventory", id.0),
                )
            })?;
            let target = resolve_target(vm, &everyone);
            hosts.push(NewHost {
                vm_id: Some(vm.id),
                name: vm.name.clone(),
                failed: target.as_ref().err().map(|e: &SshError| e.message.clone()),
            });
            planned.push((index as u32, vm.name.clone(), vm.id, target));
        }
        let now = runner::now_ms();
        let job = self
            .inner
            .store
            .create(&spec, &hosts, &self.inner.owner, now)
            .await?;
        let planned: Vec<PlannedHost> = planned
            .into_iter()
            .map(|(index, name, vm, target)| PlannedHost {
                index,
                name,
                lock_key: format!("vm:{}", vm.0),
                target,
                cancel: cancel.child_token(),
            })
            .collect();
        self.live().insert(
            job,
            Live {
                cancel: cancel.clone(),
                hosts: planned.iter().map(|h| h.cancel.clone()).collect(),
            },
        );
        // Every command run is history, ad hoc or from a template (after the job, so a
        // refused spec is not counted).
        self.inner.history.record(&spec).await;
        let summary = self.inner.store.summary(job).await?;
        let _ = self.inner.events.send(JobEvent::Created(summary.clone()));
        tracing::info!(%job, hosts = planned.len(), "job submitted");
        Ok((
            summary,
            Plan {
                job,
                command: spec.command.into(),
                options: spec.options,
                hosts: planned,
                cancel,
            },
        ))
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<JobId, Live>> {
        lock_live(&self.inner)
    }

    fn forget(&self, job: JobId) {
        self.live().remove(&job);
    }
}

fn lock_live(inner: &Inner) -> std::sync::MutexGuard<'_, HashMap<JobId, Live>> {
    inner.live.lock().unwrap_or_else(|e| e.into_inner())
}

fn validate(spec: &JobSpec) -> Result<(), EngineError> {
    let mut fields = Vec::new();
    if spec.command.trim().is_empty() {
        fields.push(FieldError {
            field: "command".into(),
            message: "type a command to run".into(),
        });
    }
    if spec.targets.is_empty() {
        fields.push(FieldError {
            field: "targets".into(),
            message: "choose at least one VM".into(),
        });
    }
    if spec.options.concurrency == 0 {
        fields.push(FieldError {
            field: "concurrency".into(),
            message: "must be at least 1".into(),
        });
    }
    if spec.options.timeout.is_some_and(|t| t.is_zero()) {
        fields.push(FieldError {
            field: "timeout".into(),
            message: "must be more than 0 seconds".into(),
        });
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(EngineError::validation(fields))
    }
}

/// "web-1", "web-1, web-2, db-1", "web-1, web-2 and 8 more".
pub fn label_for_names(names: &[&str]) -> String {
    match names {
        [] => "no VMs".into(),
        [one] => (*one).to_string(),
        _ if names.len() <= 3 => names.join(", "),
        _ => format!("{} and {} more", names[..2].join(", "), names.len() - 2),
    }
}

/// One row per host for the CSV summary: state, exit, timing, line counts, error.
pub fn host_summaries(detail: &JobDetail, log: &JobLog) -> Vec<vmo_joblog::HostSummary> {
    detail
        .hosts
        .iter()
        .map(|h| vmo_joblog::HostSummary {
            host: h.name.clone(),
            state: h.state.as_str().to_string(),
            exit_code: h.exit_code,
            signal: h.signal.clone(),
            duration_ms: h.duration_ms(),
            stdout_lines: log.host_output(h.host, vmo_joblog::Stream::Stdout).count(),
            stderr_lines: log.host_output(h.host, vmo_joblog::Stream::Stderr).count(),
            error: h.error.clone(),
        })
        .collect()
}
