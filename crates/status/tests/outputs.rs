//! The parser against recorded probe outputs of other systems (the real test fleet's own
//! answer is parsed in the engine's tests, against live sshd).

use vmo_status::probe::{parse, ParseError, COMMAND, MARKER};
use vmo_status::{CpuTimes, Reading, Usage};

fn read(name: &str) -> Reading {
    let path = format!("{}/tests/outputs/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap();
    parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"))
}

const KIB: u64 = 1024;

#[test]
fn debian() {
    let r = read("debian-12.txt");
    assert_eq!(r.kernel.as_deref(), Some("Linux 6.1.0-18-amd64 x86_64"));
    assert_eq!(r.os.as_deref(), Some("Debian GNU/Linux 12 (bookworm)"));
    assert_eq!(r.os_id.as_deref(), Some("debian"));
    assert_eq!(r.os_version.as_deref(), Some("12"));
    assert_eq!(r.load, Some([0.52, 0.58, 0.59]));
    assert_eq!(r.cpu_count, Some(2));
    let total = 74608 + 2520 + 24433 + 1117073 + 6176 + 4054;
    assert_eq!(
        r.cpu_times,
        Some(CpuTimes {
            busy: total - 1117073 - 6176,
            total
        })
    );
    assert_eq!(
        r.memory,
        Some(Usage {
            used: (4025148 - 2710760) * KIB,
            total: 4025148 * KIB
        })
    );
    assert_eq!(
        r.disk,
        Some(Usage {
            used: 9713696 * KIB,
            total: (9713696 + 20453004) * KIB
        })
    );
    assert_eq!(r.uptime_secs, Some(13424));
    assert_eq!(r.load_per_cpu(), Some(0.26));
}

#[test]
fn ubuntu_after_a_banner_on_stdout() {
    let r = read("ubuntu-22.04.txt");
    assert_eq!(r.os.as_deref(), Some("Ubuntu 22.04.4 LTS"));
    assert_eq!(r.cpu_count, Some(4));
    // A nearly full disk, as df shows it: 98%.
    assert_eq!(r.disk.map(|d| d.pct().round()), Some(98.0));
    assert_eq!(r.memory.map(|m| m.pct().round()), Some(92.0));
    assert_eq!(r.uptime_secs, Some(1209312));
}

#[test]
fn alpine_busybox() {
    let r = read("alpine-3.19.txt");
    assert_eq!(r.os.as_deref(), Some("Alpine Linux v3.19"));
    assert_eq!(r.os_version.as_deref(), Some("3.19.1"));
    assert_eq!(r.cpu_count, Some(1));
    assert_eq!(r.disk.map(|d| d.used), Some(152912 * KIB));
    assert_eq!(r.load, Some([0.0, 0.01, 0.0]));
}

#[test]
fn rhel_under_load() {
    let r = read("rhel-9.txt");
    assert_eq!(r.os_id.as_deref(), Some("rhel"));
    assert_eq!(r.os.as_deref(), Some("Red Hat Enterprise Linux 9.3 (Plow)"));
    assert_eq!(r.cpu_count, Some(8));
    assert_eq!(r.load_per_cpu(), Some(17.92 / 8.0));
    // Steal time counts as busy; iowait as idle.
    let t = r.cpu_times.unwrap();
    assert_eq!(t.total - t.busy, 50022311 + 88221);
}

#[test]
fn old_kernel_without_memavailable_and_a_wrapped_df_row() {
    let r = read("centos-6-no-memavailable.txt");
    assert_eq!(
        r.memory,
        Some(Usage {
            used: (1000000 - 200000 - 100000 - 300000) * KIB,
            total: 1000000 * KIB
        })
    );
    assert_eq!(r.disk.map(|d| d.used), Some(2014444 * KIB));
    // No os-release: the kernel's name stands in.
    assert_eq!(r.os.as_deref(), Some("Linux"));
}

#[test]
fn freebsd_degrades_to_what_it_has() {
    let r = read("freebsd-14.txt");
    assert_eq!(r.os.as_deref(), Some("FreeBSD"));
    assert_eq!(r.kernel.as_deref(), Some("FreeBSD 14.0-RELEASE amd64"));
    assert_eq!(
        (r.load, r.cpu_count, r.memory, r.uptime_secs),
        (None, None, None, None)
    );
    assert_eq!(r.disk.map(|d| d.used), Some(5234892 * KIB));
}

#[test]
fn a_shell_that_ran_something_else_is_named() {
    let path = format!(
        "{}/tests/outputs/forced-command.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let err = parse(&std::fs::read(path).unwrap()).unwrap_err();
    assert_eq!(
        err,
        ParseError::NoMarker("This account is currently not available.".into())
    );
    assert!(err.to_string().contains("did not run the status probe"));
    assert!(parse(b"")
        .unwrap_err()
        .to_string()
        .contains("printed nothing"));
}

#[test]
fn garbage_in_sections_leaves_fields_absent() {
    let out = format!(
        "{MARKER}\n\n@loadavg\nNaN 1 2\n@stat\ncpu  x y z\ncpu0 1\n@meminfo\nMemTotal: lots kB\n\
         @df\nFilesystem\n/dev/x 1 2\n@uptime\n-5\n@os\nPRETTY_NAME=\n\x1b]0;evil\x07\n@end\n"
    );
    let r = parse(out.as_bytes()).unwrap();
    assert_eq!(
        (r.load, r.cpu_times, r.memory, r.disk, r.uptime_secs),
        (None, None, None, None, None)
    );
    assert_eq!(r.cpu_count, Some(1));
    // Invalid UTF-8 does not stop the parse.
    let mut bytes = format!("{MARKER}\n@uptime\n").into_bytes();
    bytes.extend_from_slice(b"\xff\xfe 1\n12.5 3\n");
    assert_eq!(parse(&bytes).unwrap().uptime_secs, Some(12));
}

#[test]
fn the_command_writes_nothing_on_the_host() {
    // No redirection into anything but /dev/null, no temp files, no tee.
    let without_devnull = COMMAND.replace("2>/dev/null", "");
    assert!(!without_devnull.contains('>'), "{COMMAND}");
    for word in ["tee", "mktemp", "touch", "/tmp"] {
        assert!(!COMMAND.contains(word), "{word} in {COMMAND}");
    }
    assert!(COMMAND.starts_with(&format!("echo '{MARKER}'")));
}

#[test]
fn cpu_busy_between_rounds() {
    let a = CpuTimes {
        busy: 100,
        total: 1000,
    };
    let b = CpuTimes {
        busy: 400,
        total: 2000,
    };
    assert_eq!(b.busy_pct_since(&a), Some(30.0));
    assert_eq!(a.busy_pct_since(&b), None, "counters went back: a reboot");
    assert_eq!(a.busy_pct_since(&a), None, "no time passed");
}
