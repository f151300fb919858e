//! A VM's live status on its page: the current figures, "Probe now", and charts over
//! 1 h / 24 h / 7 d.

use super::chart::Chart;
use super::figures::{format_ago, format_bytes, format_span_secs, reason};
use super::{use_fleet, StatusBadge};
use crate::job::now_ms;
use crate::UiContext;
use dioxus::prelude::*;
use vmo_engine::status::{Health, Metric, Span};
use vmo_engine::VmId;

/// History rolls samples into buckets of this size beyond the last hour.
const BUCKET_MS: i64 = 5 * 60_000;

#[component]
pub fn VmStatusPanel(vm: VmId) -> Element {
    let ctx = use_context::<UiContext>();
    let fleet = use_fleet();
    let mut asked = use_signal(|| None::<Option<i64>>);
    let fleet_now = fleet.read();
    let status = fleet_now.get(vm).cloned();
    let off = fleet_now.off.contains(&vm);
    // While paused the monitor starts no probe, not even an asked one.
    let paused = fleet_now.paused;
    drop(fleet_now);
    let checked = status.as_ref().and_then(|s| s.checked_ms);
    // "Probing…" until a probe newer than the one shown when asked comes back.
    let probing = asked().is_some_and(|before| before == checked);
    let health = status.as_ref().map_or(Health::Unknown, |s| s.health);
    let why = reason(status.as_ref(), off);
    let now = now_ms();
    let reading = status.as_ref().and_then(|s| s.reading.clone());
    let dash = || "—".to_string();
    let latency = status
        .as_ref()
        .and_then(|s| s.latency_ms)
        .map_or_else(dash, |l| format!("{l} ms"));
    let load = reading
        .as_ref()
        .and_then(|r| r.load)
        .map_or_else(dash, |l| {
            let per_cpu = reading
                .as_ref()
                .and_then(|r| r.load_per_cpu())
                .map(|p| format!(" ({p:.2} per CPU)"))
                .unwrap_or_default();
            format!("{:.2} {:.2} {:.2}{per_cpu}", l[0], l[1], l[2])
        });
    let cpus = reading
        .as_ref()
        .and_then(|r| r.cpu_count)
        .map(|c| format!(" of {c} CPU{}", if c == 1 { "" } else { "s" }))
        .unwrap_or_default();
    let cpu = status
        .as_ref()
        .and_then(|s| s.cpu_pct)
        .map_or_else(dash, |c| format!("{c:.0}%{cpus}"));
    let usage = |u: Option<vmo_engine::status::Reading>, disk: bool| {
        u.and_then(|r| if disk { r.disk } else { r.memory })
            .map_or_else(dash, |u| {
                format!(
                    "{} of {} ({:.0}%)",
                    format_bytes(u.used),
                    format_bytes(u.total),
                    u.pct()
                )
            })
    };
    let memory = usage(reading.clone(), false);
    let disk = usage(reading.clone(), true);
    let uptime = reading
        .as_ref()
        .and_then(|r| r.uptime_secs)
        .map_or_else(dash, format_span_secs);
    let os = reading
        .as_ref()
        .and_then(|r| r.os.clone().or_else(|| r.os_id.clone()))
        .map_or_else(dash, |os| {
            match reading.as_ref().and_then(|r| r.os_version.clone()) {
                Some(v) if !os.contains(&v) => format!("{os} {v}"),
                _ => os,
            }
        });
    let kernel = reading
        .as_ref()
        .and_then(|r| r.kernel.clone())
        .unwrap_or_else(dash);
    let last_probe = checked.map_or_else(|| "never".to_string(), |at| format_ago(now, at));
    let last_ok = status
        .as_ref()
        .and_then(|s| s.last_ok_ms)
        .map_or_else(|| "never".to_string(), |at| format_ago(now, at));
    let error = status.as_ref().and_then(|s| s.error.clone());
    let stale = health == Health::Offline && reading.is_some();

    rsx! {
        section { class: "vm-status-panel", id: "vm-status",
            div { class: "vm-status-head",
                StatusBadge { health, reason: why.clone(), id: "vm-status-badge" }
                span { class: "vm-status-reason", id: "vm-status-reason",
                    if health != Health::Online { "{why}" }
                }
                button {
                    class: "button small",
                    id: "probe-now",
                    disabled: probing || off || paused,
                    title: if off {
                        "Probing is off for this VM's tags"
                    } else if paused {
                        "Probing is paused (resume it on the dashboard)"
                    } else {
                        "Probe this VM now"
                    },
                    onclick: {
                        let status = ctx.engine.status().clone();
                        move |_| {
                            asked.set(Some(checked));
                            status.probe_soon(&[vm]);
                        }
                    },
                    if probing { "Probing…" } else { "Probe now" }
                }
            }
            if stale {
                p { class: "muted small-note", "Figures from the last successful probe, {last_ok}." }
            }
            dl { class: "facts status-facts",
                dt { "Latency" }
                dd { id: "vm-metric-latency", "{latency}" }
                dt { "Load (1, 5, 15 min)" }
                dd { id: "vm-metric-load", "{load}" }
                dt { "CPU" }
                dd { id: "vm-metric-cpu", "{cpu}" }
                dt { "Memory" }
                dd { id: "vm-metric-memory", "{memory}" }
                dt { "Disk (/)" }
                dd { id: "vm-metric-disk", "{disk}" }
                dt { "Uptime" }
                dd { id: "vm-metric-uptime", "{uptime}" }
                dt { "OS" }
                dd { id: "vm-metric-os", "{os}" }
                dt { "Kernel" }
                dd { class: "mono", id: "vm-metric-kernel", "{kernel}" }
                dt { "Last probe" }
                dd { id: "vm-last-probe", "{last_probe}" }
                if let Some(error) = error {
                    dt { "Last error" }
                    dd { class: "error-text", id: "vm-last-error", title: "{error.code}", "{error.message}" }
                }
            }
            Charts { vm }
        }
    }
}

/// The five charts over a chosen span; reloaded when a new probe comes back.
#[component]
fn Charts(vm: VmId) -> Element {
    let ctx = use_context::<UiContext>();
    let mut span = use_signal(|| Span::Hour);
    let interval_ms = i64::try_from(ctx.engine.settings().status.interval_secs)
        .unwrap_or(30)
        .max(1)
        * 1000;
    // Only a new probe of this VM reloads its history, not every fleet round.
    let fleet = use_fleet();
    let probe = use_memo(move || fleet.read().get(vm).and_then(|s| s.checked_ms));
    let history = use_resource(move || {
        let status = ctx.engine.status().clone();
        let span = span();
        let _ = probe();
        async move {
            let history = status.history(vm, span).await;
            (span, now_ms(), history)
        }
    });
    let body = match &*history.read() {
        None => rsx! { p { class: "muted", "Loading history…" } },
        Some((_, _, Err(e))) => rsx! { div { class: "alert error", "{e.message}" } },
        Some((shown, now, Ok(h))) => {
            let (from, to) = (now - shown.millis(), *now);
            // Missing a few rounds (or a bucket) is a gap: the VM did not answer.
            let gap = if *shown == Span::Hour {
                interval_ms * 5 / 2
            } else {
                BUCKET_MS * 5 / 2
            };
            let charts = [
                (Metric::Latency, "Latency", " ms", None),
                (Metric::Load, "Load (1 min)", "", None),
                (Metric::Cpu, "CPU", "%", Some(100.0)),
                (Metric::Memory, "Memory", "%", Some(100.0)),
                (Metric::Disk, "Disk", "%", Some(100.0)),
            ];
            rsx! {
                div { class: "charts",
                    for (metric, title, unit, fixed_max) in charts {
                        Chart {
                            key: "{metric.as_str()}",
                            id: "vm-chart-{metric.as_str()}",
                            title,
                            unit,
                            points: h.series(metric).to_vec(),
                            from_ms: from,
                            to_ms: to,
                            gap_ms: gap,
                            fixed_max,
                        }
                    }
                }
            }
        }
    };
    rsx! {
        div { class: "charts-head",
            h3 { "History" }
            div { class: "segmented", id: "chart-span",
                for s in Span::ALL {
                    button {
                        key: "{s.label()}",
                        id: "chart-span-{span_id(s)}",
                        class: if span() == s { "active" } else { "" },
                        onclick: move |_| span.set(s),
                        "{s.label()}"
                    }
                }
            }
        }
        {body}
    }
}

fn span_id(span: Span) -> &'static str {
    match span {
        Span::Hour => "hour",
        Span::Day => "day",
        Span::Week => "week",
    }
}
