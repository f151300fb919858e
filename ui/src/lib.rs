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

/// Which finished jobs raise a desktop notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notifications {
    pub succeeded: bool,
    pub failed: bool,
    /// Succeeded after the previous run of the same job failed (also when `succeeded` is off).
    pub recovered: bool,
}

impl Default for Notifications {
    fn default() -> Self {
        Self {
            succeeded: true,
            failed: true,
            recovered: true,
        }
    }
}

/// Tags whose VMs need a confirmation before a job runs on them, by default.
pub const DEFAULT_GUARDED_TAGS: &[&str] = &["prod"];

/// User preferences, persisted by the host (the desktop shell keeps them in its store file).
pub trait Preferences: Send + Sync + 'static {
    fn theme(&self) -> Theme;
    fn set_theme(&self, theme: Theme) -> Result<(), String>;
    fn notifications(&self) -> Notifications;
    fn set_notifications(&self, notifications: Notifications) -> Result<(), String>;
    /// Output kept per host of a job, in MiB.
    fn output_cap_mib(&self) -> u64;
    fn set_output_cap_mib(&self, mib: u64) -> Result<(), String>;
    /// Running a job on a VM with one of these tags asks first (blast-radius guard).
    fn guarded_tags(&self) -> Vec<String>;
    fn set_guarded_tags(&self, tags: Vec<String>) -> Result<(), String>;
    /// The dashboard's widgets in order (the UI's own encoding); empty: the default.
    fn dashboard_layout(&self) -> Vec<String>;
    fn set_dashboard_layout(&self, widgets: Vec<String>) -> Result<(), String>;
}

/// What the desktop offers besides preferences.
pub trait Desktop: Send + Sync + 'static {
    /// Asks where to save a file (blocking: call it off the async runtime). None: cancelled.
    fn save_file(&self, title: &str, suggested_name: &str) -> Option<std::path::PathBuf>;
    /// Asks which files to open (blocking: call it off the async runtime). Empty: cancelled.
    fn open_files(&self, title: &str) -> Vec<std::path::PathBuf>;
}

/// What the UI needs from its host.
#[derive(Clone)]
pub struct UiContext {
    pub engine: Engine,
    pub prefs: Arc<dyn Preferences>,
    pub desktop: Arc<dyn Desktop>,
}

impl PartialEq for UiContext {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.prefs, &other.prefs)
    }
}

/// A virtual DOM factory for [`UiServer::start`]: one fresh DOM per window connection.
pub fn make_dom(ctx: UiContext) -> MakeDom {
    Arc::new(move || VirtualDom::new_with_props(app::Root, app::RootProps { ctx: ctx.clone() }))
}
