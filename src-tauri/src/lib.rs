//! The desktop shell: the only code that knows Tauri. It opens the engine, serves the
//! Dioxus UI to the main window, exposes the engine as Tauri commands and events, and owns
//! the tray.

pub mod commands;
mod desktop;
pub mod events;
pub mod job_watch;
mod logging;
mod preferences;
mod tray;
mod window;

use anyhow::Context as _;
use std::sync::Arc;
use tauri::Manager;
use vmo_engine::ssh::{KeyringSecrets, SshSettings, KEYRING_SERVICE};
use vmo_engine::{Engine, Paths};

/// What every command handler can reach.
pub struct AppState {
    pub engine: Engine,
    /// The UI page's address, with its secret; handed only to the bundled bootstrap page.
    pub ui_address: Option<String>,
}

pub fn run() -> anyhow::Result<()> {
    let paths = Paths::from_env()?;
    let _log_guard = logging::init(&paths.log_dir());
    tracing::info!(data_dir = %paths.data_dir().display(), "starting VM Orchestrator");

    let secrets = Arc::new(KeyringSecrets::new(KEYRING_SERVICE));
    let engine = tauri::async_runtime::block_on(Engine::open_with(
        paths.clone(),
        &SshSettings::from_env(),
        secrets,
    ))
    .context("cannot open the inventory")?;

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(invoke_handler())
        .setup(move |app| {
            let handle = app.handle().clone();
            let prefs: Arc<dyn vmo_ui::Preferences> =
                Arc::new(preferences::StorePreferences::open(
                    &handle,
                    &paths.data_dir().join("settings.json"),
                )?);
            engine
                .jobs()
                .set_output_cap(prefs.output_cap_mib().saturating_mul(1 << 20));
            let ui = tauri::async_runtime::block_on(vmo_ui::UiServer::start(
                "VM Orchestrator",
                vmo_ui::make_dom(vmo_ui::UiContext {
                    engine: engine.clone(),
                    prefs: prefs.clone(),
                    desktop: Arc::new(desktop::Dialogs {
                        app: handle.clone(),
                    }),
                }),
            ))?;
            attach_engine(&handle, engine.clone(), Some(ui.url()));
            let tray_ok = tray::install(&handle);
            job_watch::watch(&handle, engine.clone(), prefs);
            // Jobs `vmo` runs meanwhile show live, tick the tray and notify like ours.
            if let Err(e) = tauri::async_runtime::block_on(engine.jobs().follow_other_processes()) {
                tracing::warn!("other programs' jobs will show only after a reload: {e}");
            }
            // Inside the runtime: the monitor is a task on it.
            tauri::async_runtime::block_on(async { engine.status().start_monitor() });
            window::create_main(&handle, &ui.origin(), tray_ok)?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("cannot start the desktop shell")?;
    app.run(|_, _| {});
    Ok(())
}

/// Makes the engine reachable from commands and re-emits its events as Tauri events.
pub fn attach_engine<R: tauri::Runtime>(
    app: &tauri::AppHandle<R>,
    engine: Engine,
    ui_address: Option<String>,
) {
    events::forward_inventory(app, &engine);
    events::forward_jobs(app, &engine);
    app.manage(AppState { engine, ui_address });
}

/// Every command the window may call. Public so tests can mount it on a mock app.
pub fn invoke_handler<R: tauri::Runtime>(
) -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        commands::ui_address,
        commands::vm_list,
        commands::vm_get,
        commands::vm_create,
        commands::vm_update,
        commands::vm_delete,
        commands::vm_duplicate,
        commands::vm_import_preview,
        commands::vm_import_apply,
        commands::vm_test,
        commands::host_key_trust,
        commands::host_keys_scan,
        commands::host_keys_trust,
        commands::host_key_replace,
        commands::job_list,
        commands::job_get,
        commands::job_submit,
        commands::job_cancel,
        commands::job_cancel_host,
        commands::job_retry,
    ]
}
