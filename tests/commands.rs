//! The Tauri commands, called through Tauri's IPC on a mock runtime (no window), against a
//! real SQLite file. Errors must arrive as `{code, message, fields}`.

use serde_json::{json, Value};
use std::sync::mpsc;
use std::time::Duration;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Listener, WebviewWindow};
use vm_orchestrator::events::INVENTORY_CHANGED;
use vmo_engine::{Engine, Paths};

struct Harness {
    _data: tempfile::TempDir,
    _app: tauri::App<tauri::test::MockRuntime>,
    window: WebviewWindow<tauri::test::MockRuntime>,
    events: mpsc::Receiver<Value>,
}

fn harness() -> Harness {
    let data = tempfile::tempdir().unwrap();
    let engine = tauri::async_runtime::block_on(Engine::open(Paths::new(data.path()))).unwrap();
    harness_with(data, engine)
}

fn harness_with(data: tempfile::TempDir, engine: Engine) -> Harness {
    let app = mock_builder()
        .invoke_handler(vm_orchestrator::invoke_handler())
        .build(mock_context(noop_assets()))
        .unwrap();
    vm_orchestrator::attach_engine(app.handle(), engine, None);
    let (tx, events) = mpsc::channel();
    app.listen_any(INVENTORY_CHANGED, move |event| {
        tx.send(serde_json::from_str(event.payload()).unwrap())
            .unwrap();
    });
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    Harness {
        _data: data,
        _app: app,
        window,
        events,
    }
}

impl Harness {
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|body| body.deserialize::<Value>().unwrap())
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} should have failed, returned {v}"),
            Err(e) => e,
        }
    }

    fn next_event(&self) -> Value {
        self.events
            .recv_timeout(Duration::from_secs(5))
            .expect("no inventory-changed event")
    }
}

fn web1() -> Value {
    json!({"name": "web-1", "host": "10.0.0.5", "port": 22, "user": "ops",
           "auth": "agent", "tags": ["prod"], "notes": "front"})
}

#[test]
fn crud_through_commands_emits_events() {
    let h = harness();
    assert_eq!(h.ok("vm_list", json!({})), json!([]));

    let vm = h.ok("vm_create", json!({ "draft": web1() }));
    assert_eq!(vm["name"], "web-1");
    assert_eq!(vm["tags"], json!(["prod"]));
    let id = vm["id"].clone();
    assert_eq!(h.next_event(), json!({"kind": "created", "id": id}));

    let mut changed = web1();
    changed["port"] = json!(2222);
    let updated = h.ok("vm_update", json!({ "id": id, "draft": changed }));
    assert_eq!(updated["port"], 2222);
    assert_eq!(h.next_event(), json!({"kind": "updated", "id": id}));
    assert_eq!(h.ok("vm_get", json!({ "id": id }))["port"], 2222);

    let copy = h.ok("vm_duplicate", json!({ "id": id }));
    assert_eq!(copy["name"], "web-1-copy");
    assert_eq!(copy["port"], 2222);
    h.next_event();

    h.ok("vm_delete", json!({ "ids": [id, copy["id"]] }));
    assert_eq!(h.next_event()["kind"], "deleted");
    assert_eq!(h.ok("vm_list", json!({})), json!([]));
}

#[test]
fn errors_carry_codes_and_fields() {
    let h = harness();
    let mut bad = web1();
    bad["port"] = json!(0);
    bad["host"] = json!("not a host");
    let err = h.err("vm_create", json!({ "draft": bad }));
    assert_eq!(err["code"], "validation");
    let fields: Vec<&str> = err["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["host", "port"]);
    assert!(err["message"].as_str().unwrap().contains("2 fields"));

    h.ok("vm_create", json!({ "draft": web1() }));
    let mut dup = web1();
    dup["name"] = json!("WEB-1");
    let err = h.err("vm_create", json!({ "draft": dup }));
    assert_eq!(err["code"], "conflict");
    assert_eq!(err["fields"][0]["field"], "name");

    let err = h.err("vm_get", json!({ "id": 999 }));
    assert_eq!(err["code"], "not_found");
    let err = h.err("vm_delete", json!({ "ids": [999] }));
    assert_eq!(err["code"], "not_found");
    assert_eq!(h.ok("vm_list", json!({})).as_array().unwrap().len(), 1);

    // The UI address is only known to the real app; here there is none.
    assert_eq!(h.err("ui_address", json!({}))["code"], "io");
}

#[test]
fn import_preview_and_apply() {
    let h = harness();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    std::fs::write(
        &config,
        "Host a b\n  HostName %h.lan\nHost *\n  Port 2022\n",
    )
    .unwrap();

    let plan = h.ok("vm_import_preview", json!({ "path": config }));
    let kinds: Vec<&str> = plan["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|host| host["action"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["add", "add"]);
    assert_eq!(plan["hosts"][0]["draft"]["host"], "a.lan");
    assert_eq!(plan["hosts"][1]["draft"]["port"], 2022);
    assert_eq!(
        h.ok("vm_list", json!({})),
        json!([]),
        "preview changed the inventory"
    );

    let summary = h.ok("vm_import_apply", json!({ "path": config, "only": ["b"] }));
    assert_eq!(summary["added"], 1);
    let list = h.ok("vm_list", json!({}));
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "b");
    assert_eq!(
        h.next_event(),
        json!({"kind": "imported", "added": 1, "updated": 0})
    );

    std::fs::write(&config, "Host a\n  Port nope\n").unwrap();
    let err = h.err("vm_import_apply", json!({ "path": config }));
    assert_eq!(err["code"], "ssh_config");
    assert!(err["message"].as_str().unwrap().contains("line 2"), "{err}");
    assert_eq!(h.ok("vm_list", json!({})).as_array().unwrap().len(), 1);

    let err = h.err(
        "vm_import_preview",
        json!({ "path": dir.path().join("missing") }),
    );
    assert_eq!(err["code"], "ssh_config");
}

/// A harness on an engine that checks keys against `known_hosts`, with one VM per fleet
/// host (`host0`, ...); returns the VMs' ids too.
fn fleet_harness(
    fleet: &vmo_testkit::Fleet,
    data: tempfile::TempDir,
    known_hosts: &std::path::Path,
) -> (Harness, Vec<Value>) {
    let mut settings = vmo_engine::ssh::SshSettings::from_env();
    settings.known_hosts = known_hosts.to_path_buf();
    settings.agent_socket = None;
    let engine = tauri::async_runtime::block_on(Engine::open_with(
        Paths::new(data.path()),
        &settings,
        std::sync::Arc::new(vmo_engine::ssh::NoSecrets),
    ))
    .unwrap();
    let h = harness_with(data, engine);
    let ids = fleet
        .hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            h.ok(
                "vm_create",
                json!({ "draft": {
                    "name": format!("host{i}"), "host": "127.0.0.1", "port": host.port(),
                    "user": fleet.user(), "auth": "key_file", "key_file": fleet.client_key(),
                }}),
            )["id"]
                .clone()
        })
        .collect();
    (h, ids)
}

#[test]
fn vm_test_reports_each_host_and_trust_unlocks_an_unknown_key() {
    let fleet = vmo_testkit::Fleet::start(2);
    let data = tempfile::tempdir().unwrap();
    let known_hosts = data.path().join("known_hosts");
    let (h, ids) = fleet_harness(&fleet, data, &known_hosts);
    fleet.stop_host(1);

    let results = h.ok("vm_test", json!({ "ids": ids }));
    assert_eq!(results[0]["ok"], false);
    assert_eq!(results[0]["error"]["kind"], "host_key_unknown");
    let key = results[0]["error"]["host_key"].clone();
    assert_eq!(key["fingerprint"], fleet.host_key_fingerprint(0));
    assert_eq!(results[1]["error"]["kind"], "refused");

    h.ok("host_key_trust", json!({ "key": key, "always": true }));
    let results = h.ok("vm_test", json!({ "ids": [ids[0]] }));
    assert_eq!(results[0]["ok"], true, "{results}");
    assert!(results[0]["server_version"]
        .as_str()
        .unwrap()
        .contains("OpenSSH"));
    assert!(std::fs::read_to_string(&known_hosts)
        .unwrap()
        .contains("ssh-ed25519"));

    let err = h.err("vm_test", json!({ "ids": [424242] }));
    assert_eq!(err["code"], "not_found");
}

#[test]
fn host_keys_scan_trust_in_bulk_and_replace_one() {
    let fleet = vmo_testkit::Fleet::start(3);
    let data = tempfile::tempdir().unwrap();
    let known_hosts = data.path().join("known_hosts");
    // host0 known, host1 never seen, host2 known with a key it no longer has.
    let lines: Vec<String> = std::fs::read_to_string(fleet.known_hosts())
        .unwrap()
        .lines()
        .filter(|l| !l.contains(&format!("]:{} ", fleet.hosts()[1].port())))
        .map(str::to_string)
        .collect();
    std::fs::write(&known_hosts, lines.join("\n") + "\n").unwrap();
    fleet.restart_host(2, true);
    let (h, ids) = fleet_harness(&fleet, data, &known_hosts);

    let scans = h.ok("host_keys_scan", json!({ "ids": ids }));
    let statuses: Vec<&str> = scans
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["known", "unknown", "changed"], "{scans}");
    assert_eq!(scans[1]["name"], "host1");
    let unknown = scans[1]["status"]["detail"].clone();
    assert_eq!(unknown["fingerprint"], fleet.host_key_fingerprint(1));
    let change = scans[2]["status"]["detail"].clone();
    assert_eq!(
        change["presented"]["fingerprint"],
        fleet.host_key_fingerprint(2)
    );
    assert_eq!(change["old_line"]["number"], 2);

    // A changed key is refused in a batch, and takes the batch with it.
    let before = std::fs::read_to_string(&known_hosts).unwrap();
    let err = h.err(
        "host_keys_trust",
        json!({ "keys": [unknown, change["presented"]], "always": true }),
    );
    assert_eq!(err["code"], "ssh");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("HOST KEY CHANGED"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), before);

    assert_eq!(
        h.ok(
            "host_keys_trust",
            json!({ "keys": [unknown], "always": true })
        ),
        1
    );
    h.ok(
        "host_key_replace",
        json!({ "id": ids[2], "change": change }),
    );
    let results = h.ok("vm_test", json!({ "ids": ids }));
    for r in results.as_array().unwrap() {
        assert_eq!(r["ok"], true, "{r}");
    }
    // The host changes its key once more: the old review is stale and replaces nothing.
    fleet.restart_host(2, true);
    let before = std::fs::read_to_string(&known_hosts).unwrap();
    let err = h.err(
        "host_key_replace",
        json!({ "id": ids[2], "change": change }),
    );
    assert_eq!(err["code"], "ssh");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("not the key you reviewed"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), before);
}
