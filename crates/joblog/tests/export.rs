//! Exports: text, JSON lines, CSV summary.

use vmo_joblog::{
    export_csv, export_jsonl, export_text, format_rfc3339_millis, Chunk, HostSummary, JobLog,
    Stream,
};

fn sample() -> JobLog {
    let mut log = JobLog::new(vec!["web-01".into(), "db \"main\"".into()]);
    let chunks: [(u32, Stream, i64, &[u8]); 4] = [
        (
            0,
            Stream::Stdout,
            1_700_000_000_123,
            b"\x1b[32mok\x1b[0m ready\n",
        ),
        (1, Stream::Stderr, 1_700_000_000_456, b"disk: 91% used\n"),
        (
            1,
            Stream::Marker,
            1_700_000_001_000,
            b"[output truncated at 256 MiB]",
        ),
        (
            0,
            Stream::Stdout,
            1_700_000_002_000,
            b"tab\there \"quoted\" \\ done\n",
        ),
    ];
    for (id, (host, stream, at_ms, data)) in chunks.into_iter().enumerate() {
        log.push(&Chunk {
            id: id as i64 + 1,
            host,
            stream,
            at_ms,
            data: data.to_vec(),
        });
    }
    log
}

fn to_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

#[test]
fn text_without_timestamps() {
    let log = sample();
    let mut out = Vec::new();
    assert_eq!(
        export_text(&log, &[0, 1, 2, 3], false, &mut out).unwrap(),
        4
    );
    assert_eq!(
        to_string(out),
        "web-01: ok ready\n\
         db \"main\" [stderr]: disk: 91% used\n\
         db \"main\" [vmo]: [output truncated at 256 MiB]\n\
         web-01: tab\there \"quoted\" \\ done\n"
    );
}

#[test]
fn text_with_timestamps_and_a_selection() {
    let log = sample();
    let mut out = Vec::new();
    assert_eq!(export_text(&log, &[3, 1, 99], true, &mut out).unwrap(), 2);
    assert_eq!(
        to_string(out),
        "[2023-11-14T22:13:22.000Z] web-01: tab\there \"quoted\" \\ done\n\
         [2023-11-14T22:13:20.456Z] db \"main\" [stderr]: disk: 91% used\n"
    );
}

#[test]
fn jsonl_parses_back_with_raw_text() {
    let log = sample();
    let mut out = Vec::new();
    assert_eq!(export_jsonl(&log, &[0, 1, 2, 3], &mut out).unwrap(), 4);
    let text = to_string(out);
    assert!(text.ends_with('\n'));
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 4);
    assert_eq!(
        records[0],
        serde_json::json!({
            "at_ms": 1_700_000_000_123_i64,
            "at": "2023-11-14T22:13:20.123Z",
            "host": "web-01",
            "stream": "stdout",
            "line": "\x1b[32mok\x1b[0m ready",
        })
    );
    assert_eq!(records[1]["host"], "db \"main\"");
    assert_eq!(records[1]["stream"], "stderr");
    assert_eq!(records[2]["stream"], "marker");
    assert_eq!(records[3]["line"], "tab\there \"quoted\" \\ done");
}

#[test]
fn csv_header_rows_quoting_and_formula_guard() {
    let rows = [
        HostSummary {
            host: "web-01".into(),
            state: "succeeded".into(),
            exit_code: Some(0),
            signal: None,
            duration_ms: Some(1234),
            stdout_lines: 10,
            stderr_lines: 0,
            error: None,
        },
        HostSummary {
            host: "=cmd|' /C calc'!A0".into(),
            state: "failed".into(),
            exit_code: Some(-1),
            signal: Some("TERM".into()),
            duration_ms: None,
            stdout_lines: 0,
            stderr_lines: 2,
            error: Some("connect: \"refused\", retry\nlater".into()),
        },
        HostSummary {
            host: "@evil".into(),
            state: "error".into(),
            error: Some("+1".into()),
            ..HostSummary::default()
        },
    ];
    let mut out = Vec::new();
    assert_eq!(export_csv(&rows, &mut out).unwrap(), 3);
    assert_eq!(
        to_string(out),
        "host,state,exit_code,signal,duration_ms,stdout_lines,stderr_lines,error\r\n\
         web-01,succeeded,0,,1234,10,0,\r\n\
         '=cmd|' /C calc'!A0,failed,-1,TERM,,0,2,\"connect: \"\"refused\"\", retry\nlater\"\r\n\
         '@evil,error,,,,0,0,'+1\r\n"
    );
}

#[test]
fn csv_of_no_rows_is_just_the_header() {
    let mut out = Vec::new();
    assert_eq!(export_csv(&[], &mut out).unwrap(), 0);
    assert_eq!(
        to_string(out),
        "host,state,exit_code,signal,duration_ms,stdout_lines,stderr_lines,error\r\n"
    );
}

#[test]
fn rfc3339_of_known_instants() {
    assert_eq!(format_rfc3339_millis(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(
        format_rfc3339_millis(1_700_000_000_123),
        "2023-11-14T22:13:20.123Z"
    );
    assert_eq!(
        format_rfc3339_millis(1_709_164_800_007),
        "2024-02-29T00:00:00.007Z"
    );
}

#[test]
fn write_errors_are_returned() {
    struct Broken;
    impl std::io::Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let log = sample();
    let err = export_text(&log, &[0], false, &mut Broken).unwrap_err();
    assert_eq!(err.to_string(), "disk full");
    assert!(export_jsonl(&log, &[0], &mut Broken).is_err());
    assert!(export_csv(&[], &mut Broken).is_err());
}
