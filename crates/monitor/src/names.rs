//! Series names shared by the history and the TSDB writer and reader (a leaf module, so
//! `history` can hand samples to `remote_write` without a cycle).

/// Prefix of the per-method RPC latency series: `rpc_method_latency_seconds:eth_blockNumber`
/// holds the round-trip seconds of the calls of that method in each poll (calls sent in one
/// batch share the batch's time).
pub const RPC_METHOD_PREFIX: &str = "rpc_method_latency_seconds:";
