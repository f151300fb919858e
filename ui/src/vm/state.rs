//! The live view of the inventory: loaded once per window, reloaded on every engine event.

use crate::UiContext;
use dioxus::prelude::*;
use tokio::sync::broadcast::error::RecvError;
use vmo_engine::Vm;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct InventoryView {
    pub vms: Vec<Vm>,
    pub loaded: bool,
    pub error: Option<String>,
}

/// Starts the subscription; call once, at the root.
pub fn provide_inventory() -> Signal<InventoryView> {
    let ctx = use_context::<UiContext>();
    let mut view = use_context_provider(|| Signal::new(InventoryView::default()));
    use_future(move || {
        let inventory = ctx.engine.inventory().clone();
        async move {
            // Subscribe before the first load, so no change slips in between.
            let mut changes = inventory.subscribe();
            loop {
                match inventory.list().await {
                    Ok(vms) => view.set(InventoryView {
                        vms,
                        loaded: true,
                        error: None,
                    }),
                    Err(err) => view.with_mut(|v| {
                        v.loaded = true;
                        v.error = Some(err.message);
                    }),
                }
                match changes.recv().await {
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
            }
        }
    });
    view
}

pub fn use_inventory() -> Signal<InventoryView> {
    use_context::<Signal<InventoryView>>()
}
