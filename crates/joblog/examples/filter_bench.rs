//! Times what the log viewer and `vmo job logs --grep` do on a big job: build a
//! 1,000,000-line log (20 hosts, interleaved chunks, some ANSI colour) and filter it by a
//! regex, by plain text and by host. Prints one line per measurement (median of 5), for
//! bench/run.
//!
//!   cargo run --release -p vmo-joblog --example filter_bench [LINES]

use std::time::Instant;
use vmo_joblog::{Chunk, JobLog, LogFilter, Stream, TextMatch};

const HOSTS: u32 = 20;

fn main() {
    let lines: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let started = Instant::now();
    let log = build(lines);
    println!(
        "build {} lines: {:.1} ms",
        log.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    let regex = LogFilter {
        text: Some(
            TextMatch::new("error [0-9]+00 on", true, false).unwrap_or_else(|e| panic!("{e}")),
        ),
        ..Default::default()
    };
    let plain = LogFilter {
        text: Some(TextMatch::new("ERROR 12345", false, false).unwrap_or_else(|e| panic!("{e}"))),
        ..Default::default()
    };
    let host = LogFilter {
        hosts: Some([3u32].into_iter().collect()),
        stream: Some(Stream::Stdout),
        ..Default::default()
    };
    let t = Instant::now();
    let digests: Vec<(u64, usize)> = (0..HOSTS).map(|h| log.output_digest(h)).collect();
    println!(
        "digest every host's output (grouping): {:.1} ms ({} lines)",
        t.elapsed().as_secs_f64() * 1e3,
        digests.iter().map(|d| d.1).sum::<usize>()
    );
    for (name, filter) in [("regex", &regex), ("text", &plain), ("host", &host)] {
        let mut times = Vec::new();
        let mut found = 0;
        for _ in 0..5 {
            let t = Instant::now();
            found = log.filter(filter).len();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
        times.sort_by(f64::total_cmp);
        println!("filter {name}: {:.1} ms ({found} matches)", times[2]);
    }
}

/// Chunks of ~40 lines per host, hosts interleaved, every 10th line coloured.
fn build(lines: usize) -> JobLog {
    let mut log = JobLog::new((0..HOSTS).map(|h| format!("host{h}")).collect());
    let mut id = 0;
    let mut n = 0;
    while n < lines {
        for host in 0..HOSTS {
            let mut data = Vec::new();
            for _ in 0..40 {
                if n >= lines {
                    break;
                }
                if n % 10 == 0 {
                    data.extend_from_slice(
                        format!("\x1b[31merror {n}\x1b[0m on {host}\n").as_bytes(),
                    );
                } else {
                    data.extend_from_slice(
                        format!("line {n} of the job: all fine on host{host}\n").as_bytes(),
                    );
                }
                n += 1;
            }
            id += 1;
            log.push(&Chunk {
                id,
                host,
                stream: Stream::Stdout,
                at_ms: 1_800_000_000_000 + n as i64,
                data,
            });
        }
    }
    log.flush_all();
    log
}
