//! Ansible's INI inventory format, read as its `ini` inventory plugin does.

use super::{hosts_of_pattern, shlex, Model, ReadError, Var, Vars};

enum Section {
    Hosts(usize),
    Children(usize),
    Vars(usize),
}

pub(crate) fn read(text: &str) -> Result<Model, ReadError> {
    let mut model = Model::default();
    let ungrouped = model.group("ungrouped");
    let mut section = Section::Hosts(ungrouped);
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let fail = |m: String| (Some(line_no), m);
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = header(&mut model, line).map_err(fail)?;
            continue;
        }
        match section {
            Section::Hosts(group) => {
                let words = shlex(line, true).map_err(|m| fail(format!("{m}: {line}")))?;
                let Some((pattern, assignments)) = words.split_first() else {
                    continue;
                };
                let mut vars = Vars::new();
                for word in assignments {
                    let (key, value) = word.split_once('=').ok_or_else(|| {
                        fail(format!(
                            "expected key=value host variable assignment, got: {word}"
                        ))
                    })?;
                    vars.insert(key.to_string(), Var::Text(value.to_string()));
                }
                let (names, port) = hosts_of_pattern(pattern).map_err(fail)?;
                if let Some(port) = port {
                    vars.entry("ansible_port".into()).or_insert(port);
                }
                for name in names {
                    model.add_host(group, &name, vars.clone());
                }
            }
            Section::Children(group) => {
                let words = shlex(line, true).map_err(|m| fail(format!("{m}: {line}")))?;
                match words.as_slice() {
                    [] => {}
                    [child] => {
                        check_group_name(child).map_err(fail)?;
                        model.add_child(group, child, Some(line_no));
                    }
                    _ => return Err(fail(format!("expected one group name, got: {line}"))),
                }
            }
            Section::Vars(group) => {
                let (key, value) = line
                    .split_once('=')
                    .ok_or_else(|| fail(format!("expected key=value, got: {line}")))?;
                let key = key.trim();
                if key.is_empty() || key.contains(char::is_whitespace) {
                    return Err(fail(format!("expected key=value, got: {line}")));
                }
                model.set_group_var(group, key.to_string(), value_of(value.trim()));
            }
        }
    }
    Ok(model)
}

/// `[name]`, `[name:children]`, `[name:vars]`, optionally followed by a comment.
fn header(model: &mut Model, line: &str) -> Result<Section, String> {
    let close = line
        .find(']')
        .ok_or_else(|| format!("section header without ']': {line}"))?;
    let after = line[close + 1..].trim();
    if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
        return Err(format!("unexpected text after the section header: {line}"));
    }
    let inner = &line[1..close];
    let (name, kind) = match inner.split_once(':') {
        Some((name, kind)) => (name, Some(kind)),
        None => (inner, None),
    };
    check_group_name(name)?;
    let group = model.group(name);
    match kind {
        None => Ok(Section::Hosts(group)),
        Some("children") => Ok(Section::Children(group)),
        Some("vars") => Ok(Section::Vars(group)),
        Some(other) => Err(format!(
            "section [{inner}]: {other:?} is not a section kind (children or vars)"
        )),
    }
}

fn check_group_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(|c: char| c.is_whitespace() || "[]:=".contains(c)) {
        return Err(format!("{name:?} is not a group name"));
    }
    Ok(())
}

/// A `[group:vars]` value as Ansible reads it (a Python literal, else the text as is): we
/// need only text, so matching outer quotes are removed.
fn value_of(text: &str) -> Var {
    for quote in ['\'', '"'] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|t| t.strip_suffix(quote)) {
            return Var::Text(inner.to_string());
        }
    }
    if text.starts_with('[') && text.ends_with(']') {
        return Var::Not("a list");
    }
    if text.starts_with('{') && text.ends_with('}') {
        return Var::Not("a mapping");
    }
    Var::Text(text.to_string())
}
