//! Command text as literal pieces and `{{name}}` / `{{name:default}}` placeholders (Warp's
//! syntax), each placeholder with the shell quoting context it sits in.
//!
//! The context matters because a value is quoted differently inside `'…'`, inside `"…"`
//! and outside quotes; knowing it lets a template author write `grep "{{pattern}}" f` as
//! naturally as `grep {{pattern}} f` without opening a hole. The scan is a small POSIX
//! lexer: quotes, backslash escapes, `$(…)` and backquotes (each a fresh context).
//! Anything between braces that is not a parameter name (`{{.Names}}` in a docker
//! format) is literal text.

/// Where a placeholder sits, as the shell reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteContext {
    Unquoted,
    Single,
    Double,
    /// Inside `$(( … ))`, where no quoting works: refused by validation.
    Arithmetic,
    /// In a here-document's body or delimiter, where quotes are text and a value's line
    /// could end the document early: refused by validation.
    HereDoc,
    /// In a `#` comment, which a line break in the value would end: refused by validation.
    Comment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Literal(String),
    Placeholder {
        name: String,
        default: Option<String>,
        context: QuoteContext,
        /// A backslash right before it would escape the value's first quote character.
        after_backslash: bool,
        /// A `$` right before it would make the value a parameter expansion, `$(…)` or
        /// (in bash) a `$'…'` string.
        after_dollar: bool,
        /// How many backquote substitutions enclose it: each strips one level of
        /// backslashes from `\`, `` \` `` and `\$` before the inner command is read.
        backquotes: u8,
    },
}

/// Longest parameter name.
pub const PARAM_NAME_MAX: usize = 64;

pub(crate) fn is_param_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && name.len() <= PARAM_NAME_MAX
}

/// Splits `command` into pieces.
pub fn parse_command(command: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut lexer = Lexer {
        word_start: true,
        ..Lexer::default()
    };
    let mut rest = command;
    while !rest.is_empty() {
        if let Some((name, default, len)) = placeholder_at(rest) {
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Placeholder {
                name,
                default,
                context: lexer.context(),
                after_backslash: lexer.escaped,
                after_dollar: lexer.dollar,
                backquotes: lexer.backquotes(),
            });
            lexer.placeholder();
            rest = &rest[len..];
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        let next = rest[c.len_utf8()..].chars().next();
        lexer.feed(c, next);
        literal.push(c);
        rest = &rest[c.len_utf8()..];
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    pieces
}

/// `{{ name }}` or `{{name:default}}` at the start of `text`: (name, default, length).
fn placeholder_at(text: &str) -> Option<(String, Option<String>, usize)> {
    let inner = text.strip_prefix("{{")?;
    let end = inner.find("}}")?;
    let body = &inner[..end];
    let (name, default) = match body.split_once(':') {
        Some((name, default)) => (name.trim(), Some(default.to_string())),
        None => (body.trim(), None),
    };
    is_param_name(name).then(|| (name.to_string(), default, end + 4))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Frame {
    Single,
    Double,
    /// `$(…)`, with its count of open parentheses.
    Subshell(u32),
    /// `$((…))`, likewise.
    Arithmetic(u32),
    Backquote,
    /// `# …` up to the end of the line.
    Comment,
}

/// A here-document announced by `<<` or `<<-`: its delimiter word, then its body from the
/// next line up to a line that is the delimiter (tabs stripped first with `<<-`).
#[derive(Default)]
struct HereDoc {
    delimiter: String,
    strip_tabs: bool,
}

#[derive(Default)]
struct Lexer {
    stack: Vec<Frame>,
    /// The previous character was an escaping backslash.
    escaped: bool,
    /// The `(` of a `$(` was just seen and must not count as nesting.
    skip_paren: bool,
    /// The previous character was a `$` that the shell would expand.
    dollar: bool,
    /// The next character starts a word (so a `#` starts a comment).
    word_start: bool,
    /// `<` just seen / `<<` just seen (a `-` may follow) outside quotes.
    less: u8,
    /// The delimiter word being read after `<<`, if any, and the quote open in it.
    delimiter: Option<(HereDoc, Option<char>)>,
    /// Here-documents announced on this line, whose bodies start at its end.
    pending: Vec<HereDoc>,
    /// The here-document whose body is being read, and its current line.
    body: Option<(HereDoc, String)>,
}

impl Lexer {
    fn context(&self) -> QuoteContext {
        if self.body.is_some() || self.delimiter.is_some() || self.less == 2 {
            return QuoteContext::HereDoc;
        }
        match self.stack.last() {
            Some(Frame::Single) => QuoteContext::Single,
            Some(Frame::Double) => QuoteContext::Double,
            Some(Frame::Arithmetic(_)) => QuoteContext::Arithmetic,
            Some(Frame::Comment) => QuoteContext::Comment,
            _ => QuoteContext::Unquoted,
        }
    }

    fn backquotes(&self) -> u8 {
        let n = self
            .stack
            .iter()
            .filter(|f| **f == Frame::Backquote)
            .count();
        u8::try_from(n).unwrap_or(u8::MAX)
    }

    /// A placeholder was read: it is part of a word, like any other text.
    fn placeholder(&mut self) {
        self.escaped = false;
        self.dollar = false;
        self.word_start = false;
        self.less = 0;
        if let Some((_, line)) = &mut self.body {
            // A placeholder on a body line: that line can no longer be the delimiter.
            line.push('\0');
        }
    }

    fn feed(&mut self, c: char, next: Option<char>) {
        if let Some((doc, line)) = &mut self.body {
            if c != '\n' {
                line.push(c);
                return;
            }
            let text = if doc.strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line.as_str()
            };
            if text == doc.delimiter {
                self.body = None;
                self.next_body();
            } else {
                line.clear();
            }
            return;
        }
        if self.delimiter.is_some() && self.feed_delimiter(c) {
            return;
        }
        self.dollar = false;
        let word_start = std::mem::take(&mut self.word_start);
        let less = std::mem::take(&mut self.less);
        if less == 2 && c != '<' {
            // The word after `<<` (or `<<-`) is a here-document's delimiter.
            let strip_tabs = c == '-';
            self.delimiter = Some((
                HereDoc {
                    strip_tabs,
                    ..HereDoc::default()
                },
                None,
            ));
            if strip_tabs || self.feed_delimiter(c) {
                return;
            }
        }
        if self.escaped {
            self.escaped = false;
            return;
        }
        if self.skip_paren {
            self.skip_paren = false;
            self.word_start = true;
            if next == Some('(') {
                if let Some(top) = self.stack.last_mut() {
                    *top = Frame::Arithmetic(0);
                }
            }
            return;
        }
        let top = self.stack.last().copied();
        match top {
            Some(Frame::Comment) => {
                if c == '\n' {
                    self.stack.pop();
                    self.end_of_line();
                }
            }
            Some(Frame::Single) => {
                if c == '\'' {
                    self.stack.pop();
                }
            }
            Some(Frame::Double) => match c {
                '"' => {
                    self.stack.pop();
                }
                '\\' => self.escaped = true,
                '$' if next == Some('(') => self.open_subshell(),
                '$' => self.dollar = true,
                '`' => self.stack.push(Frame::Backquote),
                _ => {}
            },
            _ => match c {
                '#' if word_start => self.stack.push(Frame::Comment),
                '\'' => self.stack.push(Frame::Single),
                '"' => self.stack.push(Frame::Double),
                '\\' => self.escaped = true,
                '$' if next == Some('(') => self.open_subshell(),
                '$' => self.dollar = true,
                '`' if top == Some(Frame::Backquote) => {
                    self.stack.pop();
                }
                '`' => {
                    self.stack.push(Frame::Backquote);
                    self.word_start = true;
                }
                '(' => {
                    if let Some(Frame::Subshell(depth) | Frame::Arithmetic(depth)) =
                        self.stack.last_mut()
                    {
                        *depth += 1;
                    }
                    self.word_start = true;
                }
                ')' => {
                    match self.stack.last_mut() {
                        Some(Frame::Subshell(0) | Frame::Arithmetic(0)) => {
                            self.stack.pop();
                        }
                        Some(Frame::Subshell(depth) | Frame::Arithmetic(depth)) => *depth -= 1,
                        _ => {}
                    }
                    self.word_start = true;
                }
                // `<<` in `$(( ))` is a shift, not a here-document.
                '<' if matches!(top, Some(Frame::Arithmetic(_))) => {}
                '<' if less == 0 => {
                    self.less = 1;
                    self.word_start = true;
                }
                '<' if less == 1 => self.less = 2,
                // `<<<` is bash's here-string: a plain word follows.
                '<' => {}
                '\n' => {
                    self.word_start = true;
                    self.end_of_line();
                }
                c if c.is_whitespace() || ";&|>".contains(c) => self.word_start = true,
                _ => {}
            },
        }
    }

    /// Reads one character of a here-document's delimiter word (its quotes removed); returns
    /// false when the word has ended and `c` is for the lexer itself.
    fn feed_delimiter(&mut self, c: char) -> bool {
        let Some((doc, quote)) = &mut self.delimiter else {
            return false;
        };
        match quote {
            Some(q) if c == *q => *quote = None,
            Some(_) => doc.delimiter.push(c),
            None if c == '\'' || c == '"' => *quote = Some(c),
            None if c == '\\' => {}
            None if (c == ' ' || c == '\t') && doc.delimiter.is_empty() => {}
            None if c.is_whitespace() || ";&|<>()".contains(c) => {
                if let Some((doc, _)) = self.delimiter.take() {
                    self.pending.push(doc);
                }
                return false;
            }
            None => doc.delimiter.push(c),
        }
        true
    }

    /// A line break outside quotes: announced here-documents start their bodies.
    fn end_of_line(&mut self) {
        if self.body.is_none() {
            self.next_body();
        }
    }

    fn next_body(&mut self) {
        if !self.pending.is_empty() {
            let doc = self.pending.remove(0);
            self.body = Some((doc, String::new()));
        }
    }

    fn open_subshell(&mut self) {
        self.stack.push(Frame::Subshell(0));
        self.skip_paren = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contexts(command: &str) -> Vec<(String, QuoteContext)> {
        parse_command(command)
            .into_iter()
            .filter_map(|p| match p {
                Piece::Placeholder { name, context, .. } => Some((name, context)),
                Piece::Literal(_) => None,
            })
            .collect()
    }

    #[test]
    fn placeholders_and_defaults() {
        let pieces = parse_command("tail -n {{lines:100}} {{ path }}");
        assert_eq!(
            pieces,
            vec![
                Piece::Literal("tail -n ".into()),
                Piece::Placeholder {
                    name: "lines".into(),
                    default: Some("100".into()),
                    context: QuoteContext::Unquoted,
                    after_backslash: false,
                    after_dollar: false,
                    backquotes: 0,
                },
                Piece::Literal(" ".into()),
                Piece::Placeholder {
                    name: "path".into(),
                    default: None,
                    context: QuoteContext::Unquoted,
                    after_backslash: false,
                    after_dollar: false,
                    backquotes: 0,
                },
            ]
        );
    }

    #[test]
    fn docker_formats_stay_literal() {
        assert!(contexts("docker ps --format '{{.Names}}\t{{.Status}}'").is_empty());
        assert!(contexts("echo {{}} {{a b}}").is_empty());
    }

    #[test]
    fn quoting_context_is_tracked() {
        use QuoteContext::*;
        let found = contexts(
            r#"a {{u}} '{{s}}' "{{d}}" "$(echo {{n}})" 'it''{{s2}}' "\"{{d2}}" `x {{b}}` $(f ( {{n2}} )) $(( {{a}} + (1) )) {{after}}"#,
        );
        let want = [
            ("u", Unquoted),
            ("s", Single),
            ("d", Double),
            ("n", Unquoted),
            ("s2", Single),
            ("d2", Double),
            ("b", Unquoted),
            ("n2", Unquoted),
            ("a", Arithmetic),
            ("after", Unquoted),
        ];
        let want: Vec<(String, QuoteContext)> =
            want.iter().map(|(n, c)| (n.to_string(), *c)).collect();
        assert_eq!(found, want);
    }

    #[test]
    fn backslash_before_a_placeholder_is_noticed() {
        let pieces = parse_command(r"echo \{{v}}");
        assert!(matches!(
            pieces.last(),
            Some(Piece::Placeholder {
                after_backslash: true,
                ..
            })
        ));
    }
}
