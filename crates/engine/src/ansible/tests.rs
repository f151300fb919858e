use super::*;
use crate::import::{ImportAction, ImportPlan};
use crate::vm::{AuthMethod, Vm, VmId};

fn ini(text: &str) -> Vec<AnsibleHost> {
    match parse(Path::new("hosts.ini"), text) {
        Ok(hosts) => hosts,
        Err(e) => panic!("{e}"),
    }
}

fn yaml(text: &str) -> Vec<AnsibleHost> {
    match parse(Path::new("hosts.yml"), text) {
        Ok(hosts) => hosts,
        Err(e) => panic!("{e}"),
    }
}

fn find<'a>(hosts: &'a [AnsibleHost], name: &str) -> &'a AnsibleHost {
    hosts
        .iter()
        .find(|h| h.name == name)
        .unwrap_or_else(|| panic!("no host {name} in {hosts:#?}"))
}

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

const INI: &str = r#"
# comment
; another comment
bastion ansible_host=203.0.113.10 ansible_user=jump

[web]
web[01:03] ansible_user=deploy
web-special ansible_host=10.0.0.9 ansible_port=2222  # trailing comment

[db]
db1 ansible_ssh_host=10.0.1.1 ansible_ssh_port=2200 ansible_ssh_user=postgres ansible_ssh_private_key_file=~/.ssh/db
db2 ansible_host=10.0.1.2 ansible_ssh_common_args='-o ProxyJump=bastion'
db3 ansible_host=10.0.1.3 ansible_ssh_common_args="-J admin@203.0.113.10:2222"

[Europe:children]
paris

[paris:children]
web
db

[prod:children]
Europe

[all:vars]
ansible_user=root
ansible_port=22

[prod:vars]
ansible_user=produser

[web:vars]
ansible_port='2022'
"#;

#[test]
fn ini_groups_children_vars_ranges_and_jumps() {
    let hosts = ini(INI);
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "bastion",
            "web01",
            "web02",
            "web03",
            "web-special",
            "db1",
            "db2",
            "db3"
        ]
    );
    // Ungrouped: only `all` vars apply; its own host vars win.
    let b = find(&hosts, "bastion");
    assert_eq!(b.host.as_deref(), Some("203.0.113.10"));
    assert_eq!(b.user.as_deref(), Some("jump"));
    assert_eq!(b.port, Some(22));
    assert!(b.tags.is_empty(), "{:?}", b.tags);
    // Three levels of children: web ⊂ paris ⊂ europe ⊂ prod; names lowercased.
    let w = find(&hosts, "web02");
    assert_eq!(w.tags, tags(&["europe", "paris", "prod", "web"]));
    assert_eq!(w.host, None);
    // Host var beats every group var.
    assert_eq!(w.user.as_deref(), Some("deploy"));
    // web (depth 4) beats all (depth 0).
    assert_eq!(w.port, Some(2022));
    let s = find(&hosts, "web-special");
    assert_eq!(s.port, Some(2222));
    assert_eq!(s.user.as_deref(), Some("produser"), "prod beats all");
    // Old variable names.
    let d1 = find(&hosts, "db1");
    assert_eq!(d1.host.as_deref(), Some("10.0.1.1"));
    assert_eq!(d1.port, Some(2200));
    assert_eq!(d1.user.as_deref(), Some("postgres"));
    assert_eq!(d1.key_file.as_deref(), Some("~/.ssh/db"));
    assert_eq!(d1.tags, tags(&["db", "europe", "paris", "prod"]));
    assert_eq!(find(&hosts, "db2").jump.as_deref(), Some("bastion"));
    assert_eq!(
        find(&hosts, "db3").jump.as_deref(),
        Some("admin@203.0.113.10:2222")
    );
    assert!(hosts.iter().all(|h| h.problem.is_none()));
}

#[test]
fn child_group_vars_beat_parent_vars_and_old_names_win_over_new() {
    let hosts = ini("[a:children]\nb\n[b]\nh1 ansible_host=x.example ansible_ssh_host=y.example\n[a:vars]\nansible_user=parent\n[b:vars]\nansible_user=child\n");
    let h = find(&hosts, "h1");
    assert_eq!(h.user.as_deref(), Some("child"));
    assert_eq!(h.host.as_deref(), Some("y.example"));
}

#[test]
fn ranges_expand_as_ansible_does() {
    let r = |p: &str| expand_range(p).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert_eq!(r("web[01:03]"), ["web01", "web02", "web03"]);
    assert_eq!(
        r("n[8:10].lan"),
        ["n8", "n9", "n10"].map(|n| format!("{n}.lan"))
    );
    assert_eq!(r("db-[a:c]"), ["db-a", "db-b", "db-c"]);
    assert_eq!(r("x[0:6:3]"), ["x0", "x3", "x6"]);
    assert_eq!(r("r[1:2]c[1:2]"), ["r1c1", "r1c2", "r2c1", "r2c2"]);
    assert_eq!(r("plain"), ["plain"]);
    assert!(expand_range("w[01:3]").is_err());
    assert!(expand_range("w[1:]").is_err());
    assert!(expand_range("w[0:99999999]").is_err());
    let hosts = ini("[g]\nweb[1:2]:2201\n");
    assert_eq!(hosts.len(), 2);
    assert!(hosts.iter().all(|h| h.port == Some(2201)));
}

#[test]
fn jump_hosts_from_ssh_arguments() {
    let j = |a: &str| jump_from_args(a);
    assert_eq!(j("-o ProxyJump=bastion"), Ok(Some("bastion".into())));
    assert_eq!(
        j("-oProxyJump=a,b -o StrictHostKeyChecking=no"),
        Ok(Some("a,b".into()))
    );
    assert_eq!(j("-o 'ProxyJump u@b:2'"), Ok(Some("u@b:2".into())));
    assert_eq!(j("-J bastion"), Ok(Some("bastion".into())));
    assert_eq!(j("-Jbastion"), Ok(Some("bastion".into())));
    assert_eq!(j("-o ForwardAgent=yes"), Ok(None));
    assert!(j("-o ProxyCommand='ssh -W %h:%p bastion'").is_err());
}

#[test]
fn unreadable_lines_name_their_line() {
    let err = |text: &str| match parse(Path::new("inv"), text) {
        Ok(h) => panic!("accepted {text:?}: {h:?}"),
        Err(e) => e,
    };
    let e = err("[web]\nweb1 ansible_port\n");
    assert_eq!(e.line, Some(2));
    assert!(e.to_string().starts_with("inv, line 2: "), "{e}");
    assert!(e.message.contains("key=value"), "{e}");
    assert_eq!(err("a\n\n[web:hosts]\n").line, Some(3));
    assert_eq!(err("[web\n").line, Some(1));
    assert_eq!(err("[g]\nh1 ansible_user='open\n").line, Some(2));
    assert_eq!(err("[g:vars]\n# fine\njust-a-word\n").line, Some(3));
    assert_eq!(err("[g]\nw[01:3]\n").line, Some(2));
    assert_eq!(err("[g]\nh:99999\n").line, Some(2));
    assert_eq!(err("[g:children]\nh i\n").line, Some(2));
    let e = err("[a:children]\nb\n[b:children]\na\n");
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("loop"), "{e}");
}

#[test]
fn host_problems_are_kept_per_host() {
    let hosts = ini("[g]\nok ansible_host=10.0.0.1\nbad ansible_port=ssh\ntpl ansible_host='{{ lookup() }}'\npc ansible_ssh_common_args='-o ProxyCommand=\"nc %h %p\"'\n");
    assert_eq!(find(&hosts, "ok").problem, None);
    for name in ["bad", "tpl", "pc"] {
        assert!(find(&hosts, name).problem.is_some(), "{name}");
    }
}

const YAML: &str = r#"
all:
  hosts:
    bastion:
      ansible_host: 203.0.113.10
      ansible_user: jump
  vars:
    ansible_user: root
    ansible_port: 22
  children:
    prod:
      vars:
        ansible_user: produser
      children:
        Europe:
          children:
            paris:
              children:
                web:
                  hosts:
                    web[01:03]:
                      ansible_user: deploy
                    web-special:
                      ansible_host: 10.0.0.9
                      ansible_port: 2222
                  vars:
                    ansible_port: "2022"
                db:
                  hosts:
                    db1:
                      ansible_ssh_host: 10.0.1.1
                      ansible_ssh_port: 2200
                      ansible_ssh_user: postgres
                      ansible_ssh_private_key_file: ~/.ssh/db
                    db2:
                      ansible_host: 10.0.1.2
                      ansible_ssh_common_args: -o ProxyJump=bastion
                    db3:
                      ansible_host: 10.0.1.3
                      ansible_ssh_common_args: -J admin@203.0.113.10:2222
"#;

#[test]
fn yaml_reads_the_same_as_ini() {
    let mut from_yaml = yaml(YAML);
    let mut from_ini = ini(INI);
    from_yaml.sort_by(|a, b| a.name.cmp(&b.name));
    from_ini.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(from_yaml, from_ini);
}

#[test]
fn yaml_errors_carry_the_parser_line() {
    let e = match parse(Path::new("inv.yml"), "all:\n  hosts:\n    - web1\n") {
        Ok(h) => panic!("accepted: {h:?}"),
        Err(e) => e,
    };
    assert_eq!(e.line, Some(3), "{e}");
    let e = match parse(Path::new("inv.yaml"), "all:\n  hosts:\n    a: [\n") {
        Ok(h) => panic!("accepted: {h:?}"),
        Err(e) => e,
    };
    assert!(e.line.is_some(), "{e}");
    // Found by content when the name says nothing.
    assert_eq!(
        parse(Path::new("inventory"), "all:\n  hosts:\n    h1:\n").map(|h| h.len()),
        Ok(1)
    );
}

fn vm(id: i64, name: &str, tags: &[&str], notes: &str) -> Vm {
    Vm {
        id: VmId(id),
        name: name.into(),
        host: "10.0.0.1".into(),
        port: 22,
        user: String::new(),
        auth: AuthMethod::Agent,
        key_file: None,
        jump_host: None,
        tags: tags.iter().map(|t| t.to_string()).collect(),
        notes: notes.into(),
        created_at: 0,
        updated_at: 0,
    }
}

#[test]
fn reimport_updates_by_name_and_merges_tags() {
    let found = ini("[web]\nweb01 ansible_host=10.0.0.1\nnew1 ansible_host=10.0.0.2\n[bad]\n-x\n");
    let existing = vec![vm(7, "WEB01", &["mine"], "keep me")];
    let plan = ImportPlan::build("hosts".into(), found, &existing);
    let web = &plan.hosts[0];
    assert_eq!(web.draft.name, "WEB01");
    assert_eq!(web.draft.tags, tags(&["mine", "web"]));
    assert_eq!(web.draft.notes, "keep me");
    match &web.action {
        ImportAction::Update { id, changes } => {
            assert_eq!(*id, VmId(7));
            assert_eq!(changes, &["tags: mine → mine, web"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(plan.hosts[1].action, ImportAction::Add);
    assert!(matches!(plan.hosts[2].action, ImportAction::Invalid { .. }));
    // Once the tags are in, the same file changes nothing.
    let existing = vec![vm(7, "WEB01", &["mine", "web"], "keep me")];
    let found = ini("[web]\nweb01 ansible_host=10.0.0.1\n");
    let plan = ImportPlan::build("hosts".into(), found, &existing);
    assert_eq!(
        plan.hosts[0].action,
        ImportAction::Unchanged { id: VmId(7) }
    );
}

#[test]
fn export_round_trips_through_the_reader() {
    let mut bastion = vm(1, "bastion", &["infra"], "");
    bastion.host = "203.0.113.10".into();
    bastion.user = "jump".into();
    bastion.port = 2222;
    let mut db = vm(2, "db1", &["db", "prod-eu"], "");
    db.host = "10.0.1.1".into();
    db.user = "postgres".into();
    db.auth = AuthMethod::KeyFile;
    db.key_file = Some("~/.ssh/db".into());
    db.jump_host = Some("bastion,other.example:2200".into());
    let all = vec![bastion, db];
    let text = export(&all, &all);
    let hosts = yaml(&text);
    let db = find(&hosts, "db1");
    assert_eq!(db.host.as_deref(), Some("10.0.1.1"), "{text}");
    assert_eq!(db.port, None);
    assert_eq!(db.user.as_deref(), Some("postgres"));
    assert_eq!(db.key_file.as_deref(), Some("~/.ssh/db"));
    assert_eq!(
        db.jump.as_deref(),
        Some("jump@203.0.113.10:2222,other.example:2200")
    );
    assert_eq!(db.tags, tags(&["db", "prod-eu"]));
    assert_eq!(find(&hosts, "bastion").port, Some(2222));
    // Only the chosen VMs, their jump still resolved against everything.
    let text = export(&all[1..], &all);
    assert!(!text.contains("bastion:"), "{text}");
    assert!(text.contains("jump@203.0.113.10:2222"), "{text}");
}

#[test]
fn text_that_looks_like_jinja_is_exported_unsafe_and_read_back_as_itself() {
    let mut odd = vm(1, "odd", &[], "");
    odd.user = "{{u}}".into();
    odd.auth = AuthMethod::KeyFile;
    odd.key_file = Some("~/keys/{%raw%}".into());
    let text = export(&[odd.clone()], &[odd]);
    assert!(text.contains("!unsafe"), "{text}");
    let host = find(&yaml(&text), "odd").clone();
    assert_eq!(host.problem, None, "{text}");
    assert_eq!(host.user.as_deref(), Some("{{u}}"));
    assert_eq!(host.key_file.as_deref(), Some("~/keys/{%raw%}"));
    // Without the tag it is a template, which only Ansible can resolve.
    let templated = yaml("all:\n  hosts:\n    t:\n      ansible_user: \"{{ u }}\"\n");
    assert!(templated[0]
        .problem
        .as_deref()
        .unwrap_or_default()
        .contains("Jinja"));
}
