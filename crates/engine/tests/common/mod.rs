//! Shared set-up for the engine's integration tests: a throw-away data directory with a real
//! SQLite file, draft builders, config-file writers and event helpers.

#![allow(dead_code)] // each test binary uses a different subset

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tokio::sync::broadcast::{self, error::TryRecvError};
use vmo_engine::{Engine, EngineError, ErrorCode, InventoryEvent, Paths, VmDraft};

/// A temporary directory holding the engine's data dir (`<tmp>/data`) and room for ssh
/// config files (`<tmp>/ssh`). The directory lives as long as this value.
pub struct TestEnv {
    pub tmp: TempDir,
    pub engine: Engine,
}

impl TestEnv {
    pub async fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let engine = open_engine(&tmp.path().join("data")).await;
        Self { tmp, engine }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    pub fn ssh_dir(&self) -> PathBuf {
        self.tmp.path().join("ssh")
    }

    /// Writes `contents` to `<tmp>/ssh/<relative>` (creating folders) and returns the path.
    pub fn write_ssh(&self, relative: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        write_file(&self.ssh_dir().join(relative), contents)
    }

    /// Opens a second engine on the same data directory (as the CLI would next to the app).
    pub async fn reopen(&self) -> Engine {
        open_engine(&self.data_dir()).await
    }
}

pub async fn open_engine(data_dir: &Path) -> Engine {
    Engine::open(Paths::new(data_dir))
        .await
        .expect("engine opens")
}

pub fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> PathBuf {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
    path.to_path_buf()
}

/// A valid draft for `name` at `host`, everything else default (agent auth, port 22).
pub fn draft(name: &str, host: &str) -> VmDraft {
    VmDraft {
        name: name.into(),
        host: host.into(),
        ..VmDraft::default()
    }
}

pub fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

#[track_caller]
pub fn assert_code<T: std::fmt::Debug>(
    result: Result<T, EngineError>,
    code: ErrorCode,
) -> EngineError {
    match result {
        Ok(value) => panic!("expected a {code:?} error, got Ok({value:?})"),
        Err(err) => {
            assert_eq!(err.code, code, "wrong error code: {err:?}");
            err
        }
    }
}

/// The event already sent, if any (events are sent before the call returns).
pub fn next_event(rx: &mut broadcast::Receiver<InventoryEvent>) -> InventoryEvent {
    match rx.try_recv() {
        Ok(event) => event,
        Err(e) => panic!("expected an inventory event, got {e:?}"),
    }
}

#[track_caller]
pub fn assert_no_event(rx: &mut broadcast::Receiver<InventoryEvent>) {
    match rx.try_recv() {
        Err(TryRecvError::Empty) => {}
        other => panic!("expected no inventory event, got {other:?}"),
    }
}

/// The names of every listed VM, in list order.
pub async fn names(engine: &Engine) -> Vec<String> {
    engine
        .inventory()
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|vm| vm.name)
        .collect()
}

/// A plain read-write connection to the engine's database file, outside the engine.
pub async fn connect_raw(engine: &Engine) -> sqlx::SqliteConnection {
    SqliteConnectOptions::new()
        .filename(engine.paths().database_file())
        .connect()
        .await
        .unwrap()
}

/// An engine whose inventory holds a real sshd fleet (imported from its ssh config), with
/// host keys checked against the fleet's known_hosts and no secrets.
pub struct FleetSetup {
    pub engine: Engine,
    /// In fleet order: host0, host1, ...
    pub vms: Vec<vmo_engine::VmId>,
    pub dir: TempDir,
}

pub async fn fleet_setup(fleet: &vmo_testkit::Fleet) -> FleetSetup {
    fleet_setup_with_secrets(fleet, std::sync::Arc::new(vmo_engine::ssh::NoSecrets)).await
}

/// [`fleet_setup`] with the engine taking passwords and passphrases from `secrets`.
pub async fn fleet_setup_with_secrets(
    fleet: &vmo_testkit::Fleet,
    secrets: std::sync::Arc<dyn vmo_engine::ssh::Secrets>,
) -> FleetSetup {
    let dir = tempfile::tempdir().unwrap();
    let settings = vmo_engine::ssh::SshSettings {
        known_hosts: fleet.known_hosts().to_path_buf(),
        accept_new: false,
        connect_timeout: std::time::Duration::from_secs(5),
        keepalive: std::time::Duration::from_secs(30),
        idle_expiry: std::time::Duration::from_secs(300),
        agent_socket: None,
    };
    let engine = Engine::open_with(Paths::new(dir.path()), &settings, secrets)
        .await
        .unwrap();
    engine
        .inventory()
        .import_apply(fleet.ssh_config(), None)
        .await
        .unwrap();
    let all = engine.inventory().list().await.unwrap();
    let vms = (0..fleet.hosts().len())
        .map(|i| {
            all.iter()
                .find(|vm| vm.name == format!("host{i}"))
                .unwrap()
                .id
        })
        .collect();
    FleetSetup { engine, vms, dir }
}
