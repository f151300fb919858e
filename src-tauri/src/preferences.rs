//! User preferences kept with tauri-plugin-store in `settings.json` in the data directory.

use std::path::Path;
use std::sync::Arc;
use tauri::{AppHandle, Wry};
use tauri_plugin_store::{Store, StoreExt};
use vmo_ui::{Preferences, Theme};

const THEME: &str = "theme";

pub struct StorePreferences {
    store: Arc<Store<Wry>>,
}

impl StorePreferences {
    pub fn open(app: &AppHandle, file: &Path) -> Result<Self, tauri_plugin_store::Error> {
        Ok(Self {
            store: app.store(file)?,
        })
    }
}

impl Preferences for StorePreferences {
    fn theme(&self) -> Theme {
        self.store
            .get(THEME)
            .and_then(|v| v.as_str().and_then(Theme::parse))
            .unwrap_or_default()
    }

    fn set_theme(&self, theme: Theme) -> Result<(), String> {
        self.store.set(THEME, theme.as_str());
        self.store.save().map_err(|e| e.to_string())
    }
}
