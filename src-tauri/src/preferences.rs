//! What the app keeps with tauri-plugin-store in `settings.json` at the root data
//! directory: the UI's own preferences (theme, dashboard layout) under flat keys, and the
//! engine's `Settings` as one object under `"settings"` (which `vmo` reads from the same
//! file). Settings are app-wide: every profile shares them.

use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;
use tauri::{AppHandle, Wry};
use tauri_plugin_store::{Store, StoreExt};
use vmo_engine::settings::STORE_KEY;
use vmo_engine::Settings;
use vmo_ui::{Preferences, Theme};

const THEME: &str = "theme";
const DASHBOARD_LAYOUT: &str = "dashboard_layout";
const GETTING_STARTED_DISMISSED: &str = "getting_started_dismissed";
/// Keys of the store from before `"settings"`, removed once carried over.
const OLD_KEYS: &[&str] = &[
    "output_cap_mib",
    "guarded_tags",
    "notify_succeeded",
    "notify_failed",
    "notify_recovered",
];

pub struct StorePreferences {
    store: Arc<Store<Wry>>,
}

impl StorePreferences {
    pub fn open(app: &AppHandle, file: &Path) -> Result<Self, tauri_plugin_store::Error> {
        Ok(Self {
            store: app.store(file)?,
        })
    }

    /// A stored value, or None when absent or of the wrong shape (a hand-edited file).
    fn get<T: DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.store
            .get(key)
            .and_then(|v| serde_json::from_value(v).ok())
    }

    fn set(&self, key: &str, value: serde_json::Value) -> Result<(), String> {
        self.store.set(key, value);
        self.store.save().map_err(|e| e.to_string())
    }

    /// The engine settings kept here (bad values replaced by defaults, each logged); the
    /// old flat keys are carried over once and removed.
    pub fn load_settings(&self) -> Settings {
        let contents = serde_json::Value::Object(self.store.entries().into_iter().collect());
        let (settings, warnings) = Settings::from_store(&contents);
        for w in warnings {
            tracing::warn!("settings: {w}");
        }
        if !self.store.has(STORE_KEY) {
            for key in OLD_KEYS {
                self.store.delete(key);
            }
            if let Err(e) = self.save_settings(&settings) {
                tracing::warn!("cannot save the settings: {e}");
            }
        }
        settings
    }

    pub fn save_settings(&self, settings: &Settings) -> Result<(), String> {
        let value = serde_json::to_value(settings).map_err(|e| e.to_string())?;
        self.set(STORE_KEY, value)
    }
}

impl Preferences for StorePreferences {
    fn theme(&self) -> Theme {
        self.get::<String>(THEME)
            .and_then(|t| Theme::parse(&t))
            .unwrap_or_default()
    }

    fn set_theme(&self, theme: Theme) -> Result<(), String> {
        self.set(THEME, theme.as_str().into())
    }

    fn dashboard_layout(&self) -> Option<Vec<String>> {
        self.get(DASHBOARD_LAYOUT)
    }

    fn set_dashboard_layout(&self, widgets: Vec<String>) -> Result<(), String> {
        self.set(DASHBOARD_LAYOUT, widgets.into())
    }

    fn getting_started_dismissed(&self) -> bool {
        self.get(GETTING_STARTED_DISMISSED).unwrap_or(false)
    }

    fn dismiss_getting_started(&self) -> Result<(), String> {
        self.set(GETTING_STARTED_DISMISSED, true.into())
    }
}
