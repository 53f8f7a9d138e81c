//! Bitcoin Core RPC adapter (bitcoind, litecoind and forks that keep the RPC surface).
//!
//! One poll is one batch of `getblockchaininfo`, `getnetworkinfo`, `getmempoolinfo` and,
//! every [`PEERS_EVERY`] polls, `getpeerinfo` and `getchaintips`. When the best block
//! changes, a second batch fetches its header and `getblockstats`.

use crate::hex::decode;
use crate::rpc::{Call, JsonRpcClient};
use crate::rpc::{str_field, u64_field};
use async_trait::async_trait;
use chainops_core::node::{BlockRef, NodeSnapshot, SyncState, TxpoolCounts};
use chainops_core::ports::{ChainAdapter, ChainError, RpcLog};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Polls between `getpeerinfo`/`getchaintips` refreshes (they can be large on mainnet).
pub const PEERS_EVERY: u64 = 5;

/// What we know about the current best block.
#[derive(Debug, Clone, Default)]
struct HeadCache {
    head: Option<BlockRef>,
    tx_count: Option<u64>,
    size: Option<u64>,
    peers_best: Option<u64>,
    fork_tips: Option<u64>,
}

/// The network names bitcoind, litecoind and dogecoind report as `chain`.
pub const NETWORKS: &[&str] = &["main", "test", "testnet4", "signet", "regtest"];

/// `kind = "bitcoin"`.
pub const KIND: chainops_core::node::NodeKind = chainops_core::node::NodeKind::new("bitcoin");

/// The Bitcoin Core family (bitcoind, litecoind, …): drills boot the daemon on the restored
/// data directory with RPC on loopback and no peers.
pub static FAMILY: crate::family::Family = crate::family::Family {
    kind: KIND,
    block_time: std::time::Duration::from_secs(600),
    lag_blocks: 2,
    poll_methods: &[],
    chain_id: crate::family::ChainIdForm::Name(NETWORKS),
    bench_workload: Some("bitcoin-transfer"),
    rpc_auth: None,
    adapter: |rpc| std::sync::Arc::new(BitcoinAdapter::new(rpc)),
    drill: Some(crate::family::DrillBoot {
        programs: &["litecoind", "bitcoind"],
        local: &[".tools/bin/litecoind", ".tools/bin/bitcoind"],
        input: |top| Ok(top.to_path_buf()),
        args: |input, rpc_port, p2p_port, network| {
            let mut a = vec![
                format!("-datadir={}", input.display()),
                format!("-rpcport={rpc_port}"),
                format!("-port={p2p_port}"),
            ];
            a.extend(
                [
                    "-rpcuser=drill",
                    "-rpcpassword=drill",
                    "-listen=0",
                    "-connect=0",
                    "-dnsseed=0",
                    "-printtoconsole=0",
                    "-rpcbind=127.0.0.1",
                    "-rpcallowip=127.0.0.1",
                    "-listenonion=0",
                    "-upnp=0",
                ]
                .map(String::from),
            );
            match network {
                Some("regtest") => a.push("-regtest".into()),
                Some("test") => a.push("-testnet".into()),
                _ => {}
            }
            a
        },
        auth: Some(("drill", "drill")),
    }),
    dump: None,
};

/// Adapter for one Bitcoin Core family node.
#[derive(Debug)]
pub struct BitcoinAdapter {
    rpc: JsonRpcClient,
    polls: AtomicU64,
    cache: Mutex<HeadCache>,
}

impl BitcoinAdapter {
    /// An adapter speaking to `rpc`.
    pub fn new(rpc: JsonRpcClient) -> Self {
        Self {
            rpc,
            polls: AtomicU64::new(0),
            cache: Mutex::new(HeadCache::default()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, HeadCache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl ChainAdapter for BitcoinAdapter {
    fn family(&self) -> &'static str {
        "bitcoin"
    }

    async fn poll(&self, log: &mut RpcLog) -> Result<NodeSnapshot, ChainError> {
        let poll = self.polls.fetch_add(1, Ordering::Relaxed) + 1;
        let mut calls = vec![
            Call::new("getblockchaininfo", json!([])),
            Call::new("getnetworkinfo", json!([])),
            Call::new("getmempoolinfo", json!([])),
        ];
        let with_peers = poll % PEERS_EVERY == 1;
        if with_peers {
            calls.push(Call::new("getpeerinfo", json!([])));
            calls.push(Call::new("getchaintips", json!([])));
        }
        let mut answers = self.rpc.batch_values(&calls, log).await?;
        let mut take = |i: usize| std::mem::replace(&mut answers[i], Ok(Value::Null));
        let info = take(0).map_err(|e| e.into_chain_error("getblockchaininfo"))?;
        let m = "getblockchaininfo";
        let blocks = u64_field(&info, m, "blocks")?;
        let best = str_field(&info, m, "bestblockhash")?.to_string();
        let headers = info.get("headers").and_then(Value::as_u64);
        let ibd = info
            .get("initialblockdownload")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let progress = info.get("verificationprogress").and_then(Value::as_f64);

        let mut snap = NodeSnapshot {
            chain_id: info
                .get("chain")
                .and_then(Value::as_str)
                .map(str::to_string),
            sync: Some(SyncState {
                syncing: headers.is_some_and(|h| h > blocks)
                    || (ibd && progress.is_some_and(|p| p < 0.9999)),
                highest_block: headers,
                progress,
            }),
            difficulty: info.get("difficulty").and_then(Value::as_f64),
            chain_db_bytes: info.get("size_on_disk").and_then(Value::as_u64),
            ..NodeSnapshot::default()
        };
        if let Ok(net) = take(1) {
            snap.peers = net.get("connections").and_then(Value::as_u64);
            snap.peers_inbound = net.get("connections_in").and_then(Value::as_u64);
            snap.peers_outbound = net.get("connections_out").and_then(Value::as_u64);
            snap.client_version = net
                .get("subversion")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        if let Ok(pool) = take(2) {
            snap.txpool = pool
                .get("size")
                .and_then(Value::as_u64)
                .map(|pending| TxpoolCounts { pending, queued: 0 });
            snap.mempool_bytes = pool.get("bytes").and_then(Value::as_u64);
        }
        let (peers_best, fork_tips) = if with_peers {
            let peers = take(3).ok().and_then(|v| {
                v.as_array().map(|ps| {
                    ps.iter()
                        .filter_map(|p| {
                            p.get("synced_headers")
                                .and_then(Value::as_i64)
                                .or_else(|| p.get("startingheight").and_then(Value::as_i64))
                        })
                        .filter(|h| *h >= 0)
                        .max()
                        .map(|h| h as u64)
                })
            });
            let tips = take(4).ok().and_then(|v| {
                v.as_array().map(|ts| {
                    ts.iter()
                        .filter(|t| t.get("status").and_then(Value::as_str) != Some("active"))
                        .count() as u64
                })
            });
            (peers.flatten(), tips)
        } else {
            let c = self.cache();
            (c.peers_best, c.fork_tips)
        };

        let cached = self.cache().clone();
        let mut fresh = HeadCache {
            peers_best,
            fork_tips,
            ..cached.clone()
        };
        if cached.head.as_ref().map(|h| h.hash.as_str()) != Some(best.as_str()) {
            let stats = json!([blocks, ["txs", "total_size"]]);
            let mut answers = self
                .rpc
                .batch_values(
                    &[
                        Call::new("getblockheader", json!([best, true])),
                        Call::new("getblockstats", stats),
                    ],
                    log,
                )
                .await?;
            let header = std::mem::replace(&mut answers[0], Ok(Value::Null))
                .map_err(|e| e.into_chain_error("getblockheader"))?;
            let head = header_ref(&header)?;
            fresh.tx_count = header.get("nTx").and_then(Value::as_u64);
            // getblockstats fails on the genesis block and on pruned history: optional.
            fresh.size = answers[1]
                .as_ref()
                .ok()
                .and_then(|s| s.get("total_size"))
                .and_then(Value::as_u64);
            if let Some(txs) = answers[1]
                .as_ref()
                .ok()
                .and_then(|s| s.get("txs"))
                .and_then(Value::as_u64)
            {
                fresh.tx_count = Some(txs);
            }
            fresh.head = Some(head);
        }
        snap.head = fresh.head.clone();
        snap.head_tx_count = fresh.tx_count;
        snap.head_size_bytes = fresh.size;
        snap.peers_best_height = fresh.peers_best;
        snap.fork_tips = fresh.fork_tips;
        *self.cache() = fresh;
        Ok(snap)
    }

    async fn block_at(&self, height: u64, log: &mut RpcLog) -> Result<BlockRef, ChainError> {
        let hash = self.rpc.call("getblockhash", json!([height]), log).await?;
        let hash = hash
            .as_str()
            .ok_or_else(|| decode("getblockhash", "hash is not a string".into()))?;
        let header = self
            .rpc
            .call("getblockheader", json!([hash, true]), log)
            .await?;
        header_ref(&header)
    }
}

fn header_ref(h: &Value) -> Result<BlockRef, ChainError> {
    let m = "getblockheader";
    Ok(BlockRef {
        number: u64_field(h, m, "height")?,
        hash: str_field(h, m, "hash")?.to_string(),
        // The genesis block has no previousblockhash.
        parent_hash: h
            .get("previousblockhash")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        timestamp: h
            .get("time")
            .and_then(Value::as_i64)
            .ok_or_else(|| decode(m, "header lacks time".into()))?,
    })
}
