//! The command module against real OpenSSH servers on 127.0.0.1 and a real SQLite file:
//! quoting checked byte for byte on the host, suggestions from the host, templates
//! through jobs and history, files in and out.

mod common;

use common::fleet_setup;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vmo_engine::commands::{Item, ItemKind, Param, ParamType, Template, Value, Values};
use vmo_engine::jobs::{JobOptions, JobState, Origin};
use vmo_engine::ssh::{run_host, HostOutcome, Output, RunEnd, Target};
use vmo_engine::{Commands, Engine, ErrorCode, JobEvent, Paths};
use vmo_testkit::Fleet;

/// Runs `command` on `target` over the pool: (exit code, stdout bytes).
async fn exec(engine: &Engine, target: &Target, command: &str) -> (u32, Vec<u8>) {
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let collect = async {
        let mut out = Vec::new();
        while let Some(o) = rx.recv().await {
            if let Output::Stdout(d) = o {
                out.extend_from_slice(&d);
            }
        }
        out
    };
    let run = run_host(
        engine.ssh().pool(),
        target,
        command,
        Some(Duration::from_secs(20)),
        &cancel,
        tx,
    );
    let ((outcome, _), out) = tokio::join!(run, collect);
    match outcome {
        HostOutcome::Ran {
            end: RunEnd::Exited { code },
        } => (code, out),
        other => panic!("{command:?} did not run: {other:?}"),
    }
}

/// A small seeded generator (xorshift), so a failure is reproducible from its case number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Values built from what breaks naive quoting: quotes, substitutions, separators,
/// newlines, globs, leading dashes, backslashes, UTF-8, and (when `bytes`) invalid UTF-8.
fn nasty_value(rng: &mut Rng, bytes: bool) -> Vec<u8> {
    const PIECES: &[&str] = &[
        "'",
        "\"",
        "'\\''",
        "$(id)",
        "`id`",
        "${HOME}",
        "$HOME",
        ";",
        "&&",
        "|",
        "\n",
        "\r\n",
        "\t",
        " ",
        "*",
        "?",
        "[a-z]",
        "~",
        "-n",
        "--",
        "-e",
        "\\",
        "\\n",
        "%s",
        "%%",
        "!",
        "#",
        "(",
        ")",
        "{",
        "}",
        "<",
        ">",
        ">&2",
        "=",
        "é",
        "日本",
        "🙂",
        "a",
        "word",
        "x y",
        "'$(rm -rf /)'",
        "\"$(printf x)\"",
        "$((1+1))",
        "\\'",
        "''",
        "\"\"",
    ];
    let mut out = Vec::new();
    let parts = rng.below(8);
    for _ in 0..parts {
        if bytes && rng.below(5) == 0 {
            // Invalid UTF-8: a lone continuation byte, a truncated sequence, 0xff.
            let bad: &[&[u8]] = &[b"\x80", b"\xc3", b"\xff\xfe", b"\xe6\x97", b"\xed\xa0\x80"];
            out.extend_from_slice(bad[rng.below(bad.len())]);
        } else {
            out.extend_from_slice(PIECES[rng.below(PIECES.len())].as_bytes());
        }
    }
    // Leading dashes now and then.
    if rng.below(6) == 0 {
        let mut dashed = b"-".to_vec();
        dashed.extend(out);
        out = dashed;
    }
    out
}

#[tokio::test]
async fn every_value_arrives_on_the_host_byte_for_byte() {
    let fleet = Fleet::start(1);
    let s = fleet_setup(&fleet).await;
    let all = s.engine.inventory().list().await.unwrap();
    let vm = all.iter().find(|v| v.id == s.vms[0]).unwrap();
    let target = vmo_engine::resolve_target(vm, &all).unwrap();
    // The same value through each quoting context a template may put it in.
    let shapes: [(&str, &[u8], &[u8]); 4] = [
        ("printf %s {{v}}", b"", b""),
        ("printf %s \"{{v}}\"", b"", b""),
        ("printf %s 'x{{v}}y'", b"x", b"y"),
        ("printf %s \"$(printf %s {{v}})\"z", b"", b"z"),
    ];
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let cases = 200;
    for case in 0..cases {
        let (shape, before, after) = shapes[case % shapes.len()];
        let kind = [ParamType::Text, ParamType::Path][case % 2];
        let value = nasty_value(&mut rng, true);
        let template = Template {
            declared: vec![Param {
                kind,
                required: false,
                ..Param::text("v")
            }],
            ..Template::new("t", shape)
        };
        let values: Values = [("v".to_string(), Value::from_bytes(value.clone()))].into();
        let rendered = vmo_engine::commands::model::render(&template, &values)
            .unwrap_or_else(|p| panic!("case {case}: {p}"));
        let (code, out) = exec(&s.engine, &target, &rendered.command).await;
        // `$(…)` drops trailing newlines: that shape's expectation does the same.
        let mut expected = value.clone();
        if shape.contains("$(printf") {
            while expected.last() == Some(&b'\n') {
                expected.pop();
            }
        }
        let expected = [before, &expected[..], after].concat();
        assert_eq!(
            (code, &out),
            (0, &expected),
            "case {case}: value {:?} rendered as {:?}",
            Value::from_bytes(value),
            rendered.command
        );
    }
    // One connection served them all.
    assert_eq!(s.engine.ssh().pool().connections_opened(), 1);
}

#[tokio::test]
async fn a_nul_and_bad_values_are_refused_all_at_once_naming_each_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::new(dir.path())).await.unwrap();
    let mut t = Template::new("check", "x {{n}} {{p}} {{c}} {{missing}}");
    t.declared = vec![
        Param {
            kind: ParamType::Integer,
            min: Some(1),
            max: Some(5),
            ..Param::text("n")
        },
        Param {
            kind: ParamType::Path,
            ..Param::text("p")
        },
        Param {
            kind: ParamType::Choice,
            choices: vec!["a".into()],
            ..Param::text("c")
        },
    ];
    engine.commands().create(t).await.unwrap();
    let values: Values = [
        ("n".to_string(), Value::from("9")),
        ("p".to_string(), Value::from_bytes(b"/tmp/\0x".to_vec())),
        ("c".to_string(), Value::from("b")),
    ]
    .into();
    let err = engine
        .commands()
        .render("check", &values)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert_eq!(err.field("values.n"), Some("must be between 1 and 5"));
    assert!(err.field("values.p").unwrap().contains("NUL"), "{err:?}");
    assert!(err.field("values.c").is_some());
    assert_eq!(err.field("values.missing"), Some("required"));
    assert_eq!(err.fields.len(), 4);
    // A bad definition is refused with its fields too.
    let mut bad = Template::new("", "echo {{a}}");
    bad.declared = vec![Param::text("b")];
    let err = engine.commands().create(bad).await.unwrap_err();
    assert!(err.field("name").is_some() && err.field("params.b").is_some());
}

#[tokio::test]
async fn templates_crud_starters_read_only_import_export_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::new(dir.path())).await.unwrap();
    let c = engine.commands();
    let mut events = c.subscribe();
    let starters = c.list().await.unwrap();
    assert!(starters.iter().all(|e| e.starter) && starters.len() >= 12);
    assert_eq!(
        c.delete("restart-service").await.unwrap_err().code,
        ErrorCode::Conflict
    );
    let copy = c.duplicate("restart-service").await.unwrap();
    assert_eq!(copy.template.name, "restart-service-copy");
    assert!(!copy.starter);
    assert!(matches!(
        events.recv().await.unwrap(),
        vmo_engine::CommandEvent::Created { .. }
    ));
    let dup = c
        .create(Template::new("Restart-Service-COPY", "x"))
        .await
        .unwrap_err();
    assert_eq!(dup.code, ErrorCode::Conflict);

    // Warp and navi files as found, one transaction.
    let warp = "name: Find big files\ncommand: du -ah {{dir}} | sort -rh | head -n {{count}}\ntags: [disk]\narguments:\n  - name: dir\n    default_value: /var\n  - name: count\n    default_value: 20\nauthor: someone\n";
    let navi = "% systemd\n\n# Unit logs\njournalctl -u <unit> -n 50\n$ unit: systemctl list-units --plain --no-legend | awk '{print $1}'\n";
    let done = c
        .import_texts(&[
            ("big.yaml".into(), warp.into()),
            ("sd.cheat".into(), navi.into()),
        ])
        .await
        .unwrap();
    assert_eq!((done.added, done.updated), (2, 0));
    let unit_logs = c.get("unit-logs").await.unwrap().template;
    assert!(unit_logs.declared[0].suggest.is_some());
    let big = c.get("find big files").await.unwrap().template;
    assert_eq!(big.declared[1].default.as_deref(), Some("20"));

    // A bad file among good ones: refused with file, line, field; nothing imported.
    let before = c.list().await.unwrap().len();
    let bad = "vmo_templates: 1\ntemplates:\n  - name: ok\n    command: echo\n  - name: broken\n    command: echo {{x}}\n    params:\n      - name: x\n        type: integer\n        min: nope\n";
    let err = c
        .import_texts(&[
            ("good.cheat".into(), navi.replace("Unit logs", "Other")),
            ("bad.yaml".into(), bad.into()),
        ])
        .await
        .unwrap_err();
    assert!(
        err.message
            .starts_with("bad.yaml:10: templates[1].params[0].min:"),
        "{}",
        err.message
    );
    assert_eq!(c.list().await.unwrap().len(), before);

    // Export, change, re-import: updated by name, not duplicated.
    let yaml = c.export(None).await.unwrap();
    let changed = yaml.replace("head -n {{count}}", "head -n {{count}} -q");
    let again = c
        .import_texts(&[("pack.yaml".into(), changed)])
        .await
        .unwrap();
    assert_eq!((again.added, again.updated), (0, 3));
    assert!(c
        .get("Find big files")
        .await
        .unwrap()
        .template
        .command
        .ends_with("-q"));
    assert_eq!(c.list().await.unwrap().len(), before);
    let reexported = c.export(None).await.unwrap();
    let back = vmo_engine::commands::model::pack::from_yaml("x", &reexported).unwrap();
    assert_eq!(back.len(), 3);
}

#[tokio::test]
async fn suggestions_come_from_the_host_with_cache_timeout_and_failure() {
    let fleet = Fleet::start(1);
    let s = fleet_setup(&fleet).await;
    let c = s.engine.commands();
    let mut t = Template::new("pick", "echo {{a}} {{slow}} {{bad}} {{masked}}");
    t.declared = vec![
        Param {
            suggest: Some("printf 'b\\na\\n\\nb\\n'; echo ran >> /tmp/vmo-suggest-$PPID".into()),
            ..Param::text("a")
        },
        Param {
            suggest: Some("sleep 5".into()),
            ..Param::text("slow")
        },
        Param {
            suggest: Some("echo 'no such thing' >&2; exit 3".into()),
            ..Param::text("bad")
        },
        // A pipeline whose first command fails still exits 0.
        Param {
            suggest: Some("{ echo 'not booted with systemd' >&2; } | awk '{print $1}'".into()),
            ..Param::text("masked")
        },
    ];
    c.create(t).await.unwrap();
    c.set_suggest_limits(Duration::from_millis(1500), Duration::from_millis(800));
    let vm = s.vms[0];
    let first = c.suggest("pick", "a", vm).await.unwrap();
    assert_eq!(first.choices, ["b", "a"]);
    assert!(!first.cached);
    assert_eq!(first.vm, "host0");
    let second = c.suggest("pick", "a", vm).await.unwrap();
    assert!(second.cached, "asked again within the TTL: from the cache");
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(!c.suggest("pick", "a", vm).await.unwrap().cached);

    let started = std::time::Instant::now();
    let slow = c.suggest("pick", "slow", vm).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(slow.code, ErrorCode::Ssh);
    assert!(
        slow.message.contains("no answer within 1.5 s"),
        "{}",
        slow.message
    );
    let bad = c.suggest("pick", "bad", vm).await.unwrap_err();
    assert_eq!(
        bad.message,
        "the suggest command failed on host0: exit status 3: no such thing"
    );
    let masked = c.suggest("pick", "masked", vm).await.unwrap_err();
    assert_eq!(
        masked.message,
        "the suggest command failed on host0: no choices; it said: not booted with systemd"
    );
    // The starter's units come from the host, or its complaint does (no systemd here).
    match c.suggest("restart-service", "unit", vm).await {
        Ok(units) => assert!(
            !units.choices.is_empty() && units.choices.iter().all(|u| u.ends_with(".service")),
            "{:?}",
            units.choices
        ),
        Err(e) => assert!(e.message.contains("no choices; it said:"), "{}", e.message),
    }
}

#[tokio::test]
async fn a_template_job_records_its_values_history_counts_and_rerun_keeps_them() {
    let fleet = Fleet::start(2);
    let s = fleet_setup(&fleet).await;
    let c = s.engine.commands();
    let mut t = Template::new("greet", "echo hello {{who}} {{times:1}}");
    t.declared = vec![Param {
        kind: ParamType::Integer,
        ..Param::text("times")
    }];
    c.create(t).await.unwrap();
    let values: Values = [("who".to_string(), Value::from("ops team"))].into();
    let rendered = c.render("greet", &values).await.unwrap();
    assert_eq!(rendered.command, "echo hello 'ops team' '1'");
    let mut events = s.engine.jobs().subscribe();
    let spec = Commands::job_spec(
        rendered,
        s.vms.clone(),
        "2 VMs".into(),
        JobOptions::default(),
        Origin::App,
    );
    let job = s.engine.jobs().submit(spec).await.unwrap();
    assert_eq!(
        job.template.as_ref().unwrap().to_string(),
        "greet times=1 who='ops team'"
    );
    loop {
        match tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .unwrap()
        {
            Ok(JobEvent::Finished { job: j, .. }) if j.id == job.id => {
                assert_eq!(j.state, JobState::Succeeded);
                break;
            }
            _ => {}
        }
    }
    let listed = s.engine.jobs().list(&Default::default()).await.unwrap();
    assert_eq!(listed[0].template, job.template);
    let rerun = s
        .engine
        .jobs()
        .rerun_spec(job.id, false, Origin::Cli)
        .await
        .unwrap();
    assert_eq!(rerun.template, job.template);
    s.engine.jobs().submit(rerun).await.unwrap();
    // An ad hoc command is history too.
    let adhoc = vmo_engine::jobs::JobSpec {
        command: "uptime".into(),
        targets: vec![s.vms[0]],
        target_label: "host0".into(),
        options: JobOptions::default(),
        origin: Origin::Cli,
        retry_of: None,
        template: None,
    };
    s.engine.jobs().submit(adhoc).await.unwrap();
    let history = c.history(10).await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].command, "uptime");
    assert!(history[0].template.is_none());
    assert_eq!(history[1].count, 2);
    assert_eq!(
        history[1].template.as_ref().unwrap().to_string(),
        "greet times=1 who='ops team'"
    );
    // Frecent: the one run twice comes first.
    assert_eq!(c.frecent(1).await.unwrap()[0].count, 2);

    // The palette finds templates, history, VMs, tags and the caller's items.
    let extra = vec![Item::new(ItemKind::Screen, "/jobs", "Jobs")];
    let hits = c.search("host1", extra.clone(), 5).await.unwrap();
    assert_eq!(hits[0].item.kind, ItemKind::Vm);
    assert_eq!(hits[0].item.key, s.vms[1].0.to_string());
    // The template and its run in history (boosted by frecency) come first.
    let hits = c.search("grt", extra.clone(), 5).await.unwrap();
    let top: Vec<(ItemKind, &str)> = hits[..2]
        .iter()
        .map(|h| (h.item.kind, h.item.label.as_str()))
        .collect();
    assert!(top.contains(&(ItemKind::Template, "greet")), "{top:?}");
    assert!(
        top.contains(&(ItemKind::History, "greet times=1 who='ops team'")),
        "{top:?}"
    );
    assert!(c
        .search("jobs", extra, 5)
        .await
        .unwrap()
        .iter()
        .any(|h| h.item.kind == ItemKind::Screen));
}
