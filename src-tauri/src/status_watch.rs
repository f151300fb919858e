//! Desktop notifications as VMs change status: offline, back online, a threshold crossed
//! (each as the settings allow), rate-limited so a flapping host or a network outage
//! cannot bury the user (`vmo_status::NoticeLimiter`).

use tauri::{AppHandle, Manager, Runtime, Wry};
use tauri_plugin_notification::NotificationExt;
use tokio::sync::broadcast::error::RecvError;
use vmo_engine::settings::NotifySettings;
use vmo_engine::status::{Health, StatusChange};
use vmo_engine::status::{NoticeLimiter, Verdict};
use vmo_engine::Engine;

pub fn watch(app: &AppHandle<Wry>, engine: Engine) {
    summarize(app, engine.clone());
    let mut changes = engine.status().subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut limiter = NoticeLimiter::default();
        loop {
            let change = match changes.recv().await {
                Ok(change) => change,
                Err(RecvError::Lagged(n)) => {
                    tracing::debug!("{n} status changes came too fast to notify");
                    continue;
                }
                Err(RecvError::Closed) => break,
            };
            let Some((title, body)) = notice(&change, &engine.settings().notify) else {
                continue;
            };
            let title = crate::job_watch::titled(&engine, title);
            let now = vmo_engine::jobs::now_ms().max(0) as u64;
            match limiter.check(&change.vm, now) {
                Verdict::Show { held_back: 0 } => send(&app, &title, &body),
                Verdict::Show { held_back } => send(
                    &app,
                    &title,
                    &format!("{body}\n(+{held_back} more status changes not shown)"),
                ),
                Verdict::Hold => {}
            }
        }
    });
}

/// Puts `engine`'s fleet summary in the tray now (a profile just became active).
pub fn show_in_tray(app: &AppHandle<Wry>, engine: Engine) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let Ok(vms) = engine.inventory().list().await else {
            return;
        };
        let counts = engine.status().fleet().counts(vms.iter().map(|vm| vm.id));
        if let Some(tray) = app.try_state::<crate::tray::TrayJobs<Wry>>() {
            tray.show_status(&counts.summary());
        }
    });
}

/// Keeps the tray's status line on the active profile's fleet, as the header shows it.
fn summarize(app: &AppHandle<Wry>, engine: Engine) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut fleet = engine.status().watch();
        let mut inventory = engine.inventory().subscribe();
        let mut ids = Vec::new();
        let mut reload = true;
        loop {
            if reload {
                match engine.inventory().list().await {
                    Ok(vms) => ids = vms.iter().map(|vm| vm.id).collect(),
                    Err(e) => tracing::warn!("tray status: cannot read the inventory: {e}"),
                }
            }
            let active = app
                .try_state::<crate::AppState>()
                .is_some_and(|s| s.engine().profile() == engine.profile());
            if active {
                if let Some(tray) = app.try_state::<crate::tray::TrayJobs<Wry>>() {
                    let counts = fleet.borrow_and_update().counts(ids.iter().copied());
                    tray.show_status(&counts.summary());
                }
            }
            tokio::select! {
                changed = fleet.changed() => {
                    reload = false;
                    if changed.is_err() {
                        break;
                    }
                }
                event = inventory.recv() => {
                    reload = true;
                    if matches!(event, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        break;
                    }
                }
            }
        }
    });
}

fn send<R: Runtime>(app: &AppHandle<R>, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("notification not shown: {e}");
    }
}

/// The notification a status change deserves, if any: (title, body). A VM's first probe
/// (from unknown) is not news.
pub fn notice(change: &StatusChange, wanted: &NotifySettings) -> Option<(String, String)> {
    let name = &change.name;
    let reason = change.reason.clone().unwrap_or_default();
    match (change.from, change.to) {
        (Health::Unknown, _) => None,
        (_, Health::Offline) if wanted.vm_offline => Some((format!("{name} is offline"), reason)),
        (Health::Offline, Health::Online | Health::Degraded) if wanted.vm_back_online => {
            let body = if change.to == Health::Degraded {
                format!("reachable again, degraded: {reason}")
            } else {
                "reachable again".to_string()
            };
            Some((format!("{name} is back online"), body))
        }
        (Health::Online | Health::Degraded, Health::Degraded)
            if wanted.vm_threshold && !change.new_breaches.is_empty() =>
        {
            Some((format!("{name} is degraded"), reason))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vmo_engine::status::Metric;
    use vmo_engine::VmId;

    fn change(from: Health, to: Health, reason: &str, new: &[Metric]) -> StatusChange {
        StatusChange {
            vm: VmId(1),
            name: "web-1".into(),
            from,
            to,
            reason: (!reason.is_empty()).then(|| reason.to_string()),
            new_breaches: new.to_vec(),
        }
    }

    #[test]
    fn offline_back_and_thresholds_as_the_settings_say() {
        let all = NotifySettings::default();
        let down = change(Health::Online, Health::Offline, "connection refused", &[]);
        assert_eq!(
            notice(&down, &all),
            Some(("web-1 is offline".into(), "connection refused".into()))
        );
        let back = change(Health::Offline, Health::Online, "", &[]);
        assert_eq!(notice(&back, &all).unwrap().0, "web-1 is back online");
        let full = change(
            Health::Online,
            Health::Degraded,
            "disk 95% ≥ 90%",
            &[Metric::Disk],
        );
        assert_eq!(
            notice(&full, &all),
            Some(("web-1 is degraded".into(), "disk 95% ≥ 90%".into()))
        );
        // Recovering from degraded, or the first probe, is not worth a notification.
        assert_eq!(
            notice(&change(Health::Degraded, Health::Online, "", &[]), &all),
            None
        );
        assert_eq!(
            notice(&change(Health::Unknown, Health::Offline, "x", &[]), &all),
            None
        );
        // Each toggle silences its kind only.
        let quiet = NotifySettings {
            vm_offline: false,
            ..all
        };
        assert_eq!(notice(&down, &quiet), None);
        assert!(notice(&back, &quiet).is_some());
        let quiet = NotifySettings {
            vm_threshold: false,
            vm_back_online: false,
            ..all
        };
        assert_eq!(notice(&full, &quiet), None);
        assert_eq!(notice(&back, &quiet), None);
    }
}
