//! The root component: provides shared context and lays out the shell.

use crate::shared::toast::{Toast, Toasts};
use crate::shell::{Header, Screen, Sidebar};
use crate::UiContext;
use dioxus::prelude::*;

#[component]
pub fn Root(ctx: UiContext) -> Element {
    let theme = use_signal(|| ctx.prefs.theme());
    use_context_provider(|| ctx.clone());
    use_context_provider(|| theme);
    use_context_provider(Toasts::default);
    crate::vm::provide_inventory();
    crate::status::provide_status();
    crate::vm::provide_vm_requests();
    crate::vm::provide_connection_tests();
    crate::job::provide_jobs_version();
    crate::command::provide_command_ui();
    crate::shared::lag_probe::use_lag_probe();
    let screen = use_context_provider(|| Signal::new(Screen::Dashboard));

    rsx! {
        div { class: "app theme-{theme().as_str()}", id: "app",
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
