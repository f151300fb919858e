//! The JSON shapes front ends rely on (Tauri commands, the CLI's --json): error codes,
//! field errors, events and import actions.

use serde_json::json;
use vmo_engine::{
    EngineError, ErrorCode, FieldError, ImportAction, ImportSummary, InventoryEvent, VmId,
};

#[test]
fn error_codes_serialise_as_their_stable_names() {
    for code in [
        ErrorCode::Validation,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::SshConfig,
        ErrorCode::Database,
        ErrorCode::Io,
    ] {
        assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
    }
    assert_eq!(ErrorCode::NotFound.as_str(), "not_found");
    assert_eq!(ErrorCode::SshConfig.as_str(), "ssh_config");
}

#[test]
fn errors_carry_code_message_and_only_non_empty_fields() {
    let err = EngineError::validation(vec![
        FieldError {
            field: "port".into(),
            message: "bad port".into(),
        },
        FieldError {
            field: "host".into(),
            message: "bad host".into(),
        },
    ]);
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        json!({
            "code": "validation",
            "message": "2 fields need attention",
            "fields": [
                {"field": "port", "message": "bad port"},
                {"field": "host", "message": "bad host"},
            ],
        })
    );
    assert_eq!(err.field("host"), Some("bad host"));
    assert_eq!(err.field("name"), None);

    let err = EngineError::not_found("VM #7");
    assert_eq!(
        serde_json::to_value(&err).unwrap(),
        json!({"code": "not_found", "message": "VM #7 does not exist"})
    );
    assert_eq!(err.to_string(), "VM #7 does not exist");
}

#[test]
fn events_are_tagged_by_kind() {
    assert_eq!(
        serde_json::to_value(InventoryEvent::Created { id: VmId(3) }).unwrap(),
        json!({"kind": "created", "id": 3})
    );
    assert_eq!(
        serde_json::to_value(InventoryEvent::Deleted {
            ids: vec![VmId(1), VmId(2)]
        })
        .unwrap(),
        json!({"kind": "deleted", "ids": [1, 2]})
    );
    assert_eq!(
        serde_json::to_value(InventoryEvent::Imported {
            added: 2,
            updated: 1
        })
        .unwrap(),
        json!({"kind": "imported", "added": 2, "updated": 1})
    );
}

#[test]
fn import_actions_and_summaries() {
    assert_eq!(
        serde_json::to_value(ImportAction::Add).unwrap(),
        json!({"kind": "add"})
    );
    assert_eq!(
        serde_json::to_value(ImportAction::Update {
            id: VmId(4),
            changes: vec!["port: 22 → 2222".into()]
        })
        .unwrap(),
        json!({"kind": "update", "id": 4, "changes": ["port: 22 → 2222"]})
    );
    assert_eq!(
        serde_json::to_value(ImportAction::Invalid { reason: "r".into() }).unwrap(),
        json!({"kind": "invalid", "reason": "r"})
    );
    assert_eq!(
        serde_json::to_value(ImportSummary {
            added: 1,
            updated: 2,
            unchanged: 3,
            invalid: 4
        })
        .unwrap(),
        json!({"added": 1, "updated": 2, "unchanged": 3, "invalid": 4})
    );
}
