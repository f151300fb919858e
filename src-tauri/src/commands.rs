//! The engine as Tauri commands. Errors cross as `{code, message, fields}` (the engine's
//! `EngineError` serialised), so callers match on `code`, never on text.

use crate::AppState;
use std::path::PathBuf;
use tauri::State;
use vmo_engine::jobs::{
    JobDetail, JobId, JobOptions, JobQuery, JobSpec, JobState, JobSummary, Origin,
};
use vmo_engine::resolve_target;
use vmo_engine::ssh::{ChangedKey, ConnectionTest, KeyStatus, PresentedKey};
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
    state.engine().inventory().list().await
}

#[tauri::command]
pub async fn vm_get(state: State<'_, AppState>, id: VmId) -> CommandResult<Vm> {
    state.engine().inventory().get(id).await
}

#[tauri::command]
pub async fn vm_create(state: State<'_, AppState>, draft: VmDraft) -> CommandResult<Vm> {
    state.engine().inventory().create(draft).await
}

#[tauri::command]
pub async fn vm_update(state: State<'_, AppState>, id: VmId, draft: VmDraft) -> CommandResult<Vm> {
    state.engine().inventory().update(id, draft).await
}

#[tauri::command]
pub async fn vm_delete(state: State<'_, AppState>, ids: Vec<VmId>) -> CommandResult<()> {
    state.engine().inventory().delete(&ids).await
}

#[tauri::command]
pub async fn vm_duplicate(state: State<'_, AppState>, id: VmId) -> CommandResult<Vm> {
    state.engine().inventory().duplicate(id).await
}

/// `path`: the ssh config to read; the user's `~/.ssh/config` when absent.
#[tauri::command]
pub async fn vm_import_preview(
    state: State<'_, AppState>,
    path: Option<PathBuf>,
) -> CommandResult<ImportPlan> {
    let path = config_path(path)?;
    state.engine().inventory().import_preview(&path).await
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
        .engine()
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
    let inventory = state.engine().inventory().list().await?;
    let mut chosen = Vec::new();
    for id in &ids {
        let vm = inventory
            .iter()
            .find(|vm| vm.id == *id)
            .ok_or_else(|| EngineError::not_found(format!("VM #{id}")))?;
        chosen.push(vm.clone());
    }
    let tests = chosen.iter().map(|vm| {
        let ssh = state.engine().ssh().clone();
        let target = resolve_target(vm, &inventory);
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
        .engine()
        .ssh()
        .host_keys()
        .trust(&key, always)
        .map_err(Into::into)
}

/// One VM's host key, as a scan found it.
#[derive(Debug, serde::Serialize)]
pub struct VmKeyScan {
    pub id: VmId,
    pub name: String,
    pub status: KeyStatus,
}

/// Fetches the host keys of these VMs (no login) and judges each against known_hosts:
/// `known`, `unknown` (to review), `changed` (with the known_hosts line it conflicts with),
/// or `error` (unreachable, ...). Accepts nothing.
#[tauri::command]
pub async fn host_keys_scan(
    state: State<'_, AppState>,
    ids: Vec<VmId>,
) -> CommandResult<Vec<VmKeyScan>> {
    let inventory = state.engine().inventory().list().await?;
    let mut chosen = Vec::new();
    let mut targets = Vec::new();
    let mut unresolved = Vec::new();
    for id in &ids {
        let vm = inventory
            .iter()
            .find(|vm| vm.id == *id)
            .ok_or_else(|| EngineError::not_found(format!("VM #{id}")))?;
        match resolve_target(vm, &inventory) {
            Ok(target) => {
                chosen.push(vm);
                targets.push(target);
            }
            Err(error) => unresolved.push(VmKeyScan {
                id: vm.id,
                name: vm.name.clone(),
                status: KeyStatus::Error(error),
            }),
        }
    }
    let mut scans: Vec<VmKeyScan> = state
        .engine()
        .ssh()
        .scan_host_keys(targets)
        .await
        .into_iter()
        .map(|scan| VmKeyScan {
            id: chosen[scan.index].id,
            name: scan.name,
            status: scan.status,
        })
        .chain(unresolved)
        .collect();
    // In the order asked.
    scans.sort_by_key(|s| ids.iter().position(|id| *id == s.id));
    Ok(scans)
}

/// Trusts keys the user checked, in one go: `always` writes them to known_hosts. Refuses
/// the whole batch if one of them is a changed key. Returns how many were newly trusted.
#[tauri::command]
pub fn host_keys_trust(
    state: State<'_, AppState>,
    keys: Vec<PresentedKey>,
    always: bool,
) -> CommandResult<usize> {
    state
        .engine()
        .ssh()
        .host_keys()
        .trust_all(&keys, always)
        .map_err(Into::into)
}

/// Replaces the changed host key of one VM, as a scan reported it: only if the server still
/// presents that key and known_hosts still holds the lines shown.
#[tauri::command]
pub async fn host_key_replace(
    state: State<'_, AppState>,
    id: VmId,
    change: ChangedKey,
) -> CommandResult<()> {
    let inventory = state.engine().inventory().list().await?;
    let vm = inventory
        .iter()
        .find(|vm| vm.id == id)
        .ok_or_else(|| EngineError::not_found(format!("VM #{id}")))?;
    let target = resolve_target(vm, &inventory)?;
    state
        .engine()
        .ssh()
        .replace_host_key(&target, &change)
        .await
        .map_err(Into::into)
}

/// Jobs, newest first. `states`: e.g. `["running", "failed"]`; `vm`: jobs that ran on it;
/// `text`: in the command, targets or host names.
#[tauri::command]
pub async fn job_list(
    state: State<'_, AppState>,
    states: Option<Vec<JobState>>,
    vm: Option<VmId>,
    text: Option<String>,
    limit: Option<u32>,
) -> CommandResult<Vec<JobSummary>> {
    let query = JobQuery {
        states: states.unwrap_or_default(),
        vm,
        text,
        limit,
    };
    state.engine().jobs().list(&query).await
}

#[tauri::command]
pub async fn job_get(state: State<'_, AppState>, id: JobId) -> CommandResult<JobDetail> {
    state.engine().jobs().detail(id).await
}

/// Queues `command` on the VMs `targets`; it starts as soon as its hosts' turns come.
#[tauri::command]
pub async fn job_submit(
    state: State<'_, AppState>,
    command: String,
    targets: Vec<VmId>,
    target_label: Option<String>,
    options: Option<JobOptions>,
) -> CommandResult<JobSummary> {
    let target_label = match target_label {
        Some(label) => label,
        None => {
            let inventory = state.engine().inventory().list().await?;
            let names: Vec<&str> = targets
                .iter()
                .filter_map(|id| inventory.iter().find(|vm| vm.id == *id))
                .map(|vm| vm.name.as_str())
                .collect();
            vmo_engine::jobs::label_for_names(&names)
        }
    };
    let spec = JobSpec {
        command,
        targets,
        target_label,
        options: options.unwrap_or_default(),
        origin: Origin::App,
        retry_of: None,
        template: None,
    };
    state.engine().jobs().submit(spec).await
}

/// Cancels a job, or with `host` (its index in the job) only that host.
#[tauri::command]
pub async fn job_cancel(state: State<'_, AppState>, id: JobId) -> CommandResult<()> {
    state.engine().jobs().cancel(id).await
}

#[tauri::command]
pub async fn job_cancel_host(
    state: State<'_, AppState>,
    id: JobId,
    host: u32,
) -> CommandResult<()> {
    state.engine().jobs().cancel_host(id, host).await
}

/// Runs a finished job again as a new job: every host, or with `failed_only` those that
/// did not succeed.
#[tauri::command]
pub async fn job_retry(
    state: State<'_, AppState>,
    id: JobId,
    failed_only: bool,
) -> CommandResult<JobSummary> {
    let spec = state
        .engine()
        .jobs()
        .rerun_spec(id, failed_only, Origin::App)
        .await?;
    state.engine().jobs().submit(spec).await
}
