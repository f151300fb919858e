//! Property tests of known_hosts handling: whatever the file holds (lines of any bytes,
//! other hosts' keys plain and hashed, markers, comments in Latin-1, CRLF), judging a key
//! never fails, a trusted key is found again, and replacing a changed key keeps every other
//! line byte for byte. A short run by default; `PROPTEST_CASES=100000 cargo test -p vmo-ssh
//! --test fuzz` runs the long one (see "Fuzzing" in README.md).

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use russh::keys::ssh_key::public::{Ed25519PublicKey, KeyData};
use russh::keys::{HashAlg, PublicKey};
use sha1::Sha1;
use vmo_ssh::{HostKeyVerdict, HostKeys, PresentedKey, SshErrorKind};

/// The case count: `PROPTEST_CASES` when set, else `short` (the CI run). Failures found
/// are kept in `tests/proptest-regressions/` and tried first on every run.
fn config(short: u32) -> ProptestConfig {
    let mut config = ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/fuzz.txt",
        ))),
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = short;
    }
    config
}

fn ed25519(bytes: [u8; 32]) -> PublicKey {
    PublicKey::new(KeyData::Ed25519(Ed25519PublicKey(bytes)), "")
}

fn openssh(key: &PublicKey) -> String {
    key.to_openssh().unwrap()
}

fn presented(host: &str, port: u16, key: &PublicKey) -> PresentedKey {
    PresentedKey {
        host: host.into(),
        port,
        algorithm: key.algorithm().to_string(),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        openssh: openssh(key),
    }
}

/// How known_hosts names `host:port`.
fn pattern(host: &str, port: u16) -> String {
    let host = host.to_ascii_lowercase();
    if port == 22 {
        host
    } else {
        format!("[{host}]:{port}")
    }
}

/// `name` hashed as `ssh-keygen -H` writes it.
fn hashed(name: &str, salt: [u8; 20]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(&salt).unwrap();
    mac.update(name.as_bytes());
    format!(
        "|1|{}|{}",
        BASE64.encode(&salt),
        BASE64.encode(&mac.finalize().into_bytes())
    )
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?(\\.[a-z0-9]{1,8}){0,3}",
        any::<std::net::Ipv4Addr>().prop_map(|a| a.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|a| a.to_string()),
    ]
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![Just(22u16), 1u16..]
}

/// One line of a known_hosts file as found in the wild, about `host:port` or not.
fn line(host: String, port: u16) -> impl Strategy<Value = Vec<u8>> {
    let ours = pattern(&host, port);
    prop_oneof![
        // Any bytes but a line break: Latin-1 comments, binary junk.
        prop::collection::vec(
            any::<u8>().prop_filter("no newline", |b| *b != b'\n'),
            0..60
        ),
        // Another host's key, plain or hashed, with or without a comment.
        (
            host_entry_name(),
            any::<[u8; 32]>(),
            any::<bool>(),
            any::<[u8; 20]>()
        )
            .prop_map(|(name, key, hash, salt)| {
                let name = if hash { hashed(&name, salt) } else { name };
                format!("{name} {} comment", openssh(&ed25519(key))).into_bytes()
            }),
        // This host with keys of other types, unreadable keys, markers, comments, CRLF.
        prop::sample::select(vec![
            format!("{ours} ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"),
            format!("{ours} ssh-foo AAAA"),
            format!("@revoked {ours} {}", openssh(&ed25519([7; 32]))),
            format!("@cert-authority *.example {}", openssh(&ed25519([8; 32]))),
            format!("# {ours} {}", openssh(&ed25519([9; 32]))),
            format!("other,{ours}"),
            format!("{ours}\r"),
            String::new(),
        ])
        .prop_map(String::into_bytes),
        Just(b"caf\xe9 # Latin-1 comment\r".to_vec()),
    ]
}

fn host_entry_name() -> impl Strategy<Value = String> {
    (host(), port()).prop_map(|(h, p)| pattern(&h, p))
}

/// A whole file: lines of every kind, with or without a final line break.
fn file(host: String, port: u16) -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(line(host, port), 0..12),
        any::<bool>(),
    )
        .prop_map(|(lines, last)| {
            let mut bytes = lines.join(&b"\n"[..]);
            if last && !bytes.is_empty() {
                bytes.push(b'\n');
            }
            bytes
        })
}

fn case() -> impl Strategy<Value = (String, u16, Vec<u8>, [u8; 32], [u8; 32])> {
    (host(), port()).prop_flat_map(|(h, p)| {
        (
            Just(h.clone()),
            Just(p),
            file(h, p),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
        )
    })
}

proptest! {
    #![proptest_config(config(128))]

    /// Judging never fails on what the file holds; trusting writes a line that is then
    /// found, after the old bytes left as they were; a changed key is refused, not trusted.
    #[test]
    fn a_trusted_key_is_found_again((host, port, bytes, a, _b) in case()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, &bytes).unwrap();
        let keys = HostKeys::new(path.clone(), false);
        let key = ed25519(a);
        let before = keys.judge(&host, port, &key);
        prop_assert!(before.is_ok(), "{:?}", before);
        let trusted = keys.trust(&presented(&host, port, &key), true);
        match before.unwrap() {
            HostKeyVerdict::Changed(_) => {
                prop_assert_eq!(trusted.unwrap_err().kind, SshErrorKind::HostKeyChanged);
                prop_assert_eq!(std::fs::read(&path).unwrap(), bytes);
            }
            HostKeyVerdict::Known | HostKeyVerdict::Unknown => {
                prop_assert!(trusted.is_ok(), "{:?}", trusted);
                prop_assert_eq!(keys.judge(&host, port, &key).unwrap(), HostKeyVerdict::Known);
                let after = std::fs::read(&path).unwrap();
                prop_assert!(after.starts_with(&bytes));
                prop_assert!(keys.verify(&host, port, &key).is_ok());
            }
        }
    }

    /// A changed key, replaced: the new key is known, the old one no longer, and every line
    /// not naming the host stays byte for byte.
    #[test]
    fn replacing_a_changed_key_keeps_every_other_line((host, port, bytes, a, b) in case()) {
        prop_assume!(a != b);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let (old, new) = (ed25519(a), ed25519(b));
        let mut bytes = bytes;
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(format!("{} {}\n", pattern(&host, port), openssh(&old)).as_bytes());
        std::fs::write(&path, &bytes).unwrap();
        let keys = HostKeys::new(path.clone(), false);
        let change = match keys.judge(&host, port, &new) {
            Ok(HostKeyVerdict::Changed(change)) => change,
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        let removed: Vec<usize> = change.removes.iter().map(|l| l.number).collect();
        prop_assert!(keys.replace(&change).is_ok());
        prop_assert_eq!(keys.judge(&host, port, &new).unwrap(), HostKeyVerdict::Known);
        prop_assert!(matches!(keys.judge(&host, port, &old).unwrap(), HostKeyVerdict::Changed(_)));
        let kept: Vec<u8> = bytes
            .split_inclusive(|b| *b == b'\n')
            .enumerate()
            .filter(|(i, _)| !removed.contains(&(i + 1)))
            .flat_map(|(_, line)| line.to_vec())
            .collect();
        let after = std::fs::read(&path).unwrap();
        prop_assert!(after.starts_with(&kept), "lines not naming the host changed");
        let added = format!("{} {}\n", pattern(&host, port), openssh(&new));
        prop_assert_eq!(&after[kept.len()..], added.as_bytes());
    }
}

#[test]
fn a_latin1_comment_breaks_no_lookup_and_survives_a_replace() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known_hosts");
    let (old, new) = (ed25519([1; 32]), ed25519([2; 32]));
    let bytes = [
        &b"# caf\xe9\n"[..],
        format!("web {}\nother {}\n", openssh(&old), openssh(&new)).as_bytes(),
    ]
    .concat();
    std::fs::write(&path, &bytes).unwrap();
    let keys = HostKeys::new(path.clone(), false);
    let Ok(HostKeyVerdict::Changed(change)) = keys.judge("web", 22, &new) else {
        panic!("the file with a Latin-1 comment could not be read");
    };
    assert_eq!(change.old_line.number, 2);
    keys.replace(&change).unwrap();
    let after = std::fs::read(&path).unwrap();
    assert!(after.starts_with(b"# caf\xe9\nother "), "{after:?}");
    assert!(after.ends_with(format!("web {}\n", openssh(&new)).as_bytes()));
}
