//! The command module: templates (the Commands screen and its editor), the builder that
//! turns a template and a choice of VMs into a job, and the command palette (Ctrl+K).
//! The builder and the palette are dialogs over any screen, so they hang off the root and
//! are opened through [`CommandUi`].

mod builder;
mod complete;
mod editor;
mod files;
mod keys;
mod palette;
mod params;
mod screen;
mod search;

pub use builder::BuilderDialog;
pub use complete::{use_completion, Choice, CompletionList, KeyOutcome};
pub use palette::Palette;
pub use screen::CommandsScreen;

use dioxus::prelude::*;
use vmo_engine::VmId;

/// Open the builder for `template` (a name), on `targets` (empty: the user picks them).
#[derive(Debug, Clone, PartialEq)]
pub struct BuilderRequest {
    pub template: String,
    pub targets: Vec<VmId>,
}

/// What any component may open: the builder, the palette.
#[derive(Clone, Copy)]
pub struct CommandUi {
    pub builder: Signal<Option<BuilderRequest>>,
    pub palette_open: Signal<bool>,
    /// Asked from elsewhere (the palette): the Commands screen opens a new template.
    pub new_template: Signal<bool>,
}

impl CommandUi {
    pub fn open_builder(mut self, template: impl Into<String>, targets: Vec<VmId>) {
        self.builder.set(Some(BuilderRequest {
            template: template.into(),
            targets,
        }));
    }

    pub fn open_palette(mut self) {
        self.palette_open.set(true);
    }
}

pub fn provide_command_ui() {
    use_context_provider(|| CommandUi {
        builder: Signal::new(None),
        palette_open: Signal::new(false),
        new_template: Signal::new(false),
    });
}

pub fn use_command_ui() -> CommandUi {
    use_context::<CommandUi>()
}
