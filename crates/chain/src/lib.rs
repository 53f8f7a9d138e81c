//! chainops-chain: the shared chain-access layer.
//!
//! - [`rpc`]: a JSON-RPC 1.0/2.0 client with batching, timeouts and per-method observations.
//! - [`evm`], [`bitcoin`]: the [`ChainAdapter`](chainops_core::ports::ChainAdapter) implementations.
//! - [`registry`]: picks the adapter for a configured node (one line per chain family).
//! - [`supervisor`]: starts, restarts with backoff and stops managed node processes.

pub mod bitcoin;
pub mod evm;
mod hex;
pub mod probe;
pub mod registry;
pub mod rpc;
pub mod supervisor;

pub use registry::{adapter_for, http_client, rpc_client_for};
