//! The root component: the app-wide theme and the active profile; below it, the shell of
//! that profile, re-mounted (fresh contexts, fresh subscriptions) when the profile changes,
//! so nothing of one profile's data can linger in the other's screens.

use crate::shared::toast::{Toast, Toasts};
use crate::shell::profiles::ActiveEngine;
use crate::shell::{Header, Screen, Sidebar};
use crate::UiContext;
use dioxus::prelude::*;

#[component]
pub fn Root(ctx: UiContext) -> Element {
    let theme = use_signal(|| ctx.prefs.theme());
    use_context_provider(|| theme);
    let active = use_context_provider(|| Signal::new(ActiveEngine(ctx.profiles.active())));
    let engine = active.read().0.clone();
    let profile = engine.profile().to_owned();
    let ctx = UiContext { engine, ..ctx };
    rsx! {
        ProfileShell { key: "{profile}", ctx }
    }
}

/// Everything one profile shows.
#[component]
fn ProfileShell(ctx: UiContext) -> Element {
    let theme = use_context::<Signal<crate::Theme>>();
    use_context_provider(|| ctx.clone());
    use_context_provider(Toasts::default);
    crate::vm::provide_inventory();
    crate::vm::provide_vm_requests();
    crate::vm::provide_connection_tests();
    crate::job::provide_jobs_version();
    crate::command::provide_command_ui();
    crate::shared::lag_probe::use_lag_probe();
    let screen = use_context_provider(|| Signal::new(Screen::Vms));

    rsx! {
        div { class: "app theme-{theme().as_str()}", id: "app", "data-profile": "{ctx.engine.profile()}",
            Header { screen }
            Sidebar { screen }
            main { class: "content", id: "content",
                {screen().render()}
            }
            crate::command::BuilderDialog {}
            crate::command::Palette {}
            Toast {}
        }
    }
}
