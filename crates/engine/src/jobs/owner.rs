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

/// Field 22 of /proc/PID/stat: start time in clock ticks since boot.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_string)
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
}
