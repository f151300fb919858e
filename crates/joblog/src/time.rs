//! UTC timestamps as RFC 3339 text, without a date-time dependency.

/// Formats milliseconds since the Unix epoch as UTC RFC 3339 with milliseconds,
/// e.g. `1_700_000_000_123` → `"2023-11-14T22:13:20.123Z"`. Instants before 1970 work too.
pub fn format_rfc3339_millis(at_ms: i64) -> String {
    let days = at_ms.div_euclid(MS_PER_DAY);
    let ms_of_day = at_ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let seconds = ms_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        ms_of_day % 1000
    )
}

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after Howard Hinnant's
/// `civil_from_days`: count in 400-year eras (146,097 days each) starting on 1 March, so the
/// leap day is the last day of its year and needs no special case.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::format_rfc3339_millis as fmt;

    #[test]
    fn epoch() {
        assert_eq!(fmt(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn known_instant_with_millis() {
        assert_eq!(fmt(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn leap_day_and_the_day_after() {
        // 2024-02-29T12:34:56.789Z = 1709210096789 ms.
        assert_eq!(fmt(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
        assert_eq!(fmt(1_709_251_200_000), "2024-03-01T00:00:00.000Z");
        // 2000 is a leap year (divisible by 400); 1900 is not.
        assert_eq!(fmt(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(fmt(-2_203_891_200_000), "1900-03-01T00:00:00.000Z");
    }

    #[test]
    fn end_of_year_and_before_epoch() {
        assert_eq!(fmt(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
        assert_eq!(fmt(-1), "1969-12-31T23:59:59.999Z");
    }
}
