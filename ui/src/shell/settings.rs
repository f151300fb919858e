//! Settings: what exists so far (theme, where data lives).

use crate::{Theme, UiContext};
use dioxus::prelude::*;

#[component]
pub fn Settings() -> Element {
    let ctx = use_context::<UiContext>();
    let mut theme = use_context::<Signal<Theme>>();
    let data_dir = ctx.engine.paths().data_dir().display().to_string();
    let database = ctx.engine.paths().database_file().display().to_string();
    let logs = ctx.engine.paths().log_dir().display().to_string();
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
            div { class: "card settings",
                h2 { "Data" }
                dl { class: "facts",
                    dt { "Data directory" }
                    dd { code { "{data_dir}" } }
                    dt { "Inventory database" }
                    dd { code { "{database}" } }
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
