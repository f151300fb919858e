//! Property tests of the probe parser: whatever a host answers (any bytes, or a probe
//! answer with hostile figures), parsing never panics, and every figure it keeps is in
//! range. A short run by default; `PROPTEST_CASES=100000 cargo test -p vmo-status --test
//! fuzz` runs the long one (see "Fuzzing" in README.md).

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use vmo_status::probe::{parse, ParseError, MARKER, MAX_OUTPUT};
use vmo_status::{CpuTimes, Reading};

/// The case count: `PROPTEST_CASES` when set, else `short` (the CI run). Failures found
/// are kept in `tests/proptest-regressions/` and tried first on every run.
fn config(short: u32) -> ProptestConfig {
    let mut config = ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/fuzz.txt",
        ))),
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = short;
    }
    config
}

/// Numbers as a hostile or broken host may print them: huge, negative, not numbers.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        (0u64..100_000_000).prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| f.to_string()),
        prop::sample::select(vec![
            "18446744073709551615",
            "18446744073709551616",
            "-1",
            "NaN",
            "inf",
            "-inf",
            "1e308",
            "",
            "0x10",
            "1.5.2",
        ])
        .prop_map(str::to_string),
    ]
}

/// A line of some section, shaped like the real thing but with any figures.
fn section_line() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "@loadavg", "@stat", "@meminfo", "@df", "@uptime", "@os", "@end", "@", "@@",
        ])
        .prop_map(str::to_string),
        prop::collection::vec(number(), 0..5).prop_map(|n| n.join(" ")),
        (
            prop::sample::select(vec!["cpu ", "cpu0 ", "cpu"]),
            prop::collection::vec(number(), 0..10)
        )
            .prop_map(|(head, n)| format!("{head}{}", n.join(" "))),
        (
            prop::sample::select(vec![
                "MemTotal",
                "MemFree",
                "MemAvailable",
                "Buffers",
                "Cached"
            ]),
            number()
        )
            .prop_map(|(key, n)| format!("{key}: {n} kB")),
        prop::collection::vec(number(), 0..4)
            .prop_map(|n| format!("/dev/sda1 {} 12% /", n.join(" "))),
        (
            prop::sample::select(vec!["ID", "NAME", "VERSION_ID", "PRETTY_NAME"]),
            any::<String>()
        )
            .prop_map(|(key, v)| format!("{key}={v}")),
        any::<String>(),
    ]
}

fn probe_answer() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<String>(),
        prop::collection::vec(section_line(), 0..40),
    )
        .prop_map(|(uname, lines)| {
            let mut text = format!("{MARKER}\n{uname}\n");
            for line in lines {
                text.push_str(&line);
                text.push('\n');
            }
            text.into_bytes()
        })
}

/// Every figure of `reading` is in range and every text short and free of control
/// characters (they go to the screen and to notifications).
fn assert_in_range(reading: &Reading) -> Result<(), TestCaseError> {
    if let Some(load) = reading.load {
        prop_assert!(
            load.iter().all(|l| l.is_finite() && *l >= 0.0),
            "{:?}",
            load
        );
    }
    if let Some(per_cpu) = reading.load_per_cpu() {
        prop_assert!(per_cpu.is_finite() && per_cpu >= 0.0);
    }
    if let Some(cpu) = reading.cpu_times {
        prop_assert!(cpu.busy <= cpu.total, "{:?}", cpu);
        let earlier = CpuTimes { busy: 0, total: 0 };
        if let Some(pct) = cpu.busy_pct_since(&earlier) {
            prop_assert!((0.0..=100.0).contains(&pct));
        }
    }
    for usage in [reading.memory, reading.disk].into_iter().flatten() {
        prop_assert!(usage.used <= usage.total, "{:?}", usage);
        prop_assert!((0.0..=100.0).contains(&usage.pct()), "{:?}", usage);
    }
    if let Some(cpus) = reading.cpu_count {
        prop_assert!(cpus >= 1 && (cpus as usize) <= MAX_OUTPUT);
    }
    for text in [
        &reading.kernel,
        &reading.os,
        &reading.os_id,
        &reading.os_version,
    ]
    .into_iter()
    .flatten()
    {
        prop_assert!(
            text.chars().count() <= 120,
            "{} chars",
            text.chars().count()
        );
        prop_assert!(!text.chars().any(char::is_control), "{:?}", text);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    /// Any bytes at all: an answer without the marker is that error, naming at most 80
    /// characters of the first line; anything else is a reading in range.
    #[test]
    fn any_bytes_parse_or_fail_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        match parse(&bytes) {
            Ok(reading) => assert_in_range(&reading)?,
            Err(ParseError::NoMarker(first)) => prop_assert!(first.chars().count() <= 80),
        }
    }

    /// Probe answers with hostile figures: huge, negative, non-numbers, long texts.
    #[test]
    fn hostile_figures_stay_in_range(answer in probe_answer()) {
        let reading = parse(&answer);
        prop_assert!(reading.is_ok());
        assert_in_range(&reading.unwrap_or_default())?;
    }

    /// Banner lines before the marker are skipped: the same answer with any banner that
    /// holds no marker line reads the same.
    #[test]
    fn a_banner_before_the_marker_changes_nothing(
        banner in prop::collection::vec("[^\\n\\r]{0,40}", 0..5),
        answer in probe_answer(),
    ) {
        prop_assume!(banner.iter().all(|l| l.trim_end() != MARKER));
        let mut with_banner: Vec<u8> = banner.iter().flat_map(|l| format!("{l}\n").into_bytes()).collect();
        with_banner.extend_from_slice(&answer);
        prop_assert_eq!(parse(&with_banner), parse(&answer));
    }
}

#[test]
fn free_memory_near_the_limit_does_not_overflow() {
    let answer = format!(
        "{MARKER}\n@meminfo\nMemTotal: 16 kB\nMemFree: {} kB\nBuffers: {} kB\nCached: {} kB\n",
        u64::MAX / 1024,
        u64::MAX / 1024,
        u64::MAX / 1024
    );
    let memory = parse(answer.as_bytes()).unwrap().memory.unwrap();
    assert_eq!((memory.used, memory.total), (0, 16 * 1024));
}

#[test]
fn a_long_kernel_line_with_escapes_is_cut_and_cleaned() {
    let answer = format!(
        "{MARKER}\nLinux \x1b]0;title\x07{}\n@end\n",
        "6".repeat(10_000)
    );
    let kernel = parse(answer.as_bytes()).unwrap().kernel.unwrap();
    assert_eq!(kernel.chars().count(), 120);
    assert!(kernel.starts_with("Linux ]0;title6"), "{kernel:?}");
}
