//! What the runner needs from a chain: submit requests, see new blocks, read pool depth.

use chainops_chain::rpc::{Call, JsonRpcClient};
use chainops_core::ports::RpcLog;

/// A 32-byte transaction id (EVM hash or Bitcoin txid bytes as written in hex).
pub type TxId = [u8; 32];

/// One request the send loop submits, prepared before the round starts.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The call (`eth_sendRawTransaction`, `sendrawtransaction`, `eth_getBalance`, …).
    pub call: Call,
    /// The id the transaction will have in a block; `None` for reads, which complete
    /// when the node answers.
    pub id: Option<TxId>,
}

/// A block as the tracker sees it.
#[derive(Debug, Clone, Default)]
pub struct Block {
    /// Height.
    pub number: u64,
    /// Block timestamp (seconds).
    pub timestamp: u64,
    /// Ids of the transactions in it.
    pub txs: Vec<TxId>,
    /// Ids of included transactions that reverted (EVM receipts with status 0).
    pub reverted: Vec<TxId>,
    /// Gas used (EVM).
    pub gas_used: Option<u64>,
    /// Gas limit (EVM).
    pub gas_limit: Option<u64>,
    /// Base fee per gas (EVM, wei).
    pub base_fee: Option<u128>,
}

/// The read side of a chain the tracker and sampler poll.
#[async_trait::async_trait]
pub trait ChainView: Send + Sync {
    /// The head height.
    async fn head(&self) -> Result<u64, String>;
    /// Blocks `from..=to`, with receipts when `receipts` (to see reverts).
    async fn blocks(&self, from: u64, to: u64, receipts: bool) -> Result<Vec<Block>, String>;
    /// Transactions waiting in the node's pool, if the node says.
    async fn pool_depth(&self) -> Option<u64>;
    /// The client the send loop uses.
    fn rpc(&self) -> &JsonRpcClient;
}

/// Parses 64 hex digits (with or without `0x`) into a [`TxId`].
pub fn parse_txid(s: &str) -> Option<TxId> {
    let t = s.strip_prefix("0x").unwrap_or(s).as_bytes();
    if t.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in t.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// One call, answered as a `Value`, with the error as text.
pub async fn call_value(
    rpc: &JsonRpcClient,
    method: &'static str,
    params: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let mut log = RpcLog::default();
    rpc.call(method, params, &mut log)
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txids_parse_with_and_without_prefix() {
        let h = "ab".repeat(32);
        assert_eq!(parse_txid(&h), Some([0xab; 32]));
        assert_eq!(parse_txid(&format!("0x{h}")), Some([0xab; 32]));
        assert_eq!(parse_txid("0x12"), None);
        assert_eq!(parse_txid(&"zz".repeat(32)), None);
    }
}
