//! The inventory through the public façade: CRUD, names, validation, persistence, the
//! database file itself, and change events. Every test uses a real SQLite file.

mod common;

use common::*;
use sqlx::{ConnectOptions as _, Connection};
use tokio::sync::broadcast;
use vmo_engine::{AuthMethod, Engine, ErrorCode, InventoryEvent, Paths, VmDraft, VmId};

// ---------------------------------------------------------------------------------------
// Create / read
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn create_returns_the_normalised_record_and_list_get_agree() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let vm = inv
        .create(VmDraft {
            name: "  web-1 ".into(),
            host: " 10.0.0.5\t".into(),
            port: 2222,
            user: " ops ".into(),
            auth: AuthMethod::Agent,
            // A key file is meaningless for agent auth and must be dropped.
            key_file: Some("/home/ops/.ssh/id_ed25519".into()),
            jump_host: Some("   ".into()),
            tags: tags(&["Prod", " web ", "prod", "", "WEB", "db"]),
            notes: "first line\nsecond line  \n\n".into(),
        })
        .await
        .unwrap();

    assert!(vm.id.0 > 0);
    assert_eq!(vm.name, "web-1");
    assert_eq!(vm.host, "10.0.0.5");
    assert_eq!(vm.port, 2222);
    assert_eq!(vm.user, "ops");
    assert_eq!(vm.auth, AuthMethod::Agent);
    assert_eq!(vm.key_file, None);
    assert_eq!(vm.jump_host, None);
    assert_eq!(vm.tags, tags(&["db", "prod", "web"]));
    assert_eq!(vm.notes, "first line\nsecond line");
    assert!(
        vm.created_at > 1_600_000_000_000,
        "unix millis: {}",
        vm.created_at
    );
    assert_eq!(vm.created_at, vm.updated_at);

    assert_eq!(inv.get(vm.id).await.unwrap(), vm);
    assert_eq!(inv.list().await.unwrap(), vec![vm.clone()]);
    // Names are looked up case-insensitively.
    assert_eq!(inv.find_by_name("WEB-1").await.unwrap(), vm);
}

#[tokio::test]
async fn the_list_is_in_natural_order() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    for name in ["web-10", "db", "web-2", "Web-1"] {
        inv.create(draft(name, "10.0.0.1")).await.unwrap();
    }
    let names: Vec<String> = inv
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|v| v.name)
        .collect();
    assert_eq!(names, ["db", "Web-1", "web-2", "web-10"]);
}

#[tokio::test]
async fn key_file_auth_keeps_its_trimmed_path_and_jump_host() {
    let env = TestEnv::new().await;
    let vm = env
        .engine
        .inventory()
        .create(VmDraft {
            auth: AuthMethod::KeyFile,
            key_file: Some("  ~/.ssh/id ed25519 ".into()),
            jump_host: Some(" ops@bastion:2222,inner ".into()),
            ..draft("app", "app.example.com")
        })
        .await
        .unwrap();
    assert_eq!(vm.auth, AuthMethod::KeyFile);
    assert_eq!(vm.key_file.as_deref(), Some("~/.ssh/id ed25519"));
    assert_eq!(vm.jump_host.as_deref(), Some("ops@bastion:2222,inner"));
    assert_eq!(env.engine.inventory().get(vm.id).await.unwrap(), vm);
}

#[tokio::test]
async fn list_is_ordered_by_name_ignoring_case() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    for name in ["beta", "Alpha", "gamma", "Delta", "alpha2"] {
        inv.create(draft(name, "h.lan")).await.unwrap();
    }
    assert_eq!(
        names(&env.engine).await,
        vec!["Alpha", "alpha2", "beta", "Delta", "gamma"]
    );
}

#[tokio::test]
async fn missing_records_are_not_found() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    inv.create(draft("web", "h.lan")).await.unwrap();

    let err = assert_code(inv.get(VmId(4242)).await, ErrorCode::NotFound);
    assert!(err.message.contains("4242"), "{err:?}");
    let err = assert_code(inv.find_by_name("nope").await, ErrorCode::NotFound);
    assert!(err.message.contains("nope"), "{err:?}");
    assert_code(
        inv.update(VmId(4242), draft("other", "h.lan")).await,
        ErrorCode::NotFound,
    );
    assert_code(inv.duplicate(VmId(4242)).await, ErrorCode::NotFound);
    assert_eq!(names(&env.engine).await, vec!["web"]);
}

// ---------------------------------------------------------------------------------------
// Update
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn update_replaces_every_field_and_the_tag_set() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let original = inv
        .create(VmDraft {
            user: "root".into(),
            auth: AuthMethod::KeyFile,
            key_file: Some("/keys/a".into()),
            jump_host: Some("bastion".into()),
            tags: tags(&["old", "shared"]),
            notes: "old notes".into(),
            ..draft("web", "10.0.0.1")
        })
        .await
        .unwrap();
    let other = inv.create(draft("db", "10.0.0.2")).await.unwrap();

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let updated = inv
        .update(
            original.id,
            VmDraft {
                name: " web-renamed ".into(),
                host: "web.example.com".into(),
                port: 2200,
                user: "deploy".into(),
                auth: AuthMethod::Password,
                key_file: Some("/keys/a".into()),
                jump_host: None,
                tags: tags(&["Shared", "NEW"]),
                notes: "new notes".into(),
            },
        )
        .await
        .unwrap();

    assert_eq!(updated.id, original.id);
    assert_eq!(updated.name, "web-renamed");
    assert_eq!(updated.host, "web.example.com");
    assert_eq!(updated.port, 2200);
    assert_eq!(updated.user, "deploy");
    assert_eq!(updated.auth, AuthMethod::Password);
    assert_eq!(updated.key_file, None, "password auth keeps no key file");
    assert_eq!(updated.jump_host, None);
    assert_eq!(updated.tags, tags(&["new", "shared"]));
    assert_eq!(updated.notes, "new notes");
    assert_eq!(updated.created_at, original.created_at);
    assert!(updated.updated_at > original.updated_at);

    assert_eq!(inv.get(original.id).await.unwrap(), updated);
    // The other VM is untouched, and the old name is free again.
    assert_eq!(inv.get(other.id).await.unwrap(), other);
    assert_code(inv.find_by_name("web").await, ErrorCode::NotFound);
    inv.create(draft("web", "10.0.0.9")).await.unwrap();

    // Clearing the tags really removes them.
    let cleared = inv
        .update(
            original.id,
            VmDraft {
                tags: vec![],
                ..updated.draft()
            },
        )
        .await
        .unwrap();
    assert!(cleared.tags.is_empty());
    assert!(inv.get(original.id).await.unwrap().tags.is_empty());
}

#[tokio::test]
async fn a_vm_may_be_renamed_to_its_own_name_in_another_case() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let vm = inv.create(draft("web", "h.lan")).await.unwrap();
    let renamed = inv
        .update(
            vm.id,
            VmDraft {
                name: "WEB".into(),
                ..vm.draft()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "WEB");
    assert_eq!(names(&env.engine).await, vec!["WEB"]);
}

// ---------------------------------------------------------------------------------------
// Delete
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_one_then_several() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let mut ids = Vec::new();
    for name in ["a", "b", "c", "d"] {
        ids.push(inv.create(draft(name, "h.lan")).await.unwrap().id);
    }

    inv.delete(&[ids[1]]).await.unwrap();
    assert_eq!(names(&env.engine).await, vec!["a", "c", "d"]);
    assert_code(inv.get(ids[1]).await, ErrorCode::NotFound);

    inv.delete(&[ids[0], ids[3]]).await.unwrap();
    assert_eq!(names(&env.engine).await, vec!["c"]);

    // Deleting nothing is fine and changes nothing.
    inv.delete(&[]).await.unwrap();
    assert_eq!(names(&env.engine).await, vec!["c"]);
}

#[tokio::test]
async fn delete_is_all_or_nothing_when_one_id_is_missing() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let a = inv
        .create(VmDraft {
            tags: tags(&["keep"]),
            ..draft("a", "h.lan")
        })
        .await
        .unwrap();
    let b = inv.create(draft("b", "h.lan")).await.unwrap();
    let mut rx = inv.subscribe();

    let err = assert_code(
        inv.delete(&[a.id, VmId(9999), b.id]).await,
        ErrorCode::NotFound,
    );
    assert!(err.message.contains("9999"), "{err:?}");
    assert_no_event(&mut rx);

    // Nothing was deleted, not even the ids before the missing one, and tags survived.
    assert_eq!(inv.get(a.id).await.unwrap(), a);
    assert_eq!(inv.get(b.id).await.unwrap(), b);
    assert_eq!(names(&env.engine).await, vec!["a", "b"]);
}

#[tokio::test]
async fn delete_tolerates_an_id_listed_twice() {
    // Every listed VM exists, so this is not the "one is missing" case.
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let a = inv.create(draft("a", "h.lan")).await.unwrap();
    let b = inv.create(draft("b", "h.lan")).await.unwrap();
    let c = inv.create(draft("c", "h.lan")).await.unwrap();
    let mut rx = inv.subscribe();
    inv.delete(&[a.id, b.id, a.id]).await.unwrap();
    assert_eq!(names(&env.engine).await, vec!["c"]);
    assert_eq!(
        next_event(&mut rx),
        InventoryEvent::Deleted {
            ids: vec![a.id, b.id]
        }
    );
    let _ = c;
}

#[tokio::test]
async fn deleting_a_vm_removes_its_tags() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let vm = inv
        .create(VmDraft {
            tags: tags(&["x", "y"]),
            ..draft("a", "h.lan")
        })
        .await
        .unwrap();
    inv.delete(&[vm.id]).await.unwrap();

    let mut conn = connect_raw(&env.engine).await;
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM vm_tags")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 0, "ON DELETE CASCADE must remove the tag rows");
}

// ---------------------------------------------------------------------------------------
// Tags on many VMs at once
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_tag_is_added_to_and_removed_from_many_vms_at_once() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let a = inv
        .create(VmDraft {
            tags: tags(&["prod"]),
            ..draft("a", "h.lan")
        })
        .await
        .unwrap();
    let b = inv.create(draft("b", "h.lan")).await.unwrap();
    let c = inv.create(draft("c", "h.lan")).await.unwrap();
    let mut rx = inv.subscribe();

    // Normalised like a draft's tags; a VM that has it already is not counted; an id
    // listed twice is one VM.
    assert_eq!(
        inv.add_tag(&[a.id, b.id, b.id], "  PROD ").await.unwrap(),
        1
    );
    assert_eq!(
        next_event(&mut rx),
        InventoryEvent::Tagged {
            tag: "prod".into(),
            added: true,
            count: 1
        }
    );
    let after = inv.get(b.id).await.unwrap();
    assert_eq!(after.tags, tags(&["prod"]));
    assert!(after.updated_at >= b.updated_at);
    // The VM that already had it is untouched, and c was not listed.
    assert_eq!(inv.get(a.id).await.unwrap(), a);
    assert_eq!(inv.get(c.id).await.unwrap(), c);
    // Nothing to add: no event.
    assert_eq!(inv.add_tag(&[a.id, b.id], "prod").await.unwrap(), 0);
    assert_no_event(&mut rx);

    assert_eq!(
        inv.remove_tag(&[a.id, b.id, c.id], "prod").await.unwrap(),
        2
    );
    assert_eq!(
        next_event(&mut rx),
        InventoryEvent::Tagged {
            tag: "prod".into(),
            added: false,
            count: 2
        }
    );
    for vm in [a.id, b.id, c.id] {
        assert!(inv.get(vm).await.unwrap().tags.is_empty());
    }
}

#[tokio::test]
async fn tagging_many_vms_is_all_or_nothing() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let a = inv.create(draft("a", "h.lan")).await.unwrap();
    let full_tags: Vec<String> = (0..vmo_engine::vm::TAGS_MAX)
        .map(|i| format!("t{i}"))
        .collect();
    let full = inv
        .create(VmDraft {
            tags: full_tags.clone(),
            ..draft("full", "h.lan")
        })
        .await
        .unwrap();
    let mut rx = inv.subscribe();

    // A missing VM: nobody gets the tag.
    let err = assert_code(
        inv.add_tag(&[a.id, VmId(9999)], "web").await,
        ErrorCode::NotFound,
    );
    assert!(err.message.contains("9999"), "{err:?}");
    assert_code(
        inv.remove_tag(&[VmId(9998)], "web").await,
        ErrorCode::NotFound,
    );
    // One VM already has the most tags: nobody gets it either, and the error names it.
    let err = assert_code(
        inv.add_tag(&[a.id, full.id], "web").await,
        ErrorCode::Validation,
    );
    assert_eq!(err.fields[0].field, "tag");
    assert!(err.message.contains("full"), "{err:?}");
    // A tag it has already is no new tag.
    assert_eq!(inv.add_tag(&[full.id], "t3").await.unwrap(), 0);
    // Invalid tags are refused as in a draft.
    for bad in [
        "",
        "  ",
        "two words",
        &"x".repeat(vmo_engine::vm::TAG_MAX + 1),
    ] {
        let err = assert_code(inv.add_tag(&[a.id], bad).await, ErrorCode::Validation);
        assert_eq!(err.fields[0].field, "tag", "{bad:?}");
    }
    assert_no_event(&mut rx);
    assert_eq!(inv.get(a.id).await.unwrap(), a);
    assert_eq!(inv.get(full.id).await.unwrap().tags.len(), full_tags.len());
}

#[tokio::test]
async fn ten_thousand_vms_import_tag_and_delete_in_one_go_each() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let hosts: String = (0..10_000)
        .map(|i| {
            format!(
                "Host vm-{i:05}\n  HostName 10.{}.{}.{}\n",
                i / 65536,
                i / 256 % 256,
                i % 256
            )
        })
        .collect();
    let config = env.write_ssh("config", &hosts);
    let started = std::time::Instant::now();
    assert_eq!(inv.import_apply(&config, None).await.unwrap().added, 10_000);
    let imported = started.elapsed();
    // Half a second in a debug build; resolving each host against every block took 37 s.
    assert!(
        imported < std::time::Duration::from_secs(20),
        "importing 10,000 hosts took {imported:?}: quadratic again?"
    );
    // Importing the same file again finds every host unchanged (by name, not by scanning).
    let again = std::time::Instant::now();
    assert_eq!(
        inv.import_preview(&config)
            .await
            .unwrap()
            .summary()
            .unchanged,
        10_000
    );
    let planned = again.elapsed();
    let ids: Vec<VmId> = inv.list().await.unwrap().iter().map(|vm| vm.id).collect();
    let tagging = std::time::Instant::now();
    assert_eq!(inv.add_tag(&ids, "fleet").await.unwrap(), 10_000);
    let tagged = tagging.elapsed();
    assert!(inv
        .list()
        .await
        .unwrap()
        .iter()
        .all(|vm| vm.tags == ["fleet"]));
    let deleting = std::time::Instant::now();
    inv.delete(&ids).await.unwrap();
    let deleted = deleting.elapsed();
    assert!(inv.list().await.unwrap().is_empty());
    println!(
        "10,000 VMs: import {imported:.2?}, re-import plan {planned:.2?}, tag {tagged:.2?}, delete {deleted:.2?}"
    );
}

// ---------------------------------------------------------------------------------------
// Duplicate
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn duplicate_picks_name_copy_then_copy_2_and_copies_everything_else() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let original = inv
        .create(VmDraft {
            port: 2201,
            user: "ops".into(),
            auth: AuthMethod::KeyFile,
            key_file: Some("/keys/web".into()),
            jump_host: Some("bastion".into()),
            tags: tags(&["prod", "web"]),
            notes: "the primary".into(),
            ..draft("web", "10.0.0.5")
        })
        .await
        .unwrap();

    let first = inv.duplicate(original.id).await.unwrap();
    assert_ne!(first.id, original.id);
    assert_eq!(first.name, "web-copy");
    assert_eq!(
        first.draft(),
        VmDraft {
            name: "web-copy".into(),
            ..original.draft()
        },
        "everything but the name is copied"
    );

    let second = inv.duplicate(original.id).await.unwrap();
    assert_eq!(second.name, "web-copy-2");
    assert_eq!(second.tags, original.tags);
    assert_eq!(second.notes, original.notes);

    let of_copy = inv.duplicate(first.id).await.unwrap();
    assert_eq!(of_copy.name, "web-copy-copy");

    assert_eq!(
        names(&env.engine).await,
        vec!["web", "web-copy", "web-copy-2", "web-copy-copy"]
    );
    // The original is untouched.
    assert_eq!(inv.get(original.id).await.unwrap(), original);
}

#[tokio::test]
async fn duplicate_treats_taken_names_case_insensitively() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let db = inv.create(draft("db", "h.lan")).await.unwrap();
    inv.create(draft("DB-COPY", "h.lan")).await.unwrap();
    inv.create(draft("Db-Copy-2", "h.lan")).await.unwrap();
    assert_eq!(inv.duplicate(db.id).await.unwrap().name, "db-copy-3");
}

#[tokio::test]
async fn duplicate_of_a_maximal_name_stays_within_the_limit() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let long = "a".repeat(vmo_engine::vm::NAME_MAX);
    let vm = inv.create(draft(&long, "h.lan")).await.unwrap();
    let copy = inv.duplicate(vm.id).await.unwrap();
    assert!(copy.name.len() <= vmo_engine::vm::NAME_MAX, "{}", copy.name);
    assert!(copy.name.ends_with("-copy"), "{}", copy.name);
    let copy2 = inv.duplicate(vm.id).await.unwrap();
    assert!(
        copy2.name.len() <= vmo_engine::vm::NAME_MAX,
        "{}",
        copy2.name
    );
    assert!(copy2.name.ends_with("-copy-2"), "{}", copy2.name);
}

// ---------------------------------------------------------------------------------------
// Unique names
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn names_are_unique_ignoring_case() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let web = inv.create(draft("web", "10.0.0.1")).await.unwrap();
    let db = inv.create(draft("db", "10.0.0.2")).await.unwrap();
    let mut rx = inv.subscribe();

    let err = assert_code(
        inv.create(draft("WEB", "10.0.0.3")).await,
        ErrorCode::Conflict,
    );
    let field = err.field("name").expect("a field error on name");
    assert!(field.contains("WEB"), "{field}");
    // Surrounding blanks are trimmed before the check.
    assert_code(
        inv.create(draft("  Web ", "10.0.0.3")).await,
        ErrorCode::Conflict,
    );

    let err = assert_code(
        inv.update(
            db.id,
            VmDraft {
                name: "wEb".into(),
                ..db.draft()
            },
        )
        .await,
        ErrorCode::Conflict,
    );
    assert!(err.field("name").is_some(), "{err:?}");

    assert_no_event(&mut rx);
    assert_eq!(
        inv.get(db.id).await.unwrap(),
        db,
        "failed rename left db untouched"
    );
    assert_eq!(inv.get(web.id).await.unwrap(), web);
    assert_eq!(names(&env.engine).await, vec!["db", "web"]);
}

#[tokio::test]
async fn concurrent_creates_of_one_name_let_exactly_one_win() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let (a, b, c) = tokio::join!(
        inv.create(draft("race", "10.0.0.1")),
        inv.create(draft("RACE", "10.0.0.2")),
        inv.create(draft("Race", "10.0.0.3")),
    );
    let results = [a, b, c];
    let wins = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(wins, 1, "{results:?}");
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(err.code, ErrorCode::Conflict, "{err:?}");
    }
    assert_eq!(inv.list().await.unwrap().len(), 1);
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn validation_errors_name_each_field() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let mut rx = inv.subscribe();

    let err = assert_code(
        inv.create(VmDraft {
            port: 0,
            ..draft("a", "h.lan")
        })
        .await,
        ErrorCode::Validation,
    );
    assert_eq!(err.field("port"), Some(vmo_engine::vm::PORT_RANGE));
    assert_eq!(err.fields.len(), 1, "{err:?}");
    assert_eq!(
        err.message,
        vmo_engine::vm::PORT_RANGE,
        "one field: its message is the message"
    );

    for bad_host in [
        "bad host",
        "",
        "-lead.example.com",
        "a..b",
        "x;rm -rf /",
        "h$st",
    ] {
        let err = assert_code(
            inv.create(draft("a", bad_host)).await,
            ErrorCode::Validation,
        );
        assert!(err.field("host").is_some(), "{bad_host:?}: {err:?}");
    }

    let err = assert_code(
        inv.create(VmDraft {
            auth: AuthMethod::KeyFile,
            key_file: Some("   ".into()),
            ..draft("a", "h.lan")
        })
        .await,
        ErrorCode::Validation,
    );
    assert!(
        err.field("key_file").unwrap().contains("private key"),
        "{err:?}"
    );

    let err = assert_code(
        inv.create(VmDraft {
            jump_host: Some("bastion, WEB-1".into()),
            ..draft("web-1", "h.lan")
        })
        .await,
        ErrorCode::Validation,
    );
    assert_eq!(
        err.field("jump_host"),
        Some("A VM cannot be its own jump host")
    );

    let err = assert_code(
        inv.create(draft("bad name", "h.lan")).await,
        ErrorCode::Validation,
    );
    assert!(err.field("name").is_some(), "{err:?}");

    let err = assert_code(
        inv.create(VmDraft {
            tags: tags(&["has space"]),
            ..draft("a", "h.lan")
        })
        .await,
        ErrorCode::Validation,
    );
    assert!(err.field("tags").is_some(), "{err:?}");

    let too_many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let err = assert_code(
        inv.create(VmDraft {
            tags: too_many,
            ..draft("a", "h.lan")
        })
        .await,
        ErrorCode::Validation,
    );
    assert!(err.field("tags").is_some(), "{err:?}");

    // Several bad fields come back together.
    let err = assert_code(
        inv.create(VmDraft {
            name: "".into(),
            host: "bad host".into(),
            port: 0,
            user: "a b".into(),
            auth: AuthMethod::KeyFile,
            key_file: None,
            ..VmDraft::default()
        })
        .await,
        ErrorCode::Validation,
    );
    for field in ["name", "host", "port", "user", "key_file"] {
        assert!(err.field(field).is_some(), "{field} not flagged: {err:?}");
    }
    assert_eq!(err.message, "5 fields need attention");

    assert_no_event(&mut rx);
    assert!(
        inv.list().await.unwrap().is_empty(),
        "nothing invalid was stored"
    );
}

#[tokio::test]
async fn the_jump_host_self_check_applies_to_the_new_name_on_update() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let vm = inv
        .create(VmDraft {
            jump_host: Some("gateway".into()),
            ..draft("web", "h.lan")
        })
        .await
        .unwrap();
    let err = assert_code(
        inv.update(
            vm.id,
            VmDraft {
                name: "Gateway".into(),
                ..vm.draft()
            },
        )
        .await,
        ErrorCode::Validation,
    );
    assert!(err.field("jump_host").is_some(), "{err:?}");
    assert_eq!(inv.get(vm.id).await.unwrap(), vm);
}

#[tokio::test]
async fn an_invalid_update_changes_nothing() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let vm = inv
        .create(VmDraft {
            tags: tags(&["keep"]),
            ..draft("web", "h.lan")
        })
        .await
        .unwrap();
    let err = assert_code(
        inv.update(
            vm.id,
            VmDraft {
                port: 0,
                tags: tags(&["gone"]),
                ..vm.draft()
            },
        )
        .await,
        ErrorCode::Validation,
    );
    assert!(err.field("port").is_some());
    assert_eq!(inv.get(vm.id).await.unwrap(), vm);
}

#[tokio::test]
async fn ip_literals_are_accepted_and_bracket_typos_are_not() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let v6 = inv.create(draft("v6", "fe80::1")).await.unwrap();
    assert_eq!(v6.address(), "[fe80::1]");

    // A bracketed IPv6 literal (as in `[::1]:22`) is stored bare, so the address shown
    // (and searched) is not double-bracketed.
    let bracketed = inv
        .create(VmDraft {
            port: 2222,
            ..draft("v6b", " [2001:db8::7] ")
        })
        .await
        .unwrap();
    assert_eq!(bracketed.host, "2001:db8::7");
    assert_eq!(bracketed.address(), "[2001:db8::7]:2222");

    for bad in ["[::1", "::1]", "[10.0.0.1", "[[::1]]", "[web.lan]"] {
        let err = assert_code(inv.create(draft("bad", bad)).await, ErrorCode::Validation);
        assert!(err.field("host").is_some(), "{bad:?}: {err:?}");
    }
    assert_eq!(names(&env.engine).await, vec!["v6", "v6b"]);
}

#[tokio::test]
async fn user_names_that_look_like_ssh_options_are_rejected() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    // `-oProxyCommand=...@host` would be read by ssh as an option, not a destination.
    let err = assert_code(
        inv.create(VmDraft {
            user: "-oProxyCommand=touch".into(),
            ..draft("a", "h.lan")
        })
        .await,
        ErrorCode::Validation,
    );
    assert!(err.field("user").is_some(), "{err:?}");
    let err = assert_code(
        inv.create(VmDraft {
            jump_host: Some("-oProxyCommand=x@bastion".into()),
            ..draft("a", "h.lan")
        })
        .await,
        ErrorCode::Validation,
    );
    assert!(err.field("jump_host").is_some(), "{err:?}");
    // An ordinary user with a dash inside is fine.
    inv.create(VmDraft {
        user: "svc-deploy".into(),
        ..draft("a", "h.lan")
    })
    .await
    .unwrap();
}

// ---------------------------------------------------------------------------------------
// Persistence and the database file
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn data_survives_dropping_and_reopening_the_engine() {
    let env = TestEnv::new().await;
    let before = {
        let inv = env.engine.inventory();
        let a = inv
            .create(VmDraft {
                auth: AuthMethod::KeyFile,
                key_file: Some("/keys/a".into()),
                tags: tags(&["prod"]),
                notes: "persist me".into(),
                ..draft("a", "10.0.0.1")
            })
            .await
            .unwrap();
        let b = inv.create(draft("b", "10.0.0.2")).await.unwrap();
        inv.update(
            b.id,
            VmDraft {
                port: 2022,
                ..b.draft()
            },
        )
        .await
        .unwrap();
        let c = inv.create(draft("c", "10.0.0.3")).await.unwrap();
        inv.delete(&[c.id]).await.unwrap();
        let _ = a;
        inv.list().await.unwrap()
    };
    let TestEnv { tmp, engine } = env;
    drop(engine);

    let reopened = open_engine(&tmp.path().join("data")).await;
    let after = reopened.inventory().list().await.unwrap();
    assert_eq!(after, before);
    assert_eq!(after.len(), 2);
    assert_eq!(after[1].port, 2022);
    assert_eq!(after[0].tags, tags(&["prod"]));

    // The reopened store keeps working (migrations are not re-applied destructively).
    reopened
        .inventory()
        .create(draft("d", "10.0.0.4"))
        .await
        .unwrap();
    assert_eq!(names(&reopened).await, vec!["a", "b", "d"]);
}

#[tokio::test]
async fn two_engines_on_one_directory_see_each_others_writes() {
    let env = TestEnv::new().await;
    let other = env.reopen().await;
    let vm = env
        .engine
        .inventory()
        .create(draft("shared", "h.lan"))
        .await
        .unwrap();
    assert_eq!(other.inventory().get(vm.id).await.unwrap(), vm);
    other.inventory().delete(&[vm.id]).await.unwrap();
    assert!(env.engine.inventory().list().await.unwrap().is_empty());
}

/// Another program holding the database is its own error, in words, naming the file:
/// when a change is refused mid-session, and when the database cannot even be opened.
#[tokio::test]
async fn a_database_held_by_another_program_is_database_locked() {
    let env = TestEnv::new().await;
    let file = env.engine.paths().database_file();
    let mut other = connect_raw(&env.engine).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let err = env
        .engine
        .inventory()
        .create(draft("a", "h.lan"))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DatabaseLocked, "{err:?}");
    assert!(err.message.contains("locked by another program"), "{err}");
    let named = err.in_database(&file);
    assert!(
        named
            .message
            .starts_with(&format!("the database {}", file.display())),
        "{named}"
    );
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();

    // Held whole (no reading either) by a program that made it: opening says which file.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("inventory.sqlite3");
    let mut other = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true)
        .locking_mode(sqlx::sqlite::SqliteLockingMode::Exclusive)
        .connect()
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE held (x)")
        .execute(&mut other)
        .await
        .unwrap();
    let err = match Engine::open(Paths::new(tmp.path())).await {
        Ok(_) => panic!("opened a database another program holds"),
        Err(err) => err,
    };
    assert_eq!(err.code, ErrorCode::DatabaseLocked, "{err:?}");
    assert!(err.message.contains(&file.display().to_string()), "{err}");
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    other.close().await.unwrap();
}

#[tokio::test]
async fn the_database_is_inventory_sqlite3_in_the_data_dir_and_uses_wal() {
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("not").join("yet").join("there");
    let engine = Engine::open(Paths::new(&data_dir)).await.unwrap();
    let file = data_dir.join("inventory.sqlite3");
    assert_eq!(engine.paths().data_dir(), data_dir.as_path());
    assert_eq!(engine.paths().database_file(), file);
    assert!(file.is_file(), "{} was not created", file.display());

    engine
        .inventory()
        .create(draft("a", "h.lan"))
        .await
        .unwrap();
    assert!(
        data_dir.join("inventory.sqlite3-wal").exists(),
        "a write in WAL mode leaves the -wal file next to the database"
    );

    // WAL is a property of the file: a fresh connection that asks for nothing sees it.
    let mut conn = connect_raw(&engine).await;
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(mode.to_lowercase(), "wal");
    let (count,): (i64,) = sqlx::query_as("SELECT count(*) FROM vms WHERE name = 'a'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 1, "the engine wrote to this very file");
    conn.close().await.unwrap();
}

#[tokio::test]
async fn opening_a_data_dir_that_is_a_file_is_an_io_error() {
    let tmp = tempfile::tempdir().unwrap();
    let blocker = write_file(&tmp.path().join("data"), "not a directory");
    let result = Engine::open(Paths::new(blocker.join("sub"))).await;
    let err = match result {
        Ok(_) => panic!("opening below a regular file must fail"),
        Err(err) => err,
    };
    assert_eq!(err.code, ErrorCode::Io, "{err:?}");
}

#[tokio::test]
async fn no_column_can_hold_a_secret() {
    let env = TestEnv::new().await;
    // A password VM stores the method name only.
    env.engine
        .inventory()
        .create(VmDraft {
            auth: AuthMethod::Password,
            ..draft("pw", "h.lan")
        })
        .await
        .unwrap();

    let mut conn = connect_raw(&env.engine).await;
    let columns: Vec<String> =
        sqlx::query_as::<_, (String,)>("SELECT name FROM pragma_table_info('vms')")
            .fetch_all(&mut conn)
            .await
            .unwrap()
            .into_iter()
            .map(|(c,)| c)
            .collect();
    // Sanity: the query really sees the table.
    for expected in [
        "id",
        "name",
        "host",
        "port",
        "user",
        "auth",
        "key_file",
        "jump_host",
    ] {
        assert!(
            columns.iter().any(|c| c == expected),
            "{expected} missing from {columns:?}"
        );
    }

    // And no table anywhere has a column that could hold a password or secret.
    let tables: Vec<(String,)> =
        sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert!(tables.iter().any(|(t,)| t == "vms"));
    for (table,) in tables {
        let cols: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info(?)")
            .bind(&table)
            .fetch_all(&mut conn)
            .await
            .unwrap();
        for (col,) in cols {
            let lower = col.to_lowercase();
            for word in ["pass", "secret", "token", "credential"] {
                assert!(
                    !lower.contains(word),
                    "{table}.{col} looks like it could hold a secret"
                );
            }
        }
    }

    let (auth,): (String,) = sqlx::query_as("SELECT auth FROM vms WHERE name = 'pw'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(auth, "password");
    conn.close().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn subscribers_see_created_updated_deleted_and_imported() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let mut rx = inv.subscribe();
    // A clone of the engine shares the same inventory and event stream.
    let clone = env.engine.clone();
    let mut rx_clone = clone.inventory().subscribe();
    // Every event the first subscriber got, in order, for the clone's to match.
    let mut heard = Vec::new();
    let mut expect = |rx: &mut broadcast::Receiver<InventoryEvent>, expected: InventoryEvent| {
        let event = next_event(rx);
        assert_eq!(event, expected);
        heard.push(event);
    };

    let a = inv.create(draft("a", "h.lan")).await.unwrap();
    expect(&mut rx, InventoryEvent::Created { id: a.id });

    clone
        .inventory()
        .update(
            a.id,
            VmDraft {
                port: 2022,
                ..a.draft()
            },
        )
        .await
        .unwrap();
    expect(&mut rx, InventoryEvent::Updated { id: a.id });

    let copy = inv.duplicate(a.id).await.unwrap();
    expect(&mut rx, InventoryEvent::Created { id: copy.id });

    inv.delete(&[a.id, copy.id]).await.unwrap();
    expect(
        &mut rx,
        InventoryEvent::Deleted {
            ids: vec![a.id, copy.id],
        },
    );

    let config = env.write_ssh("config", "Host one\n  HostName 10.1.0.1\nHost two\n");
    let summary = inv.import_apply(&config, None).await.unwrap();
    assert_eq!((summary.added, summary.updated), (2, 0));
    expect(
        &mut rx,
        InventoryEvent::Imported {
            added: 2,
            updated: 0,
        },
    );

    env.write_ssh("config", "Host one\n  HostName 10.1.0.9\nHost two\n");
    inv.import_apply(&config, None).await.unwrap();
    expect(
        &mut rx,
        InventoryEvent::Imported {
            added: 0,
            updated: 1,
        },
    );

    // Nothing to do: no event. Failures: no event. Reads: no event.
    inv.import_preview(&config).await.unwrap();
    inv.import_apply(&config, None).await.unwrap();
    let _ = inv.create(draft("bad", "")).await.unwrap_err();
    let _ = inv.delete(&[VmId(77_777)]).await.unwrap_err();
    inv.list().await.unwrap();
    assert_no_event(&mut rx);

    // The clone's receiver saw the same sequence: the same events, in the same order.
    let mut seen = Vec::new();
    while let Ok(event) = rx_clone.try_recv() {
        seen.push(event);
    }
    assert_eq!(heard.len(), 6);
    assert_eq!(seen, heard);
}

#[tokio::test]
async fn events_are_not_shared_between_separately_opened_engines() {
    // Each Engine::open has its own channel; a second process must poll or reload.
    let env = TestEnv::new().await;
    let other = env.reopen().await;
    let mut rx = other.inventory().subscribe();
    env.engine
        .inventory()
        .create(draft("a", "h.lan"))
        .await
        .unwrap();
    assert_no_event(&mut rx);
}
