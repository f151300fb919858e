//! Times the command palette's search as a user types: 10,000 VMs + 1,000 templates +
//! 10,000 history entries (and their tags), a 6-letter query typed one character at a
//! time, many times over; prints p50 / p99 / max per keystroke and the index build time.
//!
//!   cargo run --release -p vmo-command --example palette_bench [VMS TEMPLATES HISTORY]

use std::time::Instant;
use vmo_command::search::{Item, ItemKind, SearchIndex};

/// Results the palette shows.
const LIMIT: usize = 50;

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args()
            .nth(i)
            .and_then(|n| n.parse().ok())
            .unwrap_or(default)
    };
    let (vms, templates, history) = (arg(1, 10_000), arg(2, 1_000), arg(3, 10_000));
    let items = items(vms, templates, history);
    let count = items.len();
    let started = Instant::now();
    let index = SearchIndex::new(items);
    println!(
        "palette index of {count} items: built in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    // Queries that hit VMs, templates, history, and one that finds little.
    let queries = ["webprd", "rstsrv", "journl", "dbfra9", "nginxr", "zqxjvk"];
    let mut times = Vec::new();
    let mut by_len = vec![Vec::new(); 7];
    let mut hits = 0;
    for round in 0..20 {
        for query in queries {
            for end in 1..=query.len() {
                let typed = &query[..end];
                let t = Instant::now();
                let found = index.search(typed, LIMIT);
                let ms = t.elapsed().as_secs_f64() * 1e3;
                times.push(ms);
                by_len[end].push(ms);
                if round == 0 && end == query.len() {
                    hits += found.len();
                }
            }
        }
    }
    for (len, t) in by_len.iter_mut().enumerate().skip(1) {
        t.sort_by(f64::total_cmp);
        println!(
            "  {len} typed: median {:.2} ms, worst {:.2} ms",
            t[t.len() / 2],
            t[t.len() - 1]
        );
    }
    times.sort_by(f64::total_cmp);
    let pick = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    println!(
        "palette keystroke over {count} items ({} keystrokes, {hits} hits for full queries): \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        pick(0.5),
        pick(0.99),
        pick(1.0)
    );
}

/// Names like real fleets: `web-prd-fra-0042`, templates like the starter library's,
/// history of typical commands with template runs among them.
fn items(vms: usize, templates: usize, history: usize) -> Vec<Item> {
    let roles = [
        "web", "db", "cache", "queue", "api", "worker", "lb", "search",
    ];
    let envs = ["prd", "stg", "dev"];
    let sites = ["fra", "ams", "lon", "nyc", "sfo", "sgp"];
    let verbs = [
        "restart", "status", "tail", "check", "rotate", "clean", "deploy", "backup",
    ];
    let things = [
        "service", "journal", "disk", "memory", "nginx", "postgres", "docker", "certs",
    ];
    let mut items = Vec::with_capacity(vms + templates + history + 64);
    let mut tags = std::collections::BTreeSet::new();
    for i in 0..vms {
        let (role, env, site) = (
            roles[i % roles.len()],
            envs[i / 7 % envs.len()],
            sites[i / 3 % sites.len()],
        );
        let name = format!("{role}-{env}-{site}{}-{i:04}", i % 10);
        items.push(
            Item::new(ItemKind::Vm, i.to_string(), name).with_detail(format!(
                "ops@10.{}.{}.{}",
                i / 65536,
                i / 256 % 256,
                i % 256
            )),
        );
        tags.insert(format!("{role}-{env}"));
        tags.insert(site.to_string());
    }
    for i in 0..templates {
        let name = format!(
            "{}-{}-{i}",
            verbs[i % verbs.len()],
            things[i / verbs.len() % things.len()]
        );
        items.push(
            Item::new(ItemKind::Template, &name, &name).with_detail(format!(
                "{} the {} on a host #ops",
                verbs[i % 8],
                things[i % 8]
            )),
        );
    }
    for i in 0..history {
        let command = match i % 4 {
            0 => format!("sudo systemctl restart {}-{i}.service", things[i % 8]),
            1 => format!(
                "journalctl -u {} --since -{}min -p err",
                things[i % 8],
                i % 90
            ),
            2 => format!("tail -n {} /var/log/{}/{i}.log", i % 500, things[i % 8]),
            _ => format!(
                "df -h /srv/{}/{i} && du -sh /srv/{}",
                roles[i % 8],
                roles[i % 8]
            ),
        };
        items.push(Item::new(ItemKind::History, &command, &command).with_boost((i % 50) as f64));
    }
    for tag in tags {
        items.push(Item::new(ItemKind::Tag, &tag, format!("tag:{tag}")));
    }
    items
}
