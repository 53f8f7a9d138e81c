//! Selective-query latency inside one process (as the daemon answers `GET /api/v1/logs`),
//! for the needles planted by `bench/logs/gen.py`. Run:
//! `cargo run --release -p chainops-logs --example query_bench -- STORE_URL NEEDLES_FILE`.

use chainops_store::Store;
use chainops_store::logs::LogQuery;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: query_bench STORE_URL NEEDLES_FILE")?;
    let needles = std::fs::read_to_string(std::env::args().nth(2).ok_or("needles file")?)?;
    let store = Store::open(&url).await?;
    let mut times = Vec::new();
    let mut hits = 0;
    for n in needles.split_whitespace().take(20) {
        let q = LogQuery {
            from_ms: 0,
            to_ms: i64::MAX,
            text: vec![n.to_string()],
            limit: 1000,
            ..LogQuery::default()
        };
        let t = Instant::now();
        hits += store.search_logs(&q).await?.len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"queries\": {}, \"hits\": {hits}, \"median_ms\": {:.2}, \"max_ms\": {:.2}}}",
        times.len(),
        times[times.len() / 2],
        times[times.len() - 1]
    );
    Ok(())
}
