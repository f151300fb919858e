//! Settings: appearance (a UI preference), then the engine's settings by section (jobs,
//! status, new VMs), each field checked and put in force as it changes, and where data
//! lives. The host persists what the engine applies.

mod fields;
mod sections;

use crate::{Theme, UiContext};
use dioxus::prelude::*;

#[component]
pub fn Settings() -> Element {
    let ctx = use_context::<UiContext>();
    let mut theme = use_context::<Signal<Theme>>();
    let paths = ctx.engine.paths();
    let profile = paths.profile().to_owned();
    let profile_dir = paths.data_dir().display().to_string();
    let root = paths.root_dir().display().to_string();
    let database = paths.database_file().display().to_string();
    let logs = paths.log_dir().display().to_string();
    let settings_file = paths.settings_file().display().to_string();
    rsx! {
        section { class: "screen",
            h1 { "Settings" }
            div { class: "card settings",
                h2 { "Appearance" }
                div { class: "segmented", id: "theme-choice",
                    for choice in Theme::ALL {
                        button {
                            key: "{choice.as_str()}",
                            id: "theme-{choice.as_str()}",
                            class: if theme() == choice { "active" } else { "" },
                            onclick: {
                                let prefs = ctx.prefs.clone();
                                move |_| {
                                    if let Err(err) = prefs.set_theme(choice) {
                                        tracing::warn!("cannot save theme: {err}");
                                    }
                                    theme.set(choice);
                                }
                            },
                            match choice {
                                Theme::System => "System",
                                Theme::Light => "Light",
                                Theme::Dark => "Dark",
                            }
                        }
                    }
                }
            }
            sections::JobSettings {}
            sections::StatusSettings {}
            sections::NewVmSettings {}
            div { class: "card settings", id: "data-settings",
                h2 { "Data" }
                dl { class: "facts",
                    dt { "Data directory" }
                    dd { code { id: "data-root", "{root}" } }
                    dt { "Active profile" }
                    dd { code { id: "data-profile", "{profile}" } " in " code { id: "data-profile-dir", "{profile_dir}" } }
                    dt { "Inventory database" }
                    dd { code { "{database}" } }
                    dt { "Settings file (all profiles)" }
                    dd { code { "{settings_file}" } }
                    dt { "App logs" }
                    dd { code { "{logs}" } }
                }
                p { class: "muted",
                    "Passwords and key passphrases are never stored here; they belong in the OS keyring."
                }
            }
        }
    }
}
