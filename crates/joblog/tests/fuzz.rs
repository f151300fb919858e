//! Property tests of what hosts may send: the line splitter keeps every byte whatever the
//! chunking, and the display form of any line holds no control character or escape
//! sequence. A short run by default; `PROPTEST_CASES=100000 cargo test -p vmo-joblog --test
//! fuzz` runs the long one (see "Fuzzing" in README.md).

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::FileFailurePersistence;
use vmo_joblog::ansi::{spans, strip};
use vmo_joblog::{Chunk, JobLog, Stream, MAX_LINE};

/// The case count: `PROPTEST_CASES` when set, else `short` (the CI run).
/// Failures found are kept in `tests/proptest-regressions/` and tried first on every run.
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

/// Pieces of output as hosts send it: any bytes, line ends of every kind, multi-byte
/// characters, and runs long enough to be cut at [`MAX_LINE`], ending just around it.
fn segment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => prop::collection::vec(any::<u8>(), 0..24),
        3 => prop::sample::select(vec![
            &b"\n"[..], b"\r\n", b"\r", b"\n\n", "é".as_bytes(), "€".as_bytes(),
            "𝄞".as_bytes(), b"\xe2\x82", b"\x82", b"\xff", b"\0", b"\x1b[31m", b"\x1b]0;t\x07",
        ])
        .prop_map(<[u8]>::to_vec),
        1 => (MAX_LINE - 4..MAX_LINE + 4, prop::sample::select(vec![&b"x"[..], "€".as_bytes()]))
            .prop_map(|(len, unit)| unit.iter().copied().cycle().take(len).collect()),
    ]
}

fn output() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(segment(), 0..12).prop_map(|s| s.concat())
}

/// `data` cut at the given places (any number, anywhere, empty chunks included).
fn chunked(data: &[u8], cuts: &[Index]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts.iter().map(|i| i.index(data.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    let mut start = 0;
    for cut in at.into_iter().chain([data.len()]) {
        out.push(data[start..cut].to_vec());
        start = cut;
    }
    out
}

fn chunk(id: i64, host: u32, stream: Stream, data: Vec<u8>) -> Chunk {
    Chunk {
        id,
        host,
        stream,
        at_ms: 1000 + id,
        data,
    }
}

/// One host's stdout pushed as `chunks`, then flushed: its lines.
fn lines_of(chunks: &[Vec<u8>]) -> Vec<String> {
    let mut log = JobLog::new(vec!["h".into()]);
    for (id, data) in chunks.iter().enumerate() {
        log.push(&chunk(id as i64 + 1, 0, Stream::Stdout, data.clone()));
    }
    log.flush_all();
    log.lines().map(|l| l.text.to_string()).collect()
}

/// Whether `c` may appear in displayed text: no control character but a tab, and no bidi
/// override or isolate.
fn displayable(c: char) -> bool {
    c == '\t' || !(c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
}

/// Text a host prints between escape sequences: no ESC and no control character.
fn plain() -> impl Strategy<Value = String> {
    "[^\\x00-\\x1f\\x7f-\\u{9f}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}]{0,12}"
}

/// Escape sequences that must not act in the viewer nor show: titles (OSC 0, 2), the
/// clipboard (OSC 52), other OSC, DCS/APC strings, cursor movement and erasing (CSI),
/// two-byte escapes, charset selection.
fn hostile_escape() -> impl Strategy<Value = String> {
    let payload = "[^\\x07\\x1b]{0,16}";
    let end = prop::sample::select(vec!["\x07", "\x1b\\"]);
    prop_oneof![
        (
            prop::sample::select(vec!["0", "1", "2", "52", "7", "1337"]),
            payload,
            end.clone()
        )
            .prop_map(|(n, p, e)| format!("\x1b]{n};{p}{e}")),
        ("[0-9;?]{0,8}", "[@-ln-~]").prop_map(|(p, f)| format!("\x1b[{p}{f}")),
        (prop::sample::select(vec!["P", "_", "^", "X"]), payload, end)
            .prop_map(|(k, p, e)| format!("\x1b{k}{p}{e}")),
        "[0-9A-OQ-WYZa-z=>]".prop_map(|c| format!("\x1b{c}")),
        "[()*+][0-9A-B]".prop_map(|c| format!("\x1b{c}")),
    ]
}

/// Colours: any SGR parameter list, `;` and `:` forms, numbers past every range.
fn sgr() -> impl Strategy<Value = String> {
    "[0-9;:]{0,24}".prop_map(|p| format!("\x1b[{p}m"))
}

proptest! {
    #![proptest_config(config(64))]

    /// However the output is cut into chunks, the same lines come out.
    #[test]
    fn lines_do_not_depend_on_the_chunking(data in output(), cuts in prop::collection::vec(any::<Index>(), 0..8)) {
        let whole = lines_of(std::slice::from_ref(&data));
        let pieces = lines_of(&chunked(&data, &cuts));
        prop_assert_eq!(pieces, whole);
    }

    /// Valid UTF-8 loses nothing: the lines put back together are the input without its
    /// line ends, and no line is longer than MAX_LINE bytes.
    #[test]
    fn lines_keep_every_byte_of_text(
        data in output().prop_map(|d| String::from_utf8_lossy(&d).replace('\r', "")),
        cuts in prop::collection::vec(any::<Index>(), 0..8),
    ) {
        let lines = lines_of(&chunked(data.as_bytes(), &cuts));
        prop_assert_eq!(lines.concat(), data.replace('\n', ""));
        prop_assert!(lines.len() >= data.matches('\n').count());
        prop_assert!(lines.iter().all(|l| l.len() <= MAX_LINE));
    }

    /// Any bytes: each line ends where a newline was or is a MAX_LINE cut, bytes that are
    /// not UTF-8 become U+FFFD, and the count of each valid character is kept.
    #[test]
    fn lines_of_any_bytes_are_bounded_and_keep_valid_text(data in output()) {
        let lines = lines_of(std::slice::from_ref(&data));
        prop_assert!(lines.iter().all(|l| l.len() <= 3 * MAX_LINE));
        let kept: String = lines.concat();
        let text = String::from_utf8_lossy(&data);
        let ended: Vec<&str> = text.split('\n').collect();
        let (last, complete) = ended.split_last().unwrap_or((&"", &[]));
        // A line's `\r\n` loses its `\r`; an unfinished last line keeps it.
        let expected: String = complete
            .iter()
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .chain([*last])
            .collect();
        // Cuts may fall inside invalid sequences, which then read as more U+FFFDs.
        let without_replacements = |s: &str| s.replace('\u{fffd}', "");
        prop_assert_eq!(without_replacements(&kept), without_replacements(&expected));
    }

    /// Hosts and streams interleaved chunk by chunk keep their own lines apart.
    #[test]
    fn interleaved_hosts_and_streams_keep_their_lines(
        outputs in prop::collection::vec((output(), prop::collection::vec(any::<Index>(), 0..4)), 4),
        order in prop::collection::vec(any::<Index>(), 0..64),
    ) {
        let keys = [(0, Stream::Stdout), (0, Stream::Stderr), (1, Stream::Stdout), (1, Stream::Stderr)];
        let mut queues: Vec<std::collections::VecDeque<Vec<u8>>> = outputs
            .iter()
            .map(|(data, cuts)| chunked(data, cuts).into())
            .collect();
        let mut log = JobLog::new(vec!["a".into(), "b".into()]);
        let mut id = 0;
        let mut push = |log: &mut JobLog, q: usize, data: Vec<u8>| {
            id += 1;
            let (host, stream) = keys[q];
            log.push(&chunk(id, host, stream, data));
        };
        for pick in order {
            let q = pick.index(4);
            if let Some(data) = queues[q].pop_front() {
                push(&mut log, q, data);
            }
        }
        for (q, queue) in queues.iter_mut().enumerate() {
            while let Some(data) = queue.pop_front() {
                push(&mut log, q, data);
            }
        }
        log.flush_all();
        for (q, (data, _)) in outputs.iter().enumerate() {
            let (host, stream) = keys[q];
            let got: Vec<&str> = log.host_output(host, stream).collect();
            prop_assert_eq!(got, lines_of(std::slice::from_ref(data)), "host {} {:?}", host, stream);
        }
    }

    /// Whatever a line holds, its display form has no control character and no ESC.
    #[test]
    fn displayed_text_holds_no_control_character(line in any::<String>()) {
        for span in spans(&line) {
            prop_assert!(span.text.chars().all(displayable), "{:?}", span.text);
        }
    }

    /// Same with lines built of escape sequences, controls and text, as hostile output is.
    #[test]
    fn displayed_escapes_and_controls_never_show(
        parts in prop::collection::vec(prop_oneof![
            plain(),
            hostile_escape(),
            sgr(),
            "[\\x00-\\x1f\\x7f\\u{80}-\\u{9f}\\u{202a}-\\u{202e}\\u{2066}-\\u{2069}]{1,3}",
        ], 0..12),
    ) {
        let line = parts.concat();
        for span in spans(&line) {
            prop_assert!(span.text.chars().all(displayable), "{:?} from {:?}", span.text, line);
        }
    }

    /// Titles, clipboard writes, hyperlinks and every other non-SGR sequence leave only the
    /// text around them (an OSC 8 link its text), and colours change styles, not text.
    #[test]
    fn escapes_leave_exactly_the_text(
        parts in prop::collection::vec((plain(), prop_oneof![hostile_escape(), sgr()]), 0..10),
        last in plain(),
    ) {
        let line: String = parts.iter().map(|(t, e)| format!("{t}{e}")).collect::<String>() + &last;
        let text: String = parts.iter().map(|(t, _)| t.as_str()).collect::<String>() + &last;
        let shown: String = spans(&line).iter().map(|s| s.text.as_ref()).collect();
        prop_assert_eq!(&shown, &text);
        prop_assert_eq!(strip(&line), text);
    }

    /// An OSC 8 hyperlink shows its text and nothing of its target.
    #[test]
    fn hyperlinks_show_their_text_only(before in plain(), target in "[!-~]{0,40}", text in plain(), st in any::<bool>()) {
        let end = if st { "\x1b\\" } else { "\x07" };
        let line = format!("{before}\x1b]8;;{target}{end}{text}\x1b]8;;{end}!");
        let shown: String = spans(&line).iter().map(|s| s.text.as_ref()).collect();
        prop_assert_eq!(shown, format!("{before}{text}!"));
    }

    /// Carriage returns overwrite from the start of the line: the last of a storm of
    /// progress updates is what shows, as on a terminal.
    #[test]
    fn carriage_returns_show_the_last_state(updates in prop::collection::vec(plain(), 1..20)) {
        let line = updates.join("\r");
        let mut screen: Vec<char> = Vec::new();
        for update in &updates {
            for (i, c) in update.chars().enumerate() {
                match screen.get_mut(i) {
                    Some(slot) => *slot = c,
                    None => screen.push(c),
                }
            }
        }
        let shown: String = spans(&line).iter().map(|s| s.text.as_ref()).collect();
        prop_assert_eq!(shown, screen.into_iter().collect::<String>());
    }
}
