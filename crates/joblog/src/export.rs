//! Saving a job's output: as text, as JSON lines, and a per-host summary as CSV.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::{ansi, format_rfc3339_millis, JobLog, Stream};

/// Writes the given lines as text, one per line: `host: text` for stdout,
/// `host [stderr]: text` for stderr and `host [vmo]: text` for markers, each prefixed with
/// `[2026-11-29T10:00:00.123Z] ` when `timestamps` is set. ANSI escapes are stripped, since a
/// text file is read in an editor, not a terminal. Indices past the end are skipped.
/// Returns the number of lines written.
pub fn export_text(
    log: &JobLog,
    lines: &[u32],
    timestamps: bool,
    out: &mut impl Write,
) -> io::Result<usize> {
    let mut written = 0;
    for line in lines.iter().filter_map(|&index| log.line(index as usize)) {
        if timestamps {
            write!(out, "[{}] ", format_rfc3339_millis(line.at_ms))?;
        }
        let tag = match line.stream {
            Stream::Stdout => "",
            Stream::Stderr => " [stderr]",
            Stream::Marker => " [vmo]",
        };
        writeln!(
            out,
            "{}{tag}: {}",
            log.host_name(line.host),
            ansi::strip(line.text)
        )?;
        written += 1;
    }
    Ok(written)
}

/// One line of a JSON-lines export.
#[derive(Serialize)]
struct JsonLine<'a> {
    at_ms: i64,
    at: String,
    host: &'a str,
    stream: Stream,
    line: &'a str,
}

/// Writes the given lines as JSON lines, one object each:
/// `{"at_ms":…,"at":"RFC 3339","host":"name","stream":"stdout","line":"raw text"}`.
/// The text keeps its ANSI escapes so a consumer can still render colours.
/// Indices past the end are skipped. Returns the number of lines written.
pub fn export_jsonl(log: &JobLog, lines: &[u32], out: &mut impl Write) -> io::Result<usize> {
    let mut written = 0;
    for line in lines.iter().filter_map(|&index| log.line(index as usize)) {
        let host = log.host_name(line.host);
        let record = JsonLine {
            at_ms: line.at_ms,
            at: format_rfc3339_millis(line.at_ms),
            host: &host,
            stream: line.stream,
            line: line.text,
        };
        serde_json::to_writer(&mut *out, &record)?;
        out.write_all(b"\n")?;
        written += 1;
    }
    Ok(written)
}

/// One host's outcome in a job, a row of the CSV summary.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HostSummary {
    pub host: String,
    pub state: String,
    pub exit_code: Option<i64>,
    pub signal: Option<String>,
    pub duration_ms: Option<i64>,
    pub stdout_lines: usize,
    pub stderr_lines: usize,
    pub error: Option<String>,
}

const CSV_HEADER: &str =
    "host,state,exit_code,signal,duration_ms,stdout_lines,stderr_lines,error\r\n";

/// Writes the per-host summary as CSV (RFC 4180: CRLF line ends, fields with a comma,
/// quote, CR or LF quoted, quotes doubled) after a header row. Text fields that a
/// spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) get a
/// leading apostrophe: host names and error messages come from remote machines.
/// Returns the number of rows written, not counting the header.
pub fn export_csv(rows: &[HostSummary], out: &mut impl Write) -> io::Result<usize> {
    out.write_all(CSV_HEADER.as_bytes())?;
    for row in rows {
        let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        let fields = [
            text_field(&row.host),
            text_field(&row.state),
            number(row.exit_code),
            text_field(row.signal.as_deref().unwrap_or_default()),
            number(row.duration_ms),
            row.stdout_lines.to_string(),
            row.stderr_lines.to_string(),
            text_field(row.error.as_deref().unwrap_or_default()),
        ];
        out.write_all(fields.join(",").as_bytes())?;
        out.write_all(b"\r\n")?;
    }
    Ok(rows.len())
}

/// A text value made safe for a spreadsheet, then quoted as RFC 4180 requires.
fn text_field(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

#[cfg(test)]
mod tests {
    use super::text_field;

    #[test]
    fn plain_text_is_unchanged() {
        assert_eq!(text_field("web-01"), "web-01");
        assert_eq!(text_field(""), "");
    }

    #[test]
    fn quoting() {
        assert_eq!(text_field("a,b"), "\"a,b\"");
        assert_eq!(text_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(text_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(text_field("cr\rhere"), "\"cr\rhere\"");
    }

    #[test]
    fn formula_guard() {
        assert_eq!(text_field("=1+1"), "'=1+1");
        assert_eq!(text_field("+x"), "'+x");
        assert_eq!(text_field("-x"), "'-x");
        assert_eq!(text_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(text_field("\tx"), "'\tx");
        assert_eq!(
            text_field("=HYPERLINK(\"u\",\"a\")"),
            "\"'=HYPERLINK(\"\"u\"\",\"\"a\"\")\""
        );
        assert_eq!(text_field("a=b"), "a=b");
    }
}
