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
    /// Profile (a separate inventory, job history and known_hosts) in the data directory.
    /// Default: the main one, "default". See `vmo profile list`.
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
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
    /// The run is recorded as a job in the history the desktop app shows (`vmo job`).
    /// Exit status 0 only if the command succeeded on every host, 1 if it failed on any,
    /// 2 for a usage error. Ctrl-C stops the remote commands; a second Ctrl-C quits at once.
    Exec(ExecArgs),
    /// Live status: one probe round (load, CPU, memory, disk, uptime, OS) over the chosen
    /// VMs, all by default. Nothing is installed or written on them. Exit status 1 if any
    /// chosen VM is offline or could not be probed (a host key not trusted yet).
    Status(crate::status::StatusArgs),
    /// Job history: list, show, read, export and retry jobs (the app's and `vmo exec`'s).
    #[command(subcommand)]
    Job(JobCommand),
    /// Profiles: separate inventories ("work", "lab") in one data directory.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// A demo fleet of local OpenSSH servers (profile `demo`), to try everything first.
    #[command(subcommand)]
    Demo(crate::demo::DemoCommand),
    /// Command templates: commands with typed {{parameters}}, a starter library, and
    /// files to share (YAML packs; Warp workflows and navi cheats import as they are).
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Commands run (ad hoc or from a template), most recent first, with how often.
    History {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List the profiles, the main one ("default") first.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Create a profile: 1-32 lowercase letters, digits, '-' or '_'. It has its own
    /// inventory, job history and known_hosts (in its directory).
    Create { name: String },
}

#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// List templates (the starter library first, marked).
    List {
        #[arg(long)]
        json: bool,
    },
    /// A template: its command and each parameter.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Import YAML packs, Warp workflow files or navi .cheat files: all or nothing; a
    /// template whose name exists is updated.
    Import {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Write your templates (or those NAMEd) as a YAML pack, to FILE or stdout.
    Export {
        #[arg(value_name = "NAME")]
        names: Vec<String>,
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Remove templates (starter ones are read-only).
    Rm {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Run a template as a job, like `vmo exec` (same output and exit status). Missing or
    /// invalid parameters are all listed (exit 2) before anything runs.
    Run(TemplateRunArgs),
}

#[derive(Debug, Args)]
pub struct TemplateRunArgs {
    pub name: String,
    /// A parameter value, NAME=VALUE (may be repeated; any bytes but NUL).
    #[arg(long = "param", short = 'p', value_name = "NAME=VALUE", value_parser = clap::value_parser!(std::ffi::OsString))]
    pub params: Vec<std::ffi::OsString>,
    /// Without --vm, --tag or --all: the template's default targets tag.
    #[arg(long = "vm", value_name = "NAME")]
    pub vms: Vec<String>,
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    #[arg(long)]
    pub all: bool,
    /// Run a template marked dangerous (the app asks; here, say so).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Print the command it would run, and run nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub run: RunFlags,
}

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state (queued, running, succeeded, failed, cancelled,
        /// timed_out, interrupted); may be repeated.
        #[arg(long = "state", value_name = "STATE")]
        states: Vec<String>,
        /// Only jobs that ran on this VM.
        #[arg(long, value_name = "NAME")]
        vm: Option<String>,
        /// Only jobs whose command, targets or host names contain this text.
        #[arg(long, value_name = "TEXT")]
        text: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// A job and each of its hosts.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// A job's output as `NAME: line` (stderr lines as `NAME [stderr]: line`).
    Logs {
        id: i64,
        /// Only these hosts (may be repeated).
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
        #[arg(long, value_name = "stdout|stderr")]
        stream: Option<String>,
        /// Only lines matching this regular expression (ANSI colours ignored).
        #[arg(long, value_name = "REGEX")]
        grep: Option<String>,
        /// Prefix each line with the time it arrived.
        #[arg(long)]
        timestamps: bool,
        /// Keep printing new output until the job ends.
        #[arg(long, short = 'f')]
        follow: bool,
    },
    /// Write a job's log (text or JSON lines) or its per-host summary (CSV) to a file.
    Export {
        id: i64,
        #[arg(long, value_name = "text|jsonl|csv")]
        format: String,
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: PathBuf,
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
        #[arg(long, value_name = "stdout|stderr")]
        stream: Option<String>,
        #[arg(long, value_name = "REGEX")]
        grep: Option<String>,
    },
    /// Run a finished job again here, streaming like `vmo exec`: all its hosts, or with
    /// `--failed` only those that did not succeed.
    Retry {
        id: i64,
        #[arg(long)]
        failed: bool,
    },
    /// Stop a queued or running job, whichever program runs it (the app or another
    /// `vmo`); with `--host`, only that host.
    Cancel {
        id: i64,
        #[arg(long, value_name = "NAME")]
        host: Option<String>,
    },
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
    /// Import hosts from an Ansible inventory, INI or YAML: groups and their nested
    /// children become tags; ansible_host, ansible_port, ansible_user,
    /// ansible_ssh_private_key_file and a ProxyJump (-o ProxyJump=… or -J … in
    /// ansible_ssh_common_args) are read. Re-import updates, never duplicates.
    ImportAnsible { file: PathBuf },
    /// Write the inventory (or the VMs tagged TAG) as an Ansible YAML inventory, one group
    /// per tag, to FILE or stdout.
    ExportAnsible {
        #[arg(long, value_name = "TAG")]
        tag: Option<String>,
        #[arg(short = 'o', long = "output", value_name = "FILE")]
        output: Option<PathBuf>,
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
    #[command(flatten)]
    pub run: RunFlags,
    /// Do not record this run as a job (nothing is kept, nothing shows in `vmo job list`).
    #[arg(long)]
    pub no_record: bool,
    /// Output kept per host in the job history, in MiB (beyond it the command keeps
    /// running and the log says it was cut). Default: the settings' (256 unless changed).
    #[arg(long, value_name = "MIB")]
    pub output_cap: Option<u64>,
    /// Run the command N times over the same pooled connections, printing each run's
    /// wall time to stderr (warm-connection benchmarks); output is shown for the last run.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub repeat: usize,
    /// The command, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// How a job runs and shows its output: shared by `vmo exec` and `vmo template run`.
#[derive(Debug, Args)]
pub struct RunFlags {
    /// Hosts running at once. Default: the settings' "hosts at once" (64 unless changed).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Per-host time limit in seconds; the remote command is stopped when it runs out.
    /// Default: the settings' job timeout (none unless set).
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<f64>,
    /// After a host fails, start no more hosts (those running finish).
    #[arg(long)]
    pub stop_on_failure: bool,
    /// Run on the first host alone, then on the others only if it succeeded.
    #[arg(long)]
    pub canary: bool,
    /// One JSON object per host: stdout, stderr, exit status, timing.
    #[arg(long, conflicts_with = "group")]
    pub json: bool,
    /// Print hosts with identical output together (like ClusterShell's clubak -b).
    #[arg(long)]
    pub group: bool,
    /// Print nothing (not even failures): the job history keeps the output, and the exit
    /// status says whether every host succeeded.
    #[arg(long, short = 'q', conflicts_with_all = ["json", "group"])]
    pub quiet: bool,
    /// Print the hosts' output byte for byte even to a terminal. Without it, output to a
    /// terminal keeps its colours but no other escape sequence (a host cannot set the
    /// window title, write the clipboard or move the cursor), and controls show as symbols.
    #[arg(long)]
    pub raw: bool,
}
