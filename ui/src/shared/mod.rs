//! Widgets and helpers every feature module uses.

pub mod modal;
pub mod time;
pub mod toast;
