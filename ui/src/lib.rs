//! The Dioxus UI of VM Orchestrator, by feature module (`vm`, `job`, `log`,
//! `command`), plus the `shell` (layout, navigation) and `shared` widgets.
//!
//! The virtual DOM runs in the app process; the window only applies its edits over the
//! locked-down socket in [`transport`]. The UI calls the engine directly and subscribes to
//! its events; it holds no authoritative state.

mod app;
mod command;
mod job;
mod log;
mod shared;
mod shell;
mod status;
pub mod transport;
mod vm;

use dioxus::prelude::VirtualDom;
use std::sync::Arc;
use vmo_engine::Engine;

pub use transport::{MakeDom, TransportError, UiServer};

/// Every stylesheet of the app, inlined into the page (no asset pipeline needed).
pub(crate) const STYLE: &str = include_str!("style.css");

/// The colour scheme a user picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// UI-only preferences, persisted by the host (the desktop shell keeps them in its store
/// file). What the engine applies (job defaults, probes, notifications…) is
/// `vmo_engine::Settings`, read with `Engine::settings` and changed with
/// `Engine::apply_settings`; the host persists it.
pub trait Preferences: Send + Sync + 'static {
    fn theme(&self) -> Theme;
    fn set_theme(&self, theme: Theme) -> Result<(), String>;
    /// The dashboard's widgets by id, in the order shown; a widget absent is hidden. None:
    /// never arranged (the dashboard shows its default).
    fn dashboard_layout(&self) -> Option<Vec<String>>;
    fn set_dashboard_layout(&self, widgets: Vec<String>) -> Result<(), String>;
    /// The first-launch "getting started" panel was dismissed.
    fn getting_started_dismissed(&self) -> bool;
    fn dismiss_getting_started(&self) -> Result<(), String>;
}

/// A boxed future, for the host traits below.
pub type HostFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// The profiles (separate inventories) the host can open. Every opened profile's engine
/// stays alive (its jobs keep running and notifying); the UI shows the active one.
pub trait ProfileHost: Send + Sync + 'static {
    /// Every profile, `default` first.
    fn list(&self) -> Vec<String>;
    /// The active profile's engine.
    fn active(&self) -> Engine;
    /// Creates a profile (validation errors name the field `name`).
    fn create(&self, name: &str) -> Result<(), vmo_engine::EngineError>;
    /// Opens `name` (if not yet open) and makes it the active one.
    fn switch(&self, name: &str) -> HostFuture<Result<Engine, vmo_engine::EngineError>>;
    /// Opens `name` (if not yet open) without making it the active one.
    fn open(&self, name: &str) -> HostFuture<Result<Engine, vmo_engine::EngineError>>;
    /// Queued or running jobs per open profile other than the active one.
    fn running_elsewhere(&self) -> HostFuture<Vec<(String, usize)>>;
}

/// A host with one profile only (tests, or a host without profiles).
pub struct SingleProfile(pub Engine);

impl ProfileHost for SingleProfile {
    fn list(&self) -> Vec<String> {
        vec![self.0.profile().to_owned()]
    }
    fn active(&self) -> Engine {
        self.0.clone()
    }
    fn create(&self, _: &str) -> Result<(), vmo_engine::EngineError> {
        Err(vmo_engine::EngineError::new(
            vmo_engine::ErrorCode::Conflict,
            "this window cannot create profiles",
        ))
    }
    fn switch(&self, name: &str) -> HostFuture<Result<Engine, vmo_engine::EngineError>> {
        self.open(name)
    }
    fn open(&self, name: &str) -> HostFuture<Result<Engine, vmo_engine::EngineError>> {
        let got = (name == self.0.profile())
            .then(|| self.0.clone())
            .ok_or_else(|| vmo_engine::EngineError::not_found(format!("profile {name}")));
        Box::pin(async move { got })
    }
    fn running_elsewhere(&self) -> HostFuture<Vec<(String, usize)>> {
        Box::pin(async { Vec::new() })
    }
}

/// What the desktop offers besides preferences.
pub trait Desktop: Send + Sync + 'static {
    /// Asks where to save a file (blocking: call it off the async runtime). None: cancelled.
    fn save_file(&self, title: &str, suggested_name: &str) -> Option<std::path::PathBuf>;
    /// Asks which files to open (blocking: call it off the async runtime). Empty: cancelled.
    fn open_files(&self, title: &str) -> Vec<std::path::PathBuf>;
}

/// What the UI needs from its host. `engine` is the active profile's: the root component
/// re-mounts everything below it with a fresh context when the profile changes.
#[derive(Clone)]
pub struct UiContext {
    pub engine: Engine,
    pub prefs: Arc<dyn Preferences>,
    pub desktop: Arc<dyn Desktop>,
    pub profiles: Arc<dyn ProfileHost>,
}

impl PartialEq for UiContext {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.prefs, &other.prefs) && self.engine.profile() == other.engine.profile()
    }
}

/// A virtual DOM factory for [`UiServer::start`]: one fresh DOM per window connection.
pub fn make_dom(ctx: UiContext) -> MakeDom {
    Arc::new(move || VirtualDom::new_with_props(app::Root, app::RootProps { ctx: ctx.clone() }))
}
