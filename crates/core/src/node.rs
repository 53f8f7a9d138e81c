//! Node and block vocabulary: what a chain adapter reports and what the collector derives.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The chain family a node speaks (`kind = "evm"`), by its config name. Families are data:
/// each is declared once in `chainops_chain`'s registry (`FAMILIES`), which parses config
/// names into kinds and holds everything a family means (adapter, defaults, drills), so
/// nothing outside a family's own file matches on a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeKind(&'static str);

impl NodeKind {
    /// The kind named `name`; only a family's own declaration calls this.
    pub const fn new(name: &'static str) -> Self {
        NodeKind(name)
    }

    /// The config spelling (`evm`, `bitcoin`).
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for NodeKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

/// Health verdict for a node, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    /// The last poll failed: RPC unreachable, timed out or answered garbage.
    Down,
    /// The node reports it is catching up (`eth_syncing`, initial block download).
    Syncing,
    /// The head is older than the node's stall threshold.
    Stalled,
    /// The node is behind the best node of its chain by more than its lag threshold.
    Lagging,
    /// Polled fine, head fresh, in step with its chain.
    Ok,
}

impl NodeStatus {
    /// Lower-case name used in the API and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeStatus::Down => "down",
            NodeStatus::Syncing => "syncing",
            NodeStatus::Stalled => "stalled",
            NodeStatus::Lagging => "lagging",
            NodeStatus::Ok => "ok",
        }
    }

    /// The status as a number, for history and charts: 0 ok, 1 lagging, 2 syncing,
    /// 3 stalled, 4 down (worse is higher).
    pub fn code(self) -> f64 {
        match self {
            NodeStatus::Ok => 0.0,
            NodeStatus::Lagging => 1.0,
            NodeStatus::Syncing => 2.0,
            NodeStatus::Stalled => 3.0,
            NodeStatus::Down => 4.0,
        }
    }
}

/// A block's identity and place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// Height (block number).
    pub number: u64,
    /// Block hash, lower-case hex as the node returns it.
    pub hash: String,
    /// Parent block hash.
    pub parent_hash: String,
    /// Block timestamp, seconds since the epoch.
    pub timestamp: i64,
}

/// Sync progress as the node reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// True while the node says it is catching up.
    pub syncing: bool,
    /// Highest block the node knows of (headers), if it says.
    pub highest_block: Option<u64>,
    /// Progress 0..=1 if the node says.
    pub progress: Option<f64>,
}

/// Transaction pool sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxpoolCounts {
    /// Executable transactions.
    pub pending: u64,
    /// Transactions waiting on a nonce gap (EVM); always 0 for Bitcoin.
    pub queued: u64,
}

/// One poll of a node: everything the adapter could learn in one round.
///
/// `None` means "not reported this round" (unsupported or skipped); the adapter lists
/// permanently unsupported probes in `unsupported`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeSnapshot {
    /// The current head block.
    pub head: Option<BlockRef>,
    /// Transactions in the head block.
    pub head_tx_count: Option<u64>,
    /// Gas used by the head block (EVM).
    pub gas_used: Option<u64>,
    /// Gas limit of the head block (EVM).
    pub gas_limit: Option<u64>,
    /// Base fee of the head block in wei (EVM, London+).
    pub base_fee_wei: Option<u128>,
    /// `eth_gasPrice` in wei (EVM).
    pub gas_price_wei: Option<u128>,
    /// Size of the head block in bytes (Bitcoin).
    pub head_size_bytes: Option<u64>,
    /// Sync state.
    pub sync: Option<SyncState>,
    /// Connected peers.
    pub peers: Option<u64>,
    /// Of `peers`, those that connected to the node (Monero, Bitcoin).
    pub peers_inbound: Option<u64>,
    /// Of `peers`, those the node connected to (Monero, Bitcoin).
    pub peers_outbound: Option<u64>,
    /// Proof-of-work difficulty of the next block (Monero, Bitcoin).
    pub difficulty: Option<f64>,
    /// Size of the node's chain database on disk in bytes (Monero LMDB, Bitcoin
    /// `size_on_disk`).
    pub chain_db_bytes: Option<u64>,
    /// Highest height any peer has announced (Bitcoin `getpeerinfo`).
    pub peers_best_height: Option<u64>,
    /// Transaction pool sizes.
    pub txpool: Option<TxpoolCounts>,
    /// Mempool size in bytes (Bitcoin).
    pub mempool_bytes: Option<u64>,
    /// Client software version string.
    pub client_version: Option<String>,
    /// Chain identity: EVM chain id in decimal, or Bitcoin network name (`main`, `regtest`).
    pub chain_id: Option<String>,
    /// Finalized height (EVM post-merge).
    pub finalized_height: Option<u64>,
    /// Safe height (EVM post-merge).
    pub safe_height: Option<u64>,
    /// Number of known competing chain tips (Bitcoin `getchaintips`, excluding the active one).
    pub fork_tips: Option<u64>,
    /// Probes this node does not support (e.g. `peers` on anvil).
    pub unsupported: Vec<String>,
}

/// Outcome of one RPC method call, for latency and error metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RpcOutcome {
    /// Answered with a result.
    Ok,
    /// Answered with a JSON-RPC error.
    Error,
    /// No answer in time.
    Timeout,
    /// Connection refused/reset or unparseable answer.
    Transport,
}

impl RpcOutcome {
    /// Label value for metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RpcOutcome::Ok => "ok",
            RpcOutcome::Error => "error",
            RpcOutcome::Timeout => "timeout",
            RpcOutcome::Transport => "transport",
        }
    }
}

/// One observed RPC call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcCall {
    /// JSON-RPC method name.
    pub method: &'static str,
    /// Wall time of the HTTP round trip that carried it (shared by calls in one batch).
    pub duration: Duration,
    /// How it ended.
    pub outcome: RpcOutcome,
}
