//! Host keys at fleet scale against real sshd servers: a scan judges many keys at once,
//! trusting them is one write, and a changed key is replaced one host at a time only.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use vmo_ssh::AuthMethod;
use vmo_ssh::{KeyStatus, NoSecrets, Ssh, SshErrorKind, SshSettings, Target};
use vmo_testkit::Fleet;

fn ssh_with(known_hosts: &Path) -> Ssh {
    let settings = SshSettings {
        known_hosts: known_hosts.to_path_buf(),
        accept_new: false,
        connect_timeout: Duration::from_secs(5),
        keepalive: Duration::from_secs(30),
        idle_expiry: Duration::from_secs(300),
        agent_socket: None,
    };
    Ssh::new(&settings, Arc::new(NoSecrets))
}

fn target(fleet: &Fleet, i: usize) -> Target {
    let host = &fleet.hosts()[i];
    Target {
        auth: AuthMethod::KeyFile,
        key_file: Some(fleet.client_key().to_path_buf()),
        ..Target::direct(host.name(), "127.0.0.1", host.port(), &fleet.user())
    }
}

fn targets(fleet: &Fleet) -> Vec<Target> {
    (0..fleet.hosts().len()).map(|i| target(fleet, i)).collect()
}

/// The fleet's known_hosts line for host `i` (as of its start).
fn fleet_line(fleet: &Fleet, i: usize) -> String {
    let prefix = format!("[127.0.0.1]:{} ", fleet.hosts()[i].port());
    std::fs::read_to_string(fleet.known_hosts())
        .unwrap()
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_scan_judges_known_unknown_changed_unreachable_and_jumped_hosts() {
    let fleet = Fleet::start(4);
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    // host0 known, host1 never seen, host2 reinstalled since, host3 down.
    let old_fingerprint = fleet.host_key_fingerprint(2);
    let text = format!(
        "# kept by hand\n{}\n{}\n",
        fleet_line(&fleet, 0),
        fleet_line(&fleet, 2)
    );
    std::fs::write(&known_hosts, &text).unwrap();
    fleet.restart_host(2, true);
    fleet.stop_host(3);
    let ssh = ssh_with(&known_hosts);

    let mut all = targets(&fleet);
    // host1 again, through host0 as its jump host.
    all.push(Target {
        jump: Some(Box::new(target(&fleet, 0))),
        name: "host1-via-host0".into(),
        ..target(&fleet, 1)
    });
    let scans = ssh.scan_host_keys(all).await;
    assert_eq!(scans.len(), 5);
    assert!(
        matches!(&scans[0].status, KeyStatus::Known(k) if k.fingerprint == fleet.host_key_fingerprint(0)),
        "{scans:?}"
    );
    match &scans[1].status {
        KeyStatus::Unknown(k) => {
            assert_eq!(k.fingerprint, fleet.host_key_fingerprint(1));
            assert_eq!(k.algorithm, "ssh-ed25519");
            assert_eq!(k.port, fleet.hosts()[1].port());
        }
        other => panic!("host1: {other:?}"),
    }
    match &scans[2].status {
        KeyStatus::Changed(change) => {
            assert_eq!(change.presented.fingerprint, fleet.host_key_fingerprint(2));
            assert_eq!(change.old_fingerprint, old_fingerprint);
            assert_eq!(change.old_line.number, 3, "comments count as lines");
            assert_eq!(change.old_line.text, fleet_line(&fleet, 2));
            assert_eq!(change.removes, vec![change.old_line.clone()]);
            assert_eq!(change.known_hosts, known_hosts);
        }
        other => panic!("host2: {other:?}"),
    }
    match &scans[3].status {
        KeyStatus::Error(e) => assert_eq!(e.kind, SshErrorKind::Refused, "{e:?}"),
        other => panic!("host3: {other:?}"),
    }
    assert!(
        matches!(&scans[4].status, KeyStatus::Unknown(k) if k.fingerprint == fleet.host_key_fingerprint(1)),
        "{:?}",
        scans[4]
    );
    // No login happened on the scanned hosts (only the jump host logs us in), nothing written.
    assert_eq!(fleet.accepted_logins(1), 0);
    assert_eq!(fleet.accepted_logins(2), 0);
    assert_eq!(fleet.accepted_logins(0), 1, "the jump host, once");
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), text);
}

#[tokio::test]
async fn trusting_many_keys_writes_them_in_one_go_and_connections_succeed() {
    let fleet = Fleet::start(6);
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("ssh/known_hosts");
    let ssh = ssh_with(&known_hosts);
    let scans = ssh.scan_host_keys(targets(&fleet)).await;
    let keys: Vec<_> = scans
        .iter()
        .map(|s| match &s.status {
            KeyStatus::Unknown(key) => key.clone(),
            other => panic!("{}: {other:?}", s.name),
        })
        .collect();
    assert!(!known_hosts.exists());

    // Once: nothing written, connections succeed in this engine only.
    assert_eq!(ssh.host_keys().trust_all(&keys, false).unwrap(), 6);
    assert!(!known_hosts.exists());
    assert!(ssh.test(&target(&fleet, 5)).await.ok);
    assert!(
        matches!(
            ssh.scan_host_keys(vec![target(&fleet, 0)]).await[0].status,
            KeyStatus::Known(_)
        ),
        "trusted once counts as known"
    );

    // Always: one line per host, and a fresh engine connects to every host.
    let fresh = ssh_with(&known_hosts);
    assert_eq!(fresh.host_keys().trust_all(&keys, true).unwrap(), 6);
    let written = std::fs::read_to_string(&known_hosts).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 6, "{written}");
    for i in 0..6 {
        let expected = format!(
            "[127.0.0.1]:{} {}",
            fleet.hosts()[i].port(),
            fleet.host_public_key(i)
        );
        assert!(
            lines.contains(&expected.as_str()),
            "{expected} not in\n{written}"
        );
    }
    let again = ssh_with(&known_hosts);
    for t in targets(&fleet) {
        let report = again.test(&t).await;
        assert!(report.ok, "{report:?}");
    }
    // Known keys are skipped: trusting again writes nothing.
    assert_eq!(again.host_keys().trust_all(&keys, true).unwrap(), 0);
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), written);
}

#[tokio::test]
async fn a_bulk_trust_refuses_a_changed_key_and_writes_nothing() {
    let fleet = Fleet::start(2);
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let text = format!("{}\n", fleet_line(&fleet, 0));
    std::fs::write(&known_hosts, &text).unwrap();
    fleet.restart_host(0, true);
    let ssh = ssh_with(&known_hosts);
    let scans = ssh.scan_host_keys(targets(&fleet)).await;
    let KeyStatus::Changed(change) = &scans[0].status else {
        panic!("{scans:?}")
    };
    let KeyStatus::Unknown(unknown) = &scans[1].status else {
        panic!("{scans:?}")
    };
    for always in [true, false] {
        let err = ssh
            .host_keys()
            .trust_all(&[unknown.clone(), change.presented.clone()], always)
            .unwrap_err();
        assert_eq!(err.kind, SshErrorKind::HostKeyChanged, "{err:?}");
    }
    // Neither key was trusted: not the changed one, not the unknown one beside it.
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), text);
    let report = ssh.test(&target(&fleet, 1)).await;
    assert_eq!(
        report.error.map(|e| e.kind),
        Some(SshErrorKind::HostKeyUnknown)
    );
    // The single-key trust refuses it as well.
    let err = ssh.host_keys().trust(&change.presented, true).unwrap_err();
    assert_eq!(err.kind, SshErrorKind::HostKeyChanged);
}

#[tokio::test]
async fn replacing_a_changed_key_touches_that_host_only_and_refuses_stale_reviews() {
    let fleet = Fleet::start(3);
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let (line0, line1, line2) = (
        fleet_line(&fleet, 0),
        fleet_line(&fleet, 1),
        fleet_line(&fleet, 2),
    );
    let before = format!("# my hosts\n{line0}\n{line1}\n\n{line2}\nother.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ\n");
    std::fs::write(&known_hosts, &before).unwrap();
    fleet.restart_host(1, true);
    let ssh = ssh_with(&known_hosts);
    let t1 = target(&fleet, 1);
    let KeyStatus::Changed(change) = ssh.scan_host_keys(vec![t1.clone()]).await.remove(0).status
    else {
        panic!("host1 should present a changed key")
    };
    assert_eq!(change.old_line.number, 3);

    // The review goes stale: the server changes its key once more before the user confirms.
    fleet.restart_host(1, true);
    let err = ssh.replace_host_key(&t1, &change).await.unwrap_err();
    assert_eq!(err.kind, SshErrorKind::Outdated, "{err:?}");
    assert!(
        err.message.contains(&fleet.host_key_fingerprint(1)),
        "{err:?}"
    );
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), before);

    // Looked at again; meanwhile someone edits known_hosts: stale as well.
    let KeyStatus::Changed(change) = ssh.scan_host_keys(vec![t1.clone()]).await.remove(0).status
    else {
        panic!("host1 should present a changed key")
    };
    let edited = format!("# edited\n{before}");
    std::fs::write(&known_hosts, &edited).unwrap();
    let err = ssh.replace_host_key(&t1, &change).await.unwrap_err();
    assert_eq!(err.kind, SshErrorKind::Outdated, "{err:?}");
    assert_eq!(std::fs::read_to_string(&known_hosts).unwrap(), edited);
    std::fs::write(&known_hosts, &before).unwrap();

    // Confirmed while it holds: exactly that line goes, the new key is appended.
    ssh.replace_host_key(&t1, &change).await.unwrap();
    let after = std::fs::read_to_string(&known_hosts).unwrap();
    let new_line = format!(
        "[127.0.0.1]:{} {}",
        fleet.hosts()[1].port(),
        fleet.host_public_key(1)
    );
    assert_eq!(
        after,
        format!("{}{new_line}\n", before.replace(&format!("{line1}\n"), ""))
    );
    assert!(ssh_with(&known_hosts).test(&t1).await.ok);
    // The other hosts still connect.
    assert!(ssh_with(&known_hosts).test(&target(&fleet, 2)).await.ok);
}

#[tokio::test]
async fn a_hashed_entry_is_replaced_too() {
    let fleet = Fleet::start(2);
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    std::fs::copy(fleet.known_hosts(), &known_hosts).unwrap();
    // Hash the names, as Debian's HashKnownHosts does.
    let hashed = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&known_hosts)
        .output()
        .unwrap();
    assert!(hashed.status.success(), "{hashed:?}");
    let before = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(before.starts_with("|1|"), "{before}");
    assert!(ssh_with(&known_hosts).test(&target(&fleet, 0)).await.ok);

    fleet.restart_host(0, true);
    let ssh = ssh_with(&known_hosts);
    let t0 = target(&fleet, 0);
    let KeyStatus::Changed(change) = ssh.scan_host_keys(vec![t0.clone()]).await.remove(0).status
    else {
        panic!("host0 should present a changed key")
    };
    assert!(change.old_line.text.starts_with("|1|"));
    ssh.replace_host_key(&t0, &change).await.unwrap();
    let after = std::fs::read_to_string(&known_hosts).unwrap();
    assert!(!after.contains(&change.old_line.text));
    assert_eq!(after.lines().count(), 2, "{after}");
    assert!(ssh.test(&t0).await.ok);
    assert!(ssh.test(&target(&fleet, 1)).await.ok);
}

#[tokio::test]
async fn the_unknown_key_message_names_no_command_line_flag() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let ssh = ssh_with(&dir.path().join("known_hosts"));
    let error = ssh.test(&target(&fleet, 0)).await.error.unwrap();
    assert_eq!(error.kind, SshErrorKind::HostKeyUnknown);
    assert!(error.message.contains(&fleet.host_key_fingerprint(0)));
    assert!(!error.message.contains("--"), "{}", error.message);
}

#[tokio::test]
async fn a_silent_host_is_given_up_after_the_patience_given() {
    // Accepts TCP connections and never says a word.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let ssh = ssh_with(&dir.path().join("known_hosts"));
    let started = std::time::Instant::now();
    let scans = ssh
        .scan_host_keys_within(
            vec![Target::direct("silent", "127.0.0.1", port, "nobody")],
            Duration::from_millis(500),
        )
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    match &scans[0].status {
        KeyStatus::Error(e) => assert_eq!(e.kind, SshErrorKind::ConnectTimeout, "{e:?}"),
        other => panic!("{other:?}"),
    }
}

/// The host key of host `i` as `type base64`, from its `.pub` file.
fn host_public_key(fleet: &Fleet, i: usize) -> String {
    let public = fleet.hosts()[i].host_key().with_extension("pub");
    let text = std::fs::read_to_string(&public).unwrap();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn a_revoked_key_is_refused_even_when_recorded_and_can_never_be_trusted() {
    let fleet = Fleet::start(2);
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    // host0's key is recorded AND revoked for every host, as OpenSSH's `@revoked *` line.
    let text = format!(
        "{}\n{}\n@revoked * {}\n",
        fleet_line(&fleet, 0),
        fleet_line(&fleet, 1),
        host_public_key(&fleet, 0)
    );
    std::fs::write(&known_hosts, &text).unwrap();
    let ssh = ssh_with(&known_hosts);
    let report = ssh.test(&target(&fleet, 0)).await;
    let error = report.error.expect("a revoked key must be refused");
    assert_eq!(error.kind, SshErrorKind::HostKeyRevoked, "{error:?}");
    assert!(
        error.message.contains("line 3") && error.message.contains("@revoked"),
        "{}",
        error.message
    );
    assert_eq!(fleet.accepted_logins(0), 0, "no login on a revoked key");
    // The other host is unaffected.
    assert!(ssh.test(&target(&fleet, 1)).await.ok);

    // A scan shows it as an error, and trusting it (once or always) is refused.
    let scanned = ssh.scan_host_keys(vec![target(&fleet, 0)]).await.remove(0);
    let KeyStatus::Error(scan_error) = scanned.status else {
        panic!(
            "a revoked key is no candidate for trust: {:?}",
            scanned.status
        )
    };
    assert_eq!(scan_error.kind, SshErrorKind::HostKeyRevoked);

    // Without its plain line, a first-use trust and accept-new refuse it too.
    std::fs::write(
        &known_hosts,
        format!("@revoked * {}\n", host_public_key(&fleet, 0)),
    )
    .unwrap();
    let scanned = ssh.scan_host_keys(vec![target(&fleet, 0)]).await.remove(0);
    assert!(
        matches!(&scanned.status, KeyStatus::Error(e) if e.kind == SshErrorKind::HostKeyRevoked),
        "{:?}",
        scanned.status
    );
    let accept_new = Ssh::new(
        &SshSettings {
            accept_new: true,
            ..ssh_settings(&known_hosts)
        },
        Arc::new(NoSecrets),
    );
    let report = accept_new.test(&target(&fleet, 0)).await;
    assert_eq!(
        report.error.map(|e| e.kind),
        Some(SshErrorKind::HostKeyRevoked)
    );
    assert_eq!(
        std::fs::read_to_string(&known_hosts).unwrap(),
        format!("@revoked * {}\n", host_public_key(&fleet, 0)),
        "nothing written"
    );
}

fn ssh_settings(known_hosts: &Path) -> SshSettings {
    SshSettings {
        known_hosts: known_hosts.to_path_buf(),
        accept_new: false,
        connect_timeout: Duration::from_secs(5),
        keepalive: Duration::from_secs(30),
        idle_expiry: Duration::from_secs(300),
        agent_socket: None,
    }
}

fn keygen(args: &[&str]) {
    let out = std::process::Command::new("ssh-keygen")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen {args:?}: {out:?}");
}

/// Signs host `i`'s key with the CA at `ca` for `principals` and `validity`, and restarts
/// its sshd presenting that certificate.
fn present_certificate(fleet: &Fleet, i: usize, ca: &Path, principals: &str, validity: &str) {
    let host = &fleet.hosts()[i];
    let public = host.host_key().with_extension("pub");
    keygen(&[
        "-q",
        "-s",
        ca.to_str().unwrap(),
        "-I",
        host.name(),
        "-h",
        "-n",
        principals,
        "-V",
        validity,
        public.to_str().unwrap(),
    ]);
    let mut cert = host.host_key().as_os_str().to_owned();
    cert.push("-cert.pub");
    let config = std::fs::read_to_string(host.config()).unwrap();
    if !config.contains("HostCertificate") {
        std::fs::write(
            host.config(),
            format!(
                "{config}\nHostCertificate {}\n",
                std::path::PathBuf::from(cert).display()
            ),
        )
        .unwrap();
    }
    fleet.restart_host(i, false);
}

#[tokio::test]
async fn a_host_certificate_is_accepted_only_as_openssh_would() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let (ca, other_ca) = (dir.path().join("ca"), dir.path().join("other_ca"));
    for key in [&ca, &other_ca] {
        keygen(&["-q", "-t", "ed25519", "-N", "", "-f", key.to_str().unwrap()]);
    }
    let ca_line = |key: &Path| {
        let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
        format!("@cert-authority [127.0.0.1]:* {}", public.trim())
    };
    let check = |expect: Option<(SshErrorKind, &'static str)>| {
        let known_hosts = known_hosts.clone();
        let target = target(&fleet, 0);
        async move {
            let report = ssh_with(&known_hosts).test(&target).await;
            match expect {
                None => assert!(report.ok, "{:?}", report.error),
                Some((kind, words)) => {
                    let error = report.error.expect("refused");
                    assert_eq!(error.kind, kind, "{error:?}");
                    assert!(error.message.contains(words), "{}", error.message);
                }
            }
        }
    };

    // Only the authority is in known_hosts, not the host's key: the certificate is enough.
    std::fs::write(&known_hosts, format!("{}\n", ca_line(&ca))).unwrap();
    present_certificate(&fleet, 0, &ca, "127.0.0.1", "-5m:+1h");
    check(None).await;
    // Another authority's line does not vouch for it.
    std::fs::write(&known_hosts, format!("{}\n", ca_line(&other_ca))).unwrap();
    check(Some((
        SshErrorKind::HostKeyUnknown,
        "which no @cert-authority line",
    )))
    .await;
    // Nor does the right one for another host name.
    std::fs::write(&known_hosts, format!("{}\n", ca_line(&ca))).unwrap();
    present_certificate(&fleet, 0, &ca, "web.example", "-5m:+1h");
    check(Some((SshErrorKind::HostKeyUnknown, "not 127.0.0.1"))).await;
    // An expired certificate is refused.
    present_certificate(&fleet, 0, &ca, "127.0.0.1", "20200101:20200102");
    check(Some((SshErrorKind::HostKeyUnknown, "not now"))).await;
    // A revoked authority is refused as loudly as a revoked key.
    present_certificate(&fleet, 0, &ca, "127.0.0.1", "-5m:+1h");
    let revoked = ca_line(&ca).replace("@cert-authority [127.0.0.1]:*", "@revoked *");
    std::fs::write(&known_hosts, format!("{}\n{revoked}\n", ca_line(&ca))).unwrap();
    check(Some((SshErrorKind::HostKeyRevoked, "@revoked"))).await;
    // OpenSSH's own client agrees with the good case.
    std::fs::write(&known_hosts, format!("{}\n", ca_line(&ca))).unwrap();
    let out = std::process::Command::new("ssh")
        .arg("-F")
        .arg(fleet.ssh_config())
        .arg("-o")
        .arg(format!("UserKnownHostsFile={}", known_hosts.display()))
        .args(["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"])
        .args([fleet.hosts()[0].name(), "true"])
        .env_remove("SSH_AUTH_SOCK")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    check(None).await;
}

#[tokio::test]
async fn wildcard_and_negated_patterns_match_as_openssh_does() {
    let fleet = Fleet::start(2);
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let port0 = fleet.hosts()[0].port();
    // host0 through a wildcard pattern; host1's line excludes it by negation.
    std::fs::write(
        &known_hosts,
        format!(
            "[127.0.0.?]:{port0} {}\n[127.0.0.*]:*,![127.0.0.1]:{} {}\n",
            host_public_key(&fleet, 0),
            fleet.hosts()[1].port(),
            host_public_key(&fleet, 1)
        ),
    )
    .unwrap();
    let ssh = ssh_with(&known_hosts);
    assert!(ssh.test(&target(&fleet, 0)).await.ok);
    let error = ssh.test(&target(&fleet, 1)).await.error.unwrap();
    assert_eq!(error.kind, SshErrorKind::HostKeyUnknown, "{error:?}");
}

#[tokio::test]
async fn a_hashed_file_gets_hashed_lines_that_openssh_finds() {
    let fleet = Fleet::start(2);
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    std::fs::write(&known_hosts, format!("{}\n", fleet_line(&fleet, 0))).unwrap();
    let hashed = std::process::Command::new("ssh-keygen")
        .arg("-H")
        .arg("-f")
        .arg(&known_hosts)
        .output()
        .unwrap();
    assert!(hashed.status.success(), "{hashed:?}");
    let ssh = ssh_with(&known_hosts);
    let scanned = ssh.scan_host_keys(vec![target(&fleet, 1)]).await.remove(0);
    let KeyStatus::Unknown(presented) = scanned.status else {
        panic!("{:?}", scanned.status)
    };
    ssh.host_keys().trust_all(&[presented], true).unwrap();
    let text = std::fs::read_to_string(&known_hosts).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(
        text.lines().all(|l| l.starts_with("|1|")),
        "the new line is hashed like the others: {text}"
    );
    assert!(!text.contains("127.0.0.1"), "{text}");
    // OpenSSH's own reader finds the host in our hashed line.
    let found = std::process::Command::new("ssh-keygen")
        .arg("-F")
        .arg(format!("[127.0.0.1]:{}", fleet.hosts()[1].port()))
        .arg("-f")
        .arg(&known_hosts)
        .output()
        .unwrap();
    assert!(found.status.success(), "{found:?}");
    assert!(ssh.test(&target(&fleet, 1)).await.ok);
}
