//! Widgets and helpers every feature module uses.

pub mod lag_probe;
pub mod modal;
pub mod time;
pub mod toast;
