//! Engine events re-emitted as Tauri events, for any webview listener.

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio::sync::broadcast::error::RecvError;
use vmo_engine::jobs::{JobHost, JobId, JobState, JobSummary};
use vmo_engine::{Engine, JobEvent};

/// Event name carrying a `vmo_engine::InventoryEvent`.
pub const INVENTORY_CHANGED: &str = "inventory-changed";
/// Event name carrying a [`JobChange`].
pub const JOB_CHANGED: &str = "job-changed";
/// Event name carrying a [`JobOutput`] (batched by the engine, ~20 per second at most).
pub const JOB_OUTPUT: &str = "job-output";

/// A job's lifecycle, as Tauri events carry it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobChange {
    Created {
        job: JobSummary,
    },
    Started {
        job: JobSummary,
    },
    HostStarted {
        job: JobId,
        host: u32,
    },
    HostFinished {
        job: JobId,
        host: JobHost,
    },
    Finished {
        job: JobSummary,
        previous: Option<JobState>,
    },
    /// Output could not be recorded (e.g. the disk is full); the job cannot succeed.
    RecordingFailed {
        job: JobId,
        message: String,
    },
}

/// New output of a job: fetch chunks after `after` to read it (the chunks themselves can be
/// megabytes; the in-process UI reads them from the engine directly).
#[derive(Debug, Clone, Serialize)]
pub struct JobOutput {
    pub job: JobId,
    pub after: i64,
    pub last: i64,
    pub bytes: usize,
}

/// Whether `profile` is the one the window shows: a background profile's events stay
/// off the window's channel, so listeners never mix two inventories' ids.
fn is_active<R: Runtime>(app: &AppHandle<R>, profile: &str) -> bool {
    app.try_state::<crate::AppState>()
        .is_none_or(|state| state.engine().profile() == profile)
}

pub fn forward_jobs<R: Runtime>(app: &AppHandle<R>, engine: &Engine) {
    let mut events = engine.jobs().subscribe();
    let app = app.clone();
    let profile = engine.profile().to_owned();
    tauri::async_runtime::spawn(async move {
        loop {
            let event = events.recv().await;
            if event.is_ok() && !is_active(&app, &profile) {
                continue;
            }
            let (name, sent) = match event {
                Ok(JobEvent::Output { job, chunks }) => {
                    let output = JobOutput {
                        job,
                        after: chunks.first().map_or(0, |c| c.id - 1),
                        last: chunks.last().map_or(0, |c| c.id),
                        bytes: chunks.iter().map(|c| c.data.len()).sum(),
                    };
                    (JOB_OUTPUT, app.emit(JOB_OUTPUT, &output))
                }
                Ok(event) => {
                    let change = match event {
                        JobEvent::Created(job) => JobChange::Created { job },
                        JobEvent::Started(job) => JobChange::Started { job },
                        JobEvent::HostStarted { job, host } => JobChange::HostStarted { job, host },
                        JobEvent::HostFinished { job, host } => {
                            JobChange::HostFinished { job, host }
                        }
                        JobEvent::Finished { job, previous } => {
                            JobChange::Finished { job, previous }
                        }
                        JobEvent::RecordingFailed { job, message } => {
                            JobChange::RecordingFailed { job, message }
                        }
                        JobEvent::Output { .. } => continue,
                    };
                    (JOB_CHANGED, app.emit(JOB_CHANGED, &change))
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "job events lagged");
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            if let Err(err) = sent {
                tracing::warn!("cannot emit {name}: {err}");
            }
        }
    });
}

pub fn forward_inventory<R: Runtime>(app: &AppHandle<R>, engine: &Engine) {
    let mut changes = engine.inventory().subscribe();
    let app = app.clone();
    let profile = engine.profile().to_owned();
    tauri::async_runtime::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(_) if !is_active(&app, &profile) => {}
                Ok(event) => {
                    if let Err(err) = app.emit(INVENTORY_CHANGED, &event) {
                        tracing::warn!("cannot emit {INVENTORY_CHANGED}: {err}");
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "inventory events lagged");
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}
