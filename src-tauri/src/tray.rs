//! The tray icon and its menu. A desktop without a tray host, or without the indicator
//! library, must never take the app down: then there is simply no tray, and closing the
//! window quits.

use tauri::menu::{Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime};

/// Returns whether the tray is there.
pub fn install<R: Runtime>(app: &AppHandle<R>) -> bool {
    // The indicator library is loaded at run time and panics when absent. Catch that, and
    // keep its panic message (with a backtrace) off the terminal: the warning below says it.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| build(app)));
    std::panic::set_hook(default_hook);
    match built {
        Ok(Ok(())) => true,
        Ok(Err(err)) => {
            tracing::warn!("no tray icon: {err}");
            false
        }
        Err(_) => {
            tracing::warn!("no tray icon: the system tray library is missing");
            false
        }
    }
}

/// The tray's running-job line and tooltip, kept to update as jobs come and go.
pub struct TrayJobs<R: Runtime> {
    item: MenuItem<R>,
    profile: MenuItem<R>,
    /// The active profile's fleet: "42 online · 2 degraded · 1 offline".
    status: MenuItem<R>,
    tray: TrayIcon<R>,
}

impl<R: Runtime> TrayJobs<R> {
    /// The menu's first line names the profile the window shows (jobs count all).
    pub fn show_profile(&self, profile: &str) {
        if let Err(e) = self.profile.set_text(format!("Profile: {profile}")) {
            tracing::warn!("cannot update the tray menu: {e}");
        }
    }

    /// The same summary line as the window's header.
    pub fn show_status(&self, summary: &str) {
        if let Err(e) = self.status.set_text(summary) {
            tracing::warn!("cannot update the tray menu: {e}");
        }
    }

    pub fn show_running(&self, running: usize) {
        let text = running_text(running);
        if let Err(e) = self.item.set_text(&text) {
            tracing::warn!("cannot update the tray menu: {e}");
        }
        // Only some platforms show tooltips (not Linux's AppIndicator); harmless elsewhere.
        let _ = self
            .tray
            .set_tooltip(Some(format!("VM Orchestrator — {text}")));
    }
}

pub fn running_text(running: usize) -> String {
    match running {
        0 => "No jobs running".to_string(),
        1 => "1 job running".to_string(),
        n => format!("{n} jobs running"),
    }
}

fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let profile = MenuItem::with_id(app, "profile", "Profile: default", false, None::<&str>)?;
    let status = MenuItem::with_id(app, "status", "No VMs", false, None::<&str>)?;
    let jobs = MenuItem::with_id(app, "jobs", running_text(0), false, None::<&str>)?;
    let show = MenuItem::with_id(app, "show", "Show window", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(app, &[&profile, &status, &jobs, &separator, &show, &quit])?;
    let mut tray = TrayIconBuilder::with_id("main")
        .tooltip("VM Orchestrator")
        .menu(&menu)
        .on_menu_event(|app, event| match event.id.as_ref() {
            "show" => crate::window::show_main(app),
            "quit" => {
                tracing::info!("quit from the tray");
                app.exit(0);
            }
            _ => {}
        });
    if let Some(icon) = app.default_window_icon() {
        tray = tray.icon(icon.clone());
    }
    let tray = tray.build(app)?;
    app.manage(TrayJobs {
        item: jobs,
        profile,
        status,
        tray,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_running_line_counts_jobs() {
        assert_eq!(super::running_text(0), "No jobs running");
        assert_eq!(super::running_text(1), "1 job running");
        assert_eq!(super::running_text(12), "12 jobs running");
    }
}
