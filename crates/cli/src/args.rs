//! The command line, as clap reads it. `vmo --help` is generated from these comments.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// VM Orchestrator without a window: the same inventory, the same SSH engine.
#[derive(Debug, Parser)]
#[command(name = "vmo", version, about, long_about = None)]
pub struct Cli {
    /// Data directory (inventory database). Default: $VMO_DATA_DIR, else
    /// ~/.local/share/vm-orchestrator, the desktop app's.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// OpenSSH client config to import from. Default: ~/.ssh/config.
    #[arg(long, global = true, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,
    /// known_hosts file to verify host keys against. Default: ~/.ssh/known_hosts.
    #[arg(long, global = true, value_name = "FILE")]
    pub known_hosts: Option<PathBuf>,
    /// Accept and record host keys never seen before (like StrictHostKeyChecking=accept-new).
    /// A CHANGED key is refused regardless.
    #[arg(long, global = true)]
    pub accept_new: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the VM inventory.
    #[command(subcommand)]
    Vm(VmCommand),
    /// Run a command on one or many VMs, streaming `NAME: line` as output arrives.
    ///
    /// Exit status 0 only if the command succeeded on every host, 1 if it failed on any,
    /// 2 for a usage error. Ctrl-C stops the remote commands; a second Ctrl-C quits at once.
    Exec(ExecArgs),
}

#[derive(Debug, Subcommand)]
pub enum VmCommand {
    /// List VMs.
    List {
        /// One JSON array instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Add a VM.
    Add {
        name: String,
        #[arg(long)]
        host: String,
        #[arg(long, default_value_t = 22)]
        port: u16,
        #[arg(long, default_value = "")]
        user: String,
        /// Private key file (key-file authentication; otherwise the SSH agent is used).
        #[arg(long, value_name = "FILE")]
        key: Option<String>,
        /// Jump host: a VM name or [user@]host[:port]; several separated by commas.
        #[arg(long, value_name = "VM")]
        jump: Option<String>,
        #[arg(long = "tag", value_name = "TAG")]
        tags: Vec<String>,
    },
    /// Remove VMs by name.
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Import hosts from an OpenSSH client config (re-import updates, never duplicates).
    ImportSshConfig {
        /// Default: --ssh-config, else ~/.ssh/config.
        file: Option<PathBuf>,
    },
    /// Test connections: connect, verify the host key, log in, run `true`.
    Test {
        #[command(flatten)]
        select: Selection,
        #[arg(long)]
        json: bool,
    },
}

/// Which VMs: by name, by tag, or all.
#[derive(Debug, Args)]
pub struct Selection {
    /// VM names (for `vm test`, also positional).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    #[arg(long = "vm", value_name = "NAME")]
    pub vms: Vec<String>,
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[arg(long = "vm", value_name = "NAME")]
    pub vms: Vec<String>,
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[arg(long)]
    pub all: bool,
    /// Hosts running at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Per-host time limit in seconds; the remote command is stopped when it runs out.
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// One JSON object per host: stdout, stderr, exit status, timing.
    #[arg(long, conflicts_with = "group")]
    pub json: bool,
    /// Print hosts with identical output together (like ClusterShell's clubak -b).
    #[arg(long)]
    pub group: bool,
    /// Run the command N times over the same pooled connections, printing each run's
    /// wall time to stderr (warm-connection benchmarks); output is shown for the last run.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: usize,
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}
