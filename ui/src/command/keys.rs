//! The targets' host keys, checked before a template runs (as the run dialog does): a host
//! whose key is not trusted is named, reviewed on the VMs screen, or left out.

use crate::shell::Screen;
use crate::vm::use_key_review;
use crate::UiContext;
use dioxus::prelude::*;
use std::time::Duration;
use vmo_engine::resolve_target;
use vmo_engine::ssh::KeyStatus;
use vmo_engine::{Vm, VmId};

/// How long a target may take to show its key: a dead host should not hold up the others;
/// the job reports it.
const CHECK_PATIENCE: Duration = Duration::from_secs(5);

/// The VMs among `vms` whose keys are unknown or changed.
pub async fn untrusted(ctx: &UiContext, vms: &[Vm], inventory: &[Vm]) -> Vec<(Vm, KeyStatus)> {
    let (mut chosen, mut targets) = (Vec::new(), Vec::new());
    for vm in vms {
        if let Ok(target) = resolve_target(vm, inventory) {
            chosen.push(vm.clone());
            targets.push(target);
        }
    }
    ctx.engine
        .ssh()
        .scan_host_keys_within(targets, CHECK_PATIENCE)
        .await
        .into_iter()
        .filter(|scan| matches!(scan.status, KeyStatus::Unknown(_) | KeyStatus::Changed(_)))
        .map(|scan| (chosen[scan.index].clone(), scan.status))
        .collect()
}

/// What the check found, and the two ways on.
#[component]
pub fn KeyPanel(
    blocked: Vec<(Vm, KeyStatus)>,
    on_close: EventHandler<()>,
    run_without: EventHandler<Vec<VmId>>,
) -> Element {
    let review = use_key_review();
    let mut screen = use_context::<Signal<Screen>>();
    let names = |changed: bool| {
        blocked
            .iter()
            .filter(|(_, s)| matches!(s, KeyStatus::Changed(_)) == changed)
            .map(|(vm, _)| vm.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (unknown, changed) = (names(false), names(true));
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
