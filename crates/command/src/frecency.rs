//! Ranking command history by frecency: how often, weighted by how recently, as zoxide
//! does (×4 within the hour, ×2 within the day, ×½ within the week, ×¼ after). The time is
//! passed in, so ranking is a pure function and tests need no clock.

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const WEEK_MS: i64 = 7 * DAY_MS;

/// The score of something used `count` times, last at `last_used_ms` (Unix ms).
pub fn score(count: u32, last_used_ms: i64, now_ms: i64) -> f64 {
    let age = now_ms.saturating_sub(last_used_ms).max(0);
    let weight = if age < HOUR_MS {
        4.0
    } else if age < DAY_MS {
        2.0
    } else if age < WEEK_MS {
        0.5
    } else {
        0.25
    };
    f64::from(count.max(1)) * weight
}

/// Sorts `items` best first by `score(count, last_used)`; ties go to the more recent.
pub fn rank<T>(items: &mut [T], now_ms: i64, key: impl Fn(&T) -> (u32, i64)) {
    items.sort_by(|a, b| {
        let (ca, la) = key(a);
        let (cb, lb) = key(b);
        score(cb, lb, now_ms)
            .total_cmp(&score(ca, la, now_ms))
            .then(lb.cmp(&la))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_and_frequent_first() {
        let now = 100 * DAY_MS;
        // (name, count, last used)
        let mut items = vec![
            ("old-but-frequent", 20, now - 30 * DAY_MS), // 5
            ("just-now-once", 1, now - 60_000),          // 4
            ("today-thrice", 3, now - 5 * HOUR_MS),      // 6
            ("this-week", 4, now - 2 * DAY_MS),          // 2
            ("hour-twice", 2, now - 10 * 60_000),        // 8
        ];
        rank(&mut items, now, |i| (i.1, i.2));
        let order: Vec<&str> = items.iter().map(|i| i.0).collect();
        assert_eq!(
            order,
            [
                "hour-twice",
                "today-thrice",
                "old-but-frequent",
                "just-now-once",
                "this-week"
            ]
        );
        // An hour later the same history ranks differently.
        rank(&mut items, now + 2 * HOUR_MS, |i| (i.1, i.2));
        assert_eq!(items[0].0, "today-thrice");
    }
}
