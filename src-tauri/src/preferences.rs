//! User preferences kept with tauri-plugin-store in `settings.json` in the data directory.

use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;
use tauri::{AppHandle, Wry};
use tauri_plugin_store::{Store, StoreExt};
use vmo_ui::{Notifications, Preferences, Theme, DEFAULT_GUARDED_TAGS};

const THEME: &str = "theme";
const NOTIFY_SUCCEEDED: &str = "notify_succeeded";
const NOTIFY_FAILED: &str = "notify_failed";
const NOTIFY_RECOVERED: &str = "notify_recovered";
const OUTPUT_CAP_MIB: &str = "output_cap_mib";
const GUARDED_TAGS: &str = "guarded_tags";
const DASHBOARD_LAYOUT: &str = "dashboard_layout";

/// Output kept per job host unless the user chose otherwise.
pub const DEFAULT_OUTPUT_CAP_MIB: u64 = vmo_engine::jobs::DEFAULT_OUTPUT_CAP >> 20;

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

    fn set(&self, values: &[(&str, serde_json::Value)]) -> Result<(), String> {
        for (key, value) in values {
            self.store.set(*key, value.clone());
        }
        self.store.save().map_err(|e| e.to_string())
    }
}

impl Preferences for StorePreferences {
    fn theme(&self) -> Theme {
        self.get::<String>(THEME)
            .and_then(|t| Theme::parse(&t))
            .unwrap_or_default()
    }

    fn set_theme(&self, theme: Theme) -> Result<(), String> {
        self.set(&[(THEME, theme.as_str().into())])
    }

    fn notifications(&self) -> Notifications {
        let d = Notifications::default();
        Notifications {
            succeeded: self.get(NOTIFY_SUCCEEDED).unwrap_or(d.succeeded),
            failed: self.get(NOTIFY_FAILED).unwrap_or(d.failed),
            recovered: self.get(NOTIFY_RECOVERED).unwrap_or(d.recovered),
        }
    }

    fn set_notifications(&self, n: Notifications) -> Result<(), String> {
        self.set(&[
            (NOTIFY_SUCCEEDED, n.succeeded.into()),
            (NOTIFY_FAILED, n.failed.into()),
            (NOTIFY_RECOVERED, n.recovered.into()),
        ])
    }

    fn output_cap_mib(&self) -> u64 {
        self.get::<u64>(OUTPUT_CAP_MIB)
            .filter(|mib| *mib > 0)
            .unwrap_or(DEFAULT_OUTPUT_CAP_MIB)
    }

    fn set_output_cap_mib(&self, mib: u64) -> Result<(), String> {
        if mib == 0 {
            return Err("the output cap must be at least 1 MiB".into());
        }
        self.set(&[(OUTPUT_CAP_MIB, mib.into())])
    }

    fn guarded_tags(&self) -> Vec<String> {
        self.get::<Vec<String>>(GUARDED_TAGS)
            .unwrap_or_else(|| DEFAULT_GUARDED_TAGS.iter().map(|t| t.to_string()).collect())
    }

    fn set_guarded_tags(&self, tags: Vec<String>) -> Result<(), String> {
        let tags: Vec<String> = tags
            .into_iter()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        self.set(&[(GUARDED_TAGS, tags.into())])
    }

    fn dashboard_layout(&self) -> Vec<String> {
        self.get::<Vec<String>>(DASHBOARD_LAYOUT)
            .unwrap_or_default()
    }

    fn set_dashboard_layout(&self, widgets: Vec<String>) -> Result<(), String> {
        self.set(&[(DASHBOARD_LAYOUT, widgets.into())])
    }
}
