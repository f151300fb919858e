//! `vmo template …` and `vmo history` against real OpenSSH servers (vmo-testkit fleets),
//! each run with its own data directory, known_hosts and HOME.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::{Command, Output, Stdio};
use tempfile::TempDir;
use vmo_testkit::Fleet;

const VMO: &str = env!("CARGO_BIN_EXE_vmo");

struct Ctx {
    dir: TempDir,
}

impl Ctx {
    /// The fleet's hosts in the inventory (host0, host1, ...), their keys trusted.
    fn with_fleet(fleet: &Fleet) -> Ctx {
        let dir = tempfile::Builder::new()
            .prefix("vmo-template-test.")
            .tempdir()
            .unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::copy(fleet.known_hosts(), dir.path().join("known_hosts")).unwrap();
        let ctx = Ctx { dir };
        let config = fleet.ssh_config().to_str().unwrap().to_string();
        ctx.ok(&["vm", "import-ssh-config", &config]);
        ctx
    }

    fn run<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        Command::new(VMO)
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .arg("--known-hosts")
            .arg(self.dir.path().join("known_hosts"))
            .args(args)
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("VMO_DATA_DIR")
            .env_remove("RUST_LOG")
            .env("HOME", self.dir.path().join("home"))
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Runs and expects exit `code`; returns stdout.
    fn expect<S: AsRef<OsStr>>(&self, args: &[S], code: i32) -> (String, String) {
        let out = self.run(args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_string_lossy()).collect();
        assert_eq!(
            out.status.code(),
            Some(code),
            "vmo {shown:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        (stdout, stderr)
    }

    fn ok(&self, args: &[&str]) -> String {
        self.expect(args, 0).0
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    }
}

const PACK: &str = "vmo_templates: 1
templates:
  - name: echo-twice
    description: Says it twice
    tags: [demo]
    command: printf '%s|%s\\n' {{word}} {{word}}
    params:
      - name: word
        description: What to say
  - name: count-to
    command: seq 1 {{n:3}}
    params:
      - name: n
        type: integer
        min: 1
        max: 5
";

#[test]
fn templates_import_list_show_run_export_rm_and_history() {
    let fleet = Fleet::start(2);
    let ctx = Ctx::with_fleet(&fleet);
    let pack = ctx.file("pack.yaml", PACK);
    assert_eq!(
        ctx.ok(&["template", "import", &pack]),
        "imported 2 template(s): 2 added, 0 updated\n"
    );
    let list = ctx.ok(&["template", "list"]);
    assert!(
        list.contains("restart-service") && list.contains("starter"),
        "{list}"
    );
    assert!(
        list.contains("echo-twice") && list.contains("yours"),
        "{list}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ctx.ok(&["template", "list", "--json"])).unwrap();
    assert!(json.as_array().unwrap().len() >= 14);
    let show = ctx.ok(&["template", "show", "count-to"]);
    assert!(
        show.contains("{{n}}  integer, required, default \"3\", 1..5"),
        "{show}"
    );

    // A value full of shell syntax arrives as it is, on every host.
    let nasty = "it's $(id) `id`; *";
    let word = format!("word={nasty}");
    let out = ctx.ok(&["template", "run", "echo-twice", "--all", "--param", &word]);
    for host in ["host0", "host1"] {
        assert!(out.contains(&format!("{host}: {nasty}|{nasty}")), "{out}");
    }
    // Same output modes as `vmo exec`.
    let json = ctx.ok(&["template", "run", "count-to", "--vm", "host0", "--json"]);
    let host: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(host["stdout"], "1\n2\n3\n");

    // Problems all listed, exit 2, nothing run.
    let (_, err) = ctx.expect(
        &[
            "template", "run", "count-to", "--all", "--param", "n=9", "--param", "x=1",
        ],
        2,
    );
    assert!(err.contains("  n: must be between 1 and 5"), "{err}");
    assert!(err.contains("  x: "), "{err}");
    let (_, err) = ctx.expect(&["template", "run", "echo-twice", "--all"], 2);
    assert!(err.contains("  word: required"), "{err}");
    // A failing host: exit 1, like `vmo exec`.
    ctx.file("unused", "");
    let fail = ctx.file(
        "fail.yaml",
        "name: fail-here\ncommand: test {{x}} = ok\narguments:\n  - name: x\n",
    );
    ctx.ok(&["template", "import", &fail]);
    ctx.expect(&["template", "run", "fail-here", "--all", "-p", "x=no"], 1);
    // Dangerous templates ask for --yes.
    let (_, err) = ctx.expect(
        &[
            "template",
            "run",
            "restart-service",
            "--all",
            "-p",
            "unit=x.service",
        ],
        2,
    );
    assert!(err.contains("--yes"), "{err}");

    // History: template runs with their values, counts.
    let history = ctx.ok(&["history"]);
    assert!(history.contains("count-to n=3"), "{history}");
    assert!(history.contains("fail-here x=no"), "{history}");
    let json: serde_json::Value =
        serde_json::from_str(&ctx.ok(&["history", "--json", "--limit", "1"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 1);
    assert_eq!(json[0]["template"]["name"], "fail-here");
    // The job remembers too.
    let jobs = ctx.ok(&["job", "list", "--json"]);
    assert!(jobs.contains("\"template\""), "{jobs}");

    // Export, remove, import back.
    let exported = ctx.dir.path().join("out.yaml");
    let exported = exported.to_str().unwrap();
    ctx.ok(&["template", "export", "-o", exported]);
    ctx.ok(&["template", "rm", "echo-twice", "count-to"]);
    ctx.expect(&["template", "show", "echo-twice"], 2);
    ctx.expect(&["template", "rm", "uptime-load"], 2);
    assert_eq!(
        ctx.ok(&["template", "import", exported]),
        "imported 3 template(s): 2 added, 1 updated\n"
    );
}

#[test]
fn bad_files_are_refused_with_file_line_and_field() {
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    let good = ctx.file("good.cheat", "% x\n\n# List\nls <dir>\n");
    let bad = ctx.file("bad.cheat", "# Broken\necho <v>\n$ v no colon here\n");
    let (_, err) = ctx.expect(&["template", "import", &good, &bad], 2);
    assert!(err.contains("bad.cheat:3: variable: expected"), "{err}");
    // Nothing of the good file either.
    ctx.expect(&["template", "show", "list"], 2);
}

#[test]
fn a_non_utf8_path_value_reaches_the_host() {
    let fleet = Fleet::start(1);
    let ctx = Ctx::with_fleet(&fleet);
    let pack = ctx.file(
        "p.yaml",
        "vmo_templates: 1\ntemplates:\n  - name: show-path\n    command: printf %s {{p}}\n    params:\n      - name: p\n        type: path\n",
    );
    ctx.ok(&["template", "import", &pack]);
    let mut param = b"p=/tmp/caf\xe9 'x'".to_vec();
    let value = param.split_off(2);
    let arg = OsStr::from_bytes(&[b"p=".as_slice(), &value].concat()).to_owned();
    let args: Vec<&OsStr> = [
        OsStr::new("template"),
        OsStr::new("run"),
        OsStr::new("show-path"),
        OsStr::new("--all"),
        OsStr::new("--param"),
        &arg,
    ]
    .to_vec();
    let out = ctx.run(&args);
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    assert_eq!(out.stdout, [b"host0: ".as_slice(), &value, b"\n"].concat());
}
