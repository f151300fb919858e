//! The VM record and the rules a record must follow. Pure: no IO.

use crate::error::{EngineError, FieldError};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VmId(pub i64);

impl std::fmt::Display for VmId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How the engine authenticates: an SSH notion, kept by the SSH engine. The record names the
/// method only (stored as [`AuthMethod::as_str`]).
pub use vmo_ssh::AuthMethod;

/// A stored VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vm {
    pub id: VmId,
    pub name: String,
    pub host: String,
    pub port: u16,
    /// Empty means the SSH default (the local user name).
    pub user: String,
    pub auth: AuthMethod,
    pub key_file: Option<String>,
    /// ProxyJump: comma-separated hops, each a VM name or `[user@]host[:port]`.
    pub jump_host: Option<String>,
    pub tags: Vec<String>,
    pub notes: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub updated_at: i64,
}

impl Vm {
    pub fn draft(&self) -> VmDraft {
        VmDraft {
            name: self.name.clone(),
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            auth: self.auth,
            key_file: self.key_file.clone(),
            jump_host: self.jump_host.clone(),
            tags: self.tags.clone(),
            notes: self.notes.clone(),
        }
    }

    /// `user@host:port` as a person would type it.
    pub fn address(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match (self.user.is_empty(), self.port) {
            (true, 22) => host,
            (true, port) => format!("{host}:{port}"),
            (false, 22) => format!("{}@{host}", self.user),
            (false, port) => format!("{}@{host}:{port}", self.user),
        }
    }
}

/// What a user submits to create or change a VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct VmDraft {
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub auth: AuthMethod,
    pub key_file: Option<String>,
    pub jump_host: Option<String>,
    pub tags: Vec<String>,
    pub notes: String,
}

impl Default for VmDraft {
    fn default() -> Self {
        Self {
            name: String::new(),
            host: String::new(),
            port: 22,
            user: String::new(),
            auth: AuthMethod::Agent,
            key_file: None,
            jump_host: None,
            tags: Vec::new(),
            notes: String::new(),
        }
    }
}

pub const NAME_MAX: usize = 64;
pub const TAG_MAX: usize = 32;
pub const TAGS_MAX: usize = 20;
pub const NOTES_MAX: usize = 4000;

impl VmDraft {
    /// Trims, lower-cases tags, drops empty optionals, then checks every rule. Returns the
    /// normalised draft or every field error at once, so a form can show them all.
    pub fn validate(mut self) -> Result<Self, EngineError> {
        self.name = self.name.trim().to_string();
        self.host = unbracket(self.host.trim()).to_string();
        self.user = self.user.trim().to_string();
        self.key_file = non_empty(self.key_file);
        self.jump_host = non_empty(self.jump_host);
        self.notes = self.notes.trim_end().to_string();
        let mut tags: Vec<String> = self
            .tags
            .iter()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        tags.sort();
        tags.dedup();
        self.tags = tags;
        if self.auth != AuthMethod::KeyFile {
            self.key_file = None;
        }

        let mut errors = Vec::new();
        let mut flag = |field: &'static str, message: String| {
            errors.push(FieldError {
                field: field.into(),
                message,
            })
        };
        if let Err(m) = check_name(&self.name) {
            flag("name", m);
        }
        if let Err(m) = check_host(&self.host) {
            flag("host", m);
        }
        if self.port == 0 {
            flag("port", PORT_RANGE.to_string());
        }
        if let Err(m) = check_user(&self.user) {
            flag("user", m);
        }
        match (&self.auth, &self.key_file) {
            (AuthMethod::KeyFile, None) => flag(
                "key_file",
                "Key file authentication needs the path of a private key".into(),
            ),
            (AuthMethod::KeyFile, Some(k)) if k.chars().any(char::is_control) => flag(
                "key_file",
                "Key file path cannot contain control characters".into(),
            ),
            _ => {}
        }
        if let Some(jump) = &self.jump_host {
            if let Err(m) = check_jump(jump, &self.name) {
                flag("jump_host", m);
            }
        }
        if let Err(m) = check_tags(&self.tags) {
            flag("tags", m);
        }
        if self.notes.chars().count() > NOTES_MAX {
            flag(
                "notes",
                format!("Notes are limited to {NOTES_MAX} characters"),
            );
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(EngineError::validation(errors))
        }
    }
}

pub const PORT_RANGE: &str = "Port must be a whole number from 1 to 65535";

/// Parses a port typed by a person: the message is the one shown next to the field.
pub fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p as u16),
        _ => Err(PORT_RANGE.to_string()),
    }
}

/// Splits a tag list typed as "web, prod db".
pub fn parse_tags(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

fn non_empty(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Name is required".into());
    }
    if name.chars().count() > NAME_MAX {
        return Err(format!("Name is limited to {NAME_MAX} characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err("Name must start with a letter or digit".into());
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "Name may hold letters, digits, '.', '_' and '-' only (found {c:?})"
        ));
    }
    Ok(())
}

/// `[2001:db8::1]` → `2001:db8::1`: an address is stored bare ([`Vm::address`] adds the
/// brackets back). Anything else is returned as it is.
fn unbracket(host: &str) -> &str {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(inner) if inner.parse::<IpAddr>().is_ok() => inner,
        _ => host,
    }
}

/// A DNS name (RFC 1123 labels) or an IPv4/IPv6 address, optionally in one pair of brackets.
pub fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("Host is required".into());
    }
    if unbracket(host).parse::<IpAddr>().is_ok() {
        return Ok(());
    }
    if host.len() > 253 {
        return Err("Host name is limited to 253 characters".into());
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if host.trim_end_matches('.').split('.').all(label_ok) {
        Ok(())
    } else {
        Err(format!("{host:?} is not a valid host name or IP address"))
    }
}

fn check_user(user: &str) -> Result<(), String> {
    if user.starts_with('-') {
        // `-oProxyCommand=...@host` would reach ssh as an option, not a destination.
        return Err("User name cannot start with '-'".into());
    }
    match user
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '@' | ':' | '/'))
    {
        Some(c) => Err(format!("User name cannot contain {c:?}")),
        None if user.len() > 64 => Err("User name is limited to 64 characters".into()),
        None => Ok(()),
    }
}

fn check_jump(jump: &str, own_name: &str) -> Result<(), String> {
    for hop in jump.split(',').map(str::trim) {
        if hop.is_empty() {
            return Err("Jump host has an empty hop; separate hops with single commas".into());
        }
        if hop.eq_ignore_ascii_case(own_name) {
            return Err("A VM cannot be its own jump host".into());
        }
        let (user, host, port) = split_hop(hop);
        let context = |m: String| format!("Jump host {hop:?}: {m}");
        check_user(user).map_err(context)?;
        check_host(host).map_err(context)?;
        if let Some(port) = port {
            parse_port(port).map_err(context)?;
        }
    }
    Ok(())
}

/// Splits one ProxyJump hop `[user@]host[:port]` (IPv6 hosts in brackets, or bare without
/// a port) into its parts.
pub fn split_hop(hop: &str) -> (&str, &str, Option<&str>) {
    let (user, rest) = hop.split_once('@').unwrap_or(("", hop));
    if let Some(inner) = rest.strip_prefix('[') {
        return match inner.split_once(']') {
            Some((host, tail)) => (user, host, tail.strip_prefix(':')),
            None => (user, rest, None),
        };
    }
    match rest.split_once(':') {
        Some((host, port)) if !port.contains(':') => (user, host, Some(port)),
        _ => (user, rest, None),
    }
}

/// One tag as a bulk action takes it: trimmed, lower-cased and checked like a draft's.
pub fn normalize_tag(tag: &str) -> Result<String, EngineError> {
    let tag = tag.trim().to_lowercase();
    let problem = if tag.is_empty() {
        Some("A tag is needed".to_string())
    } else {
        check_tags(std::slice::from_ref(&tag)).err()
    };
    match problem {
        Some(message) => Err(EngineError::validation(vec![FieldError {
            field: "tag".into(),
            message,
        }])),
        None => Ok(tag),
    }
}

fn check_tags(tags: &[String]) -> Result<(), String> {
    if tags.len() > TAGS_MAX {
        return Err(format!("At most {TAGS_MAX} tags"));
    }
    for tag in tags {
        if tag.chars().count() > TAG_MAX {
            return Err(format!("Tag {tag:?} is longer than {TAG_MAX} characters"));
        }
        if let Some(c) = tag
            .chars()
            .find(|c| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/')))
        {
            return Err(format!("Tag {tag:?} cannot contain {c:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> VmDraft {
        VmDraft {
            name: "web-1".into(),
            host: "10.0.0.5".into(),
            ..VmDraft::default()
        }
    }

    #[test]
    fn normalises_and_accepts_a_good_draft() {
        let d = VmDraft {
            name: "  web-1 ".into(),
            tags: vec!["Prod".into(), "web".into(), "prod".into(), " ".into()],
            key_file: Some("   ".into()),
            ..draft()
        }
        .validate()
        .unwrap();
        assert_eq!(d.name, "web-1");
        assert_eq!(d.tags, vec!["prod", "web"]);
        assert_eq!(d.key_file, None);
    }

    #[test]
    fn reports_every_bad_field_at_once() {
        let err = VmDraft {
            name: "".into(),
            host: "bad host".into(),
            port: 0,
            user: "a b".into(),
            auth: AuthMethod::KeyFile,
            ..VmDraft::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(err.code, crate::ErrorCode::Validation);
        for field in ["name", "host", "port", "user", "key_file"] {
            assert!(err.field(field).is_some(), "{field} not flagged: {err:?}");
        }
        assert_eq!(err.field("name"), Some("Name is required"));
    }

    #[test]
    fn hosts() {
        for ok in [
            "example.com",
            "10.1.2.3",
            "::1",
            "[fe80::1]",
            "db_1.lan",
            "localhost.",
        ] {
            assert!(check_host(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a..b", "-a.com", "a b", "x;rm -rf", "ho$t"] {
            assert!(check_host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports() {
        assert_eq!(parse_port("22"), Ok(22));
        assert_eq!(parse_port(" 65535 "), Ok(65535));
        for bad in ["0", "65536", "-1", "ssh", ""] {
            assert_eq!(parse_port(bad), Err(PORT_RANGE.to_string()), "{bad}");
        }
    }

    #[test]
    fn jump_hosts() {
        for ok in ["bastion", "ops@bastion:2222,inner", "[::1]:22", "::1"] {
            assert!(check_jump(ok, "web").is_ok(), "{ok}");
        }
        for bad in ["web", "a,,b", "a:0", "a b", "u@h:x"] {
            assert!(check_jump(bad, "web").is_err(), "{bad}");
        }
    }

    #[test]
    fn key_file_is_dropped_for_other_methods() {
        let d = VmDraft {
            key_file: Some("~/.ssh/id".into()),
            ..draft()
        }
        .validate()
        .unwrap();
        assert_eq!(d.key_file, None);
    }

    #[test]
    fn addresses() {
        let mut vm = Vm {
            id: VmId(1),
            name: "a".into(),
            host: "h".into(),
            port: 22,
            user: String::new(),
            auth: AuthMethod::Agent,
            key_file: None,
            jump_host: None,
            tags: vec![],
            notes: String::new(),
            created_at: 0,
            updated_at: 0,
        };
        assert_eq!(vm.address(), "h");
        vm.user = "root".into();
        vm.port = 2222;
        assert_eq!(vm.address(), "root@h:2222");
    }
}
