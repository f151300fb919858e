//! Run an ad-hoc command on one VM or a selection, and watch each host's output live.
//! (The job queue with history and the full log viewer come with their own feature.)

use super::Panel;
use crate::shared::modal::Modal;
use crate::vm::use_inventory;
use crate::UiContext;
use dioxus::prelude::*;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vmo_engine::ssh::{run_on_hosts, FanoutEvent, HostOutcome, Output, RunEnd, RunOptions, Target};
use vmo_engine::VmId;

/// What the dialog keeps per host: the tail of its output, and how it ended.
const KEEP_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Default)]
struct HostView {
    name: String,
    /// (is stderr, text), consecutive chunks of one stream merged.
    segments: Vec<(bool, String)>,
    kept: usize,
    trimmed: bool,
    outcome: Option<(bool, String)>,
}

impl HostView {
    fn push(&mut self, stderr: bool, data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        match self.segments.last_mut() {
            Some((s, t)) if *s == stderr => t.push_str(&text),
            _ => self.segments.push((stderr, text.into_owned())),
        }
        self.kept += data.len();
        while self.kept > KEEP_BYTES && self.segments.len() > 1 {
            let (_, dropped) = self.segments.remove(0);
            self.kept -= dropped.len();
            self.trimmed = true;
        }
    }
}

fn describe(outcome: &HostOutcome) -> (bool, String) {
    match outcome {
        HostOutcome::Ran { end } => match end {
            RunEnd::Exited { code: 0 } => (true, "exit 0".into()),
            RunEnd::Exited { code } => (false, format!("exit {code}")),
            RunEnd::Signaled { signal, .. } => (false, format!("killed by {signal}")),
            RunEnd::Closed => (false, "closed".into()),
            RunEnd::TimedOut => (false, "timed out".into()),
            RunEnd::Cancelled => (false, "cancelled".into()),
        },
        HostOutcome::Failed { error } => (false, error.message.clone()),
        HostOutcome::Cancelled => (false, "cancelled".into()),
    }
}

#[component]
pub fn RunDialog(ids: Vec<VmId>, panel: Signal<Panel>) -> Element {
    let ctx = use_context::<UiContext>();
    let inventory = use_inventory();
    let mut command = use_signal(String::new);
    let mut hosts = use_signal(Vec::<HostView>::new);
    let mut running = use_signal(|| None::<CancellationToken>);
    let mut error = use_signal(|| None::<String>);

    let vms: Vec<vmo_engine::Vm> = inventory
        .read()
        .vms
        .iter()
        .filter(|vm| ids.contains(&vm.id))
        .cloned()
        .collect();
    let names: Vec<String> = vms.iter().map(|vm| vm.name.clone()).collect();
    let title = match names.as_slice() {
        [one] => format!("Run on {one}"),
        many => format!("Run on {} VMs", many.len()),
    };

    let start = use_callback(move |()| {
        let text = command().trim().to_string();
        if text.is_empty() || running.peek().is_some() {
            return;
        }
        let everyone = inventory.peek().vms.clone();
        let mut targets = Vec::new();
        for vm in everyone.iter().filter(|vm| ids.contains(&vm.id)) {
            match Target::resolve(vm, &everyone) {
                Ok(t) => targets.push(t),
                Err(e) => {
                    error.set(Some(format!("{}: {}", vm.name, e.message)));
                    return;
                }
            }
        }
        error.set(None);
        hosts.set(
            targets
                .iter()
                .map(|t| HostView {
                    name: t.name.clone(),
                    ..Default::default()
                })
                .collect(),
        );
        let token = CancellationToken::new();
        running.set(Some(token.clone()));
        let pool = ctx.engine.ssh().pool().clone();
        spawn(async move {
            let (tx, mut events) = mpsc::channel(256);
            let run = run_on_hosts(pool, targets, text, RunOptions::default(), token, tx);
            let show = async {
                while let Some(event) = events.recv().await {
                    match event {
                        FanoutEvent::Output { index, output } => {
                            let (stderr, data) = match &output {
                                Output::Stdout(d) => (false, d),
                                Output::Stderr(d) => (true, d),
                            };
                            if let Some(h) = hosts.write().get_mut(index) {
                                h.push(stderr, data);
                            }
                        }
                        FanoutEvent::Finished(result) => {
                            if let Some(h) = hosts.write().get_mut(result.index) {
                                h.outcome = Some(describe(&result.outcome));
                            }
                        }
                    }
                }
            };
            tokio::join!(run, show);
            running.set(None);
        });
    });

    let is_running = running().is_some();
    rsx! {
        Modal { title, id: "run-dialog", on_close: move |_| {
                if let Some(token) = running.peek().as_ref() {
                    token.cancel();
                }
                panel.set(Panel::Closed);
            },
            div { class: "modal-body run-body",
                div { class: "input-with-button",
                    input {
                        id: "run-command",
                        class: "mono",
                        placeholder: "uptime",
                        autofocus: true,
                        oninput: move |e| command.set(e.value()),
                        onkeydown: move |e| if e.key() == Key::Enter { start.call(()) },
                    }
                    if is_running {
                        button {
                            class: "button danger",
                            id: "run-cancel",
                            onclick: move |_| {
                                if let Some(token) = running.peek().as_ref() {
                                    token.cancel();
                                }
                            },
                            "Cancel"
                        }
                    } else {
                        button { class: "button primary", id: "run-start", onclick: move |_| start.call(()), "Run" }
                    }
                }
                p { class: "hint", "On: {names.join(\", \")}" }
                if let Some(message) = error() {
                    div { class: "alert error", "{message}" }
                }
                for host in hosts() {
                    div { key: "{host.name}", class: "run-host", id: "run-host-{host.name}",
                        div { class: "run-host-head",
                            strong { "{host.name}" }
                            match &host.outcome {
                                None if is_running => rsx! { span { class: "badge", "running…" } },
                                None => rsx! {},
                                Some((true, text)) => rsx! { span { class: "badge ok run-status", "{text}" } },
                                Some((false, text)) => rsx! { span { class: "badge bad run-status", "{text}" } },
                            }
                        }
                        pre { class: "run-output",
                            if host.trimmed { span { class: "muted", "… earlier output not shown\n" } }
                            for (i, (stderr, text)) in host.segments.iter().enumerate() {
                                span { key: "{i}", class: if *stderr { "stderr" } else { "" }, "{text}" }
                            }
                        }
                    }
                }
            }
        }
    }
}
