//! `chainops bench compare A.json B.json`: the differences between two runs.

use crate::report::Report;
use serde::Serialize;

/// One compared metric.
#[derive(Debug, Clone, Serialize)]
pub struct Delta {
    /// Metric name.
    pub metric: String,
    /// Value in A.
    pub a: f64,
    /// Value in B.
    pub b: f64,
    /// `b − a`.
    pub change: f64,
    /// Relative change in percent (`None` when `a` is 0).
    pub change_pct: Option<f64>,
    /// True when B is better (higher throughput, lower latency…).
    pub better: Option<bool>,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Workload of A and B.
    pub workload: (String, String),
    /// Bottleneck of A's and B's last round.
    pub bottleneck: (String, String),
    /// Metrics.
    pub metrics: Vec<Delta>,
}

/// Compares two reports.
pub fn compare(a: &Report, b: &Report) -> Comparison {
    let higher_better = Some(true);
    let lower_better = Some(false);
    let generator_cpu = |r: &Report| {
        let n = r.rounds.len().max(1) as f64;
        r.rounds.iter().map(|x| x.generator.cpu_avg).sum::<f64>() / n
    };
    let rows: Vec<(&str, f64, f64, Option<bool>)> = vec![
        ("submitted", a.submitted as f64, b.submitted as f64, None),
        (
            "confirmed",
            a.confirmed as f64,
            b.confirmed as f64,
            higher_better,
        ),
        ("failed", a.failed as f64, b.failed as f64, lower_better),
        (
            "success_rate",
            a.success_rate,
            b.success_rate,
            higher_better,
        ),
        ("send_rate", a.send_rate, b.send_rate, None),
        ("throughput", a.throughput, b.throughput, higher_better),
        ("latency_min", a.latency.min, b.latency.min, lower_better),
        ("latency_avg", a.latency.avg, b.latency.avg, lower_better),
        ("latency_p50", a.latency.p50, b.latency.p50, lower_better),
        ("latency_p90", a.latency.p90, b.latency.p90, lower_better),
        ("latency_p95", a.latency.p95, b.latency.p95, lower_better),
        ("latency_p99", a.latency.p99, b.latency.p99, lower_better),
        ("latency_max", a.latency.max, b.latency.max, lower_better),
        (
            "generator_cpu",
            generator_cpu(a),
            generator_cpu(b),
            lower_better,
        ),
    ];
    let metrics = rows
        .into_iter()
        .map(|(m, x, y, dir)| Delta {
            metric: m.to_string(),
            a: x,
            b: y,
            change: y - x,
            change_pct: (x != 0.0).then(|| (y - x) / x * 100.0),
            better: dir.and_then(|higher| {
                if (y - x).abs() < 1e-12 {
                    None
                } else {
                    Some((y > x) == higher)
                }
            }),
        })
        .collect();
    let last = |r: &Report| {
        r.rounds
            .last()
            .map(|x| x.bottleneck.primary.clone())
            .unwrap_or_default()
    };
    Comparison {
        workload: (a.workload.clone(), b.workload.clone()),
        bottleneck: (last(a), last(b)),
        metrics,
    }
}

/// A text table.
pub fn render(c: &Comparison) -> String {
    let mut s = format!(
        "{:<16} {:>14} {:>14} {:>14} {:>9}\n",
        "metric", "A", "B", "change", "%"
    );
    for d in &c.metrics {
        let mark = match d.better {
            Some(true) => " better",
            Some(false) => " worse",
            None => "",
        };
        s.push_str(&format!(
            "{:<16} {:>14.3} {:>14.3} {:>+14.3} {:>9}{mark}\n",
            d.metric,
            d.a,
            d.b,
            d.change,
            d.change_pct.map_or("-".into(), |p| format!("{p:+.1}"))
        ));
    }
    s.push_str(&format!(
        "{:<16} {:>14} {:>14}\n",
        "bottleneck", c.bottleneck.0, c.bottleneck.1
    ));
    if c.workload.0 != c.workload.1 {
        s.push_str(&format!(
            "note: different workloads ({} vs {})\n",
            c.workload.0, c.workload.1
        ));
    }
    s
}
