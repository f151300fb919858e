//! Host keys against the user's OpenSSH `known_hosts`. Known and matching: go. Unknown:
//! refused, unless the user trusted it (once, in memory; or always, written to the file),
//! or `accept_new` is on (like `StrictHostKeyChecking=accept-new`). Changed: always refused,
//! until the user replaces that one host's key after seeing the old and the new.

use super::error::{PresentedKey, SshError, SshErrorKind};
use super::known_hosts::{self, KnownHostsLine, Verdict};
use russh::keys::ssh_key::certificate::CertType;
use russh::keys::{Certificate, HashAlg, PublicKey};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub struct HostKeys {
    known_hosts: PathBuf,
    accept_new: bool,
    /// (host, port, fingerprint) the user trusted for this run of the app only.
    trusted_once: Mutex<HashSet<(String, u16, String)>>,
    /// One writer of known_hosts at a time in this process: a replace rewrites the file.
    writing: Mutex<()>,
}

/// What known_hosts (and this run's trust) says about a presented key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKeyVerdict {
    Known,
    Unknown,
    Changed(Box<ChangedKey>),
}

/// A server presenting another key than known_hosts records for it: what the user needs to
/// see before replacing it, and what a replace checks is still true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedKey {
    pub presented: PresentedKey,
    pub known_hosts: PathBuf,
    /// The line recording another key of the same type.
    pub old_line: KnownHostsLine,
    pub old_fingerprint: String,
    /// Every line naming this host, the old one included: a replace removes them all, as
    /// `ssh-keygen -R` would, then appends the new key.
    pub removes: Vec<KnownHostsLine>,
}

pub fn describe(host: &str, port: u16, key: &PublicKey) -> PresentedKey {
    PresentedKey {
        host: host.to_string(),
        port,
        algorithm: key.algorithm().to_string(),
        fingerprint: key.fingerprint(HashAlg::Sha256).to_string(),
        openssh: key.to_openssh().unwrap_or_default(),
    }
}

impl HostKeys {
    pub fn new(known_hosts: PathBuf, accept_new: bool) -> Self {
        Self {
            known_hosts,
            accept_new,
            trusted_once: Mutex::new(HashSet::new()),
            writing: Mutex::new(()),
        }
    }

    pub fn known_hosts(&self) -> &Path {
        &self.known_hosts
    }

    /// Ok if the key may be used; otherwise the precise refusal.
    pub fn verify(&self, host: &str, port: u16, key: &PublicKey) -> Result<(), SshError> {
        match self.judge(host, port, key)? {
            HostKeyVerdict::Known => Ok(()),
            HostKeyVerdict::Unknown if self.accept_new => {
                let fingerprint = key.fingerprint(HashAlg::Sha256);
                let _writing = self.writing.lock();
                // Judged again while holding the pen: a parallel connection may have written it.
                let text = self.read()?;
                match self.judge_in(&text, host, port, key, false)? {
                    HostKeyVerdict::Known => return Ok(()),
                    HostKeyVerdict::Changed(change) => return Err(self.changed(*change)),
                    HostKeyVerdict::Unknown => {}
                }
                let hashed = known_hosts::prefers_hashed(&text);
                self.append(&[line_for(host, port, key, hashed)?])?;
                tracing::info!(host = %known_hosts::host_pattern(host, port), %fingerprint, "new host key accepted and recorded");
                Ok(())
            }
            HostKeyVerdict::Unknown => Err(unknown(describe(host, port, key))),
            HostKeyVerdict::Changed(change) => Err(self.changed(*change)),
        }
    }

    /// Judges a presented key without accepting anything.
    pub fn judge(
        &self,
        host: &str,
        port: u16,
        key: &PublicKey,
    ) -> Result<HostKeyVerdict, SshError> {
        let text = self.read()?;
        self.judge_in(&text, host, port, key, true)
    }

    /// `with_once`: a key trusted for this run counts as known (not when about to write it).
    /// A key marked `@revoked` for the host is an error whatever else the file says.
    fn judge_in(
        &self,
        text: &str,
        host: &str,
        port: u16,
        key: &PublicKey,
        with_once: bool,
    ) -> Result<HostKeyVerdict, SshError> {
        if let Some(line) = known_hosts::revoked(text, host, port, key) {
            return Err(self.revoked(describe(host, port, key), line));
        }
        let entries = known_hosts::entries_for(text, host, port);
        Ok(match known_hosts::judge(&entries, key) {
            Verdict::Known => HostKeyVerdict::Known,
            Verdict::Unknown if !with_once => HostKeyVerdict::Unknown,
            Verdict::Unknown => {
                let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
                let once = (host.to_string(), port, fingerprint);
                if self
                    .trusted_once
                    .lock()
                    .is_ok_and(|set| set.contains(&once))
                {
                    HostKeyVerdict::Known
                } else {
                    HostKeyVerdict::Unknown
                }
            }
            Verdict::Changed(old) => HostKeyVerdict::Changed(Box::new(ChangedKey {
                presented: describe(host, port, key),
                known_hosts: self.known_hosts.clone(),
                old_fingerprint: old.fingerprint(),
                old_line: old.line,
                removes: entries.into_iter().map(|e| e.line).collect(),
            })),
        })
    }

    /// The user looked at the fingerprint and said yes. `always` writes known_hosts.
    pub fn trust(&self, key: &PresentedKey, always: bool) -> Result<(), SshError> {
        self.trust_all(std::slice::from_ref(key), always)
            .map(|_| ())
    }

    /// The user checked these keys and said yes to all of them: `always` writes them to
    /// known_hosts in one go, otherwise they are trusted until the app quits. Keys already
    /// known are skipped; returns how many were newly trusted. A changed key refuses the
    /// whole batch: it is never replaced in bulk, only one host at a time ([`Self::replace`]).
    pub fn trust_all(&self, keys: &[PresentedKey], always: bool) -> Result<usize, SshError> {
        let _writing = self.writing.lock();
        let text = self.read()?;
        let mut fresh: Vec<(&PresentedKey, PublicKey)> = Vec::new();
        for key in keys {
            let parsed = parse(key)?;
            match self.judge_in(&text, &key.host, key.port, &parsed, !always)? {
                HostKeyVerdict::Known => continue,
                HostKeyVerdict::Changed(change) => return Err(self.changed(*change)),
                HostKeyVerdict::Unknown => {}
            }
            let duplicate = fresh.iter().any(|(k, _)| {
                (k.host.as_str(), k.port, &k.fingerprint)
                    == (key.host.as_str(), key.port, &key.fingerprint)
            });
            if !duplicate {
                fresh.push((key, parsed));
            }
        }
        if always {
            let hashed = known_hosts::prefers_hashed(&text);
            let lines = fresh
                .iter()
                .map(|(k, parsed)| line_for(&k.host, k.port, parsed, hashed))
                .collect::<Result<Vec<_>, _>>()?;
            self.append(&lines)?;
        } else if let Ok(mut set) = self.trusted_once.lock() {
            for (k, _) in &fresh {
                set.insert((k.host.clone(), k.port, k.fingerprint.clone()));
            }
        }
        for (k, _) in &fresh {
            tracing::info!(host = %known_hosts::host_pattern(&k.host, k.port), fingerprint = %k.fingerprint, always, "host key trusted by the user");
        }
        Ok(fresh.len())
    }

    /// Replaces one host's changed key, as `ssh-keygen -R` then adding the new key would:
    /// only if known_hosts still holds exactly the lines the user was shown for that host.
    /// The caller checks that the server still presents `change.presented`.
    pub fn replace(&self, change: &ChangedKey) -> Result<(), SshError> {
        let key = &change.presented;
        let parsed = parse(key)?;
        let _writing = self.writing.lock();
        if change.known_hosts != self.known_hosts {
            return Err(outdated(format!(
                "the review was made against {}, not {}",
                change.known_hosts.display(),
                self.known_hosts.display()
            )));
        }
        let original = self.read_bytes()?;
        let text = known_hosts::text_of(&original);
        match self.judge_in(&text, &key.host, key.port, &parsed, false)? {
            HostKeyVerdict::Changed(now)
                if now.removes == change.removes
                    && now.removes.contains(&change.old_line)
                    && now.old_fingerprint == change.old_fingerprint => {}
            _ => {
                return Err(outdated(format!(
                    "{} changed since the review of {}; look again before replacing",
                    self.known_hosts.display(),
                    known_hosts::host_pattern(&key.host, key.port)
                )))
            }
        }
        let numbers: Vec<usize> = change.removes.iter().map(|l| l.number).collect();
        let line = line_for(
            &key.host,
            key.port,
            &parsed,
            known_hosts::prefers_hashed(&text),
        )?;
        known_hosts::rewrite(&self.known_hosts, &original, &numbers, &line)
            .map_err(|e| self.write_error(e))?;
        tracing::warn!(
            host = %known_hosts::host_pattern(&key.host, key.port),
            old_fingerprint = %change.old_fingerprint,
            new_fingerprint = %key.fingerprint,
            file = %self.known_hosts.display(),
            line = change.old_line.number,
            removed_lines = numbers.len(),
            "host key replaced by the user"
        );
        Ok(())
    }

    fn changed(&self, change: ChangedKey) -> SshError {
        let presented = change.presented;
        SshError {
            kind: SshErrorKind::HostKeyChanged,
            message: format!(
                "HOST KEY CHANGED for {}: it now presents {} {}, but line {} of {} holds another key ({}). \
                 Someone may be intercepting the connection, or the host was reinstalled. \
                 Refusing to connect; replace the old key only if you know why it changed.",
                known_hosts::host_pattern(&presented.host, presented.port),
                presented.algorithm,
                presented.fingerprint,
                change.old_line.number,
                self.known_hosts.display(),
                change.old_fingerprint,
            ),
            host_key: Some(Box::new(presented)),
            secret: None,
        }
    }

    /// Whether a `@cert-authority` line applies to the host: then the connection asks the
    /// server for its host certificate.
    pub fn trusts_authority_for(&self, host: &str, port: u16) -> bool {
        self.read()
            .is_ok_and(|text| !known_hosts::authorities_for(&text, host, port).is_empty())
    }

    /// A host certificate is accepted as OpenSSH accepts one: a `@cert-authority` line for
    /// the host names the key that signed it, the signature holds, it is a host
    /// certificate valid now with no critical option, it names the host among its
    /// principals, and neither its key nor its authority is `@revoked`. Trust on first use
    /// does not apply: an authority is trusted in known_hosts or not at all.
    pub fn verify_certificate(
        &self,
        host: &str,
        port: u16,
        cert: &Certificate,
    ) -> Result<(), SshError> {
        let text = self.read()?;
        let pattern = known_hosts::host_pattern(host, port);
        let refuse = |why: String| {
            SshError::new(
                SshErrorKind::HostKeyUnknown,
                format!("the host certificate of {pattern} is not accepted: {why}"),
            )
        };
        let key = PublicKey::new(cert.public_key().clone(), "");
        let authority = PublicKey::new(cert.signature_key().clone(), "");
        for presented in [&key, &authority] {
            if let Some(line) = known_hosts::revoked(&text, host, port, presented) {
                return Err(self.revoked(describe(host, port, presented), line));
            }
        }
        let authorities = known_hosts::authorities_for(&text, host, port);
        let signer = authority.fingerprint(HashAlg::Sha256);
        if !authorities
            .iter()
            .any(|a| a.key.key_data() == authority.key_data())
        {
            return Err(refuse(format!(
                "it is signed by {signer}, which no @cert-authority line of {} trusts for it",
                self.known_hosts.display()
            )));
        }
        if cert.cert_type() != CertType::Host {
            return Err(refuse("it is a user certificate".into()));
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if now < cert.valid_after() || now >= cert.valid_before() {
            return Err(refuse(format!(
                "it is valid from {} to {} (Unix time), not now ({now})",
                cert.valid_after(),
                cert.valid_before()
            )));
        }
        if cert.validate_at(now, [&signer]).is_err() {
            return Err(refuse(format!("its signature by {signer} does not verify")));
        }
        if !cert
            .valid_principals()
            .iter()
            .any(|p| p.eq_ignore_ascii_case(host))
        {
            return Err(refuse(format!(
                "it names {:?}, not {host}",
                cert.valid_principals()
            )));
        }
        if !cert.critical_options().is_empty() {
            return Err(refuse("it has critical options".into()));
        }
        Ok(())
    }

    fn revoked(&self, presented: PresentedKey, line: KnownHostsLine) -> SshError {
        SshError {
            kind: SshErrorKind::HostKeyRevoked,
            message: format!(
                "REVOKED HOST KEY for {}: it presents {} {}, which line {} of {} marks @revoked. \
                 Refusing to connect; this key can never be trusted.",
                known_hosts::host_pattern(&presented.host, presented.port),
                presented.algorithm,
                presented.fingerprint,
                line.number,
                self.known_hosts.display(),
            ),
            host_key: Some(Box::new(presented)),
            secret: None,
        }
    }

    fn read(&self) -> Result<String, SshError> {
        known_hosts::read(&self.known_hosts).map_err(|e| self.read_error(e))
    }

    fn read_bytes(&self) -> Result<Vec<u8>, SshError> {
        known_hosts::read_bytes(&self.known_hosts).map_err(|e| self.read_error(e))
    }

    fn read_error(&self, e: std::io::Error) -> SshError {
        SshError::new(
            SshErrorKind::Config,
            format!("cannot read {}: {e}", self.known_hosts.display()),
        )
    }

    fn append(&self, lines: &[String]) -> Result<(), SshError> {
        known_hosts::append(&self.known_hosts, lines).map_err(|e| self.write_error(e))
    }

    fn write_error(&self, e: std::io::Error) -> SshError {
        SshError::new(
            SshErrorKind::Config,
            format!("cannot write {}: {e}", self.known_hosts.display()),
        )
    }
}

/// The refusal of a key nobody has said yes to. Neutral words: each front end adds its own
/// advice (the app offers its review, `vmo` names its flag).
fn unknown(presented: PresentedKey) -> SshError {
    SshError {
        kind: SshErrorKind::HostKeyUnknown,
        message: format!(
            "the host key of {} is not known ({} {}); check its fingerprint before trusting it",
            known_hosts::host_pattern(&presented.host, presented.port),
            presented.algorithm,
            presented.fingerprint
        ),
        host_key: Some(Box::new(presented)),
        secret: None,
    }
}

fn outdated(message: String) -> SshError {
    SshError::new(SshErrorKind::Outdated, message)
}

/// The key a front end sends back, checked against its own fingerprint.
fn parse(key: &PresentedKey) -> Result<PublicKey, SshError> {
    let parsed = PublicKey::from_openssh(&key.openssh).map_err(|e| {
        SshError::new(
            SshErrorKind::Protocol,
            format!("not an OpenSSH public key: {e}"),
        )
    })?;
    if parsed.fingerprint(HashAlg::Sha256).to_string() != key.fingerprint {
        return Err(SshError::new(
            SshErrorKind::Protocol,
            "the key does not match its fingerprint",
        ));
    }
    Ok(parsed)
}

fn line_for(host: &str, port: u16, key: &PublicKey, hashed: bool) -> Result<String, SshError> {
    known_hosts::line_for(host, port, key, hashed)
        .map_err(|e| SshError::new(SshErrorKind::Protocol, e.to_string()))
}
