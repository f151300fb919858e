//! Layout and navigation: header, sidebar, and which screen fills the content area.

pub(crate) mod profiles;
mod settings;

use crate::command::CommandsScreen;
use crate::job::{JobPage, JobsScreen};
use crate::vm::{use_inventory, VmScreen};
use crate::{Theme, UiContext};
use dioxus::prelude::*;
use vmo_engine::jobs::JobId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// The home screen.
    Dashboard,
    Vms,
    Jobs,
    /// One job's page (under Jobs in the sidebar).
    Job(JobId),
    Commands,
    Settings,
}

impl Screen {
    const ALL: [Screen; 5] = [
        Screen::Dashboard,
        Screen::Vms,
        Screen::Jobs,
        Screen::Commands,
        Screen::Settings,
    ];

    /// The sidebar entry this screen belongs to.
    fn section(self) -> Screen {
        match self {
            Self::Job(_) => Self::Jobs,
            other => other,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Dashboard => "Dashboard",
            Self::Vms => "VMs",
            Self::Jobs | Self::Job(_) => "Jobs",
            Self::Commands => "Commands",
            Self::Settings => "Settings",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Self::Dashboard => "nav-dashboard",
            Self::Vms => "nav-vms",
            Self::Jobs | Self::Job(_) => "nav-jobs",
            Self::Commands => "nav-commands",
            Self::Settings => "nav-settings",
        }
    }

    fn icon(self) -> &'static str {
        match self {
            Self::Dashboard => "◫",
            Self::Vms => "▤",
            Self::Jobs | Self::Job(_) => "▶",
            Self::Commands => "⌘",
            Self::Settings => "⚙",
        }
    }

    pub fn render(self) -> Element {
        match self {
            Self::Dashboard => rsx! { crate::status::Dashboard {} },
            Self::Vms => rsx! { VmScreen {} },
            Self::Jobs => rsx! { JobsScreen {} },
            Self::Job(id) => rsx! { JobPage { key: "{id.0}", id } },
            Self::Commands => rsx! { CommandsScreen {} },
            Self::Settings => rsx! { settings::Settings {} },
        }
    }
}

#[component]
pub fn Header(screen: Signal<Screen>) -> Element {
    let inventory = use_inventory();
    let mut theme = use_context::<Signal<Theme>>();
    let ctx = use_context::<UiContext>();
    let command_ui = crate::command::use_command_ui();
    let count = inventory.read().vms.len();
    let next = match theme() {
        Theme::System => Theme::Light,
        Theme::Light => Theme::Dark,
        Theme::Dark => Theme::System,
    };
    rsx! {
        header { class: "header",
            div { class: "brand",
                span { class: "brand-mark", "◆" }
                span { "VM Orchestrator" }
            }
            profiles::ProfileMenu {}
            div { class: "header-status", id: "header-status",
                span { class: "pill", "{count} VM" if count != 1 { "s" } }
                crate::status::HeaderSummary {}
            }
            button {
                class: "palette-button",
                id: "palette-open",
                title: "Search everything (Ctrl+K)",
                onclick: move |_| command_ui.open_palette(),
                span { "Search…" }
                kbd { "Ctrl K" }
            }
            button {
                class: "icon-button",
                id: "theme-toggle",
                title: "Theme: {theme().as_str()} (click for {next.as_str()})",
                onclick: move |_| {
                    if let Err(err) = ctx.prefs.set_theme(next) {
                        tracing::warn!("cannot save theme: {err}");
                    }
                    theme.set(next);
                },
                match theme() {
                    Theme::System => "◐",
                    Theme::Light => "☀",
                    Theme::Dark => "☾",
                }
            }
        }
    }
}

#[component]
pub fn Sidebar(screen: Signal<Screen>) -> Element {
    rsx! {
        nav { class: "sidebar",
            for item in Screen::ALL {
                button {
                    key: "{item.id()}",
                    id: item.id(),
                    class: if screen().section() == item { "nav-item active" } else { "nav-item" },
                    onclick: move |_| screen.set(item),
                    span { class: "nav-icon", "{item.icon()}" }
                    span { "{item.label()}" }
                }
            }
        }
    }
}

/// A screen whose feature has not been built: says so plainly, links nowhere.
#[component]
pub fn NotBuilt(title: &'static str, what: &'static str) -> Element {
    rsx! {
        section { class: "screen",
            h1 { "{title}" }
            div { class: "empty-state not-built",
                p { class: "empty-title", "Not built yet" }
                p { "{what}" }
                p { class: "muted", "Until then, everything works from the VMs screen." }
            }
        }
    }
}
