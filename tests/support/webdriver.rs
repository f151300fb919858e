//! A small W3C WebDriver client for driving the real app through tauri-driver, which
//! launches the built binary in WebKitGTK. Enough for end-to-end tests: find, wait,
//! click, type, read text, run a script, screenshot.

use serde_json::{json, Value};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
pub const WAIT: Duration = Duration::from_secs(20);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into()
}

/// A running tauri-driver, killed on drop. Sessions it starts inherit `env`.
pub struct Driver {
    child: Child,
    base: String,
    app: PathBuf,
}

impl Driver {
    pub fn start(app: &Path, env: &[(&str, &Path)]) -> Driver {
        let port = free_port();
        let native_port = free_port();
        let mut command = Command::new(tauri_driver());
        command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            // With compositing disabled, WebKitWebDriver's screenshots hang.
            .env_remove("WEBKIT_DISABLE_COMPOSITING_MODE")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .expect("cannot start tauri-driver: run the suite through .ci/run, which installs it");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            app: app.to_path_buf(),
        };
        // Both tauri-driver and the WebKitWebDriver it starts must be listening.
        let deadline = Instant::now() + WAIT;
        for listening in [port, native_port] {
            while std::net::TcpStream::connect(("127.0.0.1", listening)).is_err() {
                assert!(
                    Instant::now() < deadline,
                    "tauri-driver did not start listening"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        driver
    }

    /// Launches the app and connects to its window.
    pub fn session(&self) -> Session {
        let caps = json!({
            "capabilities": { "alwaysMatch": {
                "tauri:options": { "application": self.app }
            }}
        });
        // tauri-driver listens before its WebKitWebDriver does, and drops connections until
        // then: retry for a while.
        let deadline = Instant::now() + WAIT;
        let value = loop {
            match agent()
                .post(format!("{}/session", self.base))
                .send_json(&caps)
            {
                Err(ureq::Error::Io(err)) if Instant::now() < deadline => {
                    eprintln!("WebDriver not ready yet ({err}); retrying");
                    std::thread::sleep(Duration::from_millis(250));
                }
                result => break request(result),
            }
        };
        let id = value["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {value}"))
            .to_string();
        Session {
            url: format!("{}/session/{id}", self.base),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tauri_driver() -> PathBuf {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let installed = home.join(".cargo/bin/tauri-driver");
    if installed.exists() {
        installed
    } else {
        PathBuf::from("tauri-driver")
    }
}

fn request(result: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Value {
    let mut response = result.expect("WebDriver request failed");
    let status = response.status();
    let body: Value = response
        .body_mut()
        .read_json()
        .expect("WebDriver reply is not JSON");
    assert!(status.is_success(), "WebDriver error {status}: {body}");
    body
}

/// One app launch. Ends (the app is stopped) with [`Session::quit`] or on drop.
pub struct Session {
    url: String,
}

#[derive(Clone)]
pub struct Element(String);

impl Session {
    fn post(&self, path: &str, body: Value) -> Value {
        request(agent().post(format!("{}{path}", self.url)).send_json(&body))["value"].take()
    }

    /// The first element matching a CSS selector, if any right now.
    pub fn try_find(&self, css: &str) -> Option<Element> {
        let mut response = agent()
            .post(format!("{}/element", self.url))
            .send_json(json!({"using": "css selector", "value": css}))
            .expect("WebDriver request failed");
        let body: Value = response.body_mut().read_json().ok()?;
        body["value"][ELEMENT_KEY]
            .as_str()
            .map(|id| Element(id.to_string()))
    }

    /// Waits for an element matching `css`.
    pub fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(element) = self.try_find(css) {
                return element;
            }
            if Instant::now() > deadline {
                self.screenshot(&format!("missing-{}", sanitize(css)));
                panic!("no element matches {css:?} after {WAIT:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until nothing matches `css`.
    pub fn wait_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while self.try_find(css).is_some() {
            if Instant::now() > deadline {
                self.screenshot(&format!("still-{}", sanitize(css)));
                panic!("{css:?} is still there after {WAIT:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the element's text contains `expected`, and returns the text.
    pub fn wait_text(&self, css: &str, expected: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self
                .try_find(css)
                .map(|e| self.text(&e))
                .unwrap_or_default();
            if text.contains(expected) {
                return text;
            }
            if Instant::now() > deadline {
                self.screenshot(&format!("text-{}", sanitize(css)));
                panic!("{css:?} never showed {expected:?}; last text: {text:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the element's attribute `name` is exactly `expected` (not merely
    /// contains it: `5` must not pass for `15`).
    pub fn wait_attr(&self, css: &str, name: &str, expected: &str) {
        let deadline = Instant::now() + WAIT;
        loop {
            let value = self.execute(&format!(
                "const e = document.querySelector({css:?}); \
                 return e ? e.getAttribute({name:?}) : null;"
            ));
            if value.as_str() == Some(expected) {
                return;
            }
            if Instant::now() > deadline {
                self.screenshot(&format!("attr-{}", sanitize(css)));
                panic!("{css:?} never had {name}={expected:?}; last value: {value}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn click(&self, css: &str) {
        let element = self.find(css);
        self.post(&format!("/element/{}/click", element.0), json!({}));
    }

    /// Replaces the content of an input the way a person would: select all, type.
    pub fn fill(&self, css: &str, text: &str) {
        let element = self.find(css);
        let keys = format!("\u{E009}a\u{E009}\u{E003}{text}");
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": keys }),
        );
    }

    /// Types into an input without clearing it first (WebDriver key codes allowed, e.g.
    /// `keys::ENTER`).
    pub fn keys(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        );
    }

    /// Presses keys together wherever the focus is, as a person would (the Actions API):
    /// `press(&[keys::CONTROL, "k"])`. Nothing need be focused.
    pub fn press(&self, chord: &[&str]) {
        let mut actions: Vec<Value> = chord
            .iter()
            .map(|k| json!({ "type": "keyDown", "value": k }))
            .collect();
        actions.extend(
            chord
                .iter()
                .rev()
                .map(|k| json!({ "type": "keyUp", "value": k })),
        );
        self.post(
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        );
    }

    pub fn text(&self, element: &Element) -> String {
        // The element may be re-rendered away between find and read.
        let mut response = agent()
            .get(format!("{}/element/{}/text", self.url, element.0))
            .call()
            .expect("WebDriver request failed");
        let body: Value = response.body_mut().read_json().unwrap_or_default();
        body["value"].as_str().unwrap_or_default().to_string()
    }

    pub fn text_of(&self, css: &str) -> String {
        let element = self.find(css);
        self.text(&element)
    }

    pub fn execute(&self, script: &str) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": [] }))
    }

    /// Waits until a script returns `true`.
    pub fn wait_script(&self, script: &str) {
        let deadline = Instant::now() + WAIT;
        while self.execute(script) != Value::Bool(true) {
            assert!(Instant::now() < deadline, "never true: {script}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Saves a PNG under target/e2e-screens/ for a person to look at. Best effort: a
    /// screenshot is evidence, not an assertion.
    pub fn screenshot(&self, name: &str) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e-screens");
        let _ = std::fs::create_dir_all(&dir);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(15)))
            .build()
            .into();
        let Ok(mut response) = agent.get(format!("{}/screenshot", self.url)).call() else {
            eprintln!("screenshot {name} failed");
            return;
        };
        let value: Value = response.body_mut().read_json().unwrap_or_default();
        if let Some(data) = value["value"].as_str() {
            use base64::Engine as _;
            if let Ok(png) = base64::engine::general_purpose::STANDARD.decode(data) {
                let _ = std::fs::write(dir.join(format!("{name}.png")), png);
            }
        }
    }

    /// Ends the session; tauri-driver stops the app.
    pub fn quit(self) {
        let _ = agent().delete(&self.url).call();
        std::mem::forget(self);
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = agent().delete(&self.url).call();
    }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Waits for a file a remote command writes (e.g. its PID), then returns its trimmed text.
pub fn wait_for_file(path: &Path) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            if text.ends_with('\n') {
                return text.trim().to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} never written",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// WebDriver's codes for keys that are not characters.
pub mod keys {
    pub const CONTROL: &str = "\u{E009}";
    pub const ENTER: &str = "\u{E007}";
    pub const ESCAPE: &str = "\u{E00C}";
    pub const TAB: &str = "\u{E004}";
    pub const ARROW_DOWN: &str = "\u{E015}";
    pub const ARROW_UP: &str = "\u{E013}";
}
