//! History read benchmark (bench/history): writes N nodes × D days of one sample per minute
//! (`height`, value = node × 1e6 + minute, the same formula the Prometheus side gets), rolls
//! the hours up, then times the reads the series API makes: every node over the whole range
//! at `auto` (hour rollups) and the last day at 1-minute rollups, each answer serialized to
//! JSON as the handler does. Prints one JSON line.
//!
//! `series_bench DB NODES DAYS`.

use chainops_store::Store;
use chainops_store::series::{HOUR_MS, MINUTE_MS, Resolution, SeriesChunk};
use std::time::Instant;

// Multi-threaded, as `chainops serve` runs.
#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (db, nodes, days) = match args.as_slice() {
        [_, db, n, d] => (db.clone(), n.parse::<i64>()?, d.parse::<i64>()?),
        _ => return Err("usage: series_bench DB NODES DAYS".into()),
    };
    let store = Store::open(&format!("sqlite://{db}")).await?;
    // The range ends at the last full hour before now.
    let now = chainops_core::time::now_ms();
    let end = now - now.rem_euclid(HOUR_MS);
    let start = end - days * 86_400_000;
    let minutes = (end - start) / MINUTE_MS;
    let t = Instant::now();
    let mut batch = Vec::with_capacity(10_000);
    for m in 0..minutes {
        for n in 0..nodes {
            batch.push(SeriesChunk {
                node: format!("n{n}"),
                metric: "height".into(),
                samples: vec![(start + m * MINUTE_MS, (n * 1_000_000 + m) as f64)],
            });
        }
        if batch.len() >= 10_000 {
            store.write_series(&batch).await?;
            batch.clear();
        }
    }
    store.write_series(&batch).await?;
    let mut h = start;
    while h < end {
        store.rollup_hour(h).await?;
        h += HOUR_MS;
    }
    let write_s = t.elapsed().as_secs_f64();
    // Reads as the series API makes them for `chain=` (`query_series_many`), then JSON.
    let read = |from: i64, resolution: Resolution| {
        let store = store.clone();
        async move {
            let t = Instant::now();
            let mut points = 0usize;
            let mut bytes = 0usize;
            let mut query_s = 0.0;
            let names: Vec<String> = (0..nodes).map(|n| format!("n{n}")).collect();
            let q = Instant::now();
            let all = store
                .query_series_many(&names, "height", from, end, resolution)
                .await?;
            query_s += q.elapsed().as_secs_f64();
            for p in all {
                points += p.len();
                let p: Vec<_> = p.into_iter().map(|p| p.rounded()).collect();
                bytes += serde_json::to_vec(&p)?.len();
            }
            if std::env::var_os("SERIES_BENCH_SPLIT").is_some() {
                eprintln!(
                    "{resolution:?}: store {:.1} ms of {:.1} ms",
                    query_s * 1000.0,
                    t.elapsed().as_secs_f64() * 1000.0
                );
            }
            Ok::<_, Box<dyn std::error::Error>>((t.elapsed().as_secs_f64() * 1000.0, points, bytes))
        }
    };
    // Best of three after one warm-up (the page cache, as a running daemon has it).
    let best = |r: (f64, usize, usize), acc: &mut Option<(f64, usize, usize)>| {
        if acc.is_none_or(|a| r.0 < a.0) {
            *acc = Some(r);
        }
    };
    let (mut range, mut day) = (None, None);
    for i in 0..4 {
        let r = read(start, Resolution::Hour).await?;
        let d = read(end - 86_400_000, Resolution::Minute).await?;
        if i > 0 {
            best(r, &mut range);
            best(d, &mut day);
        }
    }
    let (range, day) = (range.unwrap_or_default(), day.unwrap_or_default());
    println!(
        "{}",
        serde_json::json!({
            "nodes": nodes, "days": days, "samples": minutes * nodes,
            "write_seconds": write_s,
            "range_hourly_ms": range.0, "range_hourly_points": range.1, "range_hourly_json_bytes": range.2,
            "day_minutes_ms": day.0, "day_minutes_points": day.1, "day_minutes_json_bytes": day.2,
            "start_ms": start, "end_ms": end,
        })
    );
    Ok(())
}
