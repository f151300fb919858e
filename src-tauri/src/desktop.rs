//! Native dialogs the UI asks for (the UI runs in this process, not in the webview).

use std::path::PathBuf;
use tauri::{AppHandle, Runtime};
use tauri_plugin_dialog::DialogExt;

/// Environment variable that answers the save dialog without showing it: end-to-end tests
/// cannot drive a native GTK dialog through WebDriver.
pub const SAVE_AS_ENV: &str = "VMO_TEST_SAVE_AS";

/// Environment variable that answers the open dialog without showing it (one file), for the
/// same reason.
pub const OPEN_ENV: &str = "VMO_TEST_OPEN";

pub struct Dialogs<R: Runtime> {
    pub app: AppHandle<R>,
}

impl<R: Runtime> vmo_ui::Desktop for Dialogs<R> {
    fn save_file(&self, title: &str, suggested_name: &str) -> Option<PathBuf> {
        if let Some(path) = std::env::var_os(SAVE_AS_ENV).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(path));
        }
        let mut dialog = self
            .app
            .dialog()
            .file()
            .set_title(title)
            .set_file_name(suggested_name);
        if let Some(home) = dirs_home() {
            dialog = dialog.set_directory(home);
        }
        dialog.blocking_save_file()?.into_path().ok()
    }

    fn open_files(&self, title: &str) -> Vec<PathBuf> {
        if let Some(path) = std::env::var_os(OPEN_ENV).filter(|p| !p.is_empty()) {
            return vec![PathBuf::from(path)];
        }
        let mut dialog = self.app.dialog().file().set_title(title);
        if let Some(home) = dirs_home() {
            dialog = dialog.set_directory(home);
        }
        dialog
            .blocking_pick_files()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| f.into_path().ok())
            .collect()
    }
}

fn dirs_home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}
