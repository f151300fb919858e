//! The open profiles: one `Engine` per profile opened since launch, all kept alive so a
//! background profile's jobs keep running, notifying and counting in the tray. One is
//! active: the window shows it, Tauri commands act on it, the title and tray name it.
//! Settings are app-wide: a change applied to any engine is persisted and applied to all.

use crate::preferences::StorePreferences;
use crate::AppState;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tauri::{AppHandle, Manager, Wry};
use vmo_engine::ssh::{Secrets, SshSettings};
use vmo_engine::{Engine, EngineError, Paths, Profiles, Settings};
use vmo_ui::{HostFuture, ProfileHost};

pub struct OpenProfiles {
    app: AppHandle<Wry>,
    profiles: Profiles,
    secrets: Arc<dyn Secrets>,
    prefs: Arc<StorePreferences>,
    engines: Mutex<BTreeMap<String, Engine>>,
    /// Serializes opening, so one profile never gets two engines.
    opening: tokio::sync::Mutex<()>,
    /// The settings last persisted (and in force in every engine).
    settings: Mutex<Settings>,
}

impl OpenProfiles {
    pub fn new(
        app: AppHandle<Wry>,
        root: &Paths,
        secrets: Arc<dyn Secrets>,
        prefs: Arc<StorePreferences>,
    ) -> Arc<Self> {
        let settings = prefs.load_settings();
        Arc::new(Self {
            app,
            profiles: Profiles::new(root),
            secrets,
            prefs,
            engines: Mutex::new(BTreeMap::new()),
            opening: tokio::sync::Mutex::new(()),
            settings: Mutex::new(settings),
        })
    }

    /// Every open engine (the tray counts their jobs).
    pub fn engines(&self) -> Vec<Engine> {
        lock(&self.engines).values().cloned().collect()
    }

    pub fn last_used(&self) -> String {
        self.profiles.last_used()
    }

    /// The engine of `name`, opened (with its hooks) if it is not yet.
    pub async fn open(self: &Arc<Self>, name: &str) -> Result<Engine, EngineError> {
        let _one_at_a_time = self.opening.lock().await;
        if let Some(engine) = lock(&self.engines).get(name) {
            return Ok(engine.clone());
        }
        let paths = self.profiles.open(name)?;
        let ssh = paths.ssh_settings(SshSettings::from_env());
        let engine = Engine::open_with(paths, &ssh, self.secrets.clone()).await?;
        engine.apply_settings(lock(&self.settings).clone())?;
        crate::events::forward_inventory(&self.app, &engine);
        crate::events::forward_jobs(&self.app, &engine);
        crate::job_watch::watch(&self.app, engine.clone());
        crate::status_watch::watch(&self.app, engine.clone());
        // Live status: probes start at once and go on with the window hidden, for every
        // open profile (`VMO_SIMULATE_STATUS=1`: simulated changes, for the UI benchmark).
        if std::env::var_os(vmo_engine::status::SIMULATE_ENV).is_some() {
            engine.status().start_simulation();
        } else {
            engine.status().start_monitor();
        }
        // Jobs `vmo` runs meanwhile show live, tick the tray and notify like ours.
        if let Err(e) = engine.jobs().follow_other_processes().await {
            tracing::warn!("other programs' jobs in {name} will show only after a reload: {e}");
        }
        self.share_settings(&engine);
        lock(&self.engines).insert(name.to_owned(), engine.clone());
        Ok(engine)
    }

    /// Makes `engine` the active one: commands, window title, tray, last used.
    pub fn activate(&self, engine: &Engine) {
        let name = engine.profile().to_owned();
        if let Some(state) = self.app.try_state::<AppState>() {
            state.set_engine(engine.clone());
        }
        if let Err(e) = self.profiles.set_last_used(&name) {
            tracing::warn!("cannot remember the profile: {e}");
        }
        crate::window::show_profile(&self.app, &name);
        if let Some(tray) = self.app.try_state::<crate::tray::TrayJobs<Wry>>() {
            tray.show_profile(&name);
        }
        crate::status_watch::show_in_tray(&self.app, engine.clone());
        tracing::info!(profile = %name, "profile active");
    }

    /// Settings applied to `engine` (by the settings screen) are persisted and put in
    /// force in every other open engine.
    fn share_settings(self: &Arc<Self>, engine: &Engine) {
        let mut changes = engine.subscribe_settings();
        let this = Arc::downgrade(self);
        tauri::async_runtime::spawn(async move {
            while changes.changed().await.is_ok() {
                let Some(this) = this.upgrade() else { break };
                let next = changes.borrow_and_update().clone();
                {
                    let mut current = lock(&this.settings);
                    if *current == next {
                        continue;
                    }
                    *current = next.clone();
                }
                if let Err(e) = this.prefs.save_settings(&next) {
                    tracing::warn!("cannot save the settings: {e}");
                }
                for other in this.engines() {
                    if other.settings() != next {
                        if let Err(e) = other.apply_settings(next.clone()) {
                            tracing::warn!("cannot apply settings to {}: {e}", other.profile());
                        }
                    }
                }
            }
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the UI sees: the registry, and the engine opened at start (the active one until
/// the app state exists).
pub struct Host(pub Arc<OpenProfiles>, pub Engine);

impl ProfileHost for Host {
    fn list(&self) -> Vec<String> {
        self.0.profiles.list()
    }

    fn active(&self) -> Engine {
        match self.0.app.try_state::<AppState>() {
            Some(state) => state.engine(),
            None => self.1.clone(),
        }
    }

    fn create(&self, name: &str) -> Result<(), EngineError> {
        self.0.profiles.create(name).map(|_| ())
    }

    fn switch(&self, name: &str) -> HostFuture<Result<Engine, EngineError>> {
        let open = self.0.clone();
        let name = name.to_owned();
        Box::pin(async move {
            let engine = open.open(&name).await?;
            open.activate(&engine);
            Ok(engine)
        })
    }

    fn open(&self, name: &str) -> HostFuture<Result<Engine, EngineError>> {
        let open = self.0.clone();
        let name = name.to_owned();
        Box::pin(async move { open.open(&name).await })
    }

    fn running_elsewhere(&self) -> HostFuture<Vec<(String, usize)>> {
        let active = self.active().profile().to_owned();
        let engines = self.0.engines();
        Box::pin(async move {
            let mut out = Vec::new();
            for engine in engines.iter().filter(|e| e.profile() != active) {
                if let Ok(n @ 1..) = crate::job_watch::live_jobs(engine).await {
                    out.push((engine.profile().to_owned(), n));
                }
            }
            out
        })
    }
}
