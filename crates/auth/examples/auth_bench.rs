//! Cost of security on the request path (issue 8): bearer-token checks, password logins,
//! audit appends and trail verification on the embedded SQLite store. Run:
//! `cargo run --release -p chainops-auth --example auth_bench`.

use chainops_auth::audit_trail::{AuditTrail, Entry};
use chainops_auth::{Auth, Role};
use chainops_store::Store;
use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("chainops-auth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let store = Store::open(&format!("sqlite://{}/bench.db", dir.display())).await?;
    let auth = Auth::new(store.clone());
    let (_, token) = auth
        .create_token("bench", Role::Viewer, None, "bench", 0)
        .await?;
    // BENCH_SMOKE=1 (bench/smoke.sh): a few of each, to prove the benchmark still runs.
    let smoke = std::env::var("BENCH_SMOKE").is_ok_and(|v| v == "1");
    let n = if smoke { 200 } else { 20_000 };
    let t = Instant::now();
    for i in 0..n {
        auth.token(&token, 1_000 + i).await?;
    }
    let token_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;

    auth.add_user("alice", Role::Operator, "Tr0ub4dor&3x!", 0)
        .await?;
    let logins = if smoke { 2 } else { 20 };
    let t = Instant::now();
    for i in 0..logins {
        auth.login("alice", "Tr0ub4dor&3x!", "127.0.0.1:1", i)
            .await?;
    }
    let login_ms = t.elapsed().as_secs_f64() * 1e3 / logins as f64;

    let trail = AuditTrail::open(store.clone(), &dir)?;
    let records = if smoke { 100 } else { 5_000 };
    let t = Instant::now();
    for i in 0..records {
        let e = Entry {
            actor: "alice".into(),
            role: "operator".into(),
            source: "127.0.0.1:5000".into(),
            action: "silence.create".into(),
            target: format!("s{i}"),
            result: "ok".into(),
            detail: serde_json::json!({}),
        };
        trail.record(e, 1_000 + i).await?;
    }
    let append_us = t.elapsed().as_secs_f64() * 1e6 / records as f64;
    let t = Instant::now();
    let report = trail.verify().await?;
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    assert!(report.ok());
    println!(
        "{{\"token_check_us\": {token_us:.1}, \"login_ms\": {login_ms:.1}, \"audit_append_us\": {append_us:.1}, \"verify_records\": {}, \"verify_ms\": {verify_ms:.1}}}",
        report.records
    );
    let _ = std::fs::remove_dir_all(dir);
    Ok(())
}
