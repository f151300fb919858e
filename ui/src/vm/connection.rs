//! Connection tests from the inventory: a status cell per VM; a key the server presents
//! that known_hosts does not hold goes to the host-key review ([`super::host_keys`]).

use super::host_keys::{use_key_review, KeyReview};
use crate::shared::modal::Modal;
use crate::vm::use_inventory;
use crate::UiContext;
use dioxus::prelude::*;
use std::collections::HashMap;
use std::rc::Rc;
use vmo_engine::resolve_target;
use vmo_engine::ssh::{ConnectionTest, SecretRef, SshErrorKind};
use vmo_engine::{Vm, VmId};

/// Connection tests running at once: a test of 10,000 VMs does not open 10,000 sockets.
const TESTS_AT_ONCE: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum TestState {
    Running,
    Done(ConnectionTest),
}

/// Test results by VM, and what waits for the user: host keys to judge (in the review), a
/// secret to type.
#[derive(Clone, Copy)]
pub struct ConnectionTests {
    pub results: Signal<HashMap<VmId, TestState>>,
    pub pending_secret: Signal<Option<(SecretRef, Vec<VmId>)>>,
    review: KeyReview,
}

pub fn provide_connection_tests() {
    super::host_keys::provide_key_review();
    let review = use_key_review();
    use_context_provider(|| ConnectionTests {
        results: Signal::new(HashMap::new()),
        pending_secret: Signal::new(None),
        review,
    });
}

pub fn use_connection_tests() -> ConnectionTests {
    use_context::<ConnectionTests>()
}

impl ConnectionTests {
    /// Tests every VM in `ids`, [`TESTS_AT_ONCE`] at a time; results land in `results` as
    /// they come. Selecting 10,000 VMs and testing them looks each up once and shares one
    /// copy of the inventory among the tests.
    pub fn start(mut self, ctx: &UiContext, ids: Vec<VmId>, inventory: &[vmo_engine::Vm]) {
        let by_id: HashMap<VmId, &Vm> = inventory.iter().map(|vm| (vm.id, vm)).collect();
        let chosen: Vec<Vm> = ids
            .iter()
            .filter_map(|id| by_id.get(id).map(|vm| (*vm).clone()))
            .collect();
        if chosen.is_empty() {
            return;
        }
        self.results.with_mut(|results| {
            for vm in &chosen {
                results.insert(vm.id, TestState::Running);
            }
        });
        let inventory = Rc::new(inventory.to_vec());
        let turns = Rc::new(tokio::sync::Semaphore::new(TESTS_AT_ONCE));
        for vm in chosen {
            let (ctx, inventory, turns) = (ctx.clone(), inventory.clone(), turns.clone());
            spawn(async move {
                // Never closed: a permit always comes.
                let Ok(_turn) = turns.acquire().await else {
                    return;
                };
                let id = vm.id;
                let report = match resolve_target(&vm, &inventory) {
                    Ok(target) => ctx.engine.ssh().test(&target).await,
                    Err(error) => ConnectionTest::failed(vm.name.clone(), error),
                };
                let kind = report.error.as_ref().map(|e| e.kind);
                if let Some(error) = &report.error {
                    if let Some(secret) = error.secret.as_deref() {
                        ask(self.pending_secret, secret, id);
                    }
                    if let (SshErrorKind::HostKeyUnknown, Some(key)) = (error.kind, &error.host_key)
                    {
                        self.review.add_unknown(&vm, (**key).clone());
                    }
                }
                self.results.write().insert(id, TestState::Done(report));
                // A changed key: fetch what the review shows (the old line, the old key).
                if kind == Some(SshErrorKind::HostKeyChanged) {
                    self.review.scan(&ctx, &[vm], &inventory).await;
                }
            });
        }
    }
}

/// Queues `id` behind a question for the user (a secret to type), to be
/// tested again once it is answered. One question is open at a time: a VM raising another
/// keeps its failed status, and testing it again asks.
fn ask<T: Clone + PartialEq + 'static>(
    mut pending: Signal<Option<(T, Vec<VmId>)>>,
    item: &T,
    id: VmId,
) {
    let mut pending = pending.write();
    match pending.as_mut() {
        Some((open, waiting)) if open == item => waiting.push(id),
        Some(_) => {}
        None => *pending = Some((item.clone(), vec![id])),
    }
}

/// The status cell of a VM row: untested, testing, ok with latency, or why it failed.
#[component]
pub fn StatusCell(id: VmId) -> Element {
    let tests = use_connection_tests();
    let inventory = use_inventory();
    let results = tests.results.read();
    // `data-status` on the badge is the outcome alone (`ok`, `testing`, or the error kind),
    // apart from the reason text beside it, which may hold anything (a fingerprint).
    match results.get(&id) {
        None => rsx! { span { class: "muted", "—" } },
        Some(TestState::Running) => {
            rsx! { span { class: "badge", "data-status": "testing", "testing…" } }
        }
        Some(TestState::Done(report)) if report.ok => rsx! {
            span {
                class: "badge ok",
                "data-status": "ok",
                title: "{report.server_version.clone().unwrap_or_default()} {report.fingerprint.clone().unwrap_or_default()}",
                "ok {report.connect_ms} ms"
            }
        },
        Some(TestState::Done(report)) => {
            let error = report.error.clone();
            let (kind, message) = error
                .map(|e| (e.kind, e.message))
                .unwrap_or((SshErrorKind::Protocol, "failed".into()));
            let (label, class) = match kind {
                SshErrorKind::HostKeyChanged => ("HOST KEY CHANGED", "badge alarm"),
                SshErrorKind::HostKeyRevoked => ("HOST KEY REVOKED", "badge alarm"),
                SshErrorKind::HostKeyUnknown => ("host key unknown", "badge warn"),
                SshErrorKind::AuthFailed | SshErrorKind::KeyFile | SshErrorKind::Agent => {
                    ("auth failed", "badge bad")
                }
                SshErrorKind::Keyring => ("keyring unavailable", "badge bad"),
                k if k.is_unreachable() => ("unreachable", "badge bad"),
                _ => ("failed", "badge bad"),
            };
            let to_review = matches!(
                kind,
                SshErrorKind::HostKeyUnknown | SshErrorKind::HostKeyChanged
            )
            .then(|| inventory.read().vms.iter().find(|vm| vm.id == id).cloned())
            .flatten();
            rsx! {
                span { class: "{class}", title: "{message}", "data-status": kind.as_str(), "{label}" }
                div { class: "status-reason", "{message}" }
                if let Some(vm) = to_review {
                    ReviewButton { id: "vm-review-{vm.name}", vms: vec![vm] }
                }
            }
        }
    }
}

/// Asks for a password or key passphrase a login needs, keeps it in the OS keyring, and
/// tests again. The value goes straight to the keyring: never to the inventory or a log.
#[component]
pub fn SecretDialog() -> Element {
    let ctx = use_context::<UiContext>();
    let mut tests = use_connection_tests();
    let inventory = use_inventory();
    let mut value = use_signal(String::new);
    let mut error = use_signal(|| None::<String>);
    // Hooks first, every render: the dialog comes and goes with `pending_secret`.
    let save = use_callback(move |()| {
        let Some((secret, waiting)) = tests.pending_secret.peek().clone() else {
            return;
        };
        let typed = value.peek().clone();
        if typed.is_empty() {
            return;
        }
        let ctx = ctx.clone();
        spawn(async move {
            match ctx.engine.ssh().remember_secret(secret, typed).await {
                Ok(()) => {
                    value.set(String::new());
                    tests.pending_secret.set(None);
                    let vms = inventory.peek().vms.clone();
                    tests.start(&ctx, waiting, &vms);
                }
                Err(e) => error.set(Some(e.message)),
            }
        });
    });
    let Some((prompt, waiting)) = tests
        .pending_secret
        .read()
        .as_ref()
        .map(|(secret, waiting)| (secret.prompt(), waiting.clone()))
    else {
        return rsx! {};
    };
    // Why it is asked: none stored yet, or the stored one was refused.
    let reason = waiting
        .first()
        .and_then(|id| match tests.results.read().get(id) {
            Some(TestState::Done(report)) => report.error.as_ref().map(|e| e.message.clone()),
            _ => None,
        });
    rsx! {
        Modal { title: "Login secret needed", id: "secret-dialog", on_close: move |_| tests.pending_secret.set(None),
            div { class: "modal-body form-grid",
                div { class: "field",
                    label { r#for: "secret-value", "{prompt}" }
                    input {
                        id: "secret-value",
                        r#type: "password",
                        autocomplete: "off",
                        autofocus: true,
                        oninput: move |e| value.set(e.value()),
                        onkeydown: move |e| if e.key() == Key::Enter { save.call(()) },
                    }
                }
                if let Some(reason) = reason {
                    p { class: "hint", id: "secret-reason", "{reason}" }
                }
                p { class: "hint", "Kept in your OS keyring, never in the inventory. Connections use it from then on." }
                if let Some(message) = error() {
                    div { class: "alert error", "{message}" }
                }
            }
            div { class: "modal-foot",
                button { class: "button", onclick: move |_| tests.pending_secret.set(None), "Cancel" }
                button { class: "button primary", id: "secret-save", onclick: move |_| save.call(()), "Save and test again" }
            }
        }
    }
}

/// A banner over the inventory while any tested VM presented a changed host key: the one
/// failure that may be an attack must not hide in a table cell.
#[component]
pub fn HostKeyChangedBanner() -> Element {
    let tests = use_connection_tests();
    let inventory = use_inventory();
    let results = tests.results.read();
    let changed: Vec<Vm> = inventory
        .read()
        .vms
        .iter()
        .filter(|vm| {
            matches!(results.get(&vm.id), Some(TestState::Done(r))
                if r.error.as_ref().is_some_and(|e| e.kind == SshErrorKind::HostKeyChanged))
        })
        .cloned()
        .collect();
    if changed.is_empty() {
        return rsx! {};
    }
    let names: Vec<&str> = changed.iter().map(|vm| vm.name.as_str()).collect();
    let names = names.join(", ");
    rsx! {
        div { class: "alert alarm", id: "host-key-changed", role: "alert",
            strong { "HOST KEY CHANGED: {names}. " }
            "The server now presents a different key than the one in your known_hosts file. "
            "Someone may be intercepting the connection, or the host was reinstalled. "
            "Connections to it are refused until you check why and replace its key. "
            ReviewButton { vms: changed, id: "host-key-changed-review".to_string() }
        }
    }
}

/// Opens the review for these VMs: their keys are fetched again, so what it shows is now.
#[component]
fn ReviewButton(vms: Vec<Vm>, id: String) -> Element {
    let ctx = use_context::<UiContext>();
    let review = use_key_review();
    let inventory = use_inventory();
    let mut busy = use_signal(|| false);
    rsx! {
        button {
            class: "button small",
            id: "{id}",
            disabled: busy(),
            onclick: move |_| {
                let (ctx, vms) = (ctx.clone(), vms.clone());
                let all = inventory.peek().vms.clone();
                busy.set(true);
                spawn(async move {
                    review.scan(&ctx, &vms, &all).await;
                    busy.set(false);
                });
            },
            "Review host keys…"
        }
    }
}
