//! Which process runs a job. The app and `vmo` share one database, so "running at start-up"
//! does not mean "interrupted": only a job whose process is gone is. A process is named by
//! its pid and its start time, so a recycled pid is not mistaken for the owner.

/// This process, as `pid:start-time`.
pub(crate) fn this_process() -> String {
    let pid = std::process::id();
    format!("{pid}:{}", start_time(pid).unwrap_or_default())
}

/// Whether the process named by `owner` still runs.
pub(crate) fn is_alive(owner: &str) -> bool {
    let Some((pid, started)) = owner.split_once(':') else {
        return false;
    };
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    match start_time(pid) {
        Some(now) => now == started,
        // No /proc (not Linux): only this process is known to be alive.
        None if !std::path::Path::new("/proc/self/stat").exists() => pid == std::process::id(),
        None => false,
    }
}

/// Field 22 of /proc/PID/stat: start time in clock ticks since boot. None for a process
/// that has ended but whose parent has not reaped it yet (a zombie, state Z or X): it
/// runs no job any more, and a parent may take its time (or never) to reap it.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after the last ')'.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(fields.next(), Some("Z" | "X")) {
        return None;
    }
    fields.nth(18).map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_one_is_not() {
        let me = this_process();
        assert!(is_alive(&me), "{me}");
        let (pid, _) = me.split_once(':').unwrap();
        assert!(
            !is_alive(&format!("{pid}:1")),
            "another start time is another process"
        );
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = format!(
            "{}:{}",
            child.id(),
            start_time(child.id()).unwrap_or_default()
        );
        child.wait().unwrap();
        assert!(!is_alive(&dead));
        assert!(!is_alive("garbage"));
    }

    #[test]
    fn a_killed_process_not_yet_reaped_is_not_alive() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let owner = format!("{}:{}", child.id(), start_time(child.id()).unwrap());
        assert!(is_alive(&owner));
        child.kill().unwrap();
        // Not waited for: a zombie until reaped, as a killed app whose parent is slow.
        let zombie = (0..200).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(10));
            std::fs::read_to_string(format!("/proc/{}/stat", child.id()))
                .is_ok_and(|stat| stat.contains(") Z "))
        });
        assert!(zombie, "the child never became a zombie");
        assert!(!is_alive(&owner));
        child.wait().unwrap();
    }
}
