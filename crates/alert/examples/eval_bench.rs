//! Rule evaluation benchmark (issue 6): 1,000 nodes × the default pack, steady state and a
//! transition storm, on an embedded SQLite store. Run:
//! `cargo run --release -p chainops-alert --example eval_bench [NODES]`.

use chainops_alert::AlertEngine;
use chainops_alert::rules::effective_rules;
use chainops_core::facts::{FactSource, NodeFacts};
use chainops_core::node::NodeKind;
use chainops_store::Store;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// A synthetic fleet whose nodes are healthy, or all stalled when `stalled` is set. Every
/// fact the default pack reads is present (block intervals and gas prices vary, counters
/// grow, a tenth of the nodes have a local data dir) so windows and detectors do real work.
struct SyntheticFleet {
    nodes: usize,
    stalled: AtomicBool,
}

impl FactSource for SyntheticFleet {
    fn facts(&self, now_ms: i64) -> Vec<NodeFacts> {
        let stalled = self.stalled.load(Ordering::Relaxed);
        let tick = (now_ms / 1000) as f64;
        (0..self.nodes)
            .map(|i| {
                let mut v = BTreeMap::new();
                for (k, x) in [
                    ("up", 1.0),
                    ("height", 19_000_000.0 + i as f64),
                    ("head_age_seconds", if stalled { 600.0 } else { 3.0 }),
                    ("blocks_behind", (i % 3) as f64),
                    ("peers", 25.0),
                    ("txpool_pending", 500.0),
                    ("txpool_queued", 16.0),
                    ("rpc_latency_seconds", 0.02),
                    ("syncing", 0.0),
                    ("chain_id_mismatch", 0.0),
                    ("block_time_seconds", 12.0),
                    ("stall_after_seconds", 70.0),
                    ("lag_blocks", 3.0),
                    (
                        "block_interval_seconds",
                        12.0 + ((tick as usize + i) % 5) as f64 * 0.1,
                    ),
                    (
                        "gas_price_wei",
                        1e9 + ((tick as usize * 7 + i) % 13) as f64 * 1e7,
                    ),
                    ("rpc_errors_total", (tick / 100.0).floor()),
                    ("client_version_changes_total", 0.0),
                    ("finality_lag_seconds", 768.0),
                    ("recent_reorg_depth", 0.0),
                ] {
                    v.insert(k, x);
                }
                if i % 10 == 0 {
                    v.insert("datadir_free_bytes", 5e11 - tick * 1e3);
                    v.insert("datadir_used_ratio", 0.5);
                }
                NodeFacts {
                    node: format!("node-{i}"),
                    chain: format!("chain-{}", i % 10),
                    kind: NodeKind::new("evm"),
                    polled: true,
                    values: v,
                }
            })
            .collect()
    }
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let nodes: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000);
    let dir = std::env::temp_dir().join(format!("chainops-alert-bench-{}", std::process::id()));
    let store = Store::open(&format!("sqlite://{}/bench.db", dir.display())).await?;
    let config = chainops_alert::config::from_toml("")?;
    let rules = effective_rules(&config);
    let fleet = Arc::new(SyntheticFleet {
        nodes,
        stalled: AtomicBool::new(false),
    });
    let mut engine = AlertEngine::new(rules.clone(), vec![], store, fleet.clone()).await?;
    let mut now = 1_800_000_000_000i64;
    // Warm up for 20 simulated minutes so every window and detector holds history.
    for _ in 0..1200 {
        engine.evaluate(now).await?;
        now += 1000;
    }
    let cycles = 50;
    let mut times = Vec::with_capacity(cycles);
    for _ in 0..cycles {
        let t = Instant::now();
        engine.evaluate(now).await?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        now += 1000;
    }
    times.sort_by(|a, b| a.total_cmp(b));
    fleet.stalled.store(true, Ordering::Relaxed);
    let t = Instant::now();
    let report = engine.evaluate(now).await?;
    let storm = t.elapsed().as_secs_f64() * 1000.0;
    println!(
        "{{\"nodes\": {nodes}, \"rules\": {}, \"steady_median_ms\": {:.2}, \"steady_p99_ms\": {:.2}, \"storm_ms\": {storm:.1}, \"storm_fired\": {}, \"rss_mb\": {:.1}}}",
        rules.len(),
        times[cycles / 2],
        times[cycles * 99 / 100],
        report.fired,
        rss_mb()
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
