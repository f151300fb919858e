//! Output that tries to hurt, through the log model and its display form: what the viewer
//! shows of each line holds no control character and no escape sequence, and an overlong
//! line is cut into bounded pieces that together keep every byte.

use vmo_joblog::ansi::{spans, Colour, Style};
use vmo_joblog::{Chunk, JobLog, Stream, MAX_LINE};

fn displayed(line: &str) -> String {
    spans(line).iter().map(|s| s.text.as_ref()).collect()
}

fn assert_displayable(line: &str) {
    for span in spans(line) {
        assert!(
            span.text.chars().all(|c| c == '\t' || !c.is_control()),
            "{:?} shows {:?}",
            line,
            span.text
        );
    }
}

/// `data` pushed as one host's stdout in chunks of `size` bytes, then flushed.
fn log_of(data: &[u8], size: usize) -> JobLog {
    let mut log = JobLog::new(vec!["h".into()]);
    for (i, piece) in data.chunks(size).enumerate() {
        log.push(&Chunk {
            id: i as i64 + 1,
            host: 0,
            stream: Stream::Stdout,
            at_ms: 0,
            data: piece.to_vec(),
        });
    }
    log.flush_all();
    log
}

#[test]
fn title_clipboard_and_other_sequences_do_nothing_and_show_nothing() {
    let cases = [
        ("\x1b]0;pwned title\x07after", "after"),
        ("\x1b]2;pwned title\x1b\\after", "after"),
        ("before\x1b]52;c;cm0gLXJmIH4K\x07after", "beforeafter"),
        ("\x1b]52;p;?\x1b\\x", "x"),
        ("\x1bP+q544e\x1b\\dcs", "dcs"),
        ("\x1b_apc\x1b\\\x1b^pm\x1b\\\x1bXsos\x1b\\text", "text"),
        ("\x1b[2J\x1b[H\x1b[?1049h\x1b[6nscreen", "screen"),
        ("\x1b]0;never ended", ""),
        ("\x1bc\x1b7\x1b8\x1b(0reset", "reset"),
    ];
    for (line, shown) in cases {
        assert_eq!(displayed(line), shown, "{line:?}");
        assert_displayable(line);
    }
}

#[test]
fn a_hyperlink_shows_its_text_only() {
    let line = "see \x1b]8;id=1;https://evil.example/\x1b\\the docs\x1b]8;;\x1b\\ now";
    assert_eq!(displayed(line), "see the docs now");
    let bel = "\x1b]8;;file:///etc/passwd\x07click\x1b]8;;\x07";
    assert_eq!(displayed(bel), "click");
}

#[test]
fn colours_become_styles_and_nothing_else() {
    let red = Style {
        fg: Some(Colour::Indexed(1)),
        ..Style::default()
    };
    let shown = spans("\x1b[31mred\x1b]0;t\x07\x1b[0m plain");
    assert_eq!(shown.len(), 2);
    assert_eq!(
        (shown[0].style.clone(), shown[0].text.as_ref()),
        (red, "red")
    );
    assert_eq!(shown[1].text, " plain");
}

#[test]
fn nul_bell_and_other_controls_show_as_symbols() {
    assert_eq!(displayed("a\0b\x07c"), "a␀b␇c");
    // A backspace moves back without erasing, as on a terminal.
    assert_eq!(displayed("ab\x08X\x08"), "aX");
    assert_eq!(displayed("x\x7fy\u{9b}31mz"), "x␡y\u{fffd}31mz");
    assert_eq!(displayed("tab\tkept"), "tab\tkept");
    // A right-to-left override would show "rm -rf /" reversed as harmless-looking text.
    assert_eq!(
        displayed("ok \u{202e}/ fr- mr\u{202c}"),
        "ok \u{fffd}/ fr- mr\u{fffd}"
    );
    assert_eq!(
        displayed("€ ─ … \u{2067}x\u{2069}"),
        "€ ─ … \u{fffd}x\u{fffd}"
    );
    // A lone ESC that starts no sequence goes; its neighbours stay.
    assert_eq!(displayed("a\x1b"), "a");
}

#[test]
fn a_carriage_return_storm_shows_the_last_state() {
    let progress: String = (0..=100).map(|p| format!("\r{p:>3}%")).collect();
    assert_eq!(displayed(&progress), "100%");
    let storm = "\r".repeat(MAX_LINE);
    assert_eq!(displayed(&storm), "");
    assert_eq!(displayed("abcdef\rXY"), "XYcdef");
    assert_eq!(displayed("\x1b[32mdone\x1b[0m\rDO"), "DOne");
    assert_displayable(&format!("{storm}\x07\x1b]0;t\x07"));
}

#[test]
fn invalid_utf8_is_replaced_not_lost_in_its_line() {
    let log = log_of(b"ok \xff\xfe bytes\n\xc3\n", 3);
    let lines: Vec<&str> = log.lines().map(|l| l.text).collect();
    assert_eq!(lines, ["ok \u{fffd}\u{fffd} bytes", "\u{fffd}"]);
}

#[test]
fn a_hundred_megabyte_line_is_cut_into_bounded_pieces_keeping_every_byte() {
    const SIZE: usize = 100_000_000;
    let data: Vec<u8> = b"0123456789".iter().copied().cycle().take(SIZE).collect();
    let log = log_of(&data, 32 * 1024);
    let mut total = 0;
    for (i, line) in log.lines().enumerate() {
        assert!(line.text.len() <= MAX_LINE, "piece {i}");
        assert!(
            data[total..].starts_with(line.text.as_bytes()),
            "piece {i} differs"
        );
        total += line.text.len();
    }
    assert_eq!(total, SIZE);
    assert_eq!(log.len(), SIZE.div_ceil(MAX_LINE));
}

#[test]
fn a_never_ending_yes_is_lines_of_y() {
    let data = b"y\n".repeat(500_000);
    let log = log_of(&data, 4093);
    assert_eq!(log.len(), 500_000);
    assert!(log.lines().all(|l| l.text == "y"));
}
