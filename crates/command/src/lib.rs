//! Command templates of VM Orchestrator, pure: no async, no database, no SSH.
//!
//! A [`Template`] is a command with Warp-style `{{param}}` / `{{param:default}}`
//! placeholders and typed [`Param`]s. [`render`] checks every value (all problems at once,
//! per parameter) and substitutes it quoted for the remote POSIX shell, whatever shell
//! syntax surrounds the placeholder, so no value can leave its argument. Templates travel
//! as YAML packs ([`pack`]) and come in from Warp workflows ([`warp`]) and navi cheats
//! ([`navi`]); [`starter`] is the read-only library every user gets. [`frecency`] ranks
//! command history and [`search`] is the palette's fuzzy matcher (nucleo).

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod frecency;
pub mod import;
pub mod navi;
pub mod pack;
mod placeholder;
mod problem;
pub mod quote;
mod render;
pub mod search;
pub mod starter;
mod template;
mod value;
pub mod warp;

pub use placeholder::{parse_command, Piece, QuoteContext};
pub use problem::{ImportError, Problem, Problems};
pub use render::{render, Rendered, TemplateRun};
pub use template::{Param, ParamType, Template, NAME_MAX};
pub use value::{Value, Values};
