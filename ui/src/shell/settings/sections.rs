//! The engine's settings by section. Each field names the engine field whose error it shows.
// `Ok(s.field = parse(raw)?)` keeps each setter on one line: the unit is the point.
#![allow(clippy::unit_arg)]

use super::fields::{number, optional, tags, whole, Setter, SettingCheck, SettingField, Toggle};
use crate::UiContext;
use dioxus::prelude::*;

#[component]
pub fn JobSettings() -> Element {
    let s = use_context::<UiContext>().engine.settings();
    let j = &s.jobs;
    let timeout = j.timeout_secs.map(|t| t.to_string()).unwrap_or_default();
    rsx! {
        div { class: "card settings", id: "job-settings",
            h2 { "Jobs" }
            div { class: "field-row",
                SettingField {
                    id: "setting-hosts-at-once", label: "Hosts at once per job", field: "jobs.hosts_at_once",
                    value: "{j.hosts_at_once}",
                    set: Setter(|s, raw| Ok(s.jobs.hosts_at_once = whole(raw, "hosts")?)),
                    hint: "What a new job starts with.",
                }
                SettingField {
                    id: "setting-timeout", label: "Timeout per host (s)", field: "jobs.timeout_secs",
                    value: timeout, placeholder: "none",
                    set: Setter(|s, raw| Ok(s.jobs.timeout_secs = optional(raw).map(|t| whole(&t, "seconds")).transpose()?)),
                    hint: "Empty: no timeout.",
                }
                SettingField {
                    id: "setting-global-limit", label: "Host runs at once, all jobs", field: "jobs.global_limit",
                    value: "{j.global_limit}",
                    set: Setter(|s, raw| Ok(s.jobs.global_limit = whole(raw, "host runs")?)),
                    hint: "Shared with vmo. Lowering it lets running hosts finish.",
                }
                SettingField {
                    id: "output-cap", label: "Output kept per host (MiB)", field: "jobs.output_cap_mib",
                    value: "{j.output_cap_mib}",
                    set: Setter(|s, raw| Ok(s.jobs.output_cap_mib = whole(raw, "MiB, at least 1 MiB")?)),
                    hint: "Beyond it a job keeps running; its output is marked as cut.",
                }
            }
            SettingField {
                id: "guarded-tags", label: "Ask before running on VMs tagged", field: "jobs.guarded_tags",
                value: j.guarded_tags.join(", "), kind: "text", placeholder: "prod, critical",
                set: Setter(|s, raw| Ok(s.jobs.guarded_tags = tags(raw))),
            }
            p { class: "muted", "Desktop notifications when a job ends:" }
            div { class: "check-list", id: "notify-choices",
                SettingCheck { id: "notify-succeeded", label: "it succeeded", on: s.notify.job_succeeded,
                    set: Toggle(|s, on| s.notify.job_succeeded = on) }
                SettingCheck { id: "notify-failed", label: "it failed or timed out", on: s.notify.job_failed,
                    set: Toggle(|s, on| s.notify.job_failed = on) }
                SettingCheck { id: "notify-recovered", label: "it succeeded after its previous run failed",
                    on: s.notify.job_recovered, set: Toggle(|s, on| s.notify.job_recovered = on) }
            }
        }
    }
}

#[component]
pub fn StatusSettings() -> Element {
    let s = use_context::<UiContext>().engine.settings();
    let st = &s.status;
    let t = &st.thresholds;
    rsx! {
        div { class: "card settings", id: "status-settings",
            h2 { "Status" }
            div { class: "field-row",
                SettingField {
                    id: "setting-interval", label: "Probe every (s)", field: "status.interval_secs",
                    value: "{st.interval_secs}",
                    set: Setter(|s, raw| Ok(s.status.interval_secs = whole(raw, "seconds")?)),
                    hint: "5 to 3600 seconds.",
                }
                SettingField {
                    id: "setting-load", label: "Degraded from load per CPU", field: "status.thresholds.load_per_cpu",
                    value: "{t.load_per_cpu}",
                    set: Setter(|s, raw| Ok(s.status.thresholds.load_per_cpu = number(raw, "load per CPU")?)),
                }
                SettingField {
                    id: "setting-memory", label: "… memory used (%)", field: "status.thresholds.memory_pct",
                    value: "{t.memory_pct}",
                    set: Setter(|s, raw| Ok(s.status.thresholds.memory_pct = number(raw, "percent")?)),
                }
                SettingField {
                    id: "setting-disk", label: "… disk used (%)", field: "status.thresholds.disk_pct",
                    value: "{t.disk_pct}",
                    set: Setter(|s, raw| Ok(s.status.thresholds.disk_pct = number(raw, "percent")?)),
                }
                SettingField {
                    id: "setting-latency", label: "… latency (ms)", field: "status.thresholds.latency_ms",
                    value: "{t.latency_ms}",
                    set: Setter(|s, raw| Ok(s.status.thresholds.latency_ms = whole(raw, "milliseconds")?)),
                }
            }
            SettingField {
                id: "setting-off-tags", label: "Never probe VMs tagged", field: "status.off_tags",
                value: st.off_tags.join(", "), kind: "text", placeholder: "no-probe",
                set: Setter(|s, raw| Ok(s.status.off_tags = tags(raw))),
            }
            p { class: "muted", "Desktop notifications when a VM:" }
            div { class: "check-list", id: "notify-vm-choices",
                SettingCheck { id: "notify-vm-offline", label: "goes offline", on: s.notify.vm_offline,
                    set: Toggle(|s, on| s.notify.vm_offline = on) }
                SettingCheck { id: "notify-vm-online", label: "comes back online", on: s.notify.vm_back_online,
                    set: Toggle(|s, on| s.notify.vm_back_online = on) }
                SettingCheck { id: "notify-vm-threshold", label: "crosses a threshold", on: s.notify.vm_threshold,
                    set: Toggle(|s, on| s.notify.vm_threshold = on) }
            }
        }
    }
}

#[component]
pub fn NewVmSettings() -> Element {
    let s = use_context::<UiContext>().engine.settings();
    rsx! {
        div { class: "card settings", id: "new-vm-settings",
            h2 { "New VMs" }
            div { class: "field-row",
                SettingField {
                    id: "setting-default-user", label: "Default user", field: "new_vm.user",
                    value: s.new_vm.user.clone().unwrap_or_default(), kind: "text", placeholder: "(your login)",
                    set: Setter(|s, raw| Ok(s.new_vm.user = optional(raw))),
                }
                SettingField {
                    id: "setting-default-key", label: "Default key file", field: "new_vm.key_file",
                    value: s.new_vm.key_file.clone().unwrap_or_default(), kind: "text", placeholder: "~/.ssh/id_ed25519",
                    set: Setter(|s, raw| Ok(s.new_vm.key_file = optional(raw))),
                    hint: "A new VM's form starts with these; existing VMs keep theirs.",
                }
            }
        }
    }
}
