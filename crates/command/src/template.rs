//! A command template and its parameters, and the rules a definition must follow.

use crate::placeholder::{is_param_name, parse_command, Piece, QuoteContext};
use crate::problem::{Problem, Problems};
use serde::{Deserialize, Serialize};

/// Longest template name.
pub const NAME_MAX: usize = 120;
/// Longest command text.
pub const COMMAND_MAX: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Unique (case-insensitive) among the user's templates.
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// With `{{param}}` / `{{param:default}}` placeholders.
    pub command: String,
    /// In the order a form shows them. A placeholder with no entry here is a required
    /// text parameter (see [`Template::params`]).
    #[serde(default, rename = "params", skip_serializing_if = "Vec::is_empty")]
    pub declared: Vec<Param>,
    /// A VM tag to preselect as the targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_targets: Option<String>,
    /// Always asks for confirmation before running, like VMs with a guarded tag.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dangerous: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// Any text; bytes that are not UTF-8 are allowed.
    #[default]
    Text,
    /// A whole number, within `min` / `max` when given.
    Integer,
    /// One of `choices` (or of the suggest command's lines).
    Choice,
    /// `true` or `false` (also yes/no, 1/0, on/off), rendered `true` / `false`.
    Boolean,
    /// A file path on the host; any bytes but NUL.
    Path,
}

impl ParamType {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::Text => "text",
            ParamType::Integer => "integer",
            ParamType::Choice => "choice",
            ParamType::Boolean => "boolean",
            ParamType::Path => "path",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: ParamType,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Used when no value is given. A placeholder's `{{name:default}}` fills it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// A value (or a default) must be there. An optional one left out renders as `''`.
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<i64>,
    /// Static choices (for `choice`, the only values accepted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// A command run on the first target whose output lines are the suggestions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggest: Option<String>,
}

fn yes() -> bool {
    true
}

impl Param {
    /// A required text parameter with no default.
    pub fn text(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            kind: ParamType::Text,
            description: String::new(),
            default: None,
            required: true,
            min: None,
            max: None,
            choices: Vec::new(),
            suggest: None,
        }
    }
}

impl Template {
    /// A template with no parameters declared (placeholders become text parameters).
    pub fn new(name: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: String::new(),
            tags: Vec::new(),
            command: command.into(),
            declared: Vec::new(),
            default_targets: None,
            dangerous: false,
        }
    }

    /// Every parameter, in form order: the declared ones, then placeholders not declared
    /// (as required text parameters), each with the placeholder's default when it has none.
    pub fn params(&self) -> Vec<Param> {
        let mut params = self.declared.clone();
        for piece in parse_command(&self.command) {
            let Piece::Placeholder { name, default, .. } = piece else {
                continue;
            };
            match params.iter_mut().find(|p| p.name == name) {
                Some(param) => {
                    if param.default.is_none() {
                        param.default = default;
                    }
                }
                None => params.push(Param {
                    default,
                    ..Param::text(name)
                }),
            }
        }
        params
    }

    /// The names of the placeholders, in order of first use.
    pub fn placeholders(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for piece in parse_command(&self.command) {
            if let Piece::Placeholder { name, .. } = piece {
                if !names.contains(&name) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Every problem of the definition, all at once.
    pub fn validate(&self) -> Result<(), Problems> {
        let mut problems = Vec::new();
        let mut flag = |field: String, message: String| problems.push(Problem { field, message });
        let name = self.name.trim();
        if name.is_empty() {
            flag("name".into(), "Name is required".into());
        } else if name.chars().count() > NAME_MAX {
            flag("name".into(), format!("at most {NAME_MAX} characters"));
        } else if name != self.name || name.chars().any(char::is_control) {
            flag(
                "name".into(),
                "no leading or trailing spaces or control characters".into(),
            );
        }
        if self.command.trim().is_empty() {
            flag("command".into(), "type the command to run".into());
        } else if self.command.len() > COMMAND_MAX {
            flag("command".into(), format!("at most {COMMAND_MAX} bytes"));
        } else if self.command.contains('\0') {
            flag("command".into(), "a command cannot contain a NUL".into());
        }
        for tag in &self.tags {
            if tag.trim().is_empty() || tag.chars().any(|c| c.is_whitespace() || c == ',') {
                flag("tags".into(), format!("{tag:?}: a tag is one word"));
            }
        }
        let mut defaults: Vec<(String, Option<String>)> = Vec::new();
        for piece in parse_command(&self.command) {
            let Piece::Placeholder {
                name,
                default,
                after_backslash,
                after_dollar,
                context,
                ..
            } = piece
            else {
                continue;
            };
            if after_backslash {
                flag(
                    "command".into(),
                    format!(
                        "remove the backslash before {{{{{name}}}}}: values are quoted for you"
                    ),
                );
            }
            if after_dollar {
                flag(
                    "command".into(),
                    format!(
                        "remove the $ before {{{{{name}}}}}: it would make the value an expansion"
                    ),
                );
            }
            let nowhere = match context {
                QuoteContext::Arithmetic => Some("inside $(( ))"),
                QuoteContext::HereDoc => Some("in a here-document (<<)"),
                QuoteContext::Comment => Some("in a # comment"),
                QuoteContext::Unquoted | QuoteContext::Single | QuoteContext::Double => None,
            };
            if let Some(place) = nowhere {
                flag(
                    "command".into(),
                    format!("{{{{{name}}}}} cannot be {place}: no quoting works there"),
                );
            }
            match defaults.iter().find(|(n, _)| *n == name) {
                Some((_, first)) if default.is_some() && *first != default && first.is_some() => {
                    flag(
                        format!("params.{name}"),
                        "the placeholder gives two different defaults".into(),
                    )
                }
                Some(_) => {}
                None => defaults.push((name, default)),
            }
        }
        let used = self.placeholders();
        for (i, param) in self.declared.iter().enumerate() {
            let field = format!("params.{}", param.name);
            if !is_param_name(&param.name) {
                flag(
                    field.clone(),
                    "a parameter name is a letter or _ then letters, digits, _ or -".into(),
                );
            }
            if self.declared[..i].iter().any(|p| p.name == param.name) {
                flag(field.clone(), "declared twice".into());
            }
            if !used.contains(&param.name) {
                flag(
                    field.clone(),
                    format!("not used in the command (add {{{{{}}}}})", param.name),
                );
            }
            for message in param.definition_problems() {
                flag(field.clone(), message);
            }
        }
        if let Some(tag) = &self.default_targets {
            if tag.trim().is_empty() || tag.contains(char::is_whitespace) {
                flag("default_targets".into(), "a tag is one word".into());
            }
        }
        Problems(problems).into_result()
    }
}

impl Param {
    fn definition_problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let (Some(min), Some(max)) = (self.min, self.max) {
            if min > max {
                out.push(format!("min {min} is more than max {max}"));
            }
        }
        if (self.min.is_some() || self.max.is_some()) && self.kind != ParamType::Integer {
            out.push("min and max are for integer parameters".into());
        }
        if self.kind == ParamType::Choice && self.choices.is_empty() && self.suggest.is_none() {
            out.push("a choice needs a list of choices or a suggest command".into());
        }
        if self.kind == ParamType::Boolean && (self.suggest.is_some() || !self.choices.is_empty()) {
            out.push("a boolean has no choices".into());
        }
        if self.suggest.as_deref().is_some_and(|s| s.trim().is_empty()) {
            out.push("the suggest command is empty".into());
        }
        if let Some(default) = &self.default {
            if let Err(message) = crate::render::check_value(self, default.as_bytes()) {
                out.push(format!("default: {message}"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undeclared_placeholders_are_text_params_with_their_defaults() {
        let t = Template::new("tail", "tail -n {{lines:100}} {{path}}");
        let params = t.params();
        assert_eq!(params.len(), 2);
        assert_eq!(params[0].name, "lines");
        assert_eq!(params[0].default.as_deref(), Some("100"));
        assert_eq!(params[1].kind, ParamType::Text);
        assert!(t.validate().is_ok());
    }

    #[test]
    fn every_definition_problem_at_once() {
        let mut t = Template::new(" ", "echo {{a}} \\{{b}}");
        t.declared = vec![
            Param {
                kind: ParamType::Integer,
                min: Some(5),
                max: Some(1),
                default: Some("x".into()),
                ..Param::text("a")
            },
            Param::text("unused"),
            Param {
                kind: ParamType::Choice,
                ..Param::text("b")
            },
        ];
        let problems = t.validate().unwrap_err();
        assert!(problems.field("name").is_some());
        assert!(problems.field("command").unwrap().contains("backslash"));
        let a: Vec<_> = problems
            .0
            .iter()
            .filter(|p| p.field == "params.a")
            .collect();
        assert_eq!(a.len(), 2, "{problems}");
        assert!(problems
            .field("params.unused")
            .unwrap()
            .contains("not used"));
        assert!(problems.field("params.b").unwrap().contains("choices"));
    }
}
