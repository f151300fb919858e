//! The desktop shell: the only code that knows Tauri. It opens the engine, serves the
//! Dioxus UI to the main window, exposes the engine as Tauri commands and events, and owns
//! the tray.

pub mod commands;
mod desktop;
pub mod events;
pub mod job_watch;
mod logging;
mod preferences;
mod profiles;
mod status_watch;
mod tray;
mod window;

use anyhow::Context as _;
use std::sync::Arc;
use tauri::Manager;
use vmo_engine::ssh::{KeyringSecrets, KEYRING_SERVICE};
use vmo_engine::{Engine, Paths};

/// What every command handler can reach.
pub struct AppState {
    /// The active profile's engine (switching profiles replaces it).
    engine: std::sync::RwLock<Engine>,
    /// The UI page's address, with its secret; handed only to the bundled bootstrap page.
    pub ui_address: Option<String>,
}

impl AppState {
    pub fn new(engine: Engine, ui_address: Option<String>) -> Self {
        Self {
            engine: std::sync::RwLock::new(engine),
            ui_address,
        }
    }

    /// The active profile's engine.
    pub fn engine(&self) -> Engine {
        self.engine
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_engine(&self, engine: Engine) {
        *self.engine.write().unwrap_or_else(|e| e.into_inner()) = engine;
    }
}

pub fn run() -> anyhow::Result<()> {
    // Before the first file (the log) is created.
    vmo_engine::keep_files_private();
    let root = Paths::from_env()?;
    let demo_root = root.clone();
    let _log_guard = logging::init(&root.log_dir());
    tracing::info!(data_dir = %root.root_dir().display(), "starting VM Orchestrator");
    let open_files = vmo_engine::raise_open_file_limit();
    tracing::debug!(open_files, "open-file limit");
    // A demo fleet left by an app that crashed: nobody else would stop it.
    let orphans = tauri::async_runtime::block_on(vmo_engine::demo::cleanup_orphans(&root));
    if orphans > 0 {
        tracing::info!(orphans, "stopped the demo servers a previous run left");
    }

    let app = tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::default().build())
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(invoke_handler())
        .setup(move |app| {
            let handle = app.handle().clone();
            let store = Arc::new(preferences::StorePreferences::open(
                &handle,
                &root.settings_file(),
            )?);
            let secrets = Arc::new(KeyringSecrets::new(KEYRING_SERVICE));
            let open = profiles::OpenProfiles::new(handle.clone(), &root, secrets, store.clone());
            handle.manage(open.clone());
            // The profile used last; if it cannot be opened, the default one (said loudly).
            let last = open.last_used();
            let engine = match tauri::async_runtime::block_on(open.open(&last)) {
                Ok(engine) => engine,
                Err(e) if last != vmo_engine::paths::DEFAULT_PROFILE => {
                    tracing::warn!("cannot open profile {last} ({e}); opening the default one");
                    tauri::async_runtime::block_on(open.open(vmo_engine::paths::DEFAULT_PROFILE))
                        .context("cannot open the inventory")?
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context("cannot open the inventory")
                        .into())
                }
            };
            let prefs: Arc<dyn vmo_ui::Preferences> = store;
            let ui = tauri::async_runtime::block_on(vmo_ui::UiServer::start(
                "VM Orchestrator",
                vmo_ui::make_dom(vmo_ui::UiContext {
                    engine: engine.clone(),
                    prefs,
                    desktop: Arc::new(desktop::Dialogs {
                        app: handle.clone(),
                    }),
                    profiles: Arc::new(profiles::Host(open.clone(), engine.clone())),
                }),
            ))?;
            handle.manage(AppState::new(engine.clone(), Some(ui.url())));
            let tray_ok = tray::install(&handle);
            window::create_main(&handle, &ui.origin(), tray_ok)?;
            open.activate(&engine);
            Ok(())
        })
        .build(tauri::generate_context!())
        .context("cannot start the desktop shell")?;
    // A demo fleet this app started stops with it (`vmo demo up`'s keeps running).
    app.run(move |_, event| {
        if let tauri::RunEvent::Exit = event {
            let stopped = tauri::async_runtime::block_on(vmo_engine::demo::stop_if_owned_by(
                &demo_root,
                std::process::id(),
            ));
            if stopped > 0 {
                tracing::info!(stopped, "demo fleet stopped");
            }
        }
    });
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
    app.manage(AppState::new(engine, ui_address));
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
