//! Prometheus text exposition (format 0.0.4) of the fleet, checked by `promtool check metrics`.
//!
//! Metric names follow `chainops_<name>_<unit>[_total]`; every node series carries `chain`
//! and `node` labels. A probe a node does not support (e.g. peers on anvil) is absent, not 0.

use crate::fleet::{Fleet, NodeView, gas_used_ratio};
use crate::histogram::Histogram;
use chainops_core::exposition::{self as text, write_sample};
use chainops_core::node::NodeStatus;
use std::collections::HashMap;

/// Content type of the exposition.
pub const CONTENT_TYPE: &str = text::CONTENT_TYPE;

const STATUSES: [NodeStatus; 5] = [
    NodeStatus::Ok,
    NodeStatus::Lagging,
    NodeStatus::Stalled,
    NodeStatus::Syncing,
    NodeStatus::Down,
];

/// A metric family being written: HELP/TYPE once, then samples.
struct Family<'a> {
    out: &'a mut String,
}

impl Family<'_> {
    fn header(out: &mut String, name: &str, kind: &str, help: &str) {
        text::header(out, name, kind, help);
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        write_sample(self.out, name, "", labels, None, value);
    }

    fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram) {
        for (bound, count) in h.cumulative() {
            write_sample(self.out, name, "_bucket", labels, Some(bound), count as f64);
        }
        write_sample(
            self.out,
            name,
            "_bucket",
            labels,
            Some(f64::INFINITY),
            h.count() as f64,
        );
        write_sample(self.out, name, "_sum", labels, None, h.sum());
        write_sample(self.out, name, "_count", labels, None, h.count() as f64);
    }
}

type Gauge = fn(&NodeView, &Ctx) -> Option<f64>;

/// Per-scrape context shared by the gauge extractors.
struct Ctx {
    now_ms: i64,
    best: HashMap<String, u64>,
}

/// Simple per-node gauges and counters: (name, type, help, extractor).
const NODE_METRICS: &[(&str, &str, &str, Gauge)] = &[
    (
        "chainops_node_up",
        "gauge",
        "1 if the last poll of the node succeeded, else 0.",
        |v, _| Some(if v.up { 1.0 } else { 0.0 }),
    ),
    (
        "chainops_datadir_free_bytes",
        "gauge",
        "Bytes available on the filesystem of the node's local data_dir.",
        |v, _| v.datadir_usage().map(|d| d.free_bytes as f64),
    ),
    (
        "chainops_datadir_used_ratio",
        "gauge",
        "Used fraction of the filesystem of the node's local data_dir.",
        |v, _| v.datadir_usage().map(|d| d.used_ratio()),
    ),
    (
        "chainops_block_height",
        "gauge",
        "Height of the node's head block.",
        |v, _| v.height().map(|h| h as f64),
    ),
    (
        "chainops_head_timestamp_seconds",
        "gauge",
        "Timestamp of the node's head block, seconds since the epoch.",
        |v, _| {
            v.snapshot
                .as_ref()?
                .head
                .as_ref()
                .map(|h| h.timestamp as f64)
        },
    ),
    (
        "chainops_head_age_seconds",
        "gauge",
        "Seconds since the head block's timestamp.",
        |v, c| v.head_age_seconds(c.now_ms),
    ),
    (
        "chainops_blocks_behind",
        "gauge",
        "Blocks behind the best node of the same chain.",
        |v, c| {
            v.blocks_behind(c.best.get(&v.config.chain).copied())
                .map(|b| b as f64)
        },
    ),
    (
        "chainops_peers",
        "gauge",
        "Connected peers (absent when the node does not report peers).",
        |v, _| v.snapshot.as_ref()?.peers.map(|p| p as f64),
    ),
    (
        "chainops_peers_inbound",
        "gauge",
        "Peers that connected to the node (families that report the direction).",
        |v, _| v.snapshot.as_ref()?.peers_inbound.map(|p| p as f64),
    ),
    (
        "chainops_peers_outbound",
        "gauge",
        "Peers the node connected to (families that report the direction).",
        |v, _| v.snapshot.as_ref()?.peers_outbound.map(|p| p as f64),
    ),
    (
        "chainops_difficulty",
        "gauge",
        "Proof-of-work difficulty (Monero, Bitcoin families).",
        |v, _| v.snapshot.as_ref()?.difficulty,
    ),
    (
        "chainops_chain_db_bytes",
        "gauge",
        "Size of the node's chain database on disk (Monero, Bitcoin families).",
        |v, _| v.snapshot.as_ref()?.chain_db_bytes.map(|b| b as f64),
    ),
    (
        "chainops_syncing",
        "gauge",
        "1 while the node reports it is syncing.",
        |v, _| {
            v.snapshot
                .as_ref()?
                .sync
                .as_ref()
                .map(|s| if s.syncing { 1.0 } else { 0.0 })
        },
    ),
    (
        "chainops_gas_price_wei",
        "gauge",
        "eth_gasPrice in wei.",
        |v, _| v.snapshot.as_ref()?.gas_price_wei.map(|w| w as f64),
    ),
    (
        "chainops_base_fee_wei",
        "gauge",
        "Base fee of the head block in wei.",
        |v, _| v.snapshot.as_ref()?.base_fee_wei.map(|w| w as f64),
    ),
    (
        "chainops_block_gas_used_ratio",
        "gauge",
        "Gas used divided by gas limit of the head block.",
        |v, _| gas_used_ratio(v.snapshot.as_ref()?),
    ),
    (
        "chainops_block_transactions",
        "gauge",
        "Transactions in the head block.",
        |v, _| v.snapshot.as_ref()?.head_tx_count.map(|t| t as f64),
    ),
    (
        "chainops_transactions_per_second",
        "gauge",
        "Transactions per second of the latest block.",
        |v, _| v.tx_per_second,
    ),
    (
        "chainops_finalized_block_height",
        "gauge",
        "Height of the finalized block (post-merge EVM).",
        |v, _| v.snapshot.as_ref()?.finalized_height.map(|h| h as f64),
    ),
    (
        "chainops_safe_block_height",
        "gauge",
        "Height of the safe block (post-merge EVM).",
        |v, _| v.snapshot.as_ref()?.safe_height.map(|h| h as f64),
    ),
    (
        "chainops_mempool_bytes",
        "gauge",
        "Mempool size in bytes (Bitcoin, Monero families).",
        |v, _| v.snapshot.as_ref()?.mempool_bytes.map(|b| b as f64),
    ),
    (
        "chainops_chain_tips_forked",
        "gauge",
        "Known competing chain tips besides the active one (Bitcoin, Monero families).",
        |v, _| v.snapshot.as_ref()?.fork_tips.map(|b| b as f64),
    ),
    (
        "chainops_chain_id_mismatch",
        "gauge",
        "1 when the node's chain id differs from the configured one.",
        |v, _| {
            v.config.chain_id.as_ref().map(|_| {
                if v.tracker.chain_id_mismatch {
                    1.0
                } else {
                    0.0
                }
            })
        },
    ),
    (
        "chainops_reorgs_total",
        "counter",
        "Chain reorganizations detected on the node.",
        |v, _| Some(v.tracker.reorgs_total as f64),
    ),
    (
        "chainops_last_reorg_depth_blocks",
        "gauge",
        "Depth of the most recent reorg, in blocks.",
        |v, _| v.tracker.last_reorg.as_ref().map(|r| r.depth as f64),
    ),
    (
        "chainops_client_version_changes_total",
        "counter",
        "Times the node's client version changed.",
        |v, _| Some(v.tracker.client_version_changes as f64),
    ),
    (
        "chainops_poll_duration_seconds",
        "gauge",
        "Duration of the last successful poll.",
        |v, _| v.poll_seconds,
    ),
    (
        "chainops_node_block_time_seconds",
        "gauge",
        "Expected block time from the node's config.",
        |v, _| Some(v.config.block_time.as_secs_f64()),
    ),
    (
        "chainops_node_stall_after_seconds",
        "gauge",
        "Head age after which the node counts as stalled (config).",
        |v, _| Some(v.config.stall_after.as_secs_f64()),
    ),
    (
        "chainops_node_lag_blocks",
        "gauge",
        "Blocks behind the chain's best node before the node counts as lagging (config).",
        |v, _| Some(v.config.lag_blocks as f64),
    ),
    (
        "chainops_managed_node_restarts_total",
        "counter",
        "Restarts of a node chainops supervises.",
        |v, _| {
            v.managed
                .as_ref()
                .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()).restarts as f64)
        },
    ),
];

/// The `# HELP` text of a per-node metric of the registry (dashboards describe panels with it).
pub fn help_of(name: &str) -> Option<&'static str> {
    NODE_METRICS
        .iter()
        .find(|(n, ..)| *n == name)
        .map(|(_, _, help, _)| *help)
}

/// Renders the whole exposition.
pub fn render(fleet: &Fleet, now_ms: i64) -> String {
    let ctx = Ctx {
        now_ms,
        best: fleet.best_heights(),
    };
    let mut out = String::with_capacity(4096 + fleet.len() * 4096);
    Family::header(
        &mut out,
        "chainops_build_info",
        "gauge",
        "Build information; always 1.",
    );
    Family { out: &mut out }.sample(
        "chainops_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );

    for (name, kind, help, extract) in NODE_METRICS {
        let mut header_written = false;
        for i in 0..fleet.len() {
            let v = fleet.lock(i);
            // A cluster member exports the nodes it polls; the others export theirs.
            if v.remote.is_some() {
                continue;
            }
            if let Some(value) = extract(&v, &ctx) {
                if !header_written {
                    Family::header(&mut out, name, kind, help);
                    header_written = true;
                }
                Family { out: &mut out }.sample(
                    name,
                    &[("chain", &v.config.chain), ("node", &v.config.name)],
                    value,
                );
            }
        }
    }

    per_node(
        &mut out,
        fleet,
        "chainops_node_status",
        "gauge",
        "1 for the node's current status (ok, lagging, stalled, syncing, down).",
        |v, f| {
            let current = v.status(ctx.best.get(&v.config.chain).copied(), now_ms);
            for s in STATUSES {
                let labels = [
                    ("chain", v.config.chain.as_str()),
                    ("node", v.config.name.as_str()),
                    ("status", s.as_str()),
                ];
                f.sample(
                    "chainops_node_status",
                    &labels,
                    if s == current { 1.0 } else { 0.0 },
                );
            }
        },
    );
    per_node(
        &mut out,
        fleet,
        "chainops_node_info",
        "gauge",
        "Node identity: client version and chain id; always 1.",
        |v, f| {
            let version = v.tracker.client_version.as_deref().unwrap_or_default();
            let chain_id = v
                .snapshot
                .as_ref()
                .and_then(|s| s.chain_id.as_deref())
                .unwrap_or_default();
            let labels = [
                ("chain", v.config.chain.as_str()),
                ("node", v.config.name.as_str()),
                ("kind", v.config.kind.as_str()),
                ("client_version", version),
                ("chain_id", chain_id),
            ];
            f.sample("chainops_node_info", &labels, 1.0);
        },
    );
    per_node(
        &mut out,
        fleet,
        "chainops_txpool_transactions",
        "gauge",
        "Transactions in the node's pool by state (pending, queued).",
        |v, f| {
            if let Some(t) = v.snapshot.as_ref().and_then(|s| s.txpool) {
                for (state, n) in [("pending", t.pending), ("queued", t.queued)] {
                    let labels = [
                        ("chain", v.config.chain.as_str()),
                        ("node", v.config.name.as_str()),
                        ("state", state),
                    ];
                    f.sample("chainops_txpool_transactions", &labels, n as f64);
                }
            }
        },
    );
    per_node(
        &mut out,
        fleet,
        "chainops_block_interval_seconds",
        "histogram",
        "Seconds between consecutive head blocks, from block timestamps.",
        |v, f| {
            let labels = [
                ("chain", v.config.chain.as_str()),
                ("node", v.config.name.as_str()),
            ];
            f.histogram(
                "chainops_block_interval_seconds",
                &labels,
                &v.block_intervals,
            );
        },
    );
    per_node(
        &mut out,
        fleet,
        "chainops_rpc_request_duration_seconds",
        "histogram",
        "Round-trip time of RPC calls by method (calls in one batch share it).",
        |v, f| {
            for (method, stats) in &v.rpc {
                let labels = [
                    ("chain", v.config.chain.as_str()),
                    ("node", v.config.name.as_str()),
                    ("method", method),
                ];
                f.histogram(
                    "chainops_rpc_request_duration_seconds",
                    &labels,
                    &stats.duration,
                );
            }
        },
    );
    per_node(
        &mut out,
        fleet,
        "chainops_rpc_requests_total",
        "counter",
        "RPC calls by method and outcome (ok, error, timeout, transport).",
        |v, f| {
            for (method, stats) in &v.rpc {
                for (outcome, n) in &stats.outcomes {
                    let labels = [
                        ("chain", v.config.chain.as_str()),
                        ("node", v.config.name.as_str()),
                        ("method", method),
                        ("outcome", outcome),
                    ];
                    f.sample("chainops_rpc_requests_total", &labels, *n as f64);
                }
            }
        },
    );
    out
}

/// Writes one family's header, then lets `each` write the samples of every node.
fn per_node(
    out: &mut String,
    fleet: &Fleet,
    name: &str,
    kind: &str,
    help: &str,
    mut each: impl FnMut(&NodeView, &mut Family<'_>),
) {
    Family::header(out, name, kind, help);
    let mut family = Family { out };
    for i in 0..fleet.len() {
        let v = fleet.lock(i);
        if v.remote.is_none() {
            each(&v, &mut family);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped_and_values_formatted() {
        let mut out = String::new();
        write_sample(
            &mut out,
            "m",
            "_bucket",
            &[("v", "a\"b\\c\nd")],
            Some(0.5),
            3.0,
        );
        assert_eq!(out, "m_bucket{v=\"a\\\"b\\\\c\\nd\",le=\"0.5\"} 3\n");
        out.clear();
        write_sample(&mut out, "m", "", &[], Some(f64::INFINITY), 0.25);
        assert_eq!(out, "m{le=\"+Inf\"} 0.25\n");
    }
}
