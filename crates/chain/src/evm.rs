//! EVM JSON-RPC adapter (geth, reth, Nethermind, anvil, ganache, hardhat).
//!
//! One poll is one batch: the latest block, `eth_syncing`, `eth_gasPrice`, and the optional
//! probes (`net_peerCount`, `txpool_status`, finalized/safe blocks) that the node has not
//! declared unsupported. Chain id and client version change rarely and ride along every
//! [`IDENTITY_EVERY`] polls.

use crate::hex::{decode, quantity, quantity_u64};
use crate::probe::ProbeSupport;
use crate::rpc::{Call, JsonRpcClient, RpcError};
use async_trait::async_trait;
use chainops_core::node::{BlockRef, NodeSnapshot, SyncState, TxpoolCounts};
use chainops_core::ports::{ChainAdapter, ChainError, RpcLog};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Polls between refreshes of chain id and client version.
pub const IDENTITY_EVERY: u64 = 30;

const PROBES: &[&str] = &["peers", "txpool", "finalized", "safe"];
const P_PEERS: usize = 0;
const P_TXPOOL: usize = 1;
const P_FINALIZED: usize = 2;
const P_SAFE: usize = 3;

/// Adapter for one EVM node.
#[derive(Debug)]
pub struct EvmAdapter {
    rpc: JsonRpcClient,
    polls: AtomicU64,
    probes: ProbeSupport,
    identity: Mutex<(Option<String>, Option<String>)>,
}

impl EvmAdapter {
    /// An adapter speaking to `rpc`.
    pub fn new(rpc: JsonRpcClient) -> Self {
        Self {
            rpc,
            polls: AtomicU64::new(0),
            probes: ProbeSupport::new(PROBES),
            identity: Mutex::new((None, None)),
        }
    }
}

#[async_trait]
impl ChainAdapter for EvmAdapter {
    fn family(&self) -> &'static str {
        "evm"
    }

    async fn poll(&self, log: &mut RpcLog) -> Result<NodeSnapshot, ChainError> {
        let poll = self.polls.fetch_add(1, Ordering::Relaxed) + 1;
        let mut calls = vec![
            Call::new("eth_getBlockByNumber", json!(["latest", false])),
            Call::new("eth_syncing", json!([])),
            Call::new("eth_gasPrice", json!([])),
        ];
        let mut slots: Vec<(usize, usize)> = Vec::new(); // (probe, index in calls)
        for (probe, call) in [
            (P_PEERS, Call::new("net_peerCount", json!([]))),
            (P_TXPOOL, Call::new("txpool_status", json!([]))),
            (
                P_FINALIZED,
                Call::new("eth_getBlockByNumber", json!(["finalized", false])),
            ),
            (
                P_SAFE,
                Call::new("eth_getBlockByNumber", json!(["safe", false])),
            ),
        ] {
            if self.probes.should_try(probe, poll) {
                slots.push((probe, calls.len()));
                calls.push(call);
            }
        }
        let refresh_identity = poll % IDENTITY_EVERY == 1;
        let identity_at = calls.len();
        if refresh_identity {
            calls.push(Call::new("eth_chainId", json!([])));
            calls.push(Call::new("web3_clientVersion", json!([])));
        }

        let mut answers = self.rpc.batch(&calls, log).await?;
        let mut take = |i: usize| std::mem::replace(&mut answers[i], Ok(Value::Null));

        let latest = take(0).map_err(|e| e.into_chain_error("eth_getBlockByNumber"))?;
        let mut snap = NodeSnapshot::default();
        if latest.is_null() {
            return Err(decode(
                "eth_getBlockByNumber",
                "node returned no latest block".into(),
            ));
        }
        let head = block_ref(&latest, "eth_getBlockByNumber")?;
        snap.head_tx_count = latest
            .get("transactions")
            .and_then(Value::as_array)
            .map(|t| t.len() as u64);
        snap.gas_used = latest
            .get("gasUsed")
            .and_then(|v| quantity_u64(v, "eth_getBlockByNumber", "gasUsed").ok());
        snap.gas_limit = latest
            .get("gasLimit")
            .and_then(|v| quantity_u64(v, "eth_getBlockByNumber", "gasLimit").ok());
        snap.base_fee_wei = latest
            .get("baseFeePerGas")
            .and_then(|v| quantity(v, "eth_getBlockByNumber", "baseFeePerGas").ok());
        snap.head = Some(head);

        if let Ok(v) = take(1) {
            snap.sync = Some(parse_syncing(&v));
        }
        if let Ok(v) = take(2) {
            snap.gas_price_wei = quantity(&v, "eth_gasPrice", "result").ok();
        }
        for (probe, idx) in slots {
            let answer = take(idx);
            let supported = !matches!(&answer, Err(e) if unsupported(probe, e));
            self.probes.record(probe, poll, supported);
            let Ok(v) = answer else { continue };
            match probe {
                P_PEERS => snap.peers = quantity_u64(&v, "net_peerCount", "result").ok(),
                P_TXPOOL => {
                    snap.txpool = match (v.get("pending"), v.get("queued")) {
                        (Some(p), Some(q)) => Some(TxpoolCounts {
                            pending: quantity_u64(p, "txpool_status", "pending").unwrap_or(0),
                            queued: quantity_u64(q, "txpool_status", "queued").unwrap_or(0),
                        }),
                        _ => None,
                    }
                }
                P_FINALIZED if !v.is_null() => {
                    snap.finalized_height = v
                        .get("number")
                        .and_then(|n| quantity_u64(n, "eth_getBlockByNumber", "number").ok())
                }
                P_SAFE if !v.is_null() => {
                    snap.safe_height = v
                        .get("number")
                        .and_then(|n| quantity_u64(n, "eth_getBlockByNumber", "number").ok())
                }
                _ => {}
            }
        }
        let mut identity = self.identity.lock().unwrap_or_else(|p| p.into_inner());
        if refresh_identity {
            if let Ok(v) = take(identity_at) {
                identity.0 = quantity(&v, "eth_chainId", "result")
                    .ok()
                    .map(|id| id.to_string());
            }
            if let Ok(v) = take(identity_at + 1) {
                identity.1 = v.as_str().map(str::to_string);
            }
        }
        snap.chain_id = identity.0.clone();
        snap.client_version = identity.1.clone();
        snap.unsupported = self.probes.unsupported();
        Ok(snap)
    }

    async fn block_at(&self, height: u64, log: &mut RpcLog) -> Result<BlockRef, ChainError> {
        let v = self
            .rpc
            .call(
                "eth_getBlockByNumber",
                json!([format!("0x{height:x}"), false]),
                log,
            )
            .await?;
        if v.is_null() {
            return Err(decode(
                "eth_getBlockByNumber",
                format!("no block at height {height}"),
            ));
        }
        block_ref(&v, "eth_getBlockByNumber")
    }
}

/// Whether an error answer to a probe means "this node does not do that".
fn unsupported(probe: usize, e: &RpcError) -> bool {
    if e.is_method_not_found() {
        return true;
    }
    // Pre-merge clients reject the "finalized"/"safe" tags.
    matches!(probe, P_FINALIZED | P_SAFE)
        && (e.code == -32602
            || e.code == -32000
            || e.message.to_ascii_lowercase().contains("block tag"))
}

fn block_ref(v: &Value, method: &str) -> Result<BlockRef, ChainError> {
    let field = |name: &str| {
        v.get(name)
            .ok_or_else(|| decode(method, format!("block lacks {name}")))
    };
    let hash = field("hash")?
        .as_str()
        .ok_or_else(|| decode(method, "hash is not a string".into()))?;
    let parent = field("parentHash")?
        .as_str()
        .ok_or_else(|| decode(method, "parentHash is not a string".into()))?;
    let ts = quantity_u64(field("timestamp")?, method, "timestamp")?;
    Ok(BlockRef {
        number: quantity_u64(field("number")?, method, "number")?,
        hash: hash.to_ascii_lowercase(),
        parent_hash: parent.to_ascii_lowercase(),
        timestamp: i64::try_from(ts)
            .map_err(|_| decode(method, format!("timestamp {ts} out of range")))?,
    })
}

/// `eth_syncing` answers `false` or an object with currentBlock/highestBlock.
fn parse_syncing(v: &Value) -> SyncState {
    match v {
        Value::Object(o) => {
            let q = |k: &str| {
                o.get(k)
                    .and_then(|x| quantity_u64(x, "eth_syncing", k).ok())
            };
            let (cur, high) = (q("currentBlock"), q("highestBlock"));
            let progress = match (cur, high) {
                (Some(c), Some(h)) if h > 0 => Some((c as f64 / h as f64).min(1.0)),
                _ => None,
            };
            SyncState {
                syncing: true,
                highest_block: high,
                progress,
            }
        }
        _ => SyncState {
            syncing: false,
            highest_block: None,
            progress: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syncing_object_yields_progress() {
        let s = parse_syncing(
            &json!({"currentBlock": "0x32", "highestBlock": "0x64", "startingBlock": "0x0"}),
        );
        assert!(s.syncing);
        assert_eq!(s.highest_block, Some(100));
        assert_eq!(s.progress, Some(0.5));
        assert!(!parse_syncing(&json!(false)).syncing);
    }

    #[test]
    fn malformed_blocks_are_decode_errors() {
        let err = block_ref(&json!({"number": "0x1"}), "m").expect_err("no hash");
        assert!(matches!(err, ChainError::Decode { .. }));
    }
}
