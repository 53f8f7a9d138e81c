//! Names what limited a round, with the numbers that show it.
//!
//! Each check is independent and reports evidence; the primary verdict is the first hit in
//! causal order: a chain that stopped producing blocks explains everything after it, a fee
//! cap below the base fee explains a growing pool, and so on down to "no limit reached".

use crate::options::RunOptions;
use crate::report::{BlockSample, Finding, RoundReport, Verdict};
use std::time::Duration;

/// Causal order of finding kinds (first present wins).
const ORDER: &[&str] = &[
    "block_stalled",
    "fee_cap",
    "rpc_errors",
    "generator",
    "gas_limit",
    "node_cpu",
    "txpool_growing",
];

/// Analyses one round.
pub fn analyze(r: &RoundReport, opts: &RunOptions, drain: Duration) -> Verdict {
    let mut findings = Vec::new();
    let mut add = |kind: &str, evidence: String| {
        findings.push(Finding {
            kind: kind.into(),
            evidence,
        })
    };
    let interval = median_interval(&r.blocks);
    if let Some(e) = stall(r, interval, drain) {
        add("block_stalled", e);
    }
    if let (Some(cap), Some(max_base)) = (
        opts.max_fee_gwei,
        r.blocks
            .iter()
            .filter_map(|b| b.base_fee_gwei)
            .reduce(f64::max),
    ) && max_base >= cap
    {
        add(
            "fee_cap",
            format!(
                "the base fee rose to {max_base:.1} gwei, above the fee cap of {cap:.1} gwei: transactions wait in the pool; raise --max-fee-gwei"
            ),
        );
    }
    let transport: u64 = r
        .errors
        .iter()
        .filter(|e| e.message.starts_with("request failed"))
        .map(|e| e.count)
        .sum();
    let bad = r.rejected + transport;
    if r.submitted > 0 && bad * 100 > r.submitted {
        let top: Vec<String> = r
            .errors
            .iter()
            .filter(|e| e.message != "not included before the round ended")
            .take(3)
            .map(|e| format!("{}× \"{}\"", e.count, e.message))
            .collect();
        add(
            "rpc_errors",
            format!(
                "{bad} of {} requests failed at the RPC ({:.1} %): {}",
                r.submitted,
                bad as f64 * 100.0 / r.submitted as f64,
                top.join(", ")
            ),
        );
    }
    if let Some(offered) = r.offered_tps
        && r.send_rate < 0.95 * offered
        && r.submitted > 10
    {
        let cpu = r.generator.cpu_max;
        let cause = if cpu >= 0.9 {
            format!("its CPU peaked at {cpu:.2} cores")
        } else if r.slots_busy_ratio > 0.2 {
            format!(
                "all {} request slots were busy on {:.0} % of send ticks (the node answers sendRawTransaction slowly; raise --concurrency or --batch-size)",
                opts.concurrency,
                r.slots_busy_ratio * 100.0
            )
        } else {
            "it fell behind schedule".into()
        };
        add(
            "generator",
            format!(
                "the generator sent {:.0} tx/s of the {offered:.0} planned (at most {} behind schedule): {cause}",
                r.send_rate, r.behind_schedule_max
            ),
        );
    }
    let ours: Vec<f64> = r
        .blocks
        .iter()
        .filter(|b| b.ours > 0)
        .filter_map(|b| b.fullness)
        .collect();
    if !ours.is_empty() {
        let mean = ours.iter().sum::<f64>() / ours.len() as f64;
        let full = ours.iter().filter(|f| **f >= 0.9).count();
        if mean >= 0.85 || full * 2 > ours.len() {
            let max_txs = r.blocks.iter().map(|b| b.txs).max().unwrap_or(0);
            add(
                "gas_limit",
                format!(
                    "blocks were {:.0} % full on average ({full} of {} blocks ≥ 90 %, up to {max_txs} transactions per block): the block gas limit caps throughput at about {:.0} tx/s",
                    mean * 100.0,
                    ours.len(),
                    max_txs as f64 / interval.unwrap_or(1.0)
                ),
            );
        }
    }
    if let Some(node) = &r.node_process
        && node.cpu_max >= 0.9
    {
        add(
            "node_cpu",
            format!(
                "the node process used up to {:.2} cores (mean {:.2}); it is CPU-bound",
                node.cpu_max, node.cpu_avg
            ),
        );
    }
    if let Some(e) = pool_growth(r) {
        add("txpool_growing", e);
    }
    let primary = ORDER
        .iter()
        .find(|k| findings.iter().any(|f| f.kind == **k))
        .map_or("none", |k| k);
    let summary = match primary {
        "none" => format!(
            "no limit reached: {} of {} transactions included (p95 {:.2} s); offer more load to find the ceiling",
            r.confirmed, r.submitted, r.latency.p95
        ),
        k => {
            let f = findings
                .iter()
                .find(|f| f.kind == k)
                .map(|f| f.evidence.clone())
                .unwrap_or_default();
            format!("{}: {f}", title(k))
        }
    };
    Verdict {
        primary: primary.to_string(),
        summary,
        findings,
    }
}

/// A readable name for a finding kind.
pub fn title(kind: &str) -> &'static str {
    match kind {
        "block_stalled" => "Block production stalled",
        "fee_cap" => "Fee cap below base fee",
        "rpc_errors" => "RPC errors",
        "generator" => "Load generator",
        "gas_limit" => "Block gas limit",
        "node_cpu" => "Node CPU saturated",
        "txpool_growing" => "Transaction pool growing",
        _ => "No limit reached",
    }
}

/// Median time between consecutive blocks as the tracker saw them.
pub fn median_interval(blocks: &[BlockSample]) -> Option<f64> {
    let mut d: Vec<f64> = blocks
        .windows(2)
        .map(|w| w[1].seen_s - w[0].seen_s)
        .collect();
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    Some(d[d.len() / 2])
}

/// The longest time without a new block while transactions waited.
fn stall(r: &RoundReport, interval: Option<f64>, drain: Duration) -> Option<String> {
    if r.submitted == 0 {
        return None;
    }
    let expected = interval.unwrap_or(1.0);
    let threshold = (3.0 * expected).max(3.0);
    let mut marks: Vec<f64> = vec![r.first_submit_s];
    marks.extend(
        r.blocks
            .iter()
            .map(|b| b.seen_s)
            .filter(|t| *t > r.first_submit_s),
    );
    marks.push(r.duration_s);
    let (mut gap, mut from) = (0.0f64, 0.0f64);
    for w in marks.windows(2) {
        if w[1] - w[0] > gap {
            gap = w[1] - w[0];
            from = w[0];
        }
    }
    let waiting = r
        .series
        .iter()
        .filter(|s| s.t >= from && s.t <= from + gap)
        .map(|s| s.outstanding)
        .max()
        .unwrap_or(r.unconfirmed);
    if gap < threshold || (waiting == 0 && r.unconfirmed == 0) {
        return None;
    }
    let last = r
        .blocks
        .last()
        .map_or(String::from("none"), |b| b.number.to_string());
    Some(format!(
        "no new block for {gap:.1} s (from t={from:.1} s; median interval {expected:.1} s, last block {last}) while up to {waiting} transactions waited; {} were never included within the {:.0} s drain time",
        r.unconfirmed,
        drain.as_secs_f64()
    ))
}

/// Pool depth (or outstanding transactions) rising through the sending phase.
fn pool_growth(r: &RoundReport) -> Option<String> {
    let sending: Vec<(f64, f64)> = r
        .series
        .iter()
        .filter(|s| s.t <= r.last_submit_s + 0.5)
        .map(|s| (s.t, s.pool.unwrap_or(s.outstanding) as f64))
        .collect();
    if sending.len() < 4 {
        return None;
    }
    let slope = slope(&sending);
    let first = sending[0].1;
    let last = sending[sending.len() - 1].1;
    if slope > 0.05 * r.send_rate.max(1.0) && last > first * 1.5 + 10.0 {
        let what = if r.series.iter().any(|s| s.pool.is_some()) {
            "the node's pool"
        } else {
            "transactions waiting for inclusion"
        };
        Some(format!(
            "{what} grew from {first:.0} to {last:.0} while sending (+{slope:.0}/s): the chain includes less than is offered"
        ))
    } else {
        None
    }
}

/// Least-squares slope of `(x, y)` points (0 for fewer than two distinct x).
pub fn slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let cov: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let var: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if var > 0.0 { cov / var } else { 0.0 }
}

/// Growth per second of sent-but-not-included transactions while sending.
pub fn backlog_growth(r: &RoundReport) -> f64 {
    let pts: Vec<(f64, f64)> = r
        .series
        .iter()
        .filter(|s| s.t >= r.first_submit_s + 1.0 && s.t <= r.last_submit_s + 0.5)
        .map(|s| (s.t, s.outstanding as f64))
        .collect();
    slope(&pts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_and_of_noise() {
        let line: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 3.0 * i as f64 + 1.0)).collect();
        assert!((slope(&line) - 3.0).abs() < 1e-9);
        assert_eq!(slope(&[(1.0, 5.0)]), 0.0);
        let flat: Vec<(f64, f64)> = (0..10)
            .map(|i| (i as f64, if i % 2 == 0 { 10.0 } else { 12.0 }))
            .collect();
        assert!(slope(&flat).abs() < 0.5);
    }
}
