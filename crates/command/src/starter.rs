//! The starter library: templates every user has, read-only (copy one to change it).
//! Commands stick to what a stock Debian/Ubuntu or RHEL/Fedora host has.

use crate::template::{Param, ParamType, Template};

/// Units a host knows, one per line: the suggestions for `restart-service`.
pub const UNITS_SUGGEST: &str =
    "systemctl list-units --type=service --no-legend --plain | awk '{print $1}'";

fn template(name: &str, description: &str, tags: &[&str], command: &str) -> Template {
    Template {
        description: description.into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        ..Template::new(name, command)
    }
}

fn integer(name: &str, default: i64, min: i64, max: i64, description: &str) -> Param {
    Param {
        kind: ParamType::Integer,
        default: Some(default.to_string()),
        min: Some(min),
        max: Some(max),
        description: description.into(),
        ..Param::text(name)
    }
}

/// Every starter template, in the order the library lists them.
pub fn templates() -> Vec<Template> {
    let mut restart = template(
        "restart-service",
        "Restart a systemd service and show its status",
        &["systemd", "service"],
        "sudo systemctl restart {{unit}} && systemctl status --no-pager --lines=5 {{unit}}",
    );
    restart.declared = vec![Param {
        description: "The service unit, e.g. nginx.service".into(),
        suggest: Some(UNITS_SUGGEST.into()),
        ..Param::text("unit")
    }];
    restart.dangerous = true;

    let mut tail = template(
        "tail-file",
        "The last lines of a file",
        &["logs", "files"],
        "tail -n {{lines:100}} {{path}}",
    );
    tail.declared = vec![
        Param {
            kind: ParamType::Path,
            description: "File on the host".into(),
            ..Param::text("path")
        },
        integer("lines", 100, 1, 100_000, "How many lines"),
    ];

    let mut journal = template(
        "journal-errors",
        "Journal messages of priority error or worse in the last N minutes",
        &["systemd", "logs"],
        "journalctl --no-pager --priority=err --since=\"-{{minutes:30}} min\"",
    );
    journal.declared = vec![integer("minutes", 30, 1, 525_600, "How far back")];

    let mut top = template(
        "top-processes",
        "Processes using the most CPU and memory",
        &["processes", "performance"],
        "ps -eo pid,user,%cpu,%mem,etime,comm --sort=-%cpu | awk -v n={{count:10}} 'NR <= n + 1'; echo; ps -eo pid,user,%cpu,%mem,etime,comm --sort=-%mem | awk -v n={{count}} 'NR <= n + 1'",
    );
    top.declared = vec![integer("count", 10, 1, 1000, "Processes per list")];

    vec![
        template(
            "uptime-load",
            "How long the host has been up, and its load averages",
            &["health"],
            "uptime",
        ),
        template(
            "disk-usage",
            "Used and free space of every mounted file system",
            &["health", "disk"],
            "df -h -x tmpfs -x devtmpfs -x squashfs -x overlay",
        ),
        template(
            "memory",
            "Memory and swap in use",
            &["health", "memory"],
            "free -h",
        ),
        top,
        template(
            "failed-units",
            "systemd units that failed",
            &["systemd", "health"],
            "systemctl --failed --no-pager --no-legend",
        ),
        template(
            "listening-ports",
            "TCP and UDP ports listened on, with their processes",
            &["network"],
            "sudo -n ss -tulpn 2>/dev/null || ss -tuln",
        ),
        journal,
        template(
            "pending-updates-apt",
            "Packages apt would upgrade (Debian, Ubuntu)",
            &["packages", "apt"],
            "apt list --upgradable 2>/dev/null | tail -n +2",
        ),
        template(
            "pending-updates-dnf",
            "Packages dnf would upgrade (Fedora, RHEL)",
            &["packages", "dnf"],
            "dnf -q check-update; test $? -ne 1",
        ),
        restart,
        tail,
        template(
            "docker-containers",
            "Docker containers, running and stopped",
            &["docker"],
            "docker ps -a --format 'table {{.Names}}\t{{.Image}}\t{{.Status}}'",
        ),
    ]
}

/// Whether `name` is a starter template's (case-insensitive).
pub fn is_starter(name: &str) -> bool {
    templates()
        .iter()
        .any(|t| t.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_starter_template_is_valid_and_renders_with_defaults() {
        let all = templates();
        assert!(all.len() >= 12);
        for t in &all {
            t.validate().unwrap_or_else(|p| panic!("{}: {p}", t.name));
        }
        let tail = all.iter().find(|t| t.name == "tail-file").unwrap();
        let values = [("path".to_string(), crate::Value::from("/var/log/syslog"))].into();
        let r = crate::render(tail, &values).unwrap();
        assert_eq!(r.command, "tail -n '100' '/var/log/syslog'");
        let docker = all.iter().find(|t| t.name == "docker-containers").unwrap();
        assert!(docker.params().is_empty());
    }
}
