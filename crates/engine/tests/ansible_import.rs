//! Importing an Ansible inventory into a real inventory: preview, apply in one
//! transaction, re-import updates instead of duplicating, events; and the export.

mod common;

use common::*;
use vmo_engine::{ErrorCode, ImportSource, ImportSummary, InventoryEvent};

const INVENTORY: &str = "\
[web]
web[1:2] ansible_host=10.0.0.1

[db]
db1 ansible_host=10.0.1.1 ansible_user=postgres ansible_ssh_common_args='-J web1'
broken ansible_port=ssh

[prod:children]
web
db
";

#[tokio::test]
async fn import_apply_reimport_and_export() {
    let env = TestEnv::new().await;
    let inv = env.engine.inventory();
    let file = write_file(&env.tmp.path().join("hosts"), INVENTORY);
    let mut rx = inv.subscribe();
    let plan = inv
        .import_preview_from(ImportSource::Ansible, &file)
        .await
        .unwrap();
    assert_eq!(plan.summary().invalid, 1);
    assert_no_event(&mut rx);
    let s = inv
        .import_apply_from(ImportSource::Ansible, &file, None)
        .await
        .unwrap();
    assert_eq!((s.added, s.invalid), (3, 1));
    assert_eq!(
        next_event(&mut rx),
        InventoryEvent::Imported {
            added: 3,
            updated: 0
        }
    );
    assert_eq!(names(&env.engine).await, ["db1", "web1", "web2"]);
    let db = inv.find_by_name("db1").await.unwrap();
    assert_eq!(db.tags, tags(&["db", "prod"]));
    assert_eq!(db.jump_host.as_deref(), Some("web1"));

    // The user adds a tag and notes; the file gains a group: update, no duplicate.
    let mut draft = db.draft();
    draft.tags.push("mine".into());
    draft.notes = "keep".into();
    inv.update(db.id, draft).await.unwrap();
    write_file(&file, format!("{INVENTORY}\n[eu:children]\nprod\n"));
    let s = inv
        .import_apply_from(ImportSource::Ansible, &file, None)
        .await
        .unwrap();
    assert_eq!(
        s,
        ImportSummary {
            added: 0,
            updated: 3,
            unchanged: 0,
            invalid: 1
        }
    );
    assert_eq!(names(&env.engine).await, ["db1", "web1", "web2"]);
    let db = inv.find_by_name("db1").await.unwrap();
    assert_eq!(db.tags, tags(&["db", "eu", "mine", "prod"]));
    assert_eq!(db.notes, "keep");

    let yaml = inv.export_ansible(Some("db")).await.unwrap();
    assert!(yaml.contains("db1:"), "{yaml}");
    assert!(!yaml.contains("web2"), "{yaml}");
    assert!(yaml.contains("-o ProxyJump=10.0.0.1"), "{yaml}");
    assert_code(inv.export_ansible(Some("nope")).await, ErrorCode::NotFound);

    // A bad line fails the whole import, naming the file and line.
    write_file(&file, "[web]\nweb1 ansible_host\n");
    let err = assert_code(
        inv.import_apply_from(ImportSource::Ansible, &file, None)
            .await,
        ErrorCode::AnsibleInventory,
    );
    assert!(err.message.contains("hosts, line 2"), "{}", err.message);
}
