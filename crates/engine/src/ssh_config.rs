//! Reads OpenSSH client config files (`~/.ssh/config`) to discover hosts.
//!
//! Follows `ssh_config(5)` where it matters for an inventory: `Include` (globs, `~`, relative
//! paths resolved in the imported file's folder, as ssh does in `~/.ssh`, also from nested
//! includes; an included file cannot change the Host scope of the file that includes it),
//! `Host` blocks with `*`/`?` patterns and `!` negation, the first value obtained for a
//! keyword wins, and settings from wildcard blocks (e.g. `Host *` → `User admin`) resolve
//! into every concrete host. Wildcard and negated patterns are never imported as hosts.
//! `Match` blocks are conditional on things only ssh knows at connect time, so their
//! settings are not applied.
//!
//! A malformed file is an error naming the file and line; nothing is returned partially.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One concrete host as ssh would resolve it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshHost {
    pub alias: String,
    pub host_name: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub identity_file: Option<String>,
    pub proxy_jump: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct SshConfigError {
    pub file: PathBuf,
    /// 1-based; `None` when the file as a whole failed (e.g. unreadable).
    pub line: Option<usize>,
    pub message: String,
}

impl From<SshConfigError> for crate::EngineError {
    fn from(err: SshConfigError) -> Self {
        Self::new(crate::ErrorCode::SshConfig, err.to_string())
    }
}

/// OpenSSH's own limit on nested Includes; also stops include cycles.
const MAX_INCLUDE_DEPTH: usize = 16;

/// Parses `path` and everything it includes, and resolves each concrete host.
pub fn load(path: &Path) -> Result<Vec<SshHost>, SshConfigError> {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut entries = Vec::new();
    read_file(path, &base, 0, &mut entries)?;
    Ok(resolve(&entries))
}

/// One `Keyword args...` line, or the edge of one included file.
#[derive(Debug)]
enum Entry {
    Line {
        keyword: String,
        args: Vec<String>,
    },
    /// An included file starts in the Host/Match state of the line that included it...
    IncludeStart,
    /// ...and when it ends, that state comes back (ssh: "don't let Match in includes
    /// clobber the containing file's Match state").
    IncludeEnd,
}

fn read_file(
    path: &Path,
    base: &Path,
    depth: usize,
    out: &mut Vec<Entry>,
) -> Result<(), SshConfigError> {
    let fail = |line: Option<usize>, message: String| SshConfigError {
        file: path.to_path_buf(),
        line,
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(None, format!("cannot read file: {e}")))?;
    // A UTF-8 byte order mark (some Windows editors write one) is not part of the first line.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    for (index, raw) in text.split(|b| *b == b'\n').enumerate() {
        let line_no = index + 1;
        let fail = |message: String| fail(Some(line_no), message);
        let text = std::str::from_utf8(raw)
            .map_err(|_| fail("line is not valid UTF-8".into()))?
            .trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let (keyword, args) = split_line(text).map_err(fail)?;
        let keyword = keyword.to_ascii_lowercase();
        let needs_value = |what: &str| fail(format!("{what} needs a value"));
        match keyword.as_str() {
            "include" => {
                if args.is_empty() {
                    return Err(needs_value("Include"));
                }
                if depth >= MAX_INCLUDE_DEPTH {
                    return Err(fail(format!(
                        "Include nested more than {MAX_INCLUDE_DEPTH} levels (a cycle?)"
                    )));
                }
                for pattern in &args {
                    for included in expand_include(pattern, base).map_err(&fail)? {
                        out.push(Entry::IncludeStart);
                        read_file(&included, base, depth + 1, out)?;
                        out.push(Entry::IncludeEnd);
                    }
                }
                continue;
            }
            "host" | "match" if args.is_empty() => {
                return Err(fail(format!("{keyword} needs at least one pattern")))
            }
            "hostname" | "user" | "identityfile" | "proxyjump" if args.is_empty() => {
                return Err(needs_value(&keyword));
            }
            "port" => match args.as_slice() {
                [] => return Err(needs_value("Port")),
                [p] if p.parse::<u16>().is_ok_and(|p| p > 0) => {}
                [p, ..] => {
                    return Err(fail(format!(
                        "Port {p:?} is not a whole number from 1 to 65535"
                    )))
                }
            },
            _ => {}
        }
        out.push(Entry::Line { keyword, args });
    }
    Ok(())
}

/// Splits `Keyword value...` / `Keyword=value`, honouring double quotes.
fn split_line(text: &str) -> Result<(&str, Vec<String>), String> {
    let end = text
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(text.len());
    let (keyword, rest) = text.split_at(end);
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest);
    let mut args = Vec::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(first) = chars.next() else { break };
        let mut arg = String::new();
        if first == '"' {
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some(c) => arg.push(c),
                    None => return Err("unterminated quote".into()),
                }
            }
        } else {
            arg.push(first);
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                arg.push(c);
            }
        }
        if first != '"' && arg.starts_with('#') {
            break; // trailing comment
        }
        args.push(arg);
    }
    Ok((keyword, args))
}

fn expand_include(pattern: &str, base: &Path) -> Result<Vec<PathBuf>, String> {
    let expanded = expand_home(pattern);
    let full = if Path::new(&expanded).is_absolute() {
        PathBuf::from(expanded)
    } else {
        // Only the argument is a pattern: a folder named e.g. "backups [2024]" is literal.
        Path::new(&glob::Pattern::escape(&base.to_string_lossy())).join(expanded)
    };
    let full = full.to_string_lossy().into_owned();
    let paths = glob::glob(&full).map_err(|e| format!("Include pattern {pattern:?}: {e}"))?;
    let mut found: Vec<PathBuf> = paths
        .filter_map(Result::ok)
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    Ok(found)
}

fn expand_home(path: &str) -> String {
    match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest).to_string_lossy().into_owned(),
        _ => path.to_string(),
    }
}

fn is_pattern(s: &str) -> bool {
    s.starts_with('!') || s.contains(['*', '?'])
}

/// Every concrete host alias, in order of first appearance, resolved against all blocks.
fn resolve(entries: &[Entry]) -> Vec<SshHost> {
    let mut seen = HashSet::new();
    let aliases: Vec<&str> = entries
        .iter()
        .flat_map(|e| match e {
            Entry::Line { keyword, args } if keyword == "host" => args.as_slice(),
            _ => &[],
        })
        // An empty pattern (`Host ""`) names no host.
        .filter(|a| !a.is_empty() && !is_pattern(a) && seen.insert(a.to_ascii_lowercase()))
        .map(String::as_str)
        .collect();
    let blocks = Blocks::of(entries);
    aliases
        .into_iter()
        .map(|a| resolve_host(a, &blocks))
        .collect()
}

/// What starts a block of settings: the file's start, a `Host` or `Match` line, or an
/// included file's edge.
enum Head<'a> {
    Start,
    Host(&'a [String]),
    Match,
    IncludeStart,
    IncludeEnd,
}

/// A block: its head and the settings under it, each keyword with its first value.
struct Block<'a> {
    head: Head<'a>,
    settings: Vec<(&'a str, &'a str)>,
}

/// The entries in blocks, indexed so a host is resolved against the blocks that can
/// concern it, not all of them: a 10,000-host config resolves in one pass per host over
/// its own block and the pattern blocks, not over 10,000 blocks each.
struct Blocks<'a> {
    blocks: Vec<Block<'a>>,
    /// Blocks every host goes through: the start, `Host` lines with a pattern or a
    /// negation, `Match` lines, include edges. In order.
    always: Vec<usize>,
    /// Blocks under a `Host` line of plain names only, by lower-cased name. In order.
    named: HashMap<String, Vec<usize>>,
}

impl<'a> Blocks<'a> {
    fn of(entries: &'a [Entry]) -> Self {
        let mut blocks = vec![Block {
            head: Head::Start,
            settings: Vec::new(),
        }];
        let mut always = vec![0];
        let mut named: HashMap<String, Vec<usize>> = HashMap::new();
        for entry in entries {
            let head = match entry {
                Entry::IncludeStart => Head::IncludeStart,
                Entry::IncludeEnd => Head::IncludeEnd,
                Entry::Line { keyword, args } => match keyword.as_str() {
                    "host" => Head::Host(args),
                    "match" => Head::Match,
                    _ => {
                        let first = args.first().map_or("", String::as_str);
                        if let Some(block) = blocks.last_mut() {
                            block.settings.push((keyword, first));
                        }
                        continue;
                    }
                },
            };
            let at = blocks.len();
            match head {
                Head::Host(args) if !args.iter().any(|a| is_pattern(a)) => {
                    for name in args {
                        let list = named.entry(name.to_ascii_lowercase()).or_default();
                        if list.last() != Some(&at) {
                            list.push(at);
                        }
                    }
                }
                _ => always.push(at),
            }
            blocks.push(Block {
                head,
                settings: Vec::new(),
            });
        }
        Self {
            blocks,
            always,
            named,
        }
    }
}

/// `a` and `b` (each in order) merged in order, without repeats.
fn merged<'x>(a: &'x [usize], b: &'x [usize]) -> impl Iterator<Item = usize> + 'x {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                i += 1;
                j += 1;
                *x
            }
            (Some(x), Some(y)) if x < y => {
                i += 1;
                *x
            }
            (_, Some(y)) => {
                j += 1;
                *y
            }
            (Some(x), None) => {
                i += 1;
                *x
            }
            (None, None) => return None,
        };
        Some(next)
    })
}

fn resolve_host(alias: &str, blocks: &Blocks<'_>) -> SshHost {
    let mut host = SshHost {
        alias: alias.to_string(),
        host_name: None,
        port: None,
        user: None,
        identity_file: None,
        proxy_jump: None,
    };
    let own = blocks
        .named
        .get(&alias.to_ascii_lowercase())
        .map_or(&[][..], Vec::as_slice);
    // Lines before the first Host apply to every host.
    let mut applies = true;
    // Inside a file included from a block that does not apply, no Host line applies either.
    let mut never = false;
    let mut outer = Vec::new();
    let mut previous = None;
    for at in merged(&blocks.always, own) {
        // The blocks skipped since the previous one are under Host lines naming other
        // hosts: after them nothing applies (until the next head says otherwise).
        if previous.is_some_and(|p| at > p + 1) {
            applies = false;
        }
        previous = Some(at);
        let Some(block) = blocks.blocks.get(at) else {
            continue;
        };
        match block.head {
            Head::Start => {}
            Head::Host(args) => applies = !never && host_matches(alias, args),
            Head::Match => applies = false,
            Head::IncludeStart => {
                outer.push((applies, never));
                never |= !applies;
            }
            Head::IncludeEnd => (applies, never) = outer.pop().unwrap_or((true, false)),
        }
        if !applies {
            continue;
        }
        for (keyword, first) in &block.settings {
            let first = (*first).to_string();
            match *keyword {
                "hostname" if host.host_name.is_none() => host.host_name = Some(first),
                "port" if host.port.is_none() => host.port = first.parse().ok(),
                "user" if host.user.is_none() => host.user = Some(first),
                "identityfile" if host.identity_file.is_none() => host.identity_file = Some(first),
                "proxyjump" if host.proxy_jump.is_none() => host.proxy_jump = Some(first),
                _ => {}
            }
        }
    }
    finish_host(host, alias)
}

/// Expands tokens once every value is known, as ssh does.
fn finish_host(mut host: SshHost, alias: &str) -> SshHost {
    let host_name = host
        .host_name
        .as_deref()
        .map(|h| expand_tokens(h, &[('h', alias)]));
    let target = host_name.clone().unwrap_or_else(|| alias.to_string());
    host.identity_file = host.identity_file.map(|f| {
        let home = dirs::home_dir().map(|h| h.to_string_lossy().into_owned());
        let local_user = std::env::var("USER").unwrap_or_default();
        expand_tokens(
            &f,
            &[
                ('d', home.as_deref().unwrap_or("~")),
                ('h', &target),
                ('r', host.user.as_deref().unwrap_or(&local_user)),
                ('u', &local_user),
            ],
        )
    });
    host.host_name = host_name;
    if host
        .proxy_jump
        .as_deref()
        .is_some_and(|j| j.eq_ignore_ascii_case("none"))
    {
        host.proxy_jump = None;
    }
    host
}

/// Replaces `%x` tokens in one left-to-right pass, as ssh does: `%%` is a literal `%`, and
/// substituted text is never expanded again. Unknown tokens are left as written.
fn expand_tokens(text: &str, tokens: &[(char, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(t) => match tokens.iter().find(|(key, _)| *key == t) {
                Some((_, value)) => out.push_str(value),
                None => {
                    out.push('%');
                    out.push(t);
                }
            },
            None => out.push('%'),
        }
    }
    out
}

/// ssh_config(5) PATTERNS: any negated match excludes; otherwise any positive match includes.
fn host_matches(alias: &str, patterns: &[String]) -> bool {
    let alias = alias.to_ascii_lowercase();
    let mut matched = false;
    for pattern in patterns {
        let pattern = pattern.to_ascii_lowercase();
        match pattern.strip_prefix('!') {
            Some(negated) if wildcard_match(negated.as_bytes(), alias.as_bytes()) => return false,
            Some(_) => {}
            None => matched |= wildcard_match(pattern.as_bytes(), alias.as_bytes()),
        }
    }
    matched
}

/// `*` (any run) and `?` (any one byte) matching, in O(pattern × text) at worst: a failed
/// match resumes after the latest `*` only, so a pattern of many stars cannot take
/// exponential time the way plain backtracking would.
fn wildcard_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    // The pattern index after the latest `*`, and the text index it is tried from.
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                p += 1;
                resume = Some((p, t));
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match resume {
                Some((after_star, from)) => {
                    p = after_star;
                    t = from + 1;
                    resume = Some((after_star, from + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lines() {
        assert_eq!(
            split_line("Port 22").unwrap(),
            ("Port", vec!["22".to_string()])
        );
        assert_eq!(
            split_line("Port=22").unwrap(),
            ("Port", vec!["22".to_string()])
        );
        assert_eq!(
            split_line("IdentityFile \"/a b/key\" # mine").unwrap(),
            ("IdentityFile", vec!["/a b/key".to_string()])
        );
        assert!(split_line("IdentityFile \"/a b").is_err());
    }

    /// The plain backtracking definition, exponential but obviously right.
    fn reference_match(pattern: &[u8], text: &[u8]) -> bool {
        match (pattern.split_first(), text.split_first()) {
            (None, None) => true,
            (Some((b'*', rest)), _) => {
                reference_match(rest, text)
                    || (!text.is_empty() && reference_match(pattern, &text[1..]))
            }
            (Some((b'?', rest)), Some((_, text_rest))) => reference_match(rest, text_rest),
            (Some((p, rest)), Some((t, text_rest))) if p == t => reference_match(rest, text_rest),
            _ => false,
        }
    }

    proptest::proptest! {
        #[test]
        fn wildcard_match_agrees_with_backtracking(pattern in "[ab*?]{0,8}", text in "[ab]{0,10}") {
            proptest::prop_assert_eq!(
                wildcard_match(pattern.as_bytes(), text.as_bytes()),
                reference_match(pattern.as_bytes(), text.as_bytes())
            );
        }
    }

    /// The straightforward resolution: every entry in order, for every host.
    fn reference_resolve_host(alias: &str, entries: &[Entry]) -> SshHost {
        let mut host = SshHost {
            alias: alias.to_string(),
            host_name: None,
            port: None,
            user: None,
            identity_file: None,
            proxy_jump: None,
        };
        let (mut applies, mut never, mut outer) = (true, false, Vec::new());
        for entry in entries {
            let (keyword, args) = match entry {
                Entry::Line { keyword, args } => (keyword, args),
                Entry::IncludeStart => {
                    outer.push((applies, never));
                    never |= !applies;
                    continue;
                }
                Entry::IncludeEnd => {
                    (applies, never) = outer.pop().unwrap_or((true, false));
                    continue;
                }
            };
            let first = args.first().cloned().unwrap_or_default();
            match keyword.as_str() {
                "host" => applies = !never && host_matches(alias, args),
                "match" => applies = false,
                _ if !applies => {}
                "hostname" if host.host_name.is_none() => host.host_name = Some(first),
                "port" if host.port.is_none() => host.port = first.parse().ok(),
                "user" if host.user.is_none() => host.user = Some(first),
                _ => {}
            }
        }
        finish_host(host, alias)
    }

    /// A config as entries: `Host` lines of names and patterns, `Match`, settings, and
    /// includes (balanced, as the reader makes them).
    fn entries() -> impl proptest::strategy::Strategy<Value = Vec<Entry>> {
        use proptest::prelude::*;
        let name = prop::sample::select(vec!["a", "B", "c", "a*", "!b", "*", "?", "d"]);
        let token = prop_oneof![
            3 => prop::collection::vec(name, 1..3).prop_map(|n| (0u8, n.join(" "))),
            1 => Just((1u8, String::new())),
            3 => (0u8..3, 1u16..9).prop_map(|(k, v)| (2 + k, v.to_string())),
            1 => Just((5u8, String::new())),
            1 => Just((6u8, String::new())),
        ];
        prop::collection::vec(token, 0..40).prop_map(|tokens| {
            let mut depth = 0;
            let mut out = Vec::new();
            let line = |keyword: &str, args: Vec<String>| Entry::Line {
                keyword: keyword.into(),
                args,
            };
            for (kind, text) in tokens {
                match kind {
                    0 => out.push(line("host", text.split(' ').map(str::to_string).collect())),
                    1 => out.push(line("match", vec!["all".into()])),
                    2 => out.push(line("hostname", vec![format!("h{text}")])),
                    3 => out.push(line("port", vec![text])),
                    4 => out.push(line("user", vec![format!("u{text}")])),
                    5 => {
                        depth += 1;
                        out.push(Entry::IncludeStart);
                    }
                    _ if depth > 0 => {
                        depth -= 1;
                        out.push(Entry::IncludeEnd);
                    }
                    _ => {}
                }
            }
            out.extend((0..depth).map(|_| Entry::IncludeEnd));
            out
        })
    }

    proptest::proptest! {
        #[test]
        fn indexed_resolution_agrees_with_reading_every_entry(entries in entries()) {
            let blocks = Blocks::of(&entries);
            for alias in ["a", "b", "c", "d", "A", "ab"] {
                proptest::prop_assert_eq!(
                    resolve_host(alias, &blocks),
                    reference_resolve_host(alias, &entries)
                );
            }
        }
    }

    #[test]
    fn matches_patterns() {
        assert!(host_matches("web1", &["web*".into()]));
        assert!(host_matches("WEB1", &["web?".into()]));
        assert!(!host_matches("web1", &["web*".into(), "!web1".into()]));
        assert!(!host_matches("db", &["web*".into()]));
        assert!(host_matches("db", &["*".into()]));
    }
}
