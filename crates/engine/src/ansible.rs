//! Ansible inventories: reads INI and YAML inventory files to discover hosts (`ini.rs`,
//! `yaml.rs`, both into one [`Model`]), and writes the inventory back as YAML (`export.rs`).
//!
//! Follows Ansible where it matters for an inventory: `[group]`, `[group:children]`,
//! `[group:vars]`, `host key=value` lines read as Python's shlex does, ranges like
//! `web[01:03]` / `db-[a:c]` / `n[0:10:2]`, `host:port`, and variable precedence as
//! Ansible resolves it: `all` < parent groups < child groups (by depth, then name) < host
//! vars. Groups a host belongs to, directly or through `:children`, become its tags (`all`
//! and `ungrouped` do not). When both the new and the old name of a connection variable
//! are set (`ansible_host` / `ansible_ssh_host`), the old one wins, as in Ansible's ssh
//! connection plugin. Jump hosts come from `-o ProxyJump=…` or `-J …` in
//! `ansible_ssh_common_args` / `ansible_ssh_extra_args`.
//!
//! A line that cannot be read is an error naming the file and line; a host whose variables
//! cannot become a VM (a Jinja template, a port that is not a number) is returned with a
//! `problem`, so the plan shows it as invalid.

mod export;
mod ini;
mod yaml;

pub use export::export;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One host as Ansible would connect to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnsibleHost {
    /// The inventory host name.
    pub name: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub key_file: Option<String>,
    pub jump: Option<String>,
    /// Its groups, direct and inherited, lowercased and sorted, without `all`/`ungrouped`.
    pub tags: Vec<String>,
    /// Why the host cannot be imported as written.
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: {message}", file.display(), line.map(|l| format!(", line {l}")).unwrap_or_default())]
pub struct AnsibleError {
    pub file: PathBuf,
    /// 1-based; `None` when the file as a whole failed (e.g. unreadable).
    pub line: Option<usize>,
    pub message: String,
}

impl From<AnsibleError> for crate::EngineError {
    fn from(err: AnsibleError) -> Self {
        Self::new(crate::ErrorCode::AnsibleInventory, err.to_string())
    }
}

/// Reads an inventory file, INI or YAML (by extension, else by its first line).
pub fn load(path: &Path) -> Result<Vec<AnsibleHost>, AnsibleError> {
    let bytes = std::fs::read(path).map_err(|e| AnsibleError {
        file: path.to_path_buf(),
        line: None,
        message: format!("cannot read file: {e}"),
    })?;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    let text = String::from_utf8_lossy(bytes);
    parse(path, &text)
}

/// Parses inventory text; `file` names it in errors and decides the format by extension.
pub fn parse(file: &Path, text: &str) -> Result<Vec<AnsibleHost>, AnsibleError> {
    let fail = |line: Option<usize>, message: String| AnsibleError {
        file: file.to_path_buf(),
        line,
        message,
    };
    let model = if is_yaml(file, text) {
        yaml::read(text)
    } else {
        ini::read(text)
    }
    .map_err(|(line, message)| fail(line, message))?;
    model
        .resolve()
        .map_err(|(line, message)| fail(line, message))
}

fn is_yaml(file: &Path, text: &str) -> bool {
    let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
    if ["yml", "yaml", "json"].contains(&ext.to_ascii_lowercase().as_str()) {
        return true;
    }
    if ext.eq_ignore_ascii_case("ini") {
        return false;
    }
    // INI hosts never end with ':' (`host:22` ends in a digit); YAML's top level does.
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with(';'));
    first.is_some_and(|l| l.starts_with("---") || l.starts_with('{') || l.ends_with(':'))
}

/// A variable's value: text for scalars, or what it was instead (a list, a mapping).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Var {
    Text(String),
    /// Text marked `!unsafe` in YAML: Ansible never templates it, so `{{` in it is text.
    Unsafe(String),
    Not(&'static str),
}
pub(crate) type Vars = BTreeMap<String, Var>;
/// An error from a reader: the 1-based line when known, and the message.
pub(crate) type ReadError = (Option<usize>, String);

#[derive(Debug, Default)]
pub(crate) struct Group {
    name: String,
    /// Child group index and the line that made it a child.
    children: Vec<(usize, Option<usize>)>,
    hosts: Vec<usize>,
    vars: Vars,
}

#[derive(Debug, Default)]
pub(crate) struct Host {
    name: String,
    vars: Vars,
}

/// An inventory as read, before variables and groups are resolved per host.
#[derive(Debug, Default)]
pub(crate) struct Model {
    groups: Vec<Group>,
    group_index: HashMap<String, usize>,
    hosts: Vec<Host>,
    host_index: HashMap<String, usize>,
}

impl Model {
    pub(crate) fn group(&mut self, name: &str) -> usize {
        if let Some(&i) = self.group_index.get(name) {
            return i;
        }
        self.groups.push(Group {
            name: name.to_string(),
            ..Group::default()
        });
        self.group_index
            .insert(name.to_string(), self.groups.len() - 1);
        self.groups.len() - 1
    }

    pub(crate) fn add_child(&mut self, parent: usize, child: &str, line: Option<usize>) {
        let child = self.group(child);
        if !self.groups[parent]
            .children
            .iter()
            .any(|(c, _)| *c == child)
        {
            self.groups[parent].children.push((child, line));
        }
    }

    pub(crate) fn set_group_var(&mut self, group: usize, key: String, value: Var) {
        self.groups[group].vars.insert(key, value);
    }

    /// Adds `name` to `group` (once) with these host vars (later definitions win).
    pub(crate) fn add_host(&mut self, group: usize, name: &str, vars: Vars) {
        let index = match self.host_index.get(name) {
            Some(&i) => i,
            None => {
                self.hosts.push(Host {
                    name: name.to_string(),
                    vars: Vars::new(),
                });
                self.host_index
                    .insert(name.to_string(), self.hosts.len() - 1);
                self.hosts.len() - 1
            }
        };
        self.hosts[index].vars.extend(vars);
        if !self.groups[group].hosts.contains(&index) {
            self.groups[group].hosts.push(index);
        }
    }

    fn resolve(mut self) -> Result<Vec<AnsibleHost>, ReadError> {
        let all = self.group("all");
        let n = self.groups.len();
        let mut parents = vec![Vec::new(); n];
        for (g, group) in self.groups.iter().enumerate() {
            for &(child, line) in &group.children {
                if child == all {
                    return Err((line, "group \"all\" cannot be a child group".into()));
                }
                parents[child].push(g);
            }
        }
        self.check_cycles()?;
        let depth = depths(all, &parents);
        let mut direct = vec![Vec::new(); self.hosts.len()];
        for (g, group) in self.groups.iter().enumerate() {
            for &h in &group.hosts {
                direct[h].push(g);
            }
        }
        let mut out = Vec::new();
        for (h, host) in self.hosts.iter().enumerate() {
            let mut member = HashSet::new();
            let mut stack = direct[h].clone();
            while let Some(g) = stack.pop() {
                if member.insert(g) {
                    stack.extend(parents[g].iter().copied());
                }
            }
            member.insert(all);
            let mut ordered: Vec<usize> = member.into_iter().collect();
            ordered.sort_by(|a, b| {
                (depth[*a], &self.groups[*a].name).cmp(&(depth[*b], &self.groups[*b].name))
            });
            let mut vars = Vars::new();
            for &g in &ordered {
                vars.extend(self.groups[g].vars.clone());
            }
            vars.extend(host.vars.clone());
            let mut tags: Vec<String> = ordered
                .iter()
                .map(|&g| self.groups[g].name.to_lowercase())
                .filter(|t| t != "all" && t != "ungrouped")
                .collect();
            tags.sort();
            tags.dedup();
            out.push(host_from_vars(&host.name, &vars, tags));
        }
        Ok(out)
    }

    /// Ansible refuses a group that is its own ancestor; so do we, naming the line.
    /// Depth first with a stack of its own (group, next child to look at): a chain of a
    /// hundred thousand child groups must not overflow the thread's stack.
    fn check_cycles(&self) -> Result<(), ReadError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut marks = vec![Mark::New; self.groups.len()];
        let mut stack: Vec<(usize, usize)> = Vec::new();
        for root in 0..self.groups.len() {
            if marks[root] != Mark::New {
                continue;
            }
            marks[root] = Mark::Open;
            stack.push((root, 0));
            while let Some(&(g, next)) = stack.last() {
                let Some(&(child, line)) = self.groups[g].children.get(next) else {
                    marks[g] = Mark::Done;
                    stack.pop();
                    continue;
                };
                if let Some(top) = stack.last_mut() {
                    top.1 += 1;
                }
                match marks[child] {
                    Mark::Open => {
                        return Err((
                            line,
                            format!(
                                "adding group {:?} as a child of {:?} makes a loop",
                                self.groups[child].name, self.groups[g].name
                            ),
                        ))
                    }
                    Mark::New => {
                        marks[child] = Mark::Open;
                        stack.push((child, 0));
                    }
                    Mark::Done => {}
                }
            }
        }
        Ok(())
    }
}

/// Ansible's group depth of every group: `all` is 0, a group is one deeper than its deepest
/// parent (a group without parents is a child of `all`). The graph has no cycles by now.
/// Parents are resolved through a stack of its own, not recursion, for deep chains.
fn depths(all: usize, parents: &[Vec<usize>]) -> Vec<usize> {
    let mut depth: Vec<Option<usize>> = vec![None; parents.len()];
    let mut stack = Vec::new();
    for start in 0..parents.len() {
        stack.push(start);
        while let Some(&g) = stack.last() {
            if depth[g].is_some() {
                stack.pop();
                continue;
            }
            if g == all {
                depth[g] = Some(0);
                stack.pop();
                continue;
            }
            let before = stack.len();
            stack.extend(parents[g].iter().copied().filter(|&p| depth[p].is_none()));
            if stack.len() == before {
                let deepest = parents[g].iter().filter_map(|&p| depth[p]).max();
                depth[g] = Some(1 + deepest.unwrap_or(0));
                stack.pop();
            }
        }
    }
    depth.into_iter().map(|d| d.unwrap_or(1)).collect()
}

/// The connection settings from a host's resolved variables.
fn host_from_vars(name: &str, vars: &Vars, tags: Vec<String>) -> AnsibleHost {
    let mut problems = Vec::new();
    // The later name wins when both are set, as in Ansible's ssh plugin.
    let mut pick = |names: &[&str]| -> Option<String> {
        let (key, value) = names
            .iter()
            .rev()
            .find_map(|k| vars.get(*k).map(|v| (*k, v)))?;
        match value {
            Var::Not(kind) => {
                problems.push(format!("{key} is {kind}, not text"));
                None
            }
            Var::Text(text) if text.contains("{{") || text.contains("{%") => {
                problems.push(format!(
                    "{key} is a Jinja template ({text}), which only Ansible can resolve"
                ));
                None
            }
            Var::Text(text) | Var::Unsafe(text) => {
                Some(text.trim().to_string()).filter(|t| !t.is_empty())
            }
        }
    };
    let host = pick(&["ansible_host", "ansible_ssh_host"]);
    let port_text = pick(&["ansible_port", "ansible_ssh_port"]);
    let user = pick(&["ansible_user", "ansible_ssh_user"]);
    let key_file = pick(&["ansible_private_key_file", "ansible_ssh_private_key_file"]);
    let common = pick(&["ansible_ssh_common_args"]);
    let extra = pick(&["ansible_ssh_extra_args"]);
    let port = port_text.and_then(|p| match p.parse::<u16>() {
        Ok(p) if p > 0 => Some(p),
        _ => {
            problems.push(format!(
                "ansible_port {p:?} is not a whole number from 1 to 65535"
            ));
            None
        }
    });
    let mut jump = None;
    for args in [common, extra].into_iter().flatten() {
        match jump_from_args(&args) {
            Ok(Some(j)) => jump = Some(j),
            Ok(None) => {}
            Err(m) => problems.push(m),
        }
    }
    AnsibleHost {
        name: name.to_string(),
        host,
        port,
        user,
        key_file,
        jump,
        tags,
        problem: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

/// The ProxyJump in ssh arguments: `-o ProxyJump=J`, `-oProxyJump=J`, `-o "ProxyJump J"`,
/// `-J J`, `-JJ`. A ProxyCommand cannot become a jump host: that is an error.
pub(crate) fn jump_from_args(args: &str) -> Result<Option<String>, String> {
    let words = shlex(args, false).map_err(|m| format!("ssh arguments {args:?}: {m}"))?;
    let mut jump = None;
    let mut words = words.into_iter();
    while let Some(word) = words.next() {
        if let Some(rest) = word.strip_prefix("-J") {
            jump = if rest.is_empty() {
                words.next()
            } else {
                Some(rest.into())
            };
        } else if let Some(rest) = word.strip_prefix("-o") {
            let option = if rest.is_empty() {
                words.next()
            } else {
                Some(rest.into())
            };
            let Some(option) = option else { break };
            let (key, value) = option
                .split_once(|c: char| c == '=' || c.is_whitespace())
                .unwrap_or((&option, ""));
            if key.eq_ignore_ascii_case("proxyjump") {
                jump = Some(value.trim_start_matches(['=', ' ']).trim().to_string());
            } else if key.eq_ignore_ascii_case("proxycommand") {
                return Err(format!(
                    "ProxyCommand ({args}) cannot be imported; use -o ProxyJump=… instead"
                ));
            }
        }
    }
    Ok(jump.filter(|j| !j.is_empty() && !j.eq_ignore_ascii_case("none")))
}

/// Python's `shlex.split` in POSIX mode (what Ansible uses for INI host lines); with
/// `comments`, `#` outside quotes ends the line.
pub(crate) fn shlex(text: &str, comments: bool) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' if comments => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("no closing quotation".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("no closing quotation".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("no closing quotation".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("no escaped character".into()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    Ok(out)
}

/// Most hosts one pattern may expand to (`n[0:99999999]` would otherwise eat the memory).
const MAX_RANGE_HOSTS: usize = 10_000;

/// Expands Ansible host ranges, `web[01:03]` → web01, web02, web03 (zero-padded when the
/// start is), `[a:c]`, steps `[0:10:2]`, several ranges in one pattern.
pub(crate) fn expand_range(pattern: &str) -> Result<Vec<String>, String> {
    let Some((head, rest)) = pattern.split_once('[') else {
        return Ok(vec![pattern.to_string()]);
    };
    let Some((range, tail)) = rest.split_once(']') else {
        return Ok(vec![pattern.to_string()]);
    };
    if !range.contains(':') {
        return Ok(vec![pattern.to_string()]);
    }
    let bounds: Vec<&str> = range.split(':').collect();
    let (beg, end, step) = match bounds.as_slice() {
        [b, e] => (*b, *e, "1"),
        [b, e, s] => (*b, *e, *s),
        _ => return Err("a host range must be [begin:end] or [begin:end:step]".into()),
    };
    let beg = if beg.is_empty() { "0" } else { beg };
    if end.is_empty() {
        return Err("a host range must have an end".into());
    }
    let step: usize = step
        .parse()
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| format!("host range step {step:?} is not a positive number"))?;
    let width = if beg.len() > 1 && beg.starts_with('0') {
        if beg.len() != end.len() {
            return Err("a zero-padded host range needs begin and end of equal length".into());
        }
        beg.len()
    } else {
        0
    };
    let letters = |s: &str| {
        let mut c = s.chars();
        match (c.next(), c.next()) {
            (Some(l), None) if l.is_ascii_alphabetic() => Some(l),
            _ => None,
        }
    };
    let items: Vec<String> = match (letters(beg), letters(end)) {
        (Some(b), Some(e)) => {
            const ORDER: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
            let (Some(b), Some(e)) = (ORDER.find(b), ORDER.find(e)) else {
                return Err("bad letter range".into());
            };
            if b > e {
                return Err("a host range must have begin <= end".into());
            }
            ORDER[b..=e]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect()
        }
        _ => {
            let number = |s: &str| {
                s.parse::<u64>()
                    .map_err(|_| format!("host range bound {s:?} is not a number or a letter"))
            };
            let (b, e) = (number(beg)?, number(end)?);
            if e.saturating_sub(b) / step as u64 >= MAX_RANGE_HOSTS as u64 {
                return Err(format!(
                    "a host range may hold at most {MAX_RANGE_HOSTS} hosts"
                ));
            }
            (b..=e)
                .step_by(step)
                .map(|i| format!("{i:0width$}"))
                .collect()
        }
    };
    let mut out = Vec::new();
    for item in items {
        for name in expand_range(&format!("{head}{item}{tail}"))? {
            if out.len() >= MAX_RANGE_HOSTS {
                return Err(format!(
                    "a host range may hold at most {MAX_RANGE_HOSTS} hosts"
                ));
            }
            out.push(name);
        }
    }
    Ok(out)
}

/// `host:port` / `[v6]:port` / `web[1:3]:2222` → the name pattern and the port text.
pub(crate) fn split_port(pattern: &str) -> (&str, Option<&str>) {
    if let Some(inner) = pattern.strip_prefix('[') {
        if let Some((addr, port)) = inner.split_once("]:") {
            if addr.parse::<std::net::Ipv6Addr>().is_ok() {
                return (addr, Some(port));
            }
        }
    }
    let mut depth = 0i32;
    let mut colons = Vec::new();
    for (i, c) in pattern.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => colons.push(i),
            _ => {}
        }
    }
    match colons.as_slice() {
        [i] => (&pattern[..*i], Some(&pattern[i + 1..])),
        _ => (pattern, None),
    }
}

/// Host names from one pattern, with the port it carries as an `ansible_port` var.
pub(crate) fn hosts_of_pattern(pattern: &str) -> Result<(Vec<String>, Option<Var>), String> {
    let (name, port) = split_port(pattern);
    let port = match port {
        None => None,
        Some(p) if p.parse::<u16>().is_ok_and(|p| p > 0) => Some(Var::Text(p.to_string())),
        Some(p) => {
            return Err(format!(
                "port {p:?} of host {pattern:?} is not a whole number from 1 to 65535"
            ))
        }
    };
    if name.is_empty() {
        return Err("a host line needs a host name".into());
    }
    Ok((expand_range(name)?, port))
}

#[cfg(test)]
mod tests;
