//! Per-file analysis time (parse + every detector), for docs/benchmarks.md:
//! `cargo run --release -p chainops-audit --example timing -- DIR… [--json]`.

use chainops_audit::source::SourceFile;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let mut files = Vec::new();
    let mut stack: Vec<std::path::PathBuf> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .map(Into::into)
        .collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(&p) {
                stack.extend(rd.flatten().map(|e| e.path()));
            }
        } else if p.extension().is_some_and(|x| x == "sol") {
            files.push(p);
        }
    }
    files.sort();
    let mut times = Vec::new();
    let mut failed = 0;
    for f in &files {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        // Best of three: the analysis itself, not the first page faults.
        let mut best = f64::MAX;
        for _ in 0..3 {
            let t = Instant::now();
            let r = chainops_audit::analyze(
                vec![SourceFile::new(f, text.clone())],
                &Default::default(),
            );
            best = best.min(t.elapsed().as_secs_f64() * 1000.0);
            if !r.errors.is_empty() {
                failed += 1;
                break;
            }
        }
        times.push(best);
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        sorted
            .get(((sorted.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    if json {
        println!(
            "{{\"files\": {}, \"parse_failures\": {failed}, \"median_ms\": {:.3}, \"p95_ms\": {:.3}, \"max_ms\": {:.3}, \"total_ms\": {:.1}}}",
            files.len(),
            pct(0.5),
            pct(0.95),
            pct(1.0),
            times.iter().sum::<f64>()
        );
    } else {
        println!(
            "{} files, {failed} parse failures: median {:.2} ms, p95 {:.2} ms, max {:.2} ms per file (parse + all detectors)",
            files.len(),
            pct(0.5),
            pct(0.95),
            pct(1.0)
        );
    }
}
