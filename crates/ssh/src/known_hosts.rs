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

/// The lines of `text` that name `host:port`, in file order. Comments, marker lines
/// (`@cert-authority`, `@revoked`: certificates are not supported) and lines whose key
/// cannot be read are skipped, as OpenSSH skips what it cannot use.
pub fn entries_for(text: &str, host: &str, port: u16) -> Vec<Entry> {
    let pattern = host_pattern(host, port);
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let mut fields = line.split_whitespace();
            let names = fields.next()?;
            if names.starts_with('#') || names.starts_with('@') || !names_match(names, &pattern) {
                return None;
            }
            let (kind, base64) = (fields.next()?, fields.next()?);
            let key = PublicKey::from_openssh(&format!("{kind} {base64}")).ok()?;
            Some(Entry {
                line: KnownHostsLine {
                    number: i + 1,
                    text: line.to_string(),
                },
                key,
            })
        })
        .collect()
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

/// The line that records `key` for `host:port`.
pub fn line_for(host: &str, port: u16, key: &PublicKey) -> Result<String, EncodingError> {
    Ok(format!("{} {}", host_pattern(host, port), openssh(key)?))
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

/// Whether the comma-separated names of a line include `pattern`: plainly (ignoring case)
/// or as a hashed name `|1|salt|hash` (HMAC-SHA1 of the name, keyed by the salt).
fn names_match(names: &str, pattern: &str) -> bool {
    names.split(',').any(|name| match name.strip_prefix("|1|") {
        Some(hashed) => hashed_match(hashed, pattern),
        None => name.eq_ignore_ascii_case(pattern),
    })
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
