//! Engine events re-emitted as Tauri events, for any webview listener.

use tauri::{AppHandle, Emitter, Runtime};
use tokio::sync::broadcast::error::RecvError;
use vmo_engine::Engine;

/// Event name carrying a `vmo_engine::InventoryEvent`.
pub const INVENTORY_CHANGED: &str = "inventory-changed";

pub fn forward_inventory<R: Runtime>(app: &AppHandle<R>, engine: &Engine) {
    let mut changes = engine.inventory().subscribe();
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match changes.recv().await {
                Ok(event) => {
                    if let Err(err) = app.emit(INVENTORY_CHANGED, &event) {
                        tracing::warn!("cannot emit {INVENTORY_CHANGED}: {err}");
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::debug!(missed, "inventory events lagged");
                }
                Err(RecvError::Closed) => break,
            }
        }
    });
}
