//! Chunks of output turned into lines, stored compactly.

use std::collections::HashMap;

use crate::{Chunk, Stream};

/// The longest line kept whole, in bytes of received output. A longer line is cut into
/// several lines of at most this many bytes (at a UTF-8 character boundary where the bytes
/// allow), so one runaway line (a minified file, a progress bar without newlines) keeps
/// rendering cheap and its memory bounded until its newline arrives.
pub const MAX_LINE: usize = 64 * 1024;

/// One line of a job's output, borrowed from its [`JobLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    pub host: u32,
    pub stream: Stream,
    /// When the line started: the `at_ms` of the chunk holding its first byte. The pieces of
    /// a line cut at [`MAX_LINE`] all keep the time of the line they were cut from.
    pub at_ms: i64,
    /// The text without its newline, ANSI escape sequences kept (see [`crate::ansi`]).
    pub text: &'a str,
}

/// A job's output as lines, built incrementally from chunks (live) or all at once (history).
///
/// Lines live in one text arena with small fixed-size records (24 bytes each), so a
/// 1,000,000-line log costs about 24 bytes per line plus its text, and filters run over
/// contiguous memory. A line longer than [`MAX_LINE`] bytes is cut into several lines.
#[derive(Debug, Clone, Default)]
pub struct JobLog {
    hosts: Vec<String>,
    arena: Arena,
    /// The unfinished last line of each (host, stream), waiting for its newline.
    pending: HashMap<(u32, Stream), Partial>,
    last_chunk_id: i64,
}

/// Complete lines: their text back to back, and one record per line. A line ends where the
/// next one starts, because lines are appended only once complete.
#[derive(Debug, Clone, Default)]
struct Arena {
    text: String,
    records: Vec<Record>,
    /// Line indices per host, so one host's output is read without scanning the others'.
    by_host: Vec<Vec<u32>>,
}

#[derive(Debug, Clone, Copy)]
struct Record {
    start: u64,
    at_ms: i64,
    host: u32,
    stream: Stream,
    /// Whether the text holds an ESC, so filters strip ANSI only where there is some.
    has_escape: bool,
}

#[derive(Debug, Clone, Default)]
struct Partial {
    bytes: Vec<u8>,
    at_ms: i64,
    /// Pieces of this line were already cut off at [`MAX_LINE`].
    cut: bool,
}

impl JobLog {
    /// An empty log for a job on `hosts`; a chunk's `host` indexes this list.
    pub fn new(hosts: Vec<String>) -> Self {
        JobLog {
            hosts,
            ..JobLog::default()
        }
    }

    /// The job's host names, indexed by [`Chunk::host`] and [`Line::host`].
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// The name of `host`, or `host#N` for an index outside [`JobLog::hosts`].
    pub fn host_name(&self, host: u32) -> std::borrow::Cow<'_, str> {
        match self.hosts.get(host as usize) {
            Some(name) => name.as_str().into(),
            None => format!("host#{host}").into(),
        }
    }

    /// Appends a chunk: splits its data on `\n` per (host, stream); a partial last line waits
    /// for the next chunk of the same host and stream. Marker chunks are always whole lines.
    /// Bytes that are not UTF-8 show as U+FFFD, and the `\r` of a `\r\n` is dropped.
    /// A line's timestamp is the `at_ms` of the chunk in which it started.
    /// Returns how many complete lines this added.
    pub fn push(&mut self, chunk: &Chunk) -> usize {
        self.last_chunk_id = self.last_chunk_id.max(chunk.id);
        match chunk.stream {
            Stream::Marker => self.push_marker(chunk),
            Stream::Stdout | Stream::Stderr => self.push_output(chunk),
        }
    }

    fn push_marker(&mut self, chunk: &Chunk) -> usize {
        if chunk.data.is_empty() {
            return 0;
        }
        let data = chunk.data.strip_suffix(b"\n").unwrap_or(&chunk.data);
        data.split(|&b| b == b'\n')
            .map(|line| {
                self.arena
                    .push_line(chunk.host, Stream::Marker, chunk.at_ms, trim_cr(line))
            })
            .sum()
    }

    fn push_output(&mut self, chunk: &Chunk) -> usize {
        let (host, stream) = (chunk.host, chunk.stream);
        let partial = self.pending.entry((host, stream)).or_default();
        let mut added = 0;
        let mut rest = chunk.data.as_slice();
        while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = (&rest[..newline], &rest[newline + 1..]);
            added += if partial.bytes.is_empty() && !partial.cut {
                self.arena
                    .push_line(host, stream, chunk.at_ms, trim_cr(line))
            } else {
                partial.bytes.extend_from_slice(line);
                let rest = trim_cr(&partial.bytes);
                // Pieces already cut from this line: a lone `\r` left before its newline
                // is no piece of its own, as it is not when the line arrives whole.
                let n = if partial.cut && rest.is_empty() {
                    0
                } else {
                    self.arena.push_line(host, stream, partial.at_ms, rest)
                };
                partial.bytes.clear();
                partial.cut = false;
                n
            };
            rest = after;
        }
        if !rest.is_empty() {
            if partial.bytes.is_empty() && !partial.cut {
                partial.at_ms = chunk.at_ms;
            }
            partial.bytes.extend_from_slice(rest);
            let (n, consumed) =
                self.arena
                    .push_full_pieces(host, stream, partial.at_ms, &partial.bytes);
            partial.bytes.drain(..consumed);
            partial.cut |= n > 0;
            added += n;
        }
        added
    }

    /// Completes the partial lines of one host, e.g. when the host finished.
    /// Returns how many lines this added.
    pub fn flush_host(&mut self, host: u32) -> usize {
        let mut added = 0;
        for stream in [Stream::Stdout, Stream::Stderr] {
            if let Some(partial) = self.pending.remove(&(host, stream)) {
                if !partial.bytes.is_empty() {
                    added += self
                        .arena
                        .push_line(host, stream, partial.at_ms, &partial.bytes);
                }
            }
        }
        added
    }

    /// Completes the partial lines of every host, e.g. when the job finished.
    pub fn flush_all(&mut self) -> usize {
        let mut hosts: Vec<u32> = self.pending.keys().map(|&(host, _)| host).collect();
        hosts.sort_unstable();
        hosts.dedup();
        hosts.into_iter().map(|host| self.flush_host(host)).sum()
    }

    /// The highest chunk id pushed so far, 0 when none: a live view asks for newer chunks.
    pub fn last_chunk_id(&self) -> i64 {
        self.last_chunk_id
    }

    /// The number of complete lines.
    pub fn len(&self) -> usize {
        self.arena.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.arena.records.is_empty()
    }

    /// The line at `index` in arrival order, or `None` past the end.
    pub fn line(&self, index: usize) -> Option<Line<'_>> {
        self.arena.line(index)
    }

    /// All complete lines in arrival order.
    pub fn lines(&self) -> impl Iterator<Item = Line<'_>> {
        self.arena.iter().map(|(line, _)| line)
    }

    /// The lines in `range`, with their indices and whether each holds an ESC.
    pub(crate) fn lines_in(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (usize, (Line<'_>, bool))> {
        self.arena.iter_range(range)
    }

    /// The complete lines of one stream of one host, in order.
    pub fn host_output(&self, host: u32, stream: Stream) -> impl Iterator<Item = &str> {
        self.arena
            .by_host
            .get(host as usize)
            .into_iter()
            .flatten()
            .filter_map(move |i| self.arena.line(*i as usize))
            .filter(move |line| line.stream == stream)
            .map(|line| line.text)
    }

    /// A digest of `host`'s output (its stdout lines, then its stderr lines; markers left
    /// out) and how many lines it has: hosts with equal digests have identical output, as
    /// [`group_hosts`](crate::group_hosts) compares it. Costs one pass over that host's
    /// lines only, so a live view can group hosts as each one finishes.
    pub fn output_digest(&self, host: u32) -> (u64, usize) {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut lines = 0;
        for stream in [Stream::Stdout, Stream::Stderr] {
            stream.hash(&mut hasher);
            for text in self.host_output(host, stream) {
                text.hash(&mut hasher);
                lines += 1;
            }
        }
        (hasher.finish(), lines)
    }
}

impl Arena {
    fn line(&self, index: usize) -> Option<Line<'_>> {
        let record = self.records.get(index)?;
        let end = match self.records.get(index + 1) {
            Some(next) => next.start as usize,
            None => self.text.len(),
        };
        Some(Line {
            host: record.host,
            stream: record.stream,
            at_ms: record.at_ms,
            text: self.text.get(record.start as usize..end)?,
        })
    }

    fn iter(&self) -> impl Iterator<Item = (Line<'_>, bool)> {
        self.iter_range(0..self.records.len()).map(|(_, item)| item)
    }

    /// Lines in `range` with their indices, reached directly (no walk from the start).
    fn iter_range(
        &self,
        range: std::ops::Range<usize>,
    ) -> impl Iterator<Item = (usize, (Line<'_>, bool))> {
        let end = range.end.min(self.records.len());
        let start = range.start.min(end);
        let ends = self
            .records
            .get(start + 1..end.max(start + 1))
            .unwrap_or_default()
            .iter()
            .map(|next| next.start as usize)
            .chain(std::iter::once(
                self.records
                    .get(end)
                    .map_or(self.text.len(), |next| next.start as usize),
            ));
        self.records[start..end]
            .iter()
            .zip(ends)
            .enumerate()
            .map(move |(i, (record, stop))| {
                let line = Line {
                    host: record.host,
                    stream: record.stream,
                    at_ms: record.at_ms,
                    text: self
                        .text
                        .get(record.start as usize..stop)
                        .unwrap_or_default(),
                };
                (start + i, (line, record.has_escape))
            })
    }

    /// Appends one complete line (cut into pieces if longer than [`MAX_LINE`]).
    /// Returns how many lines it became.
    fn push_line(&mut self, host: u32, stream: Stream, at_ms: i64, bytes: &[u8]) -> usize {
        let mut rest = bytes;
        let mut added = 0;
        loop {
            let (piece, after) = rest.split_at(cut_len(rest));
            self.push_piece(host, stream, at_ms, piece);
            added += 1;
            rest = after;
            if rest.is_empty() {
                return added;
            }
        }
    }

    /// Appends the leading [`MAX_LINE`] pieces of an unfinished line while more than
    /// `MAX_LINE` bytes would remain. Returns (lines added, bytes consumed).
    fn push_full_pieces(
        &mut self,
        host: u32,
        stream: Stream,
        at_ms: i64,
        bytes: &[u8],
    ) -> (usize, usize) {
        let mut consumed = 0;
        let mut added = 0;
        while bytes.len() - consumed > MAX_LINE {
            let len = cut_len(&bytes[consumed..]);
            self.push_piece(host, stream, at_ms, &bytes[consumed..consumed + len]);
            consumed += len;
            added += 1;
        }
        (added, consumed)
    }

    fn push_piece(&mut self, host: u32, stream: Stream, at_ms: i64, bytes: &[u8]) {
        let slot = host as usize;
        if self.by_host.len() <= slot {
            self.by_host.resize_with(slot + 1, Vec::new);
        }
        self.by_host[slot].push(self.records.len() as u32);
        self.records.push(Record {
            start: self.text.len() as u64,
            at_ms,
            host,
            stream,
            has_escape: bytes.contains(&0x1b),
        });
        // Validating first is much faster than the lossy path for the usual valid output.
        match std::str::from_utf8(bytes) {
            Ok(text) => self.text.push_str(text),
            Err(_) => self.text.push_str(&String::from_utf8_lossy(bytes)),
        }
    }
}

/// How many leading bytes of `bytes` form the next line piece: all of them up to
/// [`MAX_LINE`], else `MAX_LINE` moved back (by at most 3 bytes) so that it does not split
/// a UTF-8 character.
fn cut_len(bytes: &[u8]) -> usize {
    if bytes.len() <= MAX_LINE {
        return bytes.len();
    }
    let is_continuation = |b: u8| b & 0b1100_0000 == 0b1000_0000;
    (MAX_LINE - 3..=MAX_LINE)
        .rev()
        .find(|&cut| !is_continuation(bytes[cut]))
        .unwrap_or(MAX_LINE)
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_record_costs_24_bytes() {
        assert_eq!(std::mem::size_of::<Record>(), 24);
    }

    #[test]
    fn cut_len_backs_off_to_a_character_start() {
        let mut bytes = vec![b'a'; MAX_LINE - 1];
        bytes.extend("€".as_bytes());
        assert_eq!(cut_len(&bytes), MAX_LINE - 1);
        assert_eq!(cut_len(&bytes[..10]), 10);
        // Not UTF-8 at all: cut at the limit rather than searching further back.
        let continuation = vec![0x80; MAX_LINE + 10];
        assert_eq!(cut_len(&continuation), MAX_LINE);
    }
}
