//! Warp workflow files (`~/.warp/workflows/*.yaml`, the warpdotdev/workflows repository):
//! one workflow per file, or a list of them. Their `{{arg}}` syntax is ours, so the
//! command is kept as it is; arguments become text parameters with their defaults.

use crate::pack::{check_all, item_lines, parse_yaml};
use crate::problem::ImportError;
use crate::template::{Param, Template};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(untagged)]
enum File {
    One(Workflow),
    Many(Vec<Workflow>),
}

// Unknown fields (source_url, author, shells, ...) are Warp's own business: ignored.
#[derive(Deserialize)]
struct Workflow {
    name: String,
    command: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    arguments: Vec<Argument>,
}

#[derive(Deserialize)]
struct Argument {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    default_value: Option<yaml_serde::Value>,
}

/// Reads a Warp workflow file.
pub fn from_yaml(file: &str, text: &str) -> Result<Vec<Template>, ImportError> {
    // Untagged enums lose the field path: read as one workflow first when it is a mapping.
    let many = text
        .lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .is_some_and(|l| l.starts_with("- ") || l == "-");
    let workflows = if many {
        parse_yaml::<Vec<Workflow>>(file, text)?
    } else {
        match parse_yaml::<File>(file, text) {
            Ok(File::One(w)) => vec![w],
            Ok(File::Many(ws)) => ws,
            Err(_) => vec![parse_yaml::<Workflow>(file, text)?],
        }
    };
    let templates: Vec<Template> = workflows.into_iter().map(convert).collect();
    let lines = if many { item_lines(text, "") } else { vec![1] };
    check_all(file, &templates, |i| {
        let prefix = if many {
            format!("[{i}]")
        } else {
            String::new()
        };
        (lines.get(i).copied().unwrap_or(0), prefix)
    })
    .map_err(|mut e| {
        e.field = e.field.trim_start_matches('.').to_string();
        e
    })?;
    Ok(templates)
}

fn convert(workflow: Workflow) -> Template {
    let mut template = Template::new(workflow.name.trim(), workflow.command);
    template.description = workflow.description.unwrap_or_default();
    template.tags = workflow
        .tags
        .iter()
        .map(|t| t.trim().replace(char::is_whitespace, "-"))
        .filter(|t| !t.is_empty())
        .collect();
    let used = template.placeholders();
    // Warp lists arguments a command may not use; only the used ones are parameters.
    template.declared = workflow
        .arguments
        .into_iter()
        .filter(|a| used.contains(&a.name))
        .map(|a| Param {
            description: a.description.unwrap_or_default(),
            default: a.default_value.and_then(scalar_text),
            ..Param::text(a.name)
        })
        .collect();
    template
}

fn scalar_text(value: yaml_serde::Value) -> Option<String> {
    match value {
        yaml_serde::Value::String(s) => Some(s),
        yaml_serde::Value::Number(n) => Some(n.to_string()),
        yaml_serde::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BREW: &str = r#"---
name: Uninstall a Homebrew package and all of its dependencies
command: |-
    brew tap beeftornado/rmtree
    brew rmtree {{package_name}}
tags:
  - homebrew
description: Uses the external command rmtree to remove a Homebrew package and all of its dependencies
arguments:
  - name: package_name
    description: The name of the package that should be removed
    default_value: ~
  - name: unused
    default_value: 3
source_url: "https://stackoverflow.com/questions/7323261"
author: Ali Ukani
author_url: "https://stackoverflow.com/users/1137227"
shells: []
"#;

    #[test]
    fn reads_a_workflow_as_found() {
        let t = &from_yaml("brew.yaml", BREW).unwrap()[0];
        assert_eq!(
            t.name,
            "Uninstall a Homebrew package and all of its dependencies"
        );
        assert_eq!(t.tags, ["homebrew"]);
        assert_eq!(t.declared.len(), 1);
        assert_eq!(t.declared[0].name, "package_name");
        assert!(t.declared[0].default.is_none());
    }

    #[test]
    fn missing_command_names_file_and_line() {
        let err = from_yaml("w.yaml", "name: x\narguments: []\n").unwrap_err();
        assert!(err.message.contains("command"), "{err}");
        assert_eq!(err.file, "w.yaml");
    }
}
