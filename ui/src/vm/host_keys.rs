//! The host-key review: one dialog for every key waiting for the user's judgement, however
//! it was found (a test of many rows, a run's check, an import). Unknown keys are trusted
//! in bulk after the user ticks them; a changed key stays apart and is replaced one host
//! at a time, after the old and new fingerprints and the known_hosts line were shown.

use crate::shared::modal::Modal;
use crate::shared::toast::use_toasts;
use crate::vm::use_inventory;
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::BTreeSet;
use vmo_engine::resolve_target;
use vmo_engine::ssh::{ChangedKey, KeyStatus, PresentedKey};
use vmo_engine::{Vm, VmId};

/// How long a target may take to show its key before a run: a dead host should not hold
/// up the others for its TCP timeout; the job reports it.
const CHECK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// Scans the host keys of `vms` (before a run): those whose keys are not trusted, unknown
/// or changed. Hosts that cannot be reached are not held back: the job reports them.
/// The names of `blocked` hosts with a changed key (`changed`) or an unknown one, joined.
pub fn blocked_names(blocked: &[(Vm, KeyStatus)], changed: bool) -> String {
    blocked
        .iter()
        .filter(|(_, s)| matches!(s, KeyStatus::Changed(_)) == changed)
        .map(|(vm, _)| vm.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

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

/// A VM whose server presented a key nobody has said yes to.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownKey {
    pub vm: VmId,
    pub name: String,
    pub key: PresentedKey,
}

/// A VM whose server presents another key than known_hosts records.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangedEntry {
    pub vm: VmId,
    pub name: String,
    pub change: ChangedKey,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReviewState {
    pub unknown: Vec<UnknownKey>,
    pub selected: BTreeSet<VmId>,
    pub changed: Vec<ChangedEntry>,
}

impl ReviewState {
    fn is_empty(&self) -> bool {
        self.unknown.is_empty() && self.changed.is_empty()
    }
}

/// The keys waiting for review, shared by every screen that finds some.
#[derive(Clone, Copy)]
pub struct KeyReview {
    pub state: Signal<ReviewState>,
    /// Counts the times the review emptied or was closed: a run waiting on it checks again.
    pub closings: Signal<u64>,
}

pub fn provide_key_review() {
    use_context_provider(|| KeyReview {
        state: Signal::new(ReviewState::default()),
        closings: Signal::new(0),
    });
}

pub fn use_key_review() -> KeyReview {
    use_context::<KeyReview>()
}

impl KeyReview {
    /// Lists `vm` with an unknown key (once per VM; a newer key replaces an older one).
    pub fn add_unknown(mut self, vm: &Vm, key: PresentedKey) {
        self.state.with_mut(|s| {
            s.changed.retain(|c| c.vm != vm.id);
            match s.unknown.iter_mut().find(|u| u.vm == vm.id) {
                Some(entry) => entry.key = key,
                None => {
                    // By name, so a row stays findable while others arrive.
                    let at = s.unknown.partition_point(|u| {
                        natord::compare_ignore_case(&u.name, &vm.name).is_lt()
                    });
                    s.unknown.insert(
                        at,
                        UnknownKey {
                            vm: vm.id,
                            name: vm.name.clone(),
                            key,
                        },
                    );
                }
            }
        });
    }

    /// Lists `vm` apart, with its changed key.
    pub fn add_changed(mut self, vm: &Vm, change: ChangedKey) {
        self.state.with_mut(|s| {
            s.unknown.retain(|u| u.vm != vm.id);
            s.selected.remove(&vm.id);
            s.changed.retain(|c| c.vm != vm.id);
            s.changed.push(ChangedEntry {
                vm: vm.id,
                name: vm.name.clone(),
                change,
            });
        });
    }

    /// Lists `vm` if its scan found a key to review; true if it did.
    pub fn add_scan(self, vm: &Vm, status: &KeyStatus) -> bool {
        match status {
            KeyStatus::Unknown(key) => self.add_unknown(vm, key.clone()),
            KeyStatus::Changed(change) => self.add_changed(vm, (**change).clone()),
            KeyStatus::Known(_) | KeyStatus::Error(_) => return false,
        }
        true
    }

    /// Scans the host keys of `vms` and lists those to review. Returns how many were listed.
    pub async fn scan(self, ctx: &UiContext, vms: &[Vm], inventory: &[Vm]) -> usize {
        let (mut chosen, mut targets) = (Vec::new(), Vec::new());
        for vm in vms {
            // A VM whose jump hosts do not resolve has no key to fetch; its test says why.
            if let Ok(target) = resolve_target(vm, inventory) {
                chosen.push(vm);
                targets.push(target);
            }
        }
        let scans = ctx.engine.ssh().scan_host_keys(targets).await;
        scans
            .iter()
            .filter(|scan| self.add_scan(chosen[scan.index], &scan.status))
            .count()
    }

    /// Closes the review once nothing is left in it.
    fn close_if_done(mut self) {
        if self.state.peek().is_empty() {
            *self.closings.write() += 1;
        }
    }

    fn close(mut self) {
        self.state.set(ReviewState::default());
        *self.closings.write() += 1;
    }
}

/// `host:port` as the user typed it in the inventory.
fn address(key: &PresentedKey) -> String {
    format!("{}:{}", key.host, key.port)
}

/// The review dialog. `on_trusted`: the VMs whose keys were just trusted or replaced, to
/// test again.
#[component]
pub fn HostKeyReview(on_trusted: EventHandler<Vec<VmId>>) -> Element {
    let ctx = use_context::<UiContext>();
    let review = use_key_review();
    let mut state = review.state;
    let mut error = use_signal(|| None::<String>);
    let replacing = use_signal(|| None::<VmId>);
    let view = state.read().clone();
    if view.is_empty() {
        return rsx! {};
    }
    let total = view.unknown.len();
    let ticked = view.selected.len();
    let trust = move |always: bool| {
        let ctx = ctx.clone();
        move |_| {
            let chosen: Vec<UnknownKey> = state
                .peek()
                .unknown
                .iter()
                .filter(|u| state.peek().selected.contains(&u.vm))
                .cloned()
                .collect();
            if chosen.is_empty() {
                return;
            }
            let keys: Vec<PresentedKey> = chosen.iter().map(|u| u.key.clone()).collect();
            match ctx.engine.ssh().host_keys().trust_all(&keys, always) {
                Ok(_) => {
                    error.set(None);
                    // Every VM showing one of these keys is settled (two VMs may share a host).
                    let settled: Vec<VmId> = state
                        .peek()
                        .unknown
                        .iter()
                        .filter(|u| keys.contains(&u.key))
                        .map(|u| u.vm)
                        .collect();
                    state.with_mut(|s| {
                        s.unknown.retain(|u| !settled.contains(&u.vm));
                        s.selected.clear();
                    });
                    on_trusted.call(settled);
                    review.close_if_done();
                }
                Err(e) => error.set(Some(e.message)),
            }
        }
    };
    let reject = move |_| {
        state.with_mut(|s| {
            s.unknown.clear();
            s.selected.clear();
        });
        review.close_if_done();
    };
    rsx! {
        Modal { title: "Review host keys", id: "host-key-review", on_close: move |_| review.close(),
            div { class: "modal-body key-review",
                if !view.changed.is_empty() {
                    ChangedSection { changed: view.changed.clone(), replacing, error, on_trusted }
                }
                if total > 0 {
                    p {
                        if total == 1 { "1 server presented a key" } else { "{total} servers presented keys" }
                        " that your known_hosts file does not hold. Compare each fingerprint with the one the server's owner gives you (on the server: "
                        code { "ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub" }
                        ")."
                    }
                    div { class: "review-tools",
                        button { class: "button small", id: "host-keys-select-all",
                            onclick: move |_| state.with_mut(|s| s.selected = s.unknown.iter().map(|u| u.vm).collect()),
                            "Select all"
                        }
                        button { class: "button small", id: "host-keys-select-none",
                            onclick: move |_| state.with_mut(|s| s.selected.clear()),
                            "Select none"
                        }
                        span { class: "muted", id: "host-keys-count", "{ticked} of {total} selected" }
                    }
                    table { class: "table compact", id: "host-keys-unknown",
                        thead {
                            tr {
                                th { class: "col-check" }
                                th { "VM" }
                                th { "Address" }
                                th { "Key type" }
                                th { "SHA256 fingerprint" }
                            }
                        }
                        tbody {
                            for entry in view.unknown.iter().cloned() {
                                UnknownRow { key: "{entry.vm}", ticked: view.selected.contains(&entry.vm), entry, state }
                            }
                        }
                    }
                }
                if let Some(message) = error() {
                    div { class: "alert error", id: "host-keys-error", "{message}" }
                }
            }
            div { class: "modal-foot",
                if total > 0 {
                    button { class: "button", id: "host-keys-reject", onclick: reject, "Don't trust" }
                    button { class: "button", id: "host-keys-once", disabled: ticked == 0, onclick: trust(false), "Trust once" }
                    button { class: "button primary", id: "host-keys-always", disabled: ticked == 0, onclick: trust(true), "Trust and remember selected" }
                } else {
                    button { class: "button", id: "host-keys-close", onclick: move |_| review.close(), "Close" }
                }
            }
        }
    }
}

#[component]
fn UnknownRow(entry: UnknownKey, ticked: bool, state: Signal<ReviewState>) -> Element {
    let id = entry.vm;
    rsx! {
        tr { id: "host-key-row-{entry.name}", class: if ticked { "selected" } else { "" },
            td { class: "col-check",
                input {
                    r#type: "checkbox",
                    title: "Trust the key of {entry.name}",
                    checked: ticked,
                    onchange: move |_| state.with_mut(|s| {
                        if !s.selected.remove(&id) {
                            s.selected.insert(id);
                        }
                    }),
                }
            }
            td { "{entry.name}" }
            td { class: "mono", {address(&entry.key)} }
            td { class: "mono", "{entry.key.algorithm}" }
            td { class: "mono key-fingerprint", "{entry.key.fingerprint}" }
        }
    }
}

/// Changed keys, never part of the bulk actions: each has its own replace, confirmed after
/// seeing what goes and what comes.
#[component]
fn ChangedSection(
    changed: Vec<ChangedEntry>,
    mut replacing: Signal<Option<VmId>>,
    error: Signal<Option<String>>,
    on_trusted: EventHandler<Vec<VmId>>,
) -> Element {
    let open = replacing();
    rsx! {
        section { class: "changed-keys", id: "host-keys-changed",
            div { class: "alert alarm",
                strong { "HOST KEY CHANGED. " }
                "These servers present another key than the one your known_hosts file holds. "
                "Someone may be intercepting the connection, or the host was reinstalled. "
                "Replace a key only when you know why it changed."
            }
            for entry in changed {
                div { key: "{entry.vm}", class: "changed-key", id: "host-key-changed-{entry.name}",
                    div { class: "changed-key-head",
                        strong { "{entry.name}" }
                        span { class: "mono", " {address(&entry.change.presented)} " }
                        span { class: "mono muted", "now {entry.change.presented.algorithm} {entry.change.presented.fingerprint}" }
                        if open != Some(entry.vm) {
                            button {
                                class: "button small danger",
                                id: "host-key-replace-{entry.name}",
                                onclick: move |_| replacing.set(Some(entry.vm)),
                                "Replace key…"
                            }
                        }
                    }
                    if open == Some(entry.vm) {
                        ReplaceConfirm { entry: entry.clone(), replacing, error, on_trusted }
                    }
                }
            }
        }
    }
}

#[component]
fn ReplaceConfirm(
    entry: ChangedEntry,
    mut replacing: Signal<Option<VmId>>,
    mut error: Signal<Option<String>>,
    on_trusted: EventHandler<Vec<VmId>>,
) -> Element {
    let ctx = use_context::<UiContext>();
    let review = use_key_review();
    let inventory = use_inventory();
    let toasts = use_toasts();
    let mut busy = use_signal(|| false);
    let change = entry.change.clone();
    let file = change.known_hosts.display().to_string();
    let confirm = move |_| {
        let (ctx, entry) = (ctx.clone(), entry.clone());
        let vms = inventory.peek().vms.clone();
        let Some(target) = vms
            .iter()
            .find(|vm| vm.id == entry.vm)
            .and_then(|vm| resolve_target(vm, &vms).ok())
        else {
            error.set(Some(format!(
                "{} is no longer in the inventory.",
                entry.name
            )));
            return;
        };
        busy.set(true);
        spawn(async move {
            match ctx
                .engine
                .ssh()
                .replace_host_key(&target, &entry.change)
                .await
            {
                Ok(()) => {
                    error.set(None);
                    replacing.set(None);
                    let mut state = review.state;
                    state.with_mut(|s| s.changed.retain(|c| c.vm != entry.vm));
                    toasts.show(format!("Host key of {} replaced", entry.name));
                    on_trusted.call(vec![entry.vm]);
                    review.close_if_done();
                }
                Err(e) => error.set(Some(e.message)),
            }
            busy.set(false);
        });
    };
    rsx! {
        div { class: "replace-confirm", id: "host-key-replace-confirm",
            dl { class: "facts",
                dt { "Old key" }
                dd { class: "mono", id: "host-key-old-fingerprint", "{change.presented.algorithm} {change.old_fingerprint}" }
                dt { "New key" }
                dd { class: "mono", id: "host-key-new-fingerprint", "{change.presented.algorithm} {change.presented.fingerprint}" }
            }
            p {
                if change.removes.len() == 1 { "This line of " } else { "These lines of " }
                code { "{file}" }
                " will be removed, and the new key added at the end:"
            }
            for line in change.removes.iter() {
                div { key: "{line.number}", class: "known-hosts-line", id: "host-key-old-line-{line.number}",
                    span { class: "muted", "line {line.number}: " }
                    code { "{line.text}" }
                }
            }
            div { class: "confirm-actions",
                button { class: "button", onclick: move |_| replacing.set(None), "Cancel" }
                button { class: "button danger", id: "host-key-replace-yes", disabled: busy(), onclick: confirm, "Replace key" }
            }
        }
    }
}
