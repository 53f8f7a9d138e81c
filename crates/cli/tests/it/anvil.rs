//! Given real anvil nodes, the daemon reports height, stalls, reorgs, outages, chain-id
//! mismatches and keeps its history across restarts.

use crate::harness::*;
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(30);

fn height(n: &Value) -> u64 {
    n["height"].as_u64().unwrap_or(0)
}

#[test]
fn height_rises_and_metrics_pass_promtool() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &evm_node("anvil-1", &anvil.url(), ""));
    let first = d.wait_node("anvil-1", "a height", T, |n| {
        n["up"] == true && n["height"].is_u64()
    });
    d.wait_node("anvil-1", "height to rise by 2", T, |n| {
        height(n) >= height(&first) + 2
    });
    let n = d.wait_node("anvil-1", "status ok", T, |n| n["status"] == "ok");
    assert_eq!(n["chain_id"], "31337");
    assert_eq!(
        n["peers"],
        Value::Null,
        "anvil has no net_peerCount: unsupported, not 0"
    );
    assert!(
        n["unsupported"]
            .as_array()
            .expect("array")
            .contains(&json!("peers"))
    );
    assert!(
        n["client_version"]
            .as_str()
            .expect("version")
            .starts_with("anvil/")
    );

    let list = d.json("/api/v1/nodes");
    assert_eq!(list[0]["name"], "anvil-1");
    for key in [
        "name",
        "chain",
        "kind",
        "up",
        "height",
        "head_age_seconds",
        "status",
        "last_error",
    ] {
        assert!(list[0].get(key).is_some(), "missing {key} in {list}");
    }

    let text = d.metrics();
    let path = dir.path().join("metrics.txt");
    std::fs::write(&path, &text).expect("write metrics");
    let out = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&path).expect("open"))
        .output()
        .expect("promtool not found: run `make test` (installs prometheus)");
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let l = [("chain", "devnet"), ("node", "anvil-1")];
    assert_eq!(metric_value(&text, "chainops_node_up", &l), Some(1.0));
    assert!(metric_value(&text, "chainops_block_height", &l).expect("height") >= 1.0);
    assert!(metric_value(&text, "chainops_head_timestamp_seconds", &l).is_some());
    assert!(
        metric_value(&text, "chainops_block_interval_seconds_count", &l).expect("histogram") >= 1.0
    );
    assert!(
        metric_value(
            &text,
            "chainops_txpool_transactions",
            &[("node", "anvil-1"), ("state", "pending")]
        )
        .is_some()
    );
    assert_eq!(metric_value(&text, "chainops_reorgs_total", &l), Some(0.0));
    assert!(
        metric_value(&text, "chainops_peers", &l).is_none(),
        "peers must be absent for anvil"
    );
    assert!(
        metric_value(
            &text,
            "chainops_rpc_request_duration_seconds_count",
            &[("node", "anvil-1"), ("method", "eth_getBlockByNumber")]
        )
        .is_some()
    );
    assert!(
        metric_value(
            &text,
            "chainops_rpc_requests_total",
            &[("method", "net_peerCount"), ("outcome", "error")]
        )
        .is_some()
    );
    // Not an error loop: net_peerCount was tried once, then remembered as unsupported.
    assert_eq!(
        metric_value(
            &text,
            "chainops_rpc_requests_total",
            &[("method", "net_peerCount"), ("outcome", "error")]
        ),
        Some(1.0)
    );

    let s = d.json("/api/v1/series?node=anvil-1&metric=height&from=now-5m");
    assert_eq!(s["resolution"], "raw");
    assert!(s["points"].as_array().expect("points").len() >= 2, "{s}");
}

#[test]
fn halted_mining_stalls_then_recovers() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(
        dir.path(),
        &evm_node("anvil-1", &anvil.url(), "stall_after = \"4s\""),
    );
    d.wait_node("anvil-1", "status ok", T, |n| n["status"] == "ok");
    anvil.rpc("evm_setIntervalMining", json!([0]));
    let n = d.wait_node("anvil-1", "status stalled", T, |n| n["status"] == "stalled");
    assert!(n["head_age_seconds"].as_f64().expect("age") > 4.0);
    assert_eq!(n["up"], true);
    let text = d.metrics();
    assert_eq!(
        metric_value(
            &text,
            "chainops_node_status",
            &[("node", "anvil-1"), ("status", "stalled")]
        ),
        Some(1.0)
    );
    anvil.rpc("evm_setIntervalMining", json!([1]));
    d.wait_node("anvil-1", "status ok again", T, |n| n["status"] == "ok");
}

#[test]
fn reorg_of_depth_three_is_counted_and_recorded() {
    let anvil = Anvil::start(&[]);
    anvil.rpc("evm_setIntervalMining", json!([0]));
    for _ in 0..6 {
        anvil.rpc("evm_mine", json!([]));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(
        dir.path(),
        &evm_node("anvil-1", &anvil.url(), "stall_after = \"1h\""),
    );
    d.wait_node("anvil-1", "height 6", T, |n| height(n) == 6);
    std::thread::sleep(Duration::from_millis(1500));
    anvil.rpc("anvil_reorg", json!([3, []]));
    let n = d.wait_node("anvil-1", "a reorg", T, |n| n["reorgs_total"] == 1);
    assert_eq!(n["last_reorg"]["depth"], 3, "{n:#}");
    assert_eq!(n["last_reorg"]["fork_height"], 3);
    let ev = n["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["kind"] == "reorg")
        .cloned()
        .expect("reorg event");
    assert_eq!(ev["detail"]["depth"], 3);
    let text = d.metrics();
    let l = [("chain", "devnet"), ("node", "anvil-1")];
    assert_eq!(metric_value(&text, "chainops_reorgs_total", &l), Some(1.0));
    assert_eq!(
        metric_value(&text, "chainops_last_reorg_depth_blocks", &l),
        Some(3.0)
    );
    // The default rule pack turns a depth-3 reorg into a critical DeepReorg alert.
    wait_for("DeepReorg firing", T, || {
        let alerts = d.json("/api/v1/alerts");
        alerts
            .as_array()?
            .iter()
            .find(|a| a["rule"] == "DeepReorg" && a["state"] == "firing")
            .map(|a| a["value"].clone())
    });
    // New blocks on the new chain are ordinary progress, not more reorgs.
    anvil.rpc("evm_mine", json!([]));
    d.wait_node("anvil-1", "height 7", T, |n| height(n) == 7);
    assert_eq!(d.node("anvil-1")["reorgs_total"], 1);
}

#[test]
fn killed_node_is_down_then_recovers_on_restart() {
    let mut anvil = Anvil::start(&[]);
    let port = anvil.port;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(dir.path(), &evm_node("anvil-1", &anvil.url(), ""));
    d.wait_node("anvil-1", "status ok", T, |n| n["status"] == "ok");
    anvil.proc.signal(Signal::SIGKILL);
    let _ = anvil.proc.child.wait();
    let n = d.wait_node("anvil-1", "status down", T, |n| n["status"] == "down");
    assert_eq!(n["up"], false);
    assert!(
        n["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{n}"
    );
    assert_eq!(
        metric_value(&d.metrics(), "chainops_node_up", &[("node", "anvil-1")]),
        Some(0.0)
    );
    drop(anvil);
    let _again = Anvil::start_on(port, &[]);
    let n = d.wait_node("anvil-1", "status ok after restart", T, |n| {
        n["status"] == "ok"
    });
    assert_eq!(n["last_error"], Value::Null);
}

#[test]
fn wrong_chain_id_is_flagged() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let d = Daemon::start(
        dir.path(),
        &evm_node("anvil-1", &anvil.url(), "chain_id = 1"),
    );
    let n = d.wait_node("anvil-1", "chain id mismatch", T, |n| {
        n["chain_id_mismatch"] == true
    });
    assert_eq!(
        (n["expected_chain_id"].as_str(), n["chain_id"].as_str()),
        (Some("1"), Some("31337"))
    );
    assert!(
        n["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["kind"] == "chain_id_mismatch")
    );
    assert_eq!(
        metric_value(
            &d.metrics(),
            "chainops_chain_id_mismatch",
            &[("node", "anvil-1")]
        ),
        Some(1.0)
    );
}

#[test]
fn frozen_node_does_not_delay_the_others() {
    let a = Anvil::start(&[]);
    let b = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = format!(
        "{}{}",
        evm_node("a", &a.url(), ""),
        evm_node("frozen", &b.url(), "")
    );
    let d = Daemon::start(dir.path(), &cfg);
    d.wait_node("frozen", "up", T, |n| n["up"] == true);
    d.wait_node("a", "up", T, |n| n["up"] == true);
    b.proc.signal(Signal::SIGSTOP);
    let frozen_at = chainops_now_ms();
    d.wait_node("frozen", "down (timeout)", T, |n| n["up"] == false);
    std::thread::sleep(Duration::from_secs(6));
    let s = d.json(&format!(
        "/api/v1/series?node=a&metric=up&step=raw&from={frozen_at}"
    ));
    let ts: Vec<i64> = s["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["t"].as_i64().expect("t"))
        .collect();
    let elapsed_s = (chainops_now_ms() - frozen_at) / 1000;
    assert!(
        ts.len() as i64 >= (elapsed_s - 2).max(5),
        "expected about a sample per second from the healthy node over {elapsed_s} s, got {ts:?}"
    );
    let max_gap = ts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(
        max_gap <= 1_600,
        "healthy node's cadence broke while the other was frozen: gap {max_gap} ms in {ts:?}"
    );
    b.proc.signal(Signal::SIGCONT);
    d.wait_node("frozen", "up after SIGCONT", T, |n| n["up"] == true);
}

/// Issue 15 item 12: derived gauges (status, data-dir free bytes, …) are kept in history;
/// the series API reads several nodes or a chain at once; `chainops history` prints them
/// as a table, JSON or CSV.
#[test]
fn history_keeps_derived_gauges_and_reads_several_nodes() {
    let (a, b) = (Anvil::start(&[]), Anvil::start(&[]));
    let dir = tempfile::tempdir().expect("tempdir");
    let datadir = dir.path().join("node-data");
    std::fs::create_dir_all(&datadir).expect("datadir");
    let cfg = format!(
        "{}{}",
        evm_node(
            "anvil-1",
            &a.url(),
            &format!("data_dir = \"{}\"", datadir.display())
        ),
        evm_node("anvil-2", &b.url(), "")
    );
    let d = Daemon::start(dir.path(), &cfg);
    d.wait_node("anvil-1", "height ≥ 2", T, |n| height(n) >= 2);
    d.wait_node("anvil-2", "height ≥ 2", T, |n| height(n) >= 2);
    let values = |q: &str| -> Vec<f64> {
        d.json(&format!("/api/v1/series?{q}&from=now-10m&step=raw"))["points"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter_map(|p| p["v"].as_f64())
            .collect()
    };
    let status = values("node=anvil-1&metric=status");
    assert!(
        !status.is_empty() && status.iter().all(|v| *v == 0.0),
        "{status:?}"
    );
    let free = values("node=anvil-1&metric=datadir_free_bytes");
    assert!(free.iter().any(|v| *v > 0.0), "{free:?}");
    for q in ["chain=devnet", "node=anvil-1,anvil-2"] {
        let v = d.json(&format!(
            "/api/v1/series?{q}&metric=height&from=now-10m&step=raw"
        ));
        let names: Vec<&str> = v["series"]
            .as_array()
            .expect("series")
            .iter()
            .filter_map(|s| s["node"].as_str())
            .collect();
        assert_eq!(names, ["anvil-1", "anvil-2"], "{v}");
    }
    assert_eq!(
        d.get("/api/v1/series?chain=nochain&metric=height").status(),
        404
    );
    // Hostile lists: empty names, more nodes than one request reads, a name that is not
    // configured (multi-byte), 1,000 commas.
    let many: Vec<String> = (0..1001).map(|i| format!("n{i}")).collect();
    for (q, status) in [
        ("node=,,".to_string(), 400),
        (format!("node={}", many.join(",")), 400),
        ("node=anvil-1,%E8%8A%82%E7%82%B9".to_string(), 404),
        (format!("node={}", ",".repeat(1000)), 400),
    ] {
        assert_eq!(
            d.get(&format!("/api/v1/series?{q}&metric=height")).status(),
            status,
            "{}",
            q.chars().take(60).collect::<String>()
        );
    }
    assert_eq!(
        d.get("/api/v1/series?chain=devnet&node=anvil-1&metric=height")
            .status(),
        400
    );
    let cli = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chainops"))
            .args([
                "history", "--chain", "devnet", "--metric", "height", "--from", "-10m", "--step",
                "raw", "--server", &d.base,
            ])
            .args(extra)
            .env("CHAINOPS_TOKEN", &d.token)
            .output()
            .expect("history");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let csv = cli(&["--csv"]);
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("time,node,value,min,max,last"));
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.iter().any(|r| r.contains(",anvil-1,"))
            && rows.iter().any(|r| r.contains(",anvil-2,")),
        "{csv}"
    );
    let json: serde_json::Value = serde_json::from_str(&cli(&["--json"])).expect("json");
    assert_eq!(json["series"].as_array().map(Vec::len), Some(2));
    let table = cli(&[]);
    assert!(
        table.starts_with("TIME") && table.contains("resolution raw"),
        "{table}"
    );
}

#[test]
fn history_survives_a_daemon_restart() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = evm_node("anvil-1", &anvil.url(), "");
    let mut d = Daemon::start(dir.path(), &cfg);
    let before = d.wait_node("anvil-1", "height ≥ 3", T, |n| height(n) >= 3);
    let status = d.proc.terminate();
    assert!(status.success(), "daemon exit status {status}");
    let d = Daemon::start(dir.path(), &cfg);
    let s = d.json("/api/v1/series?node=anvil-1&metric=height&from=now-10m&step=raw");
    let vals: Vec<f64> = s["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["v"].as_f64().expect("v"))
        .collect();
    assert!(
        vals.iter()
            .any(|v| *v <= height(&before) as f64 && *v >= 1.0),
        "pre-restart samples missing: {s}"
    );
    let m = d.json("/api/v1/series?node=anvil-1&metric=height&from=now-10m&step=1m");
    assert_eq!(m["resolution"], "1m");
    assert!(
        !m["points"].as_array().expect("points").is_empty(),
        "minute rollups missing: {m}"
    );
}

#[test]
fn managed_node_is_started_and_restarted_after_it_dies() {
    let port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let extra = format!(
        "managed = true\ncommand = \"{}\"\nargs = [\"--host\", \"127.0.0.1\", \"--port\", \"{port}\", \"--block-time\", \"1\"]",
        anvil_bin().display()
    );
    let mut d = Daemon::start(
        dir.path(),
        &evm_node("managed", &format!("http://127.0.0.1:{port}"), &extra),
    );
    let n = d.wait_node("managed", "managed node up", T, |n| {
        n["up"] == true && n["managed"]["pid"].is_u64()
    });
    let pid = n["managed"]["pid"].as_u64().expect("pid") as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL)
        .expect("kill managed anvil");
    let n = d.wait_node("managed", "restarted and up", T, |n| {
        n["managed"]["restarts"] == 1 && n["up"] == true
    });
    assert_ne!(n["managed"]["pid"].as_u64(), Some(pid as u64));
    assert!(dir.path().join("data/nodes/managed/node.log").is_file());
    let new_pid = n["managed"]["pid"].as_u64().expect("pid") as i32;
    assert!(d.proc.terminate().success());
    // Clean shutdown stops the managed node too.
    let gone = nix::sys::signal::kill(nix::unistd::Pid::from_raw(new_pid), None).is_err();
    assert!(
        gone,
        "managed anvil {new_pid} still running after daemon stop"
    );
}

fn chainops_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

#[test]
fn kill_9_loses_at_most_the_current_minute_and_the_daemon_recovers() {
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = evm_node("anvil-1", &anvil.url(), "");
    let d = Daemon::start(dir.path(), &cfg);
    // 1-minute answers come from the store only: wait for the first minute flush.
    let flushed = |d: &Daemon| {
        let m = d.json("/api/v1/series?node=anvil-1&metric=height&from=now-10m&step=1m");
        m["points"].as_array().map(|p| p.len()).unwrap_or(0)
    };
    wait_for("the first minute flush", Duration::from_secs(75), || {
        (flushed(&d) >= 1).then_some(())
    });
    d.proc.signal(Signal::SIGKILL);
    drop(d);
    let d = Daemon::start(dir.path(), &cfg);
    assert!(flushed(&d) >= 1, "flushed history lost after kill -9");
    d.wait_node("anvil-1", "polling again after kill -9", T, |n| {
        n["status"] == "ok"
    });
    assert_eq!(d.get("/readyz").status(), 200);
}

#[test]
fn the_daemon_runs_on_postgresql() {
    let url = postgres_db("chainops_e2e");
    let anvil = Anvil::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = format!(
        "[store]\nurl = \"{url}\"\n{}",
        evm_node("anvil-1", &anvil.url(), "")
    );
    let mut d = Daemon::start(dir.path(), &cfg);
    d.wait_node("anvil-1", "height ≥ 2", T, |n| height(n) >= 2);
    assert!(d.proc.terminate().success());
    let d = Daemon::start(dir.path(), &cfg);
    let m = d.json("/api/v1/series?node=anvil-1&metric=height&from=now-10m&step=1m");
    assert!(
        !m["points"].as_array().expect("points").is_empty(),
        "history not in PostgreSQL: {m}"
    );
    assert!(
        !dir.path().join("data/chainops.db").exists(),
        "must not fall back to SQLite"
    );
}
