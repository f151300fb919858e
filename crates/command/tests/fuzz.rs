//! Property tests of template rendering: a parameter value never injects shell syntax. For
//! templates that place a value in every quoting context (unquoted, '…', "…", `$(…)`,
//! backquotes, here-documents, comments, after a `$`), any value either is refused by
//! validation or reaches the command as exactly itself, checked by running the rendered
//! command through real shells (dash and bash) and, for UTF-8, by a shell-word parser.
//! The importers (packs, Warp, navi) take any text without panicking. A short run by
//! default; `PROPTEST_CASES=100000 cargo test -p vmo-command --test fuzz` runs the long one
//! (see "Fuzzing" in README.md).

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::process::{Command, Stdio};
use vmo_command::{render, Template, Value, Values};

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

/// Templates with the value `{{v}}` in every context, and what each prints: `{v}` stands for
/// the value.
const TEMPLATES: &[(&str, &str)] = &[
    ("printf '%s' {{v}}", "{v}"),
    ("printf '%s' \"{{v}}\"", "{v}"),
    ("printf '%s' '{{v}}'", "{v}"),
    ("printf '%s' pre{{v}}post", "pre{v}post"),
    ("printf '%s' \"a{{v}}b\"", "a{v}b"),
    ("printf '%s' 'it''{{v}}'", "it{v}"),
    (
        "x=$(printf '%s' {{v}}; printf x); printf '%s' \"$x\"",
        "{v}x",
    ),
    (
        "x=$(printf '%s' \"{{v}}\"; printf x); printf '%s' \"$x\"",
        "{v}x",
    ),
    (
        "x=`printf '%s' {{v}}; printf x`; printf '%s' \"$x\"",
        "{v}x",
    ),
    (
        "x=`printf '%s' '{{v}}'; printf x`; printf '%s' \"$x\"",
        "{v}x",
    ),
    ("printf '%s' \"`printf '%s' \"{{v}}\"; printf x`\"", "{v}x"),
    (
        "printf '%s' \"$(printf '%s' \"`printf '%s' {{v}}; printf y`\"; printf x)\"",
        "{v}yx",
    ),
    ("f() { printf '%s' \"$1\"; }; f {{v}}", "{v}"),
    ("case {{v}} in *) printf '%s' {{v}};; esac", "{v}"),
    ("printf '%s' {{v}} | cat", "{v}"),
    ("printf '%s' ok # {{v}}\n", "ok"),
    ("printf '%s' ok; # {{v}}\nprintf '%s' {{v}}", "ok{v}"),
    ("cat <<EOF\n{{v}}\nEOF", "{v}\n"),
    ("cat <<'EOF'\n{{v}}\nEOF", "{v}\n"),
    ("cat <<-EOF; printf '%s' {{v}}\n\tbody\n\tEOF", "body\n{v}"),
    ("cat <<EOF\nbody\nEOF\nprintf '%s' {{v}}", "body\n{v}"),
    ("printf '%s' ${{v}}", "${v}"),
    ("printf '%s' \"${{v}}\"", "${v}"),
    ("printf '%s' '${{v}}'", "${v}"),
    ("printf '%s' a#{{v}}", "a#{v}"),
];

/// Values as an attacker would type them: shell syntax of every kind, line breaks, the
/// here-document's own delimiter, bytes that are not UTF-8. Never a NUL (refused).
fn value() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        4 => prop::sample::select(vec![
            "'", "\"", "\\", "$", "`", "$(id)", "`id`", "\n", "\nEOF\n", "EOF", "\tEOF", ")", "(",
            "}", "{", ";", "&", "|", "#", " ", "*", "?", "~", "!", "%s", "\r", "\t", "'\\''",
            "\"$(printf x)\"", "${HOME}", "{HOME}", "(echo INJECTED)", "$((1+1))", "\\n", "\\'",
            "'; echo INJECTED; '", "\"; echo INJECTED; \"", "`echo INJECTED`", "\n echo INJECTED\n",
            "-n", "--", "=", "ü", "€",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(1u8.., 1..4),
        1 => "[a-z0-9 ]{1,6}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 1..8).prop_map(|pieces| pieces.concat())
}

/// What `shell -c command` prints on stdout (stdin empty, at most 10 s).
fn run(shell: &str, command: &str) -> Vec<u8> {
    let output = Command::new("timeout")
        .args(["10", shell, "-c", command])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .expect("the shell runs");
    output.stdout
}

fn values_of(value: &[u8]) -> Values {
    let mut values = Values::new();
    values.insert("v".into(), Value::from_bytes(value.to_vec()));
    values
}

proptest! {
    #![proptest_config(config(192))]

    /// Rendered for real shells: the value comes out exactly, or the template is refused.
    #[test]
    fn a_value_reaches_the_command_exactly_or_is_refused(
        template in prop::sample::select(TEMPLATES),
        value in value(),
    ) {
        let (command, printed) = template;
        let Ok(rendered) = render(&Template::new("t", command), &values_of(&value)) else {
            return Ok(());
        };
        prop_assert!(!rendered.command.contains('\0'));
        let (before, after) = printed.split_once("{v}").unwrap_or((printed, ""));
        let value_printed: &[u8] = if printed.contains("{v}") { &value } else { b"" };
        let expected = [before.as_bytes(), value_printed, after.as_bytes()].concat();
        for shell in ["dash", "bash"] {
            let printed = run(shell, &rendered.command);
            prop_assert_eq!(
                String::from_utf8_lossy(&printed),
                String::from_utf8_lossy(&expected),
                "{} ran {:?}",
                shell,
                rendered.command
            );
        }
    }

    /// A UTF-8 value outside quotes, in '…' or in "…" is exactly one shell word.
    #[test]
    fn a_value_is_one_shell_word(value in value().prop_filter_map("UTF-8", |v| String::from_utf8(v).ok())) {
        for command in ["printf %s {{v}} end", "printf %s \"{{v}}\" end", "printf %s '{{v}}' end"] {
            let rendered = render(&Template::new("t", command), &values_of(value.as_bytes()));
            prop_assert!(rendered.is_ok(), "{:?}", rendered);
            let rendered = rendered.map(|r| r.command).unwrap_or_default();
            let words = shell_words::split(&rendered);
            prop_assert_eq!(words, Ok(vec!["printf".to_string(), "%s".into(), value.clone(), "end".into()]));
        }
    }

    /// Any command text: parsing and validation never panic, and whatever validates
    /// renders with any value.
    #[test]
    fn any_template_validates_or_says_why(command in "[a-z {}:$()`'\"\\\\#<>|;\n-]{0,40}", value in value()) {
        let template = Template::new("t", command);
        if template.validate().is_ok() {
            let mut values = Values::new();
            for param in template.params() {
                values.insert(param.name, Value::from_bytes(value.clone()));
            }
            prop_assert!(render(&template, &values).is_ok());
        }
    }

    /// Packs, Warp workflows and navi cheats of any text import or fail with an error
    /// naming the file; what they import renders or says why, with any value.
    #[test]
    fn importers_take_any_text(text in any::<String>(), yaml in yaml_like(), value in value()) {
        for name in ["pack.yaml", "workflow.yml", "cheats.cheat"] {
            for input in [&text, &yaml] {
                match vmo_command::import::read(name, input) {
                    Ok(templates) => {
                        for template in templates {
                            let mut values = Values::new();
                            for param in template.params() {
                                values.insert(param.name, Value::from_bytes(value.clone()));
                            }
                            let _ = render(&template, &values);
                        }
                    }
                    Err(e) => prop_assert!(e.to_string().contains(name), "{}", e),
                }
            }
        }
    }
}

fn yaml_like() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            0usize..3,
            prop::sample::select(vec![
                "name",
                "command",
                "templates",
                "params",
                "arguments",
                "tags",
                "default_value",
                "description",
                "type",
                "choices",
                "- name",
                "%",
                "$",
                "#",
                "- ",
                "vmo_templates",
                "- command",
            ]),
            "[a-z{}: '\"$-]{0,12}",
        ),
        0..16,
    )
    .prop_map(|lines| {
        lines
            .into_iter()
            .map(|(d, k, v)| format!("{}{k}: {v}\n", "  ".repeat(d)))
            .collect()
    })
}
