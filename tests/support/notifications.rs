//! Desktop notifications as they cross the session bus (the one `dbus-run-session` gave
//! the test), seen through `dbus-monitor`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INTERFACE: &str = "org.freedesktop.Notifications";
/// How long the monitor may take to start listening, and a notification to show up.
const WAIT: Duration = Duration::from_secs(10);

/// A `dbus-monitor` watching the notifications interface into a file. Stopped on drop.
pub struct NotificationMonitor {
    child: Child,
    file: PathBuf,
}

impl NotificationMonitor {
    /// Starts the monitor and returns once it is proven listening: a probe call on the
    /// interface (sent again until seen; nobody need answer it) shows in its output.
    pub fn start(file: &Path) -> Self {
        let child = Command::new("dbus-monitor")
            .args(["--session", &format!("interface='{INTERFACE}'")])
            .stdout(std::fs::File::create(file).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-monitor (Debian package dbus)");
        let monitor = Self {
            child,
            file: file.to_path_buf(),
        };
        let deadline = Instant::now() + WAIT;
        while !monitor.seen().contains("member=GetCapabilities") {
            assert!(
                Instant::now() < deadline,
                "dbus-monitor never saw a probe call:\n{}",
                monitor.seen()
            );
            // No reply awaited: there may be no notification server at all.
            let probe = Command::new("dbus-send")
                .args([
                    "--session",
                    "--type=method_call",
                    &format!("--dest={INTERFACE}"),
                    "/org/freedesktop/Notifications",
                    &format!("{INTERFACE}.GetCapabilities"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("dbus-send (Debian package dbus)");
            assert!(probe.success(), "dbus-send failed: {probe}");
            std::thread::sleep(Duration::from_millis(100));
        }
        monitor
    }

    /// Everything the monitor printed so far.
    pub fn seen(&self) -> String {
        std::fs::read_to_string(&self.file).unwrap_or_default()
    }

    /// Waits (bounded) until a notification containing `expected` was seen, then stops.
    pub fn assert_notified(mut self, expected: &str) {
        let deadline = Instant::now() + WAIT;
        let mut seen = self.seen();
        while !seen.contains(expected) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
            seen = self.seen();
        }
        self.stop();
        assert!(
            seen.contains(expected),
            "no {expected:?} notification on the bus:\n{seen}"
        );
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NotificationMonitor {
    fn drop(&mut self) {
        self.stop();
    }
}
