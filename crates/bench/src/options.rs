//! What a run is asked to do.

use crate::config::{RoundSpec, WorkloadSpec};
use std::time::Duration;

/// Everything a run needs besides the node connection.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// URL for the report (credentials removed).
    pub url: String,
    /// Workload.
    pub workload: WorkloadSpec,
    /// Rounds.
    pub rounds: Vec<RoundSpec>,
    /// Sender accounts (EVM).
    pub senders: u32,
    /// Mnemonic (default: the dev mnemonic).
    pub mnemonic: Option<String>,
    /// Confirmations for the second latency.
    pub confirmations: u32,
    /// Requests in flight.
    pub concurrency: u32,
    /// Largest batch.
    pub batch_size: u32,
    /// Fee cap (gwei).
    pub max_fee_gwei: Option<f64>,
    /// Tip (gwei).
    pub priority_fee_gwei: f64,
    /// Node PID to sample.
    pub node_pid: Option<u32>,
    /// Longest wait for outstanding transactions after sending.
    pub drain_timeout: Duration,
    /// Regtest: mine a block this often.
    pub mine_interval: Option<Duration>,
}
