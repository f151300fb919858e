//! Importing hosts from OpenSSH client config files: parsing and resolution as ssh does it,
//! errors that point at the file and line, and the preview/apply cycle against a real
//! inventory.

mod common;

use common::*;
use vmo_engine::{
    AuthMethod, Engine, ErrorCode, ImportAction, ImportPlan, ImportSummary, InventoryEvent,
    PlannedHost, Vm, VmDraft,
};

fn host<'a>(plan: &'a ImportPlan, alias: &str) -> &'a PlannedHost {
    plan.hosts
        .iter()
        .find(|h| h.alias == alias)
        .unwrap_or_else(|| panic!("{alias} not in plan: {:?}", aliases(plan)))
}

fn aliases(plan: &ImportPlan) -> Vec<&str> {
    plan.hosts.iter().map(|h| h.alias.as_str()).collect()
}

async fn vm(engine: &Engine, name: &str) -> Vm {
    engine.inventory().find_by_name(name).await.unwrap()
}

fn summary(added: usize, updated: usize, unchanged: usize, invalid: usize) -> ImportSummary {
    ImportSummary {
        added,
        updated,
        unchanged,
        invalid,
    }
}

// ---------------------------------------------------------------------------------------
// Include
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn include_follows_globs_relative_paths_and_nested_includes() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Include conf.d/*.conf\n\
         Host main\n\
         \x20   HostName main.example.com\n",
    );
    // Read in sorted order: 10-web before 20-db.
    env.write_ssh(
        "conf.d/20-db.conf",
        "Host db\n  HostName 10.0.2.1\n  User postgres\n",
    );
    env.write_ssh(
        "conf.d/10-web.conf",
        // Relative paths are relative to the top config's folder (like ~/.ssh), also
        // from inside an included file.
        "Include nested/*.inc\nHost web\n  HostName 10.0.1.1\n",
    );
    env.write_ssh(
        "nested/cache.inc",
        "Host cache\n  HostName 10.0.3.1\n  Port 6380\n",
    );
    // Not matched by the globs.
    env.write_ssh("conf.d/30-ignored.txt", "Host ignored\n");
    env.write_ssh("conf.d/nested/cache.inc", "Host wrong-folder\n");

    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(plan.source, config);
    assert_eq!(aliases(&plan), vec!["cache", "web", "db", "main"]);
    assert_eq!(host(&plan, "cache").draft.host, "10.0.3.1");
    assert_eq!(host(&plan, "cache").draft.port, 6380);
    assert_eq!(host(&plan, "web").draft.host, "10.0.1.1");
    assert_eq!(host(&plan, "db").draft.user, "postgres");
    assert_eq!(host(&plan, "main").draft.host, "main.example.com");
    assert!(
        plan.hosts.iter().all(|h| h.action == ImportAction::Add),
        "{plan:?}"
    );
}

#[tokio::test]
async fn include_takes_several_paths_and_absolute_ones_and_ignores_missing_files() {
    let env = TestEnv::new().await;
    let absolute = write_file(
        &env.tmp.path().join("elsewhere").join("abs.conf"),
        "Host abs\n",
    );
    env.write_ssh("one.conf", "Host one\n");
    env.write_ssh("two.conf", "Host two\n");
    let config = env.write_ssh(
        "config",
        format!(
            "Include one.conf \"two.conf\" does-not-exist.conf nothing/*\nInclude {}\n",
            absolute.display()
        ),
    );
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(aliases(&plan), vec!["one", "two", "abs"]);
}

#[tokio::test]
async fn include_does_not_change_the_including_files_host_scope() {
    // OpenSSH restores the Host/Match state after every included file, so an included
    // file ending inside `Host inc` does not capture what follows the Include.
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Include conf.d/*\n\
         User everyone\n\
         Host main\n\
         \x20 HostName main.lan\n",
    );
    env.write_ssh("conf.d/a", "Host inc\n  HostName inc.lan\n");
    // Each included file also starts in the including file's scope (here: global).
    env.write_ssh("conf.d/b", "Port 2200\nHost other\n  HostName other.lan\n");

    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(aliases(&plan), vec!["inc", "other", "main"]);
    for alias in ["inc", "other", "main"] {
        let d = &host(&plan, alias).draft;
        assert_eq!(d.user, "everyone", "{alias}: {d:?}");
        assert_eq!(d.port, 2200, "{alias}: {d:?}");
    }
}

#[tokio::test]
async fn an_include_inside_a_host_block_applies_to_that_host_only() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Host web\n\
         \x20 Include web.d/*\n\
         \x20 HostName web.lan\n\
         Host db\n\
         \x20 HostName db.lan\n",
    );
    // Top lines of the included file belong to `Host web`; its own Host blocks are only
    // looked at for `web` (ssh never matches them when the Include's block is inactive).
    env.write_ssh(
        "web.d/extra",
        "Port 2201\nHost db\n  Port 2300\nHost *\n  User inner\n",
    );

    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    let web = &host(&plan, "web").draft;
    assert_eq!(
        (web.host.as_str(), web.port, web.user.as_str()),
        ("web.lan", 2201, "inner")
    );
    let db = &host(&plan, "db").draft;
    assert_eq!(
        (db.host.as_str(), db.port, db.user.as_str()),
        ("db.lan", 22, "")
    );
}

#[tokio::test]
async fn relative_includes_work_from_a_folder_whose_name_looks_like_a_glob() {
    // The imported file may live anywhere, e.g. in "backups [2024]": only the Include
    // argument is a pattern, not the folder it is resolved in.
    let env = TestEnv::new().await;
    let config = env.write_ssh("backups [2024]/config", "Include conf.d/*\nHost main\n");
    env.write_ssh("backups [2024]/conf.d/a", "Host included\n  Port 2200\n");
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(aliases(&plan), vec!["included", "main"]);
    assert_eq!(host(&plan, "included").draft.port, 2200);
}

#[tokio::test]
async fn an_include_cycle_is_an_error_not_a_hang() {
    let env = TestEnv::new().await;
    let config = env.write_ssh("config", "Host a\nInclude config\n");
    let err = assert_code(
        env.engine.inventory().import_preview(&config).await,
        ErrorCode::SshConfig,
    );
    assert!(err.message.contains("Include nested"), "{err:?}");
    assert!(err.message.contains("line 2"), "{err:?}");
}

// ---------------------------------------------------------------------------------------
// Resolution
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn wildcard_defaults_resolve_into_concrete_hosts_and_the_first_value_wins() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "# global settings come first and win\n\
         IdentityFile /keys/global\n\
         \n\
         Host web1\n\
         \x20   User deploy\n\
         \x20   Port 2201\n\
         \x20   User ignored-second-user\n\
         Host web1\n\
         \x20   Port 9999\n\
         Host web2 web3\n\
         \x20   HostName %h.internal.example.com\n\
         Host *.example.com\n\
         \x20   User matched-on-alias-only\n\
         Host *\n\
         \x20   User admin\n\
         \x20   Port 2222\n\
         \x20   ProxyJump bastion\n\
         Host bastion\n\
         \x20   HostName 203.0.113.10\n",
    );
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(aliases(&plan), vec!["web1", "web2", "web3", "bastion"]);

    let web1 = &host(&plan, "web1").draft;
    assert_eq!(web1.host, "web1", "no HostName: the alias is the host");
    assert_eq!(web1.user, "deploy");
    assert_eq!(web1.port, 2201);
    assert_eq!(web1.auth, AuthMethod::KeyFile);
    assert_eq!(web1.key_file.as_deref(), Some("/keys/global"));
    assert_eq!(web1.jump_host.as_deref(), Some("bastion"));

    for alias in ["web2", "web3"] {
        let d = &host(&plan, alias).draft;
        assert_eq!(d.host, format!("{alias}.internal.example.com"));
        // Host patterns match the alias, not the HostName.
        assert_eq!(d.user, "admin");
        assert_eq!(d.port, 2222);
    }

    // `Host *` sets ProxyJump bastion for bastion itself: a VM cannot jump through
    // itself, so that host is reported, not imported.
    assert!(
        matches!(&host(&plan, "bastion").action, ImportAction::Invalid { reason } if reason.contains("own jump host")),
        "{:?}",
        host(&plan, "bastion")
    );
}

#[tokio::test]
async fn wildcard_and_negated_patterns_are_not_imported() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Host bastion\n\
         \x20 HostName 198.51.100.1\n\
         Host web-? db* *.lan !legacy\n\
         \x20 User pattern-user\n\
         Host app !app-legacy\n\
         \x20 HostName app.lan\n\
         Host * !bastion\n\
         \x20 ProxyJump bastion\n",
    );
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(aliases(&plan), vec!["bastion", "app"]);
    // The negation keeps `Host * !bastion` away from bastion.
    assert_eq!(host(&plan, "bastion").draft.jump_host, None);
    assert_eq!(host(&plan, "bastion").action, ImportAction::Add);
    assert_eq!(
        host(&plan, "app").draft.jump_host.as_deref(),
        Some("bastion")
    );
    assert_eq!(host(&plan, "app").draft.user, "");
}

#[tokio::test]
async fn match_blocks_are_not_applied() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Host web\n\
         \x20 HostName web.lan\n\
         Match host web exec \"true\"\n\
         \x20 User matched\n\
         \x20 Port 2200\n\
         Match all\n\
         \x20 IdentityFile /keys/match\n\
         Host db\n\
         \x20 HostName db.lan\n\
         Host *\n\
         \x20 User fallback\n",
    );
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(aliases(&plan), vec!["web", "db"]);
    for alias in ["web", "db"] {
        let d = &host(&plan, alias).draft;
        assert_eq!(d.user, "fallback", "{alias}");
        assert_eq!(d.port, 22, "{alias}");
        assert_eq!(d.key_file, None, "{alias}");
        assert_eq!(d.auth, AuthMethod::Agent, "{alias}");
    }
}

#[tokio::test]
async fn quoted_values_equals_syntax_and_keyword_case() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Host=web\n\
         HOSTNAME = \"10.0.0.7\"\n\
         \tuser=\"ops\"\n\
         Port=2200 # a trailing comment\n\
         IdentityFile \"/keys/my key\"\n\
         ProxyJump = jump@bastion.example.com:2222\n\
         Host \"quoted\" plain\n\
         \x20 hostname\t quoted.lan\n",
    );
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(aliases(&plan), vec!["web", "quoted", "plain"]);
    let web = &host(&plan, "web").draft;
    assert_eq!(web.host, "10.0.0.7");
    assert_eq!(web.user, "ops");
    assert_eq!(web.port, 2200);
    assert_eq!(web.auth, AuthMethod::KeyFile);
    assert_eq!(web.key_file.as_deref(), Some("/keys/my key"));
    assert_eq!(
        web.jump_host.as_deref(),
        Some("jump@bastion.example.com:2222")
    );
    assert_eq!(host(&plan, "quoted").draft.host, "quoted.lan");
    assert_eq!(host(&plan, "plain").draft.host, "quoted.lan");
}

#[tokio::test]
async fn tokens_are_expanded_in_hostname_and_identity_file() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Host web\n\
         \x20 HostName %h.example.com\n\
         \x20 User ops\n\
         \x20 IdentityFile /keys/%h-%r.pem\n\
         Host bare\n\
         \x20 IdentityFile /keys/%h\n",
    );
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    let web = &host(&plan, "web").draft;
    assert_eq!(web.host, "web.example.com");
    // %h in IdentityFile is the resolved HostName, %r the remote user.
    assert_eq!(
        web.key_file.as_deref(),
        Some("/keys/web.example.com-ops.pem")
    );
    assert_eq!(
        host(&plan, "bare").draft.key_file.as_deref(),
        Some("/keys/bare")
    );
}

#[tokio::test]
async fn a_double_percent_is_a_literal_percent_not_the_start_of_a_token() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Host web\n  HostName web.lan\n  IdentityFile /keys/100%%h-%h-%%%%\n",
    );
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(
        host(&plan, "web").draft.key_file.as_deref(),
        Some("/keys/100%h-web.lan-%%")
    );
}

#[tokio::test]
async fn proxy_jump_none_counts_as_the_first_value() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Host direct\n  ProxyJump none\nHost hops\n  ProxyJump a.lan,ops@b.lan:2222\nHost *\n  ProxyJump gw.lan\n",
    );
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(host(&plan, "direct").draft.jump_host, None);
    assert_eq!(
        host(&plan, "hops").draft.jump_host.as_deref(),
        Some("a.lan,ops@b.lan:2222")
    );
}

#[tokio::test]
async fn a_utf8_byte_order_mark_does_not_hide_the_first_line() {
    // Some Windows editors start the file with a BOM; the first Host line must still count
    // (otherwise its settings would become global defaults for every host).
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "\u{feff}Host web\n  HostName web.lan\nHost db\n  HostName db.lan\n",
    );
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(aliases(&plan), vec!["web", "db"]);
    assert_eq!(host(&plan, "db").draft.host, "db.lan");
}

#[tokio::test]
async fn repeated_aliases_are_one_host_and_crlf_files_work() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Host web\r\n  HostName web.lan\r\n\r\nHost WEB other\r\n  Port 2200\r\n",
    );
    let plan = env
        .engine
        .inventory()
        .import_preview(&config)
        .await
        .unwrap();
    assert_eq!(aliases(&plan), vec!["web", "other"]);
    assert_eq!(host(&plan, "web").draft.host, "web.lan");
    assert_eq!(
        host(&plan, "web").draft.port,
        2200,
        "Host patterns ignore case"
    );
}

// ---------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------

/// Each malformed file: an SshConfig error naming the file and the line, and the
/// inventory exactly as it was (no partial import, no event).
#[tokio::test]
async fn malformed_files_name_the_file_and_line_and_import_nothing() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let existing = inv
        .create(VmDraft {
            tags: tags(&["mine"]),
            notes: "hands off".into(),
            ..draft("good", "10.9.9.9")
        })
        .await
        .unwrap();
    let mut rx = inv.subscribe();

    let cases: &[(&str, &[u8], usize, &str)] = &[
        (
            "bad-port",
            b"Host good\n  HostName 10.0.0.1\n  Port ssh\nHost new\n",
            3,
            "Port",
        ),
        ("port-zero", b"Host new\n  Port 0\n", 2, "Port"),
        ("port-too-big", b"Host new\n\n  Port 70000\n", 3, "Port"),
        ("port-extra", b"Host new\n  Port 22 23\n", 2, "Port"),
        (
            "no-value",
            b"Host new\n  HostName new.lan\n  User\n",
            3,
            "needs a value",
        ),
        (
            "equals-no-value",
            b"Host new\n  HostName=\n",
            2,
            "needs a value",
        ),
        ("host-no-pattern", b"Host new\nHost\n", 2, "pattern"),
        (
            "include-no-path",
            b"Host new\n\n\n\nInclude\n",
            5,
            "Include",
        ),
        (
            "unterminated",
            b"Host new\n  IdentityFile \"/keys/a b\n",
            2,
            "unterminated quote",
        ),
        (
            "not-utf8",
            b"Host new\n  HostName new.lan\n  User \xff\xfeops\n",
            3,
            "UTF-8",
        ),
    ];
    for (name, contents, line, what) in cases {
        let file = env.write_ssh(name, contents);
        for result in [
            inv.import_preview(&file).await.map(|_| ()),
            inv.import_apply(&file, None).await.map(|_| ()),
        ] {
            let err = assert_code(result, ErrorCode::SshConfig);
            assert!(
                err.message.contains(&file.display().to_string()),
                "{name}: message must name the file: {err:?}"
            );
            assert!(
                err.message.contains(&format!("line {line}")),
                "{name}: message must name line {line}: {err:?}"
            );
            assert!(err.message.contains(what), "{name}: {err:?}");
        }
    }

    assert_no_event(&mut rx);
    assert_eq!(inv.list().await.unwrap(), vec![existing]);
}

#[tokio::test]
async fn an_error_in_an_included_file_names_that_file() {
    let env = TestEnv::new().await;
    let config = env.write_ssh("config", "Host ok\nInclude conf.d/*\n");
    env.write_ssh("conf.d/a", "Host fine\n");
    let bad = env.write_ssh("conf.d/b", "# comment\nHost broken\n  Port -1\n");
    let err = assert_code(
        env.engine.inventory().import_apply(&config, None).await,
        ErrorCode::SshConfig,
    );
    assert!(err.message.contains(&bad.display().to_string()), "{err:?}");
    assert!(err.message.contains("line 3"), "{err:?}");
    assert!(env.engine.inventory().list().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_or_unreadable_file_is_an_ssh_config_error() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let missing = env.ssh_dir().join("no-such-config");
    for result in [
        inv.import_preview(&missing).await.map(|_| ()),
        inv.import_apply(&missing, None).await.map(|_| ()),
    ] {
        let err = assert_code(result, ErrorCode::SshConfig);
        assert!(
            err.message.contains(&missing.display().to_string()),
            "{err:?}"
        );
    }
    // A directory is not a config file either.
    std::fs::create_dir_all(env.ssh_dir()).unwrap();
    let err = assert_code(
        inv.import_preview(&env.ssh_dir()).await,
        ErrorCode::SshConfig,
    );
    assert!(
        err.message.contains(&env.ssh_dir().display().to_string()),
        "{err:?}"
    );
    assert!(inv.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_empty_or_comment_only_file_finds_nothing() {
    let env = TestEnv::new().await;
    let config = env.write_ssh("config", "\n# nothing here\n   \n\tForwardAgent yes\n");
    let inv = env.engine.inventory();
    assert!(inv.import_preview(&config).await.unwrap().hosts.is_empty());
    assert_eq!(
        inv.import_apply(&config, None).await.unwrap(),
        summary(0, 0, 0, 0)
    );
}

// ---------------------------------------------------------------------------------------
// Preview and apply
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn preview_changes_nothing() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let existing = inv.create(draft("web", "10.0.0.1")).await.unwrap();
    let config = env.write_ssh("config", "Host web\n  HostName 10.0.0.2\nHost db\n");
    let mut rx = inv.subscribe();

    let plan = inv.import_preview(&config).await.unwrap();
    assert_eq!(plan.summary(), summary(1, 1, 0, 0));
    assert_eq!(
        host(&plan, "web").action,
        ImportAction::Update {
            id: existing.id,
            changes: vec!["host: 10.0.0.1 → 10.0.0.2".into()]
        }
    );
    assert_eq!(host(&plan, "db").action, ImportAction::Add);
    // Previewing twice gives the same plan, and nothing was written.
    assert_eq!(inv.import_preview(&config).await.unwrap(), plan);
    assert_eq!(inv.list().await.unwrap(), vec![existing]);
    assert_no_event(&mut rx);
}

#[tokio::test]
async fn apply_adds_every_valid_host_with_the_resolved_settings() {
    let env = TestEnv::new().await;
    let config = env.write_ssh(
        "config",
        "Host web\n  HostName 10.0.0.1\n  User ops\n  Port 2200\n  IdentityFile /keys/web\n  ProxyJump bastion\n\
         Host bastion\n  HostName 203.0.113.5\n",
    );
    let inv = env.engine.inventory();
    assert_eq!(
        inv.import_apply(&config, None).await.unwrap(),
        summary(2, 0, 0, 0)
    );
    let web = vm(&env.engine, "web").await;
    assert_eq!(
        web.draft(),
        VmDraft {
            name: "web".into(),
            host: "10.0.0.1".into(),
            port: 2200,
            user: "ops".into(),
            auth: AuthMethod::KeyFile,
            key_file: Some("/keys/web".into()),
            jump_host: Some("bastion".into()),
            tags: vec![],
            notes: String::new(),
        }
    );
    let bastion = vm(&env.engine, "bastion").await;
    assert_eq!(
        (bastion.host.as_str(), bastion.port, bastion.auth),
        ("203.0.113.5", 22, AuthMethod::Agent)
    );
    assert_eq!(names(&env.engine).await, vec!["bastion", "web"]);
}

#[tokio::test]
async fn reimport_is_idempotent_then_updates_and_keeps_user_tags_and_notes() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let config = env.write_ssh(
        "config",
        "Host web1\n  HostName 10.0.0.1\nHost web2\n  HostName 10.0.0.2\n  User ops\n",
    );
    assert_eq!(
        inv.import_apply(&config, None).await.unwrap(),
        summary(2, 0, 0, 0)
    );
    let first = inv.list().await.unwrap();

    // Same file again: nothing changes, nothing is duplicated.
    let mut rx = inv.subscribe();
    assert_eq!(
        inv.import_apply(&config, None).await.unwrap(),
        summary(0, 0, 2, 0)
    );
    assert_eq!(inv.list().await.unwrap(), first);
    assert_no_event(&mut rx);

    // The user organises the imported VMs.
    let web1 = vm(&env.engine, "web1").await;
    let web1 = inv
        .update(
            web1.id,
            VmDraft {
                tags: tags(&["prod", "web"]),
                notes: "primary".into(),
                ..web1.draft()
            },
        )
        .await
        .unwrap();
    let web2 = vm(&env.engine, "web2").await;
    let web2 = inv
        .update(
            web2.id,
            VmDraft {
                auth: AuthMethod::Password,
                ..web2.draft()
            },
        )
        .await
        .unwrap();
    let _ = next_event(&mut rx);
    let _ = next_event(&mut rx);
    let plan = inv.import_preview(&config).await.unwrap();
    assert_eq!(
        plan.summary(),
        summary(0, 0, 2, 0),
        "tags, notes and a chosen auth are not file changes"
    );

    // The file changes the port.
    env.write_ssh(
        "config",
        "Host web1\n  HostName 10.0.0.1\n  Port 2222\nHost web2\n  HostName 10.0.0.2\n  User ops\n",
    );
    let plan = inv.import_preview(&config).await.unwrap();
    assert_eq!(
        host(&plan, "web1").action,
        ImportAction::Update {
            id: web1.id,
            changes: vec!["port: 22 → 2222".into()]
        }
    );
    assert_eq!(
        host(&plan, "web2").action,
        ImportAction::Unchanged { id: web2.id }
    );

    assert_eq!(
        inv.import_apply(&config, None).await.unwrap(),
        summary(0, 1, 1, 0)
    );
    assert_eq!(
        next_event(&mut rx),
        InventoryEvent::Imported {
            added: 0,
            updated: 1
        }
    );
    let after = inv.get(web1.id).await.unwrap();
    assert_eq!(after.port, 2222);
    assert_eq!(after.tags, tags(&["prod", "web"]));
    assert_eq!(after.notes, "primary");
    assert_eq!(after.created_at, web1.created_at);
    assert_eq!(
        inv.get(web2.id).await.unwrap(),
        web2,
        "an unchanged host is not rewritten"
    );
    assert_eq!(inv.list().await.unwrap().len(), 2);
}

#[tokio::test]
async fn reimport_lists_every_changed_setting() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let config = env.write_ssh(
        "config",
        "Host web\n  HostName 10.0.0.1\n  IdentityFile /keys/a\n",
    );
    inv.import_apply(&config, None).await.unwrap();
    let web = vm(&env.engine, "web").await;

    env.write_ssh(
        "config",
        "Host web\n  HostName web.lan\n  Port 2200\n  User ops\n  ProxyJump gw\n",
    );
    let plan = inv.import_preview(&config).await.unwrap();
    assert_eq!(
        host(&plan, "web").action,
        ImportAction::Update {
            id: web.id,
            changes: vec![
                "host: 10.0.0.1 → web.lan".into(),
                "port: 22 → 2200".into(),
                "user: — → ops".into(),
                "auth: Key file → SSH agent".into(),
                "key file: /keys/a → —".into(),
                "jump host: — → gw".into(),
            ]
        }
    );
    inv.import_apply(&config, None).await.unwrap();
    let after = inv.get(web.id).await.unwrap();
    assert_eq!(
        (
            after.host.as_str(),
            after.port,
            after.user.as_str(),
            after.auth,
            after.key_file,
            after.jump_host.as_deref()
        ),
        ("web.lan", 2200, "ops", AuthMethod::Agent, None, Some("gw"))
    );
}

#[tokio::test]
async fn a_host_matches_an_existing_vm_ignoring_case_and_keeps_its_name() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let mine = inv
        .create(VmDraft {
            tags: tags(&["hand-made"]),
            ..draft("Web", "10.0.0.1")
        })
        .await
        .unwrap();
    let config = env.write_ssh("config", "Host web\n  HostName 10.0.0.1\n  Port 2022\n");
    assert_eq!(
        inv.import_apply(&config, None).await.unwrap(),
        summary(0, 1, 0, 0)
    );
    let all = inv.list().await.unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    assert_eq!(all[0].id, mine.id);
    assert_eq!(all[0].name, "Web");
    assert_eq!(all[0].port, 2022);
    assert_eq!(all[0].tags, tags(&["hand-made"]));
}

#[tokio::test]
async fn only_imports_the_selected_aliases() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let existing = inv.create(draft("c", "10.0.0.3")).await.unwrap();
    let config = env.write_ssh(
        "config",
        "Host a\n  HostName 10.0.0.1\nHost b\n  HostName 10.0.0.2\nHost c\n  HostName 10.0.0.33\n",
    );
    let mut rx = inv.subscribe();
    let picked = ["B".to_string(), "not-in-file".to_string()];
    assert_eq!(
        inv.import_apply(&config, Some(&picked)).await.unwrap(),
        summary(1, 0, 0, 0)
    );
    assert_eq!(
        next_event(&mut rx),
        InventoryEvent::Imported {
            added: 1,
            updated: 0
        }
    );
    assert_eq!(names(&env.engine).await, vec!["b", "c"]);
    assert_eq!(
        inv.get(existing.id).await.unwrap(),
        existing,
        "c was not selected"
    );

    // An empty selection imports nothing.
    assert_eq!(
        inv.import_apply(&config, Some(&[])).await.unwrap(),
        summary(0, 0, 0, 0)
    );
    assert_eq!(names(&env.engine).await, vec!["b", "c"]);
    assert_no_event(&mut rx);
}

#[tokio::test]
async fn invalid_hosts_are_reported_and_skipped_while_the_rest_import() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let config = env.write_ssh(
        "config",
        "Host web$1\n  HostName 10.0.0.1\n\
         Host good\n  HostName 10.0.0.2\n\
         Host badhost\n  HostName \"bad host\"\n\
         Host loop\n  ProxyJump loop\n\
         Host baduser\n  User \"a b\"\n\
         Host also-good\n",
    );
    let plan = inv.import_preview(&config).await.unwrap();
    assert_eq!(plan.summary(), summary(2, 0, 0, 4));
    let reason = |alias: &str| match &host(&plan, alias).action {
        ImportAction::Invalid { reason } => reason.clone(),
        other => panic!("{alias}: expected Invalid, got {other:?}"),
    };
    assert!(reason("web$1").contains("Name"), "{}", reason("web$1"));
    assert!(reason("badhost").contains("host"), "{}", reason("badhost"));
    assert!(
        reason("loop").contains("own jump host"),
        "{}",
        reason("loop")
    );
    assert!(reason("baduser").contains("User"), "{}", reason("baduser"));

    assert_eq!(
        inv.import_apply(&config, None).await.unwrap(),
        summary(2, 0, 0, 4)
    );
    assert_eq!(names(&env.engine).await, vec!["also-good", "good"]);

    // Ticking an invalid host does not force it in.
    let picked = ["web$1".to_string()];
    assert_eq!(
        inv.import_apply(&config, Some(&picked)).await.unwrap(),
        summary(0, 0, 0, 1)
    );
    assert_eq!(names(&env.engine).await, vec!["also-good", "good"]);
}

#[tokio::test]
async fn a_database_failure_midway_rolls_back_the_whole_import() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let existing = inv.create(draft("old", "10.0.0.1")).await.unwrap();
    // Make the store fail on the second of three inserts.
    let mut conn = connect_raw(&env.engine).await;
    sqlx::query(
        "CREATE TRIGGER refuse_boom BEFORE INSERT ON vms WHEN NEW.name = 'boom'
         BEGIN SELECT RAISE(ABORT, 'refused by test trigger'); END",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let config = env.write_ssh(
        "config",
        "Host old\n  HostName 10.0.0.99\nHost first\nHost boom\nHost last\n",
    );
    let mut rx = inv.subscribe();

    let err = assert_code(inv.import_apply(&config, None).await, ErrorCode::Database);
    assert!(err.message.contains("refused by test trigger"), "{err:?}");
    assert_no_event(&mut rx);
    assert_eq!(
        inv.list().await.unwrap(),
        vec![existing],
        "no insert and no update survived"
    );

    sqlx::query("DROP TRIGGER refuse_boom")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        inv.import_apply(&config, None).await.unwrap(),
        summary(3, 1, 0, 0)
    );
    assert_eq!(
        names(&env.engine).await,
        vec!["boom", "first", "last", "old"]
    );
}

#[tokio::test]
async fn apply_rereads_the_file() {
    // The plan the user previewed may be stale; apply works from the file as it is now.
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let config = env.write_ssh("config", "Host a\n");
    assert_eq!(
        inv.import_preview(&config).await.unwrap().summary(),
        summary(1, 0, 0, 0)
    );
    env.write_ssh("config", "Host a\n  Port 2200\nHost b\n");
    assert_eq!(
        inv.import_apply(&config, None).await.unwrap(),
        summary(2, 0, 0, 0)
    );
    assert_eq!(vm(&env.engine, "a").await.port, 2200);
}

#[tokio::test]
async fn imported_vms_survive_a_reopen() {
    let env = TestEnv::new().await;
    let config = env.write_ssh("config", "Host a\n  HostName 10.0.0.1\n");
    env.engine
        .inventory()
        .import_apply(&config, None)
        .await
        .unwrap();
    let again = env.reopen().await;
    assert_eq!(
        again.inventory().import_apply(&config, None).await.unwrap(),
        summary(0, 0, 1, 0)
    );
    assert_eq!(names(&again).await, vec!["a"]);
}
