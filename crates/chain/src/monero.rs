//! Monero daemon (`monerod`) adapter.
//!
//! monerod speaks JSON-RPC 2.0 at `/json_rpc` with named params and no batches, plus plain
//! JSON endpoints beside it. One poll is `get_info` (height, top hash, difficulty, peers in
//! and out, pool size, database size, sync target, network) and, when the top block
//! changed, `get_block_header_by_hash`. Every [`PROBES_EVERY`] polls the optional probes run
//! too: `sync_info` (the peers' heights), `get_alternate_chains` (competing tips) and
//! `/get_transaction_pool_stats` (pool bytes). A node started with `--restricted-rpc` refuses
//! the first two and rounds its database size up to 5 GiB: those are reported as unsupported
//! rather than as failures or as wrong numbers.

use crate::hex::decode;
use crate::probe::ProbeSupport;
use crate::rpc::JsonRpcClient;
use crate::rpc::{str_field, u64_field};
use async_trait::async_trait;
use chainops_core::node::{BlockRef, NodeSnapshot, SyncState, TxpoolCounts};
use chainops_core::ports::{ChainAdapter, ChainError, RpcLog};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Polls between runs of the optional probes (the peers' heights, alternate chains, pool
/// bytes: each walks a list that can be long on mainnet).
pub const PROBES_EVERY: u64 = 5;

const PROBES: &[&str] = &["peer_heights", "fork_tips", "mempool_bytes"];
const P_SYNC: usize = 0;
const P_ALT: usize = 1;
const P_POOL: usize = 2;

/// The network names monerod reports as `get_info.nettype` (`fakechain` is `--regtest`).
pub const NETWORKS: &[&str] = &["mainnet", "testnet", "stagenet", "fakechain"];

/// `kind = "monero"`.
pub const KIND: chainops_core::node::NodeKind = chainops_core::node::NodeKind::new("monero");

/// The Monero family: drills boot monerod offline on the restored `--data-dir` (an LMDB
/// database copied with `capture = "stop"`).
pub static FAMILY: crate::family::Family = crate::family::Family {
    kind: KIND,
    block_time: std::time::Duration::from_secs(120),
    lag_blocks: 2,
    poll_methods: &[],
    chain_id: crate::family::ChainIdForm::Name(NETWORKS),
    bench_workload: None,
    rpc_auth: Some(
        "monerod's --rpc-login uses HTTP digest authentication, which chainops does not \
         speak; bind monerod's RPC to 127.0.0.1 (or a private network) without a login, with \
         --restricted-rpc if others can reach it",
    ),
    adapter: |rpc| std::sync::Arc::new(MoneroAdapter::new(rpc)),
    drill: Some(crate::family::DrillBoot {
        programs: &["monerod"],
        local: &[".tools/bin/monerod"],
        input: data_dir,
        args: |input, rpc_port, p2p_port, network| {
            let mut a = vec![
                format!("--data-dir={}", input.display()),
                "--rpc-bind-ip=127.0.0.1".into(),
                format!("--rpc-bind-port={rpc_port}"),
                format!("--p2p-bind-port={p2p_port}"),
            ];
            a.extend(
                [
                    "--p2p-bind-ip=127.0.0.1",
                    "--offline",
                    "--no-igd",
                    "--no-zmq",
                    "--non-interactive",
                    "--log-level=0",
                ]
                .map(String::from),
            );
            match network {
                // Without --keep-fakechain, monerod wipes a regtest database on start.
                Some("fakechain") => a.extend(["--regtest".into(), "--keep-fakechain".into()]),
                Some("testnet") => a.push("--testnet".into()),
                Some("stagenet") => a.push("--stagenet".into()),
                _ => {}
            }
            a
        },
        auth: None,
    }),
    dump: None,
};

/// The `--data-dir` to boot from, given the snapshot's restored top entry: the data dir
/// itself (`lmdb/` inside; `fake/lmdb/` for `--regtest`), or its `lmdb` directory.
fn data_dir(top: &Path) -> Result<std::path::PathBuf, String> {
    let has_db = |d: &Path| d.join("data.mdb").is_file();
    if has_db(&top.join("lmdb")) || has_db(&top.join("fake").join("lmdb")) {
        return Ok(top.to_path_buf());
    }
    if has_db(top)
        && top.file_name().is_some_and(|n| n == "lmdb")
        && let Some(parent) = top.parent()
    {
        return Ok(parent.to_path_buf());
    }
    Err(format!(
        "no monerod database (lmdb/data.mdb) in {}: back up monerod's --data-dir with capture = \"stop\"",
        top.display()
    ))
}

/// What we know about the current top block.
#[derive(Debug, Clone, Default)]
struct Cache {
    head: Option<BlockRef>,
    tx_count: Option<u64>,
    size: Option<u64>,
    peers_best: Option<u64>,
    fork_tips: Option<u64>,
    pool_bytes: Option<u64>,
}

/// Adapter for one monerod.
#[derive(Debug)]
pub struct MoneroAdapter {
    /// `/json_rpc` of the node.
    rpc: JsonRpcClient,
    /// `/get_transaction_pool_stats` of the node.
    pool_stats: JsonRpcClient,
    polls: AtomicU64,
    probes: ProbeSupport,
    cache: Mutex<Cache>,
}

impl MoneroAdapter {
    /// An adapter for the node at `rpc`'s URL (any path on it is replaced by monerod's).
    pub fn new(rpc: JsonRpcClient) -> Self {
        Self {
            pool_stats: rpc.at_path("/get_transaction_pool_stats"),
            rpc: rpc.at_path("/json_rpc"),
            polls: AtomicU64::new(0),
            probes: ProbeSupport::new(PROBES),
            cache: Mutex::new(Cache::default()),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the optional probes due on `poll` and folds their answers into `c`.
    async fn probe(&self, poll: u64, c: &mut Cache, log: &mut RpcLog) {
        if poll % PROBES_EVERY != 1 {
            return;
        }
        if self.probes.should_try(P_SYNC, poll) {
            let r = self.rpc.call("sync_info", json!({}), log).await;
            if self.supported(P_SYNC, poll, &r) {
                c.peers_best = r.ok().and_then(|v| peers_best(&v));
            }
        }
        if self.probes.should_try(P_ALT, poll) {
            let r = self.rpc.call("get_alternate_chains", json!({}), log).await;
            if self.supported(P_ALT, poll, &r) {
                c.fork_tips = r.ok().map(|v| {
                    v.get("chains")
                        .and_then(Value::as_array)
                        .map_or(0, |a| a.len() as u64)
                });
            }
        }
        if self.probes.should_try(P_POOL, poll) {
            let r = self
                .pool_stats
                .post_plain("get_transaction_pool_stats", &json!({}), log)
                .await;
            let bytes = r.as_ref().ok().and_then(|v| {
                v.get("pool_stats")
                    .and_then(|p| p.get("bytes_total"))
                    .and_then(Value::as_u64)
            });
            // Answered without pool stats (an old or restricted node): unsupported.
            let supported = !(r.is_ok() && bytes.is_none());
            self.probes.record(P_POOL, poll, supported);
            c.pool_bytes = bytes;
        }
    }

    /// Records whether an answer to probe `i` says the method is unsupported; true if not.
    fn supported(&self, i: usize, poll: u64, r: &Result<Value, ChainError>) -> bool {
        let unsupported = matches!(r, Err(ChainError::Rpc { code, message, .. })
            if crate::rpc::RpcError { code: *code, message: message.clone() }.is_method_not_found());
        self.probes.record(i, poll, !unsupported);
        !unsupported
    }

    async fn header(
        &self,
        method: &'static str,
        params: Value,
        log: &mut RpcLog,
    ) -> Result<Value, ChainError> {
        let v = self.rpc.call(method, params, log).await?;
        check_status(&v, method)?;
        v.get("block_header")
            .cloned()
            .ok_or_else(|| decode(method, "no block_header in the answer".into()))
    }
}

#[async_trait]
impl ChainAdapter for MoneroAdapter {
    fn family(&self) -> &'static str {
        KIND.as_str()
    }

    async fn poll(&self, log: &mut RpcLog) -> Result<NodeSnapshot, ChainError> {
        let poll = self.polls.fetch_add(1, Ordering::Relaxed) + 1;
        let m = "get_info";
        let info = self.rpc.call(m, json!({}), log).await?;
        check_status(&info, m)?;
        // `height` counts blocks (the top block's height + 1). Answers relayed from a
        // bootstrap daemon (`untrusted`) describe that daemon's chain, not this node's.
        let untrusted = info.get("untrusted").and_then(Value::as_bool) == Some(true);
        let count = if untrusted {
            info.get("height_without_bootstrap")
                .and_then(Value::as_u64)
                .unwrap_or(0)
        } else {
            u64_field(&info, m, "height")?
        };
        let target = info
            .get("target_height")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            .max(if untrusted {
                u64_field(&info, m, "height")?
            } else {
                0
            });
        let busy = info.get("busy_syncing").and_then(Value::as_bool) == Some(true);
        let restricted = info.get("restricted").and_then(Value::as_bool) == Some(true);
        let (inbound, outbound) = (
            info.get("incoming_connections_count")
                .and_then(Value::as_u64),
            info.get("outgoing_connections_count")
                .and_then(Value::as_u64),
        );
        let mut snap = NodeSnapshot {
            chain_id: info
                .get("nettype")
                .and_then(Value::as_str)
                .map(str::to_string),
            client_version: info
                .get("version")
                .and_then(Value::as_str)
                .filter(|v| !v.is_empty())
                .map(|v| format!("monerod/{v}")),
            sync: Some(SyncState {
                syncing: busy || untrusted || target > count,
                highest_block: (target > count).then(|| target - 1),
                progress: (target > count && target > 0).then(|| count as f64 / target as f64),
            }),
            peers: inbound.zip(outbound).map(|(i, o)| i.saturating_add(o)),
            peers_inbound: inbound,
            peers_outbound: outbound,
            txpool: info
                .get("tx_pool_size")
                .and_then(Value::as_u64)
                .map(|pending| TxpoolCounts { pending, queued: 0 }),
            difficulty: difficulty(&info),
            // A restricted node rounds its database size up to 5 GiB: no number is better
            // than a wrong one.
            chain_db_bytes: (!restricted)
                .then(|| info.get("database_size").and_then(Value::as_u64))
                .flatten(),
            ..NodeSnapshot::default()
        };

        let mut c = self.cache().clone();
        self.probe(poll, &mut c, log).await;
        if count > 0 {
            let top = info
                .get("top_block_hash")
                .and_then(Value::as_str)
                .filter(|h| !h.is_empty() && !untrusted);
            let known = c.head.as_ref().map(|h| h.hash.as_str());
            let fresh = match top {
                Some(hash) if known == Some(hash) => None,
                Some(hash) => Some(
                    self.header("get_block_header_by_hash", json!({ "hash": hash }), log)
                        .await?,
                ),
                None if c.head.as_ref().and_then(|h| h.number.checked_add(1)) == Some(count) => {
                    None
                }
                None => Some(
                    self.header(
                        "get_block_header_by_height",
                        json!({ "height": count - 1 }),
                        log,
                    )
                    .await?,
                ),
            };
            if let Some(h) = fresh {
                c.head = Some(header_ref(&h)?);
                c.tx_count = h.get("num_txes").and_then(Value::as_u64);
                c.size = h.get("block_size").and_then(Value::as_u64);
            }
        }
        snap.head = c.head.clone();
        snap.head_tx_count = c.tx_count;
        snap.head_size_bytes = c.size;
        snap.peers_best_height = c.peers_best;
        snap.fork_tips = c.fork_tips;
        snap.mempool_bytes = c.pool_bytes;
        snap.unsupported = self.probes.unsupported();
        if restricted {
            snap.unsupported.push("chain_db_bytes".into());
        }
        *self.cache() = c;
        Ok(snap)
    }

    async fn block_at(&self, height: u64, log: &mut RpcLog) -> Result<BlockRef, ChainError> {
        let h = self
            .header(
                "get_block_header_by_height",
                json!({ "height": height }),
                log,
            )
            .await?;
        header_ref(&h)
    }
}

/// monerod answers some failures as a result whose `status` is not `OK` (`BUSY` while it
/// syncs, `Failed`).
fn check_status(v: &Value, method: &str) -> Result<(), ChainError> {
    match v.get("status").and_then(Value::as_str) {
        None | Some("OK") => Ok(()),
        Some(s) => Err(ChainError::Rpc {
            method: method.into(),
            code: 0,
            message: format!("status {s}"),
        }),
    }
}

/// The highest height a peer announced (`sync_info.peers[].info.height` counts blocks).
fn peers_best(v: &Value) -> Option<u64> {
    v.get("peers")?
        .as_array()?
        .iter()
        .filter_map(|p| p.get("info")?.get("height")?.as_u64())
        .max()
        .map(|count| count.saturating_sub(1))
}

/// `wide_difficulty` (`0x…`, 128 bits) or, from older daemons, `difficulty`.
fn difficulty(info: &Value) -> Option<f64> {
    info.get("wide_difficulty")
        .and_then(Value::as_str)
        .and_then(|h| u128::from_str_radix(h.strip_prefix("0x")?, 16).ok())
        .map(|d| d as f64)
        .or_else(|| info.get("difficulty").and_then(Value::as_f64))
}

fn header_ref(h: &Value) -> Result<BlockRef, ChainError> {
    let m = "get_block_header";
    Ok(BlockRef {
        number: u64_field(h, m, "height")?,
        hash: str_field(h, m, "hash")?.to_string(),
        parent_hash: h
            .get("prev_hash")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
        timestamp: h
            .get("timestamp")
            .and_then(Value::as_i64)
            .ok_or_else(|| decode(m, "header lacks timestamp".into()))?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn difficulty_reads_the_wide_form_first() {
        let v = json!({"wide_difficulty": "0x1d6e3a5c2f4b8", "difficulty": 5});
        assert_eq!(difficulty(&v), Some(0x1d6e3a5c2f4b8_u64 as f64));
        assert_eq!(difficulty(&json!({"difficulty": 7})), Some(7.0));
        assert_eq!(difficulty(&json!({"wide_difficulty": "zz"})), None);
        // Above u64: still a number.
        let big = json!({"wide_difficulty": "0x100000000000000000"});
        assert_eq!(difficulty(&big), Some(2f64.powi(68)));
    }

    #[test]
    fn peer_heights_are_counts_and_odd_peers_are_skipped() {
        let v = json!({"peers": [
            {"info": {"height": 101}}, {"info": {"height": "x"}}, {"nothing": 1}, {"info": {"height": 99}}
        ]});
        assert_eq!(peers_best(&v), Some(100));
        assert_eq!(peers_best(&json!({"peers": []})), None);
        assert_eq!(peers_best(&json!({})), None);
    }

    #[test]
    fn a_non_ok_status_is_an_error_naming_it() {
        assert!(check_status(&json!({"status": "OK"}), "get_info").is_ok());
        let e = check_status(&json!({"status": "BUSY"}), "get_info").expect_err("busy");
        assert!(e.to_string().contains("BUSY"), "{e}");
    }

    #[test]
    fn the_drill_finds_the_data_dir_in_each_layout() {
        let t = tempfile::tempdir().expect("tempdir");
        let main = t.path().join("main");
        std::fs::create_dir_all(main.join("lmdb")).expect("mkdir");
        std::fs::write(main.join("lmdb/data.mdb"), b"x").expect("write");
        assert_eq!(data_dir(&main), Ok(main.clone()));
        assert_eq!(data_dir(&main.join("lmdb")), Ok(main.clone()));
        let reg = t.path().join("reg");
        std::fs::create_dir_all(reg.join("fake/lmdb")).expect("mkdir");
        std::fs::write(reg.join("fake/lmdb/data.mdb"), b"x").expect("write");
        assert_eq!(data_dir(&reg), Ok(reg.clone()));
        let e = data_dir(t.path()).expect_err("nothing there");
        assert!(e.contains("lmdb/data.mdb"), "{e}");
    }
}
