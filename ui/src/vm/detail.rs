//! One VM, every field.

use super::Panel;
use crate::shared::modal::Modal;
use crate::shared::time::format_millis;
use dioxus::prelude::*;
use vmo_engine::Vm;

#[component]
pub fn VmDetail(vm: Vm, panel: Signal<Panel>) -> Element {
    let id = vm.id;
    let command_ui = crate::command::use_command_ui();
    let dash = |v: Option<&str>| v.filter(|s| !s.is_empty()).unwrap_or("—").to_string();
    rsx! {
        Modal { title: vm.name.clone(), id: "vm-detail", on_close: move |_| panel.set(Panel::Closed),
            div { class: "modal-body",
                dl { class: "facts",
                    dt { "Host" }
                    dd { class: "mono", "{vm.host}" }
                    dt { "Port" }
                    dd { class: "mono", "{vm.port}" }
                    dt { "User" }
                    dd { class: "mono", {dash(Some(&vm.user))} }
                    dt { "Authentication" }
                    dd { "{vm.auth.label()}" }
                    if let Some(key) = &vm.key_file {
                        dt { "Key file" }
                        dd { class: "mono", "{key}" }
                    }
                    dt { "Jump host" }
                    dd { class: "mono", {dash(vm.jump_host.as_deref())} }
                    dt { "Tags" }
                    dd {
                        if vm.tags.is_empty() { "—" }
                        for tag in vm.tags.iter() {
                            span { key: "{tag}", class: "tag", "{tag}" }
                        }
                    }
                    dt { "Notes" }
                    dd { class: "notes", {dash(Some(&vm.notes))} }
                    dt { "Created" }
                    dd { {format_millis(vm.created_at)} }
                    dt { "Updated" }
                    dd { {format_millis(vm.updated_at)} }
                }
                crate::status::VmStatusPanel { vm: id }
                crate::job::VmJobHistory { vm: id }
            }
            div { class: "modal-foot",
                button {
                    class: "button danger-text",
                    onclick: move |_| panel.set(Panel::ConfirmDelete(vec![id])),
                    "Delete"
                }
                button {
                    class: "button",
                    id: "vm-detail-run-template",
                    onclick: move |_| {
                        panel.set(Panel::Closed);
                        command_ui.open_builder("", vec![id]);
                    },
                    "Run template…"
                }
                button {
                    class: "button primary",
                    id: "vm-detail-edit",
                    onclick: move |_| panel.set(Panel::Edit(id)),
                    "Edit"
                }
            }
        }
    }
}
