//! One multiplexed connection per target, reused across runs and probes. A closed
//! connection is replaced on next use; idle ones are dropped after a while. Two callers
//! wanting the same new connection wait for one handshake, not two.

use super::connect::{Connection, Connector};
use super::error::SshError;
use super::target::Target;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Slot {
    connection: Option<Arc<Connection>>,
    last_used: Instant,
}

pub struct SshPool {
    connector: Connector,
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Slot>>>>,
    idle_expiry: Duration,
    opened: AtomicUsize,
}

type ConnectFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Arc<Connection>, SshError>> + Send + 'a>>;

impl SshPool {
    pub fn new(connector: Connector, idle_expiry: Duration) -> Self {
        Self {
            connector,
            slots: Mutex::new(HashMap::new()),
            idle_expiry,
            opened: AtomicUsize::new(0),
        }
    }

    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    /// How many connections this pool has opened so far (reuse shows as no increase).
    pub fn connections_opened(&self) -> usize {
        self.opened.load(Ordering::Relaxed)
    }

    /// A live connection to `target`, opening one (and its jump hosts) if needed.
    pub fn get<'a>(&'a self, target: &'a Target) -> ConnectFuture<'a> {
        Box::pin(async move {
            let key = target.connection_key();
            let slot = {
                let mut slots = self.slots.lock().map_err(|_| poisoned())?;
                slots
                    .entry(key)
                    .or_insert_with(|| {
                        Arc::new(tokio::sync::Mutex::new(Slot {
                            connection: None,
                            last_used: Instant::now(),
                        }))
                    })
                    .clone()
            };
            let mut slot = slot.lock().await;
            slot.last_used = Instant::now();
            if let Some(conn) = &slot.connection {
                if !conn.is_closed() {
                    return Ok(conn.clone());
                }
                tracing::debug!(target = %conn.target_key, "pooled connection closed; reconnecting");
            }
            let via = match &target.jump {
                Some(jump) => Some(
                    self.get(jump)
                        .await
                        .map_err(|e| e.context(format!("jump host {}", jump.name)))?,
                ),
                None => None,
            };
            let conn = Arc::new(self.connector.connect(target, via).await?);
            self.opened.fetch_add(1, Ordering::Relaxed);
            slot.connection = Some(conn.clone());
            Ok(conn)
        })
    }

    /// Forgets a connection (e.g. after it failed mid-run), so the next use reconnects.
    pub async fn discard(&self, target: &Target) {
        let slot = self
            .slots
            .lock()
            .ok()
            .and_then(|slots| slots.get(&target.connection_key()).cloned());
        if let Some(slot) = slot {
            slot.lock().await.connection = None;
        }
    }

    /// Drops connections unused for longer than the idle expiry. Returns how many.
    pub async fn expire_idle(&self) -> usize {
        let slots: Vec<_> = match self.slots.lock() {
            Ok(slots) => slots.values().cloned().collect(),
            Err(_) => return 0,
        };
        let mut expired = 0;
        for slot in slots {
            // A slot being connected or used right now is not idle.
            if let Ok(mut slot) = slot.try_lock() {
                if slot.connection.is_some() && slot.last_used.elapsed() > self.idle_expiry {
                    slot.connection = None;
                    expired += 1;
                }
            }
        }
        expired
    }
}

fn poisoned() -> SshError {
    SshError::new(
        super::error::SshErrorKind::Protocol,
        "connection pool lock poisoned",
    )
}
