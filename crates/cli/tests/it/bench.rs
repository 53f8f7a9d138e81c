//! Given real nodes (anvil with 1 s blocks, litecoind regtest), `chainops bench run` counts
//! what the chain included, orders its percentiles, names a halted chain as the cause, and
//! refuses bad input clearly.

use crate::harness::*;
use crate::litecoin::{AUTH, Litecoind};
use serde_json::{Value, json};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn chainops(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args(args)
        .args(["--log-level", "warn"])
        .output()
        .expect("run chainops")
}

fn report(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "bench failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON report on stdout")
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

fn assert_ordered(l: &Value) {
    let keys = ["min", "p50", "p90", "p95", "p99", "max"];
    for w in keys.windows(2) {
        assert!(f(&l[w[0]]) <= f(&l[w[1]]), "{} > {} in {l}", w[0], w[1]);
    }
    assert!(f(&l["min"]) > 0.0, "{l}");
}

fn tx_count(anvil: &Anvil, n: u64) -> u64 {
    let b = anvil.rpc("eth_getBlockByNumber", json!([format!("0x{n:x}"), false]));
    b["transactions"].as_array().expect("txs").len() as u64
}

#[test]
fn fixed_rate_transfers_are_all_confirmed_and_match_the_chain() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let html = dir.path().join("r.html");
    let pid = anvil.proc.pid().to_string();
    let out = chainops(&[
        "bench",
        "run",
        "--rpc",
        &anvil.url(),
        "--workload",
        "eth-transfer",
        "--rate",
        "400",
        "--count",
        "2000",
        "--node-pid",
        &pid,
        "--json",
        "--html",
        html.to_str().expect("utf8"),
    ]);
    let r = report(&out);
    assert_eq!(r["submitted"], 2000, "{r}");
    assert_eq!(r["confirmed"], 2000);
    assert_eq!(r["failed"], 0);
    assert!(
        f(&r["throughput"]) > 200.0,
        "throughput {}",
        r["throughput"]
    );
    for k in ["p50", "p95", "p99"] {
        assert!(r[k].is_number(), "top-level {k}");
    }
    assert!(f(&r["p50"]) <= f(&r["p95"]) && f(&r["p95"]) <= f(&r["p99"]));
    let round = &r["rounds"][0];
    assert_ordered(&round["latency"]);
    assert_ordered(&round["confirmation_latency"]);
    // Counted by inclusion: the blocks of the run hold exactly our transactions.
    let blocks = round["blocks"].as_array().expect("blocks");
    let ours: u64 = blocks
        .iter()
        .map(|b| b["ours"].as_u64().expect("ours"))
        .sum();
    assert_eq!(ours, 2000);
    let chain_total: u64 = blocks
        .iter()
        .map(|b| tx_count(&anvil, b["number"].as_u64().expect("number")))
        .sum();
    assert_eq!(chain_total, 2000, "sum of transactions in the run's blocks");
    assert!(round["node_process"]["rss_max_bytes"].as_u64() > Some(1 << 20));
    assert_eq!(
        round["bottleneck"]["primary"], "none",
        "{}",
        round["bottleneck"]
    );
    let page = std::fs::read_to_string(&html).expect("html report");
    assert!(page.contains("<svg") && page.contains("Inclusion latency distribution"));
    assert!(!page.contains("<script"), "self-contained, no scripts");
}

#[test]
fn halted_chain_is_named_and_the_run_ends_by_its_time_bound() {
    let anvil = Anvil::start(&[]);
    let url = anvil.url();
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args([
            "bench",
            "run",
            "--rpc",
            &url,
            "--rate",
            "100",
            "--duration",
            "8s",
            "--drain-timeout",
            "3s",
            "--json",
            "--log-level",
            "warn",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn bench");
    // Let some blocks through, then halt mining.
    wait_for("the run to send", Duration::from_secs(30), || {
        let pool = anvil.rpc("txpool_status", json!([]));
        (pool["pending"].as_str().is_some_and(|p| p != "0x0")).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    anvil.rpc("evm_setIntervalMining", json!([0]));
    let out = child.wait_with_output().expect("bench output");
    let elapsed = started.elapsed();
    let r = report(&out);
    let round = &r["rounds"][0];
    assert!(
        r["confirmed"].as_u64() > Some(0),
        "some confirmed before the halt: {r}"
    );
    assert!(
        round["unconfirmed"].as_u64() > Some(100),
        "stalled confirmations: {round}"
    );
    assert_eq!(
        round["bottleneck"]["primary"], "block_stalled",
        "{}",
        round["bottleneck"]
    );
    let summary = round["bottleneck"]["summary"].as_str().expect("summary");
    assert!(summary.contains("no new block"), "{summary}");
    // 8 s of sending + 3 s drain + preparation; never waits for the missing blocks.
    assert!(elapsed < Duration::from_secs(25), "took {elapsed:?}");
    let series = round["series"].as_array().expect("series");
    let last = series.last().expect("samples");
    assert!(last["outstanding"].as_u64() > Some(100), "{last}");
}

#[test]
fn a_small_erc20_run_with_many_senders_funds_the_token_owner() {
    // The owner pays for the deployment and one token transfer per sender; a small plan's
    // per-sender share did not cover that ("Insufficient funds", found by bench/smoke.sh).
    let anvil = Anvil::start(&[]);
    let r = report(&chainops(&[
        "bench",
        "run",
        "--rpc",
        &anvil.url(),
        "--workload",
        "erc20-transfer",
        "--rate",
        "50",
        "--count",
        "40",
        "--senders",
        "200",
        "--json",
    ]));
    assert_eq!(r["confirmed"], 40, "{r}");
}

#[test]
fn erc20_read_and_rate_controls_run() {
    let anvil = Anvil::start(&[]);
    let url = anvil.url();
    let r = report(&chainops(&[
        "bench",
        "run",
        "--rpc",
        &url,
        "--workload",
        "erc20-transfer",
        "--rate",
        "150",
        "--count",
        "300",
        "--senders",
        "16",
        "--json",
    ]));
    assert_eq!(r["confirmed"], 300, "{r}");
    assert_eq!(r["workload"], "erc20-transfer");
    let r = report(&chainops(&[
        "bench",
        "run",
        "--rpc",
        &url,
        "--workload",
        "read",
        "--rate",
        "300",
        "--count",
        "300",
        "--json",
    ]));
    assert_eq!(r["confirmed"], 300, "{r}");
    assert!(
        f(&r["p99"]) < 1.0,
        "reads answer without waiting for blocks: {}",
        r["p99"]
    );

    // Rounds from a config file: a ramp, a closed loop and a max-rate search.
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bench.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[bench]
rpc_url = "{url}"
senders = 32

[[bench.rounds]]
label = "ramp"
rate_control = "linear-ramp"
start_tps = 50
end_tps = 250
count = 450

[[bench.rounds]]
label = "backlog"
backlog = 100
duration = "3s"

[[bench.rounds]]
label = "burst"
rate_control = "composite"
phases = [{{ tps = 100, duration = "2s" }}, {{ tps = 300, duration = "1s" }}]

[[bench.rounds]]
label = "search"
rate_control = "max-rate"
start_tps = 100
step_tps = 100
max_tps = 300
duration = "2s"
"#
        ),
    )
    .expect("config");
    let r = report(&chainops(&[
        "--config",
        cfg.to_str().expect("utf8"),
        "bench",
        "run",
        "--json",
    ]));
    let rounds = r["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 4, "{r}");
    assert_eq!(rounds[0]["confirmed"], 450);
    assert_eq!(rounds[0]["rate_control"]["kind"], "linear-ramp");
    assert!(rounds[1]["confirmed"].as_u64() > Some(100), "{}", rounds[1]);
    // 2 s at 100/s then 1 s at 300/s.
    let burst = &rounds[2];
    assert_eq!(burst["rate_control"]["kind"], "composite");
    let sent = burst["submitted"].as_u64().expect("submitted");
    assert!((490..=500).contains(&sent), "composite sent {sent}");
    assert_eq!(burst["confirmed"], burst["submitted"]);
    let steps = rounds[3]["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 3, "{}", rounds[3]);
    assert_eq!(rounds[3]["max_sustained_tps"], 300.0);

    // compare: B vs A as a table and as JSON.
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    std::fs::write(&a, serde_json::to_string(&r).expect("json")).expect("write");
    let r2 = report(&chainops(&[
        "bench", "run", "--rpc", &url, "--rate", "200", "--count", "200", "--json",
    ]));
    std::fs::write(&b, serde_json::to_string(&r2).expect("json")).expect("write");
    let out = chainops(&[
        "bench",
        "compare",
        a.to_str().expect("utf8"),
        b.to_str().expect("utf8"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("throughput") && text.contains("latency_p95"),
        "{text}"
    );
    let out = chainops(&[
        "bench",
        "compare",
        a.to_str().expect("utf8"),
        b.to_str().expect("utf8"),
        "--json",
    ]);
    let c: Value = serde_json::from_slice(&out.stdout).expect("compare json");
    assert!(
        c["metrics"]
            .as_array()
            .expect("metrics")
            .iter()
            .any(|m| m["metric"] == "throughput")
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &["bench", "run", "--rate", "10", "--count", "5"],
            2,
            "no target",
        ),
        (
            &[
                "bench",
                "run",
                "--rpc",
                "http://127.0.0.1:9",
                "--rate=-5",
                "--count",
                "5",
            ],
            2,
            "--rate -5 is out of range",
        ),
        (
            &["bench", "run", "--rpc", "http://127.0.0.1:9", "--rate", "5"],
            2,
            "count",
        ),
        (
            &[
                "bench", "run", "--rpc", "ftp://x", "--rate", "5", "--count", "5",
            ],
            2,
            "http",
        ),
        (
            &[
                "bench",
                "run",
                "--rpc",
                "http://127.0.0.1:9",
                "--workload",
                "mint",
                "--rate",
                "5",
                "--count",
                "5",
            ],
            2,
            "eth-transfer",
        ),
        (
            &[
                "bench",
                "run",
                "--rpc",
                "http://127.0.0.1:9",
                "--rate",
                "5",
                "--count",
                "5",
            ],
            6,
            "eth_chainId",
        ),
        (
            &[
                "bench",
                "compare",
                "/nonexistent/a.json",
                "/nonexistent/b.json",
            ],
            1,
            "cannot read report",
        ),
    ];
    for (args, code, needle) in cases {
        let out = chainops(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {err}");
        assert!(
            err.contains(needle),
            "{args:?}: expected {needle:?} in {err}"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("x.json");
    std::fs::write(&bogus, "{\"hello\": 1}").expect("write");
    let p = bogus.to_str().expect("utf8");
    let out = chainops(&["bench", "compare", p, p]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a chainops bench report"));
}

#[test]
fn litecoind_regtest_raw_transactions_confirm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = Litecoind::start_opts(&dir.path().join("ltc"), "raw(51)", true);
    node.rpc("createwallet", json!(["bench"]));
    let addr = node.rpc("getnewaddress", json!([]));
    node.rpc("generatetoaddress", json!([101, addr]));
    let out = Command::new(env!("CARGO_BIN_EXE_chainops"))
        .args([
            "bench",
            "run",
            "--rpc",
            &node.url(),
            "--kind",
            "bitcoin",
            "--rpc-user",
            AUTH.0,
            "--rate",
            "20",
            "--count",
            "40",
            "--mine-interval",
            "1s",
            "--json",
            "--log-level",
            "warn",
        ])
        .env("CHAINOPS_BENCH_RPC_PASSWORD", AUTH.1)
        .output()
        .expect("bench");
    let r = report(&out);
    assert_eq!(r["workload"], "bitcoin-transfer");
    assert_eq!(r["target"]["chain"], "regtest");
    assert_eq!(r["confirmed"], 40, "{r}");
    assert_ordered(&r["rounds"][0]["latency"]);
    // The chain agrees: every block of the run holds our transactions (+ coinbase).
    let blocks = r["rounds"][0]["blocks"].as_array().expect("blocks");
    let ours: u64 = blocks
        .iter()
        .map(|b| b["ours"].as_u64().expect("ours"))
        .sum();
    assert_eq!(ours, 40);
}

/// eth-abi (the encoder web3.py uses, from PyPI into `.tools/ethabi`) encodes `args` of
/// `sig` with keccak for the selector: an independent check of our calldata.
fn eth_abi_calldata(sig: &str, py_args: &str) -> String {
    let types = sig
        .split_once('(')
        .map(|(_, rest)| rest.trim_end_matches(')'))
        .expect("signature");
    let script = format!(
        "from eth_abi import encode\nfrom eth_hash.auto import keccak\nimport json\n\
         types = json.loads({types:?})\n\
         print('0x' + keccak({sig:?}.encode())[:4].hex() + encode(types, {py_args}).hex())",
        types = serde_json::to_string(&split_top_level(types)).expect("json"),
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .env("PYTHONPATH", workspace_root().join(".tools/ethabi"))
        .output()
        .expect("python3 with eth-abi (scripts/install-deps.sh test installs it)");
    assert!(
        out.status.success(),
        "eth-abi: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Splits `a,(b,c),d[2]` at its top-level commas.
fn split_top_level(s: &str) -> Vec<String> {
    let (mut out, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for c in s.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    out.push(cur);
    out
}

#[test]
fn contract_calls_with_tuples_and_arrays_confirm_with_the_calldata_eth_abi_gives() {
    let anvil = Anvil::start(&[]);
    // A contract whose code is a single STOP accepts any call; what matters is the calldata.
    let from = anvil.rpc("eth_accounts", json!([]))[0].clone();
    let deploy = anvil.rpc(
        "eth_sendTransaction",
        json!([{"from": from, "data": "0x6001600c60003960016000f300"}]),
    );
    let contract = wait_for("the contract deployment", Duration::from_secs(20), || {
        let r = anvil.rpc("eth_getTransactionReceipt", json!([deploy]));
        r["contractAddress"].as_str().map(str::to_string)
    });
    let sig = "record((uint256,address[]),int8,bytes32[2],string)";
    let aa = "0x00000000000000000000000000000000000000aa";
    let word = format!("0x{}", "11".repeat(32));
    let r = report(&chainops(&[
        "bench",
        "run",
        "--rpc",
        &anvil.url(),
        "--workload",
        "contract-call",
        "--contract",
        &contract,
        "--call",
        sig,
        "--arg",
        &format!("(5, [{aa}])"),
        "--arg",
        "-1",
        "--arg",
        &format!("[{word}, {word}]"),
        "--arg",
        "区块链 ok",
        "--rate",
        "5",
        "--count",
        "5",
        "--json",
    ]));
    assert_eq!(r["confirmed"], 5, "{r}");
    let head = anvil.rpc("eth_blockNumber", json!([]));
    let head = u64::from_str_radix(head.as_str().expect("hex").trim_start_matches("0x"), 16)
        .expect("height");
    let input = (0..=head)
        .rev()
        .find_map(|n| {
            let b = anvil.rpc("eth_getBlockByNumber", json!([format!("0x{n:x}"), true]));
            b["transactions"].as_array()?.iter().find_map(|t| {
                (t["to"].as_str()? == contract.to_lowercase())
                    .then(|| t["input"].as_str().map(str::to_string))?
            })
        })
        .expect("a call to the contract on chain");
    let expected = eth_abi_calldata(
        sig,
        &format!(
            "[(5, ['{aa}']), -1, [bytes.fromhex('{w}'), bytes.fromhex('{w}')], '区块链 ok']",
            w = "11".repeat(32)
        ),
    );
    assert_eq!(input, expected);
}
