//! The UI-free core of VM Orchestrator.
//!
//! Every front end (the desktop shell, the Dioxus UI, the headless CLI) talks to [`Engine`]
//! and nothing else. The engine knows nothing about Tauri or Dioxus.

pub mod error;
pub mod filter;
pub mod import;
pub mod inventory;
pub mod paths;
pub mod ssh_config;
pub mod store;
pub mod vm;

pub use error::{EngineError, ErrorCode, FieldError};
pub use filter::VmFilter;
pub use import::{ImportAction, ImportPlan, ImportSummary, PlannedHost};
pub use inventory::{Inventory, InventoryEvent};
pub use paths::Paths;
pub use vm::{AuthMethod, Vm, VmDraft, VmId};

use std::sync::Arc;

/// The one façade every front end calls. Cheap to clone.
#[derive(Clone)]
pub struct Engine {
    paths: Arc<Paths>,
    inventory: Inventory,
}

impl Engine {
    /// Opens (creating if needed) the database in `paths.data_dir` and runs migrations.
    pub async fn open(paths: Paths) -> Result<Self, EngineError> {
        let store = store::Store::open(&paths.database_file()).await?;
        Ok(Self {
            paths: Arc::new(paths),
            inventory: Inventory::new(store),
        })
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }
}
