//! Tampering with the audit table directly in SQLite (edit, delete, swap, truncate,
//! rewrite) is detected by `verify`, which names the first bad record.

use chainops_auth::audit_trail::{self, AuditTrail, Entry, key_path, public_key, record_hash};
use chainops_store::Store;
use chainops_store::audit::AuditRow;
use serde_json::json;
use sqlx::Connection;

async fn setup(n: usize) -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/a.db", dir.path().display());
    let store = Store::open(&url).await.expect("store");
    let t = AuditTrail::open(store.clone(), dir.path()).expect("trail");
    for i in 0..n {
        let e = Entry {
            actor: "alice".into(),
            role: "operator".into(),
            source: "10.1.1.1:4000".into(),
            action: "silence.create".into(),
            target: format!("silence-{i}"),
            result: "ok".into(),
            detail: json!({"comment": format!("maintenance {i}")}),
        };
        t.record(e, 1_000 * (i as i64 + 1)).await.expect("record");
    }
    t.checkpoint(99_000).await.expect("checkpoint");
    (dir, store, url)
}

async fn tamper(url: &str, sql: &[&str]) {
    let mut c = sqlx::SqliteConnection::connect(url).await.expect("connect");
    for s in sql {
        sqlx::query(sqlx::AssertSqlSafe(s.to_string()))
            .execute(&mut c)
            .await
            .expect(s);
    }
}

async fn first_bad(dir: &tempfile::TempDir, store: &Store) -> (i64, String) {
    let key = public_key(&key_path(dir.path())).expect("key");
    let r = audit_trail::verify(store, &key).await.expect("verify");
    let b = r.first_bad.expect("tampering must be detected");
    (b.seq, b.reason)
}

#[tokio::test]
async fn an_edited_record_is_named() {
    let (dir, store, url) = setup(6).await;
    tamper(
        &url,
        &["UPDATE audit_log SET actor = 'mallory' WHERE seq = 3"],
    )
    .await;
    let (seq, why) = first_bad(&dir, &store).await;
    assert_eq!(seq, 3);
    assert!(why.contains("altered"), "{why}");
}

#[tokio::test]
async fn a_deleted_record_is_named() {
    let (dir, store, url) = setup(6).await;
    tamper(&url, &["DELETE FROM audit_log WHERE seq = 4"]).await;
    let (seq, why) = first_bad(&dir, &store).await;
    assert_eq!(seq, 4);
    assert!(why.contains("missing"), "{why}");
}

#[tokio::test]
async fn swapped_records_are_named() {
    let (dir, store, url) = setup(6).await;
    tamper(
        &url,
        &[
            "UPDATE audit_log SET seq = -2 WHERE seq = 2",
            "UPDATE audit_log SET seq = 2 WHERE seq = 3",
            "UPDATE audit_log SET seq = 3 WHERE seq = -2",
        ],
    )
    .await;
    let (seq, why) = first_bad(&dir, &store).await;
    assert_eq!(seq, 2, "{why}");
}

#[tokio::test]
async fn records_deleted_from_the_end_are_caught_by_the_checkpoint() {
    let (dir, store, url) = setup(6).await;
    tamper(&url, &["DELETE FROM audit_log WHERE seq >= 5"]).await;
    let (seq, why) = first_bad(&dir, &store).await;
    assert_eq!(seq, 5);
    assert!(why.contains("deleted from the end"), "{why}");
}

#[tokio::test]
async fn a_chain_rewritten_without_the_key_is_caught() {
    let (dir, store, url) = setup(6).await;
    // Edit record 2 and recompute every hash after it, as an attacker with database access
    // but without the signing key would.
    tamper(
        &url,
        &["UPDATE audit_log SET result = 'denied' WHERE seq = 2"],
    )
    .await;
    let mut rows: Vec<AuditRow> = store.audit_records(0, 100).await.expect("rows");
    let mut prev = audit_trail::GENESIS.to_string();
    let mut sql = Vec::new();
    for r in rows.iter_mut() {
        r.prev_hash = prev.clone();
        r.hash = record_hash(r);
        prev = r.hash.clone();
        sql.push(format!(
            "UPDATE audit_log SET prev_hash = '{}', hash = '{}' WHERE seq = {}",
            r.prev_hash, r.hash, r.seq
        ));
    }
    let sql: Vec<&str> = sql.iter().map(String::as_str).collect();
    tamper(&url, &sql).await;
    let (seq, why) = first_bad(&dir, &store).await;
    assert!(why.contains("signed checkpoint"), "{why}");
    assert!(seq >= 2, "{seq}");
    // A forged checkpoint (signed by another key) is refused too.
    tamper(
        &url,
        &["UPDATE audit_checkpoints SET signature = substr(signature, 2) || '0'"],
    )
    .await;
    let (_, why) = first_bad(&dir, &store).await;
    assert!(why.contains("invalid signature"), "{why}");
}
