//! The UI-free core of VM Orchestrator.
//!
//! Every front end (the desktop shell, the Dioxus UI, the headless CLI) talks to [`Engine`]
//! and nothing else. The engine knows nothing about Tauri or Dioxus.

pub mod ansible;
pub mod commands;
pub mod demo;
pub mod error;
pub mod filter;
pub mod import;
pub mod inventory;
pub mod jobs;
pub mod paths;
pub mod settings;
pub mod ssh_config;
pub mod status;
pub mod store;
pub mod targets;
pub mod vm;
mod write_turn;

/// The SSH engine (its own crate, `vmo-ssh`), under the path front ends have always used.
pub use vmo_ssh as ssh;

pub use commands::{CommandEvent, Commands};
pub use error::{EngineError, ErrorCode, FieldError};
pub use filter::VmFilter;
pub use import::{ImportAction, ImportPlan, ImportSource, ImportSummary, PlannedHost};
pub use inventory::{Inventory, InventoryEvent};
pub use jobs::{JobEvent, JobId, Jobs};
pub use paths::{Paths, Profiles};
pub use settings::Settings;
pub use status::{Status, StatusChange};
pub use targets::resolve_target;
pub use vm::{AuthMethod, Vm, VmDraft, VmId};

use std::sync::Arc;

/// Raises this process's open-file limit to the hard limit (as Go programs do at start):
/// one pooled SSH connection is one descriptor, and the usual soft limit of 1,024 would
/// stop a fleet of a thousand VMs at its last few dozen. Returns the limit in force.
pub fn raise_open_file_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!("cannot raise the open-file limit: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
        }
    }
}

/// Makes every file and folder this process creates from now on private to its user
/// (umask 077, as `ssh-keygen` does): the database holds every command's output, the logs
/// name hosts and users, and a data directory that already existed with wider permissions
/// must not expose what is written into it.
pub fn keep_files_private() {
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
}

/// The one façade every front end calls. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    paths: Arc<Paths>,
    inventory: Inventory,
    ssh: ssh::Ssh,
    jobs: Jobs,
    commands: Commands,
    status: Status,
    settings: Arc<tokio::sync::watch::Sender<Settings>>,
}

impl Engine {
    /// Opens (creating if needed) the database in `paths.data_dir` and runs migrations,
    /// with the user's SSH settings (the profile's own known_hosts, if it has one) and no
    /// stored secrets.
    pub async fn open(paths: Paths) -> Result<Self, EngineError> {
        let ssh_settings = paths.ssh_settings(ssh::SshSettings::from_env());
        Self::open_with(paths, &ssh_settings, Arc::new(ssh::NoSecrets)).await
    }

    pub async fn open_with(
        paths: Paths,
        ssh_settings: &ssh::SshSettings,
        secrets: Arc<dyn ssh::Secrets>,
    ) -> Result<Self, EngineError> {
        let database = paths.database_file();
        let store = store::Store::open(&database).await?;
        let ssh = ssh::Ssh::new(ssh_settings, secrets);
        ssh.expire_idle_connections();
        let inventory = Inventory::new(store.clone());
        let commands = Commands::new(store.pool().clone(), inventory.clone(), ssh.clone());
        let jobs = Jobs::open(
            store.pool().clone(),
            inventory.clone(),
            &ssh,
            &paths.locks_dir(),
            commands.history_recorder(),
        )
        .await
        .map_err(|e| e.in_database(&database))?;
        let settings = Arc::new(tokio::sync::watch::Sender::new(Settings::default()));
        let status = Status::open(
            store.pool().clone(),
            inventory.clone(),
            ssh.clone(),
            settings.subscribe(),
        )
        .await
        .map_err(|e| e.in_database(&database))?;
        Ok(Self {
            paths: Arc::new(paths),
            inventory,
            ssh,
            jobs,
            commands,
            status,
            settings,
        })
    }

    pub fn ssh(&self) -> &ssh::Ssh {
        &self.ssh
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// Templates, command history, suggestions and the palette's search.
    pub fn commands(&self) -> &Commands {
        &self.commands
    }

    /// Live VM status: probes, the fleet's status, history.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The settings in force.
    pub fn settings(&self) -> Settings {
        self.settings.borrow().clone()
    }

    /// Hears every settings change (the status monitor re-reads its interval from it).
    pub fn subscribe_settings(&self) -> tokio::sync::watch::Receiver<Settings> {
        self.settings.subscribe()
    }

    /// Checks `settings` (tags normalized first) and puts them in force at once: output
    /// cap and global limit here; job defaults, probes and notifications are read from
    /// [`Engine::settings`] by whoever uses them. Persisting them is the front end's
    /// business. Nothing changes when a field is invalid.
    pub fn apply_settings(&self, mut settings: Settings) -> Result<(), EngineError> {
        settings.normalize();
        settings.validate()?;
        self.jobs.set_global_limit(settings.jobs.global_limit)?;
        self.jobs
            .set_output_cap(settings.jobs.output_cap_mib.saturating_mul(1 << 20));
        self.settings.send_replace(settings);
        Ok(())
    }

    /// This engine's profile (`default` for the root data directory).
    pub fn profile(&self) -> &str {
        self.paths.profile()
    }
}
