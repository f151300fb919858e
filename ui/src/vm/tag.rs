//! Tags many VMs at once: one tag added to (or removed from) every selected VM, drawn in
//! the list or not, in one transaction.

use super::Panel;
use crate::shared::modal::Modal;
use crate::shared::toast::use_toasts;
use crate::UiContext;
use dioxus::prelude::*;
use vmo_engine::VmId;

/// `names`: the first few of the VMs, to show which ones.
#[component]
pub fn TagDialog(ids: Vec<VmId>, names: Vec<String>, panel: Signal<Panel>) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let mut typed = use_signal(String::new);
    let error = use_signal(|| None::<String>);
    let busy = use_signal(|| false);
    let count = ids.len();
    let unlisted = count.saturating_sub(names.len());
    let title = match (names.as_slice(), count) {
        ([one], 1) => format!("Tag {one}"),
        _ => format!("Tag {count} VMs"),
    };
    let apply = move |add: bool| {
        let (mut busy, mut error, mut panel) = (busy, error, panel);
        let inventory = ctx.engine.inventory().clone();
        let ids = ids.clone();
        let tag = typed.peek().clone();
        busy.set(true);
        spawn(async move {
            let done = if add {
                inventory.add_tag(&ids, &tag).await
            } else {
                inventory.remove_tag(&ids, &tag).await
            };
            busy.set(false);
            match done {
                Ok(changed) => {
                    panel.set(Panel::Closed);
                    let tag = tag.trim().to_lowercase();
                    toasts.show(match (add, changed) {
                        (true, 0) => format!("Every one of these VMs already has {tag}"),
                        (true, n) => format!("Tagged {n} VMs with {tag}"),
                        (false, 0) => format!("None of these VMs has {tag}"),
                        (false, n) => format!("Removed {tag} from {n} VMs"),
                    });
                }
                Err(err) => error.set(Some(err.message)),
            }
        });
    };
    let remove = apply.clone();
    rsx! {
        Modal { title, id: "vm-tag-dialog", on_close: move |_| panel.set(Panel::Closed),
            div { class: "modal-body",
                div { class: "field",
                    label { r#for: "vm-tag-input", "Tag" }
                    input {
                        id: "vm-tag-input",
                        placeholder: "e.g. prod",
                        autofocus: true,
                        oninput: move |e| typed.set(e.value()),
                    }
                }
                if let Some(message) = error() {
                    div { class: "alert error", id: "vm-tag-error", "{message}" }
                }
                ul { class: "name-list",
                    for name in names.iter() {
                        li { key: "{name}", "{name}" }
                    }
                    if unlisted > 0 {
                        li { class: "muted", "and {unlisted} more" }
                    }
                }
            }
            div { class: "modal-foot",
                button { class: "button", onclick: move |_| panel.set(Panel::Closed), "Cancel" }
                button {
                    class: "button",
                    id: "vm-tag-remove",
                    disabled: busy() || typed().trim().is_empty(),
                    onclick: move |_| remove(false),
                    "Remove tag"
                }
                button {
                    class: "button primary",
                    id: "vm-tag-add",
                    disabled: busy() || typed().trim().is_empty(),
                    onclick: move |_| apply(true),
                    "Add tag"
                }
            }
        }
    }
}
