//! The harness proven with the real OpenSSH client.

use std::fs;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use vmo_testkit::{free_port, Fleet, KeyKind};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Run `cmd`, assert success, return stdout.
fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?} failed with {}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn fails(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run command");
    assert!(
        !out.status.success(),
        "{cmd:?} unexpectedly succeeded: {}",
        text(&out.stdout)
    );
    out
}

fn has_program(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn three_hosts_start_and_each_answers() {
    let fleet = Fleet::start(3);
    assert_eq!(fleet.hosts().len(), 3);
    for (i, host) in fleet.hosts().iter().enumerate() {
        assert_eq!(host.name(), format!("host{i}"));
        let out = ok(fleet.ssh_command(i).arg("echo hi"));
        assert_eq!(out, "hi\n");
    }
    // SetEnv SHLVL=1: bash increments it to 2 and then does not source ~/.bashrc (its
    // "started by sshd" heuristic wants SHLVL < 2), so root's pyenv init is skipped.
    let env = ok(fleet
        .ssh_command(0)
        .arg("echo \"$SHLVL ${PYENV_ROOT:-no-bashrc}\""));
    assert_eq!(env.trim(), "2 no-bashrc");
    assert_eq!(ok(fleet.ssh_command(0).arg("id -un")).trim(), fleet.user());
    let ports: std::collections::HashSet<u16> = fleet.hosts().iter().map(|h| h.port()).collect();
    assert_eq!(ports.len(), 3, "distinct ports");
}

#[test]
fn known_hosts_and_ssh_config_verify_strictly() {
    let fleet = Fleet::start(2);
    let known_hosts = fs::read_to_string(fleet.known_hosts()).unwrap();
    let config = fs::read_to_string(fleet.ssh_config()).unwrap();
    for (i, host) in fleet.hosts().iter().enumerate() {
        assert!(
            known_hosts.contains(&format!(
                "[127.0.0.1]:{} {}",
                host.port(),
                fleet.host_public_key(i)
            )),
            "{known_hosts}"
        );
        assert!(
            config.contains(&format!("Host {}\n", host.name())),
            "{config}"
        );
        assert!(
            config.contains(&format!("Port {}\n", host.port())),
            "{config}"
        );
        assert!(fleet.host_key_fingerprint(i).starts_with("SHA256:"));
    }
    assert!(config.contains("StrictHostKeyChecking yes"), "{config}");

    // Plain `ssh -F config hostN`: no prompt, no "Permanently added", right output.
    for i in 0..2 {
        let out = fleet.ssh_command(i).arg("echo verified").output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "verified\n");
        assert!(
            !text(&out.stderr).contains("Permanently added"),
            "{}",
            text(&out.stderr)
        );
    }

    // And the check is real: an empty known_hosts makes the same command fail.
    let empty = fleet.dir().join("empty_known_hosts");
    fs::write(&empty, "").unwrap();
    let out = fails(
        Command::new("ssh")
            .arg("-o")
            .arg(format!("UserKnownHostsFile={}", empty.display()))
            .arg("-F")
            .arg(fleet.ssh_config())
            .args(["-o", "BatchMode=yes", "host0", "true"])
            .stdin(Stdio::null()),
    );
    assert!(
        text(&out.stderr).contains("Host key verification failed"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn stop_host_refuses_connections_and_restart_brings_it_back() {
    let fleet = Fleet::start(2);
    let fingerprint = fleet.host_key_fingerprint(1);
    let addr = fleet.hosts()[1].addr();
    assert!(fleet.is_running(1));

    fleet.stop_host(1);
    assert!(!fleet.is_running(1));
    let err = TcpStream::connect(addr).expect_err("port must refuse");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused);
    let out = fails(fleet.ssh_command(1).arg("true"));
    assert!(
        text(&out.stderr).contains("Connection refused"),
        "{}",
        text(&out.stderr)
    );
    // The other host is unaffected; stopping twice is a no-op.
    assert_eq!(ok(fleet.ssh_command(0).arg("echo up")), "up\n");
    fleet.stop_host(1);

    fleet.restart_host(1, false);
    assert_eq!(fleet.hosts()[1].addr(), addr, "same port");
    assert_eq!(fleet.host_key_fingerprint(1), fingerprint, "same key");
    assert_eq!(ok(fleet.ssh_command(1).arg("echo back")), "back\n");
}

#[test]
fn stop_host_drops_open_sessions() {
    let fleet = Fleet::start(1);
    let mut session = fleet
        .ssh_command(0)
        .arg("sleep 60")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the login", Duration::from_secs(10), || {
        fleet.accepted_logins(0) == 1
    });
    let started = Instant::now();
    fleet.stop_host(0);
    wait_until("ssh to notice", Duration::from_secs(10), || {
        session.try_wait().unwrap().is_some()
    });
    let status = session.wait().unwrap();
    assert!(!status.success());
    println!("open session ended {:?} after stop_host", started.elapsed());
}

#[test]
fn restart_with_new_host_key_is_detected_as_changed() {
    let fleet = Fleet::start(1);
    assert_eq!(ok(fleet.ssh_command(0).arg("echo before")), "before\n");
    let old = fleet.host_key_fingerprint(0);
    let known_hosts = fs::read_to_string(fleet.known_hosts()).unwrap();

    fleet.restart_host(0, true);
    assert_ne!(fleet.host_key_fingerprint(0), old);
    assert_eq!(
        fs::read_to_string(fleet.known_hosts()).unwrap(),
        known_hosts,
        "known_hosts not updated"
    );
    let out = fails(fleet.ssh_command(0).arg("echo after"));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn accepted_logins_counts_each_login() {
    let fleet = Fleet::start(2);
    assert_eq!(fleet.accepted_logins(0), 0);
    ok(fleet.ssh_command(0).arg("true"));
    ok(fleet.ssh_command(0).arg("true"));
    assert_eq!(fleet.accepted_logins(0), 2);
    assert_eq!(fleet.accepted_logins(1), 0);
    // Counting survives a restart (the log is appended to).
    fleet.restart_host(0, false);
    ok(fleet.ssh_command(0).arg("true"));
    assert_eq!(fleet.accepted_logins(0), 3);
}

#[test]
fn encrypted_extra_key_needs_its_passphrase_and_logs_in_via_agent() {
    let fleet = Fleet::start(2);
    let key = fleet.extra_key(KeyKind::Ed25519, Some("s3cret pass"));
    let mode = fs::metadata(&key).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    // The passphrase is real: right one derives the public key, wrong/none fails.
    let public = fs::read_to_string(format!("{}.pub", key.display())).unwrap();
    let derived = ok(Command::new("ssh-keygen")
        .args(["-y", "-P", "s3cret pass", "-f"])
        .arg(&key));
    assert_eq!(
        derived.split_whitespace().take(2).collect::<Vec<_>>(),
        public.split_whitespace().take(2).collect::<Vec<_>>()
    );
    fails(
        Command::new("ssh-keygen")
            .args(["-y", "-P", "wrong", "-f"])
            .arg(&key),
    );
    fails(
        Command::new("ssh-keygen")
            .args(["-y", "-P", "", "-f"])
            .arg(&key),
    );

    // Via the agent: only the extra key is offered (IdentitiesOnly with its .pub).
    let agent = fleet.agent();
    agent.add(&key, Some("s3cret pass"));
    let listed = ok(Command::new("ssh-add")
        .arg("-l")
        .env("SSH_AUTH_SOCK", agent.socket()));
    assert_eq!(listed.lines().count(), 2, "{listed}");
    for i in 0..2 {
        let out = ok(fleet
            .ssh_command(i)
            .env("SSH_AUTH_SOCK", agent.socket())
            .args(["-o", "IdentitiesOnly=yes", "-i"])
            .arg(format!("{}.pub", key.display()))
            .arg("echo agent"));
        assert_eq!(out, "agent\n");
    }
    // The fleet's own agent also serves the client key (no IdentityFile needed on disk).
    assert_eq!(
        ok(Command::new("ssh")
            .env("SSH_AUTH_SOCK", agent.socket())
            .args(["-o", "BatchMode=yes", "-o", "IdentityFile=none", "-p"])
            .arg(fleet.hosts()[0].port().to_string())
            .arg("-o")
            .arg(format!(
                "UserKnownHostsFile={}",
                fleet.known_hosts().display()
            ))
            .args(["-o", "StrictHostKeyChecking=yes"])
            .arg(format!("{}@127.0.0.1", fleet.user()))
            .arg("echo direct")
            .stdin(Stdio::null())),
        "direct\n"
    );

    // ssh itself with the encrypted key, passphrase answered through askpass.
    let mut cmd = Command::new("ssh");
    cmd.arg("-F")
        .arg(fleet.ssh_config())
        .args(["-o", "IdentitiesOnly=yes", "-i"])
        .arg(&key)
        .args(["host1", "echo askpass"])
        .env_remove("SSH_AUTH_SOCK")
        .stdin(Stdio::null());
    fleet.set_askpass(&mut cmd, "s3cret pass");
    assert_eq!(ok(&mut cmd), "askpass\n");
}

#[test]
fn rsa_and_ecdsa_extra_keys_log_in() {
    let fleet = Fleet::start(1);
    for kind in [KeyKind::Rsa, KeyKind::Ecdsa, KeyKind::Ed25519] {
        let key = fleet.extra_key(kind, None);
        let out = ok(fleet
            .ssh_command(0)
            .args(["-o", "IdentitiesOnly=yes", "-o", "IdentityFile=none", "-i"])
            .arg(&key)
            .arg("echo $SSH_CONNECTION >/dev/null; echo key"));
        assert_eq!(out, "key\n", "{kind:?}");
        let log = fs::read_to_string(fleet.hosts()[0].log()).unwrap();
        let expected = match kind {
            KeyKind::Rsa => "RSA",
            KeyKind::Ecdsa => "ECDSA",
            KeyKind::Ed25519 => "ED25519",
        };
        assert!(
            log.lines()
                .any(|l| l.contains("Accepted publickey") && l.contains(expected)),
            "{kind:?} not accepted:\n{log}"
        );
    }
    assert_eq!(fleet.accepted_logins(0), 3);
}

#[test]
fn password_user_logs_in_with_a_password() {
    let fleet = Fleet::builder().hosts(1).password_user(true).start();
    let config = fs::read_to_string(fleet.hosts()[0].config()).unwrap();
    let Some((user, password)) = fleet.password_user() else {
        // Only root can create the user; CI runs as root, so this never passes silently.
        assert!(config.contains("PasswordAuthentication no"), "{config}");
        panic!(
            "the password user needs root (useradd, chpasswd): run this test as root, as CI \
             does; sshd was left with PasswordAuthentication no"
        );
    };
    assert!(config.contains("PasswordAuthentication yes"), "{config}");
    let password_ssh = |cmd: &mut Command| {
        cmd.arg("-F")
            .arg(fleet.ssh_config())
            .args([
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "PreferredAuthentications=password",
                "-o",
                "NumberOfPasswordPrompts=1",
                "-l",
                &user,
                "host0",
                "id -un",
            ])
            .env_remove("SSH_AUTH_SOCK")
            .stdin(Stdio::null());
    };

    // Through askpass: works without sshpass.
    let mut cmd = Command::new("ssh");
    password_ssh(&mut cmd);
    fleet.set_askpass(&mut cmd, &password);
    assert_eq!(ok(&mut cmd).trim(), user);
    let mut cmd = Command::new("ssh");
    password_ssh(&mut cmd);
    fleet.set_askpass(&mut cmd, "wrong password");
    fails(&mut cmd);

    if has_program("sshpass") {
        let mut cmd = Command::new("sshpass");
        cmd.args(["-p", &password, "ssh"]);
        password_ssh(&mut cmd);
        assert_eq!(ok(&mut cmd).trim(), user);
    } else {
        eprintln!("sshpass not installed: skipped the sshpass check");
    }
    let log = fs::read_to_string(fleet.hosts()[0].log()).unwrap();
    assert!(
        log.contains(&format!("Accepted password for {user}")),
        "{log}"
    );

    // A second fleet (user already exists) is fine too.
    let again = Fleet::builder().hosts(1).password_user(true).start();
    assert_eq!(again.password_user(), Some((user, password)));
}

#[test]
fn sshd_options_override_the_defaults() {
    let fleet = Fleet::builder()
        .hosts(1)
        .sshd_option("MaxSessions 50")
        .sshd_option("Match User nobody")
        .sshd_option("  X11Forwarding no")
        .start();
    let out = ok(Command::new("/usr/sbin/sshd")
        .arg("-T")
        .arg("-f")
        .arg(fleet.hosts()[0].config()));
    assert!(out.lines().any(|l| l == "maxsessions 50"), "{out}");
    assert!(out.lines().any(|l| l == "setenv SHLVL=1"), "{out}");
    assert!(
        out.lines().any(|l| l == "passwordauthentication no"),
        "{out}"
    );
    assert_eq!(ok(fleet.ssh_command(0).arg("echo ok")), "ok\n");
}

#[test]
fn proxy_jump_through_another_host() {
    let fleet = Fleet::start(2);
    let out = ok(fleet.ssh_command(1).args(["-J", "host0", "echo jumped"]));
    assert_eq!(out, "jumped\n");
    assert_eq!(fleet.accepted_logins(0), 1);
    assert_eq!(fleet.accepted_logins(1), 1);
}

#[test]
fn drop_kills_everything_and_removes_the_directory() {
    let fleet = Fleet::start(3);
    let agent = fleet.agent();
    let dir = fleet.dir().to_path_buf();
    let pids: Vec<u32> = (0..3).map(|i| fleet.sshd_pid(i).unwrap()).collect();
    let ports: Vec<u16> = fleet.hosts().iter().map(|h| h.port()).collect();
    // An open session, so that there is a per-connection process tree to kill as well.
    let mut session = fleet
        .ssh_command(2)
        .arg("sleep 60")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the login", Duration::from_secs(10), || {
        fleet.accepted_logins(2) == 1
    });
    drop(agent);
    drop(fleet);
    assert!(!dir.exists(), "{} still exists", dir.display());
    for pid in pids {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "sshd {pid} still exists (zombie or alive)"
        );
    }
    for port in ports {
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
    }
    wait_until("ssh to notice", Duration::from_secs(10), || {
        session.try_wait().unwrap().is_some()
    });
}

#[test]
fn twenty_hosts_start_quickly() {
    let started = Instant::now();
    let fleet = Fleet::start(20);
    let elapsed = started.elapsed();
    println!("20-host fleet started in {elapsed:?}");
    eprintln!("20-host fleet started in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    assert_eq!(ok(fleet.ssh_command(19).arg("echo last")), "last\n");
    let stopped = Instant::now();
    drop(fleet);
    eprintln!("20-host fleet stopped in {:?}", stopped.elapsed());
}

#[test]
fn free_port_is_bindable() {
    let port = free_port();
    assert_ne!(port, 0);
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}

#[test]
fn fleet_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Fleet>();
    assert_send_sync::<vmo_testkit::Agent>();
    // Shared across threads: concurrent logins and extra keys.
    let fleet = std::sync::Arc::new(Fleet::start(2));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let fleet = fleet.clone();
            thread::spawn(move || {
                let key = fleet.extra_key(KeyKind::Ed25519, None);
                let out = ok(fleet
                    .ssh_command(t % 2)
                    .args(["-o", "IdentitiesOnly=yes", "-i"])
                    .arg(&key)
                    .arg("echo t"));
                assert_eq!(out, "t\n");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(fleet.accepted_logins(0) + fleet.accepted_logins(1), 4);
}

/// Heavier: run with `cargo test -p vmo-testkit -- --ignored`.
#[test]
#[ignore = "starts 100 sshd; run explicitly"]
fn hundred_hosts_start_and_answer() {
    let started = Instant::now();
    let fleet = Fleet::start(100);
    eprintln!("100-host fleet started in {:?}", started.elapsed());
    for i in [0, 50, 99] {
        assert_eq!(ok(fleet.ssh_command(i).arg("echo hi")), "hi\n");
    }
    let stopped = Instant::now();
    drop(fleet);
    eprintln!("100-host fleet stopped in {:?}", stopped.elapsed());
}
