//! Quoting a value for the remote POSIX shell so that it stays one argument, byte for byte.
//!
//! The rendered command is sent as the SSH exec string, which is text; so bytes that are
//! not UTF-8 are written as `"$(printf '\ooo')"` (octal escapes are POSIX printf), and the
//! command stays ASCII-safe whatever the value. A NUL cannot be carried by any shell word
//! and is refused before quoting ([`crate::render`]).

use crate::placeholder::QuoteContext;

/// `value` as one shell word, for a placeholder outside any quotes: `'…'`, each `'` as
/// `'\''`; the empty value is `''`.
pub fn quote(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    let mut in_single = false;
    for_each_run(value, |run| match run {
        Run::Text(text) => {
            if !in_single {
                out.push('\'');
                in_single = true;
            }
            for c in text.chars() {
                if c == '\'' {
                    out.push_str("'\\''");
                } else {
                    out.push(c);
                }
            }
        }
        Run::Bytes(bytes) => {
            if in_single {
                out.push('\'');
                in_single = false;
            }
            out.push_str(&printf_bytes(bytes));
        }
    });
    if in_single {
        out.push('\'');
    }
    if out.is_empty() {
        out.push_str("''");
    }
    out
}

/// `value` for a placeholder in `context`: closed and reopened around inside `'…'`,
/// backslash-escaped inside `"…"`, a quoted word elsewhere.
pub fn quote_in(context: QuoteContext, value: &[u8]) -> String {
    match context {
        // Arithmetic, here-documents and comments are refused by validation; a quoted word
        // is the safe fallback.
        QuoteContext::Unquoted
        | QuoteContext::Arithmetic
        | QuoteContext::HereDoc
        | QuoteContext::Comment => quote(value),
        QuoteContext::Single => format!("'{}'", quote(value)),
        QuoteContext::Double => {
            let mut out = String::with_capacity(value.len());
            for_each_run(value, |run| match run {
                Run::Text(text) => {
                    for c in text.chars() {
                        // The four characters special inside double quotes.
                        if matches!(c, '$' | '`' | '"' | '\\') {
                            out.push('\\');
                        }
                        out.push(c);
                    }
                }
                Run::Bytes(bytes) => out.push_str(&printf_bytes(bytes)),
            });
            out
        }
    }
}

/// `text` (a value already quoted for its context) inside `levels` backquote substitutions:
/// each level first turns `\\`, `` \` `` and `\$` into the bare character, so each gets
/// one more backslash per level.
pub fn in_backquotes(text: String, levels: u8) -> String {
    (0..levels).fold(text, |text, _| {
        let mut out = String::with_capacity(text.len() + 8);
        for c in text.chars() {
            if matches!(c, '\\' | '`' | '$') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    })
}

enum Run<'a> {
    Text(&'a str),
    Bytes(&'a [u8]),
}

/// Splits `value` into runs of valid UTF-8 and of bytes that are not.
fn for_each_run<'a>(mut value: &'a [u8], mut each: impl FnMut(Run<'a>)) {
    while !value.is_empty() {
        match std::str::from_utf8(value) {
            Ok(text) => {
                each(Run::Text(text));
                return;
            }
            Err(e) => {
                let (good, rest) = value.split_at(e.valid_up_to());
                if !good.is_empty() {
                    // Valid by construction: up to `valid_up_to`.
                    each(Run::Text(std::str::from_utf8(good).unwrap_or_default()));
                }
                // Adjacent invalid sequences make one run (one printf).
                let mut bad = 0;
                while bad < rest.len() {
                    match std::str::from_utf8(&rest[bad..]) {
                        Err(e) if e.valid_up_to() == 0 => {
                            bad += e.error_len().unwrap_or(rest.len() - bad);
                        }
                        _ => break,
                    }
                }
                let (bytes, rest) = rest.split_at(bad);
                each(Run::Bytes(bytes));
                value = rest;
            }
        }
    }
}

/// A command substitution printing exactly `bytes` (none is a newline: only invalid UTF-8
/// comes here, so nothing is lost to the trailing-newline rule of `$(…)`).
fn printf_bytes(bytes: &[u8]) -> String {
    let escapes: String = bytes.iter().map(|b| format!("\\{b:03o}")).collect();
    format!("\"$(printf '{escapes}')\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(quote(b""), "''");
        assert_eq!(quote(b"nginx"), "'nginx'");
        assert_eq!(quote(b"it's"), "'it'\\''s'");
        assert_eq!(quote(b"$(id)"), "'$(id)'");
        assert_eq!(quote(b"a\xffb"), "'a'\"$(printf '\\377')\"'b'");
        assert_eq!(quote(b"\xfe\xff"), "\"$(printf '\\376\\377')\"");
    }

    #[test]
    fn inside_quotes() {
        assert_eq!(quote_in(QuoteContext::Single, b"it's"), "''it'\\''s''");
        assert_eq!(
            quote_in(QuoteContext::Double, b"$x \"`\\"),
            "\\$x \\\"\\`\\\\"
        );
    }
}
