//! What the shell does as jobs run: the tray shows how many are running, and a finished
//! job raises a desktop notification (as the user's preferences say). Jobs run in the
//! engine, so all this goes on with the window hidden.

use crate::tray::TrayJobs;
use std::sync::Arc;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;
use vmo_engine::jobs::{JobQuery, JobState, JobSummary};
use vmo_engine::settings::NotifySettings;
use vmo_engine::{Engine, JobEvent};

/// Follows one profile's engine: every open profile has its own watch, so a background
/// profile's jobs still tick the tray and notify (their titles name the profile).
pub fn watch<R: Runtime>(app: &AppHandle<R>, engine: Engine) {
    let mut events = engine.jobs().subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(JobEvent::Created(_) | JobEvent::Started(_)) => {
                    update_tray(&app, &engine).await;
                }
                Ok(JobEvent::Finished { job, previous }) => {
                    update_tray(&app, &engine).await;
                    let wanted = engine.settings().notify;
                    if let Some((title, body)) = notice(&job, previous, wanted) {
                        notify(&app, &titled(&engine, title), &body);
                    }
                }
                // Failing to keep a record is the app's own failure: said as it happens.
                Ok(JobEvent::RecordingFailed { job, message }) => {
                    if engine.settings().notify.job_failed {
                        let title = titled(&engine, format!("Job {job}: output not recorded"));
                        notify(&app, &title, &message);
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => update_tray(&app, &engine).await,
                Err(RecvError::Closed) => break,
            }
        }
    });
}

/// A notification's title, naming the profile unless it is the default one.
pub(crate) fn titled(engine: &Engine, title: String) -> String {
    if engine.paths().is_default_profile() {
        title
    } else {
        format!("{}: {title}", engine.profile())
    }
}

/// Queued or running jobs of `engine`'s profile.
pub async fn live_jobs(engine: &Engine) -> Result<usize, vmo_engine::EngineError> {
    let live = JobQuery {
        states: vec![JobState::Queued, JobState::Running],
        ..Default::default()
    };
    Ok(engine.jobs().list(&live).await?.len())
}

/// The tray counts the jobs of every open profile.
async fn update_tray<R: Runtime>(app: &AppHandle<R>, engine: &Engine) {
    let engines = match app.try_state::<Arc<crate::profiles::OpenProfiles>>() {
        Some(open) => open.engines(),
        None => vec![engine.clone()],
    };
    let mut running = 0;
    for engine in &engines {
        match live_jobs(engine).await {
            Ok(n) => running += n,
            Err(e) => {
                tracing::warn!("cannot count running jobs: {e}");
                return;
            }
        }
    }
    if let Some(tray) = app.try_state::<TrayJobs<R>>() {
        tray.show_running(running);
    }
}

/// The notification a finished job deserves, if any: (title, body).
pub fn notice(
    job: &JobSummary,
    previous: Option<JobState>,
    wanted: NotifySettings,
) -> Option<(String, String)> {
    let what = format!("{} on {}", job.command, job.target_label);
    let failed_before = matches!(
        previous,
        Some(JobState::Failed | JobState::TimedOut | JobState::Interrupted)
    );
    match job.state {
        JobState::Succeeded if failed_before && wanted.job_recovered => Some((
            format!("Job {} succeeded again", job.id),
            format!(
                "{what}: all {} hosts fine; the previous run had failed",
                job.hosts_total
            ),
        )),
        JobState::Succeeded if wanted.job_succeeded => Some((
            format!("Job {} succeeded", job.id),
            format!("{what}: all {} hosts fine", job.hosts_total),
        )),
        JobState::Failed | JobState::TimedOut if wanted.job_failed => Some((
            format!(
                "Job {} {}",
                job.id,
                if job.state == JobState::Failed {
                    "failed"
                } else {
                    "timed out"
                }
            ),
            match &job.record_error {
                Some(lost) => format!("{what}: {lost}"),
                None => format!(
                    "{what}: {} of {} hosts did not succeed",
                    job.hosts_total - job.hosts_succeeded,
                    job.hosts_total
                ),
            },
        )),
        _ => None,
    }
}

fn notify<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    // Without a notification daemon this fails; the job is recorded anyway.
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!("cannot show a desktop notification: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmo_engine::jobs::{JobId, JobOptions, Origin};

    fn job(state: JobState, succeeded: u32) -> JobSummary {
        JobSummary {
            id: JobId(7),
            command: "uptime".into(),
            origin: Origin::App,
            target_label: "web-1, web-2, web-3".into(),
            options: JobOptions::default(),
            state,
            retry_of: None,
            created_at: 0,
            started_at: Some(0),
            finished_at: Some(10),
            hosts_total: 3,
            hosts_done: 3,
            hosts_succeeded: succeeded,
            record_error: None,
            template: None,
        }
    }

    #[test]
    fn notices_follow_the_outcome_and_the_toggles() {
        let all = NotifySettings::default();
        let (title, body) = notice(&job(JobState::Failed, 2), None, all).unwrap();
        assert_eq!(title, "Job #7 failed");
        assert_eq!(
            body,
            "uptime on web-1, web-2, web-3: 1 of 3 hosts did not succeed"
        );
        let (title, _) = notice(&job(JobState::Succeeded, 3), None, all).unwrap();
        assert_eq!(title, "Job #7 succeeded");
        let (title, body) =
            notice(&job(JobState::Succeeded, 3), Some(JobState::Failed), all).unwrap();
        assert_eq!(title, "Job #7 succeeded again");
        assert!(body.ends_with("the previous run had failed"), "{body}");
        let (title, _) = notice(&job(JobState::TimedOut, 0), None, all).unwrap();
        assert_eq!(title, "Job #7 timed out");
        let mut lost = job(JobState::Failed, 3);
        lost.record_error = Some("1.0 MiB of output from 3 hosts was not recorded".into());
        let (_, body) = notice(&lost, None, all).unwrap();
        assert!(body.ends_with("was not recorded"), "{body}");
        // Cancelled by the user: nothing to tell them.
        assert!(notice(&job(JobState::Cancelled, 1), None, all).is_none());

        let only_failures = NotifySettings {
            job_succeeded: false,
            job_failed: true,
            job_recovered: false,
            ..NotifySettings::default()
        };
        assert!(notice(&job(JobState::Succeeded, 3), None, only_failures).is_none());
        assert!(notice(
            &job(JobState::Succeeded, 3),
            Some(JobState::Failed),
            only_failures
        )
        .is_none());
        assert!(notice(&job(JobState::Failed, 0), None, only_failures).is_some());
        // Recovery notices stay on when plain successes are off.
        let recoveries = NotifySettings {
            job_succeeded: false,
            job_failed: false,
            job_recovered: true,
            ..NotifySettings::default()
        };
        assert!(notice(
            &job(JobState::Succeeded, 3),
            Some(JobState::Failed),
            recoveries
        )
        .is_some());
        assert!(notice(
            &job(JobState::Succeeded, 3),
            Some(JobState::Succeeded),
            recoveries
        )
        .is_none());
    }
}
