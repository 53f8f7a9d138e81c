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
