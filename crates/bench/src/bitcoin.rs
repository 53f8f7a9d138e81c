//! The Bitcoin-family side (Bitcoin Core, litecoind): raw transactions spending wallet UTXOs.
//!
//! Preparation splits wallet funds into one small UTXO per planned transaction (a `sendmany`
//! fan-out, confirmed before use), then builds and signs a 1-in-1-out transaction for each
//! with the node's wallet (`signrawtransactionwithwallet`). The send loop only calls
//! `sendrawtransaction`. On regtest, `mine_interval` mines blocks so the load confirms.

use crate::BenchError;
use crate::report::TargetInfo;
use crate::runner::{Progress, RunOptions, Session, Source};
use crate::target::{Block, ChainView, Prepared, call_value, parse_txid};
use chainops_chain::rpc::{Call, JsonRpcClient};
use chainops_core::ports::RpcLog;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Value of each prepared UTXO (coins).
const OUTPUT: f64 = 0.001;
/// Fee of each load transaction (coins; ~110 vbytes at 90 sat/vB).
const FEE: f64 = 0.0001;
/// Outputs per fan-out transaction.
const FAN_OUT: usize = 400;

/// A Bitcoin-family node.
#[derive(Debug, Clone)]
pub struct Bitcoin {
    rpc: JsonRpcClient,
}

impl Bitcoin {
    /// Wraps a client.
    pub fn new(rpc: JsonRpcClient) -> Self {
        Self { rpc }
    }

    async fn call(&self, method: &'static str, params: Value) -> Result<Value, BenchError> {
        call_value(&self.rpc, method, params)
            .await
            .map_err(|e| BenchError::node(method, e))
    }

    async fn batch(&self, what: &str, calls: &[Call]) -> Result<Vec<Value>, BenchError> {
        let mut out = Vec::with_capacity(calls.len());
        for chunk in calls.chunks(500) {
            let mut log = RpcLog::default();
            for a in self
                .rpc
                .batch_values(chunk, &mut log)
                .await
                .map_err(|e| BenchError::node(what, e))?
            {
                out.push(a.map_err(|e| BenchError::node(what, e.message))?);
            }
        }
        Ok(out)
    }

    async fn mine(&self, blocks: u64, address: &str) -> Result<(), BenchError> {
        self.call("generatetoaddress", json!([blocks, address]))
            .await
            .map(|_| ())
    }
}

#[async_trait::async_trait]
impl ChainView for Bitcoin {
    async fn head(&self) -> Result<u64, String> {
        let v = call_value(&self.rpc, "getblockcount", json!([])).await?;
        v.as_u64().ok_or_else(|| format!("getblockcount: {v}"))
    }

    async fn blocks(&self, from: u64, to: u64, _receipts: bool) -> Result<Vec<Block>, String> {
        let hashes: Vec<Call> = (from..=to)
            .map(|h| Call::new("getblockhash", json!([h])))
            .collect();
        let mut log = RpcLog::default();
        let hashes = self
            .rpc
            .batch_values(&hashes, &mut log)
            .await
            .map_err(|e| e.to_string())?;
        let calls: Vec<Call> = hashes
            .into_iter()
            .map(|h| {
                h.map(|h| Call::new("getblock", json!([h, 1])))
                    .map_err(|e| e.message)
            })
            .collect::<Result<_, _>>()?;
        let blocks = self
            .rpc
            .batch_values(&calls, &mut log)
            .await
            .map_err(|e| e.to_string())?;
        blocks
            .into_iter()
            .map(|b| {
                let b = b.map_err(|e| e.message)?;
                Ok(Block {
                    number: b["height"].as_u64().unwrap_or(0),
                    timestamp: b["time"].as_u64().unwrap_or(0),
                    txs: b["tx"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .filter_map(|t| t.as_str().and_then(parse_txid))
                                .collect()
                        })
                        .unwrap_or_default(),
                    ..Block::default()
                })
            })
            .collect()
    }

    async fn pool_depth(&self) -> Option<u64> {
        let v = call_value(&self.rpc, "getmempoolinfo", json!([]))
            .await
            .ok()?;
        v["size"].as_u64()
    }

    fn rpc(&self) -> &JsonRpcClient {
        &self.rpc
    }
}

struct BitcoinSource {
    node: Bitcoin,
    mine_to: Option<String>,
    progress: Arc<dyn Progress>,
}

#[async_trait::async_trait]
impl Source for BitcoinSource {
    async fn produce(&mut self, n: usize) -> Result<Vec<Prepared>, BenchError> {
        self.progress.phase(&format!(
            "splitting wallet funds into {n} outputs and signing"
        ));
        prepare(&self.node, n, self.mine_to.as_deref()).await
    }

    fn may_revert(&self) -> bool {
        false
    }
}

/// Builds `n` signed 1-in-1-out transactions from fresh wallet UTXOs.
async fn prepare(
    node: &Bitcoin,
    n: usize,
    mine_to: Option<&str>,
) -> Result<Vec<Prepared>, BenchError> {
    let balance = node
        .call("getbalance", json!([]))
        .await?
        .as_f64()
        .unwrap_or(0.0);
    let need = n as f64 * OUTPUT + (n / FAN_OUT + 1) as f64 * 0.01;
    if balance < need {
        return Err(BenchError::Prepare(format!(
            "the node's wallet holds {balance} coins; {n} transactions need {need:.4} (fund it, or on regtest mine 101 blocks to a wallet address)"
        )));
    }
    let addr_calls: Vec<Call> = (0..2 * n)
        .map(|_| Call::new("getnewaddress", json!([])))
        .collect();
    let addrs: Vec<String> = node
        .batch("getnewaddress", &addr_calls)
        .await?
        .into_iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let (inputs, outputs) = addrs.split_at(n);
    let mut fan_txids = Vec::new();
    for chunk in inputs.chunks(FAN_OUT) {
        let amounts: serde_json::Map<String, Value> =
            chunk.iter().map(|a| (a.clone(), json!(OUTPUT))).collect();
        let txid = node.call("sendmany", json!(["", amounts])).await?;
        fan_txids.push(txid);
    }
    // The outputs must confirm: spending 400 unconfirmed outputs of one parent breaks the
    // mempool's descendant limit (25).
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        if let Some(to) = mine_to {
            node.mine(1, to).await?;
        }
        let utxos = node
            .call("listunspent", json!([1, 9_999_999, inputs]))
            .await?;
        let list = utxos.as_array().cloned().unwrap_or_default();
        if list.len() >= n {
            return sign_spends(node, &list[..n], outputs).await;
        }
        if Instant::now() > deadline {
            return Err(BenchError::Prepare(
                "the fan-out transaction did not confirm within 10 minutes; on regtest set --mine-interval".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(if mine_to.is_some() {
            100
        } else {
            2000
        }))
        .await;
    }
}

async fn sign_spends(
    node: &Bitcoin,
    utxos: &[Value],
    outputs: &[String],
) -> Result<Vec<Prepared>, BenchError> {
    let create: Vec<Call> = utxos
        .iter()
        .zip(outputs)
        .map(|(u, to)| {
            let amount = ((u["amount"].as_f64().unwrap_or(OUTPUT) - FEE) * 1e8).round() / 1e8;
            Call::new(
                "createrawtransaction",
                json!([[{"txid": u["txid"], "vout": u["vout"]}], {to: amount}]),
            )
        })
        .collect();
    let unsigned = node.batch("createrawtransaction", &create).await?;
    let sign: Vec<Call> = unsigned
        .into_iter()
        .map(|h| Call::new("signrawtransactionwithwallet", json!([h])))
        .collect();
    let signed = node.batch("signrawtransactionwithwallet", &sign).await?;
    let hexes: Vec<Value> = signed
        .iter()
        .map(|s| {
            if s["complete"] == true {
                Ok(s["hex"].clone())
            } else {
                Err(BenchError::Prepare(format!(
                    "the wallet could not sign a spend: {}",
                    s["errors"]
                )))
            }
        })
        .collect::<Result<_, _>>()?;
    let decode: Vec<Call> = hexes
        .iter()
        .map(|h| Call::new("decoderawtransaction", json!([h])))
        .collect();
    let decoded = node.batch("decoderawtransaction", &decode).await?;
    hexes
        .into_iter()
        .zip(decoded)
        .map(|(hex, d)| {
            let id = d["txid"]
                .as_str()
                .and_then(parse_txid)
                .ok_or_else(|| BenchError::Prepare("decoderawtransaction: no txid".into()))?;
            Ok(Prepared {
                call: Call::new("sendrawtransaction", json!([hex])),
                id: Some(id),
            })
        })
        .collect()
}

/// Connects and prepares a Bitcoin-family run (the wallet must be loaded and funded).
pub async fn session(
    rpc: JsonRpcClient,
    opts: &RunOptions,
    progress: Arc<dyn Progress>,
) -> Result<Session, BenchError> {
    let node = Bitcoin::new(rpc);
    let info = node.call("getblockchaininfo", json!([])).await?;
    let chain = info["chain"].as_str().unwrap_or("unknown").to_string();
    let client = node
        .call("getnetworkinfo", json!([]))
        .await
        .ok()
        .and_then(|v| v["subversion"].as_str().map(str::to_string))
        .unwrap_or_default();
    let mut background = Vec::new();
    let mine_to = match opts.mine_interval {
        Some(every) => {
            if chain != "regtest" {
                return Err(BenchError::Input(format!(
                    "mine_interval only works on regtest; this node is on {chain}"
                )));
            }
            let addr = node.call("getnewaddress", json!([])).await?;
            let addr = addr.as_str().unwrap_or_default().to_string();
            let miner = node.clone();
            let to = addr.clone();
            background.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    if let Err(e) = miner.mine(1, &to).await {
                        tracing::warn!(error = %e, "regtest miner");
                    }
                }
            }));
            Some(addr)
        }
        None => None,
    };
    let source = BitcoinSource {
        node: node.clone(),
        mine_to,
        progress,
    };
    Ok(Session {
        view: Arc::new(node),
        source: Box::new(source),
        target: TargetInfo {
            url: opts.url.clone(),
            kind: "bitcoin".into(),
            chain,
            client,
        },
        background,
    })
}
