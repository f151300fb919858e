//! The Dioxus UI of VM Orchestrator, by feature module (`vm`, later `command`, `job`,
//! `log`), plus the `shell` (layout, navigation) and `shared` widgets.
//!
//! The virtual DOM runs in the app process; the window only applies its edits over the
//! locked-down socket in [`transport`]. The UI calls the engine directly and subscribes to
//! its events; it holds no authoritative state.

mod app;
mod shared;
mod shell;
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

/// User preferences, persisted by the host (the desktop shell keeps them in its store file).
pub trait Preferences: Send + Sync + 'static {
    fn theme(&self) -> Theme;
    fn set_theme(&self, theme: Theme) -> Result<(), String>;
}

/// What the UI needs from its host.
#[derive(Clone)]
pub struct UiContext {
    pub engine: Engine,
    pub prefs: Arc<dyn Preferences>,
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
