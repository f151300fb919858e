//! navi cheat files (`*.cheat`): `% tags`, `# description`, command lines, and
//! `$ var: command --- fzf options` whose output lines are the suggestions for `<var>`.
//! Variables become `{{var}}` parameters with that suggest command; a variable defined
//! in a `%` section serves every cheat of the section, as in navi.

use crate::pack::check_all;
use crate::problem::ImportError;
use crate::template::{Param, Template};

struct Cheat {
    line: usize,
    description: String,
    command: Vec<String>,
    tags: Vec<String>,
}

/// Reads a navi cheat file.
pub fn from_text(file: &str, text: &str) -> Result<Vec<Template>, ImportError> {
    let fail = |line: usize, field: &str, message: String| ImportError {
        file: file.into(),
        line,
        field: field.into(),
        message,
    };
    let mut templates = Vec::new();
    let mut lines_of = Vec::new();
    let mut section: Vec<Cheat> = Vec::new();
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut tags: Vec<String> = Vec::new();
    let mut current: Option<Cheat> = None;
    let mut flush_section =
        |section: &mut Vec<Cheat>, vars: &mut Vec<(String, String)>| -> Result<(), ImportError> {
            for cheat in section.drain(..) {
                lines_of.push(cheat.line);
                templates.push(convert(cheat, vars, &templates));
            }
            vars.clear();
            Ok(())
        };
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim_end();
        if let Some(rest) = line.strip_prefix('%') {
            section.extend(current.take().filter(|c| !c.command.is_empty()));
            flush_section(&mut section, &mut vars)?;
            tags = rest
                .split(',')
                .map(|t| t.trim().replace(char::is_whitespace, "-"))
                .filter(|t| !t.is_empty())
                .collect();
        } else if let Some(rest) = line.strip_prefix('#') {
            section.extend(current.take().filter(|c| !c.command.is_empty()));
            current = Some(Cheat {
                line: n,
                description: rest.trim().to_string(),
                command: Vec::new(),
                tags: tags.clone(),
            });
        } else if let Some(rest) = line.strip_prefix('$') {
            let (name, command) = rest
                .split_once(':')
                .ok_or_else(|| fail(n, "variable", "expected `$ name: command`".into()))?;
            let name = name.trim();
            if !crate::placeholder::is_param_name(name) {
                return Err(fail(
                    n,
                    "variable",
                    format!("{name:?} is not a variable name"),
                ));
            }
            let command = command.split(" --- ").next().unwrap_or_default().trim();
            if command.is_empty() {
                return Err(fail(n, "variable", format!("{name}: no command")));
            }
            vars.push((name.to_string(), command.to_string()));
        } else if line.starts_with(';') || line.starts_with('@') {
            // Comments, and navi's `@ extends` which has no equivalent here.
        } else if line.trim().is_empty() {
            if let Some(cheat) = current.as_mut() {
                if !cheat.command.is_empty() {
                    section.extend(current.take());
                }
            }
        } else {
            let cheat = current.get_or_insert_with(|| Cheat {
                line: n,
                description: String::new(),
                command: Vec::new(),
                tags: tags.clone(),
            });
            cheat.command.push(line.to_string());
        }
    }
    section.extend(current.take().filter(|c| !c.command.is_empty()));
    flush_section(&mut section, &mut vars)?;
    check_all(file, &templates, |i| {
        (lines_of.get(i).copied().unwrap_or(0), "cheat".to_string())
    })?;
    Ok(templates)
}

fn convert(cheat: Cheat, vars: &[(String, String)], earlier: &[Template]) -> Template {
    let command = variables_to_placeholders(&cheat.command.join("\n"));
    let stem = if cheat.description.is_empty() {
        cheat.command.first().cloned().unwrap_or_default()
    } else {
        cheat.description.clone()
    };
    let base = slug(&stem);
    let name = (1..)
        .map(|n| match n {
            1 => base.clone(),
            n => format!("{base}-{n}"),
        })
        .find(|candidate| !earlier.iter().any(|t| t.name == *candidate))
        .unwrap_or(base);
    let mut template = Template::new(name, command);
    template.description = cheat.description;
    template.tags = cheat.tags;
    template.declared = template
        .placeholders()
        .into_iter()
        .map(|name| {
            let suggest = vars
                .iter()
                .find(|(v, _)| *v == name)
                .map(|(_, c)| c.clone());
            Param {
                suggest,
                ..Param::text(name)
            }
        })
        .collect();
    template
}

/// `<name>` → `{{name}}` for navi's variable syntax; other `<` (redirections) stay.
fn variables_to_placeholders(command: &str) -> String {
    let mut out = String::with_capacity(command.len());
    let mut rest = command;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('>') {
            Some(close) if crate::placeholder::is_param_name(&after[..close]) => {
                out.push_str("{{");
                out.push_str(&after[..close]);
                out.push_str("}}");
                rest = &after[close + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// "Change branch!" → "change-branch".
fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out: String = out.trim_end_matches('-').chars().take(60).collect();
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "cheat".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIT: &str = "% git, code\n\n# Change branch\ngit checkout <branch>\n\n# Delete a file from the index\ngit rm --cached \"<file>\" < /dev/null\n\n$ branch: git branch | awk '{print $NF}' --- --column 1\n; a comment\n\n% docker\n\n# Show logs\ndocker logs -f <container>\n$ container: docker ps --format '{{.Names}}'\n";

    #[test]
    fn reads_a_cheat_file_as_found() {
        let ts = from_text("git.cheat", GIT).unwrap();
        assert_eq!(ts.len(), 3);
        assert_eq!(ts[0].name, "change-branch");
        assert_eq!(ts[0].command, "git checkout {{branch}}");
        assert_eq!(ts[0].tags, ["git", "code"]);
        assert_eq!(
            ts[0].declared[0].suggest.as_deref(),
            Some("git branch | awk '{print $NF}'")
        );
        assert_eq!(ts[1].command, "git rm --cached \"{{file}}\" < /dev/null");
        assert!(ts[1].declared[0].suggest.is_none());
        assert_eq!(ts[2].tags, ["docker"]);
        assert_eq!(
            ts[2].declared[0].suggest.as_deref(),
            Some("docker ps --format '{{.Names}}'")
        );
    }

    #[test]
    fn bad_variable_line_named() {
        let err = from_text("x.cheat", "# a\necho <v>\n$ v git branch\n").unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (3, "variable"));
    }
}
