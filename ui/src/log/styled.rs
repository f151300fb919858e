//! A line of command output drawn with its ANSI colours: the one rendering every log view
//! (interleaved, per host, grouped, diff) uses, so none of them shows raw escape sequences.

use dioxus::prelude::*;
use vmo_engine::jobs::log::ansi;

/// `text` as styled spans; other escape sequences (cursor movement, titles) are dropped.
pub fn styled(text: &str) -> Element {
    rsx! {
        for (n, span) in ansi::spans(text).into_iter().enumerate() {
            span { key: "{n}", style: span.style.css(), "{span.text}" }
        }
    }
}
