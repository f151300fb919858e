//! What the reliability suite's tests share: the app's binaries, a mock Tauri app that
//! records every event, and byte searches over files.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::Listener;
use vmo_engine::ssh::SshSettings;
use vmo_engine::Engine;

pub const APP: &str = env!("CARGO_BIN_EXE_vm-orchestrator");

/// `vmo`, built beside the app by `cargo test --workspace` (or `cargo build -p vmo-cli`).
pub fn vmo() -> PathBuf {
    Path::new(APP).with_file_name("vmo")
}

pub fn ssh_settings(known_hosts: &Path) -> SshSettings {
    SshSettings {
        known_hosts: known_hosts.to_path_buf(),
        ..SshSettings::from_env()
    }
}

/// Every regular file under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                folders.push(path);
            } else if meta.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

pub fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

pub fn assert_no_secret(what: &str, bytes: &[u8], secrets: &[&str]) {
    for secret in secrets {
        assert!(!holds(bytes, secret), "a secret leaked into {what}");
    }
}

/// A mock Tauri app around `engine`, recording the payload of every event it emits.
pub struct App {
    _app: tauri::App<tauri::test::MockRuntime>,
    pub window: tauri::WebviewWindow<tauri::test::MockRuntime>,
    pub events: mpsc::Receiver<(String, String)>,
    pub seen: Vec<(String, String)>,
}

impl App {
    pub fn new(engine: Engine) -> App {
        let app = mock_builder()
            .invoke_handler(vm_orchestrator::invoke_handler())
            .build(mock_context(noop_assets()))
            .unwrap();
        vm_orchestrator::attach_engine(app.handle(), engine, None);
        let (tx, events) = mpsc::channel();
        for name in [
            vm_orchestrator::events::INVENTORY_CHANGED,
            vm_orchestrator::events::JOB_CHANGED,
            vm_orchestrator::events::JOB_OUTPUT,
        ] {
            let tx = tx.clone();
            app.listen_any(name, move |event| {
                let _ = tx.send((name.to_string(), event.payload().to_string()));
            });
        }
        let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap();
        App {
            _app: app,
            window,
            events,
            seen: Vec::new(),
        }
    }

    pub fn call(&self, cmd: &str, args: Value) -> Value {
        get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
        .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    /// Records events until one named `name` satisfies `done`.
    pub fn wait_event(&mut self, name: &str, done: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let (event, payload) = self
                .events
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no {name} event in 30 s"));
            let hit = event == name && done(&serde_json::from_str(&payload).unwrap());
            self.seen.push((event, payload));
            if hit {
                return;
            }
        }
    }
}
