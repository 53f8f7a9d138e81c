//! chainops-chain: the shared chain-access layer.
//!
//! - [`rpc`]: a JSON-RPC 1.0/2.0 client with batching, timeouts and per-method observations.
//! - [`evm`], [`bitcoin`], [`monero`]: the [`ChainAdapter`](chainops_core::ports::ChainAdapter) implementations.
//! - [`family`]: the chain-family registry (defaults, adapter, drill boot, state dump; one
//!   line each), and [`config`]: `[[nodes]]` validated with each family's defaults.
//! - [`registry`]: builds the adapter and RPC client for a configured node.
//! - [`supervisor`]: starts, restarts with backoff and stops managed node processes.

pub mod bitcoin;
pub mod config;
pub mod evm;
pub mod family;
mod hex;
pub mod monero;
pub mod probe;
pub mod registry;
pub mod rpc;
pub mod supervisor;

pub use registry::{adapter_for, http_client, rpc_client_for};

/// Every family, one line each.
pub static FAMILIES: &[&family::Family] = &[&evm::FAMILY, &bitcoin::FAMILY, &monero::FAMILY];

/// The kind named `name` in config (`"evm"`), if a family has that name.
pub fn parse_kind(name: &str) -> Option<chainops_core::node::NodeKind> {
    FAMILIES.iter().map(|f| f.kind).find(|k| k.as_str() == name)
}

/// `evm or bitcoin or monero` (for messages).
pub fn kind_names() -> String {
    FAMILIES
        .iter()
        .map(|f| f.kind.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// `"evm" or "bitcoin"` (for config messages).
pub fn quoted_kind_names() -> String {
    FAMILIES
        .iter()
        .map(|f| format!("\"{}\"", f.kind.as_str()))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The family of `kind`.
pub fn family(kind: chainops_core::node::NodeKind) -> &'static family::Family {
    FAMILIES
        .iter()
        .copied()
        .find(|f| f.kind == kind)
        .unwrap_or(&evm::FAMILY)
}
