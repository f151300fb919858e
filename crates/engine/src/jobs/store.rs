//! Jobs in SQLite: creating them, reading them back, and the batched writes of the writer.

use super::model::{
    HostState, JobDetail, JobHost, JobId, JobOptions, JobQuery, JobState, JobSummary, Origin,
};
use crate::error::{EngineError, ErrorCode};
use crate::vm::VmId;
use sqlx::{Sqlite, SqlitePool, Transaction};
use std::time::Duration;
use vmo_command::TemplateRun;
use vmo_joblog::{Chunk, Stream};

#[derive(Clone)]
pub(crate) struct JobStore {
    pool: SqlitePool,
}

/// A host as a new job records it.
pub(crate) struct NewHost {
    pub vm_id: Option<VmId>,
    pub name: String,
    /// Set when the host fails before running (e.g. its jump host does not resolve).
    pub failed: Option<String>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    command: String,
    origin: String,
    target_label: String,
    concurrency: i64,
    timeout_ms: Option<i64>,
    stop_on_failure: bool,
    canary: bool,
    state: String,
    retry_of: Option<i64>,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    hosts_total: i64,
    hosts_done: i64,
    hosts_succeeded: i64,
    record_error: Option<String>,
    template: Option<String>,
    template_params: Option<String>,
}

impl JobRow {
    fn into_summary(self) -> Result<JobSummary, EngineError> {
        let corrupt = |what: &str| {
            EngineError::new(
                ErrorCode::Database,
                format!("job #{} has an invalid {what} in the database", self.id),
            )
        };
        let template = match self.template {
            Some(name) => Some(TemplateRun {
                name,
                params: match &self.template_params {
                    Some(json) => serde_json::from_str(json).map_err(|_| corrupt("template"))?,
                    None => Default::default(),
                },
            }),
            None => None,
        };
        Ok(JobSummary {
            id: JobId(self.id),
            template,
            origin: Origin::parse(&self.origin).ok_or_else(|| corrupt("origin"))?,
            state: JobState::parse(&self.state).ok_or_else(|| corrupt("state"))?,
            options: JobOptions {
                concurrency: usize::try_from(self.concurrency).unwrap_or(1).max(1),
                timeout: self
                    .timeout_ms
                    .and_then(|ms| u64::try_from(ms).ok())
                    .map(Duration::from_millis),
                stop_on_failure: self.stop_on_failure,
                canary: self.canary,
            },
            command: self.command,
            target_label: self.target_label,
            retry_of: self.retry_of.map(JobId),
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            hosts_total: self.hosts_total as u32,
            hosts_done: self.hosts_done as u32,
            hosts_succeeded: self.hosts_succeeded as u32,
            record_error: self.record_error,
        })
    }
}

#[derive(sqlx::FromRow)]
struct HostRow {
    host: i64,
    vm_id: Option<i64>,
    name: String,
    state: String,
    exit_code: Option<i64>,
    signal: Option<String>,
    error: Option<String>,
    error_kind: Option<String>,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    out_bytes: i64,
    truncated: bool,
}

impl HostRow {
    fn into_host(self) -> Result<JobHost, EngineError> {
        Ok(JobHost {
            host: self.host as u32,
            vm_id: self.vm_id.map(VmId),
            state: HostState::parse(&self.state).ok_or_else(|| {
                EngineError::new(
                    ErrorCode::Database,
                    format!("host {:?} has an invalid state in the database", self.name),
                )
            })?,
            name: self.name,
            exit_code: self.exit_code,
            signal: self.signal,
            error: self.error,
            error_kind: self.error_kind,
            started_at: self.started_at,
            finished_at: self.finished_at,
            out_bytes: self.out_bytes,
            truncated: self.truncated,
        })
    }
}

/// `SELECT <every JobRow column> FROM jobs j <rest>`, with host counts.
macro_rules! select_jobs {
    ($rest:literal) => {
        concat!(
            "SELECT j.id, j.command, j.origin, j.target_label, j.concurrency, j.timeout_ms, ",
            "j.stop_on_failure, j.canary, j.state, j.retry_of, j.created_at, j.started_at, ",
            "j.finished_at, j.record_error, j.template, j.template_params, ",
            "(SELECT COUNT(*) FROM job_hosts h WHERE h.job_id = j.id) AS hosts_total, ",
            "(SELECT COUNT(*) FROM job_hosts h WHERE h.job_id = j.id ",
            "  AND h.state NOT IN ('queued', 'running')) AS hosts_done, ",
            "(SELECT COUNT(*) FROM job_hosts h WHERE h.job_id = j.id ",
            "  AND h.state = 'succeeded') AS hosts_succeeded ",
            "FROM jobs j ",
            $rest
        )
    };
}

const SELECT_HOSTS: &str = "SELECT host, vm_id, name, state, exit_code, signal, error, \
     error_kind, started_at, finished_at, out_bytes, truncated FROM job_hosts \
     WHERE job_id = ? ORDER BY host";

/// A change the writer applies, in order, in one transaction per batch.
#[derive(Clone)]
pub(crate) enum Write {
    /// A chunk of output; its id is assigned on insert.
    Output {
        job: JobId,
        chunk: Chunk,
    },
    JobStarted {
        job: JobId,
        at: i64,
    },
    HostStarted {
        job: JobId,
        host: u32,
        at: i64,
    },
    HostFinished {
        job: JobId,
        host: Box<JobHost>,
    },
    JobFinished {
        job: JobId,
        state: JobState,
        at: i64,
    },
    /// Output of the job was lost: why, and how much (kept on the job once it can be).
    RecordError {
        job: JobId,
        message: String,
    },
}

impl JobStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The highest job id so far (0 for none).
    pub async fn newest_job(&self) -> Result<i64, EngineError> {
        let (id,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM jobs")
            .fetch_one(&self.pool)
            .await?;
        Ok(id.unwrap_or(0))
    }

    /// Jobs of other processes that are live, or newer than `after`, oldest first.
    pub async fn foreign_live_jobs(&self, me: &str, after: i64) -> Result<Vec<JobId>, EngineError> {
        let ids: Vec<(i64,)> = sqlx::query_as(
            "SELECT id FROM jobs WHERE owner != ? AND (id > ? OR state IN ('queued', 'running')) \
             ORDER BY id",
        )
        .bind(me)
        .bind(after)
        .fetch_all(&self.pool)
        .await?;
        Ok(ids.into_iter().map(|(id,)| JobId(id)).collect())
    }

    /// Asks the process running `job` to stop it (`host`: only that host). False when the
    /// job (or host) is not live.
    pub async fn request_cancel(&self, job: JobId, host: Option<u32>) -> Result<bool, EngineError> {
        let done = match host {
            None => {
                sqlx::query(
                    "UPDATE jobs SET cancel_requested = 1 \
                     WHERE id = ? AND state IN ('queued', 'running')",
                )
                .bind(job.0)
                .execute(&self.pool)
                .await?
            }
            Some(host) => {
                sqlx::query(
                    "UPDATE job_hosts SET cancel_requested = 1 \
                     WHERE job_id = ? AND host = ? AND state IN ('queued', 'running')",
                )
                .bind(job.0)
                .bind(i64::from(host))
                .execute(&self.pool)
                .await?
            }
        };
        Ok(done.rows_affected() > 0)
    }

    /// Cancels asked for among `jobs`: (job, None) for a whole job, (job, Some(host)).
    pub async fn cancel_requests(
        &self,
        jobs: &[JobId],
    ) -> Result<Vec<(JobId, Option<u32>)>, EngineError> {
        let ids = serde_json::to_string(&jobs.iter().map(|j| j.0).collect::<Vec<_>>())
            .unwrap_or_default();
        let rows: Vec<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT id, NULL FROM jobs WHERE cancel_requested = 1 \
               AND id IN (SELECT value FROM json_each(?1)) \
             UNION ALL \
             SELECT job_id, host FROM job_hosts WHERE cancel_requested = 1 \
               AND state IN ('queued', 'running') \
               AND job_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(job, host)| (JobId(job), host.map(|h| h as u32)))
            .collect())
    }

    /// The id of `job`'s last output chunk (0 for none).
    pub async fn last_chunk_id(&self, job: JobId) -> Result<i64, EngineError> {
        let (id,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(id) FROM job_output WHERE job_id = ?")
                .bind(job.0)
                .fetch_one(&self.pool)
                .await?;
        Ok(id.unwrap_or(0))
    }

    pub async fn create(
        &self,
        spec: &super::JobSpec,
        hosts: &[NewHost],
        owner: &str,
        now: i64,
    ) -> Result<JobId, EngineError> {
        let _turn = crate::write_turn::take(&self.pool).await;
        let mut tx = self.pool.begin().await?;
        let id = sqlx::query(
            "INSERT INTO jobs (command, origin, target_label, concurrency, timeout_ms, \
             stop_on_failure, canary, state, retry_of, owner, created_at, template, \
             template_params) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?)",
        )
        .bind(&spec.command)
        .bind(spec.origin.as_str())
        .bind(&spec.target_label)
        .bind(spec.options.concurrency as i64)
        .bind(spec.options.timeout.map(|t| t.as_millis() as i64))
        .bind(spec.options.stop_on_failure)
        .bind(spec.options.canary)
        .bind(spec.retry_of.map(|j| j.0))
        .bind(owner)
        .bind(now)
        .bind(spec.template.as_ref().map(|t| t.name.as_str()))
        .bind(template_params(spec)?)
        .execute(&mut *tx)
        .await?
        .last_insert_rowid();
        for (index, host) in hosts.iter().enumerate() {
            let state = if host.failed.is_some() {
                HostState::Failed
            } else {
                HostState::Queued
            };
            sqlx::query(
                "INSERT INTO job_hosts (job_id, host, vm_id, name, state, error, error_kind, \
                 finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id)
            .bind(index as i64)
            .bind(host.vm_id.map(|v| v.0))
            .bind(&host.name)
            .bind(state.as_str())
            .bind(&host.failed)
            .bind(host.failed.as_ref().map(|_| "config"))
            .bind(host.failed.as_ref().map(|_| now))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(JobId(id))
    }

    pub async fn summary(&self, id: JobId) -> Result<JobSummary, EngineError> {
        let row: Option<JobRow> = sqlx::query_as(select_jobs!("WHERE j.id = ?"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.ok_or_else(|| EngineError::new(ErrorCode::NotFound, format!("no job {id}")))?
            .into_summary()
    }

    pub async fn detail(&self, id: JobId) -> Result<JobDetail, EngineError> {
        let job = self.summary(id).await?;
        let rows: Vec<HostRow> = sqlx::query_as(SELECT_HOSTS)
            .bind(id.0)
            .fetch_all(&self.pool)
            .await?;
        let hosts = rows
            .into_iter()
            .map(HostRow::into_host)
            .collect::<Result<_, _>>()?;
        Ok(JobDetail { job, hosts })
    }

    pub async fn list(&self, query: &JobQuery) -> Result<Vec<JobSummary>, EngineError> {
        let states: Vec<&str> = query.states.iter().map(|s| s.as_str()).collect();
        let text = query
            .text
            .as_ref()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty());
        // SQLite's instr() on lower() is a plain substring test: no LIKE wildcards to escape.
        let rows: Vec<JobRow> = sqlx::query_as(select_jobs!(
            "WHERE (?1 = '' OR j.state IN (SELECT value FROM json_each(?1))) \
             AND (?2 IS NULL OR EXISTS (SELECT 1 FROM job_hosts h \
                  WHERE h.job_id = j.id AND h.vm_id = ?2)) \
             AND (?3 IS NULL OR instr(lower(j.command), ?3) > 0 \
                  OR instr(lower(j.target_label), ?3) > 0 \
                  OR EXISTS (SELECT 1 FROM job_hosts h WHERE h.job_id = j.id \
                             AND instr(lower(h.name), ?3) > 0)) \
             ORDER BY j.id DESC LIMIT ?4"
        ))
        .bind(if states.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&states).unwrap_or_default()
        })
        .bind(query.vm.map(|v| v.0))
        .bind(text)
        .bind(i64::from(query.limit.unwrap_or(500)))
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(JobRow::into_summary).collect()
    }

    /// Output chunks of `job` after chunk `after` (0 = from the start), at most `limit`.
    pub async fn chunks(
        &self,
        job: JobId,
        after: i64,
        limit: u32,
    ) -> Result<Vec<Chunk>, EngineError> {
        let rows: Vec<(i64, i64, i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT id, host, stream, at_ms, data FROM job_output \
             WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
        )
        .bind(job.0)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, host, stream, at_ms, data)| Chunk {
                id,
                host: host as u32,
                stream: Stream::from_i64(stream).unwrap_or(Stream::Marker),
                at_ms,
                data,
            })
            .collect())
    }

    /// Live jobs whose owning process is gone: they and their unfinished hosts become
    /// interrupted. Their output stays. Returns the jobs changed.
    pub async fn interrupt_orphans(
        &self,
        is_alive: impl Fn(&str) -> bool,
        now: i64,
    ) -> Result<Vec<JobId>, EngineError> {
        let live: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, owner FROM jobs WHERE state IN ('queued', 'running')")
                .fetch_all(&self.pool)
                .await?;
        let mut changed = Vec::new();
        for (id, owner) in live {
            if is_alive(&owner) {
                continue;
            }
            let _turn = crate::write_turn::take(&self.pool).await;
            let mut tx = self.pool.begin().await?;
            sqlx::query(
                "UPDATE job_hosts SET state = 'interrupted', finished_at = ?, \
                 error = 'the process running this job ended' \
                 WHERE job_id = ? AND state IN ('queued', 'running')",
            )
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE jobs SET state = 'interrupted', finished_at = ? WHERE id = ?")
                .bind(now)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            changed.push(JobId(id));
        }
        Ok(changed)
    }

    /// The final state of the job run before `job` with the same command and targets (or
    /// the one it retried): to tell "fixed" from "still fine".
    pub async fn previous_state(&self, job: &JobSummary) -> Result<Option<JobState>, EngineError> {
        let state: Option<(String,)> = match job.retry_of {
            Some(of) => {
                sqlx::query_as("SELECT state FROM jobs WHERE id = ?")
                    .bind(of.0)
                    .fetch_optional(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_as(
                    "SELECT state FROM jobs WHERE id < ? AND command = ? AND target_label = ? \
                     AND state NOT IN ('queued', 'running') ORDER BY id DESC LIMIT 1",
                )
                .bind(job.id.0)
                .bind(&job.command)
                .bind(&job.target_label)
                .fetch_optional(&self.pool)
                .await?
            }
        };
        Ok(state.and_then(|(s,)| JobState::parse(&s)))
    }

    /// Applies a batch in one transaction. Returns the ids given to its output chunks, in
    /// order. The batch stays the caller's: a refused commit can be tried again.
    pub async fn apply(&self, batch: &[Write]) -> Result<Vec<i64>, EngineError> {
        let _turn = crate::write_turn::take(&self.pool).await;
        let mut tx = self.pool.begin().await?;
        let mut ids = Vec::new();
        for write in batch {
            apply_one(&mut tx, write, &mut ids).await?;
        }
        tx.commit().await?;
        Ok(ids)
    }
}

async fn apply_one(
    tx: &mut Transaction<'_, Sqlite>,
    write: &Write,
    ids: &mut Vec<i64>,
) -> Result<(), EngineError> {
    match write {
        Write::Output { job, chunk } => {
            let id = sqlx::query(
                "INSERT INTO job_output (job_id, host, stream, at_ms, data) VALUES (?, ?, ?, ?, ?)",
            )
            .bind(job.0)
            .bind(i64::from(chunk.host))
            .bind(chunk.stream.as_i64())
            .bind(chunk.at_ms)
            .bind(chunk.data.as_slice())
            .execute(&mut **tx)
            .await?
            .last_insert_rowid();
            ids.push(id);
        }
        Write::JobStarted { job, at } => {
            sqlx::query("UPDATE jobs SET state = 'running', started_at = ? WHERE id = ?")
                .bind(*at)
                .bind(job.0)
                .execute(&mut **tx)
                .await?;
        }
        Write::HostStarted { job, host, at } => {
            sqlx::query(
                "UPDATE job_hosts SET state = 'running', started_at = ? WHERE job_id = ? AND host = ?",
            )
            .bind(*at)
            .bind(job.0)
            .bind(i64::from(*host))
            .execute(&mut **tx)
            .await?;
        }
        Write::HostFinished { job, host } => {
            sqlx::query(
                "UPDATE job_hosts SET state = ?, exit_code = ?, signal = ?, error = ?, \
                 error_kind = ?, started_at = COALESCE(started_at, ?), finished_at = ?, \
                 out_bytes = ?, truncated = ? WHERE job_id = ? AND host = ?",
            )
            .bind(host.state.as_str())
            .bind(host.exit_code)
            .bind(&host.signal)
            .bind(&host.error)
            .bind(&host.error_kind)
            .bind(host.started_at)
            .bind(host.finished_at)
            .bind(host.out_bytes)
            .bind(host.truncated)
            .bind(job.0)
            .bind(i64::from(host.host))
            .execute(&mut **tx)
            .await?;
        }
        Write::RecordError { job, message } => {
            sqlx::query("UPDATE jobs SET record_error = ? WHERE id = ?")
                .bind(message)
                .bind(job.0)
                .execute(&mut **tx)
                .await?;
        }
        Write::JobFinished { job, state, at } => {
            sqlx::query("UPDATE jobs SET state = ?, finished_at = ? WHERE id = ?")
                .bind(state.as_str())
                .bind(*at)
                .bind(job.0)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// A job's parameter values as stored: a JSON object (bytes that are not UTF-8 as hex).
fn template_params(spec: &super::JobSpec) -> Result<Option<String>, EngineError> {
    spec.template
        .as_ref()
        .map(|t| serde_json::to_string(&t.params))
        .transpose()
        .map_err(|e| EngineError::new(ErrorCode::Database, format!("cannot store values: {e}")))
}
