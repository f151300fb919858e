//! Values checked against their parameters and substituted, quoted, into the command.

use crate::placeholder::{parse_command, Piece};
use crate::problem::{Problem, Problems};
use crate::quote::{in_backquotes, quote_in};
use crate::template::{Param, ParamType, Template};
use crate::value::{Value, Values};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A command ready to send, and what it was made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The exact text sent as the SSH exec string (always valid UTF-8: bytes that are not
    /// are written as printf escapes).
    pub command: String,
    /// The template and the values used (defaults included), for the job and history.
    pub run: TemplateRun,
}

/// Which template a job came from, with its parameter values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRun {
    pub name: String,
    #[serde(default)]
    pub params: Values,
}

/// `restart-service unit=nginx`, as history shows it.
impl fmt::Display for TemplateRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            write!(f, " {name}={value}")?;
        }
        Ok(())
    }
}

/// Checks every value (all problems at once, field `values.<param>`) and renders the
/// command. Values for unknown parameters are refused too, so a typo is not silently
/// dropped. The template's own definition must be valid.
pub fn render(template: &Template, values: &Values) -> Result<Rendered, Problems> {
    template.validate()?;
    let params = template.params();
    let mut problems = Vec::new();
    for name in values.keys() {
        if !params.iter().any(|p| p.name == *name) {
            problems.push(Problem::new(
                format!("values.{name}"),
                format!("{:?} has no parameter {name:?}", template.name),
            ));
        }
    }
    let mut resolved = Values::new();
    for param in &params {
        let field = format!("values.{}", param.name);
        let given = values
            .get(&param.name)
            .cloned()
            .or_else(|| param.default.clone().map(Value::from));
        let Some(value) = given else {
            if param.required {
                problems.push(Problem::new(field, "required"));
            } else {
                resolved.insert(param.name.clone(), Value::default());
            }
            continue;
        };
        if value.is_empty() && !param.required {
            resolved.insert(param.name.clone(), value);
            continue;
        }
        match check_value(param, value.as_bytes()) {
            Ok(normal) => {
                resolved.insert(param.name.clone(), normal.map(Value::from).unwrap_or(value));
            }
            Err(message) => problems.push(Problem::new(field, message)),
        }
    }
    Problems(problems).into_result()?;
    let mut command = String::with_capacity(template.command.len());
    for piece in parse_command(&template.command) {
        match piece {
            Piece::Literal(text) => command.push_str(&text),
            Piece::Placeholder {
                name,
                context,
                backquotes,
                ..
            } => {
                let value = resolved.get(&name).map(Value::as_bytes).unwrap_or_default();
                command.push_str(&in_backquotes(quote_in(context, value), backquotes));
            }
        }
    }
    Ok(Rendered {
        command,
        run: TemplateRun {
            name: template.name.clone(),
            params: resolved,
        },
    })
}

/// Whether `value` suits `param`: `Err` says why not in the user's words; `Ok(Some)` is a
/// normal form to use instead (booleans).
pub(crate) fn check_value(param: &Param, value: &[u8]) -> Result<Option<String>, String> {
    if value.contains(&0) {
        return Err(format!(
            "{:?} contains a NUL byte, which no remote command can receive",
            param.name
        ));
    }
    let text = std::str::from_utf8(value);
    match param.kind {
        ParamType::Text | ParamType::Path => {
            if param.required && value.is_empty() {
                return Err("required".into());
            }
            Ok(None)
        }
        ParamType::Integer => {
            let text = text.map_err(|_| "not a whole number".to_string())?;
            let n: i64 = text
                .trim()
                .parse()
                .map_err(|_| format!("{text:?} is not a whole number"))?;
            match (param.min, param.max) {
                (Some(min), Some(max)) if n < min || n > max => {
                    Err(format!("must be between {min} and {max}"))
                }
                (Some(min), _) if n < min => Err(format!("must be at least {min}")),
                (_, Some(max)) if n > max => Err(format!("must be at most {max}")),
                _ => Ok(Some(n.to_string())),
            }
        }
        ParamType::Boolean => {
            let text = text.map_err(|_| "true or false".to_string())?;
            match text.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "1" | "on" => Ok(Some("true".into())),
                "false" | "no" | "0" | "off" => Ok(Some("false".into())),
                _ => Err(format!("{text:?}: true or false")),
            }
        }
        ParamType::Choice => {
            let text = text.map_err(|_| "not one of the choices".to_string())?;
            if text.is_empty() {
                return Err("choose one".into());
            }
            // Suggested choices come from the hosts; only a static list is a rule.
            if !param.choices.is_empty() && !param.choices.iter().any(|c| c == text) {
                return Err(format!(
                    "{text:?} is not one of: {}",
                    param.choices.join(", ")
                ));
            }
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect()
    }

    #[test]
    fn renders_quoted_values_and_defaults() {
        let t = Template::new("tail", "tail -n {{lines:100}} {{path}}");
        let r = render(&t, &values(&[("path", "/var/log/a b.log")])).unwrap();
        assert_eq!(r.command, "tail -n '100' '/var/log/a b.log'");
        assert_eq!(r.run.to_string(), "tail lines=100 path='/var/log/a b.log'");
    }

    #[test]
    fn all_value_problems_at_once() {
        let mut t = Template::new("t", "x {{n}} {{c}} {{b}} {{req}} {{p}}");
        t.declared = vec![
            Param {
                kind: ParamType::Integer,
                min: Some(1),
                max: Some(10),
                ..Param::text("n")
            },
            Param {
                kind: ParamType::Choice,
                choices: vec!["a".into(), "b".into()],
                ..Param::text("c")
            },
            Param {
                kind: ParamType::Boolean,
                ..Param::text("b")
            },
            Param::text("req"),
            Param {
                kind: ParamType::Path,
                ..Param::text("p")
            },
        ];
        let mut given = values(&[("n", "11"), ("c", "z"), ("b", "maybe"), ("typo", "1")]);
        given.insert("p".into(), Value::from_bytes(b"a\0b".to_vec()));
        let problems = render(&t, &given).unwrap_err();
        assert_eq!(problems.field("values.n"), Some("must be between 1 and 10"));
        assert!(problems.field("values.c").unwrap().contains("not one of"));
        assert!(problems
            .field("values.b")
            .unwrap()
            .contains("true or false"));
        assert_eq!(problems.field("values.req"), Some("required"));
        assert!(problems.field("values.p").unwrap().contains("NUL"));
        assert!(problems.field("values.typo").is_some());
        assert_eq!(problems.0.len(), 6);
    }

    #[test]
    fn optional_values_render_empty_and_booleans_normalise() {
        let mut t = Template::new("t", "x {{o}} {{b}}");
        t.declared = vec![
            Param {
                required: false,
                ..Param::text("o")
            },
            Param {
                kind: ParamType::Boolean,
                ..Param::text("b")
            },
        ];
        let r = render(&t, &values(&[("b", "yes")])).unwrap();
        assert_eq!(r.command, "x '' 'true'");
    }

    #[test]
    fn values_inside_backquotes_get_a_backslash_more() {
        let t = Template::new("t", "x=`echo {{v}}`");
        let r = render(&t, &values(&[("v", "`reboot`$(id)\\")])).unwrap();
        assert_eq!(r.command, "x=`echo '\\`reboot\\`\\$(id)\\\\'`");
    }

    #[test]
    fn places_where_no_quoting_works_are_refused() {
        for (command, says) in [
            ("echo ok # {{v}}", "in a # comment"),
            ("cat <<EOF\n{{v}}\nEOF", "here-document"),
            ("cat <<'EOF'\n{{v}}\nEOF", "here-document"),
            ("cat <<{{v}}\nEOF", "here-document"),
            ("echo ${{v}}", "remove the $"),
            ("echo \"${{v}}\"", "remove the $"),
            ("echo $(( {{v}} + 1 ))", "$(( ))"),
        ] {
            let problems =
                render(&Template::new("t", command), &values(&[("v", "x")])).unwrap_err();
            let message = problems.field("command").unwrap_or_default();
            assert!(message.contains(says), "{command:?}: {message}");
        }
        // Not comments, not here-documents: a # inside a word, a here-string, a shift.
        for command in [
            "echo a#{{v}}",
            "cat <<< {{v}}",
            "echo $((1 << 2)) {{v}}",
            "echo '${{v}}'",
        ] {
            assert!(
                render(&Template::new("t", command), &values(&[("v", "x")])).is_ok(),
                "{command:?}"
            );
        }
        // After the here-document's end, a value is quoted as anywhere else.
        let r = render(
            &Template::new("t", "cat <<-E\n\tbody\n\tE\necho {{v}}"),
            &values(&[("v", "a b")]),
        );
        assert_eq!(r.unwrap().command, "cat <<-E\n\tbody\n\tE\necho 'a b'");
    }

    #[test]
    fn quotes_follow_the_context() {
        let t = Template::new("t", r#"grep "{{p}}" '{{q}}'"#);
        let r = render(&t, &values(&[("p", "$(id)"), ("q", "it's")])).unwrap();
        assert_eq!(r.command, r#"grep "\$(id)" '''it'\''s'''"#);
    }
}
