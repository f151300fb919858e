//! Short confirmations ("Added web-1") that fade by themselves.

use dioxus::prelude::*;
use std::time::Duration;

#[derive(Clone, Copy)]
pub struct Toasts {
    message: Signal<Option<(u64, String)>>,
}

impl Default for Toasts {
    fn default() -> Self {
        Self {
            message: Signal::new(None),
        }
    }
}

impl Toasts {
    pub fn show(mut self, text: impl Into<String>) {
        let serial = self.message.peek().as_ref().map_or(0, |(n, _)| n + 1);
        self.message.set(Some((serial, text.into())));
        spawn(async move {
            tokio::time::sleep(Duration::from_secs(4)).await;
            // Only clear our own message, not a newer one.
            if self
                .message
                .peek()
                .as_ref()
                .is_some_and(|(n, _)| *n == serial)
            {
                self.message.set(None);
            }
        });
    }
}

pub fn use_toasts() -> Toasts {
    use_context::<Toasts>()
}

#[component]
pub fn Toast() -> Element {
    let toasts = use_toasts();
    let message = toasts.message.read();
    match message.as_ref() {
        Some((_, text)) => rsx! {
            div { class: "toast", id: "toast", role: "status", "{text}" }
        },
        None => rsx! {},
    }
}
