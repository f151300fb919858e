//! The targets' host keys, checked before a template runs (as the run dialog does): a host
//! whose key is not trusted is named, reviewed on the VMs screen, or left out.

use crate::shell::Screen;
use crate::vm::{blocked_names, use_key_review};
use dioxus::prelude::*;
use vmo_engine::ssh::KeyStatus;
use vmo_engine::{Vm, VmId};

/// What the check found, and the two ways on.
#[component]
pub fn KeyPanel(
    blocked: Vec<(Vm, KeyStatus)>,
    on_close: EventHandler<()>,
    run_without: EventHandler<Vec<VmId>>,
) -> Element {
    let review = use_key_review();
    let mut screen = use_context::<Signal<Screen>>();
    let (unknown, changed) = (
        blocked_names(&blocked, false),
        blocked_names(&blocked, true),
    );
    let without: Vec<VmId> = blocked.iter().map(|(vm, _)| vm.id).collect();
    rsx! {
        div { class: "alert warn", id: "builder-host-keys",
            if !unknown.is_empty() {
                p { strong { "Host keys not yet trusted: " } "{unknown}. Nothing runs on a host until you trust its key." }
            }
            if !changed.is_empty() {
                p { strong { "HOST KEY CHANGED: " } "{changed}. These hosts are left out unless you replace their key." }
            }
            div { class: "confirm-actions",
                button {
                    class: "button",
                    id: "builder-review-keys",
                    onclick: move |_| {
                        for (vm, status) in &blocked {
                            review.add_scan(vm, status);
                        }
                        on_close.call(());
                        screen.set(Screen::Vms);
                    },
                    "Review them on the VMs screen"
                }
                button {
                    class: "button primary",
                    id: "builder-trusted-only",
                    onclick: move |_| run_without.call(without.clone()),
                    "Run on trusted hosts only"
                }
            }
        }
    }
}
