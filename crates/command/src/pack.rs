//! A pack of templates as YAML: what export writes and import reads back.
//!
//! ```yaml
//! vmo_templates: 1
//! templates:
//!   - name: restart-service
//!     command: sudo systemctl restart {{unit}}
//!     params:
//!       - name: unit
//!         suggest: systemctl list-units --type=service --no-legend --plain | awk '{print $1}'
//! ```

use crate::problem::ImportError;
use crate::template::Template;
use serde::{Deserialize, Serialize};

/// The format version written and accepted.
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Pack {
    vmo_templates: u32,
    #[serde(default)]
    templates: Vec<Template>,
}

/// `templates` as a pack.
pub fn to_yaml(templates: &[Template]) -> Result<String, String> {
    let pack = Pack {
        vmo_templates: VERSION,
        templates: templates.to_vec(),
    };
    yaml_serde::to_string(&pack)
        .map(|yaml| format!("# VM Orchestrator command templates\n{yaml}"))
        .map_err(|e| format!("cannot write the pack: {e}"))
}

/// Reads a pack; every template must be valid and names unique, or nothing is returned.
pub fn from_yaml(file: &str, text: &str) -> Result<Vec<Template>, ImportError> {
    let pack: Pack = parse_yaml(file, text)?;
    if pack.vmo_templates != VERSION {
        return Err(ImportError {
            file: file.into(),
            line: line_of(text, "vmo_templates:"),
            field: "vmo_templates".into(),
            message: format!(
                "version {} is not one this program reads ({VERSION})",
                pack.vmo_templates
            ),
        });
    }
    let lines = item_lines(text, "templates:");
    check_all(file, &pack.templates, |i| {
        (
            lines.get(i).copied().unwrap_or(0),
            format!("templates[{i}]"),
        )
    })?;
    Ok(pack.templates)
}

/// Deserializes YAML, naming the line and the field path of the first error.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<T, ImportError> {
    let deserializer = yaml_serde::Deserializer::from_str(text);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        ImportError {
            file: file.into(),
            line: inner.location().map_or(0, |l| l.line()),
            field: if field == "." { String::new() } else { field },
            message: strip_location(&inner.to_string()),
        }
    })
}

/// "missing field `x` at line 3 column 1" → "missing field `x`" (the line is said apart).
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_string(),
        None => message.to_string(),
    }
}

/// Validates every template and checks names are unique (case-insensitive); the first
/// problem is reported with `place(i)` = (line, field prefix) of template `i`.
pub(crate) fn check_all(
    file: &str,
    templates: &[Template],
    place: impl Fn(usize) -> (usize, String),
) -> Result<(), ImportError> {
    for (i, template) in templates.iter().enumerate() {
        let (line, prefix) = place(i);
        if let Err(problems) = template.validate() {
            let first = problems.0.first().cloned();
            let (field, message) = first.map_or_else(
                || (String::new(), problems.to_string()),
                |p| (p.field, p.message),
            );
            return Err(ImportError {
                file: file.into(),
                line,
                field: format!("{prefix}.{field}"),
                message,
            });
        }
        let lower = template.name.to_lowercase();
        if templates[..i]
            .iter()
            .any(|t| t.name.to_lowercase() == lower)
        {
            return Err(ImportError {
                file: file.into(),
                line,
                field: format!("{prefix}.name"),
                message: format!("{:?} appears twice in this file", template.name),
            });
        }
    }
    Ok(())
}

/// 1-based line of the first line starting (after spaces) with `key`; 0 if none.
pub(crate) fn line_of(text: &str, key: &str) -> usize {
    text.lines()
        .position(|l| l.trim_start().starts_with(key))
        .map_or(0, |i| i + 1)
}

/// 1-based lines where the items of the sequence under `key` start (`- ` at the first
/// item's indentation). Without `key` (a top-level sequence), from the start.
pub(crate) fn item_lines(text: &str, key: &str) -> Vec<usize> {
    let start = if key.is_empty() {
        0
    } else {
        line_of(text, key)
    };
    let mut indent = None;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(start) {
        let trimmed = line.trim_start();
        if !(trimmed.starts_with("- ") || trimmed == "-") {
            continue;
        }
        let this = line.len() - trimmed.len();
        match indent {
            None => {
                indent = Some(this);
                out.push(i + 1);
            }
            Some(first) if first == this => out.push(i + 1),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let all = crate::starter::templates();
        let yaml = to_yaml(&all).unwrap();
        assert_eq!(from_yaml("pack.yaml", &yaml).unwrap(), all);
    }

    #[test]
    fn bad_field_named_with_line() {
        let text = "vmo_templates: 1\ntemplates:\n  - name: a\n    command: echo {{x}}\n  - name: b\n    command: echo {{y}}\n    params:\n      - name: y\n        type: number\n";
        let err = from_yaml("p.yaml", text).unwrap_err();
        assert_eq!(err.line, 9, "{err}");
        assert_eq!(err.field, "templates[1].params[0].type");
        assert!(err.message.contains("unknown variant"), "{err}");
    }

    #[test]
    fn invalid_template_named_with_its_line() {
        let text = "vmo_templates: 1\ntemplates:\n  - name: a\n    command: echo\n  - name: b\n    command: echo {{y}}\n    params:\n      - name: z\n";
        let err = from_yaml("p.yaml", text).unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (5, "templates[1].params.z"));
    }
}
