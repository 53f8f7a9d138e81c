//! Command-line interface definition (clap) and logging setup.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// chainops — operations platform for blockchain nodes.
///
/// Start here: `chainops serve` with no config monitors a local anvil dev node (if one is
/// installed) so you can see it work; then write a config file listing your nodes
/// (see docs/configuration.md), check it with `chainops config check --config FILE`, and run
/// `chainops serve --config FILE`.
#[derive(Debug, Parser)]
#[command(
    name = "chainops",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalOpts,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options shared by every command.
#[derive(Debug, Args)]
pub struct GlobalOpts {
    /// Daemon config file (TOML). Without it: CHAINOPS_CONFIG, ./chainops.toml,
    /// /etc/chainops/chainops.toml, else built-in defaults.
    #[arg(
        long,
        short = 'c',
        global = true,
        env = "CHAINOPS_CONFIG",
        value_name = "FILE"
    )]
    pub config: Option<PathBuf>,
    /// Log output format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "CHAINOPS_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter, e.g. `info`, `debug`, `chainops_monitor=debug`.
    #[arg(long, global = true, default_value = "info", env = "CHAINOPS_LOG")]
    pub log_level: String,
}

/// Log output format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: poll nodes, keep history, serve the API and /metrics.
    ///
    /// With no --config and no nodes, starts a managed anvil dev node (from PATH or
    /// ./.tools) with 1 s blocks and monitors it. Stops cleanly on Ctrl-C / SIGTERM.
    Serve(ServeOpts),
    /// Check or show the configuration.
    Config {
        /// Config subcommand.
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Inspect monitored nodes.
    Nodes {
        /// Nodes subcommand.
        #[command(subcommand)]
        command: NodesCommand,
    },
    /// Inspect alert rules or export them for Prometheus.
    Rules {
        /// Rules subcommand.
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Check this host for `chainops serve`: config, data dir (permissions, space), listen
    /// address, store, clock, nodes, TLS, backup repositories and secret files; prints what
    /// to fix and exits 1 when a check fails. Changes nothing.
    Doctor(DoctorOpts),
    /// Grafana dashboards over /metrics: export them (with the Prometheus rule file) or
    /// check that every panel has data on your Prometheus.
    Dashboards {
        /// Dashboards subcommand.
        #[command(subcommand)]
        command: DashboardsCommand,
    },
    /// Metric history from the running daemon, as a table, JSON or CSV
    /// (`chainops history --node geth-1 --metric peers --from -24h`).
    History(HistoryOpts),
    /// Alerts of the running daemon.
    Alerts {
        /// Alerts subcommand.
        #[command(subcommand)]
        command: AlertsCommand,
    },
    /// Incidents of the running daemon: list and acknowledge.
    Incidents {
        /// Incidents subcommand.
        #[command(subcommand)]
        command: IncidentsCommand,
    },
    /// Silences of the running daemon: list, add, expire.
    Silences {
        /// Silences subcommand.
        #[command(subcommand)]
        command: SilencesCommand,
    },
    /// Work with notification channels.
    Notify {
        /// Notify subcommand.
        #[command(subcommand)]
        command: NotifyCommand,
    },
    /// Console and API users (works on the store directly; the daemon may run).
    User {
        /// User subcommand.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens for scripts, Prometheus and Grafana (works on the store directly).
    Token {
        /// Token subcommand.
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The tamper-evident audit trail: verify and export.
    AuditLog {
        /// Audit-log subcommand.
        #[command(subcommand)]
        command: AuditLogCommand,
    },
    /// Back up node data: deduplicated, compressed, encrypted snapshots; restore; check.
    ///
    /// The password comes from CHAINOPS_BACKUP_PASSWORD, --password-file or a prompt.
    Backup {
        /// Backup subcommand.
        #[command(subcommand)]
        command: BackupCommand,
    },
    /// Load-test a node: pre-signed transactions at a controlled rate, latency percentiles
    /// counted by block inclusion, and the bottleneck named.
    Bench {
        /// Bench subcommand.
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Audit Solidity contracts without a compiler: reentrancy, unchecked calls, access
    /// control, overflow, weak randomness, timestamp dependence and more.
    Audit(AuditOpts),
    /// Node logs: import files, search, tail (secrets are redacted before storage).
    Logs {
        /// Logs subcommand.
        #[command(subcommand)]
        command: LogsCommand,
    },
    /// Encrypt secrets for the config file (`enc:v1:` values opened with the master key).
    Secret {
        /// Secret subcommand.
        #[command(subcommand)]
        command: SecretCommand,
    },
    /// Print the version.
    Version(JsonOpt),
    /// Print a shell completion script
    /// (`chainops completions bash > /etc/bash_completion.d/chainops`).
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Write the manual pages: chainops.1 and one per subcommand (chainops-backup-create.1, …).
    Man {
        /// Directory to write them into (created when missing), e.g. /usr/local/share/man/man1.
        #[arg(long, value_name = "DIR")]
        out_dir: std::path::PathBuf,
    },
}

/// Where the repository is and how to open it (every `backup` subcommand).
#[derive(Debug, Args, Clone)]
pub struct RepoOpts {
    /// Repository location: a directory, or `s3://BUCKET/PREFIX` (endpoint and credentials
    /// from AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY).
    #[arg(
        long,
        env = "CHAINOPS_BACKUP_REPO",
        value_name = "PATH|s3://BUCKET/PREFIX"
    )]
    pub repo: String,
    /// File whose first line is the password (else CHAINOPS_BACKUP_PASSWORD, else a prompt).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `backup create` options.
#[derive(Debug, Args)]
pub struct BackupCreateOpts {
    /// Repository.
    #[command(flatten)]
    pub repo: RepoOpts,
    /// Tag (repeatable).
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Host name recorded (default: this machine).
    #[arg(long)]
    pub host: Option<String>,
    /// Compare with this snapshot instead of the newest of the same host and sources.
    #[arg(long, value_name = "SNAPSHOT")]
    pub parent: Option<String>,
    /// Read every file, even unchanged ones.
    #[arg(long)]
    pub force: bool,
    /// The node whose data this is (records its head; needed for drills).
    #[command(flatten)]
    pub node: NodeCaptureOpts,
    /// A `[[nodes]]` entry of the config (`--config`): its RPC URL, family, chain, name and
    /// credentials, its data dir as the source, and the capture mode of its `[[backups]]`
    /// job (else `dump` for a node that dumps its state and has no data dir, else `live`).
    #[arg(long = "node", value_name = "NAME", conflicts_with_all = ["node_rpc", "rpc_user", "node_name"])]
    pub from_node: Option<String>,
    /// Directories to back up (none with `--capture dump`).
    #[arg(value_name = "SOURCE")]
    pub sources: Vec<PathBuf>,
}

/// How `backup create` captures a node.
#[derive(Debug, Args, Clone)]
pub struct NodeCaptureOpts {
    /// RPC URL of the node (records head height and hash in the snapshot).
    #[arg(long, value_name = "URL")]
    pub node_rpc: Option<String>,
    /// Node family: evm, bitcoin or monero.
    #[arg(long, value_name = "KIND", default_value = "evm")]
    pub node_kind: String,
    /// RPC user (Bitcoin family); the password comes from CHAINOPS_BACKUP_RPC_PASSWORD.
    #[arg(long, value_name = "USER")]
    pub rpc_user: Option<String>,
    /// Chain name recorded.
    #[arg(long, value_name = "NAME")]
    pub chain: Option<String>,
    /// Node name recorded.
    #[arg(long, value_name = "NAME")]
    pub node_name: Option<String>,
    /// live (copy files as they are), dump (the node's own dump: anvil_dumpState), or hook
    /// (run --pre-hook, copy, run --post-hook, e.g. stop and start the node).
    #[arg(long, value_name = "MODE", default_value = "live")]
    pub capture: String,
    /// Command run (sh -c) before copying with `--capture hook`.
    #[arg(long, value_name = "CMD")]
    pub pre_hook: Option<String>,
    /// Command run after copying (also when the copy failed).
    #[arg(long, value_name = "CMD")]
    pub post_hook: Option<String>,
    /// The RPC password when it comes from the config (`--node`), not the environment.
    #[arg(skip)]
    pub rpc_password: Option<chainops_core::secret::Secret>,
}

/// `backup` subcommands.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Create a repository (asks for its password).
    Init {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
    },
    /// Take a snapshot of SOURCE directories (only changed files are read again).
    Create(Box<BackupCreateOpts>),
    /// List snapshots.
    List {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
    },
    /// Paths added (+), removed (-), changed (M) or with new metadata (U) from A to B.
    Diff {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
        /// Older snapshot (id prefix or `latest`).
        a: String,
        /// Newer snapshot.
        b: String,
    },
    /// Restore a snapshot into a directory; every byte is verified before it is written.
    Restore {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
        /// Snapshot id prefix or `latest`.
        snapshot: String,
        /// Directory to restore into (created if missing; must be empty unless --overwrite).
        #[arg(long, value_name = "DIR")]
        target: PathBuf,
        /// Only this path inside the snapshot (repeatable), e.g. `node/chaindata`.
        #[arg(long = "include", value_name = "PATH")]
        include: Vec<String>,
        /// Restore into a directory that is not empty: files the snapshot holds are
        /// replaced, others stay (a node's data dir would then mix two states).
        #[arg(long)]
        overwrite: bool,
    },
    /// Check the repository's structure; with --read-data, every byte.
    Check {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
        /// Read and verify all data.
        #[arg(long, conflicts_with = "read_data_subset")]
        read_data: bool,
        /// Read and verify this share of the packs, e.g. `10%`.
        #[arg(long, value_name = "N%")]
        read_data_subset: Option<String>,
    },
    /// Delete snapshots a retention policy does not keep (per host and sources).
    ///
    /// The data they alone referenced is freed by `prune` (or `--prune` here).
    Forget {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
        /// Keep the newest N snapshots.
        #[arg(long, default_value_t = 0)]
        keep_last: usize,
        /// Keep the newest snapshot of each of the last N hours.
        #[arg(long, default_value_t = 0)]
        keep_hourly: usize,
        /// … of each of the last N days.
        #[arg(long, default_value_t = 0)]
        keep_daily: usize,
        /// … of each of the last N weeks.
        #[arg(long, default_value_t = 0)]
        keep_weekly: usize,
        /// … of each of the last N months.
        #[arg(long, default_value_t = 0)]
        keep_monthly: usize,
        /// Show what would be deleted, delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Prune afterwards.
        #[arg(long)]
        prune: bool,
    },
    /// Free the space no snapshot uses any more (exclusive lock; safe to interrupt).
    Prune {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
        /// Show what would be freed, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove stale locks (left by processes that are gone); `--all` removes every lock.
    Unlock {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
        /// Remove live locks too (only when you know no chainops uses the repository).
        #[arg(long)]
        all: bool,
    },
    /// Prove a snapshot boots: restore it and start the node on it.
    ///
    /// Restores into a scratch directory, starts the node on free ports (anvil --load-state,
    /// litecoind/bitcoind -datadir) and compares its head height and hash with what the
    /// snapshot recorded. The result is stored in the repository.
    Drill {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
        /// Snapshot id prefix or `latest`.
        snapshot: String,
        /// Node binary (default: anvil from PATH or .tools for evm; litecoind, then bitcoind, for bitcoin).
        #[arg(long, value_name = "PATH")]
        node_bin: Option<PathBuf>,
        /// Extra argument for the node (repeatable), e.g. `-vbparams=mweb:9999999998:9999999999`.
        #[arg(long = "node-arg", value_name = "ARG", allow_hyphen_values = true)]
        node_args: Vec<String>,
        /// Give up when the node has not answered with the right head by then.
        #[arg(long, default_value = "120s", value_name = "DURATION")]
        timeout: String,
        /// Keep the scratch directory (for inspection).
        #[arg(long)]
        keep: bool,
    },
    /// Run a `[[backups]]` job of the config now, as the daemon would, and record the run
    /// (the daemon's metrics and alerts pick it up within 30 s).
    RunJob {
        /// Job name (`[[backups]]` name).
        name: String,
        /// Run the job's restore drill instead of a backup.
        #[arg(long)]
        drill: bool,
        /// Print the run record as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Recorded runs of scheduled jobs, newest first.
    Runs {
        /// Only this job.
        #[arg(long, value_name = "NAME")]
        job: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: i64,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Manage the passwords (key files) that open the repository.
    Key {
        /// Key subcommand.
        #[command(subcommand)]
        command: BackupKeyCommand,
    },
}

/// `backup key` subcommands.
#[derive(Debug, Subcommand)]
pub enum BackupKeyCommand {
    /// Add a password (the new one from CHAINOPS_BACKUP_NEW_PASSWORD, --new-password-file or a prompt).
    Add {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
        /// File holding the new password.
        #[arg(long, value_name = "FILE")]
        new_password_file: Option<PathBuf>,
    },
    /// List key files.
    List {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
    },
    /// Remove a key file (not the one used to open, never the last).
    Remove {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
        /// Key id (prefix).
        id: String,
    },
    /// Change the password of the key used to open.
    Passwd {
        /// Repository.
        #[command(flatten)]
        repo: RepoOpts,
        /// File holding the new password.
        #[arg(long, value_name = "FILE")]
        new_password_file: Option<PathBuf>,
    },
}

/// `bench` subcommands.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Run a load test.
    ///
    /// The plan comes from `[bench]` in the --config file, or from flags alone:
    /// `chainops bench run --rpc http://127.0.0.1:8545 --workload eth-transfer --rate 1000 --count 3000`.
    /// Flags override the file. Senders are derived from the dev mnemonic (or
    /// --mnemonic-file) at m/44'/60'/0'/0/1000+ and funded from accounts 0–9 of it.
    Run(Box<BenchRunOpts>),
    /// Record reports written by `bench run --out` with the running daemon (the console's
    /// Load tests page lists, charts and compares them).
    Record {
        /// Report files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        server: ServerOpt,
        /// Print the recorded runs as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Compare two JSON reports (A = before, B = after).
    Compare {
        /// Report A (`bench run --json` output or --out file).
        a: PathBuf,
        /// Report B.
        b: PathBuf,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `bench run` options.
#[derive(Debug, Args)]
pub struct BenchRunOpts {
    /// Node RPC URL (instead of `[bench] node` / `rpc_url`).
    #[arg(long, value_name = "URL")]
    pub rpc: Option<String>,
    /// A node from `[[nodes]]` in the config.
    #[arg(long, value_name = "NAME", conflicts_with = "rpc")]
    pub node: Option<String>,
    /// Node family for --rpc: evm or bitcoin.
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,
    /// RPC user for --rpc (Bitcoin family); the password comes from CHAINOPS_BENCH_RPC_PASSWORD.
    #[arg(long, value_name = "USER")]
    pub rpc_user: Option<String>,
    /// eth-transfer, erc20-transfer, contract-call, read or bitcoin-transfer.
    #[arg(long, value_name = "NAME")]
    pub workload: Option<String>,
    /// fixed-rate (default), linear-ramp, fixed-backlog or max-rate.
    #[arg(long, value_name = "KIND")]
    pub rate_control: Option<String>,
    /// Transactions per second (fixed-rate).
    #[arg(long, value_name = "TPS")]
    pub rate: Option<f64>,
    /// First rate (linear-ramp, max-rate).
    #[arg(long, value_name = "TPS")]
    pub start_tps: Option<f64>,
    /// Last rate (linear-ramp).
    #[arg(long, value_name = "TPS")]
    pub end_tps: Option<f64>,
    /// Rate increase per step (max-rate).
    #[arg(long, value_name = "TPS")]
    pub step_tps: Option<f64>,
    /// Highest rate tried (max-rate).
    #[arg(long, value_name = "TPS")]
    pub max_tps: Option<f64>,
    /// Unconfirmed transactions kept in flight (fixed-backlog).
    #[arg(long, value_name = "N")]
    pub backlog: Option<u32>,
    /// Round length in transactions.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Round length in time, e.g. 30s (per step for max-rate).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
    /// Sender accounts.
    #[arg(long, value_name = "N")]
    pub senders: Option<u32>,
    /// File holding the mnemonic senders derive from (default: the dev mnemonic).
    #[arg(long, value_name = "FILE")]
    pub mnemonic_file: Option<PathBuf>,
    /// Confirmations for the second latency figure.
    #[arg(long, value_name = "N")]
    pub confirmations: Option<u32>,
    /// HTTP requests in flight.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<u32>,
    /// Transactions per JSON-RPC batch at most.
    #[arg(long, value_name = "N")]
    pub batch_size: Option<u32>,
    /// EIP-1559 fee cap in gwei (default max(10 × base fee, 1000)).
    #[arg(long, value_name = "GWEI")]
    pub max_fee_gwei: Option<f64>,
    /// EIP-1559 tip in gwei (default 1).
    #[arg(long, value_name = "GWEI")]
    pub priority_fee_gwei: Option<f64>,
    /// PID of a local node process to sample CPU and memory of.
    #[arg(long, value_name = "PID")]
    pub node_pid: Option<u32>,
    /// Longest wait for outstanding transactions after sending (default 30s).
    #[arg(long, value_name = "DURATION")]
    pub drain_timeout: Option<String>,
    /// Regtest only: mine a block this often (Bitcoin family).
    #[arg(long, value_name = "DURATION")]
    pub mine_interval: Option<String>,
    /// contract-call / read eth_call: contract address.
    #[arg(long, value_name = "0x…")]
    pub contract: Option<String>,
    /// contract-call / read eth_call: function, e.g. "set(uint256)".
    #[arg(long, value_name = "SIGNATURE")]
    pub call: Option<String>,
    /// Call argument as a Solidity literal (repeat for each): 7, -1, 0xab…, true, "text",
    /// [1, 2], (5, [0xab…]).
    #[arg(long = "arg", value_name = "VALUE", allow_hyphen_values = true)]
    pub args: Vec<String>,
    /// contract-call gas limit (default 200000).
    #[arg(long, value_name = "GAS")]
    pub gas: Option<u64>,
    /// read workload: eth_getBalance (default) or eth_call.
    #[arg(long, value_name = "METHOD")]
    pub read_method: Option<String>,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Write a self-contained HTML report with charts.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Print the JSON report instead of the summary table.
    #[arg(long)]
    pub json: bool,
    /// Also record the report with the running daemon (the console's Load tests page). Needs
    /// a token of an operator or admin; the daemon is asked before the run starts.
    #[arg(long)]
    pub record: bool,
    #[command(flatten)]
    pub server: ServerOpt,
}

/// `logs` subcommands.
#[derive(Debug, Subcommand)]
pub enum LogsCommand {
    /// Import a log file once (format detected unless --format); re-importing stores it again.
    Import {
        /// Node the lines belong to (from the config, or give --chain).
        #[arg(long)]
        node: String,
        /// Chain, for a node that is not in the config.
        #[arg(long)]
        chain: Option<String>,
        /// anvil, anvil_tracing, geth, bitcoin, monero, ganache, json, logfmt or generic.
        #[arg(long)]
        format: Option<String>,
        /// The file.
        file: PathBuf,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Search, newest first: `level>=warn node=anvil-1 "nonce too low" height=123`.
    Search {
        /// The query (empty: everything in the time range).
        query: Option<String>,
        /// Start: a duration ago (`1h`), RFC 3339 or epoch ms.
        #[arg(long, default_value = "1h")]
        since: String,
        /// End (default now).
        #[arg(long)]
        until: Option<String>,
        /// Most entries shown.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
    /// The newest entries, and with -f new ones as they arrive.
    Tail {
        /// Filter (same language as search).
        query: Option<String>,
        /// Keep printing new entries.
        #[arg(short, long)]
        follow: bool,
        /// How many recent entries to show first.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: i64,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
    },
}

/// `secret` subcommands.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a master key file (32 random bytes, hex, mode 0600). Keep it outside the
    /// config and the data dir backups; point CHAINOPS_MASTER_KEY_FILE at it.
    Keygen {
        /// Where to write the key (refuses to overwrite).
        #[arg(long, short = 'o')]
        output: PathBuf,
    },
    /// Encrypt one value read from stdin; paste the printed `enc:v1:…` into the config in
    /// place of the plaintext (any string value: passwords, webhook URLs, DSNs).
    Encrypt {
        /// Master key file (default: CHAINOPS_MASTER_KEY_FILE).
        #[arg(long)]
        key_file: Option<PathBuf>,
    },
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is prompted (or read from stdin with --password-stdin);
    /// it must have 12+ characters and three character classes.
    Add {
        /// Login name (a-z, 0-9, '.', '_', '-').
        #[arg(long)]
        name: String,
        /// admin, operator, auditor, support or viewer.
        #[arg(long)]
        role: String,
        /// Read the password from the first line of stdin (for scripts).
        #[arg(long)]
        password_stdin: bool,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a user's password.
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from the first line of stdin.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Delete a user and end their sessions.
    Remove {
        /// Login name.
        name: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List users.
    List(JsonOpt),
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; the secret is printed once and stored only as a hash.
    Create {
        /// admin, operator, auditor, support or viewer.
        #[arg(long)]
        role: String,
        /// A label, e.g. `grafana` or `ci`.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Lifetime, e.g. `30d`; `never` for no expiry.
        #[arg(long, default_value = "90d")]
        expires: String,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// List tokens (never their secrets).
    List(JsonOpt),
    /// Revoke a token by id.
    Revoke {
        /// Token id (from `token list`).
        id: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `audit-log` subcommands.
#[derive(Debug, Subcommand)]
pub enum AuditLogCommand {
    /// Recompute the hash chain and check the signed checkpoints; exits 1 and names the
    /// first altered, deleted or reordered record if the trail was tampered with.
    Verify(JsonOpt),
    /// Export records as CSV or JSON lines.
    Export {
        /// `csv` or `json`.
        #[arg(long, value_enum, default_value_t = AuditFormat::Csv)]
        format: AuditFormat,
        /// Only records since this time: RFC 3339, epoch ms, or a duration ago like `7d`.
        #[arg(long)]
        since: Option<String>,
        /// Write to this file instead of stdout.
        #[arg(long, short = 'o')]
        output: Option<PathBuf>,
    },
}

/// Audit export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AuditFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Json,
}

/// `notify` subcommands.
#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Send a test notification through a configured channel and report the outcome
    /// (exit 6 if it was not accepted).
    Test(NotifyTestOpts),
}

/// `notify test` options.
#[derive(Debug, Args)]
pub struct NotifyTestOpts {
    /// Channel name from [[notifiers]].
    pub channel: String,
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `rules` subcommands.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the effective rules (default pack plus config overrides).
    List(JsonOpt),
    /// Write the rules as a Prometheus alerting-rules file (check it with `promtool check rules`).
    Export(RulesExportOpts),
}

/// `doctor` options.
#[derive(Debug, Args)]
pub struct DoctorOpts {
    /// How long each node may take to answer.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = chainops_core::duration::parse_duration)]
    pub timeout: std::time::Duration,
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dashboards` subcommands.
#[derive(Debug, Subcommand)]
pub enum DashboardsCommand {
    /// Write the dashboards (fleet, node, alerting, backups, logs), Grafana's provisioning
    /// file and the Prometheus rule file into a directory.
    Export(DashboardsExportOpts),
    /// Run every panel's query on a Prometheus-compatible server (Prometheus,
    /// VictoriaMetrics, Mimir) and name the panels without data; exit 6 if any.
    Check(DashboardsCheckOpts),
}

/// `dashboards export` options.
#[derive(Debug, Args)]
pub struct DashboardsExportOpts {
    /// Directory to write into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out_dir: std::path::PathBuf,
    /// Where Grafana will read the JSON files (the provisioning file's `path`).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/var/lib/grafana/dashboards/chainops"
    )]
    pub grafana_path: String,
    /// Print the written files as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `dashboards check` options.
#[derive(Debug, Args)]
pub struct DashboardsCheckOpts {
    /// Base URL of the query API (`http://127.0.0.1:9090`; VictoriaMetrics: `:8428`).
    #[arg(long, value_name = "URL")]
    pub prometheus: String,
    /// Print the result of every query as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// Prometheus rule groups (YAML) over chainops' /metrics.
    Prometheus,
}

/// `rules export` options.
#[derive(Debug, Args)]
pub struct RulesExportOpts {
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Prometheus)]
    pub format: ExportFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// The same rules file as JSON (Prometheus loads it like YAML); the notes the YAML
    /// carries as comments go to stderr.
    #[arg(long)]
    pub json: bool,
}

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeOpts {
    /// Listen address, overriding [server].listen (port 0 picks a free port).
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<String>,
    /// Do not start the default managed anvil when no nodes are configured.
    #[arg(long)]
    pub no_default_node: bool,
    /// Serve HTTPS with a self-signed certificate for localhost (kept in <data_dir>/tls/);
    /// for first use only: configure [server.tls] with a real certificate in production.
    #[arg(long)]
    pub dev_tls: bool,
    /// Create the data dir and the store (schema, audit key), then exit: for provisioning
    /// users and tokens before the first start. The other commands never create a store.
    #[arg(long)]
    pub init_only: bool,
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config and report every problem with its path; exit 2 if invalid.
    Check(JsonOpt),
    /// Print the effective config (defaults and env applied) with secrets redacted.
    Show(JsonOpt),
}

/// `nodes` subcommands.
#[derive(Debug, Subcommand)]
pub enum NodesCommand {
    /// List nodes with live status from the running daemon (config only if it is not running).
    List(NodesListOpts),
    /// One node from the running daemon: every last value, what it does not support, and
    /// its recent events (reorgs, restarts, version changes).
    Show {
        /// Node name.
        name: String,
        /// Print the daemon's JSON answer.
        #[arg(long)]
        json: bool,
        /// The running daemon.
        #[command(flatten)]
        server: ServerOpt,
    },
}

/// `--json` alone.
#[derive(Debug, Args)]
pub struct JsonOpt {
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
}

/// `nodes list` options.
#[derive(Debug, Args)]
pub struct NodesListOpts {
    /// Print machine-readable JSON.
    #[arg(long)]
    pub json: bool,
    /// List the configured nodes without asking the daemon (no live status).
    #[arg(long)]
    pub offline: bool,
    /// The running daemon.
    #[command(flatten)]
    pub server: ServerOpt,
}

/// Installs the tracing subscriber.
pub fn init_logging(g: &GlobalOpts) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_new(&g.log_level).map_err(|e| {
        anyhow::anyhow!("--log-level \"{}\" is not a valid filter: {e}", g.log_level)
    })?;
    use std::io::IsTerminal;
    // Colours only on a terminal: a log redirected to a file carries no escape codes.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match g.log_format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
    Ok(())
}

/// `alerts` subcommands.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List active alerts and those resolved in the last 24 h.
    List {
        /// Only alerts in this state.
        #[arg(long, value_parser = ["pending", "firing", "resolved"])]
        state: Option<String>,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
        /// The running daemon.
        #[command(flatten)]
        server: ServerOpt,
    },
}

/// `chainops history`.
#[derive(Debug, Args)]
pub struct HistoryOpts {
    /// Node to read (repeat for several); or give --chain.
    #[arg(long = "node", value_name = "NAME", conflicts_with = "chain")]
    pub nodes: Vec<String>,
    /// Every node of this chain.
    #[arg(long, value_name = "CHAIN")]
    pub chain: Option<String>,
    /// Series: height, head_age_seconds, peers, status, datadir_free_bytes, … (see docs/history.md).
    #[arg(long)]
    pub metric: String,
    /// Start: RFC 3339 or relative (`-6h`, `-30d`).
    #[arg(long, default_value = "-1h", allow_hyphen_values = true)]
    pub from: String,
    /// End: RFC 3339, relative or `now`.
    #[arg(long, default_value = "now", allow_hyphen_values = true)]
    pub to: String,
    /// Resolution: auto (by range and retention), raw, 1m or 1h.
    #[arg(long, default_value = "auto", value_parser = ["auto", "raw", "1m", "1h"])]
    pub step: String,
    /// Print the daemon's JSON answer.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print CSV: time,node,value,min,max,last.
    #[arg(long)]
    pub csv: bool,
    /// The running daemon.
    #[command(flatten)]
    pub server: ServerOpt,
}

/// `incidents` subcommands.
#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// List open incidents and those resolved in the last 24 h.
    List {
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
        /// The running daemon.
        #[command(flatten)]
        server: ServerOpt,
    },
    /// Acknowledge an incident with a comment and an expiry.
    Ack {
        /// Incident id (from `incidents list`).
        id: String,
        /// Who is on it and what is being done.
        #[arg(long)]
        comment: String,
        /// How long the acknowledgement holds.
        #[arg(long, default_value = "4h")]
        expires: String,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
        /// The running daemon.
        #[command(flatten)]
        server: ServerOpt,
    },
}

/// `silences` subcommands.
#[derive(Debug, Subcommand)]
pub enum SilencesCommand {
    /// List silences in force.
    List {
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
        /// The running daemon.
        #[command(flatten)]
        server: ServerOpt,
    },
    /// Silence alerts whose labels match (e.g. `--match node=geth-1 --match alertname=LowPeers`).
    Add {
        /// NAME=VALUE label matcher; repeat for more (all must match).
        #[arg(long = "match", value_name = "NAME=VALUE", required = true)]
        matchers: Vec<String>,
        /// How long, e.g. `2h`.
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// Why (required).
        #[arg(long)]
        comment: String,
        /// Accept matchers on labels no rule or alert has (refused by default: a typo such
        /// as `nod=` would silence nothing).
        #[arg(long)]
        allow_unknown_labels: bool,
        /// Print machine-readable JSON.
        #[arg(long)]
        json: bool,
        /// The running daemon.
        #[command(flatten)]
        server: ServerOpt,
    },
    /// End a silence now.
    Expire {
        /// Silence id.
        id: String,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
        /// The running daemon.
        #[command(flatten)]
        server: ServerOpt,
    },
}

/// `--server` for jobs that talk to the running daemon.
#[derive(Debug, Args)]
pub struct ServerOpt {
    /// Daemon URL (default: http://<[server].listen>).
    #[arg(long, value_name = "URL", env = "CHAINOPS_SERVER")]
    pub server: Option<String>,
    /// API token (create one with `chainops token create`); prefer the env variable.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "CHAINOPS_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
}

/// `chainops audit` options.
#[derive(Debug, clap::Args)]
pub struct AuditOpts {
    /// Solidity files or directories (searched recursively for *.sol).
    #[arg(value_name = "PATH", required_unless_present_any = ["address", "list"])]
    pub paths: Vec<PathBuf>,
    /// Output: text (with code excerpts), json, or sarif (SARIF 2.1.0 for code scanning).
    #[arg(long, default_value = "text", value_name = "FORMAT")]
    pub format: String,
    /// The same as `--format json`, like every other command's `--json`.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Exit 1 when a finding of this severity or worse exists: high, medium, low
    /// (default: [audit] fail_on).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// Import remapping PREFIX=DIR (repeatable), e.g. @openzeppelin/=node_modules/@openzeppelin/.
    #[arg(long = "remap", value_name = "PREFIX=DIR")]
    pub remaps: Vec<String>,
    /// Run only this detector (repeatable; `chainops audit --list` shows them).
    #[arg(long = "only", value_name = "ID")]
    pub only: Vec<String>,
    /// Do not run this detector (repeatable).
    #[arg(long = "disable", value_name = "ID")]
    pub disable: Vec<String>,
    /// List the detectors and exit.
    #[arg(long, exclusive = true)]
    pub list: bool,
    /// Check deployed code at this address (repeatable) through --rpc instead of sources.
    #[arg(long = "address", value_name = "0x…", requires = "rpc")]
    pub address: Vec<String>,
    /// JSON-RPC endpoint for --address (an EVM node).
    #[arg(long, value_name = "URL")]
    pub rpc: Option<String>,
    /// Verified-source list for --address: lines `0xCODEHASH NAME` or a JSON object.
    #[arg(long, value_name = "FILE", requires = "address")]
    pub verified: Option<PathBuf>,
}
