//! EVM JSON-RPC adapter (geth, reth, Nethermind, anvil, ganache, hardhat).
//!
//! One poll is one batch: the latest block, `eth_syncing`, `eth_gasPrice`, and the optional
//! probes (`net_peerCount`, `txpool_status`, and every [`FINALITY_EVERY`] polls the
//! finalized/safe blocks) that the node has not declared unsupported. Chain id and client version change rarely and ride along every
//! [`IDENTITY_EVERY`] polls.

use crate::hex::{decode, parse_quantity, quantity, quantity_u64};
use crate::probe::ProbeSupport;
use crate::rpc;
use crate::rpc::{Call, JsonRpcClient, RpcError};
use async_trait::async_trait;
use chainops_core::node::{BlockRef, NodeSnapshot, SyncState, TxpoolCounts};
use chainops_core::ports::{ChainAdapter, ChainError, RpcLog};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Polls between refreshes of chain id and client version.
pub const IDENTITY_EVERY: u64 = 30;
/// Polls between refreshes of the finalized and safe blocks: they move once per epoch on
/// Ethereum (6.4 min) and are full blocks, so fetching them every poll is waste.
pub const FINALITY_EVERY: u64 = 5;

const PROBES: &[&str] = &["peers", "txpool", "finalized", "safe"];
const P_PEERS: usize = 0;
const P_TXPOOL: usize = 1;
const P_FINALIZED: usize = 2;
const P_SAFE: usize = 3;

/// `kind = "evm"`.
pub const KIND: chainops_core::node::NodeKind = chainops_core::node::NodeKind::new("evm");

/// The EVM family: JSON-RPC polls; drills boot anvil on the snapshot's `state.json`
/// (`capture = "dump"`, from `anvil_dumpState`).
pub static FAMILY: crate::family::Family = crate::family::Family {
    kind: KIND,
    block_time: std::time::Duration::from_secs(12),
    lag_blocks: 3,
    poll_methods: &[
        "eth_getBlockByNumber",
        "eth_syncing",
        "eth_gasPrice",
        "net_peerCount",
        "txpool_status",
        "eth_chainId",
        "web3_clientVersion",
    ],
    chain_id: crate::family::ChainIdForm::Number,
    bench_workload: Some("eth-transfer"),
    rpc_auth: None,
    adapter: |rpc| std::sync::Arc::new(EvmAdapter::new(rpc)),
    drill: Some(crate::family::DrillBoot {
        programs: &["anvil"],
        local: &[
            ".tools/node_modules/.bin/anvil",
            ".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
            ".tools/bin/anvil",
            "tools/anvil",
        ],
        input: |top| {
            let f = top.join("state.json");
            if f.is_file() {
                Ok(f)
            } else {
                Err("no state.json in the snapshot: drills of EVM nodes need a --capture dump snapshot".into())
            }
        },
        args: |input, rpc_port, _, _| {
            vec![
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                rpc_port.to_string(),
                "--load-state".into(),
                input.display().to_string(),
            ]
        },
        auth: None,
    }),
    dump: Some(("anvil_dumpState", "state.json")),
};

/// Adapter for one EVM node.
#[derive(Debug)]
pub struct EvmAdapter {
    rpc: JsonRpcClient,
    polls: AtomicU64,
    probes: ProbeSupport,
    identity: Mutex<(Option<String>, Option<String>)>,
    /// Last finalized and safe heights (refreshed every [`FINALITY_EVERY`] polls).
    finality: Mutex<(Option<u64>, Option<u64>)>,
}

impl EvmAdapter {
    /// An adapter speaking to `rpc`.
    pub fn new(rpc: JsonRpcClient) -> Self {
        Self {
            rpc,
            polls: AtomicU64::new(0),
            probes: ProbeSupport::new(PROBES),
            identity: Mutex::new((None, None)),
            finality: Mutex::new((None, None)),
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
            let due = !matches!(probe, P_FINALIZED | P_SAFE) || poll % FINALITY_EVERY == 1;
            if due && self.probes.should_try(probe, poll) {
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

        let answers = self.rpc.batch(&calls, log).await?;
        let mut snap = NodeSnapshot::default();
        {
            let method = "eth_getBlockByNumber";
            let raw = answers[0]
                .as_ref()
                .map_err(|e| e.clone().into_chain_error(method))?;
            let latest: Option<RpcBlock<'_>> = rpc::decode(raw, method)?;
            let latest =
                latest.ok_or_else(|| decode(method, "node returned no latest block".into()))?;
            snap.head = Some(latest.block_ref(method)?);
            snap.head_tx_count = latest.transactions.map(|t| t.0);
            snap.gas_used = latest
                .gas_used
                .and_then(parse_quantity)
                .and_then(|q| u64::try_from(q).ok());
            snap.gas_limit = latest
                .gas_limit
                .and_then(parse_quantity)
                .and_then(|q| u64::try_from(q).ok());
            snap.base_fee_wei = latest.base_fee_per_gas.and_then(parse_quantity);
        }
        // The remaining answers are small; plain values are fine.
        // Finalized/safe are full blocks: keep only their number. The latest block (index 0)
        // was decoded above.
        let block_slots: Vec<usize> = slots
            .iter()
            .filter(|(p, _)| matches!(*p, P_FINALIZED | P_SAFE))
            .map(|(_, i)| *i)
            .collect();
        let mut values: Vec<Result<Value, RpcError>> = answers
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.map(|raw| match i {
                    0 => Value::Null,
                    i if block_slots.contains(&i) => {
                        match rpc::decode::<Option<BlockNumber<'_>>>(&raw, "eth_getBlockByNumber") {
                            Ok(Some(b)) => json!({ "number": b.number }),
                            _ => Value::Null,
                        }
                    }
                    _ => serde_json::from_str(raw.get()).unwrap_or(Value::Null),
                })
            })
            .collect();
        let mut take = |i: usize| std::mem::replace(&mut values[i], Ok(Value::Null));

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
        {
            let mut finality = self.finality.lock().unwrap_or_else(|p| p.into_inner());
            if poll % FINALITY_EVERY == 1 {
                *finality = (snap.finalized_height, snap.safe_height);
            }
            (snap.finalized_height, snap.safe_height) = *finality;
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

/// The fields of `eth_getBlockByNumber` we use, borrowed from the raw answer; the
/// transaction list is counted, never materialized.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcBlock<'a> {
    number: &'a str,
    hash: &'a str,
    parent_hash: &'a str,
    timestamp: &'a str,
    #[serde(borrow, default)]
    gas_used: Option<&'a str>,
    #[serde(borrow, default)]
    gas_limit: Option<&'a str>,
    #[serde(borrow, default)]
    base_fee_per_gas: Option<&'a str>,
    #[serde(default)]
    transactions: Option<ItemCount>,
}

impl RpcBlock<'_> {
    fn block_ref(&self, method: &str) -> Result<BlockRef, ChainError> {
        let q = |field: &str, v: &str| {
            parse_quantity(v)
                .and_then(|q| u64::try_from(q).ok())
                .ok_or_else(|| decode(method, format!("{field} is not a hex quantity: {v}")))
        };
        let ts = q("timestamp", self.timestamp)?;
        Ok(BlockRef {
            number: q("number", self.number)?,
            hash: self.hash.to_ascii_lowercase(),
            parent_hash: self.parent_hash.to_ascii_lowercase(),
            timestamp: i64::try_from(ts)
                .map_err(|_| decode(method, format!("timestamp {ts} out of range")))?,
        })
    }
}

/// Just the number of a block.
#[derive(serde::Deserialize)]
struct BlockNumber<'a> {
    number: &'a str,
}

/// Counts the elements of a JSON array without keeping them.
struct ItemCount(u64);

impl<'de> serde::Deserialize<'de> for ItemCount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Counter;
        impl<'de> serde::de::Visitor<'de> for Counter {
            type Value = ItemCount;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<ItemCount, A::Error> {
                let mut n = 0;
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(ItemCount(n))
            }
        }
        d.deserialize_seq(Counter)
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
