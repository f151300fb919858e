//! `vmo vm export-ansible` checked by Ansible itself (`ansible-inventory --list` from the
//! venv `.ci/ansible-venv` makes; `.ci/run` sets VMO_ANSIBLE_INVENTORY), and
//! `vmo vm import-ansible` of an INI inventory with nested groups.

use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

const VMO: &str = env!("CARGO_BIN_EXE_vmo");

struct Ctx {
    dir: TempDir,
}

impl Ctx {
    fn new() -> Ctx {
        let dir = tempfile::Builder::new()
            .prefix("vmo-ansible-test.")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        Ctx { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `vmo ARGS` on this context's data directory; panics unless it exits 0.
    fn vmo(&self, args: &[&str]) -> String {
        let out = Command::new(VMO)
            .arg("--data-dir")
            .arg(self.path("data"))
            .args(args)
            .env("HOME", self.path("home"))
            .env_remove("VMO_DATA_DIR")
            .output()
            .unwrap();
        ok(&out, &format!("vmo {}", args.join(" ")))
    }

    /// `ansible-inventory --list -i FILE` as JSON, with the yaml plugin only and a parse
    /// failure made an error (by default Ansible only warns and lists nothing).
    fn ansible_inventory(&self, file: &Path) -> Value {
        let program = std::env::var_os("VMO_ANSIBLE_INVENTORY").unwrap_or_else(|| {
            panic!(
                "VMO_ANSIBLE_INVENTORY is not set: run .ci/setup (it makes the venv with \
                 .ci/ansible-venv), then set VMO_ANSIBLE_INVENTORY=\"$(.ci/ansible-venv)/bin/ansible-inventory\" \
                 (.ci/run does)"
            )
        });
        let out = Command::new(&program)
            .arg("--list")
            .arg("-i")
            .arg(file)
            .env("HOME", self.path("home"))
            .env("ANSIBLE_HOME", self.path("home/.ansible"))
            .env("ANSIBLE_INVENTORY_ENABLED", "yaml")
            .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
            .env("ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED", "true")
            .env_remove("ANSIBLE_CONFIG")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", Path::new(&program).display()));
        let text = ok(&out, "ansible-inventory --list");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("Unable to parse") && !stderr.contains("Skipping"),
            "ansible-inventory complained:\n{stderr}"
        );
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn set(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn names(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[test]
fn export_is_read_by_ansible_inventory_as_the_same_hosts_vars_and_groups() {
    let ctx = Ctx::new();
    ctx.vmo(&[
        "vm",
        "add",
        "bastion",
        "--host",
        "203.0.113.10",
        "--port",
        "2222",
        "--user",
        "jump",
        "--tag",
        "infra",
    ]);
    ctx.vmo(&[
        "vm",
        "add",
        "db1",
        "--host",
        "10.0.1.1",
        "--user",
        "postgres",
        "--key",
        "/keys/db key",
        "--jump",
        "bastion",
        "--tag",
        "db",
        "--tag",
        "prod-eu",
    ]);
    ctx.vmo(&[
        "vm",
        "add",
        "web1.example",
        "--host",
        "web1.example.com",
        "--tag",
        "web",
        "--tag",
        "prod-eu",
    ]);
    ctx.vmo(&["vm", "add", "v6", "--host", "2001:db8::1", "--port", "2200"]);
    let file = ctx.path("inventory.yml");
    ctx.vmo(&["vm", "export-ansible", "-o", file.to_str().unwrap()]);
    let listed = ctx.ansible_inventory(&file);
    let hostvars = &listed["_meta"]["hostvars"];
    assert_eq!(
        hostvars["bastion"],
        json!({"ansible_host": "203.0.113.10", "ansible_port": 2222, "ansible_user": "jump"})
    );
    assert_eq!(
        hostvars["db1"],
        json!({
            "ansible_host": "10.0.1.1",
            "ansible_user": "postgres",
            "ansible_ssh_private_key_file": "/keys/db key",
            "ansible_ssh_common_args": "-o ProxyJump=jump@203.0.113.10:2222",
        })
    );
    assert_eq!(
        hostvars["web1.example"],
        json!({"ansible_host": "web1.example.com"})
    );
    assert_eq!(
        hostvars["v6"],
        json!({"ansible_host": "2001:db8::1", "ansible_port": 2200})
    );
    assert_eq!(
        set(&listed["all"]["children"]),
        names(&["db", "infra", "prod-eu", "ungrouped", "web"])
    );
    assert_eq!(set(&listed["db"]["hosts"]), names(&["db1"]));
    assert_eq!(set(&listed["infra"]["hosts"]), names(&["bastion"]));
    assert_eq!(
        set(&listed["prod-eu"]["hosts"]),
        names(&["db1", "web1.example"])
    );
    assert_eq!(set(&listed["web"]["hosts"]), names(&["web1.example"]));
    assert_eq!(set(&listed["ungrouped"]["hosts"]), names(&["v6"]));

    // One tag, to stdout: only its hosts, the jump still resolved.
    let yaml = ctx.vmo(&["vm", "export-ansible", "--tag", "prod-eu"]);
    let file = ctx.path("prod.yml");
    std::fs::write(&file, yaml).unwrap();
    let listed = ctx.ansible_inventory(&file);
    let hosts: BTreeSet<String> = listed["_meta"]["hostvars"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(hosts, names(&["db1", "web1.example"]));
    assert_eq!(
        listed["_meta"]["hostvars"]["db1"]["ansible_ssh_common_args"],
        "-o ProxyJump=jump@203.0.113.10:2222"
    );
}

#[test]
fn text_that_looks_like_jinja_is_exported_as_unsafe_text_ansible_leaves_alone() {
    let ctx = Ctx::new();
    ctx.vmo(&[
        "vm",
        "add",
        "odd",
        "--host",
        "10.0.0.7",
        "--user",
        "{{u}}",
        "--key",
        "/k/{%raw%}",
    ]);
    let file = ctx.path("inventory.yml");
    ctx.vmo(&["vm", "export-ansible", "-o", file.to_str().unwrap()]);
    let listed = ctx.ansible_inventory(&file);
    assert_eq!(
        listed["_meta"]["hostvars"]["odd"],
        json!({
            "ansible_host": "10.0.0.7",
            "ansible_user": {"__ansible_unsafe": "{{u}}"},
            "ansible_ssh_private_key_file": {"__ansible_unsafe": "/k/{%raw%}"},
        })
    );
    // And back: the same VM, unchanged.
    let plan = ctx.vmo(&["vm", "import-ansible", file.to_str().unwrap()]);
    assert!(plan.contains("unchanged"), "{plan}");
}

#[test]
fn import_ansible_reads_nested_groups_into_tags() {
    let ctx = Ctx::new();
    let file = ctx.path("hosts.ini");
    std::fs::write(
        &file,
        "[web]\nweb[01:02] ansible_host=10.0.0.1\n\n[db]\ndb1 ansible_host=10.0.1.1 \
         ansible_ssh_common_args='-o ProxyJump=web01'\n\n[paris:children]\nweb\ndb\n\n\
         [europe:children]\nparis\n\n[europe:vars]\nansible_user=ops\n\n[db:vars]\n\
         ansible_user=postgres\n\n[bad]\n-x\n",
    )
    .unwrap();
    let out = ctx.vmo(&["vm", "import-ansible", file.to_str().unwrap()]);
    assert!(
        out.contains("3 added, 0 updated, 0 unchanged, 1 skipped"),
        "{out}"
    );
    let list: Value = serde_json::from_str(&ctx.vmo(&["vm", "list", "--json"])).unwrap();
    let vm = |name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {list}"))
            .clone()
    };
    assert_eq!(vm("web02")["tags"], json!(["europe", "paris", "web"]));
    assert_eq!(vm("web02")["user"], "ops");
    assert_eq!(vm("db1")["tags"], json!(["db", "europe", "paris"]));
    assert_eq!(vm("db1")["user"], "postgres");
    assert_eq!(vm("db1")["jump_host"], "web01");
    // Again: nothing new, nothing duplicated.
    let out = ctx.vmo(&["vm", "import-ansible", file.to_str().unwrap()]);
    assert!(out.contains("0 added, 0 updated, 3 unchanged"), "{out}");

    // A line Ansible cannot read either: the file and the line, nothing imported.
    std::fs::write(
        &file,
        "[web]\nweb9 ansible_host=10.0.0.9\nweb10 ansible_port\n",
    )
    .unwrap();
    let out = Command::new(VMO)
        .arg("--data-dir")
        .arg(ctx.path("data"))
        .args(["vm", "import-ansible", file.to_str().unwrap()])
        .env("HOME", ctx.path("home"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("hosts.ini, line 3"), "{stderr}");
    assert!(!ctx.vmo(&["vm", "list"]).contains("web9"));
}
