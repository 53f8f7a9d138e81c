//! The fleet as the alert engine sees it: per-node numeric facts, read through the
//! [`FactSource`] port so `alert` never depends on `monitor`.

use crate::node::NodeKind;
use std::collections::BTreeMap;

/// Window in which a reorg counts as recent (`recent_reorg_depth`).
pub const RECENT_REORG_MS: i64 = 600_000;

/// Names of the facts a [`NodeFacts`] may carry. Rules may refer to any of them.
/// `recent_reorg_depth` is the depth of the last reorg if it happened within
/// [`RECENT_REORG_MS`], else 0. `rpc_errors_total` counts failed RPC calls (error, timeout,
/// transport); `finality_lag_seconds` is (head − finalized) × block time; the `datadir_*`
/// facts exist for nodes with a local `data_dir`; the `backup_*` and `drill_failed` facts for
/// nodes with `[[backups]]` jobs (the worst of the node's jobs: last run failed, no success
/// within `overdue_after`, age of the newest successful backup, last drill failed).
pub const FACT_NAMES: &[&str] = &[
    "up",
    "height",
    "head_age_seconds",
    "blocks_behind",
    "block_interval_seconds",
    "peers",
    "txpool_pending",
    "txpool_queued",
    "gas_price_wei",
    "base_fee_wei",
    "gas_used_ratio",
    "rpc_latency_seconds",
    "syncing",
    "chain_id_mismatch",
    "reorgs_total",
    "last_reorg_depth",
    "recent_reorg_depth",
    "client_version_changes_total",
    "rpc_errors_total",
    "finality_lag_seconds",
    "datadir_free_bytes",
    "datadir_used_ratio",
    "block_time_seconds",
    "stall_after_seconds",
    "lag_blocks",
    "backup_failed",
    "backup_overdue",
    "backup_age_seconds",
    "drill_failed",
];

/// One node's current facts. A fact the node does not report is absent.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFacts {
    /// Node name.
    pub node: String,
    /// Chain name.
    pub chain: String,
    /// Chain family.
    pub kind: NodeKind,
    /// Whether the node has been polled at least once (no facts before that).
    pub polled: bool,
    /// Fact name → value.
    pub values: BTreeMap<&'static str, f64>,
}

impl NodeFacts {
    /// The value of a fact, if present.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.values.get(name).copied()
    }
}

/// Anything that can list the fleet's facts now.
pub trait FactSource: Send + Sync {
    /// Facts of every node at `now_ms`.
    fn facts(&self, now_ms: i64) -> Vec<NodeFacts>;
}
