//! Property tests of the engine's importers, which read files a user points them at: the
//! OpenSSH client config and Ansible inventories (INI and YAML). Any input parses or is an
//! error naming a line of the file; generated configs and inventories read back as what was
//! written; an exported inventory imports as the same hosts. A short run by default;
//! `PROPTEST_CASES=100000 cargo test -p vmo-engine --test fuzz` runs the long one (see
//! "Fuzzing" in README.md).

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::path::Path;
use std::time::{Duration, Instant};
use vmo_engine::ansible::{self, AnsibleHost};
use vmo_engine::ssh_config::{self, SshHost};
use vmo_engine::vm::{AuthMethod, Vm, VmDraft, VmId};

/// The case count: `PROPTEST_CASES` when set, else `short` (the CI run). Failures found
/// are kept in `tests/proptest-regressions/` and tried first on every run.
fn config(short: u32) -> ProptestConfig {
    let mut config = ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/fuzz.txt",
        ))),
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = short;
    }
    config
}

fn line_count(bytes: &[u8]) -> usize {
    bytes.split(|b| *b == b'\n').count()
}

/// Loads `text` as an ssh config file in a fresh folder.
fn load_ssh_config(text: &[u8]) -> Result<Vec<SshHost>, ssh_config::SshConfigError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config");
    std::fs::write(&path, text).unwrap();
    ssh_config::load(&path)
}

// --- ssh config ---------------------------------------------------------------------------

fn ssh_keyword() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "Host",
        "host",
        "HOST",
        "Match",
        "HostName",
        "Port",
        "User",
        "IdentityFile",
        "ProxyJump",
        "ForwardAgent",
        "Include",
        "port",
        "#",
        "",
    ])
}

fn ssh_arg() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9*?!.%_-]{0,12}",
        (0u32..70000).prop_map(|p| p.to_string()),
        "\"[^\"\n]{0,12}\"",
        "\"[^\"\n]{0,12}",
        any::<String>().prop_map(|s| s.replace('\n', " ")),
    ]
}

/// Config lines from the real keywords, with any arguments, separators and indentation
/// (Include only of names that match nothing, so no test reads outside its folder).
fn ssh_line() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            "[ \t]{0,2}",
            ssh_keyword(),
            prop::sample::select(vec![" ", "=", " = ", "\t"]),
            prop::collection::vec(ssh_arg(), 0..3)
        )
            .prop_map(|(indent, keyword, sep, args)| {
                let args = if keyword == "Include" {
                    vec!["no-such-file-*".to_string()]
                } else {
                    args
                };
                format!("{indent}{keyword}{sep}{}", args.join(" "))
            }),
        any::<String>().prop_filter("no Include", |s| !s
            .to_ascii_lowercase()
            .contains("include")),
    ]
}

/// A host as written in a generated config, and what loading must resolve it to.
#[derive(Debug, Clone)]
struct ConfigHost {
    alias: String,
    host_name: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    identity_file: Option<String>,
    proxy_jump: Option<String>,
}

fn config_host() -> impl Strategy<Value = ConfigHost> {
    (
        "[a-z0-9][a-z0-9._-]{0,15}",
        prop::option::of("[a-z0-9][a-z0-9.-]{0,20}"),
        prop::option::of(1u16..),
        prop::option::of("[a-z_][a-z0-9_-]{0,10}"),
        prop::option::of("/[a-zA-Z0-9 ._/-]{1,30}"),
        prop::option::of("[a-z]{1,8}@[a-z0-9.]{1,12}:[1-9][0-9]{0,3}"),
    )
        .prop_map(
            |(alias, host_name, port, user, identity_file, proxy_jump)| ConfigHost {
                alias,
                host_name,
                port,
                user,
                identity_file: identity_file.map(|f| f.trim_end().to_string()),
                proxy_jump,
            },
        )
}

fn write_config(hosts: &[ConfigHost], default_user: &str) -> String {
    let mut text = String::from("# generated\n");
    for h in hosts {
        text.push_str(&format!("Host {}\n", h.alias));
        if let Some(v) = &h.host_name {
            text.push_str(&format!("  HostName {v}\n"));
        }
        if let Some(v) = h.port {
            text.push_str(&format!("  Port={v}\n"));
        }
        if let Some(v) = &h.user {
            text.push_str(&format!("  User {v}  # a comment\n"));
        }
        if let Some(v) = &h.identity_file {
            text.push_str(&format!("  IdentityFile \"{v}\"\n"));
        }
        if let Some(v) = &h.proxy_jump {
            text.push_str(&format!("\tProxyJump {v}\n"));
        }
        text.push('\n');
    }
    text.push_str(&format!("Host *\n  User {default_user}\n  Port 2222\n"));
    text
}

// --- Ansible ------------------------------------------------------------------------------

fn ini_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\[[a-z_:!\\]\\[ ]{0,14}\\]?[ #;a-z]{0,4}",
        prop::sample::select(vec![
            "[all:vars]",
            "[web:children]",
            "[web]",
            "[db:vars]",
            "[x:y]"
        ])
        .prop_map(str::to_string),
        (
            "[a-z0-9.\\[\\]:_-]{1,16}",
            prop::collection::vec(("ansible_[a-z_]{1,8}", "[^\\n\\r]{0,10}"), 0..3)
        )
            .prop_map(|(name, vars)| {
                let vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
                format!("{name} {}", vars.join(" "))
            }),
        "[a-z_]{1,10} ?= ?[^\\n\\r]{0,16}",
        any::<String>(),
    ]
}

fn yaml_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just(String::new()),
        "[a-z0-9_.:\\[\\]-]{1,12}",
        "\"[^\"\\n]{0,8}\"",
        (0u32..70000).prop_map(|n| n.to_string()),
        Just("[1, 2]".into()),
        Just("{a: 1}".into()),
        Just("!tag x".into()),
        Just("~".into()),
        Just("&a x".into()),
        Just("*a".into()),
    ];
    let key = prop_oneof![
        prop::sample::select(vec![
            "all",
            "hosts",
            "children",
            "vars",
            "ansible_host",
            "ansible_port",
            "ansible_user",
            "ansible_ssh_common_args",
            "web",
            "db[1:3]",
            ""
        ])
        .prop_map(str::to_string),
        "[a-z0-9]{1,6}",
    ];
    prop::collection::vec((0usize..4, key, leaf), 0..24).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(depth, key, value)| format!("{}{key}: {value}\n", "  ".repeat(depth)))
            .collect()
    })
}

/// VMs as the inventory holds them (validated drafts), to be exported.
fn vm(id: i64) -> impl Strategy<Value = Option<Vm>> {
    (
        "[a-z0-9][a-z0-9._-]{0,20}",
        prop_oneof![
            "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
            any::<std::net::Ipv4Addr>().prop_map(|a| a.to_string()),
            any::<std::net::Ipv6Addr>().prop_map(|a| a.to_string()),
        ],
        1u16..,
        "([a-z_][a-z0-9_.{}%#-]{0,10})?",
        prop::option::of("[~/a-zA-Z0-9 ._{}%#-]{1,24}"),
        prop::option::of("[a-z]{1,6}@[a-z0-9.]{1,12}(:[1-9][0-9]{0,3})?"),
        prop::collection::vec("[a-zäöü0-9._:/-]{1,12}", 0..4),
    )
        .prop_map(move |(name, host, port, user, key_file, jump_host, tags)| {
            let draft = VmDraft {
                name,
                host,
                port,
                user,
                auth: if key_file.is_some() {
                    AuthMethod::KeyFile
                } else {
                    AuthMethod::Agent
                },
                key_file,
                jump_host,
                tags,
                notes: String::new(),
            };
            draft.validate().ok().map(|d| Vm {
                id: VmId(id),
                name: d.name,
                host: d.host,
                port: d.port,
                user: d.user,
                auth: d.auth,
                key_file: d.key_file,
                jump_host: d.jump_host,
                tags: d.tags,
                notes: d.notes,
                created_at: 0,
                updated_at: 0,
            })
        })
}

fn vms() -> impl Strategy<Value = Vec<Vm>> {
    prop::collection::vec((0i64..1_000_000).prop_flat_map(vm), 0..8).prop_map(|vms| {
        let mut seen = std::collections::HashSet::new();
        vms.into_iter()
            .flatten()
            .filter(|vm| seen.insert(vm.name.to_ascii_lowercase()))
            .collect()
    })
}

/// What importing an exported `vm` must give.
fn imported_as(vm: &Vm) -> AnsibleHost {
    AnsibleHost {
        name: vm.name.clone(),
        host: Some(vm.host.clone()),
        port: (vm.port != 22).then_some(vm.port),
        user: (!vm.user.is_empty()).then(|| vm.user.clone()),
        key_file: vm.key_file.clone(),
        jump: vm.jump_host.clone(),
        tags: vm
            .tags
            .iter()
            .filter(|t| *t != "all" && *t != "ungrouped")
            .cloned()
            .collect(),
        problem: None,
    }
}

proptest! {
    #![proptest_config(config(128))]

    /// Any bytes: the ssh config loads, or fails naming a line that exists.
    #[test]
    fn ssh_config_of_any_bytes_loads_or_names_a_line(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        prop_assume!(!String::from_utf8_lossy(&bytes).to_ascii_lowercase().contains("include"));
        if let Err(e) = load_ssh_config(&bytes) {
            prop_assert!(e.line.is_some_and(|l| l >= 1 && l <= line_count(&bytes)), "{}", e);
        }
    }

    /// Lines of real keywords with any arguments: loads, or fails naming a line that exists;
    /// every host loaded is a concrete alias of some Host line, never a pattern.
    #[test]
    fn ssh_config_of_keyword_lines_loads_or_names_a_line(lines in prop::collection::vec(ssh_line(), 0..24)) {
        let text = lines.join("\n");
        match load_ssh_config(text.as_bytes()) {
            Ok(hosts) => {
                for host in hosts {
                    prop_assert!(!host.alias.is_empty());
                    prop_assert!(!host.alias.starts_with('!') && !host.alias.contains(['*', '?']));
                }
            }
            Err(e) => prop_assert!(e.line.is_some_and(|l| l >= 1 && l <= line_count(text.as_bytes())), "{}", e),
        }
    }

    /// A generated config reads back host by host, wildcard defaults filling the gaps.
    #[test]
    fn ssh_config_reads_back_what_was_written(
        hosts in prop::collection::vec(config_host(), 0..8),
        default_user in "[a-z]{1,8}",
    ) {
        let mut seen = std::collections::HashSet::new();
        let hosts: Vec<ConfigHost> = hosts.into_iter().filter(|h| seen.insert(h.alias.to_ascii_lowercase())).collect();
        let loaded = load_ssh_config(write_config(&hosts, &default_user).as_bytes());
        prop_assert!(loaded.is_ok(), "{:?}", loaded);
        let loaded = loaded.unwrap_or_default();
        prop_assert_eq!(loaded.len(), hosts.len());
        for (got, want) in loaded.iter().zip(&hosts) {
            prop_assert_eq!(&got.alias, &want.alias);
            prop_assert_eq!(&got.host_name, &want.host_name);
            prop_assert_eq!(got.port, Some(want.port.unwrap_or(2222)));
            prop_assert_eq!(got.user.as_deref(), Some(want.user.as_deref().unwrap_or(&default_user)));
            prop_assert_eq!(&got.identity_file, &want.identity_file);
            prop_assert_eq!(&got.proxy_jump, &want.proxy_jump);
        }
    }

    /// Any text as an INI inventory: hosts, or an error naming a line that exists.
    #[test]
    fn ini_inventory_of_any_text_reads_or_names_a_line(lines in prop::collection::vec(ini_line(), 0..24)) {
        let text = lines.join("\n");
        if let Err(e) = ansible::parse(Path::new("hosts.ini"), &text) {
            if let Some(line) = e.line {
                prop_assert!(line >= 1 && line <= line_count(text.as_bytes()), "{}", e);
            }
        }
    }

    /// Any text as a YAML inventory: hosts, or an error (no panic, no hang).
    #[test]
    fn yaml_inventory_of_any_text_reads_or_fails(text in prop_oneof![yaml_text(), any::<String>()]) {
        if let Ok(hosts) = ansible::parse(Path::new("hosts.yml"), &text) {
            for host in hosts {
                prop_assert!(!host.name.is_empty());
                prop_assert!(host.port != Some(0));
            }
        }
    }

    /// Export, then import: the same hosts with the same connection settings and tags.
    #[test]
    fn exported_inventory_imports_as_the_same_hosts(vms in vms()) {
        let text = ansible::export(&vms, &vms);
        let imported = ansible::parse(Path::new("inventory.yml"), &text);
        prop_assert!(imported.is_ok(), "{:?}\n{}", imported, text);
        let mut imported = imported.unwrap_or_default();
        imported.sort_by(|a, b| a.name.cmp(&b.name));
        let mut expected: Vec<AnsibleHost> = vms.iter().map(imported_as).collect();
        expected.sort_by(|a, b| a.name.cmp(&b.name));
        prop_assert_eq!(imported, expected, "{}", text);
    }
}

/// Runs `work` on a thread and fails if it takes longer than `limit`: the inputs below made
/// the readers take exponential time or overflow the stack before they were fixed.
fn within<T: Send + 'static>(limit: Duration, work: impl FnOnce() -> T + Send + 'static) -> T {
    let started = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    let result = rx
        .recv_timeout(limit)
        .unwrap_or_else(|_| panic!("still running after {limit:?}"));
    println!("took {:?}", started.elapsed());
    result
}

#[test]
fn a_host_pattern_with_many_stars_matches_in_linear_time() {
    let alias = "a".repeat(60);
    let text = format!(
        "Host {alias}\n  HostName exact\nHost {}b\n  User never\nHost *\n  User fallback\n",
        "*a".repeat(30)
    );
    let hosts = within(Duration::from_secs(10), move || {
        load_ssh_config(text.as_bytes()).unwrap()
    });
    assert_eq!(hosts[0].alias, alias);
    assert_eq!(hosts[0].user.as_deref(), Some("fallback"));
}

#[test]
fn a_deep_chain_of_child_groups_reads_without_overflowing_the_stack() {
    const DEPTH: usize = 100_000;
    let mut text = String::from("[g0]\nleaf\n");
    for i in 1..DEPTH {
        text.push_str(&format!("[g{i}:children]\ng{}\n", i - 1));
    }
    let hosts = within(Duration::from_secs(60), move || {
        ansible::parse(Path::new("hosts.ini"), &text).unwrap()
    });
    assert_eq!(hosts.len(), 1);
    assert_eq!(hosts[0].tags.len(), DEPTH);
    // A loop at the end of a long chain is still found and named.
    let mut text = String::new();
    for i in 0..DEPTH {
        text.push_str(&format!("[g{i}:children]\ng{}\n", (i + 1) % DEPTH));
    }
    let err = within(Duration::from_secs(60), move || {
        ansible::parse(Path::new("hosts.ini"), &text).unwrap_err()
    });
    assert!(err.message.contains("makes a loop"), "{err}");
}
