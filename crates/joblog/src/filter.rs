//! Which lines the viewer and `vmo job logs` show.

use std::borrow::Cow;
use std::collections::HashSet;

use regex::{Regex, RegexBuilder};

use crate::{ansi, JobLog, Line, Stream};

/// What to show. Every part is optional; a line must match all parts given.
#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// Only these hosts. Callers turn "exit status = 2" or "failed" into a host set.
    pub hosts: Option<HashSet<u32>>,
    pub stream: Option<Stream>,
    /// Matched against the visible text: ANSI escape sequences stripped.
    pub text: Option<TextMatch>,
}

/// A text condition on a line, as the user typed it.
#[derive(Debug, Clone)]
pub enum TextMatch {
    Plain {
        needle: String,
        case_sensitive: bool,
    },
    Regex(Regex),
}

impl TextMatch {
    /// Plain text, or a regex when `regex` is true. A bad regex is an error saying what is
    /// wrong with it, fit to show under the search box.
    pub fn new(pattern: &str, regex: bool, case_sensitive: bool) -> Result<TextMatch, String> {
        if !regex {
            return Ok(TextMatch::Plain {
                needle: pattern.to_owned(),
                case_sensitive,
            });
        }
        RegexBuilder::new(pattern)
            .case_insensitive(!case_sensitive)
            .build()
            .map(TextMatch::Regex)
            .map_err(|err| format!("invalid regular expression: {}", regex_problem(&err)))
    }

    /// Whether one line matches (after stripping ANSI). To test many lines, use
    /// [`JobLog::filter`], which prepares the match once.
    pub fn is_match(&self, line: &str) -> bool {
        Matcher::new(self).is_match(line, line.as_bytes().contains(&0x1b))
    }
}

/// The line of regex's error that names the problem: a syntax error's text also repeats the
/// pattern with a caret under the fault, which does not fit a one-line message.
fn regex_problem(err: &regex::Error) -> String {
    let text = err.to_string();
    match text
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("error: "))
    {
        Some(problem) => problem.to_owned(),
        None => text.trim().to_owned(),
    }
}

impl LogFilter {
    /// Whether `line` passes every part of the filter. To test many lines, use
    /// [`JobLog::filter`], which prepares the text match once.
    pub fn matches(&self, line: &Line<'_>) -> bool {
        Prepared::new(self).matches(line, line.text.as_bytes().contains(&0x1b))
    }
}

impl JobLog {
    /// The indices of the lines that match `filter`, in order.
    pub fn filter(&self, filter: &LogFilter) -> Vec<u32> {
        self.filter_from(filter, 0)
    }

    /// Like [`JobLog::filter`] for the lines from index `start` on: a live view filters only
    /// the lines that arrived since its last call.
    pub fn filter_from(&self, filter: &LogFilter, start: usize) -> Vec<u32> {
        self.filter_range(filter, start..self.len())
    }

    /// Like [`JobLog::filter`] for the lines in `range`: a view that must stay responsive
    /// filters a big log a slice at a time.
    pub fn filter_range(&self, filter: &LogFilter, range: std::ops::Range<usize>) -> Vec<u32> {
        let prepared = Prepared::new(filter);
        self.lines_in(range)
            .filter(|(_, (line, has_escape))| prepared.matches(line, *has_escape))
            .filter_map(|(index, _)| u32::try_from(index).ok())
            .collect()
    }
}

/// A filter made ready for many lines: the host set as a lookup table, the text as one
/// compiled matcher.
struct Prepared<'a> {
    hosts: Option<HostSet<'a>>,
    stream: Option<Stream>,
    text: Option<Matcher<'a>>,
}

impl<'a> Prepared<'a> {
    fn new(filter: &'a LogFilter) -> Self {
        Prepared {
            hosts: filter.hosts.as_ref().map(HostSet::new),
            stream: filter.stream,
            text: filter.text.as_ref().map(Matcher::new),
        }
    }

    fn matches(&self, line: &Line<'_>, has_escape: bool) -> bool {
        if let Some(hosts) = &self.hosts {
            if !hosts.contains(line.host) {
                return false;
            }
        }
        if self.stream.is_some_and(|stream| stream != line.stream) {
            return false;
        }
        self.text
            .as_ref()
            .is_none_or(|matcher| matcher.is_match(line.text, has_escape))
    }
}

/// Host membership for many lookups: a table indexed by host, unless some host index is too
/// large for a table to be cheap.
enum HostSet<'a> {
    Table(Vec<bool>),
    Set(&'a HashSet<u32>),
}

impl<'a> HostSet<'a> {
    const MAX_TABLE: u32 = 1 << 16;

    fn new(hosts: &'a HashSet<u32>) -> Self {
        match hosts.iter().max() {
            Some(&max) if max >= Self::MAX_TABLE => HostSet::Set(hosts),
            max => {
                let mut table = vec![false; max.map_or(0, |&max| max as usize + 1)];
                for &host in hosts {
                    table[host as usize] = true;
                }
                HostSet::Table(table)
            }
        }
    }

    fn contains(&self, host: u32) -> bool {
        match self {
            HostSet::Table(table) => table.get(host as usize).copied().unwrap_or(false),
            HostSet::Set(set) => set.contains(&host),
        }
    }
}

/// A [`TextMatch`] compiled for speed. Plain text becomes an escaped regex too: regex
/// searches literals with SIMD and folds case without allocating a lowercase copy per line.
enum Matcher<'a> {
    Regex(Cow<'a, Regex>),
    /// Fallback for a needle too large to compile: search as plain text.
    Contains {
        needle: Cow<'a, str>,
        lowercase: bool,
    },
}

impl<'a> Matcher<'a> {
    fn new(text: &'a TextMatch) -> Self {
        match text {
            TextMatch::Regex(regex) => Matcher::Regex(Cow::Borrowed(regex)),
            TextMatch::Plain {
                needle,
                case_sensitive,
            } => match RegexBuilder::new(&regex::escape(needle))
                .case_insensitive(!case_sensitive)
                .build()
            {
                Ok(regex) => Matcher::Regex(Cow::Owned(regex)),
                Err(_) if *case_sensitive => Matcher::Contains {
                    needle: Cow::Borrowed(needle),
                    lowercase: false,
                },
                Err(_) => Matcher::Contains {
                    needle: Cow::Owned(needle.to_lowercase()),
                    lowercase: true,
                },
            },
        }
    }

    /// Matches the visible text of `line`; `has_escape` says whether it needs stripping.
    fn is_match(&self, line: &str, has_escape: bool) -> bool {
        let visible = if has_escape {
            ansi::strip(line)
        } else {
            Cow::Borrowed(line)
        };
        match self {
            Matcher::Regex(regex) => regex.is_match(&visible),
            Matcher::Contains {
                needle,
                lowercase: false,
            } => visible.contains(needle.as_ref()),
            Matcher::Contains {
                needle,
                lowercase: true,
            } => visible.to_lowercase().contains(needle.as_ref()),
        }
    }
}
