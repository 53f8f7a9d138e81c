//! Ports: the traits feature crates implement or consume, so they never depend on each other.

use crate::ErrorKind;
use crate::node::{BlockRef, NodeSnapshot, RpcCall};
use async_trait::async_trait;

/// Why a chain adapter call failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ChainError {
    /// The node did not answer within the poll timeout.
    #[error("timed out after {0} ms")]
    Timeout(u64),
    /// Connection refused/reset, TLS failure, HTTP error status.
    #[error("transport error: {0}")]
    Transport(String),
    /// The node answered with a JSON-RPC error.
    #[error("rpc error from {method}: {message} (code {code})")]
    Rpc {
        /// Method that failed.
        method: String,
        /// JSON-RPC error code.
        code: i64,
        /// Error message from the node.
        message: String,
    },
    /// The node answered something we cannot interpret.
    #[error("unexpected answer to {method}: {detail}")]
    Decode {
        /// Method whose answer was malformed.
        method: String,
        /// What was wrong.
        detail: String,
    },
}

impl ChainError {
    /// Coarse kind for API/CLI mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ChainError::Timeout(_) | ChainError::Transport(_) => ErrorKind::Unavailable,
            ChainError::Rpc { .. } | ChainError::Decode { .. } => ErrorKind::Upstream,
        }
    }
}

/// Sink for RPC call observations made during one adapter call.
pub type RpcLog = Vec<RpcCall>;

/// One chain family's view of a node. Implementations live in `chainops-chain`;
/// adding a chain family is one new implementation plus one line in its registry.
#[async_trait]
pub trait ChainAdapter: Send + Sync {
    /// The family name (`evm`, `bitcoin`).
    fn family(&self) -> &'static str;

    /// Polls the node once: head, sync, peers, pool, client. Records every RPC call in `log`.
    async fn poll(&self, log: &mut RpcLog) -> Result<NodeSnapshot, ChainError>;

    /// The block at `height` on the node's current best chain (used to walk back on reorgs).
    async fn block_at(&self, height: u64, log: &mut RpcLog) -> Result<BlockRef, ChainError>;
}

/// A part of `/metrics` rendered by a feature the HTTP layer does not know (scheduled
/// backups…): Prometheus text exposition, `# HELP`/`# TYPE` lines included.
pub trait MetricsSource: Send + Sync {
    /// The exposition text at `now_ms`.
    fn render(&self, now_ms: i64) -> String;
}

/// A scheduled backup job as the console shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BackupJobView {
    /// Job name.
    pub name: String,
    /// Node it backs up.
    pub node: String,
    /// Schedule (cron text).
    pub schedule: String,
    /// Drill schedule, if any.
    pub drill_schedule: Option<String>,
    /// Repository location, credentials redacted.
    pub repo: String,
    /// The password file (a path, never the password).
    pub password_file: String,
    /// Newest backup run: finished (epoch ms), ok, error.
    pub last_backup: Option<(i64, bool, Option<String>)>,
    /// Newest drill: finished, ok, error.
    pub last_drill: Option<(i64, bool, Option<String>)>,
    /// Next scheduled backup (epoch ms).
    pub next_backup_ms: Option<i64>,
    /// Next scheduled drill.
    pub next_drill_ms: Option<i64>,
    /// No successful backup within the job's `overdue_after`.
    pub overdue: bool,
    /// A run started from the console is still going.
    pub running: bool,
}

/// A snapshot in a job's repository.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SnapshotView {
    /// Snapshot id.
    pub id: String,
    /// When it was taken (epoch ms).
    pub time_ms: i64,
    /// Total size of the files it holds.
    pub bytes: u64,
    /// Tags.
    pub tags: Vec<String>,
}

/// The daemon's backup jobs, for the console: what they are, their snapshots, and running
/// one now. Implemented by `chainops-backup`; the server only sees this port.
#[async_trait]
pub trait BackupJobs: Send + Sync {
    /// Every job's state at `now_ms`.
    fn jobs(&self, now_ms: i64) -> Vec<BackupJobView>;

    /// Starts a backup (or, with `drill`, a restore drill) of `job` in the background; the
    /// run is recorded when it ends. Refused while another run of the job is going.
    async fn start(&self, job: &str, drill: bool) -> Result<(), (ErrorKind, String)>;

    /// The snapshots in `job`'s repository, newest first (empty if it has none yet).
    async fn snapshots(&self, job: &str) -> Result<Vec<SnapshotView>, (ErrorKind, String)>;
}

/// What a configuration reload changed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ReloadOutcome {
    /// The config file that was read.
    pub file: String,
    /// Top-level sections whose content changed (`nodes`, `alerting`, `logs`, `backups`, …);
    /// empty when the file is the same as the running configuration.
    pub changed: Vec<String>,
    /// Nodes monitored after the reload.
    pub nodes: usize,
    /// Alert rules in force after the reload.
    pub rules: usize,
    /// Notification channels after the reload.
    pub notifiers: usize,
}

/// Re-reads the daemon's config file and applies it while the daemon runs (`SIGHUP`,
/// `POST /api/v1/config/reload`). Implemented by the binary, which owns the wiring.
#[async_trait]
pub trait ConfigReloader: Send + Sync {
    /// Validates the file completely and applies it; on any problem the running
    /// configuration stays and every problem is returned (`path: message`).
    async fn reload(&self) -> Result<ReloadOutcome, Vec<String>>;
}
