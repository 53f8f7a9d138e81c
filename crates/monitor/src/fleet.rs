//! The live view of every monitored node, shared by the collectors (writers), the HTTP API
//! and the Prometheus exposition (readers). Each node sits behind its own lock so a slow
//! reader or writer touches one node only.

use crate::histogram::{BLOCK_INTERVAL_BUCKETS, Histogram, RPC_DURATION_BUCKETS};
use crate::tracker::{Reorg, TrackerState};
use chainops_chain::supervisor::{ManagedStatus, StatusHandle};
use chainops_core::node::{NodeKind, NodeSnapshot, NodeStatus, RpcCall, RpcOutcome};
use chainops_core::node_config::NodeConfig;
use chainops_core::time::rfc3339;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

/// Latency and outcome counts for one RPC method.
#[derive(Debug, Clone)]
pub struct MethodStats {
    /// Round-trip durations.
    pub duration: Histogram,
    /// Calls by outcome.
    pub outcomes: BTreeMap<&'static str, u64>,
}

/// Everything known about one node right now.
#[derive(Debug)]
pub struct NodeView {
    /// The node's configuration.
    pub config: Arc<NodeConfig>,
    /// Did the last poll succeed?
    pub up: bool,
    /// Has it been polled at all?
    pub polled: bool,
    /// Last poll attempt, epoch ms.
    pub last_poll_ms: Option<i64>,
    /// Last successful poll, epoch ms.
    pub last_success_ms: Option<i64>,
    /// Error of the last failed poll (cleared on success).
    pub last_error: Option<String>,
    /// Latest successful snapshot.
    pub snapshot: Option<NodeSnapshot>,
    /// Tracker state (reorgs, version, chain id).
    pub tracker: TrackerState,
    /// Block interval histogram.
    pub block_intervals: Histogram,
    /// Last block interval seen, seconds.
    pub last_block_interval: Option<f64>,
    /// Transactions per second of the last new block.
    pub tx_per_second: Option<f64>,
    /// Duration of the last poll, seconds.
    pub poll_seconds: Option<f64>,
    /// RPC stats by method.
    pub rpc: BTreeMap<&'static str, MethodStats>,
    /// Supervisor status if chainops runs this node.
    pub managed: Option<StatusHandle>,
    /// Set when another cluster member polls this node and this view is its copy.
    pub remote: Option<RemoteView>,
}

/// What a view copied from another cluster member adds.
#[derive(Debug, Clone)]
pub struct RemoteView {
    /// The member that polls the node (`None` until its first view arrives).
    pub member: Option<String>,
    /// Its count of failed RPC calls (the per-method statistics stay with it).
    pub rpc_errors_total: u64,
}

impl NodeView {
    fn new(config: Arc<NodeConfig>, managed: Option<StatusHandle>) -> Self {
        Self {
            config,
            up: false,
            polled: false,
            last_poll_ms: None,
            last_success_ms: None,
            last_error: None,
            snapshot: None,
            tracker: TrackerState::default(),
            block_intervals: Histogram::new(BLOCK_INTERVAL_BUCKETS),
            last_block_interval: None,
            tx_per_second: None,
            poll_seconds: None,
            rpc: BTreeMap::new(),
            managed,
            remote: None,
        }
    }

    /// Current head height.
    pub fn height(&self) -> Option<u64> {
        self.snapshot.as_ref()?.head.as_ref().map(|h| h.number)
    }

    /// Seconds since the head block's timestamp.
    pub fn head_age_seconds(&self, now_ms: i64) -> Option<f64> {
        let ts = self.snapshot.as_ref()?.head.as_ref()?.timestamp;
        Some(((now_ms - ts * 1000) as f64 / 1000.0).max(0.0))
    }

    /// Failed RPC calls so far (error, timeout, transport).
    pub fn rpc_errors_total(&self) -> u64 {
        if let Some(r) = &self.remote {
            return r.rpc_errors_total;
        }
        self.rpc
            .values()
            .flat_map(|m| m.outcomes.iter())
            .filter(|(o, _)| **o != "ok")
            .map(|(_, n)| *n)
            .sum()
    }

    /// (head − finalized) × block time, when the node reports a finalized block.
    pub fn finality_lag_seconds(&self) -> Option<f64> {
        let finalized = self.snapshot.as_ref()?.finalized_height?;
        let head = self.height()?;
        Some(head.saturating_sub(finalized) as f64 * self.config.block_time.as_secs_f64())
    }

    /// Disk usage of the node's local data directory, if it has one.
    pub fn datadir_usage(&self) -> Option<crate::disk::DiskUsage> {
        crate::disk::usage(self.config.data_dir.as_deref()?)
    }

    /// Records RPC observations.
    pub fn record_rpc(&mut self, calls: &[RpcCall]) {
        for c in calls {
            let stats = self.rpc.entry(c.method).or_insert_with(|| MethodStats {
                duration: Histogram::new(RPC_DURATION_BUCKETS),
                outcomes: BTreeMap::new(),
            });
            stats.duration.observe(c.duration.as_secs_f64());
            *stats.outcomes.entry(c.outcome.as_str()).or_insert(0) += 1;
        }
    }

    /// The status verdict given the best height among the node's chain.
    pub fn status(&self, best_height: Option<u64>, now_ms: i64) -> NodeStatus {
        if !self.up {
            return NodeStatus::Down;
        }
        if self
            .snapshot
            .as_ref()
            .and_then(|s| s.sync.as_ref())
            .is_some_and(|s| s.syncing)
        {
            return NodeStatus::Syncing;
        }
        if self
            .head_age_seconds(now_ms)
            .is_some_and(|a| a > self.config.stall_after.as_secs_f64())
        {
            return NodeStatus::Stalled;
        }
        if self
            .blocks_behind(best_height)
            .is_some_and(|b| b > self.config.lag_blocks)
        {
            return NodeStatus::Lagging;
        }
        NodeStatus::Ok
    }

    /// Blocks behind the best node of its chain.
    pub fn blocks_behind(&self, best_height: Option<u64>) -> Option<u64> {
        Some(best_height?.saturating_sub(self.height()?))
    }
}

/// All monitored nodes.
#[derive(Debug)]
pub struct Fleet {
    nodes: Vec<Arc<Mutex<NodeView>>>,
    by_name: HashMap<String, usize>,
}

/// A node as reported by the API (`GET /api/v1/nodes`).
#[derive(Debug, Clone, Serialize)]
pub struct NodeReport {
    /// Node name.
    pub name: String,
    /// Chain name.
    pub chain: String,
    /// Chain family.
    pub kind: NodeKind,
    /// Did the last poll succeed?
    pub up: bool,
    /// Status verdict.
    pub status: NodeStatus,
    /// Head height.
    pub height: Option<u64>,
    /// Head hash.
    pub head_hash: Option<String>,
    /// Head block time, RFC 3339.
    pub head_time: Option<String>,
    /// Seconds since the head block's timestamp.
    pub head_age_seconds: Option<f64>,
    /// Blocks behind the best node of the chain.
    pub blocks_behind: Option<u64>,
    /// Last block interval, seconds.
    pub block_interval_seconds: Option<f64>,
    /// Transactions per second of the last block.
    pub tx_per_second: Option<f64>,
    /// Connected peers (absent when unsupported).
    pub peers: Option<u64>,
    /// Inbound peers (families that report the direction).
    pub peers_inbound: Option<u64>,
    /// Outbound peers (families that report the direction).
    pub peers_outbound: Option<u64>,
    /// Proof-of-work difficulty (Monero, Bitcoin).
    pub difficulty: Option<f64>,
    /// Mempool size in bytes (Monero, Bitcoin).
    pub mempool_bytes: Option<u64>,
    /// Chain database size on disk in bytes (Monero, Bitcoin).
    pub chain_db_bytes: Option<u64>,
    /// Pool sizes.
    pub txpool: Option<chainops_core::node::TxpoolCounts>,
    /// Gas price, wei, as a decimal string.
    pub gas_price_wei: Option<String>,
    /// Base fee, wei, as a decimal string.
    pub base_fee_wei: Option<String>,
    /// Head block gas used ÷ limit.
    pub gas_used_ratio: Option<f64>,
    /// Whether the node says it is syncing.
    pub syncing: Option<bool>,
    /// Sync progress 0..=1.
    pub sync_progress: Option<f64>,
    /// Finalized height.
    pub finalized_height: Option<u64>,
    /// Safe height.
    pub safe_height: Option<u64>,
    /// Client version string.
    pub client_version: Option<String>,
    /// Chain id reported by the node.
    pub chain_id: Option<String>,
    /// Chain id from the config.
    pub expected_chain_id: Option<String>,
    /// True when they differ.
    pub chain_id_mismatch: bool,
    /// Reorgs detected.
    pub reorgs_total: u64,
    /// The latest reorg.
    pub last_reorg: Option<Reorg>,
    /// Duration of the last poll, seconds.
    pub rpc_latency_seconds: Option<f64>,
    /// Error of the last failed poll.
    pub last_error: Option<String>,
    /// Last poll attempt, RFC 3339.
    pub last_poll: Option<String>,
    /// Probes the node does not support.
    pub unsupported: Vec<String>,
    /// Supervisor status for managed nodes.
    pub managed: Option<ManagedStatus>,
}

impl Fleet {
    /// A fleet of the configured nodes; `managed` maps node name → supervisor status.
    pub fn new(nodes: &[NodeConfig], mut managed: HashMap<String, StatusHandle>) -> Self {
        let views: Vec<_> = nodes
            .iter()
            .map(|n| {
                Arc::new(Mutex::new(NodeView::new(
                    Arc::new(n.clone()),
                    managed.remove(&n.name),
                )))
            })
            .collect();
        let by_name = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.name.clone(), i))
            .collect();
        Self {
            nodes: views,
            by_name,
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when no node is configured.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Locks node `i`.
    pub fn lock(&self, i: usize) -> MutexGuard<'_, NodeView> {
        self.nodes[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Index of a node by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// Names of the nodes of `chain`, in config order.
    pub fn nodes_of_chain(&self, chain: &str) -> Vec<String> {
        (0..self.nodes.len())
            .filter_map(|i| {
                let v = self.lock(i);
                (v.config.chain == chain).then(|| v.config.name.clone())
            })
            .collect()
    }

    /// Every configured chain, sorted, once each (no report is built).
    pub fn chains(&self) -> Vec<String> {
        let mut out: Vec<String> = (0..self.nodes.len())
            .map(|i| self.lock(i).config.chain.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Best height per chain among nodes that are up.
    pub fn best_heights(&self) -> HashMap<String, u64> {
        let mut best: HashMap<String, u64> = HashMap::new();
        for i in 0..self.nodes.len() {
            let v = self.lock(i);
            if let (true, Some(h)) = (v.up, v.height()) {
                let e = best.entry(v.config.chain.clone()).or_insert(h);
                *e = (*e).max(h);
            }
        }
        best
    }

    /// Per chain, whether a strict majority of its nodes is `ok` (the chain's quorum), given
    /// the chains' best heights. A chain with a node not polled yet (just started or
    /// reloaded) is left out: its state is not known.
    pub fn quorum(&self, best: &HashMap<String, u64>, now_ms: i64) -> Vec<(String, bool)> {
        // (chain, ok, nodes, all polled)
        let mut count: Vec<(String, usize, usize, bool)> = Vec::new();
        for i in 0..self.nodes.len() {
            let v = self.lock(i);
            let ok = v.status(best.get(&v.config.chain).copied(), now_ms) == NodeStatus::Ok;
            match count.iter_mut().find(|c| c.0 == v.config.chain) {
                Some(c) => {
                    c.1 += usize::from(ok);
                    c.2 += 1;
                    c.3 &= v.polled;
                }
                None => count.push((v.config.chain.clone(), usize::from(ok), 1, v.polled)),
            }
        }
        count
            .into_iter()
            .filter(|c| c.3)
            .map(|(chain, ok, n, _)| (chain, ok * 2 > n))
            .collect()
    }

    /// Whether every node has been polled at least once (for `/readyz`).
    pub fn all_polled(&self) -> bool {
        (0..self.nodes.len()).all(|i| self.lock(i).polled)
    }

    /// API reports for every node, in config order.
    pub fn reports(&self, now_ms: i64) -> Vec<NodeReport> {
        let best = self.best_heights();
        (0..self.nodes.len())
            .map(|i| report(&self.lock(i), &best, now_ms))
            .collect()
    }

    /// API report for one node.
    pub fn report(&self, name: &str, now_ms: i64) -> Option<NodeReport> {
        let i = self.index_of(name)?;
        let best = self.best_heights();
        Some(report(&self.lock(i), &best, now_ms))
    }
}

fn report(v: &NodeView, best: &HashMap<String, u64>, now_ms: i64) -> NodeReport {
    let best_h = best.get(&v.config.chain).copied();
    let s = v.snapshot.as_ref();
    let head = s.and_then(|s| s.head.as_ref());
    NodeReport {
        name: v.config.name.clone(),
        chain: v.config.chain.clone(),
        kind: v.config.kind,
        up: v.up,
        status: v.status(best_h, now_ms),
        height: v.height(),
        head_hash: head.map(|h| h.hash.clone()),
        head_time: head.map(|h| rfc3339(h.timestamp * 1000)),
        head_age_seconds: v.head_age_seconds(now_ms),
        blocks_behind: v.blocks_behind(best_h),
        block_interval_seconds: v.last_block_interval,
        tx_per_second: v.tx_per_second,
        peers: s.and_then(|s| s.peers),
        peers_inbound: s.and_then(|s| s.peers_inbound),
        peers_outbound: s.and_then(|s| s.peers_outbound),
        difficulty: s.and_then(|s| s.difficulty),
        mempool_bytes: s.and_then(|s| s.mempool_bytes),
        chain_db_bytes: s.and_then(|s| s.chain_db_bytes),
        txpool: s.and_then(|s| s.txpool),
        gas_price_wei: s.and_then(|s| s.gas_price_wei).map(|w| w.to_string()),
        base_fee_wei: s.and_then(|s| s.base_fee_wei).map(|w| w.to_string()),
        gas_used_ratio: s.and_then(gas_used_ratio),
        syncing: s.and_then(|s| s.sync.as_ref()).map(|s| s.syncing),
        sync_progress: s.and_then(|s| s.sync.as_ref()).and_then(|s| s.progress),
        finalized_height: s.and_then(|s| s.finalized_height),
        safe_height: s.and_then(|s| s.safe_height),
        client_version: v.tracker.client_version.clone(),
        chain_id: s.and_then(|s| s.chain_id.clone()),
        expected_chain_id: v.config.chain_id.clone(),
        chain_id_mismatch: v.tracker.chain_id_mismatch,
        reorgs_total: v.tracker.reorgs_total,
        last_reorg: v.tracker.last_reorg.clone(),
        rpc_latency_seconds: v.poll_seconds,
        last_error: v.last_error.clone(),
        last_poll: v.last_poll_ms.map(rfc3339),
        unsupported: s.map(|s| s.unsupported.clone()).unwrap_or_default(),
        managed: v
            .managed
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()).clone()),
    }
}

/// Gas used ÷ gas limit of the head block.
pub fn gas_used_ratio(s: &NodeSnapshot) -> Option<f64> {
    match (s.gas_used, s.gas_limit) {
        (Some(u), Some(l)) if l > 0 => Some(u as f64 / l as f64),
        _ => None,
    }
}

/// Counts of RPC outcomes in a batch of calls, for logging.
pub fn failed_calls(calls: &[RpcCall]) -> usize {
    calls.iter().filter(|c| c.outcome != RpcOutcome::Ok).count()
}

impl chainops_core::facts::FactSource for Fleet {
    fn facts(&self, now_ms: i64) -> Vec<chainops_core::facts::NodeFacts> {
        let best = self.best_heights();
        (0..self.nodes.len())
            .map(|i| {
                let v = self.lock(i);
                let mut values = std::collections::BTreeMap::new();
                let c = &v.config;
                values.insert("up", if v.up { 1.0 } else { 0.0 });
                values.insert("block_time_seconds", c.block_time.as_secs_f64());
                values.insert("stall_after_seconds", c.stall_after.as_secs_f64());
                values.insert("lag_blocks", c.lag_blocks as f64);
                values.insert("reorgs_total", v.tracker.reorgs_total as f64);
                values.insert(
                    "client_version_changes_total",
                    v.tracker.client_version_changes as f64,
                );
                if c.chain_id.is_some() {
                    values.insert(
                        "chain_id_mismatch",
                        if v.tracker.chain_id_mismatch {
                            1.0
                        } else {
                            0.0
                        },
                    );
                }
                let mut put = |k: &'static str, x: Option<f64>| {
                    if let Some(x) = x {
                        values.insert(k, x);
                    }
                };
                put("height", v.height().map(|h| h as f64));
                put("head_age_seconds", v.head_age_seconds(now_ms));
                put(
                    "blocks_behind",
                    v.blocks_behind(best.get(&c.chain).copied())
                        .map(|b| b as f64),
                );
                put("block_interval_seconds", v.last_block_interval);
                put("rpc_latency_seconds", v.poll_seconds);
                put("rpc_errors_total", Some(v.rpc_errors_total() as f64));
                put("finality_lag_seconds", v.finality_lag_seconds());
                if let Some(d) = v.datadir_usage() {
                    put("datadir_free_bytes", Some(d.free_bytes as f64));
                    put("datadir_used_ratio", Some(d.used_ratio()));
                }
                put(
                    "last_reorg_depth",
                    v.tracker.last_reorg.as_ref().map(|r| r.depth as f64),
                );
                let recent = v
                    .tracker
                    .last_reorg
                    .as_ref()
                    .filter(|r| now_ms - r.at_ms < chainops_core::facts::RECENT_REORG_MS)
                    .map_or(0.0, |r| r.depth as f64);
                put("recent_reorg_depth", Some(recent));
                if let Some(s) = &v.snapshot {
                    put("peers", s.peers.map(|p| p as f64));
                    put("txpool_pending", s.txpool.map(|t| t.pending as f64));
                    put("txpool_queued", s.txpool.map(|t| t.queued as f64));
                    put("gas_price_wei", s.gas_price_wei.map(|w| w as f64));
                    put("base_fee_wei", s.base_fee_wei.map(|w| w as f64));
                    put("gas_used_ratio", gas_used_ratio(s));
                    put(
                        "syncing",
                        s.sync.as_ref().map(|s| if s.syncing { 1.0 } else { 0.0 }),
                    );
                }
                chainops_core::facts::NodeFacts {
                    node: c.name.clone(),
                    chain: c.chain.clone(),
                    kind: c.kind,
                    polled: v.polled,
                    values,
                }
            })
            .collect()
    }
}
