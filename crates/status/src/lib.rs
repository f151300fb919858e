//! Live VM status, pure (no async, database or SSH): what one probe command prints and how
//! to read it, when a VM counts as degraded, when to probe an offline host again, and how
//! history is rolled up.

pub mod health;

pub use health::Thresholds;
