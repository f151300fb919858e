//! The UI transport admits only the app's own window: right secret, right Host, right
//! Origin, one socket at a time. Checked with raw HTTP against a real server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vmo_engine::{Engine, Paths};
use vmo_ui::{Desktop, Preferences, SingleProfile, Theme, UiContext, UiServer};

struct NoPrefs;
impl Preferences for NoPrefs {
    fn theme(&self) -> Theme {
        Theme::System
    }
    fn set_theme(&self, _: Theme) -> Result<(), String> {
        Ok(())
    }
    fn dashboard_layout(&self) -> Option<Vec<String>> {
        None
    }
    fn set_dashboard_layout(&self, _: Vec<String>) -> Result<(), String> {
        Ok(())
    }
    fn getting_started_dismissed(&self) -> bool {
        true
    }
    fn dismiss_getting_started(&self) -> Result<(), String> {
        Ok(())
    }
}

struct NoDesktop;
impl Desktop for NoDesktop {
    fn save_file(&self, _: &str, _: &str) -> Option<std::path::PathBuf> {
        None
    }
    fn open_files(&self, _: &str) -> Vec<std::path::PathBuf> {
        Vec::new()
    }
}

struct Target {
    host: String,
    secret: String,
}

/// Sends one request; returns the status code and the open stream (kept for sockets).
fn send(target: &Target, path: &str, headers: &[(&str, &str)]) -> (u16, TcpStream, String) {
    let mut stream = TcpStream::connect(&target.host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = Vec::new();
    // Read the head (and for pages, enough of the body to check it).
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got);
                if text.contains("</html>")
                    || (text.contains("\r\n\r\n") && !text.starts_with("HTTP/1.1 200"))
                {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
    (status, stream, text)
}

fn upgrade_headers<'a>(host: &'a str, origin: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("Host", host),
        ("Origin", origin),
        ("Connection", "Upgrade"),
        ("Upgrade", "websocket"),
        ("Sec-WebSocket-Version", "13"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_apps_own_window_gets_in() {
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::open(Paths::new(data.path())).await.unwrap();
    let ctx = UiContext {
        profiles: Arc::new(SingleProfile(engine.clone())),
        engine,
        prefs: Arc::new(NoPrefs),
        desktop: Arc::new(NoDesktop),
    };
    let server = UiServer::start("test", vmo_ui::make_dom(ctx))
        .await
        .unwrap();
    let url = server.url();
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .expect("must listen on loopback only");
    let (port, secret) = rest.split_once('/').unwrap();
    let secret = secret.trim_end_matches('/').to_string();
    assert_eq!(secret.len(), 64, "secret must be 256 bits in hex");
    assert_eq!(server.origin(), format!("http://127.0.0.1:{port}"));
    let target = Target {
        host: format!("127.0.0.1:{port}"),
        secret,
    };
    let origin = server.origin();

    tokio::task::spawn_blocking(move || {
        let host = target.host.clone();
        let page = format!("/{}/", target.secret);
        let ws = format!("/{}/ws", target.secret);

        // The page: served with the secret and the right Host only.
        let (status, _, body) = send(&target, &page, &[("Host", &host)]);
        assert_eq!(status, 200);
        assert!(body.contains("<div id=\"main\">"), "{body}");
        assert!(body.contains("location.reload"), "reconnect guard missing");
        let (status, _, _) = send(&target, "/0000/", &[("Host", &host)]);
        assert_eq!(status, 404, "page without the secret");
        let wrong = format!("/{}/", "a".repeat(64));
        assert_eq!(
            send(&target, &wrong, &[("Host", &host)]).0,
            404,
            "wrong secret"
        );
        let (status, _, _) = send(&target, &page, &[("Host", "evil.example:80")]);
        assert_eq!(status, 403, "DNS-rebinding Host");

        // The socket: refused without the secret, from a foreign or missing Origin.
        let bad_secret = format!("/{}/ws", "b".repeat(64));
        assert_eq!(
            send(&target, &bad_secret, &upgrade_headers(&host, &origin)).0,
            404
        );
        assert_eq!(
            send(&target, &ws, &upgrade_headers(&host, "http://evil.example")).0,
            403,
            "foreign Origin"
        );
        assert_eq!(
            send(&target, &ws, &upgrade_headers(&host, "null")).0,
            403,
            "opaque Origin"
        );
        let no_origin: Vec<_> = upgrade_headers(&host, &origin)
            .into_iter()
            .filter(|(k, _)| *k != "Origin")
            .collect();
        assert_eq!(send(&target, &ws, &no_origin).0, 403, "no Origin");
        assert_eq!(
            send(&target, &ws, &upgrade_headers("localhost:1", &origin)).0,
            403,
            "foreign Host on the socket"
        );

        // The window: admitted, and the only one while it is connected.
        let (status, window, head) = send(&target, &ws, &upgrade_headers(&host, &origin));
        assert_eq!(status, 101, "{head}");
        assert_eq!(
            send(&target, &ws, &upgrade_headers(&host, &origin)).0,
            409,
            "second socket while the window is connected"
        );

        // When the window's socket drops, it may reconnect.
        drop(window);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, _again, _) = send(&target, &ws, &upgrade_headers(&host, &origin));
            if status == 101 {
                break;
            }
            assert_eq!(status, 409);
            assert!(Instant::now() < deadline, "the slot was never freed");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .await
    .unwrap();
}
