//! Live VM status, pure (no async, database or SSH): what one probe command prints and how
//! to read it, when a VM counts as degraded, when to probe a host again (back-off), and
//! how many notifications a flapping fleet may raise.

pub mod health;
pub mod notices;
pub mod probe;
pub mod schedule;

pub use health::{Breach, Figures, Health, Metric, Thresholds};
pub use notices::{NoticeLimiter, Verdict};
pub use probe::{CpuTimes, ParseError, Reading, Usage};
pub use schedule::Schedule;
