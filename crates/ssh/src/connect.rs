//! One authenticated SSH connection: TCP (or a tunnel through a jump host), handshake with
//! host-key verification, then authentication by the VM's method.

use super::error::{SshError, SshErrorKind};
use super::host_keys::{describe, HostKeys};
use super::secrets::{SecretRef, Secrets, StoreUnavailable};
use super::target::{expand_home, AuthMethod, Target};
use russh::client::{self, Handle};
use russh::keys::agent::client::AgentClient;
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What every connection needs to know, shared by the pool.
pub struct Connector {
    pub config: Arc<client::Config>,
    /// The same, also asking servers for their host certificates: for logins to hosts a
    /// `@cert-authority` line applies to.
    pub config_with_certificates: Arc<client::Config>,
    pub host_keys: Arc<HostKeys>,
    pub secrets: Arc<dyn Secrets>,
    pub agent_socket: Option<PathBuf>,
    pub connect_timeout: Duration,
}

/// Why a handshake did not complete: before SSH spoke (dial, tunnel, timeout), or within
/// SSH (including a host key the handler refused).
pub(crate) enum HandshakeFailure {
    Transport(SshError),
    Ssh(russh::Error),
}

/// An open, authenticated connection. Channels are multiplexed over it.
pub struct Connection {
    pub(crate) handle: Handle<Client>,
    pub target_key: String,
    pub fingerprint: String,
    /// The server's identification string, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2`.
    pub server_version: Arc<Mutex<Option<String>>>,
    /// TCP connect + handshake + authentication.
    pub setup_time: Duration,
    /// Keeps the tunnel open while this connection lives.
    _via: Option<Arc<Connection>>,
    /// Set when the server stopped answering: the pool replaces the connection.
    given_up: AtomicBool,
}

impl Connection {
    /// Closed, or given up as unresponsive: not to be used for new work.
    pub fn is_closed(&self) -> bool {
        self.given_up.load(Ordering::Relaxed) || self.handle.is_closed()
    }

    /// Marks the connection as not answering: whatever still runs on it may finish, but
    /// nothing new starts on it ([`Connection::is_closed`] turns true).
    pub fn give_up(&self) {
        self.given_up.store(true, Ordering::Relaxed);
    }

    pub fn server_version(&self) -> Option<String> {
        self.server_version.lock().ok()?.clone()
    }
}

/// russh's per-connection callbacks: verifies the host key, remembers what it saw.
pub struct Client {
    host: String,
    port: u16,
    host_keys: Arc<HostKeys>,
    refusal: Arc<Mutex<Option<SshError>>>,
    presented: Arc<Mutex<Option<String>>>,
    server_version: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        presented: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let key = match presented {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(cert) => {
                let key = russh::keys::PublicKey::new(cert.public_key().clone(), "");
                if let Ok(mut seen) = self.presented.lock() {
                    *seen = Some(describe(&self.host, self.port, &key).fingerprint);
                }
                return match self
                    .host_keys
                    .verify_certificate(&self.host, self.port, cert)
                {
                    Ok(()) => Ok(true),
                    Err(refusal) => {
                        if let Ok(mut slot) = self.refusal.lock() {
                            *slot = Some(refusal);
                        }
                        Ok(false)
                    }
                };
            }
        };
        if let Ok(mut seen) = self.presented.lock() {
            *seen = Some(describe(&self.host, self.port, key).fingerprint);
        }
        match self.host_keys.verify(&self.host, self.port, key) {
            Ok(()) => Ok(true),
            Err(refusal) => {
                if let Ok(mut slot) = self.refusal.lock() {
                    *slot = Some(refusal);
                }
                Ok(false)
            }
        }
    }

    async fn channel_open_confirmation(
        &mut self,
        _id: russh::ChannelId,
        _max_packet_size: u32,
        _window_size: u32,
        session: &mut client::Session,
    ) -> Result<(), Self::Error> {
        if let Ok(mut version) = self.server_version.lock() {
            if version.is_none() {
                *version = Some(
                    String::from_utf8_lossy(session.remote_sshid())
                        .trim()
                        .to_string(),
                );
            }
        }
        Ok(())
    }
}

impl Connector {
    /// Connects to `target`, through `via` when it has a jump host.
    pub async fn connect(
        &self,
        target: &Target,
        via: Option<Arc<Connection>>,
    ) -> Result<Connection, SshError> {
        let started = Instant::now();
        let refusal = Arc::new(Mutex::new(None));
        let presented = Arc::new(Mutex::new(None));
        let server_version = Arc::new(Mutex::new(None));
        let handler = Client {
            host: target.host.clone(),
            port: target.port,
            host_keys: self.host_keys.clone(),
            refusal: refusal.clone(),
            presented: presented.clone(),
            server_version: server_version.clone(),
        };
        let mut handle = self
            .handshake(target, via.as_deref(), handler, true)
            .await
            .map_err(|failure| match failure {
                HandshakeFailure::Transport(e) => e,
                HandshakeFailure::Ssh(e) => handshake_error(e, &refusal, target),
            })?;
        self.authenticate(&mut handle, target).await?;
        let fingerprint = presented
            .lock()
            .ok()
            .and_then(|p| p.clone())
            .unwrap_or_default();
        Ok(Connection {
            handle,
            target_key: target.connection_key(),
            fingerprint,
            server_version,
            setup_time: started.elapsed(),
            _via: via,
            given_up: AtomicBool::new(false),
        })
    }

    /// TCP (or a tunnel through `via`), then the SSH handshake with `handler` judging the
    /// host key, all within the connect timeout. Logins and host-key scans share it.
    pub(crate) async fn handshake<H>(
        &self,
        target: &Target,
        via: Option<&Connection>,
        handler: H,
        certificates: bool,
    ) -> Result<Handle<H>, HandshakeFailure>
    where
        H: client::Handler<Error = russh::Error> + Send + 'static,
    {
        let config = if certificates
            && self
                .host_keys
                .trusts_authority_for(&target.host, target.port)
        {
            self.config_with_certificates.clone()
        } else {
            self.config.clone()
        };
        let attempt = async {
            match via {
                None => {
                    let stream = self
                        .dial(target)
                        .await
                        .map_err(HandshakeFailure::Transport)?;
                    client::connect_stream(config, stream, handler)
                        .await
                        .map_err(HandshakeFailure::Ssh)
                }
                Some(jump) => {
                    let channel = jump
                        .handle
                        .channel_open_direct_tcpip(
                            target.host.clone(),
                            target.port.into(),
                            "127.0.0.1",
                            0,
                        )
                        .await
                        .map_err(|e| {
                            HandshakeFailure::Transport(SshError::new(
                                SshErrorKind::Network,
                                format!(
                                    "jump host cannot reach {}:{}: {e}",
                                    target.host, target.port
                                ),
                            ))
                        })?;
                    client::connect_stream(config, channel.into_stream(), handler)
                        .await
                        .map_err(HandshakeFailure::Ssh)
                }
            }
        };
        tokio::time::timeout(self.connect_timeout * 2, attempt)
            .await
            .map_err(|_| {
                HandshakeFailure::Transport(SshError::new(
                    SshErrorKind::ConnectTimeout,
                    format!(
                        "{}:{} did not complete the SSH handshake in time",
                        target.host, target.port
                    ),
                ))
            })?
    }

    async fn dial(&self, target: &Target) -> Result<tokio::net::TcpStream, SshError> {
        let address = (target.host.as_str(), target.port);
        let addrs: Vec<_> =
            tokio::time::timeout(self.connect_timeout, tokio::net::lookup_host(address))
                .await
                .map_err(|_| {
                    SshError::new(
                        SshErrorKind::Dns,
                        format!("resolving {:?} timed out", target.host),
                    )
                })?
                .map_err(|e| {
                    SshError::new(
                        SshErrorKind::Dns,
                        format!("cannot resolve {:?}: {e}", target.host),
                    )
                })?
                .collect();
        if addrs.is_empty() {
            return Err(SshError::new(
                SshErrorKind::Dns,
                format!("{:?} has no address", target.host),
            ));
        }
        let mut last = None;
        for addr in addrs {
            match tokio::time::timeout(self.connect_timeout, tokio::net::TcpStream::connect(addr))
                .await
            {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(stream);
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                    last = Some(SshError::new(
                        SshErrorKind::Refused,
                        format!("connection to {addr} refused"),
                    ));
                }
                Ok(Err(e)) => {
                    last = Some(SshError::new(
                        SshErrorKind::Network,
                        format!("cannot connect to {addr}: {e}"),
                    ));
                }
                Err(_) => {
                    last = Some(SshError::new(
                        SshErrorKind::ConnectTimeout,
                        format!("no answer from {addr} within {:?}", self.connect_timeout),
                    ));
                }
            }
        }
        Err(last
            .unwrap_or_else(|| SshError::new(SshErrorKind::Network, "no address to connect to")))
    }

    async fn authenticate(
        &self,
        handle: &mut Handle<Client>,
        target: &Target,
    ) -> Result<(), SshError> {
        let who = target.endpoint();
        let tried = match target.auth {
            AuthMethod::Password => {
                let secret = SecretRef::Password {
                    user: target.user.clone(),
                    host: target.host.clone(),
                    port: target.port,
                };
                let password = self
                    .secret(&secret)
                    .await
                    .map_err(|why| keyring_error(format!("the password for {who}"), why))?
                    .ok_or_else(|| {
                        SshError::new(
                            SshErrorKind::AuthFailed,
                            format!("no password is stored for {who}"),
                        )
                        .needing(secret.clone())
                    })?;
                let result = handle
                    .authenticate_password(target.user.clone(), password)
                    .await
                    .map_err(|e| protocol(e, &who))?;
                if result.success() {
                    return Ok(());
                }
                return Err(SshError::new(
                    SshErrorKind::AuthFailed,
                    format!("{who} refused the stored password"),
                )
                .needing(secret));
            }
            AuthMethod::KeyFile => {
                let path = target.key_file.clone().ok_or_else(|| {
                    SshError::new(
                        SshErrorKind::KeyFile,
                        format!("{} has no key file set", target.name),
                    )
                })?;
                let key = self.load_key(&path).await?;
                if self.try_key(handle, &target.user, key, &who).await? {
                    return Ok(());
                }
                format!("key {}", path.display())
            }
            AuthMethod::Agent => {
                let mut tried = Vec::new();
                if self
                    .try_agent(handle, &target.user, &who, &mut tried)
                    .await?
                {
                    return Ok(());
                }
                // Like ssh: the default identities, when unencrypted, after the agent.
                for name in ["id_ed25519", "id_ecdsa", "id_rsa"] {
                    let path = expand_home(&format!("~/.ssh/{name}"));
                    if let Ok(key) = russh::keys::load_secret_key(&path, None) {
                        tried.push(format!("key {}", path.display()));
                        if self.try_key(handle, &target.user, key, &who).await? {
                            return Ok(());
                        }
                    }
                }
                if tried.is_empty() {
                    return Err(SshError::new(
                        SshErrorKind::Agent,
                        format!("no SSH agent keys and no default key to log in to {who} (is SSH_AUTH_SOCK set?)"),
                    ));
                }
                tried.join(", ")
            }
        };
        Err(SshError::new(
            SshErrorKind::AuthFailed,
            format!("{who} refused the login (tried {tried})"),
        ))
    }

    async fn load_key(&self, path: &Path) -> Result<russh::keys::PrivateKey, SshError> {
        let fail = |m: String| SshError::new(SshErrorKind::KeyFile, m);
        match russh::keys::load_secret_key(path, None) {
            Ok(key) => Ok(key),
            Err(russh::keys::Error::KeyIsEncrypted) => {
                let secret = SecretRef::Passphrase {
                    key_file: path.to_path_buf(),
                };
                let passphrase = self
                    .secret(&secret)
                    .await
                    .map_err(|why| {
                        keyring_error(format!("the passphrase of key {}", path.display()), why)
                    })?
                    .ok_or_else(|| {
                        fail(format!(
                            "key {} is encrypted and no passphrase is stored for it",
                            path.display()
                        ))
                        .needing(secret.clone())
                    })?;
                russh::keys::load_secret_key(path, Some(&passphrase)).map_err(|_| {
                    fail(format!(
                        "the stored passphrase does not open key {}",
                        path.display()
                    ))
                    .needing(secret)
                })
            }
            Err(russh::keys::Error::IO(e)) => {
                Err(fail(format!("cannot read key {}: {e}", path.display())))
            }
            Err(e) => Err(fail(format!("cannot use key {}: {e}", path.display()))),
        }
    }

    /// Asks the secret store off the executor (a keyring call is blocking D-Bus traffic).
    /// `Ok(None)`: none is stored; `Err`: the store could not say (missing, locked, silent).
    async fn secret(&self, secret: &SecretRef) -> Result<Option<String>, StoreUnavailable> {
        let (store, secret) = (self.secrets.clone(), secret.clone());
        let lookup = tokio::task::spawn_blocking(move || store.lookup(&secret));
        match tokio::time::timeout(super::SECRET_STORE_TIMEOUT, lookup).await {
            Ok(Ok(found)) => found,
            Ok(Err(_)) => Err(StoreUnavailable::Unreachable),
            // An unlock prompt nobody answers: the call stays blocked on its own thread.
            Err(_) => Err(StoreUnavailable::NoAnswer),
        }
    }

    async fn try_key(
        &self,
        handle: &mut Handle<Client>,
        user: &str,
        key: russh::keys::PrivateKey,
        who: &str,
    ) -> Result<bool, SshError> {
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .map_err(|e| protocol(e, who))?
            .flatten();
        let result = handle
            .authenticate_publickey(
                user.to_string(),
                PrivateKeyWithHashAlg::new(Arc::new(key), hash),
            )
            .await
            .map_err(|e| protocol(e, who))?;
        Ok(result.success())
    }

    async fn try_agent(
        &self,
        handle: &mut Handle<Client>,
        user: &str,
        who: &str,
        tried: &mut Vec<String>,
    ) -> Result<bool, SshError> {
        let Some(socket) = &self.agent_socket else {
            return Ok(false);
        };
        let mut agent = AgentClient::connect_uds(socket).await.map_err(|e| {
            SshError::new(
                SshErrorKind::Agent,
                format!("cannot reach the SSH agent at {}: {e}", socket.display()),
            )
        })?;
        let identities = agent.request_identities().await.map_err(|e| {
            SshError::new(SshErrorKind::Agent, format!("the SSH agent failed: {e}"))
        })?;
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .map_err(|e| protocol(e, who))?
            .flatten();
        for identity in identities {
            let key = identity.public_key().into_owned();
            tried.push(format!(
                "agent key {}",
                key.fingerprint(russh::keys::HashAlg::Sha256)
            ));
            match handle
                .authenticate_publickey_with(user.to_string(), key, hash, &mut agent)
                .await
            {
                Ok(result) if result.success() => return Ok(true),
                Ok(_) => {}
                Err(e) => tracing::debug!("agent signature failed: {e}"),
            }
        }
        Ok(false)
    }
}

/// The secret store could not say whether `what` is stored: the keyring's fault, not the
/// server's, and asking the user to type it would not help (it could not be kept either).
fn keyring_error(what: String, why: StoreUnavailable) -> SshError {
    SshError::new(
        SshErrorKind::Keyring,
        format!("cannot read {what}: {}", why.explain()),
    )
}

fn protocol(err: russh::Error, who: &str) -> SshError {
    SshError::new(
        SshErrorKind::Protocol,
        format!("SSH with {who} failed: {err}"),
    )
}

/// A handshake failure: our own host-key refusal if that was it, else what russh said.
fn handshake_error(
    err: russh::Error,
    refusal: &Mutex<Option<SshError>>,
    target: &Target,
) -> SshError {
    if let Some(refused) = refusal.lock().ok().and_then(|mut r| r.take()) {
        return refused;
    }
    match err {
        russh::Error::IO(e) => SshError::new(
            SshErrorKind::Network,
            format!("connection to {}:{} failed: {e}", target.host, target.port),
        ),
        other => protocol(other, &target.endpoint()),
    }
}
