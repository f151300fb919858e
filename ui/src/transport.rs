//! The socket between the app's window and the Dioxus virtual DOM running in this process.
//!
//! Any local process or web page can reach 127.0.0.1, so the transport admits only the
//! app's own window:
//! - it listens on a random loopback port, never on another interface;
//! - every path starts with a per-launch 256-bit secret, which is never logged;
//! - every request must carry the exact `Host` (defeats DNS rebinding), and the socket
//!   upgrade the exact `Origin` of the page it served;
//! - one window at a time: a second socket is refused while one is live.
//!
//! Each socket gets a fresh `VirtualDom`; the page reloads itself when its socket drops, so
//! the UI keeps no state that matters (that lives in the engine).

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dioxus::prelude::VirtualDom;
use dioxus_liveview::LiveViewPool;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Builds the root of a fresh virtual DOM for each window connection.
pub type MakeDom = Arc<dyn Fn() -> VirtualDom + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot listen on loopback: {0}")]
    Bind(std::io::Error),
    #[error("no randomness for the transport secret: {0}")]
    Random(getrandom::Error),
}

/// A running UI server. Dropping it does not stop the server; it lives as long as the app.
pub struct UiServer {
    addr: SocketAddr,
    secret: String,
}

impl UiServer {
    /// Binds `127.0.0.1:0` and serves until the runtime stops.
    pub async fn start(title: &str, make_dom: MakeDom) -> Result<Self, TransportError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(TransportError::Random)?;
        let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(TransportError::Bind)?;
        let addr = listener.local_addr().map_err(TransportError::Bind)?;
        let gate = Arc::new(Gate {
            secret: secret.clone(),
            host: addr.to_string(),
            origin: format!("http://{addr}"),
            page: page(title, &secret),
            window_connected: AtomicBool::new(false),
            pool: LiveViewPool::new(),
            make_dom,
        });
        let app = Router::new()
            .route("/{secret}/", get(serve_page))
            .route("/{secret}/ws", get(serve_socket))
            .with_state(gate);
        tokio::spawn(async move {
            if let Err(err) = axum::serve(listener, app).await {
                tracing::error!("UI transport stopped: {err}");
            }
        });
        tracing::info!(port = addr.port(), "UI transport listening on loopback");
        Ok(Self { addr, secret })
    }

    /// The page the window must load. Contains the secret: hand it only to the window.
    pub fn url(&self) -> String {
        format!("http://{}/{}/", self.addr, self.secret)
    }

    /// `http://127.0.0.1:PORT`: the only origin the window may navigate to.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }
}

struct Gate {
    secret: String,
    host: String,
    origin: String,
    page: String,
    window_connected: AtomicBool,
    pool: LiveViewPool,
    make_dom: MakeDom,
}

impl Gate {
    /// Constant-time comparison, so the secret cannot be guessed byte by byte by timing.
    fn secret_matches(&self, given: &str) -> bool {
        given.len() == self.secret.len()
            && given
                .bytes()
                .zip(self.secret.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }

    /// The status to refuse a request with, if it is not from the app's window.
    fn refuse(&self, secret: &str, headers: &HeaderMap) -> Option<StatusCode> {
        if !self.secret_matches(secret) {
            return Some(StatusCode::NOT_FOUND);
        }
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        if host != Some(self.host.as_str()) {
            tracing::warn!("UI transport refused a request with a foreign Host header");
            return Some(StatusCode::FORBIDDEN);
        }
        None
    }
}

async fn serve_page(
    State(gate): State<Arc<Gate>>,
    Path(secret): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Some(status) = gate.refuse(&secret, &headers) {
        return status.into_response();
    }
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        Html(gate.page.clone()),
    )
        .into_response()
}

async fn serve_socket(
    State(gate): State<Arc<Gate>>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Some(status) = gate.refuse(&secret, &headers) {
        return status.into_response();
    }
    let origin = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok());
    if origin != Some(gate.origin.as_str()) {
        tracing::warn!("UI transport refused a socket from a foreign origin");
        return StatusCode::FORBIDDEN.into_response();
    }
    if gate.window_connected.swap(true, Ordering::SeqCst) {
        tracing::warn!("UI transport refused a second window socket");
        return StatusCode::CONFLICT.into_response();
    }
    upgrade.on_upgrade(move |socket| async move {
        tracing::info!("UI window connected");
        let make_dom = gate.make_dom.clone();
        let result = gate
            .pool
            .launch_virtualdom(dioxus_liveview::axum_socket(socket), move || make_dom())
            .await;
        gate.window_connected.store(false, Ordering::SeqCst);
        // The liveview loop reports a closed socket as a send failure: both are a
        // window going away (reload, close), which the page recovers from by itself.
        if let Err(err) = result {
            tracing::debug!("UI socket closed: {err}");
        }
    })
}

/// The HTML shell: styles, the reconnect guard, then the stock liveview client.
fn page(title: &str, secret: &str) -> String {
    let glue = dioxus_liveview::interpreter_glue(&format!("/{secret}/ws"));
    let style = crate::STYLE;
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<style>{style}</style>
<script>{RECONNECT_JS}</script>
</head>
<body><div id="main"></div>{glue}</body>
</html>"#
    )
}

/// The stock liveview client never reconnects. Wrap its WebSocket: when it closes, show a
/// banner and reload the page (a fresh socket gets a fresh virtual DOM), backing off up
/// to 5 s while the server refuses.
const RECONNECT_JS: &str = r#"
(function () {
  const Native = window.WebSocket;
  const key = "vmo-reconnects";
  function Guarded(url, protocols) {
    const ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    window.vmoSocket = ws; // the live socket, for diagnostics and tests
    ws.addEventListener("open", function () {
      sessionStorage.removeItem(key);
      document.documentElement.classList.remove("vmo-offline");
    });
    ws.addEventListener("close", function () {
      document.documentElement.classList.add("vmo-offline");
      const tries = Number(sessionStorage.getItem(key) || "0");
      sessionStorage.setItem(key, String(tries + 1));
      setTimeout(function () { location.reload(); }, Math.min(5000, 250 * Math.pow(2, tries)));
    });
    return ws;
  }
  Guarded.prototype = Native.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (k) { Guarded[k] = Native[k]; });
  window.WebSocket = Guarded;
})();
"#;
