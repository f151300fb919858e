//! Live VM status in the UI: the fleet's status as one root signal, badges and figures for
//! the VM list, the header summary, a VM's metrics and charts, and the dashboard.
//!
//! One subscription per window (`provide_status`) follows `engine.status().watch()`,
//! which publishes at most about once a second; views read the one `Arc<FleetStatus>`.
//! The VM list's rows never follow it: each row's status cells keep a memo of their
//! figures as text, so a round re-renders only the cells whose text changed (and the list
//! itself only when sorted by status or a figure), and the fleet map hands a round's new
//! colours to its chunks a slice at a time. With 10,000 VMs all changing every second the
//! event loop stays under 30 ms busy in a release build (the ignored benchmarks
//! `status_of_1000_vms_changing_every_second` in `tests/e2e_status.rs` and
//! `ui_event_loop_at_ten_thousand_vms` in `tests/reliability_scale.rs`).

mod attention;
mod badge;
mod cells;
pub mod chart;
mod dashboard;
mod figures;
mod fleet_map;
mod header;
mod jobs_widgets;
pub mod layout;
mod sort;
mod summary;
mod vm_panel;

pub use badge::StatusBadge;
pub use cells::StatusCells;
pub use dashboard::Dashboard;
pub use figures::Figures;
pub use header::HeaderSummary;
pub use sort::{sort_rows, Sort, SortKey};
pub use vm_panel::VmStatusPanel;

use crate::shell::Screen;
use crate::vm::VmRequest;
use crate::UiContext;
use dioxus::prelude::*;
use std::sync::Arc;
use vmo_engine::status::{FleetStatus, Health};
use vmo_engine::VmId;

/// The fleet's status as last published by the engine.
#[derive(Clone, Copy)]
struct FleetSignal(Signal<Arc<FleetStatus>>);

/// Starts following the engine's status; call once, at the root.
pub fn provide_status() {
    let ctx = use_context::<UiContext>();
    let initial = ctx.engine.status().fleet();
    let mut fleet = use_context_provider(|| FleetSignal(Signal::new(initial))).0;
    use_future(move || {
        let status = ctx.engine.status().clone();
        async move {
            let mut watch = status.watch();
            loop {
                // Only a pointer is swapped: readers diff their own small figures.
                let latest = watch.borrow_and_update().clone();
                if !Arc::ptr_eq(&latest, &fleet.peek()) {
                    fleet.set(latest);
                }
                if watch.changed().await.is_err() {
                    break;
                }
            }
        }
    });
}

/// The fleet's status (subscribes the caller to every published round).
pub fn use_fleet() -> Signal<Arc<FleetStatus>> {
    use_context::<FleetSignal>().0
}

/// The CSS class of a health state (colours live in the stylesheet).
pub fn health_class(health: Health) -> &'static str {
    match health {
        Health::Online => "health-online",
        Health::Degraded => "health-degraded",
        Health::Offline => "health-offline",
        Health::Unknown => "health-unknown",
    }
}

/// Shows a VM's page: the VMs screen with its detail open. For event handlers.
pub fn open_vm(id: VmId) {
    to_vms_screen(VmRequest::View(id));
}

/// Shows the VMs screen with a request for it (from an event handler).
pub fn to_vms_screen(request: VmRequest) {
    crate::vm::request(request);
    let mut screen = consume_context::<Signal<Screen>>();
    screen.set(Screen::Vms);
}

/// A VM with only an id and a name, for the module's unit tests.
#[cfg(test)]
pub(crate) fn test_vm(id: i64, name: &str) -> vmo_engine::Vm {
    vmo_engine::Vm {
        id: VmId(id),
        name: name.into(),
        host: "127.0.0.1".into(),
        port: 22,
        user: String::new(),
        auth: vmo_engine::AuthMethod::Agent,
        key_file: None,
        jump_host: None,
        tags: Vec::new(),
        notes: String::new(),
        created_at: 0,
        updated_at: 0,
    }
}
