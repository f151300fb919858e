//! The SSH engine against real OpenSSH servers on 127.0.0.1 (vmo-testkit's fleet).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use vmo_ssh::AuthMethod;
use vmo_ssh::{
    run, run_host, run_on_hosts, FanoutEvent, HostOutcome, MemorySecrets, NoSecrets, Output,
    RunEnd, RunOptions, SecretRef, Ssh, SshErrorKind, SshSettings, Target,
};
use vmo_testkit::{Fleet, KeyKind};

fn settings(known_hosts: &Path) -> SshSettings {
    SshSettings {
        known_hosts: known_hosts.to_path_buf(),
        accept_new: false,
        connect_timeout: Duration::from_secs(5),
        keepalive: Duration::from_secs(30),
        idle_expiry: Duration::from_secs(300),
        agent_socket: None,
    }
}

fn ssh_for(fleet: &Fleet) -> Ssh {
    Ssh::new(&settings(fleet.known_hosts()), Arc::new(NoSecrets))
}

fn key_target(fleet: &Fleet, i: usize) -> Target {
    let host = &fleet.hosts()[i];
    Target {
        auth: AuthMethod::KeyFile,
        key_file: Some(fleet.client_key().to_path_buf()),
        ..Target::direct(host.name(), "127.0.0.1", host.port(), &fleet.user())
    }
}

/// Runs `command` on one target; returns (end, stdout, stderr).
async fn exec(ssh: &Ssh, target: &Target, command: &str) -> (RunEnd, Vec<u8>, Vec<u8>) {
    exec_with(ssh, target, command, &CancellationToken::new(), None).await
}

async fn exec_with(
    ssh: &Ssh,
    target: &Target,
    command: &str,
    cancel: &CancellationToken,
    timeout: Option<Duration>,
) -> (RunEnd, Vec<u8>, Vec<u8>) {
    let conn = ssh.pool().get(target).await.expect("connect");
    let (tx, mut rx) = mpsc::channel(8);
    let collect = tokio::spawn(async move {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        while let Some(o) = rx.recv().await {
            match o {
                Output::Stdout(d) => out.extend_from_slice(&d),
                Output::Stderr(d) => err.extend_from_slice(&d),
            }
        }
        (out, err)
    });
    let (end, _) = run(&conn, command, &tx, cancel, timeout)
        .await
        .expect("run");
    drop(tx);
    let (out, err) = collect.await.unwrap();
    (end, out, err)
}

#[tokio::test]
async fn key_file_login_separates_streams_and_reports_exit_codes() {
    let fleet = Fleet::start(1);
    let ssh = ssh_for(&fleet);
    let target = key_target(&fleet, 0);
    let (end, out, err) = exec(&ssh, &target, "echo out; echo err >&2; exit 3").await;
    assert_eq!(end, RunEnd::Exited { code: 3 });
    assert_eq!(out, b"out\n");
    assert_eq!(err, b"err\n");

    let (end, _, _) = exec(&ssh, &target, "kill -KILL $$").await;
    assert!(
        matches!(end, RunEnd::Signaled { ref signal, .. } if signal == "KILL"),
        "{end:?}"
    );

    // Bytes, not text: invalid UTF-8 arrives unchanged.
    let (end, out, _) = exec(&ssh, &target, r"printf 'a\377\376b\n'").await;
    assert!(end.success());
    assert_eq!(out, b"a\xff\xfeb\n");
}

#[tokio::test]
async fn agent_and_every_key_type_log_in() {
    let fleet = Fleet::start(1);
    let agent = fleet.agent();
    let mut s = settings(fleet.known_hosts());
    s.agent_socket = Some(agent.socket().to_path_buf());
    let ssh = Ssh::new(&s, Arc::new(NoSecrets));
    let host = &fleet.hosts()[0];
    let via_agent = Target::direct("agent", "127.0.0.1", host.port(), &fleet.user());
    let (end, out, _) = exec(&ssh, &via_agent, "echo agent").await;
    assert!(end.success());
    assert_eq!(out, b"agent\n");

    for kind in [KeyKind::Ed25519, KeyKind::Ecdsa, KeyKind::Rsa] {
        let key = fleet.extra_key(kind, None);
        let target = Target {
            key_file: Some(key),
            ..key_target(&fleet, 0)
        };
        let report = ssh.test(&target).await;
        assert!(report.ok, "{kind:?}: {:?}", report.error);
    }
}

#[tokio::test]
async fn encrypted_keys_need_their_passphrase() {
    let fleet = Fleet::start(1);
    let key = fleet.extra_key(KeyKind::Ed25519, Some("correct horse"));
    let target = Target {
        key_file: Some(key.clone()),
        ..key_target(&fleet, 0)
    };
    let report = ssh_for(&fleet).test(&target).await;
    let error = report.error.expect("no passphrase must fail");
    assert_eq!(error.kind, SshErrorKind::KeyFile);
    assert!(error.message.contains("encrypted"), "{}", error.message);
    assert_eq!(
        error.secret.as_deref(),
        Some(&SecretRef::Passphrase {
            key_file: key.clone()
        }),
        "the error names the passphrase to ask for"
    );

    let wrong = MemorySecrets::default();
    wrong.set_passphrase(&key, "battery staple");
    let ssh = Ssh::new(&settings(fleet.known_hosts()), Arc::new(wrong));
    let error = ssh.test(&target).await.error.expect("wrong passphrase");
    assert_eq!(error.kind, SshErrorKind::KeyFile);
    assert!(
        !error.message.contains("battery"),
        "a secret leaked: {}",
        error.message
    );

    let right = MemorySecrets::default();
    right.set_passphrase(&key, "correct horse");
    let ssh = Ssh::new(&settings(fleet.known_hosts()), Arc::new(right));
    let report = ssh.test(&target).await;
    assert!(report.ok, "{:?}", report.error);
}

/// A password login through the engine: without a stored password, and with a wrong one,
/// the engine fails as `AuthFailed` naming the secret to ask for; with the right one it
/// logs in and runs, and the server says it accepted a password (not a key or the agent).
#[tokio::test]
async fn password_login() {
    let fleet = Fleet::builder().hosts(1).password_user(true).start();
    let Some((user, password)) = fleet.password_user() else {
        panic!("password tests need root to create the test user");
    };
    let port = fleet.hosts()[0].port();
    let target = Target {
        auth: AuthMethod::Password,
        ..Target::direct("pw", "127.0.0.1", port, &user)
    };
    let wanted = SecretRef::Password {
        user: user.clone(),
        host: "127.0.0.1".into(),
        port,
    };
    let error = ssh_for(&fleet)
        .test(&target)
        .await
        .error
        .expect("no password stored");
    assert_eq!(error.kind, SshErrorKind::AuthFailed);
    assert_eq!(error.secret.as_deref(), Some(&wanted), "{error:?}");

    let secrets = MemorySecrets::default();
    secrets.set_password(&user, "127.0.0.1", port, "wrong");
    let ssh = Ssh::new(&settings(fleet.known_hosts()), Arc::new(secrets));
    let error = ssh.test(&target).await.error.expect("wrong password");
    assert_eq!(error.kind, SshErrorKind::AuthFailed);
    assert_eq!(error.secret.as_deref(), Some(&wanted), "{error:?}");
    assert!(
        !error.message.contains("wrong"),
        "a secret leaked: {}",
        error.message
    );

    let secrets = MemorySecrets::default();
    secrets.set_password(&user, "127.0.0.1", port, &password);
    let ssh = Ssh::new(&settings(fleet.known_hosts()), Arc::new(secrets));
    let report = ssh.test(&target).await;
    assert!(report.ok, "{:?}", report.error);
    let (end, out, _) = exec(&ssh, &target, "id -un").await;
    assert_eq!(end, RunEnd::Exited { code: 0 });
    assert_eq!(String::from_utf8_lossy(&out).trim(), user);
    // The server's word for how we logged in: by password, never by key.
    let log = std::fs::read_to_string(fleet.hosts()[0].log()).unwrap();
    assert!(
        log.contains(&format!("Accepted password for {user}")),
        "{log}"
    );
    assert!(
        !log.contains(&format!("Accepted publickey for {user}")),
        "{log}"
    );
}

#[tokio::test]
async fn proxy_jump_through_another_sshd() {
    let fleet = Fleet::start(2);
    let ssh = ssh_for(&fleet);
    let target = Target {
        jump: Some(Box::new(key_target(&fleet, 0))),
        ..key_target(&fleet, 1)
    };
    let (end, out, _) = exec(&ssh, &target, "echo through").await;
    assert!(end.success());
    assert_eq!(out, b"through\n");
    assert_eq!(fleet.accepted_logins(0), 1, "the jump host logs us in once");
    assert_eq!(fleet.accepted_logins(1), 1);
}

#[tokio::test]
async fn unknown_host_keys_are_refused_unless_trusted() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let known_hosts = dir.path().join("known_hosts");
    let target = key_target(&fleet, 0);

    let ssh = Ssh::new(&settings(&known_hosts), Arc::new(NoSecrets));
    let report = ssh.test(&target).await;
    let error = report.error.expect("unknown key must be refused");
    assert_eq!(error.kind, SshErrorKind::HostKeyUnknown);
    let presented = error.host_key.clone().expect("the key is shown");
    assert_eq!(presented.fingerprint, fleet.host_key_fingerprint(0));
    assert!(error.message.contains(&presented.fingerprint));
    assert!(
        !known_hosts.exists(),
        "nothing may be written without consent"
    );

    // Trusted once: connects, writes nothing.
    ssh.host_keys().trust(&presented, false).unwrap();
    assert!(ssh.test(&target).await.ok);
    assert!(!known_hosts.exists());
    // Trusted always: written, and a fresh engine accepts it.
    ssh.host_keys().trust(&presented, true).unwrap();
    let fresh = Ssh::new(&settings(&known_hosts), Arc::new(NoSecrets));
    assert!(fresh.test(&target).await.ok);

    // accept-new records a new host's key by itself.
    let other = tempfile::tempdir().unwrap();
    let file = other.path().join("known_hosts");
    let mut s = settings(&file);
    s.accept_new = true;
    assert!(Ssh::new(&s, Arc::new(NoSecrets)).test(&target).await.ok);
    let written = std::fs::read_to_string(&file).unwrap();
    assert!(
        written.contains(&format!("[127.0.0.1]:{}", fleet.hosts()[0].port())),
        "{written}"
    );
}

#[tokio::test]
async fn changed_host_keys_are_refused_even_with_accept_new() {
    let fleet = Fleet::start(1);
    fleet.restart_host(0, true);
    let mut s = settings(fleet.known_hosts());
    s.accept_new = true;
    let ssh = Ssh::new(&s, Arc::new(NoSecrets));
    let error = ssh
        .test(&key_target(&fleet, 0))
        .await
        .error
        .expect("changed key");
    assert_eq!(error.kind, SshErrorKind::HostKeyChanged);
    assert!(
        error.message.contains("HOST KEY CHANGED"),
        "{}",
        error.message
    );
    assert_eq!(
        error.host_key.unwrap().fingerprint,
        fleet.host_key_fingerprint(0)
    );
}

/// Running (a zombie waiting for its reaper counts as gone).
fn pid_alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

async fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn cancel_and_timeout_stop_the_remote_process() {
    let fleet = Fleet::start(1);
    let ssh = ssh_for(&fleet);
    let target = key_target(&fleet, 0);
    let dir = tempfile::tempdir().unwrap();

    // Cancel: the remote shell and its child are gone afterwards.
    let pids = dir.path().join("cancel.pids");
    let command = format!("sleep 600 & echo $$ $! > {}; wait", pids.display());
    let cancel = CancellationToken::new();
    let run = {
        let (ssh, target, cancel) = (ssh.clone(), target.clone(), cancel.clone());
        tokio::spawn(async move { exec_with(&ssh, &target, &command, &cancel, None).await })
    };
    let started = wait_for_file(&pids).await;
    let (shell, child) = started.split_once(' ').unwrap();
    assert!(pid_alive(shell) && pid_alive(child));
    cancel.cancel();
    let (end, _, _) = run.await.unwrap();
    assert_eq!(end, RunEnd::Cancelled);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!pid_alive(shell), "remote shell survived cancel");
    assert!(!pid_alive(child), "remote child survived cancel");

    // Timeout: the same, by itself.
    let pids = dir.path().join("timeout.pids");
    let command = format!("sleep 600 & echo $$ $! > {}; wait", pids.display());
    let started = Instant::now();
    let (end, _, _) = exec_with(
        &ssh,
        &target,
        &command,
        &CancellationToken::new(),
        Some(Duration::from_secs(1)),
    )
    .await;
    assert_eq!(end, RunEnd::TimedOut);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    let text = std::fs::read_to_string(&pids).unwrap();
    let (shell, child) = text.trim().split_once(' ').unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !pid_alive(shell) && !pid_alive(child),
        "timeout left processes behind"
    );
}

#[tokio::test]
async fn one_host_down_among_twenty() {
    let fleet = Fleet::start(20);
    fleet.stop_host(7);
    let ssh = ssh_for(&fleet);
    let targets: Vec<Target> = (0..20).map(|i| key_target(&fleet, i)).collect();
    let (tx, mut rx) = mpsc::channel(64);
    let drain = tokio::spawn(async move {
        let mut finished = 0;
        while let Some(event) = rx.recv().await {
            if matches!(event, FanoutEvent::Finished(_)) {
                finished += 1;
            }
        }
        finished
    });
    let results = run_on_hosts(
        ssh.pool().clone(),
        targets,
        "hostname >/dev/null && echo ok".into(),
        RunOptions {
            concurrency: 8,
            timeout: Some(Duration::from_secs(20)),
        },
        CancellationToken::new(),
        tx,
    )
    .await;
    assert_eq!(drain.await.unwrap(), 20);
    assert_eq!(results.len(), 20);
    for result in &results {
        if result.index == 7 {
            match &result.outcome {
                HostOutcome::Failed { error } => {
                    assert_eq!(error.kind, SshErrorKind::Refused, "{}", error.message)
                }
                other => panic!("host7: {other:?}"),
            }
        } else {
            assert!(
                result.outcome.success(),
                "{}: {:?}",
                result.name,
                result.outcome
            );
        }
    }
}

#[tokio::test]
async fn a_second_run_reuses_the_connection() {
    let fleet = Fleet::start(1);
    let ssh = ssh_for(&fleet);
    let target = key_target(&fleet, 0);
    for _ in 0..3 {
        let (end, _, _) = exec(&ssh, &target, "true").await;
        assert!(end.success());
    }
    assert_eq!(ssh.pool().connections_opened(), 1);
    assert_eq!(fleet.accepted_logins(0), 1, "one TCP connection, one login");

    // A broken connection is replaced transparently.
    fleet.restart_host(0, false);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (end, _, _) = exec(&ssh, &target, "true").await;
    assert!(end.success());
    assert_eq!(ssh.pool().connections_opened(), 2);
}

#[tokio::test]
async fn connection_test_reports_version_fingerprint_and_failures() {
    let fleet = Fleet::start(1);
    let ssh = ssh_for(&fleet);
    let report = ssh.test(&key_target(&fleet, 0)).await;
    assert!(report.ok, "{:?}", report.error);
    assert!(
        report
            .server_version
            .as_deref()
            .unwrap_or("")
            .contains("OpenSSH"),
        "{report:?}"
    );
    assert_eq!(
        report.fingerprint.as_deref(),
        Some(fleet.host_key_fingerprint(0).as_str())
    );
    assert!(report.command_ms.is_some());

    let refused = Target {
        port: vmo_testkit::free_port(),
        ..key_target(&fleet, 0)
    };
    assert_eq!(
        ssh.test(&refused).await.error.unwrap().kind,
        SshErrorKind::Refused
    );
    let dns = Target {
        host: "no-such-host.invalid".into(),
        ..key_target(&fleet, 0)
    };
    assert_eq!(ssh.test(&dns).await.error.unwrap().kind, SshErrorKind::Dns);
    let bad_user = Target {
        user: "nobody-here".into(),
        ..key_target(&fleet, 0)
    };
    assert_eq!(
        ssh.test(&bad_user).await.error.unwrap().kind,
        SshErrorKind::AuthFailed
    );
    let missing_key = Target {
        key_file: Some("/nonexistent/key".into()),
        ..key_target(&fleet, 0)
    };
    assert_eq!(
        ssh.test(&missing_key).await.error.unwrap().kind,
        SshErrorKind::KeyFile
    );
}

#[tokio::test]
async fn idle_connections_expire() {
    let fleet = Fleet::start(1);
    let mut s = settings(fleet.known_hosts());
    s.idle_expiry = Duration::from_millis(200);
    let ssh = Ssh::new(&s, Arc::new(NoSecrets));
    let target = key_target(&fleet, 0);
    assert!(exec(&ssh, &target, "true").await.0.success());
    assert_eq!(ssh.pool().expire_idle().await, 0, "just used: not idle");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(ssh.pool().expire_idle().await, 1);
    assert!(exec(&ssh, &target, "true").await.0.success());
    assert_eq!(
        ssh.pool().connections_opened(),
        2,
        "a new connection after expiry"
    );
}

/// A host that hangs mid-run (its sshd processes stopped) is given up about a second after
/// its timeout, not after the whole TERM, grace, KILL sequence waits on it; and the pool
/// does not hand out that connection again.
#[tokio::test]
async fn a_frozen_host_is_given_up_soon_after_its_timeout() {
    let fleet = Fleet::start(1);
    let ssh = ssh_for(&fleet);
    let target = key_target(&fleet, 0);
    ssh.pool().get(&target).await.expect("connect");
    let opened = ssh.pool().connections_opened();

    let (tx, mut rx) = mpsc::channel(8);
    let started = Instant::now();
    let run = {
        let (pool, target) = (ssh.pool().clone(), target.clone());
        tokio::spawn(async move {
            let cancel = CancellationToken::new();
            let timeout = Some(Duration::from_secs(2));
            run_host(
                &pool,
                &target,
                "echo started; sleep 30",
                timeout,
                &cancel,
                tx,
            )
            .await
        })
    };
    // The command runs; then the machine hangs.
    assert_eq!(rx.recv().await, Some(Output::Stdout("started\n".into())));
    fleet.freeze_host(0);
    let (outcome, _) = run.await.unwrap();
    let took = started.elapsed();
    fleet.thaw_host(0);
    eprintln!("a frozen host with a 2 s timeout was given up after {took:.2?}");
    assert_eq!(
        outcome,
        HostOutcome::Ran {
            end: RunEnd::TimedOut
        }
    );
    assert!(
        took < Duration::from_millis(3500),
        "given up after {took:?}"
    );

    // Thawed, the host works again, over a new connection.
    let (end, out, _) = exec(&ssh, &target, "echo again").await;
    assert!(end.success(), "{end:?}");
    assert_eq!(out, b"again\n");
    assert_eq!(ssh.pool().connections_opened(), opened + 1);

    // Frozen before the command can even start (on the pooled connection): the timeout
    // holds all the same, and that connection is retired too.
    fleet.freeze_host(0);
    let started = Instant::now();
    let (tx, _rx) = mpsc::channel(8);
    let timeout = Some(Duration::from_secs(2));
    let cancel = CancellationToken::new();
    let (outcome, _) = run_host(ssh.pool(), &target, "echo never", timeout, &cancel, tx).await;
    let took = started.elapsed();
    fleet.thaw_host(0);
    assert_eq!(
        outcome,
        HostOutcome::Ran {
            end: RunEnd::TimedOut
        }
    );
    assert!(
        took < Duration::from_millis(3500),
        "given up after {took:?}"
    );
    let (end, _, _) = exec(&ssh, &target, "true").await;
    assert!(end.success(), "{end:?}");
    assert_eq!(ssh.pool().connections_opened(), opened + 2);
}
