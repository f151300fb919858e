//! What the engine records: output chunks and the stream they came from.

use serde::{Deserialize, Serialize};

/// Where a chunk came from. `Marker` is a note from the engine itself
/// (e.g. "[output truncated at 256 MiB]"), never output of the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
    Marker,
}

impl Stream {
    /// The database encoding: stdout 1, stderr 2 (the Unix file descriptors), marker 0.
    pub fn as_i64(self) -> i64 {
        match self {
            Stream::Marker => 0,
            Stream::Stdout => 1,
            Stream::Stderr => 2,
        }
    }

    /// The inverse of [`Stream::as_i64`]; `None` for an unknown code.
    pub fn from_i64(v: i64) -> Option<Stream> {
        match v {
            0 => Some(Stream::Marker),
            1 => Some(Stream::Stdout),
            2 => Some(Stream::Stderr),
            _ => None,
        }
    }

    /// The name used in exports, the CLI and JSON: "stdout", "stderr" or "marker".
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::Marker => "marker",
        }
    }

    /// The inverse of [`Stream::as_str`]; `None` for any other name.
    pub fn parse(s: &str) -> Option<Stream> {
        match s {
            "stdout" => Some(Stream::Stdout),
            "stderr" => Some(Stream::Stderr),
            "marker" => Some(Stream::Marker),
            _ => None,
        }
    }
}

/// One piece of output as received and stored (the database keeps these rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Increasing id, so a live view can resume after the last chunk it has.
    pub id: i64,
    /// Index into the job's host names (see [`crate::JobLog::new`]).
    pub host: u32,
    pub stream: Stream,
    /// When the chunk was received, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub data: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for stream in [Stream::Stdout, Stream::Stderr, Stream::Marker] {
            assert_eq!(Stream::from_i64(stream.as_i64()), Some(stream));
            assert_eq!(Stream::parse(stream.as_str()), Some(stream));
        }
        assert_eq!(Stream::Stdout.as_i64(), 1);
        assert_eq!(Stream::Stderr.as_i64(), 2);
        assert_eq!(Stream::Marker.as_i64(), 0);
        assert_eq!(Stream::from_i64(3), None);
        assert_eq!(Stream::parse("STDOUT"), None);
    }

    #[test]
    fn serializes_as_snake_case_name() {
        assert_eq!(
            serde_json::to_string(&Stream::Stderr).ok().as_deref(),
            Some("\"stderr\"")
        );
        let parsed: Result<Stream, _> = serde_json::from_str("\"marker\"");
        assert_eq!(parsed.ok(), Some(Stream::Marker));
    }
}
