//! ANSI escape sequences in command output: colours kept as styled spans, everything else
//! (cursor movement, line erasing, window titles) removed.
//!
//! SGR sequences (`ESC [ … m`) set colour and emphasis: reset, bold, dim, italic, underline,
//! inverse, the 16 colours and their bright variants, 256 colours (`38;5;n`, `48;5;n`) and
//! truecolour (`38;2;r;g;b`), in the `;` form and the `:` sub-parameter form. Every other
//! escape sequence is dropped: CSI (`ESC [` … final byte), OSC and the other string
//! sequences (`ESC ]` … BEL or `ESC \`), two-byte escapes, and a lone ESC.
//!
//! What [`spans`] returns for display never holds a control character: carriage returns and
//! backspaces move the cursor as on a terminal, and other controls show as visible symbols,
//! so output that tries to set the window title or the clipboard (OSC 0, 2, 52), to hide a
//! link behind other text (OSC 8: its text stays, the target goes) or to ring the bell does
//! none of it in the viewer.
//!
//! Each line is parsed on its own: a colour set on one line does not carry into the next.
//! Lines are shown filtered, grouped and out of order, so a style inherited from whatever line
//! happened to precede would be wrong more often than right; programs that colour a line
//! normally set and reset the colour on that line.

use std::borrow::Cow;

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;

/// A colour of the xterm palette (0–15 standard and bright, 16–231 the 6×6×6 cube,
/// 232–255 greys) or a truecolour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    Indexed(u8),
    Rgb(u8, u8, u8),
}

impl Colour {
    /// The colour as CSS hex, `#rrggbb`, with xterm's default palette for indexed colours.
    pub fn css(&self) -> String {
        let (r, g, b) = self.rgb();
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    fn rgb(self) -> (u8, u8, u8) {
        match self {
            Colour::Rgb(r, g, b) => (r, g, b),
            Colour::Indexed(n @ 0..=15) => BASIC[usize::from(n)],
            Colour::Indexed(n @ 16..=231) => {
                let level = |v: u8| if v == 0 { 0 } else { 55 + 40 * v };
                let n = n - 16;
                (level(n / 36), level(n / 6 % 6), level(n % 6))
            }
            Colour::Indexed(n) => {
                let grey = 8 + 10 * (n - 232);
                (grey, grey, grey)
            }
        }
    }
}

/// xterm's 16 basic colours.
const BASIC: [(u8, u8, u8); 16] = [
    (0x00, 0x00, 0x00),
    (0xcd, 0x00, 0x00),
    (0x00, 0xcd, 0x00),
    (0xcd, 0xcd, 0x00),
    (0x00, 0x00, 0xee),
    (0xcd, 0x00, 0xcd),
    (0x00, 0xcd, 0xcd),
    (0xe5, 0xe5, 0xe5),
    (0x7f, 0x7f, 0x7f),
    (0xff, 0x00, 0x00),
    (0x00, 0xff, 0x00),
    (0xff, 0xff, 0x00),
    (0x5c, 0x5c, 0xff),
    (0xff, 0x00, 0xff),
    (0x00, 0xff, 0xff),
    (0xff, 0xff, 0xff),
];

/// The look of a run of text. `None` colours mean the viewer's default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Style {
    pub fg: Option<Colour>,
    pub bg: Option<Colour>,
    pub bold: bool,
    pub dim: bool,
    pub italic: bool,
    pub underline: bool,
    pub inverse: bool,
}

impl Style {
    /// The SGR parameters that set this style after a reset, each with a leading `;`
    /// (`";1;38;5;208"`); empty for the default style.
    pub fn sgr(&self) -> String {
        let mut out = String::new();
        for (on, code) in [
            (self.bold, 1),
            (self.dim, 2),
            (self.italic, 3),
            (self.underline, 4),
            (self.inverse, 7),
        ] {
            if on {
                out.push_str(&format!(";{code}"));
            }
        }
        for (colour, base) in [(self.fg, 38), (self.bg, 48)] {
            match colour {
                Some(Colour::Indexed(n)) => out.push_str(&format!(";{base};5;{n}")),
                Some(Colour::Rgb(r, g, b)) => out.push_str(&format!(";{base};2;{r};{g};{b}")),
                None => {}
            }
        }
        out
    }

    /// An inline CSS declaration list, `""` for the default style. Inverse swaps foreground
    /// and background; a default colour it moves is written as the CSS variable
    /// `--ansi-fg` or `--ansi-bg` (falling back to light grey on black) so the viewer can
    /// supply its own theme colours.
    pub fn css(&self) -> String {
        let css_or = |colour: Option<Colour>, default: &str| {
            Some(colour.map_or_else(|| default.to_owned(), |c| c.css()))
        };
        let (fg, bg) = if self.inverse {
            (
                css_or(self.bg, DEFAULT_BG_VAR),
                css_or(self.fg, DEFAULT_FG_VAR),
            )
        } else {
            (self.fg.map(|c| c.css()), self.bg.map(|c| c.css()))
        };
        let mut declarations = Vec::new();
        if let Some(fg) = fg {
            declarations.push(format!("color:{fg}"));
        }
        if let Some(bg) = bg {
            declarations.push(format!("background-color:{bg}"));
        }
        if self.bold {
            declarations.push("font-weight:bold".to_owned());
        }
        if self.dim {
            declarations.push("opacity:0.7".to_owned());
        }
        if self.italic {
            declarations.push("font-style:italic".to_owned());
        }
        if self.underline {
            declarations.push("text-decoration:underline".to_owned());
        }
        declarations.join(";")
    }

    /// Applies the parameters of one SGR sequence (the text between `ESC [` and `m`).
    fn apply_sgr(&mut self, params: &str) {
        let mut params = params.split(';');
        while let Some(param) = params.next() {
            if param.contains(':') {
                self.apply_sub_params(param);
                continue;
            }
            let Some(code) = sgr_number(param) else {
                continue;
            };
            match code {
                38 => self.fg = extended_colour(&mut params).or(self.fg),
                48 => self.bg = extended_colour(&mut params).or(self.bg),
                _ => self.apply_code(code),
            }
        }
    }

    fn apply_code(&mut self, code: u16) {
        match code {
            0 => *self = Style::default(),
            1 => self.bold = true,
            2 => self.dim = true,
            3 => self.italic = true,
            4 => self.underline = true,
            7 => self.inverse = true,
            22 => (self.bold, self.dim) = (false, false),
            23 => self.italic = false,
            24 => self.underline = false,
            27 => self.inverse = false,
            30..=37 => self.fg = Some(indexed(code - 30)),
            39 => self.fg = None,
            40..=47 => self.bg = Some(indexed(code - 40)),
            49 => self.bg = None,
            90..=97 => self.fg = Some(indexed(code - 90 + 8)),
            100..=107 => self.bg = Some(indexed(code - 100 + 8)),
            _ => {}
        }
    }

    /// One parameter in the ITU T.416 `:` form: `38:5:n`, `38:2:r:g:b`, `38:2::r:g:b`
    /// (empty colour-space id), or an underline style `4:n` (`4:0` turns it off).
    fn apply_sub_params(&mut self, param: &str) {
        let parts: Vec<&str> = param.split(':').collect();
        let colour = || match parts.get(1).copied() {
            Some("5") => parts
                .get(2)
                .and_then(|n| n.parse().ok())
                .map(Colour::Indexed),
            // Skips the optional colour-space id: the last three values are r, g, b.
            Some("2") if parts.len() >= 5 => rgb(&parts[parts.len() - 3..]),
            _ => None,
        };
        match parts.first().copied() {
            Some("38") => self.fg = colour().or(self.fg),
            Some("48") => self.bg = colour().or(self.bg),
            Some("4") => self.underline = parts.get(1).is_some_and(|style| *style != "0"),
            _ => {}
        }
    }
}

const DEFAULT_FG_VAR: &str = "var(--ansi-fg,#e5e5e5)";
const DEFAULT_BG_VAR: &str = "var(--ansi-bg,#000000)";

/// An SGR parameter's number; an empty parameter means 0, so `ESC [ m` resets.
fn sgr_number(param: &str) -> Option<u16> {
    if param.is_empty() {
        Some(0)
    } else {
        param.parse().ok()
    }
}

fn indexed(n: u16) -> Colour {
    Colour::Indexed(u8::try_from(n).unwrap_or(0))
}

/// The colour after a `38` or `48`: `5;n` or `2;r;g;b`, taking those parameters.
fn extended_colour<'a>(params: &mut impl Iterator<Item = &'a str>) -> Option<Colour> {
    match params.next()? {
        "5" => params.next()?.parse().ok().map(Colour::Indexed),
        "2" => {
            let values: Vec<&str> = params.take(3).collect();
            rgb(&values)
        }
        _ => None,
    }
}

fn rgb(values: &[&str]) -> Option<Colour> {
    match values {
        [r, g, b] => Some(Colour::Rgb(
            r.parse().ok()?,
            g.parse().ok()?,
            b.parse().ok()?,
        )),
        _ => None,
    }
}

/// A run of text in one style.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span<'a> {
    pub style: Style,
    /// Borrowed from the line, or owned where removed escapes joined two runs.
    pub text: Cow<'a, str>,
}

/// The line as styled runs of visible text, without empty runs, neighbours of equal style
/// merged: the one display form of a line. A line without ESC or control characters is one
/// default-style span borrowing the line.
///
/// No span holds a control character, whatever the host sent: a carriage return moves back
/// to the start of the line and a backspace one character left, so what follows overwrites
/// what was there, as on a terminal (a progress bar shows its last state); a tab stays;
/// any other C0 or C1 control shows as its visible symbol (`␀`, `␇`, `␛`…, `�` for C1 and
/// for the bidi overrides that would reorder what follows).
pub fn spans(line: &str) -> Vec<Span<'_>> {
    if !needs_display_care(line) {
        return vec![Span {
            style: Style::default(),
            text: Cow::Borrowed(line),
        }];
    }
    if line.contains(['\r', '\u{8}']) {
        return overwritten_spans(line);
    }
    let mut style = Style::default();
    let mut spans: Vec<Span<'_>> = Vec::new();
    for token in Tokens::new(line) {
        match token {
            Token::Text(text) => {
                let text = visible(text);
                match spans.last_mut() {
                    Some(last) if last.style == style => last.text.to_mut().push_str(&text),
                    _ if text.is_empty() => {}
                    _ => spans.push(Span {
                        style: style.clone(),
                        text,
                    }),
                }
            }
            Token::Sgr(params) => style.apply_sgr(params),
            Token::Other => {}
        }
    }
    spans
}

/// Whether the line holds an ESC or any control character but a tab. `0xc2` leads every
/// C1 control in UTF-8 and `0xe2` every bidi control (and some printable characters, which
/// merely take the slower path).
fn needs_display_care(line: &str) -> bool {
    line.bytes()
        .any(|b| (b < 0x20 && b != b'\t') || b == 0x7f || b == 0xc2 || b == 0xe2)
}

/// The bidirectional overrides and isolates, which would reorder the text shown after them
/// (the "Trojan source" trick: a line that reads otherwise than it is).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// How a character other than CR and backspace is displayed: itself, or the visible symbol
/// of a control character.
fn display_char(c: char) -> char {
    match c {
        '\t' => '\t',
        // U+2400 CONTROL PICTURES: one symbol per C0 control, and one for DEL.
        '\0'..='\u{1f}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        c if c.is_control() || is_bidi_control(c) => '\u{fffd}',
        c => c,
    }
}

/// `text` with every control character shown as its symbol; borrowed when there is none.
fn visible(text: &str) -> Cow<'_, str> {
    if text
        .chars()
        .any(|c| c != '\t' && (c.is_control() || is_bidi_control(c)))
    {
        Cow::Owned(text.chars().map(display_char).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// The spans of a line holding carriage returns or backspaces: laid out in cells as a
/// terminal would, each character written at the cursor over what was there.
fn overwritten_spans(line: &str) -> Vec<Span<'static>> {
    let mut cells: Vec<(char, Style)> = Vec::new();
    let mut cursor = 0usize;
    let mut style = Style::default();
    for token in Tokens::new(line) {
        match token {
            Token::Text(text) => {
                for c in text.chars() {
                    match c {
                        '\r' => cursor = 0,
                        '\u{8}' => cursor = cursor.saturating_sub(1),
                        c => {
                            let cell = (display_char(c), style.clone());
                            match cells.get_mut(cursor) {
                                Some(slot) => *slot = cell,
                                None => cells.push(cell),
                            }
                            cursor += 1;
                        }
                    }
                }
            }
            Token::Sgr(params) => style.apply_sgr(params),
            Token::Other => {}
        }
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    for (c, style) in cells {
        match spans.last_mut() {
            Some(last) if last.style == style => last.text.to_mut().push(c),
            _ => spans.push(Span {
                style,
                text: Cow::Owned(c.to_string()),
            }),
        }
    }
    spans
}

/// The line as a terminal may show it (what `vmo` prints to one): its colours, re-encoded
/// from the parsed styles, and nothing else a terminal would act on. No window title,
/// clipboard write, cursor move or hidden link; carriage returns and backspaces already
/// applied; other controls as visible symbols. Borrows when there is nothing to change.
pub fn for_terminal(line: &str) -> Cow<'_, str> {
    if !needs_display_care(line) {
        return Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len() + 8);
    let mut styled = false;
    for span in spans(line) {
        let sgr = span.style.sgr();
        if !sgr.is_empty() || styled {
            out.push_str("\x1b[0");
            out.push_str(&sgr);
            out.push('m');
            styled = !sgr.is_empty();
        }
        out.push_str(&span.text);
    }
    if styled {
        out.push_str("\x1b[0m");
    }
    Cow::Owned(out)
}

/// The text of the line with every escape sequence removed, for searching and text exports;
/// other control characters stay (the display form is [`spans`]). Borrows when there is none.
pub fn strip(line: &str) -> Cow<'_, str> {
    if !line.as_bytes().contains(&ESC) {
        return Cow::Borrowed(line);
    }
    let mut visible = String::with_capacity(line.len());
    for token in Tokens::new(line) {
        if let Token::Text(text) = token {
            visible.push_str(text);
        }
    }
    Cow::Owned(visible)
}

/// A piece of a line: visible text, an SGR sequence's parameters, or some other escape.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Text(&'a str),
    Sgr(&'a str),
    Other,
}

/// Splits a line into [`Token`]s. Every escape sequence is ASCII, so each cut falls on a
/// character boundary.
struct Tokens<'a> {
    line: &'a str,
    pos: usize,
}

impl<'a> Tokens<'a> {
    fn new(line: &'a str) -> Self {
        Tokens { line, pos: 0 }
    }

    fn slice(&self, from: usize, to: usize) -> &'a str {
        self.line.get(from..to).unwrap_or_default()
    }

    /// Scans the escape sequence at `start` (an ESC): returns the token and where it ends.
    fn escape(&self, start: usize) -> (Token<'a>, usize) {
        let bytes = self.line.as_bytes();
        let Some(&kind) = bytes.get(start + 1) else {
            return (Token::Other, start + 1);
        };
        match kind {
            b'[' => {
                let params_end = skip(bytes, start + 2, 0x30..=0x3f);
                let end = skip(bytes, params_end, 0x20..=0x2f);
                match bytes.get(end) {
                    Some(b'm') if end == params_end => {
                        (Token::Sgr(self.slice(start + 2, params_end)), end + 1)
                    }
                    Some(0x40..=0x7e) => (Token::Other, end + 1),
                    // Malformed: drop what was read, keep the unexpected byte as text.
                    _ => (Token::Other, end),
                }
            }
            // OSC, DCS, SOS, PM and APC: strings ended by BEL or ST (`ESC \`).
            b']' | b'P' | b'X' | b'^' | b'_' => {
                let body = start + 2;
                let end = match bytes[body.min(bytes.len())..]
                    .iter()
                    .position(|&b| b == BEL || b == ESC)
                {
                    None => bytes.len(),
                    Some(offset) => {
                        let at = body + offset;
                        match (bytes[at], bytes.get(at + 1)) {
                            (BEL, _) => at + 1,
                            (_, Some(b'\\')) => at + 2,
                            // Another ESC starts a new sequence; this string ends here.
                            _ => at,
                        }
                    }
                };
                (Token::Other, end)
            }
            // nF escapes such as `ESC ( B`: intermediates, then one final byte.
            0x20..=0x2f => {
                let end = skip(bytes, start + 1, 0x20..=0x2f);
                match bytes.get(end) {
                    Some(0x30..=0x7e) => (Token::Other, end + 1),
                    _ => (Token::Other, end),
                }
            }
            // Two-byte escapes such as `ESC 7` or `ESC c`.
            0x30..=0x7e => (Token::Other, start + 2),
            // A lone ESC before anything else.
            _ => (Token::Other, start + 1),
        }
    }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        let bytes = self.line.as_bytes();
        let start = self.pos;
        if start >= bytes.len() {
            return None;
        }
        if bytes[start] == ESC {
            let (token, end) = self.escape(start);
            self.pos = end;
            return Some(token);
        }
        let end = bytes[start..]
            .iter()
            .position(|&b| b == ESC)
            .map_or(bytes.len(), |offset| start + offset);
        self.pos = end;
        Some(Token::Text(self.slice(start, end)))
    }
}

/// The first index from `from` whose byte is outside `range`.
fn skip(bytes: &[u8], from: usize, range: std::ops::RangeInclusive<u8>) -> usize {
    bytes
        .get(from..)
        .and_then(|rest| rest.iter().position(|b| !range.contains(b)))
        .map_or(bytes.len(), |offset| from + offset)
}

#[cfg(test)]
mod tests {

    #[test]
    fn what_a_terminal_is_given_keeps_colours_and_nothing_else() {
        assert!(matches!(for_terminal("plain text"), Cow::Borrowed(_)));
        let hostile = "\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4=\x07\x1b[31mred\x1b[0m \
                       \x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ bell\x07 \x1b[2Jnul\0";
        let shown = for_terminal(hostile);
        assert_eq!(
            shown, "\x1b[0;38;5;1mred\x1b[0m link bell\u{2407} nul\u{2400}",
            "{shown:?}"
        );
        // Carriage returns already applied: the host name before the line stays.
        assert_eq!(for_terminal("50%\r100%"), "100%");
        assert_eq!(
            for_terminal("\x1b[1;48;2;1;2;3mX"),
            "\x1b[0;1;48;2;1;2;3mX\x1b[0m"
        );
    }

    use super::*;

    fn span(style: Style, text: &str) -> Span<'_> {
        Span {
            style,
            text: Cow::Borrowed(text),
        }
    }

    fn fg(n: u8) -> Style {
        Style {
            fg: Some(Colour::Indexed(n)),
            ..Style::default()
        }
    }

    #[test]
    fn plain_line_is_one_borrowed_default_span() {
        let line = "no colour here";
        let spans = spans(line);
        assert_eq!(spans, vec![span(Style::default(), line)]);
        assert!(matches!(spans[0].text, Cow::Borrowed(_)));
        assert!(matches!(strip(line), Cow::Borrowed("no colour here")));
    }

    #[test]
    fn colours_bold_and_reset() {
        let spans = spans("\x1b[31merror\x1b[0m: \x1b[1;92mok\x1b[m done");
        let bold_bright_green = Style {
            bold: true,
            ..fg(10)
        };
        assert_eq!(
            spans,
            vec![
                span(fg(1), "error"),
                span(Style::default(), ": "),
                span(bold_bright_green, "ok"),
                span(Style::default(), " done"),
            ]
        );
    }

    #[test]
    fn attributes_turn_on_and_off() {
        let spans = spans("\x1b[2;3;4;7ma\x1b[22;23;24;27mb\x1b[44mc\x1b[49md");
        let all = Style {
            dim: true,
            italic: true,
            underline: true,
            inverse: true,
            ..Style::default()
        };
        let blue_bg = Style {
            bg: Some(Colour::Indexed(4)),
            ..Style::default()
        };
        assert_eq!(
            spans,
            vec![
                span(all, "a"),
                span(Style::default(), "b"),
                span(blue_bg, "c"),
                span(Style::default(), "d"),
            ]
        );
    }

    #[test]
    fn colour_256_and_truecolour() {
        let spans = spans("\x1b[38;5;208;48;2;10;20;30mx\x1b[39my");
        let both = Style {
            fg: Some(Colour::Indexed(208)),
            bg: Some(Colour::Rgb(10, 20, 30)),
            ..Style::default()
        };
        let bg_only = Style {
            fg: None,
            ..both.clone()
        };
        assert_eq!(spans, vec![span(both, "x"), span(bg_only, "y")]);
    }

    #[test]
    fn colon_sub_parameters() {
        let spans = spans("\x1b[38:2::255:128:0ma\x1b[38:5:21;4:3mb\x1b[4:0mc");
        let orange = Style {
            fg: Some(Colour::Rgb(255, 128, 0)),
            ..Style::default()
        };
        let blue_underlined = Style {
            underline: true,
            ..fg(21)
        };
        assert_eq!(
            spans,
            vec![
                span(orange, "a"),
                span(blue_underlined, "b"),
                span(fg(21), "c")
            ]
        );
    }

    #[test]
    fn out_of_range_colour_values_are_ignored() {
        let spans = spans("\x1b[38;5;300mx\x1b[38;2;1;2mz");
        assert_eq!(spans, vec![span(Style::default(), "xz")]);
    }

    #[test]
    fn other_csi_sequences_are_removed_and_runs_merged() {
        let spans = spans("\x1b[2K\x1b[1Gprogress\x1b[?25l 50%\x1b[0K");
        assert_eq!(spans, vec![span(Style::default(), "progress 50%")]);
        assert!(matches!(spans[0].text, Cow::Owned(_)));
    }

    #[test]
    fn osc_title_is_removed_with_bel_or_st() {
        assert_eq!(strip("\x1b]0;my title\x07prompt$"), "prompt$");
        assert_eq!(
            strip("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b"),
            "alinkb"
        );
        assert_eq!(strip("before\x1b]0;never ended"), "before");
    }

    #[test]
    fn lone_and_two_byte_escapes_are_removed() {
        assert_eq!(strip("end\x1b"), "end");
        assert_eq!(strip("\x1b7saved\x1b8"), "saved");
        assert_eq!(strip("\x1b(Bascii"), "ascii");
        assert_eq!(strip("\x1b[31"), "");
        assert_eq!(strip("a\x1b\tb"), "a\tb");
    }

    #[test]
    fn malformed_csi_keeps_the_following_text() {
        assert_eq!(strip("\x1b[31ébc"), "ébc");
        assert_eq!(strip("\x1b[12\nnext"), "\nnext");
    }

    #[test]
    fn strip_keeps_multibyte_text() {
        assert_eq!(strip("\x1b[1mgrüße\x1b[0m ✓"), "grüße ✓");
    }

    #[test]
    fn colour_css_uses_the_xterm_palette() {
        assert_eq!(Colour::Indexed(1).css(), "#cd0000");
        assert_eq!(Colour::Indexed(12).css(), "#5c5cff");
        assert_eq!(Colour::Indexed(16).css(), "#000000");
        assert_eq!(Colour::Indexed(196).css(), "#ff0000");
        assert_eq!(Colour::Indexed(208).css(), "#ff8700");
        assert_eq!(Colour::Indexed(231).css(), "#ffffff");
        assert_eq!(Colour::Indexed(232).css(), "#080808");
        assert_eq!(Colour::Indexed(255).css(), "#eeeeee");
        assert_eq!(Colour::Rgb(1, 171, 255).css(), "#01abff");
    }

    #[test]
    fn style_css() {
        assert_eq!(Style::default().css(), "");
        let style = Style {
            fg: Some(Colour::Indexed(1)),
            bg: Some(Colour::Rgb(0, 0, 255)),
            bold: true,
            dim: true,
            italic: true,
            underline: true,
            inverse: false,
        };
        assert_eq!(
            style.css(),
            "color:#cd0000;background-color:#0000ff;font-weight:bold;opacity:0.7;\
             font-style:italic;text-decoration:underline"
        );
    }

    #[test]
    fn inverse_swaps_colours() {
        let red_inverse = Style {
            inverse: true,
            ..fg(1)
        };
        assert_eq!(
            red_inverse.css(),
            "color:var(--ansi-bg,#000000);background-color:#cd0000"
        );
        let both = Style {
            bg: Some(Colour::Indexed(2)),
            ..red_inverse
        };
        assert_eq!(both.css(), "color:#00cd00;background-color:#cd0000");
    }
}
