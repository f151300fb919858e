//! A centred dialog over a dimmed backdrop.

use dioxus::prelude::*;

#[component]
pub fn Modal(title: String, id: String, on_close: EventHandler<()>, children: Element) -> Element {
    rsx! {
        div { class: "backdrop", onclick: move |_| on_close.call(()),
            div {
                class: "modal",
                id: "{id}",
                role: "dialog",
                onclick: move |e| e.stop_propagation(),
                div { class: "modal-head",
                    h2 { "{title}" }
                    button {
                        class: "icon-button",
                        title: "Close",
                        onclick: move |_| on_close.call(()),
                        "✕"
                    }
                }
                {children}
            }
        }
    }
}
