//! Import hosts from an ssh config or an Ansible inventory: pick the kind and the file,
//! preview what changes, tick, apply; then, if asked (the default), fetch the imported
//! hosts' keys and open the host-key review. Also the VM list's export to Ansible.

use super::host_keys::use_key_review;
use super::Panel;
use crate::shared::modal::Modal;
use crate::shared::toast::{use_toasts, Toasts};
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::BTreeSet;
use std::path::PathBuf;
use vmo_engine::{ImportAction, ImportPlan, ImportSource, Paths};

#[component]
pub fn ImportDialog(panel: Signal<Panel>) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let mut source = use_signal(ImportSource::default);
    let mut path = use_signal(|| default_path(ImportSource::SshConfig));
    let mut plan = use_signal(|| None::<ImportPlan>);
    let mut ticked = use_signal(BTreeSet::<String>::new);
    let mut error = use_signal(|| None::<String>);
    let mut busy = use_signal(|| false);
    let mut fetch_keys = use_signal(|| true);
    let review = use_key_review();

    let preview = {
        let inventory = ctx.engine.inventory().clone();
        move || {
            let inventory = inventory.clone();
            let file = PathBuf::from(path().trim());
            let from = source();
            busy.set(true);
            spawn(async move {
                match inventory.import_preview_from(from, &file).await {
                    Ok(found) => {
                        // Tick everything that would change; unchanged and invalid hosts stay off.
                        ticked.set(
                            found
                                .hosts
                                .iter()
                                .filter(|h| {
                                    matches!(
                                        h.action,
                                        ImportAction::Add | ImportAction::Update { .. }
                                    )
                                })
                                .map(|h| h.alias.clone())
                                .collect(),
                        );
                        plan.set(Some(found));
                        error.set(None);
                    }
                    Err(err) => {
                        plan.set(None);
                        error.set(Some(err.message));
                    }
                }
                busy.set(false);
            });
        }
    };
    let preview_on_enter = preview.clone();
    let mut preview_on_click = preview;
    let apply = move |_| {
        let ctx = ctx.clone();
        let inventory = ctx.engine.inventory().clone();
        let file = PathBuf::from(path().trim());
        let only: Vec<String> = ticked.read().iter().cloned().collect();
        let fetch = fetch_keys();
        let from = source();
        busy.set(true);
        spawn(async move {
            match inventory.import_apply_from(from, &file, Some(&only)).await {
                Ok(summary) => {
                    toasts.show(format!(
                        "Imported: {} added, {} updated",
                        summary.added, summary.updated
                    ));
                    panel.set(Panel::Closed);
                    if fetch {
                        // Outlives this dialog, which closes now.
                        dioxus::dioxus_core::spawn_forever(async move {
                            let Ok(all) = ctx.engine.inventory().list().await else {
                                return;
                            };
                            let imported: Vec<vmo_engine::Vm> = all
                                .iter()
                                .filter(|vm| only.iter().any(|a| a.eq_ignore_ascii_case(&vm.name)))
                                .cloned()
                                .collect();
                            review.scan(&ctx, &imported, &all).await;
                        });
                    }
                }
                Err(err) => error.set(Some(err.message)),
            }
            busy.set(false);
        });
    };
    let count = ticked.read().len();
    // A keyed list of one: a new source mounts a fresh (uncontrolled) input holding that
    // source's default path.
    let path_input = std::iter::once(source()).map(move |kind| {
        let mut on_enter = preview_on_enter.clone();
        rsx! {
            input {
                key: "{kind:?}",
                id: "import-path",
                class: "mono",
                initial_value: "{path.peek()}",
                placeholder: if kind == ImportSource::Ansible { "/path/to/inventory.ini or .yml" } else { "" },
                oninput: move |e| {
                    path.set(e.value());
                    plan.set(None);
                },
                onkeydown: move |e| if e.key() == Key::Enter { on_enter() },
            }
        }
    });

    rsx! {
        Modal { title: "Import hosts", id: "vm-import-dialog", on_close: move |_| panel.set(Panel::Closed),
            div { class: "modal-body",
                div { class: "field",
                    label { r#for: "import-source", "From" }
                    select {
                        id: "import-source",
                        onchange: move |e| {
                            let chosen = if e.value() == "ansible" {
                                ImportSource::Ansible
                            } else {
                                ImportSource::SshConfig
                            };
                            source.set(chosen);
                            path.set(default_path(chosen));
                            plan.set(None);
                            error.set(None);
                        },
                        option { value: "ssh_config", selected: source() == ImportSource::SshConfig, "SSH config" }
                        option { value: "ansible", selected: source() == ImportSource::Ansible, "Ansible inventory" }
                    }
                }
                div { class: "field",
                    label { r#for: "import-path",
                        if source() == ImportSource::Ansible { "Inventory file" } else { "Config file" }
                    }
                    div { class: "input-with-button",
                        {path_input}
                        button {
                            class: "button",
                            id: "import-preview",
                            disabled: busy(),
                            onclick: move |_| preview_on_click(),
                            "Preview"
                        }
                    }
                    if source() == ImportSource::Ansible {
                        p { class: "hint", "INI or YAML. Groups and their child groups become tags; ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file and ProxyJump in ansible_ssh_common_args are read." }
                    } else {
                        p { class: "hint", "Include files are followed; wildcard patterns like Host * are not imported but their settings apply." }
                    }
                }
                if let Some(message) = error() {
                    div { class: "alert error", id: "import-error", "{message}" }
                }
                if let Some(found) = plan() {
                    if found.hosts.is_empty() {
                        p { class: "muted", id: "import-nothing", "No concrete hosts in this file." }
                    } else {
                        table { class: "table compact", id: "import-plan",
                            thead {
                                tr {
                                    th { class: "col-check" }
                                    th { "Host" }
                                    th { "Resolved" }
                                    th { "Change" }
                                }
                            }
                            tbody {
                                for host in found.hosts {
                                    ImportRow { key: "{host.alias}", host, ticked }
                                }
                            }
                        }
                    }
                }
            }
            div { class: "modal-foot",
                label { class: "check foot-option",
                    input {
                        r#type: "checkbox",
                        id: "import-fetch-keys",
                        checked: fetch_keys(),
                        onchange: move |e| fetch_keys.set(e.checked()),
                    }
                    "Then fetch their host keys to review"
                }
                button { class: "button", onclick: move |_| panel.set(Panel::Closed), "Cancel" }
                button {
                    class: "button primary",
                    id: "import-apply",
                    disabled: busy() || count == 0,
                    onclick: apply,
                    "Import {count} host"
                    if count != 1 { "s" }
                }
            }
        }
    }
}

/// The path a source starts with: ~/.ssh/config, or Ansible's default inventory if present.
fn default_path(source: ImportSource) -> String {
    match source {
        ImportSource::SshConfig => Paths::default_ssh_config()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        ImportSource::Ansible => ["/etc/ansible/hosts"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .unwrap_or_default()
            .to_string(),
    }
}

/// Asks where to save, then writes the inventory (or the VMs tagged `tag`) as an Ansible
/// YAML inventory.
pub fn export_ansible(ctx: UiContext, toasts: Toasts, tag: Option<String>) {
    spawn(async move {
        let desktop = ctx.desktop.clone();
        let suggested = match &tag {
            Some(tag) => format!("{tag}.inventory.yml"),
            None => "inventory.yml".to_string(),
        };
        let chosen =
            tokio::task::spawn_blocking(move || desktop.save_file("Export to Ansible", &suggested))
                .await;
        let Ok(Some(path)) = chosen else { return };
        let yaml = match ctx.engine.inventory().export_ansible(tag.as_deref()).await {
            Ok(yaml) => yaml,
            Err(e) => return toasts.error(e.message),
        };
        match tokio::fs::write(&path, yaml).await {
            Ok(()) => toasts.show(format!(
                "Saved {} as an Ansible inventory to {}",
                tag.map_or("every VM".to_string(), |t| format!("the VMs tagged {t}")),
                path.display()
            )),
            Err(e) => toasts.error(format!("Cannot write {}: {e}", path.display())),
        }
    });
}

#[component]
fn ImportRow(host: vmo_engine::PlannedHost, ticked: Signal<BTreeSet<String>>) -> Element {
    let alias = host.alias.clone();
    let is_ticked = ticked.read().contains(&alias);
    let selectable = matches!(host.action, ImportAction::Add | ImportAction::Update { .. });
    let d = &host.draft;
    let mut resolved = String::new();
    if !d.user.is_empty() {
        resolved.push_str(&format!("{}@", d.user));
    }
    resolved.push_str(&format!("{}:{}", d.host, d.port));
    if let Some(key) = &d.key_file {
        resolved.push_str(&format!("  key {key}"));
    }
    if let Some(jump) = &d.jump_host {
        resolved.push_str(&format!("  via {jump}"));
    }
    if !d.tags.is_empty() {
        resolved.push_str(&format!("  tags {}", d.tags.join(", ")));
    }
    let (badge, class, detail) = match &host.action {
        ImportAction::Add => ("new", "badge ok", String::new()),
        ImportAction::Update { changes, .. } => ("update", "badge warn", changes.join(", ")),
        ImportAction::Unchanged { .. } => ("unchanged", "badge", String::new()),
        ImportAction::Invalid { reason } => ("skipped", "badge bad", reason.clone()),
    };
    rsx! {
        tr { id: "import-row-{alias}",
            td { class: "col-check",
                input {
                    r#type: "checkbox",
                    checked: is_ticked,
                    disabled: !selectable,
                    onchange: move |_| ticked.with_mut(|t| {
                        if !t.remove(&alias) {
                            t.insert(alias.clone());
                        }
                    }),
                }
            }
            td { class: "mono", "{host.alias}" }
            td { class: "mono", "{resolved}" }
            td {
                span { class: "{class}", "{badge}" }
                if !detail.is_empty() {
                    span { class: "muted change-detail", " {detail}" }
                }
            }
        }
    }
}
