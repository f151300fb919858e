//! Short messages at the bottom of the window. Information ("Added web-1") leaves by itself
//! after a few seconds; an error stays until the user closes it, so it cannot be missed.

use dioxus::prelude::*;
use std::time::Duration;

/// How long information stays on screen.
pub const INFO_SHOWN: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Info,
    Error,
}

#[derive(Debug, Clone, PartialEq)]
struct Message {
    /// Tells a message from the next one with the same text.
    serial: u64,
    kind: ToastKind,
    text: String,
}

#[derive(Clone, Copy)]
pub struct Toasts {
    message: Signal<Option<Message>>,
    shown: Signal<u64>,
}

impl Default for Toasts {
    fn default() -> Self {
        Self {
            message: Signal::new(None),
            shown: Signal::new(0),
        }
    }
}

impl Toasts {
    /// Information: replaces the current toast and leaves after [`INFO_SHOWN`].
    pub fn show(self, text: impl Into<String>) {
        self.put(ToastKind::Info, text.into());
    }

    /// An error: replaces the current toast and stays until closed.
    pub fn error(self, text: impl Into<String>) {
        self.put(ToastKind::Error, text.into());
    }

    fn put(mut self, kind: ToastKind, text: String) {
        let serial = *self.shown.peek() + 1;
        self.shown.set(serial);
        self.message.set(Some(Message { serial, kind, text }));
    }

    /// Removes the toast with this serial, unless a newer one replaced it.
    fn dismiss(mut self, serial: u64) {
        if self
            .message
            .peek()
            .as_ref()
            .is_some_and(|m| m.serial == serial)
        {
            self.message.set(None);
        }
    }
}

pub fn use_toasts() -> Toasts {
    use_context::<Toasts>()
}

#[component]
pub fn Toast() -> Element {
    let toasts = use_toasts();
    // The timer runs here, in a component that lives as long as the window. Started by the
    // caller, it would die with the caller's component: a dialog that closes right after
    // showing "Imported: 20 added" took its timer along, and the toast stayed for good.
    use_effect(move || {
        let current = toasts.message.read().as_ref().map(|m| (m.serial, m.kind));
        if let Some((serial, ToastKind::Info)) = current {
            spawn(async move {
                tokio::time::sleep(INFO_SHOWN).await;
                toasts.dismiss(serial);
            });
        }
    });
    let message = toasts.message.read();
    match message.as_ref() {
        Some(Message {
            kind: ToastKind::Info,
            text,
            ..
        }) => rsx! {
            div { class: "toast", id: "toast", role: "status", "{text}" }
        },
        Some(Message {
            kind: ToastKind::Error,
            text,
            serial,
        }) => {
            let serial = *serial;
            rsx! {
                div { class: "toast error", id: "toast", role: "alert",
                    span { "{text}" }
                    button {
                        class: "toast-close",
                        id: "toast-close",
                        title: "Close",
                        onclick: move |_| toasts.dismiss(serial),
                        "×"
                    }
                }
            }
        }
        None => rsx! {},
    }
}
