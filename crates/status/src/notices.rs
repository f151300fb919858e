//! How many status notifications reach the desktop: a flapping host or a network outage
//! must not bury the user. Each VM gets at most one notice per quiet period, and the whole
//! fleet at most a few per minute; what is held back is counted and said with the next
//! notice that gets through. Time is passed in.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// One notice per VM per this many milliseconds.
pub const PER_VM_QUIET_MS: u64 = 5 * 60 * 1000;
/// At most [`FLEET_BURST`] notices in any window of this length.
pub const FLEET_WINDOW_MS: u64 = 60 * 1000;
pub const FLEET_BURST: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Show it; `held_back` changes were swallowed since the last notice that got through
    /// (of this VM, or of the fleet).
    Show { held_back: u32 },
    /// Swallowed (counted for the next one).
    Hold,
}

#[derive(Debug)]
pub struct NoticeLimiter<K> {
    last_shown: HashMap<K, u64>,
    recent: VecDeque<u64>,
    held_back: u32,
}

impl<K: Hash + Eq + Clone> Default for NoticeLimiter<K> {
    fn default() -> Self {
        Self {
            last_shown: HashMap::new(),
            recent: VecDeque::new(),
            held_back: 0,
        }
    }
}

impl<K: Hash + Eq + Clone> NoticeLimiter<K> {
    /// May a notice about `vm` be shown at `now_ms`?
    pub fn check(&mut self, vm: &K, now_ms: u64) -> Verdict {
        while self
            .recent
            .front()
            .is_some_and(|t| now_ms.saturating_sub(*t) >= FLEET_WINDOW_MS)
        {
            self.recent.pop_front();
        }
        let vm_quiet = self
            .last_shown
            .get(vm)
            .is_none_or(|t| now_ms.saturating_sub(*t) >= PER_VM_QUIET_MS);
        if !vm_quiet || self.recent.len() >= FLEET_BURST {
            self.held_back += 1;
            return Verdict::Hold;
        }
        self.last_shown.insert(vm.clone(), now_ms);
        self.recent.push_back(now_ms);
        Verdict::Show {
            held_back: std::mem::take(&mut self.held_back),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flapping_host_gets_one_notice_per_quiet_period() {
        let mut l = NoticeLimiter::default();
        assert_eq!(l.check(&"web", 0), Verdict::Show { held_back: 0 });
        // It flaps every 10 s for four minutes: all held.
        for t in 1..24 {
            assert_eq!(l.check(&"web", t * 10_000), Verdict::Hold);
        }
        assert_eq!(
            l.check(&"web", PER_VM_QUIET_MS),
            Verdict::Show { held_back: 23 }
        );
    }

    #[test]
    fn an_outage_shows_a_few_notices_and_counts_the_rest() {
        let mut l = NoticeLimiter::default();
        let shown = (0..50)
            .filter(|vm| matches!(l.check(vm, 1000), Verdict::Show { .. }))
            .count();
        assert_eq!(shown, FLEET_BURST);
        // A minute later the next notice says how many were held back.
        assert_eq!(
            l.check(&99, 1000 + FLEET_WINDOW_MS),
            Verdict::Show { held_back: 46 }
        );
    }
}
