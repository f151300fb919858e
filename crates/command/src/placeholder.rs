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
    let mut lexer = Lexer::default();
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
            });
            lexer.escaped = false;
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
}

#[derive(Default)]
struct Lexer {
    stack: Vec<Frame>,
    /// The previous character was an escaping backslash.
    escaped: bool,
    /// The `(` of a `$(` was just seen and must not count as nesting.
    skip_paren: bool,
}

impl Lexer {
    fn context(&self) -> QuoteContext {
        match self.stack.last() {
            Some(Frame::Single) => QuoteContext::Single,
            Some(Frame::Double) => QuoteContext::Double,
            Some(Frame::Arithmetic(_)) => QuoteContext::Arithmetic,
            _ => QuoteContext::Unquoted,
        }
    }

    fn feed(&mut self, c: char, next: Option<char>) {
        if self.escaped {
            self.escaped = false;
            return;
        }
        if self.skip_paren {
            self.skip_paren = false;
            if next == Some('(') {
                if let Some(top) = self.stack.last_mut() {
                    *top = Frame::Arithmetic(0);
                }
            }
            return;
        }
        let top = self.stack.last().copied();
        match top {
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
                '`' => self.stack.push(Frame::Backquote),
                _ => {}
            },
            _ => match c {
                '\'' => self.stack.push(Frame::Single),
                '"' => self.stack.push(Frame::Double),
                '\\' => self.escaped = true,
                '$' if next == Some('(') => self.open_subshell(),
                '`' if top == Some(Frame::Backquote) => {
                    self.stack.pop();
                }
                '`' => self.stack.push(Frame::Backquote),
                '(' => {
                    if let Some(Frame::Subshell(depth) | Frame::Arithmetic(depth)) =
                        self.stack.last_mut()
                    {
                        *depth += 1;
                    }
                }
                ')' => match self.stack.last_mut() {
                    Some(Frame::Subshell(0) | Frame::Arithmetic(0)) => {
                        self.stack.pop();
                    }
                    Some(Frame::Subshell(depth) | Frame::Arithmetic(depth)) => *depth -= 1,
                    _ => {}
                },
                _ => {}
            },
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
                    after_backslash: false
                },
                Piece::Literal(" ".into()),
                Piece::Placeholder {
                    name: "path".into(),
                    default: None,
                    context: QuoteContext::Unquoted,
                    after_backslash: false
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
