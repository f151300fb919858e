//! The tray icon and its menu. A desktop without a tray host, or without the indicator
//! library, must never take the app down: then there is simply no tray, and closing the
//! window quits.

use tauri::menu::{Menu, MenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Runtime};

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

fn build<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<()> {
    let show = MenuItem::with_id(app, "show", "Show window", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "Quit", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&show, &quit])?;
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
    tray.build(app)?;
    Ok(())
}
