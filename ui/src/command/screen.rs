//! The Commands screen: templates by tag, search, create, edit, duplicate, delete, import
//! and export.

use crate::shell::NotBuilt;
use dioxus::prelude::*;

/// Being built in this session (issue 9).
#[component]
pub fn CommandsScreen() -> Element {
    rsx! {
        NotBuilt {
            title: "Commands",
            what: "Command templates and the command builder are not built yet.",
        }
    }
}
