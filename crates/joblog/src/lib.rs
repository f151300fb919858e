//! The job-log model of VM Orchestrator.
//!
//! A job runs one command on many hosts; its output arrives as [`Chunk`]s. [`JobLog`] turns
//! them into lines that the viewer and `vmo job logs` filter ([`LogFilter`]), fold by
//! identical output ([`group_hosts`], [`diff_hosts`]), colour ([`ansi`]) and export
//! ([`export_text`], [`export_jsonl`], [`export_csv`]).
//!
//! The crate is pure: no async, no database, and no I/O besides writing exports to a
//! [`std::io::Write`], so every front end and the engine can share it.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod ansi;
mod chunk;
mod export;
mod filter;
mod group;
mod lines;
mod time;

pub use chunk::{Chunk, Stream};
pub use export::{export_csv, export_jsonl, export_text, HostSummary};
pub use filter::{LogFilter, TextMatch};
pub use group::{
    diff_hosts, group_hosts, group_summary, DiffLine, DiffTag, Grouping, NotRun, OutputGroup,
};
pub use lines::{JobLog, Line, MAX_LINE};
pub use time::format_rfc3339_millis;
