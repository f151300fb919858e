//! The command palette (Ctrl+K): fuzzy-find screens, VMs, tags, templates, recent commands
//! and actions from anywhere.

use dioxus::prelude::*;

/// Being built in this session (issue 9); renders nothing until then.
#[component]
pub fn Palette() -> Element {
    rsx! {}
}
