//! The OpenSSH `known_hosts` file as text: which lines name a host (plain or hashed), what
//! they say about a presented key, appending trusted keys, and removing a host's lines the
//! way `ssh-keygen -R` does. No policy here: [`super::host_keys`] decides.
//!
//! Our own reader rather than russh's: russh's line numbers skip comment lines (we show the
//! number to the user, who opens the file in an editor) and a single line with a key type it
//! does not know makes its whole check fail; OpenSSH skips such lines.

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::{HashAlg, PublicKey};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use std::io::Write as _;
use std::path::Path;
use wildmatch::WildMatch;

pub type EncodingError = russh::keys::ssh_key::Error;

/// One line of the file as it stands: its 1-based number and its text (no line break).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownHostsLine {
    pub number: usize,
    pub text: String,
}

/// A line naming the host, with the key it records.
#[derive(Debug, Clone)]
pub struct Entry {
    pub line: KnownHostsLine,
    pub key: PublicKey,
}

impl Entry {
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }
}

/// What the file says about a presented key.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// A line for the host records this very key.
    Known,
    /// No line for the host records a key of this type.
    Unknown,
    /// A line for the host records another key of the same type.
    Changed(Entry),
}

/// How a host is written in known_hosts: `host`, or `[host]:port` off port 22.
pub fn host_pattern(host: &str, port: u16) -> String {
    // OpenSSH looks names up in lower case.
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// The file's bytes; a missing file is an empty one.
pub fn read_bytes(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

/// The file's text; a missing file is an empty one. Bytes that are not UTF-8 (a comment
/// written in Latin-1) read as U+FFFD, as OpenSSH reads bytes: they name no host we look
/// up, and every line keeps its number. Rewrites work on the bytes ([`rewrite`]).
pub fn read(path: &Path) -> std::io::Result<String> {
    Ok(match String::from_utf8(read_bytes(path)?) {
        Ok(text) => text,
        Err(e) => text_of(e.as_bytes()).into_owned(),
    })
}

/// `bytes` as text, U+FFFD for what is not UTF-8 (a line break always is UTF-8).
pub fn text_of(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// What a line of the file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marker {
    /// A plain line: the host's key.
    HostKey,
    /// `@revoked`: this key must never be accepted for the named hosts.
    Revoked,
    /// `@cert-authority`: host certificates signed by this key are trusted.
    CertAuthority,
}

/// The lines of `text` that name `host:port`, with their marker, in file order. Comments,
/// unknown markers and lines whose key cannot be read are skipped, as OpenSSH skips what it
/// cannot use.
fn lines_naming(text: &str, host: &str, port: u16) -> Vec<(Marker, Entry)> {
    let pattern = host_pattern(host, port);
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let mut fields = line.split_whitespace();
            let (marker, names) = match fields.next()? {
                "@revoked" => (Marker::Revoked, fields.next()?),
                "@cert-authority" => (Marker::CertAuthority, fields.next()?),
                first if first.starts_with('#') || first.starts_with('@') => return None,
                names => (Marker::HostKey, names),
            };
            if !names_match(names, &pattern) {
                return None;
            }
            let (kind, base64) = (fields.next()?, fields.next()?);
            let key = PublicKey::from_openssh(&format!("{kind} {base64}")).ok()?;
            let line = KnownHostsLine {
                number: i + 1,
                text: line.to_string(),
            };
            Some((marker, Entry { line, key }))
        })
        .collect()
}

fn with_marker(text: &str, host: &str, port: u16, wanted: Marker) -> Vec<Entry> {
    lines_naming(text, host, port)
        .into_iter()
        .filter(|(marker, _)| *marker == wanted)
        .map(|(_, entry)| entry)
        .collect()
}

/// The plain lines that record a key for `host:port` (what `ssh-keygen -R` removes).
pub fn entries_for(text: &str, host: &str, port: u16) -> Vec<Entry> {
    with_marker(text, host, port, Marker::HostKey)
}

/// The `@revoked` line that bans `key` for `host:port`, if any: such a key is refused even
/// where another line records it, and can never be trusted.
pub fn revoked(text: &str, host: &str, port: u16, key: &PublicKey) -> Option<KnownHostsLine> {
    with_marker(text, host, port, Marker::Revoked)
        .into_iter()
        .find(|e| e.key.key_data() == key.key_data())
        .map(|e| e.line)
}

/// The `@cert-authority` lines that apply to `host:port`, with the authority's key.
pub fn authorities_for(text: &str, host: &str, port: u16) -> Vec<Entry> {
    with_marker(text, host, port, Marker::CertAuthority)
}

/// Whether new lines should name hosts hashed, as `HashKnownHosts yes` makes OpenSSH do:
/// when every host line already in the file is hashed.
pub fn prefers_hashed(text: &str) -> bool {
    let mut names = text
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|first| !first.starts_with('#') && !first.starts_with('@'))
        .peekable();
    names.peek().is_some() && names.all(|n| n.starts_with("|1|"))
}

/// Judges `key` against the host's entries: a matching line wins over a differing one.
pub fn judge(entries: &[Entry], key: &PublicKey) -> Verdict {
    if entries.iter().any(|e| e.key.key_data() == key.key_data()) {
        return Verdict::Known;
    }
    match entries
        .iter()
        .find(|e| e.key.algorithm() == key.algorithm())
    {
        Some(old) => Verdict::Changed(old.clone()),
        None => Verdict::Unknown,
    }
}

/// The line that records `key` for `host:port`, the name hashed when `hashed`.
pub fn line_for(host: &str, port: u16, key: &PublicKey, hashed: bool) -> Result<String, LineError> {
    let pattern = host_pattern(host, port);
    let name = if hashed {
        hash_name(&pattern)?
    } else {
        pattern
    };
    Ok(format!("{name} {}", openssh(key)?))
}

/// Why a line could not be made.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("cannot encode the key: {0}")]
    Encoding(#[from] EncodingError),
    #[error("no randomness for a hashed name: {0}")]
    Random(#[from] getrandom::Error),
    #[error("cannot hash the host name")]
    Hash,
}

/// `|1|salt|hash`: HMAC-SHA1 of the name keyed by a random 20-byte salt, as OpenSSH writes.
fn hash_name(pattern: &str) -> Result<String, LineError> {
    let mut salt = [0u8; 20];
    getrandom::fill(&mut salt)?;
    let hash = Hmac::<Sha1>::new_from_slice(&salt)
        .map_err(|_| LineError::Hash)?
        .chain_update(pattern.as_bytes())
        .finalize()
        .into_bytes();
    Ok(format!(
        "|1|{}|{}",
        BASE64.encode(&salt),
        BASE64.encode(&hash)
    ))
}

/// Appends `lines` in one write, after a line break if the file lacks a final one; creates
/// the file (and its folder, private like `~/.ssh`) if needed.
pub fn append(path: &Path, lines: &[String]) -> std::io::Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    ensure_folder(path)?;
    let existing = read_bytes(path)?;
    let mut text = String::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        text.push('\n');
    }
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()
}

/// Rewrites the file (`original`: its bytes as read) without the lines numbered `remove` and
/// with `add` at the end, through a temporary file renamed over it (a crash leaves the old
/// file or the new, never half), and with the old file's permissions. Every other line stays
/// byte for byte, UTF-8 or not.
pub fn rewrite(path: &Path, original: &[u8], remove: &[usize], add: &str) -> std::io::Result<()> {
    let mut out = Vec::with_capacity(original.len() + add.len() + 1);
    for (i, line) in original.split_inclusive(|b| *b == b'\n').enumerate() {
        if !remove.contains(&(i + 1)) {
            out.extend_from_slice(line);
        }
    }
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(add.as_bytes());
    out.push(b'\n');
    // A symlinked known_hosts (dotfile managers) keeps its link: replace what it points to.
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(folder)?;
    temp.write_all(&out)?;
    temp.as_file().sync_all()?;
    if let Ok(meta) = std::fs::metadata(&path) {
        std::fs::set_permissions(temp.path(), meta.permissions())?;
    }
    temp.persist(&path).map_err(|e| e.error)?;
    Ok(())
}

/// `ssh-ed25519 AAAA…` without a comment.
fn openssh(key: &PublicKey) -> Result<String, EncodingError> {
    let mut bare = key.clone();
    bare.set_comment("");
    bare.to_openssh()
}

fn ensure_folder(path: &Path) -> std::io::Result<()> {
    let Some(folder) = path.parent().filter(|f| !f.as_os_str().is_empty()) else {
        return Ok(());
    };
    if !folder.exists() {
        use std::os::unix::fs::DirBuilderExt as _;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(folder)?;
    }
    Ok(())
}

/// Whether the comma-separated names of a line include `pattern`, as OpenSSH matches them:
/// a hashed name `|1|salt|hash` (HMAC-SHA1 of the name, keyed by the salt), or a pattern
/// with `*` and `?` wildcards, ignoring case; a matching negated pattern (`!name`) excludes
/// the host whatever else matches.
fn names_match(names: &str, pattern: &str) -> bool {
    let mut matched = false;
    for name in names.split(',') {
        if let Some(hashed) = name.strip_prefix("|1|") {
            matched |= hashed_match(hashed, pattern);
            continue;
        }
        let (negated, glob) = match name.strip_prefix('!') {
            Some(glob) => (true, glob),
            None => (false, name),
        };
        if WildMatch::new_case_insensitive(glob).matches(pattern) {
            if negated {
                return false;
            }
            matched = true;
        }
    }
    matched
}

fn hashed_match(hashed: &str, pattern: &str) -> bool {
    let Some((salt, hash)) = hashed.split_once('|') else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (
        BASE64.decode(salt.as_bytes()),
        BASE64.decode(hash.as_bytes()),
    ) else {
        return false;
    };
    let Ok(mac) = Hmac::<Sha1>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(pattern.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";
    const KEY_B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA6rWI3G1sz07DnfFlrouTcysQlj2P+jpNSOEWD9OJ3X";
    const KEY_C: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";
    /// `example.com` hashed (from russh's tests), recording KEY_C.
    const HASHED: &str = "|1|O33ESRMWPVkMYIwJ1Uw+n877jTo=|nuuC5vEqXlEZ/8BXQR7m619W6Ak= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILIG2T/B0l0gaqj3puu510tu9N1OkQ4znY3LYuEm5zCF";

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    #[test]
    fn line_numbers_count_comments_and_unknown_key_types_are_skipped() {
        let text = format!(
            "# a comment\n\n[web]:2222 {KEY_A}\nweb ssh-foo AAAA\nother,WEB {KEY_B} a comment\n@revoked web {KEY_A}\n"
        );
        let entries = entries_for(&text, "web", 22);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].line.number, 5);
        assert_eq!(entries[0].line.text, format!("other,WEB {KEY_B} a comment"));
        let on_port = entries_for(&text, "WEB", 2222);
        assert_eq!(on_port[0].line.number, 3);
    }

    #[test]
    fn markers_are_kept_apart_from_host_keys() {
        let text =
            format!("@revoked * {KEY_A}\n@cert-authority *.lab,!db.lab {KEY_B}\nweb.lab {KEY_B}\n");
        assert_eq!(entries_for(&text, "web.lab", 22).len(), 1);
        assert_eq!(
            revoked(&text, "web.lab", 22, &key(KEY_A)).map(|l| l.number),
            Some(1)
        );
        assert!(revoked(&text, "web.lab", 22, &key(KEY_B)).is_none());
        assert_eq!(authorities_for(&text, "WEB.lab", 22)[0].line.number, 2);
        assert!(authorities_for(&text, "db.lab", 22).is_empty(), "negated");
        assert!(authorities_for(&text, "web.lab", 2222).is_empty(), "port");
    }

    #[test]
    fn hashing_is_chosen_only_for_a_fully_hashed_file() {
        assert!(!prefers_hashed(""));
        assert!(prefers_hashed(&format!(
            "# c\n{HASHED}\n@revoked * {KEY_A}\n"
        )));
        assert!(!prefers_hashed(&format!("{HASHED}\nweb {KEY_A}\n")));
        let line = line_for("Example.com", 22, &key(KEY_C), true).unwrap();
        assert!(line.starts_with("|1|"), "{line}");
        assert_eq!(entries_for(&line, "example.com", 22).len(), 1);
        assert!(entries_for(&line, "example.org", 22).is_empty());
    }

    #[test]
    fn hashed_names_match() {
        assert_eq!(entries_for(HASHED, "example.com", 22).len(), 1);
        assert!(entries_for(HASHED, "example.org", 22).is_empty());
    }

    #[test]
    fn verdicts() {
        let text = format!("web {KEY_A}\n");
        let entries = entries_for(&text, "web", 22);
        assert!(matches!(judge(&entries, &key(KEY_A)), Verdict::Known));
        match judge(&entries, &key(KEY_B)) {
            Verdict::Changed(old) => assert_eq!(old.line.number, 1),
            other => panic!("{other:?}"),
        }
        assert!(matches!(judge(&[], &key(KEY_A)), Verdict::Unknown));
    }

    #[test]
    fn rewrite_removes_only_the_given_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let text = format!("a {KEY_A}\r\nweb {KEY_A}\n# keep\nb {KEY_B}");
        std::fs::write(&path, &text).unwrap();
        rewrite(&path, text.as_bytes(), &[2], &format!("web {KEY_B}")).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("a {KEY_A}\r\n# keep\nb {KEY_B}\nweb {KEY_B}\n")
        );
    }

    #[test]
    fn rewrite_keeps_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        let link = dir.path().join("known_hosts");
        std::fs::write(&real, format!("web {KEY_A}\n")).unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        rewrite(
            &link,
            format!("web {KEY_A}\n").as_bytes(),
            &[1],
            &format!("web {KEY_B}"),
        )
        .unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read_to_string(&real).unwrap(),
            format!("web {KEY_B}\n")
        );
    }

    #[test]
    fn append_adds_a_missing_line_break_and_creates_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ssh/known_hosts");
        append(&path, &["x y".into()]).unwrap();
        std::fs::write(&path, "x y").unwrap();
        append(&path, &["a b".into(), "c d".into()]).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "x y\na b\nc d\n");
    }
}
