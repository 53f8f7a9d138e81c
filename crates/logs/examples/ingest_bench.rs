//! Ingest throughput on one core (issue 7): parse + group + redact, then the same plus
//! storage and full-text indexing in SQLite. Run:
//! `cargo run --release -p chainops-logs --example ingest_bench -- FILE [FORMAT]` (`STORE_URL`
//! selects another store; default a fresh SQLite file).

use chainops_logs::ingest::{Ingester, Source};
use chainops_logs::parse::{Format, Grouper, detect};
use chainops_logs::redact::Redactor;
use chainops_store::Store;
use std::io::BufRead;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: ingest_bench FILE [FORMAT]")?;
    let text = std::fs::read_to_string(&path)?;
    let format = match std::env::args().nth(2) {
        Some(f) => Format::parse(&f).ok_or("unknown format")?,
        None => detect(&text.lines().take(200).collect::<Vec<_>>()),
    };
    let lines = text.lines().count();

    let t = Instant::now();
    let mut g = Grouper::new(format);
    let mut r = Redactor::default();
    let mut entries = Vec::new();
    for l in text.lines() {
        if let Some(mut e) = g.push(l, 0) {
            r.redact(&mut e.message);
            entries.push(e);
        }
    }
    entries.extend(g.finish());
    let parse_s = t.elapsed().as_secs_f64();

    if std::env::var_os("PARSE_ONLY").is_some() {
        println!(
            "{{\"format\": \"{}\", \"lines\": {lines}, \"entries\": {}, \"parse_redact_lines_per_s\": {:.0}}}",
            format.as_str(),
            entries.len(),
            lines as f64 / parse_s
        );
        return Ok(());
    }
    let dir = std::env::temp_dir().join(format!("chainops-ingest-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    // STORE_URL points the run at another store (e.g. a scratch PostgreSQL database).
    let url = std::env::var("STORE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.display()));
    let store = Store::open(&url).await?;
    let ing = Ingester::new(store.clone(), Redactor::default(), None);
    let src = Source {
        id: "bench".into(),
        node: "n1".into(),
        chain: "c".into(),
        format: Some(format),
        drop: Default::default(),
    };
    let t = Instant::now();
    let reader = std::io::BufReader::new(std::fs::File::open(&path)?);
    let mut g = Grouper::new(format);
    let mut batch = Vec::with_capacity(10_000);
    for l in reader.lines() {
        if let Some(e) = g.push(&l?, 0) {
            batch.push(e);
        }
        if batch.len() == 10_000 {
            ing.write(&src, std::mem::take(&mut batch), None, 0).await?;
        }
    }
    batch.extend(g.finish());
    ing.write(&src, batch, None, 0).await?;
    let full_s = t.elapsed().as_secs_f64();
    let size = store.logs_size_bytes().await?;
    println!(
        "{{\"format\": \"{}\", \"lines\": {lines}, \"entries\": {}, \"parse_redact_lines_per_s\": {:.0}, \"ingest_lines_per_s\": {:.0}, \"db_bytes\": {size}, \"raw_bytes\": {}}}",
        format.as_str(),
        entries.len(),
        lines as f64 / parse_s,
        lines as f64 / full_s,
        text.len()
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
