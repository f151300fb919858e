//! The main window: starts on the bundled bootstrap page, which hops to the UI server, and
//! may never navigate anywhere else.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder, WindowEvent};

const MAIN: &str = "main";

pub fn create_main<R: Runtime>(
    app: &AppHandle<R>,
    ui_origin: &str,
    hide_on_close: bool,
) -> tauri::Result<()> {
    let ui_origin = ui_origin.to_string();
    let window = WebviewWindowBuilder::new(app, MAIN, WebviewUrl::App("index.html".into()))
        .title("VM Orchestrator")
        .inner_size(1280.0, 800.0)
        .min_inner_size(880.0, 560.0)
        .on_navigation(move |url| {
            let allowed = is_own_page(url, &ui_origin);
            if !allowed {
                tracing::warn!(
                    scheme = url.scheme(),
                    "blocked navigation away from the app"
                );
            }
            allowed
        })
        .build()?;
    if hide_on_close {
        // With a tray, closing hides: running work keeps going and the tray brings it back.
        let handle = window.clone();
        window.on_window_event(move |event| {
            if let WindowEvent::CloseRequested { api, .. } = event {
                api.prevent_close();
                if let Err(err) = handle.hide() {
                    tracing::warn!("cannot hide the window: {err}");
                }
            }
        });
    }
    Ok(())
}

/// The bundled bootstrap page (tauri://localhost or http://tauri.localhost) or the UI server.
fn is_own_page(url: &url::Url, ui_origin: &str) -> bool {
    let origin = url.origin().ascii_serialization();
    origin == ui_origin
        || url.scheme() == "tauri"
        || (url.scheme() == "http" && url.host_str() == Some("tauri.localhost"))
}

/// The window title names the active profile: "VM Orchestrator — lab".
pub fn show_profile<R: Runtime>(app: &AppHandle<R>, profile: &str) {
    if let Some(window) = app.get_webview_window(MAIN) {
        if let Err(err) = window.set_title(&format!("VM Orchestrator — {profile}")) {
            tracing::warn!("cannot set the window title: {err}");
        }
    }
}

pub fn show_main<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let shown = window
            .show()
            .and_then(|()| window.unminimize())
            .and_then(|()| window.set_focus());
        if let Err(err) = shown {
            tracing::warn!("cannot show the window: {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn navigation_stays_inside_the_app() {
        let ui = "http://127.0.0.1:4321";
        let ok = |u: &str| super::is_own_page(&u.parse().unwrap(), ui);
        assert!(ok("http://127.0.0.1:4321/secret/"));
        assert!(ok("tauri://localhost/index.html"));
        assert!(ok("http://tauri.localhost/index.html"));
        assert!(!ok("http://127.0.0.1:4322/secret/"));
        assert!(!ok("https://example.com/"));
        assert!(!ok("http://localhost:4321/secret/"));
        assert!(!ok("file:///etc/passwd"));
    }
}
