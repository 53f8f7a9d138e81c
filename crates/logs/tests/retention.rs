//! Retention deletes entries past the age limit, then the oldest beyond the size limit.

use chainops_logs::service::enforce_retention;
use chainops_store::Store;
use chainops_store::logs::NewLog;
use std::time::Duration;

const DAY: i64 = 86_400_000;

#[tokio::test]
async fn old_rows_go_by_age_and_the_oldest_go_by_size() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&format!("sqlite://{}/r.db", dir.path().display()))
        .await
        .expect("store");
    let now = 1_800_000_000_000i64;
    let rows: Vec<NewLog> = (0..2000)
        .map(|i| NewLog {
            ts_ms: now - (200 - i / 10) * DAY,
            node: "n".into(),
            chain: "c".into(),
            level: 2,
            message: format!("entry {i} {}", "x".repeat(400)),
            fields: "{}".into(),
            source: "t".into(),
        })
        .collect();
    store.insert_logs(&rows, None, now).await.expect("insert");
    let deleted = enforce_retention(&store, Duration::from_secs(180 * 86_400), None, now)
        .await
        .expect("retention");
    assert_eq!(deleted, 200, "days 200..=181 are past 180 days");
    assert_eq!(store.count_logs().await.expect("count"), 1800);
    let size = store.logs_size_bytes().await.expect("size") as u64;
    let deleted = enforce_retention(
        &store,
        Duration::from_secs(365 * 86_400),
        Some(size / 2),
        now,
    )
    .await
    .expect("retention by size");
    assert!(deleted >= 800, "about half goes: {deleted}");
    let left = store.count_logs().await.expect("count");
    assert!(left > 0 && left <= 1000, "{left}");
}
