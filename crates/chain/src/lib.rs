//! chainops-chain: the shared chain-access layer.
//!
//! - [`rpc`]: a JSON-RPC 1.0/2.0 client with batching, timeouts and per-method observations.
//! - [`evm`], [`bitcoin`]: the [`ChainAdapter`](chainops_core::ports::ChainAdapter) implementations.
//! - [`family`]: the chain-family registry (adapter, drill boot, state dump; one line each).
//! - [`registry`]: builds the adapter and RPC client for a configured node.
//! - [`supervisor`]: starts, restarts with backoff and stops managed node processes.

pub mod bitcoin;
pub mod evm;
pub mod family;
mod hex;
pub mod probe;
pub mod registry;
pub mod rpc;
pub mod supervisor;

pub use registry::{adapter_for, http_client, rpc_client_for};

/// Every family, one line each.
pub static FAMILIES: &[&family::Family] = &[&evm::FAMILY, &bitcoin::FAMILY];

/// The family of `kind`.
pub fn family(kind: chainops_core::node::NodeKind) -> &'static family::Family {
    FAMILIES
        .iter()
        .copied()
        .find(|f| f.kind == kind)
        .unwrap_or(&evm::FAMILY)
}
