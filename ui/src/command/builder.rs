//! The builder: a form from a template's parameters, suggestions from the hosts, a preview
//! of the exact command and the targets, then a job.

use dioxus::prelude::*;

/// Being built in this session (issue 9); renders nothing until then.
#[component]
pub fn BuilderDialog() -> Element {
    rsx! {}
}
