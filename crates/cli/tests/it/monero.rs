//! The Monero family against real monerod (Debian's `monero`), `--regtest --offline
//! --fixed-difficulty 1`, mined with `generateblocks`: height rises, a halt stalls, a kill is
//! down; a `--restricted-rpc` node reports what it refuses as unsupported; a managed monerod
//! is backed up stopped and its drill boots the snapshot on the recorded head.

use crate::harness::*;
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(60);
/// Any valid mainnet address: `--regtest` (fakechain) accepts mainnet addresses.
const PAYOUT: &str = "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A";

fn monerod_bin() -> PathBuf {
    tool("monerod", "CHAINOPS_TEST_MONEROD", ".tools/bin/monerod")
}

/// The arguments of an offline regtest monerod on `rpc_port`.
fn monerod_args(data: &Path, rpc_port: u16, restricted: bool) -> Vec<String> {
    let mut a = vec![
        "--regtest".to_string(),
        // Keep the chain across restarts (a regtest database is wiped on start otherwise).
        "--keep-fakechain".into(),
        "--offline".into(),
        "--fixed-difficulty=1".into(),
        format!("--data-dir={}", data.display()),
        "--rpc-bind-ip=127.0.0.1".into(),
        format!("--rpc-bind-port={rpc_port}"),
        "--p2p-bind-ip=127.0.0.1".into(),
        format!("--p2p-bind-port={}", free_port()),
        "--no-igd".into(),
        "--no-zmq".into(),
        "--non-interactive".into(),
        "--log-level=0".into(),
    ];
    if restricted {
        a.push("--restricted-rpc".into());
    }
    a
}

struct Monerod {
    proc: Proc,
    port: u16,
}

impl Monerod {
    fn start(data: &Path, restricted: bool) -> Monerod {
        let port = free_port();
        let child = Command::new(monerod_bin())
            .args(monerod_args(data, port, restricted))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn monerod");
        let node = Monerod {
            proc: Proc {
                child,
                name: "monerod".into(),
            },
            port,
        };
        wait_for("monerod RPC", T, || {
            try_json_rpc(port, "get_info", json!({})).filter(|v| v["status"] == "OK")
        });
        node
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

fn try_json_rpc(port: u16, method: &str, params: Value) -> Option<Value> {
    let body = json!({"jsonrpc": "2.0", "id": "0", "method": method, "params": params});
    let v: Value = http()
        .post(format!("http://127.0.0.1:{port}/json_rpc"))
        .json(&body)
        .send()
        .ok()?
        .json()
        .ok()?;
    v.get("result").cloned()
}

fn json_rpc(port: u16, method: &str, params: Value) -> Value {
    try_json_rpc(port, method, params).unwrap_or_else(|| panic!("monerod {method} failed"))
}

/// Mines `n` blocks; returns the new top block's hash.
fn mine(port: u16, n: u64) -> String {
    let r = json_rpc(
        port,
        "generateblocks",
        json!({"amount_of_blocks": n, "wallet_address": PAYOUT}),
    );
    r["blocks"]
        .as_array()
        .and_then(|b| b.last())
        .and_then(Value::as_str)
        .expect("mined block hashes")
        .to_string()
}

fn xmr_node(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[nodes]]\nname = \"{name}\"\nchain = \"xmr-regtest\"\nkind = \"monero\"\nrpc_url = \"{url}\"\nchain_id = \"fakechain\"\nblock_time = \"2s\"\ntimeout = \"3s\"\npoll_interval = \"500ms\"\n{extra}\n"
    )
}

#[test]
fn monerod_height_rises_a_halt_stalls_a_kill_is_down_and_restricted_rpc_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut full = Monerod::start(&dir.path().join("full"), false);
    let restricted = Monerod::start(&dir.path().join("restricted"), true);
    let top = mine(full.port, 5);
    // (A restricted node refuses generateblocks: it stays at its genesis block.)
    let anvil = Anvil::start(&[]);
    let cfg = format!(
        "{}{}{}",
        evm_node("anvil-1", &anvil.url(), ""),
        xmr_node("xmr-1", &full.url(), "stall_after = \"6s\""),
        // The restricted node's URL names the JSON-RPC path: either form works.
        xmr_node(
            "xmr-r",
            &format!("{}/json_rpc", restricted.url()),
            "stall_after = \"1h\""
        ),
    );
    let d = Daemon::start(dir.path(), &cfg);

    let n = d.wait_node("xmr-1", "height 5", T, |n| n["height"] == 5);
    assert_eq!(n["kind"], "monero");
    assert_eq!(n["head_hash"], top.as_str());
    assert_eq!(n["chain_id"], "fakechain");
    assert_eq!(n["difficulty"], 1.0, "{n:#}");
    assert_eq!(n["peers"], 0);
    assert!(n["chain_db_bytes"].as_u64() > Some(0), "{n:#}");
    assert!(
        n["client_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("monerod/0.")),
        "{n:#}"
    );
    assert_eq!(n["syncing"], false);
    // Height rises with new blocks, and the block interval is measured.
    let top = mine(full.port, 2);
    let n = d.wait_node("xmr-1", "height 7", T, |n| n["height"] == 7);
    assert_eq!(n["head_hash"], top.as_str());
    assert!(
        n["unsupported"].as_array().is_some_and(|u| u.is_empty()),
        "{n:#}"
    );

    // The restricted node is up; what it refuses is unsupported, not an error or a wrong
    // (rounded) database size.
    let r = d.wait_node("xmr-r", "restricted node probed", T, |n| {
        n["height"] == 0 && n["unsupported"].as_array().is_some_and(|u| u.len() >= 3)
    });
    assert_eq!(r["up"], true, "{r:#}");
    let unsupported: Vec<&str> = r["unsupported"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for probe in ["peer_heights", "fork_tips", "chain_db_bytes"] {
        assert!(unsupported.contains(&probe), "{probe}: {r:#}");
    }
    assert!(r["chain_db_bytes"].is_null(), "{r:#}");

    let text = d.metrics();
    let l = [("node", "xmr-1")];
    assert_eq!(metric_value(&text, "chainops_block_height", &l), Some(7.0));
    assert_eq!(metric_value(&text, "chainops_difficulty", &l), Some(1.0));
    assert_eq!(metric_value(&text, "chainops_peers_inbound", &l), Some(0.0));
    assert_eq!(
        metric_value(&text, "chainops_peers_outbound", &l),
        Some(0.0)
    );
    assert!(metric_value(&text, "chainops_chain_db_bytes", &l) > Some(0.0));
    assert_eq!(
        metric_value(
            &text,
            "chainops_txpool_transactions",
            &[("node", "xmr-1"), ("state", "pending")]
        ),
        Some(0.0)
    );
    assert!(
        metric_value(&text, "chainops_chain_db_bytes", &[("node", "xmr-r")]).is_none(),
        "a restricted node's rounded size is not exported"
    );
    // One fleet across families: each chain with its family, quorum and lag distribution;
    // the console's fleet page is headed by the same summaries.
    d.wait_node("anvil-1", "anvil ok", T, |n| n["status"] == "ok");
    let chains = d.json("/api/v1/chains");
    let chains = chains.as_array().expect("chains");
    assert_eq!(chains.len(), 2, "{chains:#?}");
    let (dev, xmr) = (&chains[0], &chains[1]);
    assert_eq!(dev["chain"], "devnet");
    assert_eq!(dev["families"], json!(["evm"]));
    assert_eq!(dev["quorum"], true, "{dev:#}");
    assert_eq!(dev["backups"]["state"], "none");
    assert_eq!(xmr["chain"], "xmr-regtest");
    assert_eq!(xmr["families"], json!(["monero"]));
    assert_eq!(xmr["nodes"], 2);
    assert_eq!(xmr["endpoints_up"], 2);
    assert_eq!(xmr["best_height"], 7);
    // xmr-r sits 7 blocks behind on an old genesis head: not ok, so one of two is no majority.
    assert_eq!(xmr["statuses"]["ok"], 1, "{xmr:#}");
    assert_eq!(xmr["quorum"], false);
    assert_eq!(xmr["lag"]["max"], 7);
    let buckets: Vec<(String, u64)> = xmr["lag"]["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| {
            (
                b["blocks"].as_str().unwrap_or("").to_string(),
                b["nodes"].as_u64().unwrap_or(9),
            )
        })
        .collect();
    assert_eq!(buckets[0], ("0".to_string(), 1));
    assert_eq!(buckets[2], ("3-10".to_string(), 1));
    let page = d.get("/").text().expect("fleet page");
    assert!(
        page.contains("xmr-regtest") && page.contains("monero"),
        "fleet page"
    );
    assert!(page.contains("class=\"lagbar\""), "the lag bar is drawn");

    let s = d.json("/api/v1/series?node=xmr-1&metric=difficulty&from=now-5m");
    assert!(s["points"].as_array().is_some_and(|p| !p.is_empty()), "{s}");

    // No new blocks: stalled once the head is older than stall_after.
    let n = d.wait_node("xmr-1", "status stalled", T, |n| n["status"] == "stalled");
    assert_eq!(n["up"], true);
    // Mining again: ok.
    mine(full.port, 1);
    d.wait_node("xmr-1", "ok again", T, |n| n["status"] == "ok");
    // Killed: down, with the reason.
    full.proc.signal(Signal::SIGKILL);
    let _ = full.proc.child.wait();
    let n = d.wait_node("xmr-1", "status down", T, |n| n["status"] == "down");
    assert!(
        n["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{n}"
    );
}

#[test]
fn a_managed_monerod_is_backed_up_stopped_and_its_drill_boots_on_the_recorded_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("xmr-data");
    let port = free_port();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "pw\n").expect("password file");
    let args = monerod_args(&data, port, false)
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    let node = xmr_node(
        "xmr-managed",
        &format!("http://127.0.0.1:{port}"),
        &format!(
            "stall_after = \"1h\"\nmanaged = true\ncommand = \"{}\"\nargs = [{args}]\n",
            monerod_bin().display()
        ),
    );
    let config = format!(
        "{node}[[backups]]\nname = \"xmr\"\nnode = \"xmr-managed\"\nschedule = \"*/10 * * * * *\"\ncapture = \"stop\"\npaths = [\"{data}\"]\nrepo = \"{repo}\"\npassword_file = \"{pw}\"\ndrill_schedule = \"*/15 * * * * *\"\ndrill_command = \"{bin}\"\n",
        data = data.display(),
        repo = dir.path().join("repo").display(),
        pw = pw.display(),
        bin = monerod_bin().display(),
    );
    let d = Daemon::start(dir.path(), &config);
    d.wait_node("xmr-managed", "managed monerod up", T, |n| {
        n["up"] == true && n["managed"]["pid"].is_u64()
    });
    // Retried: a scheduled backup may be holding the node stopped for a moment.
    wait_for("8 blocks mined", T, || {
        try_json_rpc(
            port,
            "generateblocks",
            json!({"amount_of_blocks": 8, "wallet_address": PAYOUT}),
        )
    });
    d.wait_node("xmr-managed", "height 8", T, |n| {
        n["height"].as_u64() >= Some(8)
    });

    let runs = |d: &Daemon| -> Vec<Value> {
        d.json("/api/v1/backups/runs?job=xmr&limit=100")["runs"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let drill = wait_for(
        "a drill of a stopped-node backup",
        Duration::from_secs(120),
        || {
            runs(&d)
                .into_iter()
                .find(|r| r["kind"] == "drill" && r["detail"]["height"].as_u64() >= Some(8))
        },
    );
    let backup = runs(&d)
        .into_iter()
        .find(|r| r["kind"] == "backup" && r["ok"] == true)
        .expect("a backup");
    assert_eq!(backup["detail"]["mode"], "stopped", "{backup}");
    assert_eq!(drill["ok"], true, "{drill}");
    assert_eq!(
        drill["detail"]["expected_hash"],
        drill["detail"]["found_hash"]
    );
    let chains = d.json("/api/v1/chains");
    assert_eq!(chains[0]["backups"]["jobs"], 1, "{chains:#}");
    assert!(
        chains[0]["backups"]["last_success"].is_string(),
        "{chains:#}"
    );
    // The node runs again after the copy, on the same chain.
    let n = d.wait_node("xmr-managed", "running again", T, |n| n["up"] == true);
    assert!(n["height"].as_u64() >= Some(8), "{n}");
}
