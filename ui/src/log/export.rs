//! Saving a job's log (whole or as filtered) as text or JSON lines, or its per-host summary
//! as CSV, where the user says in a save dialog.

use super::{host_set, Choice};
use crate::shared::toast::use_toasts;
use crate::shared::Shared;
use crate::UiContext;
use dioxus::prelude::*;
use std::io::Write as _;
use std::path::Path;
use vmo_engine::jobs::log::{export_csv, export_jsonl, export_text, JobLog, LogFilter, TextMatch};
use vmo_engine::jobs::{host_summaries, JobDetail};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Jsonl,
    Csv,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Text => "log",
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
        }
    }
}

#[component]
pub fn ExportMenu(
    detail: Shared<JobDetail>,
    log: Signal<JobLog>,
    choice: Choice,
    by_status: Option<Vec<u32>>,
) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let mut open = use_signal(|| false);
    let mut filtered = use_signal(|| true);
    let id = detail.job.id.0;
    let mut save = move |format: Format| {
        open.set(false);
        let ctx = ctx.clone();
        // A copy for the writer thread, made only when exporting.
        let detail = JobDetail::clone(&detail);
        let snapshot = log.peek().clone();
        let filter = if filtered() {
            LogFilter {
                hosts: host_set(choice.host, by_status.as_deref()),
                stream: choice.stream,
                text: match choice.text.trim() {
                    "" => None,
                    t => TextMatch::new(t, choice.regex, false).ok(),
                },
            }
        } else {
            LogFilter::default()
        };
        spawn(async move {
            let desktop = ctx.desktop.clone();
            let name = format!("job-{id}.{}", format.extension());
            let chosen =
                tokio::task::spawn_blocking(move || desktop.save_file("Export job log", &name))
                    .await;
            let Ok(Some(path)) = chosen else { return };
            let shown = path.display().to_string();
            let written = tokio::task::spawn_blocking(move || {
                write(&path, format, &snapshot, &detail, &filter)
            })
            .await;
            match written {
                Ok(Ok(n)) => toasts.show(format!(
                    "Saved {n} {} to {shown}",
                    if format == Format::Csv {
                        "hosts"
                    } else {
                        "lines"
                    }
                )),
                Ok(Err(e)) => toasts.error(format!("Cannot write {shown}: {e}")),
                Err(e) => toasts.error(format!("Export failed: {e}")),
            }
        });
    };
    rsx! {
        div { class: "export-menu",
            button { class: "button small", id: "log-export", onclick: move |_| open.toggle(), "Export ▾" }
            if open() {
                div { class: "menu", id: "log-export-menu",
                    label { class: "check",
                        input {
                            r#type: "checkbox",
                            id: "log-export-filtered",
                            checked: filtered(),
                            onchange: move |e| filtered.set(e.checked()),
                        }
                        "Only what the filters show"
                    }
                    button { class: "menu-item", id: "log-export-text", onclick: {
                            let mut save = save.clone();
                            move |_| save(Format::Text)
                        }, "Log as text…" }
                    button { class: "menu-item", id: "log-export-jsonl", onclick: {
                            let mut save = save.clone();
                            move |_| save(Format::Jsonl)
                        }, "Log as JSON lines…" }
                    button { class: "menu-item", id: "log-export-csv", onclick: move |_| save(Format::Csv), "Host summary as CSV…" }
                }
            }
        }
    }
}

fn write(
    path: &Path,
    format: Format,
    log: &JobLog,
    detail: &JobDetail,
    filter: &LogFilter,
) -> std::io::Result<usize> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    let n = match format {
        Format::Text => export_text(log, &log.filter(filter), true, &mut out)?,
        Format::Jsonl => export_jsonl(log, &log.filter(filter), &mut out)?,
        Format::Csv => export_csv(&host_summaries(detail, log), &mut out)?,
    };
    out.flush()?;
    Ok(n)
}
