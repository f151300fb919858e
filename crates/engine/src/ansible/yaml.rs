//! Ansible's YAML inventory format (`all: {hosts, children, vars}`), read as its `yaml`
//! inventory plugin does. Shape errors carry the parser's line.

use super::{hosts_of_pattern, Model, ReadError, Var, Vars};
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use yaml_serde::Value;

/// A YAML mapping kept in file order.
struct Entries<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Entries<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Ordered<T> {
            type Value = Entries<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((key, value)) = map.next_entry::<Value, T>()? {
                    let key = match key {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return Err(serde::de::Error::custom("a name must be text")),
                    };
                    out.push((key, value));
                }
                Ok(Entries(out))
            }
        }
        deserializer.deserialize_map(Ordered(std::marker::PhantomData))
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct YamlGroup {
    hosts: Option<Entries<Option<Entries<Value>>>>,
    children: Option<Entries<Option<YamlGroup>>>,
    vars: Option<Entries<Value>>,
}

pub(crate) fn read(text: &str) -> Result<Model, ReadError> {
    let deserializer = yaml_serde::Deserializer::from_str(text);
    let top: Option<Entries<Option<YamlGroup>>> = serde_path_to_error::deserialize(deserializer)
        .map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let message = inner.to_string();
            let message = match message.find(" at line ") {
                Some(at) => message[..at].to_string(),
                None => message,
            };
            let at = if path == "." {
                String::new()
            } else {
                format!(" (at {path})")
            };
            (inner.location().map(|l| l.line()), format!("{message}{at}"))
        })?;
    let mut model = Model::default();
    let all = model.group("all");
    for (name, group) in top.map(|t| t.0).unwrap_or_default() {
        let index = model.group(&name);
        if index != all {
            model.add_child(all, &name, None);
        }
        add_group(&mut model, index, &name, group.unwrap_or_default())?;
    }
    Ok(model)
}

fn add_group(
    model: &mut Model,
    index: usize,
    path: &str,
    group: YamlGroup,
) -> Result<(), ReadError> {
    for (key, value) in group.vars.map(|v| v.0).unwrap_or_default() {
        model.set_group_var(index, key, var(value));
    }
    for (pattern, vars) in group.hosts.map(|h| h.0).unwrap_or_default() {
        let (names, port) =
            hosts_of_pattern(&pattern).map_err(|m| (None, format!("{m} (at {path}.hosts)")))?;
        let mut vars: Vars = vars
            .map(|v| v.0)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| (k, var(v)))
            .collect();
        if let Some(port) = port {
            vars.entry("ansible_port".into()).or_insert(port);
        }
        for name in names {
            model.add_host(index, &name, vars.clone());
        }
    }
    for (name, child) in group.children.map(|c| c.0).unwrap_or_default() {
        if name.is_empty() {
            return Err((
                None,
                format!("a child group needs a name (at {path}.children)"),
            ));
        }
        model.add_child(index, &name, None);
        let child_index = model.group(&name);
        let child_path = format!("{path}.children.{name}");
        add_group(model, child_index, &child_path, child.unwrap_or_default())?;
    }
    Ok(())
}

fn var(value: Value) -> Var {
    match value {
        Value::String(s) => Var::Text(s),
        Value::Number(n) => Var::Text(n.to_string()),
        Value::Bool(b) => Var::Text(b.to_string()),
        Value::Null => Var::Text(String::new()),
        Value::Sequence(_) => Var::Not("a list"),
        Value::Mapping(_) => Var::Not("a mapping"),
        Value::Tagged(tagged) => match (tagged.tag == "unsafe", tagged.value) {
            (true, Value::String(s)) => Var::Unsafe(s),
            _ => Var::Not("a tagged value"),
        },
    }
}
