//! chainops-bench: a load generator for blockchain nodes.
//!
//! Transactions are pre-signed (EIP-1559, explicit nonces, many senders derived from a
//! mnemonic) so the send loop only moves bytes; success is counted by inclusion in a block,
//! never by RPC acceptance. Rate control follows Caliper (fixed rate, linear ramp, fixed
//! backlog, plus a maximum-rate search); the report adds latency percentiles, per-second
//! series, node and generator CPU, block fullness, txpool depth and a bottleneck verdict.
//!
//! - [`keys`], [`rlp`], [`eth_tx`], [`abi`]: accounts, encoding and signing.
//! - [`target`]: the chain a run talks to ([`evm`] and [`bitcoin`] implement it).
//! - [`runner`]: rounds, rate control, inclusion tracking, sampling.
//! - [`report`], [`analysis`], [`html`], [`compare`]: what a run produces.

pub mod abi;
pub mod analysis;
pub mod bitcoin;
pub mod compare;
pub mod config;
pub mod eth_tx;
pub mod evm;
pub mod evm_session;
pub mod html;
pub mod keys;
pub mod options;
mod proc_stat;
pub mod report;
pub mod rlp;
pub mod runner;
pub mod sessions;
pub mod stats;
pub mod target;

pub use report::Report;
pub use runner::{Progress, RunOptions, run};

/// Errors of a benchmark run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Bad configuration or arguments.
    #[error("{0}")]
    Input(String),
    /// The node answered with an error or not at all.
    #[error("{context}: {detail}")]
    Node {
        /// What was being done.
        context: String,
        /// What went wrong.
        detail: String,
    },
    /// Accounts could not be funded or prepared.
    #[error("preparing the run: {0}")]
    Prepare(String),
}

impl BenchError {
    /// A node error with context.
    pub fn node(context: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self::Node {
            context: context.into(),
            detail: detail.to_string(),
        }
    }

    /// The coarse kind (for exit codes).
    pub fn kind(&self) -> chainops_core::error::ErrorKind {
        use chainops_core::error::ErrorKind;
        match self {
            Self::Input(_) => ErrorKind::InvalidInput,
            Self::Node { .. } => ErrorKind::Unavailable,
            Self::Prepare(_) => ErrorKind::Conflict,
        }
    }
}
