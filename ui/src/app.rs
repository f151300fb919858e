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
    let mut active = use_context_provider(|| Signal::new(ActiveEngine(ctx.profiles.active())));
    // Switching runs here, in the root's scope: the menu or dialog that asks is re-mounted
    // (gone) before it ends.
    let profiles = ctx.profiles.clone();
    let switch = use_callback(move |name: String| {
        let profiles = profiles.clone();
        spawn(async move {
            match profiles.switch(&name).await {
                Ok(engine) => active.set(ActiveEngine(engine)),
                Err(e) => tracing::warn!("cannot open profile {name}: {e}"),
            }
        });
    });
    use_context_provider(|| crate::shell::profiles::SwitchProfile(switch));
    let engine = active.read().0.clone();
    let profile = engine.profile().to_owned();
    let ctx = UiContext { engine, ..ctx };
    // A keyed list of one: Dioxus honours keys only in lists, and a new key is what makes
    // it drop the old shell (its hooks and subscriptions) instead of re-rendering it.
    rsx! {
        for name in [profile] {
            ProfileShell { key: "{name}", ctx: ctx.clone() }
        }
    }
}

/// Everything one profile shows.
#[component]
fn ProfileShell(ctx: UiContext) -> Element {
    let theme = use_context::<Signal<crate::Theme>>();
    use_context_provider(|| ctx.clone());
    use_context_provider(Toasts::default);
    crate::vm::provide_inventory();
    crate::status::provide_status();
    crate::vm::provide_vm_requests();
    crate::vm::provide_connection_tests();
    crate::job::provide_jobs_version();
    crate::command::provide_command_ui();
    crate::shared::lag_probe::use_lag_probe();
    let screen = use_context_provider(|| Signal::new(Screen::Dashboard));
    // The page title names the profile too (the host sets the window's own title);
    // profile names are [a-z0-9_-], safe inside a JS string.
    let title = format!("VM Orchestrator — {}", ctx.engine.profile());
    use_effect(move || {
        let _ = document::eval(&format!("document.title = '{title}';"));
    });

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
