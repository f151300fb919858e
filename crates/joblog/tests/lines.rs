//! Chunks becoming lines: splitting, ordering, encodings, long lines, flushing, markers.

use vmo_joblog::{Chunk, JobLog, Line, Stream, MAX_LINE};

fn chunk(id: i64, host: u32, stream: Stream, at_ms: i64, data: &[u8]) -> Chunk {
    Chunk {
        id,
        host,
        stream,
        at_ms,
        data: data.to_vec(),
    }
}

fn log(hosts: &[&str]) -> JobLog {
    JobLog::new(hosts.iter().map(|h| h.to_string()).collect())
}

fn texts(log: &JobLog) -> Vec<&str> {
    (0..log.len()).map(|i| log.line(i).unwrap().text).collect()
}

#[test]
fn new_log_is_empty() {
    let log = log(&["a", "b"]);
    assert!(log.is_empty());
    assert_eq!(log.len(), 0);
    assert_eq!(log.last_chunk_id(), 0);
    assert_eq!(log.hosts(), ["a".to_string(), "b".to_string()]);
    assert_eq!(log.line(0), None);
}

#[test]
fn line_split_over_three_chunks_is_one_line_timed_by_its_first_chunk() {
    let mut log = log(&["a"]);
    assert_eq!(log.push(&chunk(1, 0, Stream::Stdout, 100, b"hel")), 0);
    assert_eq!(log.push(&chunk(2, 0, Stream::Stdout, 200, b"lo wo")), 0);
    assert_eq!(log.push(&chunk(3, 0, Stream::Stdout, 300, b"rld\nnext")), 1);
    assert_eq!(
        log.line(0),
        Some(Line {
            host: 0,
            stream: Stream::Stdout,
            at_ms: 100,
            text: "hello world"
        })
    );
    assert_eq!(log.len(), 1);
    assert_eq!(log.push(&chunk(4, 0, Stream::Stdout, 400, b"\n")), 1);
    assert_eq!(log.line(1).unwrap().text, "next");
    assert_eq!(log.line(1).unwrap().at_ms, 300);
}

#[test]
fn several_lines_in_one_chunk() {
    let mut log = log(&["a"]);
    assert_eq!(
        log.push(&chunk(1, 0, Stream::Stdout, 5, b"one\ntwo\nthree\n")),
        3
    );
    assert_eq!(texts(&log), ["one", "two", "three"]);
    assert!(log.lines().all(|line| line.at_ms == 5));
}

#[test]
fn interleaved_hosts_and_streams_keep_their_own_order() {
    let mut log = log(&["a", "b"]);
    log.push(&chunk(1, 0, Stream::Stdout, 1, b"a-out-1\na-out-"));
    log.push(&chunk(2, 1, Stream::Stdout, 2, b"b-out-"));
    log.push(&chunk(3, 0, Stream::Stderr, 3, b"a-err-1\n"));
    log.push(&chunk(4, 1, Stream::Stderr, 4, b"b-err-1\nb-err-2\n"));
    log.push(&chunk(5, 1, Stream::Stdout, 5, b"1\n"));
    log.push(&chunk(6, 0, Stream::Stdout, 6, b"2\n"));
    assert_eq!(
        texts(&log),
        ["a-out-1", "a-err-1", "b-err-1", "b-err-2", "b-out-1", "a-out-2"]
    );
    assert_eq!(
        log.host_output(0, Stream::Stdout).collect::<Vec<_>>(),
        ["a-out-1", "a-out-2"]
    );
    assert_eq!(
        log.host_output(1, Stream::Stderr).collect::<Vec<_>>(),
        ["b-err-1", "b-err-2"]
    );
    let b_out = log.line(4).unwrap();
    assert_eq!(
        (b_out.host, b_out.stream, b_out.at_ms),
        (1, Stream::Stdout, 2)
    );
}

#[test]
fn crlf_loses_its_cr_even_across_chunks() {
    let mut log = log(&["a"]);
    log.push(&chunk(1, 0, Stream::Stdout, 1, b"dos\r\nsplit\r"));
    log.push(&chunk(2, 0, Stream::Stdout, 2, b"\nbare\rcr\n"));
    assert_eq!(texts(&log), ["dos", "split", "bare\rcr"]);
}

#[test]
fn invalid_utf8_is_replaced_and_split_characters_survive() {
    let mut log = log(&["a"]);
    log.push(&chunk(1, 0, Stream::Stdout, 1, b"bad \xff\xfe byte\n"));
    // "é" is 0xC3 0xA9: its two bytes arrive in different chunks.
    log.push(&chunk(2, 0, Stream::Stdout, 2, b"caf\xc3"));
    log.push(&chunk(3, 0, Stream::Stdout, 3, b"\xa9\n"));
    assert_eq!(texts(&log), ["bad \u{fffd}\u{fffd} byte", "café"]);
}

#[test]
fn empty_lines_are_kept() {
    let mut log = log(&["a"]);
    assert_eq!(log.push(&chunk(1, 0, Stream::Stdout, 1, b"\n\nx\n\n")), 4);
    assert_eq!(texts(&log), ["", "", "x", ""]);
    assert_eq!(log.push(&chunk(2, 0, Stream::Stdout, 2, b"")), 0);
    assert_eq!(log.flush_all(), 0);
}

#[test]
fn a_200_kib_line_is_cut_into_64_kib_pieces() {
    let mut log = log(&["a"]);
    let long: Vec<u8> = (0..200 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let mut data = long.clone();
    data.extend_from_slice(b"\nafter\n");
    assert_eq!(log.push(&chunk(1, 0, Stream::Stdout, 1, &data)), 5);
    let lengths: Vec<usize> = log.lines().map(|line| line.text.len()).collect();
    assert_eq!(lengths, [MAX_LINE, MAX_LINE, MAX_LINE, 8 * 1024, 5]);
    let joined: String = log.lines().take(4).map(|line| line.text).collect();
    assert_eq!(joined.as_bytes(), long.as_slice());
}

#[test]
fn a_long_line_arriving_in_small_chunks_is_cut_as_it_grows() {
    let mut log = log(&["a"]);
    let piece = vec![b'x'; 10_000];
    let mut added = 0;
    for id in 0..20 {
        added += log.push(&chunk(id + 1, 0, Stream::Stdout, id, &piece));
    }
    // 200,000 bytes so far: three full pieces are out, 3,392 bytes wait for the newline.
    assert_eq!(added, 3);
    assert!(log.lines().all(|line| line.text.len() == MAX_LINE));
    assert_eq!(log.line(0).unwrap().at_ms, 0);
    assert_eq!(log.push(&chunk(21, 0, Stream::Stdout, 20, b"\n")), 1);
    assert_eq!(log.line(3).unwrap().text.len(), 200_000 - 3 * MAX_LINE);
}

#[test]
fn a_line_of_exactly_max_line_bytes_stays_whole() {
    let mut log = log(&["a"]);
    let mut data = vec![b'y'; MAX_LINE];
    log.push(&chunk(1, 0, Stream::Stdout, 1, &data));
    assert_eq!(log.len(), 0);
    data.truncate(0);
    data.push(b'\n');
    assert_eq!(log.push(&chunk(2, 0, Stream::Stdout, 2, &data)), 1);
    assert_eq!(log.line(0).unwrap().text.len(), MAX_LINE);
}

#[test]
fn cuts_do_not_split_a_utf8_character() {
    let mut log = log(&["a"]);
    // Two ASCII bytes, then 3-byte characters: byte MAX_LINE falls inside a character.
    let mut data = b"xx".to_vec();
    data.extend("€".repeat(30_000).as_bytes());
    data.push(b'\n');
    log.push(&chunk(1, 0, Stream::Stdout, 1, &data));
    assert_eq!(log.len(), 2);
    let first = log.line(0).unwrap().text;
    assert!(first.len() <= MAX_LINE && first.len() > MAX_LINE - 3);
    assert!(!log.lines().any(|line| line.text.contains('\u{fffd}')));
    let joined: String = log.lines().map(|line| line.text).collect();
    assert_eq!(joined.as_bytes(), &data[..data.len() - 1]);
}

#[test]
fn flush_host_completes_only_that_hosts_partial_lines() {
    let mut log = log(&["a", "b"]);
    log.push(&chunk(1, 0, Stream::Stdout, 10, b"no newline"));
    log.push(&chunk(2, 0, Stream::Stderr, 11, b"err tail"));
    log.push(&chunk(3, 1, Stream::Stdout, 12, b"b tail"));
    assert_eq!(log.len(), 0);
    assert_eq!(log.flush_host(0), 2);
    assert_eq!(texts(&log), ["no newline", "err tail"]);
    assert_eq!(log.line(0).unwrap().at_ms, 10);
    assert_eq!(log.flush_host(0), 0);
    assert_eq!(log.flush_all(), 1);
    assert_eq!(log.line(2).unwrap().text, "b tail");
    assert_eq!(log.flush_all(), 0);
}

#[test]
fn marker_chunks_are_whole_lines() {
    let mut log = log(&["a"]);
    log.push(&chunk(1, 0, Stream::Stdout, 1, b"partial "));
    assert_eq!(
        log.push(&chunk(
            2,
            0,
            Stream::Marker,
            2,
            b"[output truncated at 256 MiB]"
        )),
        1
    );
    assert_eq!(
        log.push(&chunk(3, 0, Stream::Marker, 3, b"two\nnotes\n")),
        2
    );
    assert_eq!(log.push(&chunk(4, 0, Stream::Marker, 4, b"")), 0);
    log.push(&chunk(5, 0, Stream::Stdout, 5, b"line\n"));
    assert_eq!(
        texts(&log),
        [
            "[output truncated at 256 MiB]",
            "two",
            "notes",
            "partial line"
        ]
    );
    assert_eq!(log.line(0).unwrap().stream, Stream::Marker);
    assert_eq!(log.line(3).unwrap().at_ms, 1);
}

#[test]
fn last_chunk_id_is_the_highest_seen() {
    let mut log = log(&["a"]);
    log.push(&chunk(7, 0, Stream::Stdout, 1, b"x"));
    assert_eq!(log.last_chunk_id(), 7);
    log.push(&chunk(3, 0, Stream::Stdout, 1, b"y"));
    assert_eq!(log.last_chunk_id(), 7);
    log.push(&chunk(9, 0, Stream::Marker, 1, b"z"));
    assert_eq!(log.last_chunk_id(), 9);
}

#[test]
fn unknown_host_index_gets_a_placeholder_name() {
    let log = log(&["a"]);
    assert_eq!(log.host_name(0), "a");
    assert_eq!(log.host_name(5), "host#5");
}

#[test]
fn a_cut_line_ending_in_cr_lf_split_across_chunks_adds_no_empty_line() {
    // MAX_LINE bytes, then the `\r` of its `\r\n` in the same chunk and the `\n` in the next:
    // the piece is cut before the newline is seen, and the lone `\r` left must not become a
    // line of its own, as it does not when the line arrives whole.
    let mut body = vec![b'x'; MAX_LINE];
    body.push(b'\r');
    let mut split = log(&["a"]);
    split.push(&chunk(1, 0, Stream::Stdout, 1, &body));
    split.push(&chunk(2, 0, Stream::Stdout, 2, b"\nnext\n"));
    let mut whole = log(&["a"]);
    body.extend(b"\nnext\n");
    whole.push(&chunk(1, 0, Stream::Stdout, 1, &body));
    let lengths = |log: &JobLog| texts(log).iter().map(|t| t.len()).collect::<Vec<_>>();
    assert_eq!(lengths(&whole), [MAX_LINE, 4]);
    assert_eq!(lengths(&split), [MAX_LINE, 4]);
    assert_eq!(texts(&split)[1], "next");
}
