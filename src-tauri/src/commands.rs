//! The engine as Tauri commands. Errors cross as `{code, message, fields}` (the engine's
//! `EngineError` serialised), so callers match on `code`, never on text.

use crate::AppState;
use std::path::PathBuf;
use tauri::State;
use vmo_engine::{EngineError, ErrorCode, ImportPlan, ImportSummary, Paths, Vm, VmDraft, VmId};

type CommandResult<T> = Result<T, EngineError>;

/// Where the UI is served. Only the bundled bootstrap page can call this: remote pages
/// (the UI itself included) get no IPC.
#[tauri::command]
pub fn ui_address(state: State<'_, AppState>) -> CommandResult<String> {
    state
        .ui_address
        .clone()
        .ok_or_else(|| EngineError::new(ErrorCode::Io, "the UI is not being served"))
}

#[tauri::command]
pub async fn vm_list(state: State<'_, AppState>) -> CommandResult<Vec<Vm>> {
    state.engine.inventory().list().await
}

#[tauri::command]
pub async fn vm_get(state: State<'_, AppState>, id: VmId) -> CommandResult<Vm> {
    state.engine.inventory().get(id).await
}

#[tauri::command]
pub async fn vm_create(state: State<'_, AppState>, draft: VmDraft) -> CommandResult<Vm> {
    state.engine.inventory().create(draft).await
}

#[tauri::command]
pub async fn vm_update(state: State<'_, AppState>, id: VmId, draft: VmDraft) -> CommandResult<Vm> {
    state.engine.inventory().update(id, draft).await
}

#[tauri::command]
pub async fn vm_delete(state: State<'_, AppState>, ids: Vec<VmId>) -> CommandResult<()> {
    state.engine.inventory().delete(&ids).await
}

#[tauri::command]
pub async fn vm_duplicate(state: State<'_, AppState>, id: VmId) -> CommandResult<Vm> {
    state.engine.inventory().duplicate(id).await
}

/// `path`: the ssh config to read; the user's `~/.ssh/config` when absent.
#[tauri::command]
pub async fn vm_import_preview(
    state: State<'_, AppState>,
    path: Option<PathBuf>,
) -> CommandResult<ImportPlan> {
    let path = config_path(path)?;
    state.engine.inventory().import_preview(&path).await
}

/// `only`: aliases to import (as ticked in a preview); every host when absent.
#[tauri::command]
pub async fn vm_import_apply(
    state: State<'_, AppState>,
    path: Option<PathBuf>,
    only: Option<Vec<String>>,
) -> CommandResult<ImportSummary> {
    let path = config_path(path)?;
    state
        .engine
        .inventory()
        .import_apply(&path, only.as_deref())
        .await
}

fn config_path(path: Option<PathBuf>) -> CommandResult<PathBuf> {
    path.or_else(Paths::default_ssh_config)
        .ok_or_else(|| EngineError::new(ErrorCode::Io, "no home directory for ~/.ssh/config"))
}
