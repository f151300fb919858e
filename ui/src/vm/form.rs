//! Add or edit a VM. Every rule is the engine's; the form shows its verdict next to each
//! field and keeps what the user typed.
//!
//! Inputs are uncontrolled (`initial_value`): echoing each keystroke back over the socket
//! could overwrite characters typed in the meantime.

use super::Panel;
use crate::shared::modal::Modal;
use crate::shared::toast::use_toasts;
use crate::vm::use_inventory;
use crate::UiContext;
use dioxus::prelude::*;
use vmo_engine::vm::{parse_port, parse_tags};
use vmo_engine::{AuthMethod, EngineError, Vm, VmDraft};

#[component]
pub fn VmForm(editing: Option<Vm>, panel: Signal<Panel>) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let inventory = use_inventory();
    let start = editing
        .as_ref()
        .map(Vm::draft)
        .unwrap_or_else(|| new_vm_draft(&ctx.engine.settings().new_vm));
    let mut name = use_signal(|| start.name.clone());
    let mut host = use_signal(|| start.host.clone());
    let mut port = use_signal(|| start.port.to_string());
    let mut user = use_signal(|| start.user.clone());
    let mut auth = use_signal(|| start.auth);
    let mut key_file = use_signal(|| start.key_file.clone().unwrap_or_default());
    let mut jump_host = use_signal(|| start.jump_host.clone().unwrap_or_default());
    let mut tags = use_signal(|| start.tags.join(", "));
    let mut notes = use_signal(|| start.notes.clone());
    let mut error = use_signal(|| None::<EngineError>);
    let mut saving = use_signal(|| false);

    let editing_id = editing.as_ref().map(|vm| vm.id);
    let title = match &editing {
        Some(vm) => format!("Edit {}", vm.name),
        None => "Add VM".to_string(),
    };
    let other_names: Vec<String> = inventory
        .read()
        .vms
        .iter()
        .filter(|vm| Some(vm.id) != editing_id)
        .map(|vm| vm.name.clone())
        .collect();

    let save = use_callback(move |()| {
        if saving() {
            return;
        }
        // An unparsable port becomes 0, which the engine reports with its own message,
        // alongside every other field's error.
        let draft = VmDraft {
            name: name(),
            host: host(),
            port: parse_port(&port()).unwrap_or(0),
            user: user(),
            auth: auth(),
            key_file: Some(key_file()),
            jump_host: Some(jump_host()),
            tags: parse_tags(&tags()),
            notes: notes(),
        };
        let inventory = ctx.engine.inventory().clone();
        saving.set(true);
        spawn(async move {
            let result = match editing_id {
                Some(id) => inventory.update(id, draft).await,
                None => inventory.create(draft).await,
            };
            saving.set(false);
            match result {
                Ok(vm) => {
                    toasts.show(match editing_id {
                        Some(_) => format!("Saved {}", vm.name),
                        None => format!("Added {}", vm.name),
                    });
                    panel.set(Panel::Closed);
                }
                Err(err) => error.set(Some(err)),
            }
        });
    });
    let field_error = |field: &str| {
        error
            .read()
            .as_ref()
            .and_then(|e| e.field(field).map(str::to_string))
    };
    let general_error = error
        .read()
        .as_ref()
        .filter(|e| e.fields.is_empty())
        .map(|e| e.message.clone());
    let on_enter = move |e: KeyboardEvent| {
        if e.key() == Key::Enter {
            save.call(());
        }
    };

    rsx! {
        Modal { title, id: "vm-form", on_close: move |_| panel.set(Panel::Closed),
            div { class: "modal-body form-grid",
                Field { label: "Name", id: "vm-name", error: field_error("name"),
                    input {
                        id: "vm-name",
                        initial_value: "{start.name}",
                        placeholder: "web-1",
                        autofocus: true,
                        oninput: move |e| name.set(e.value()),
                        onkeydown: on_enter,
                    }
                }
                div { class: "field-row",
                    Field { label: "Host", id: "vm-host", error: field_error("host"), grow: true,
                        input {
                            id: "vm-host",
                            initial_value: "{start.host}",
                            placeholder: "10.0.0.5 or web-1.example.com",
                            oninput: move |e| host.set(e.value()),
                            onkeydown: on_enter,
                        }
                    }
                    Field { label: "Port", id: "vm-port", error: field_error("port"),
                        input {
                            id: "vm-port",
                            class: "port",
                            inputmode: "numeric",
                            initial_value: "{start.port}",
                            oninput: move |e| port.set(e.value()),
                            onkeydown: on_enter,
                        }
                    }
                }
                Field { label: "User", id: "vm-user", error: field_error("user"),
                    input {
                        id: "vm-user",
                        initial_value: "{start.user}",
                        placeholder: "default: your local user name",
                        oninput: move |e| user.set(e.value()),
                        onkeydown: on_enter,
                    }
                }
                Field { label: "Authentication", id: "vm-auth", error: None,
                    select {
                        id: "vm-auth",
                        onchange: move |e| auth.set(AuthMethod::parse(&e.value()).unwrap_or_default()),
                        for method in AuthMethod::ALL {
                            option {
                                key: "{method.as_str()}",
                                value: method.as_str(),
                                selected: auth() == method,
                                "{method.label()}"
                            }
                        }
                    }
                }
                if auth() == AuthMethod::KeyFile {
                    Field { label: "Private key file", id: "vm-key-file", error: field_error("key_file"),
                        input {
                            id: "vm-key-file",
                            class: "mono",
                            initial_value: start.key_file.clone().unwrap_or_default(),
                            placeholder: "~/.ssh/id_ed25519",
                            oninput: move |e| key_file.set(e.value()),
                            onkeydown: on_enter,
                        }
                    }
                }
                if auth() != AuthMethod::Agent {
                    p { class: "hint",
                        if auth() == AuthMethod::Password { "The password" } else { "A passphrase, if the key has one," }
                        " goes to the OS keyring, never into the inventory."
                    }
                }
                Field { label: "Jump host (ProxyJump)", id: "vm-jump", error: field_error("jump_host"),
                    input {
                        id: "vm-jump",
                        class: "mono",
                        list: "vm-jump-names",
                        initial_value: start.jump_host.clone().unwrap_or_default(),
                        placeholder: "a VM name, or user@host:port; hops separated by commas",
                        oninput: move |e| jump_host.set(e.value()),
                        onkeydown: on_enter,
                    }
                    datalist { id: "vm-jump-names",
                        for other in other_names {
                            option { key: "{other}", value: "{other}" }
                        }
                    }
                }
                Field { label: "Tags", id: "vm-tags", error: field_error("tags"),
                    input {
                        id: "vm-tags",
                        initial_value: start.tags.join(", "),
                        placeholder: "prod, web",
                        oninput: move |e| tags.set(e.value()),
                        onkeydown: on_enter,
                    }
                }
                Field { label: "Notes", id: "vm-notes", error: field_error("notes"),
                    textarea {
                        id: "vm-notes",
                        rows: 3,
                        initial_value: "{start.notes}",
                        oninput: move |e| notes.set(e.value()),
                    }
                }
                if let Some(message) = general_error {
                    div { class: "alert error", id: "vm-form-error", "{message}" }
                }
            }
            div { class: "modal-foot",
                button { class: "button", onclick: move |_| panel.set(Panel::Closed), "Cancel" }
                button {
                    class: "button primary",
                    id: "vm-save",
                    disabled: saving(),
                    onclick: move |_| save.call(()),
                    if editing_id.is_some() { "Save" } else { "Add VM" }
                }
            }
        }
    }
}

/// A labelled input with its error, if any, right under it.
#[component]
fn Field(
    label: &'static str,
    id: &'static str,
    error: Option<String>,
    #[props(default)] grow: bool,
    children: Element,
) -> Element {
    rsx! {
        div { class: if grow { "field grow" } else { "field" },
            class: if error.is_some() { "invalid" },
            label { r#for: id, "{label}" }
            {children}
            if let Some(message) = &error {
                p { class: "field-error", id: "{id}-error", "{message}" }
            }
        }
    }
}

/// A new VM starts from the settings' default user and key file (key-file login when a
/// key is set); an edited VM keeps its own.
fn new_vm_draft(defaults: &vmo_engine::settings::NewVmDefaults) -> VmDraft {
    let mut draft = VmDraft::default();
    if let Some(user) = &defaults.user {
        draft.user = user.clone();
    }
    if let Some(key) = &defaults.key_file {
        draft.auth = AuthMethod::KeyFile;
        draft.key_file = Some(key.clone());
    }
    draft
}
