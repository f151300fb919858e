//! The engine as Tauri commands. Errors cross as `{code, message, fields}` (the engine's
//! `EngineError` serialised), so callers match on `code`, never on text.

use crate::AppState;
use std::path::PathBuf;
use tauri::State;
use vmo_engine::ssh::{ConnectionTest, PresentedKey, Target};
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

/// Tests the connection of each VM (concurrently): connect, verify the host key, log in,
/// run `true`. Each result says ok with timings, or the precise reason it failed.
#[tauri::command]
pub async fn vm_test(
    state: State<'_, AppState>,
    ids: Vec<VmId>,
) -> CommandResult<Vec<ConnectionTest>> {
    let inventory = state.engine.inventory().list().await?;
    let mut chosen = Vec::new();
    for id in &ids {
        let vm = inventory
            .iter()
            .find(|vm| vm.id == *id)
            .ok_or_else(|| EngineError::not_found(format!("VM #{id}")))?;
        chosen.push(vm.clone());
    }
    let tests = chosen.iter().map(|vm| {
        let ssh = state.engine.ssh().clone();
        let target = Target::resolve(vm, &inventory);
        let name = vm.name.clone();
        async move {
            match target {
                Ok(target) => ssh.test(&target).await,
                Err(error) => ConnectionTest::failed(name, error),
            }
        }
    });
    Ok(futures_util::future::join_all(tests).await)
}

/// Trusts a host key the user checked: `always` writes it to known_hosts, otherwise it
/// is trusted until the app quits.
#[tauri::command]
pub fn host_key_trust(
    state: State<'_, AppState>,
    key: PresentedKey,
    always: bool,
) -> CommandResult<()> {
    state
        .engine
        .ssh()
        .host_keys()
        .trust(&key, always)
        .map_err(Into::into)
}
