//! Store specification, run against both backends: SQLite in a temp dir, and PostgreSQL
//! in a fresh database on the cluster named by `CHAINOPS_TEST_POSTGRES_URL` (started by
//! `make test` via `scripts/test-postgres.sh`).

use chainops_store::alerts::{AlertRow, AlertState, DeliveryState, OutboxRow};
use chainops_store::events::NodeEvent;
use chainops_store::series::{HOUR_MS, MINUTE_MS, Resolution, Retention, SeriesChunk};
use chainops_store::{Backend, Store};
use std::time::Duration;

struct TestDb {
    store: Store,
    _dir: Option<tempfile::TempDir>,
    url: String,
}

async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}/nested/chainops.db", dir.path().display());
    TestDb {
        store: Store::open(&url).await.expect("open sqlite"),
        _dir: Some(dir),
        url,
    }
}

async fn postgres() -> TestDb {
    let admin = std::env::var("CHAINOPS_TEST_POSTGRES_URL").expect(
        "CHAINOPS_TEST_POSTGRES_URL is not set: run `make test` (it starts a private PostgreSQL 15 cluster) \
         or export a URL to a server where the user may CREATE DATABASE",
    );
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .expect("connect admin");
    let name = format!("chainops_test_{}_{}", std::process::id(), rand_suffix());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create db");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    let url = format!("{base}/{name}");
    TestDb {
        store: Store::open(&url).await.expect("open postgres"),
        _dir: None,
        url,
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    u64::from(t) * 1000 + N.fetch_add(1, Ordering::Relaxed)
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend { $( #[tokio::test] async fn $name() { super::$name(super::sqlite().await).await } )* }
        mod postgres_backend { $( #[tokio::test] async fn $name() { super::$name(super::postgres().await).await } )* }
    };
}

on_both_backends!(
    migrations_are_idempotent,
    raw_samples_round_trip_and_minutes_roll_up,
    rewriting_a_minute_merges_its_rollup,
    hours_roll_up_from_minutes_idempotently,
    retention_deletes_only_expired_rows,
    events_read_newest_first,
    node_state_is_replaced,
    node_states_save_and_load_in_bulk,
    alert_and_its_notifications_are_written_together,
    deliveries_move_from_pending_to_sent_or_dead,
    claims_hand_each_due_notification_to_one_worker,
    cluster_members_race_for_one_lease,
    silences_match_labels_and_expire,
    incidents_open_collect_a_timeline_and_close,
    users_tokens_and_sessions_round_trip,
    audit_appends_are_serialized_and_pruned,
    logs_are_searchable_by_text_level_fields_and_pages,
    retention_keeps_every_remaining_row_searchable,
    log_searches_agree_with_a_full_scan,
    small_log_batches_fill_the_newest_block,
    equal_times_in_a_later_block_still_rank_first,
    backup_runs_are_recorded_and_read_newest_first,
    login_locks_persist_are_extended_and_expire,
    audit_reports_keep_their_texts_and_list_newest_first,
    bench_runs_keep_their_reports_and_list_newest_first,
    status_incidents_take_their_updates_and_maintenance_lists_by_end,
    tickets_number_save_with_revisions_and_keep_their_history,
    an_erased_requester_leaves_an_anonymous_history,
);

const T0: i64 = 1_764_115_200_000; // 2025-11-26T00:00:00Z, an hour boundary

fn chunk(node: &str, metric: &str, samples: Vec<(i64, f64)>) -> SeriesChunk {
    SeriesChunk {
        node: node.into(),
        metric: metric.into(),
        samples,
    }
}

async fn migrations_are_idempotent(db: TestDb) {
    assert_eq!(
        chainops_store::migrations::version(&db.store)
            .await
            .expect("version"),
        chainops_store::migrations::MIGRATIONS.len() as i64
    );
    let again = Store::open(&db.url).await.expect("reopen");
    assert_eq!(
        chainops_store::migrations::version(&again)
            .await
            .expect("version"),
        chainops_store::migrations::MIGRATIONS.len() as i64
    );
    again.ping().await.expect("ping");
    let expected = if db.url.starts_with("sqlite") {
        Backend::Sqlite
    } else {
        Backend::Postgres
    };
    assert_eq!(again.backend(), expected);
}

async fn raw_samples_round_trip_and_minutes_roll_up(db: TestDb) {
    let a: Vec<(i64, f64)> = (0..60).map(|i| (T0 + i * 1000, 100.0 + i as f64)).collect();
    let b: Vec<(i64, f64)> = (0..60).map(|i| (T0 + i * 1000, 0.25 * i as f64)).collect();
    db.store
        .write_series(&[
            chunk("n1", "height", a.clone()),
            chunk("n1", "gas", b.clone()),
            chunk("n2", "height", vec![]),
        ])
        .await
        .expect("write");

    let raw = db
        .store
        .query_series("n1", "height", T0 + 10_000, T0 + 19_000, Resolution::Raw)
        .await
        .expect("raw");
    assert_eq!(
        raw.iter().map(|p| (p.t, p.v)).collect::<Vec<_>>(),
        a[10..20].to_vec()
    );

    let m = db
        .store
        .query_series("n1", "gas", T0, T0 + MINUTE_MS, Resolution::Minute)
        .await
        .expect("1m");
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].t, m[0].min, m[0].max, m[0].last),
        (T0, Some(0.0), Some(14.75), Some(14.75))
    );
    assert!((m[0].v - 7.375).abs() < 1e-9);
}

async fn rewriting_a_minute_merges_its_rollup(db: TestDb) {
    db.store
        .write_series(&[chunk("n", "h", vec![(T0 + 1000, 5.0), (T0 + 2000, 6.0)])])
        .await
        .expect("first half");
    db.store
        .write_series(&[chunk(
            "n",
            "h",
            vec![(T0 + 40_000, 1.0), (T0 + 41_000, 9.0)],
        )])
        .await
        .expect("second half");
    let m = db
        .store
        .query_series("n", "h", T0, T0, Resolution::Minute)
        .await
        .expect("1m");
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].min, m[0].max, m[0].last),
        (Some(1.0), Some(9.0), Some(9.0))
    );
    assert!((m[0].v - 5.25).abs() < 1e-9);
    let raw = db
        .store
        .query_series("n", "h", T0, T0 + MINUTE_MS, Resolution::Raw)
        .await
        .expect("raw");
    assert_eq!(raw.len(), 4);
}

async fn hours_roll_up_from_minutes_idempotently(db: TestDb) {
    for minute in 0..60 {
        let t = T0 + minute * MINUTE_MS;
        db.store
            .write_series(&[chunk(
                "n",
                "peers",
                vec![(t, minute as f64), (t + 30_000, minute as f64 + 0.5)],
            )])
            .await
            .expect("write");
    }
    assert_eq!(db.store.rollup_hour(T0).await.expect("rollup"), 1);
    assert_eq!(db.store.rollup_hour(T0).await.expect("rollup again"), 1);
    let h = db
        .store
        .query_series("n", "peers", T0, T0 + HOUR_MS, Resolution::Hour)
        .await
        .expect("1h");
    assert_eq!(h.len(), 1);
    assert_eq!(
        (h[0].min, h[0].max, h[0].last),
        (Some(0.0), Some(59.5), Some(59.5))
    );
    assert!((h[0].v - 29.75).abs() < 1e-9);
    assert_eq!(db.store.last_rolled_hour().await.expect("last"), Some(T0));
}

async fn retention_deletes_only_expired_rows(db: TestDb) {
    db.store
        .write_series(&[chunk("n", "h", vec![(T0, 1.0)])])
        .await
        .expect("old");
    db.store
        .write_series(&[chunk("n", "h", vec![(T0 + 3 * HOUR_MS, 2.0)])])
        .await
        .expect("new");
    let retention = Retention {
        raw: Duration::from_secs(3600),
        minute: Duration::from_secs(4 * 3600),
        hour: Duration::from_secs(86_400),
    };
    let report = db
        .store
        .apply_retention(T0 + 3 * HOUR_MS + 1000, &retention)
        .await
        .expect("retention");
    assert_eq!((report.raw_chunks, report.minute_rows), (1, 0));
    let raw = db
        .store
        .query_series("n", "h", 0, i64::MAX / 2, Resolution::Raw)
        .await
        .expect("raw");
    assert_eq!(raw.iter().map(|p| p.v).collect::<Vec<_>>(), vec![2.0]);
    let m = db
        .store
        .query_series("n", "h", 0, i64::MAX / 2, Resolution::Minute)
        .await
        .expect("1m");
    assert_eq!(m.len(), 2);
}

async fn events_read_newest_first(db: TestDb) {
    for (i, depth) in [1, 3, 2].iter().enumerate() {
        let ev = NodeEvent {
            node: "anvil-1".into(),
            chain: "devnet".into(),
            at_ms: T0 + i as i64,
            kind: "reorg".into(),
            detail: serde_json::json!({"depth": depth}),
        };
        db.store.record_event(&ev).await.expect("record");
    }
    let evs = db.store.recent_events("anvil-1", 2).await.expect("read");
    assert_eq!(evs.len(), 2);
    assert_eq!(evs[0].detail["depth"], 2);
    assert_eq!(evs[1].detail["depth"], 3);
    assert!(
        db.store
            .recent_events("other", 10)
            .await
            .expect("read")
            .is_empty()
    );
}

async fn backup_runs_are_recorded_and_read_newest_first(db: TestDb) {
    use chainops_store::backup_runs::BackupRun;
    let run = |job: &str, kind: &str, at: i64, ok: bool| BackupRun {
        job: job.into(),
        node: "anvil-1".into(),
        kind: kind.into(),
        started_ms: at,
        finished_ms: at + 500,
        ok,
        error: (!ok).then(|| "disk full".into()),
        snapshot: ok.then(|| "ab".repeat(32)),
        bytes_read: 1 << 20,
        bytes_added: 4096,
        files: 12,
        detail: serde_json::json!({"mode": "dump"}),
    };
    for r in [
        run("nightly", "backup", T0, true),
        run("nightly", "backup", T0 + 1000, false),
        run("nightly", "drill", T0 + 2000, true),
        run("hourly", "backup", T0 + 3000, true),
    ] {
        db.store.record_backup_run(&r).await.expect("record");
    }
    // Recording the same run twice keeps one row.
    db.store
        .record_backup_run(&run("hourly", "backup", T0 + 3000, true))
        .await
        .expect("idempotent");
    let all = db.store.backup_runs(None, 10).await.expect("all");
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].job, "hourly");
    let nightly = db
        .store
        .backup_runs(Some("nightly"), 10)
        .await
        .expect("one job");
    assert_eq!(nightly.len(), 3);
    assert_eq!(nightly[1], run("nightly", "backup", T0 + 1000, false));
    let last = db
        .store
        .last_backup_run("nightly", "backup", false)
        .await
        .expect("last");
    assert_eq!(last.map(|r| r.ok), Some(false));
    let last_ok = db
        .store
        .last_backup_run("nightly", "backup", true)
        .await
        .expect("last ok");
    assert_eq!(last_ok.map(|r| r.started_ms), Some(T0));
    assert!(
        db.store
            .last_backup_run("none", "drill", false)
            .await
            .expect("none")
            .is_none()
    );
}

async fn node_states_save_and_load_in_bulk(db: TestDb) {
    // More than one statement's worth, a multi-byte name, and a node listed twice (the last
    // document wins; PostgreSQL refuses one statement writing a row twice).
    let mut states: Vec<(String, serde_json::Value)> = (0..700)
        .map(|i| (format!("n{i}"), serde_json::json!({"i": i})))
        .collect();
    states.push(("节点-一".into(), serde_json::json!({"名": "值"})));
    states.insert(10, ("n5".into(), serde_json::json!({"i": "again"})));
    db.store.save_node_states(&states).await.expect("save");
    let mut names: Vec<String> = (0..800).map(|i| format!("n{i}")).collect();
    names.push("节点-一".into());
    let got = db.store.load_node_states(&names).await.expect("load");
    assert_eq!(
        got.len(),
        701,
        "700 saved + the multi-byte one; n700.. were never saved"
    );
    assert_eq!(got["n5"], serde_json::json!({"i": "again"}));
    assert_eq!(got["n699"], serde_json::json!({"i": 699}));
    assert_eq!(got["节点-一"], serde_json::json!({"名": "值"}));
    assert!(
        db.store
            .load_node_states(&[])
            .await
            .expect("none")
            .is_empty()
    );
}

async fn node_state_is_replaced(db: TestDb) {
    assert_eq!(db.store.load_node_state("n").await.expect("load"), None);
    db.store
        .save_node_state("n", &serde_json::json!({"reorgs": 1}))
        .await
        .expect("save");
    db.store
        .save_node_state("n", &serde_json::json!({"reorgs": 2}))
        .await
        .expect("save");
    assert_eq!(
        db.store.load_node_state("n").await.expect("load"),
        Some(serde_json::json!({"reorgs": 2}))
    );
}

fn alert(state: &str) -> AlertRow {
    AlertRow {
        fingerprint: "HeadStalled/anvil-1".into(),
        rule: "HeadStalled".into(),
        node: "anvil-1".into(),
        chain: "devnet".into(),
        severity: "warning".into(),
        state: AlertState::parse(state).expect("state"),
        value: 42.5,
        summary: "stalled".into(),
        description: String::new(),
        labels: serde_json::json!({"team": "ops"}),
        active_since_ms: T0,
        fired_at_ms: (state != "pending").then_some(T0 + 10),
        last_true_ms: T0 + 10,
        resolved_at_ms: (state == "resolved").then_some(T0 + 20),
        updated_ms: T0 + 20,
        inhibited_by: None,
    }
}

fn notification(id: &str, event: &str) -> OutboxRow {
    OutboxRow {
        id: id.into(),
        fingerprint: "HeadStalled/anvil-1".into(),
        channel: "hook".into(),
        event: event.into(),
        payload: "{}".into(),
        created_ms: T0,
        attempts: 0,
        next_attempt_ms: T0,
        state: DeliveryState::Pending,
        last_error: None,
        done_ms: None,
    }
}

async fn alert_and_its_notifications_are_written_together(db: TestDb) {
    db.store
        .save_alert(&alert("pending"), &[], None)
        .await
        .expect("pending");
    db.store
        .save_alert(&alert("firing"), &[notification("n1", "firing")], None)
        .await
        .expect("firing");
    assert_eq!(
        db.store.active_alerts().await.expect("active"),
        vec![alert("firing")]
    );
    // An id already in the outbox is the same event: skipped, never sent twice.
    assert_eq!(
        db.store
            .enqueue_notifications(&[notification("n1", "firing"), notification("n3", "firing")])
            .await
            .expect("enqueue"),
        1
    );
    db.store
        .save_alert(&alert("resolved"), &[notification("n2", "resolved")], None)
        .await
        .expect("resolved");
    assert!(db.store.active_alerts().await.expect("active").is_empty());
    assert_eq!(db.store.list_alerts(T0).await.expect("list").len(), 1);
    assert!(
        db.store
            .list_alerts(T0 + 21)
            .await
            .expect("list")
            .is_empty()
    );
}

async fn claims_hand_each_due_notification_to_one_worker(db: TestDb) {
    let rows: Vec<OutboxRow> = (0..40)
        .map(|i| notification(&format!("n{i:02}"), "firing"))
        .collect();
    db.store
        .save_alert(&alert("firing"), &rows, None)
        .await
        .expect("save");
    // Two workers claim at once (a cluster's old and new leader): disjoint sets, all taken.
    let (a, b) = tokio::join!(
        db.store.claim_due_notifications(T0, 25, T0 + 60_000),
        db.store.claim_due_notifications(T0, 25, T0 + 60_000)
    );
    let (a, b) = (a.expect("claim a"), b.expect("claim b"));
    let mut ids: Vec<&str> = a.iter().chain(&b).map(|n| n.id.as_str()).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    assert_eq!(before, ids.len(), "a row was claimed twice");
    assert_eq!(ids.len(), 40);
    assert!(a.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    // Claimed rows are not due until the claim ends; released ones are due again.
    assert!(
        db.store
            .due_notifications(T0 + 59_999, 100)
            .await
            .expect("due")
            .is_empty()
    );
    db.store
        .release_notifications(&["n00", "n01"], T0)
        .await
        .expect("release");
    let again = db
        .store
        .claim_due_notifications(T0, 100, T0 + 60_000)
        .await
        .expect("claim");
    assert_eq!(
        again.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        vec!["n00", "n01"]
    );
    // A worker that died holding a claim: the rows come back when it ends.
    assert_eq!(
        db.store
            .due_notifications(T0 + 60_000, 100)
            .await
            .expect("due")
            .len(),
        40
    );
}

async fn cluster_members_race_for_one_lease(db: TestDb) {
    let mut tries = tokio::task::JoinSet::new();
    for i in 0..8 {
        let s = db.store.clone();
        tries.spawn(async move { s.cluster_try_lead(&format!("m{i}"), 30_000).await });
    }
    let mut leaders = std::collections::BTreeSet::new();
    while let Some(r) = tries.join_next().await {
        leaders.insert(r.expect("join").expect("try lead").member);
    }
    assert_eq!(
        leaders.len(),
        1,
        "every racer sees the same single leader: {leaders:?}"
    );
    let lease = db
        .store
        .cluster_leader()
        .await
        .expect("lease")
        .expect("held");
    assert_eq!(lease.epoch, 1);
}

async fn deliveries_move_from_pending_to_sent_or_dead(db: TestDb) {
    db.store
        .save_alert(
            &alert("firing"),
            &[notification("a", "firing"), notification("b", "firing")],
            None,
        )
        .await
        .expect("save");
    let due = db.store.due_notifications(T0, 10).await.expect("due");
    assert_eq!(
        due.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
        vec!["a", "b"]
    );
    db.store
        .record_delivery("a", DeliveryState::Sent, 1, T0, None, T0 + 1)
        .await
        .expect("sent");
    db.store
        .record_delivery(
            "b",
            DeliveryState::Pending,
            1,
            T0 + 5_000,
            Some("HTTP 500"),
            T0 + 1,
        )
        .await
        .expect("retry");
    assert!(
        db.store
            .due_notifications(T0 + 4_999, 10)
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        db.store
            .due_notifications(T0 + 5_000, 10)
            .await
            .expect("due")[0]
            .last_error
            .as_deref(),
        Some("HTTP 500")
    );
    db.store
        .record_delivery(
            "b",
            DeliveryState::Dead,
            2,
            T0 + 5_000,
            Some("gave up"),
            T0 + 6_000,
        )
        .await
        .expect("dead");
    let dead = db
        .store
        .list_notifications(Some(DeliveryState::Dead), 10)
        .await
        .expect("dead");
    assert_eq!((dead.len(), dead[0].done_ms), (1, Some(T0 + 6_000)));
    assert_eq!(
        db.store
            .list_notifications(None, 10)
            .await
            .expect("all")
            .len(),
        2
    );
}

async fn silences_match_labels_and_expire(db: TestDb) {
    use chainops_store::silences::SilenceRow;
    let s = SilenceRow {
        id: "s1".into(),
        matchers: [("node".to_string(), "anvil-1".to_string())]
            .into_iter()
            .collect(),
        comment: "maintenance".into(),
        created_by: "ops".into(),
        starts_ms: T0,
        ends_ms: T0 + 3_600_000,
        created_ms: T0,
    };
    db.store.create_silence(&s).await.expect("create");
    let active = db.store.active_silences(T0 + 1).await.expect("active");
    assert_eq!(active, vec![s.clone()]);
    let labels = |node: &str| {
        [
            ("node".to_string(), node.to_string()),
            ("alertname".to_string(), "X".to_string()),
        ]
        .into_iter()
        .collect()
    };
    assert!(active[0].matches(&labels("anvil-1")) && !active[0].matches(&labels("other")));
    assert!(
        db.store
            .active_silences(T0 + 3_600_000)
            .await
            .expect("later")
            .is_empty()
    );
    assert!(
        db.store
            .expire_silence("s1", T0 + 10)
            .await
            .expect("expire")
    );
    assert!(!db.store.expire_silence("s1", T0 + 20).await.expect("again"));
    assert!(
        db.store
            .active_silences(T0 + 11)
            .await
            .expect("after")
            .is_empty()
    );
}

async fn incidents_open_collect_a_timeline_and_close(db: TestDb) {
    use chainops_store::incidents::IncidentUpdate;
    let update = |kind: &str, close: bool, at: i64| IncidentUpdate {
        chain: "devnet".into(),
        node: "anvil-1".into(),
        kind: kind.into(),
        detail: serde_json::json!({"rule": "HeadStalled"}),
        close,
        at_ms: at,
    };
    db.store
        .save_alert(
            &alert("firing"),
            &[notification("n1", "firing")],
            Some(&update("firing", false, T0)),
        )
        .await
        .expect("fire");
    db.store
        .incident_event_for_alert(
            "HeadStalled/anvil-1",
            "notified",
            &serde_json::json!({"channel": "hook"}),
            T0 + 1,
        )
        .await
        .expect("notified");
    let open = db.store.list_incidents(T0).await.expect("list");
    assert_eq!(open.len(), 1);
    let id = open[0].id.clone();
    assert!(
        db.store
            .acknowledge_incident(&id, "alice", "on it", T0 + 3_600_000, T0 + 2)
            .await
            .expect("ack")
    );
    assert!(
        !db.store
            .acknowledge_incident("missing", "a", "b", T0, T0)
            .await
            .expect("ack missing")
    );
    db.store
        .save_alert(
            &alert("resolved"),
            &[],
            Some(&update("resolved", true, T0 + 3)),
        )
        .await
        .expect("resolve");
    let all = db.store.list_incidents(T0).await.expect("list");
    assert_eq!(
        (all.len(), all[0].state.as_str(), all[0].resolved_ms),
        (1, "resolved", Some(T0 + 3))
    );
    assert_eq!(all[0].ack_by.as_deref(), Some("alice"));
    let kinds: Vec<&str> = all[0].events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec![
            "opened",
            "firing",
            "notified",
            "acknowledged",
            "resolved",
            "closed"
        ]
    );
    assert_eq!(
        db.store.incident(&id).await.expect("one").as_ref(),
        Some(&all[0])
    );
    assert_eq!(db.store.incident("missing").await.expect("none"), None);
}

async fn users_tokens_and_sessions_round_trip(db: TestDb) {
    use chainops_store::users::{SessionRow, TokenRow, UserRow};
    let u = UserRow {
        name: "alice".into(),
        role: "operator".into(),
        password_hash: "$argon2id$x".into(),
        created_ms: T0,
        updated_ms: T0,
    };
    db.store.create_user(&u).await.expect("create");
    assert!(matches!(
        db.store.create_user(&u).await,
        Err(chainops_store::StoreError::Conflict(_))
    ));
    assert_eq!(db.store.count_users().await.expect("count"), 1);
    assert!(
        db.store
            .update_user("alice", Some("viewer"), None, T0 + 1)
            .await
            .expect("update")
    );
    assert_eq!(
        db.store
            .user("alice")
            .await
            .expect("read")
            .expect("some")
            .role,
        "viewer"
    );
    let t = TokenRow {
        id: "t1".into(),
        name: "ci".into(),
        role: "viewer".into(),
        hash: "h1".into(),
        created_by: "cli:root".into(),
        created_ms: T0,
        expires_ms: None,
        revoked_ms: None,
        last_used_ms: None,
    };
    db.store.create_token(&t).await.expect("token");
    db.store.touch_token("t1", T0 + 5).await.expect("touch");
    assert_eq!(
        db.store
            .token_by_hash("h1")
            .await
            .expect("read")
            .expect("some")
            .last_used_ms,
        Some(T0 + 5)
    );
    assert!(db.store.revoke_token("t1", T0 + 6).await.expect("revoke"));
    assert!(
        !db.store
            .revoke_token("t1", T0 + 7)
            .await
            .expect("revoke twice")
    );
    let s = SessionRow {
        id_hash: "s1".into(),
        user_name: "alice".into(),
        csrf: "c".into(),
        created_ms: T0,
        expires_ms: T0 + 100,
        last_seen_ms: T0,
    };
    db.store.create_session(&s).await.expect("session");
    assert!(
        db.store
            .session("s1", T0 + 50)
            .await
            .expect("read")
            .is_some()
    );
    assert!(
        db.store
            .session("s1", T0 + 100)
            .await
            .expect("read")
            .is_none(),
        "expired"
    );
    assert!(db.store.delete_user("alice").await.expect("delete"));
    assert!(
        db.store
            .session("s1", T0 + 50)
            .await
            .expect("read")
            .is_none(),
        "sessions go with the user"
    );
}

async fn audit_appends_are_serialized_and_pruned(db: TestDb) {
    use chainops_store::audit::{AuditRow, CheckpointRow};
    let row = |seq: i64, prev: Option<String>| AuditRow {
        seq: seq + 1,
        at_ms: T0 + seq,
        actor: "a".into(),
        role: "admin".into(),
        source: "local".into(),
        action: "x".into(),
        target: "t".into(),
        result: "ok".into(),
        detail: "{}".into(),
        prev_hash: prev.unwrap_or_default(),
        hash: format!("h{}", seq + 1),
    };
    for _ in 0..3 {
        db.store.append_audit(row).await.expect("append");
    }
    let all = db.store.audit_records(0, 10).await.expect("read");
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(all[2].prev_hash, "h2");
    // A writer that read a stale head loses: the sequence number is taken.
    let stale = db.store.append_audit(|_, _| row(0, None)).await;
    assert!(matches!(
        stale,
        Err(chainops_store::StoreError::Conflict(_))
    ));
    db.store
        .add_checkpoint(&CheckpointRow {
            seq: 2,
            hash: "h2".into(),
            at_ms: T0,
            public_key: "pk".into(),
            signature: "sig".into(),
        })
        .await
        .expect("checkpoint");
    assert_eq!(db.store.checkpoints().await.expect("read").len(), 1);
    assert_eq!(db.store.prune_audit(2).await.expect("prune"), 2);
    assert_eq!(
        db.store.audit_head().await.expect("head").map(|r| r.seq),
        Some(3)
    );
    assert_eq!(
        db.store
            .audit_records_since(T0 + 2, 10)
            .await
            .expect("since")
            .len(),
        1
    );
}

/// Rows are indexed in chunks: pruning part of a chunk must leave the rest findable, and a
/// chunk whose rows are all gone must leave no index entry behind.
async fn retention_keeps_every_remaining_row_searchable(db: TestDb) {
    use chainops_store::logs::{LogQuery, NewLog};
    let rows: Vec<NewLog> = (0..100)
        .map(|i| NewLog {
            ts_ms: T0 + i * 1000,
            node: "geth-1".into(),
            chain: "devnet".into(),
            level: 2,
            message: format!("block imported marker{i:03}x"),
            fields: "{}".into(),
            source: "test".into(),
        })
        .collect();
    db.store.insert_logs(&rows, None, T0).await.expect("insert");
    let find = |needle: &str| LogQuery {
        from_ms: 0,
        to_ms: i64::MAX,
        text: vec![needle.into()],
        limit: 1000,
        ..LogQuery::default()
    };
    // Delete rows 0..45: that cuts through the second chunk of 32.
    let pruned = db
        .store
        .prune_logs_before(T0 + 45_000)
        .await
        .expect("prune");
    assert_eq!(pruned, 45);
    for (needle, hits) in [
        ("marker044x", 0),
        ("marker045x", 1),
        ("marker063x", 1),
        ("marker099x", 1),
        ("marker0", 55),
    ] {
        let got = db.store.search_logs(&find(needle)).await.expect("search");
        assert_eq!(got.len(), hits, "{needle}");
    }
    db.store
        .prune_logs_before(T0 + 1_000_000)
        .await
        .expect("prune all");
    assert!(
        db.store
            .search_logs(&find("marker"))
            .await
            .expect("search")
            .is_empty()
    );
    let docs = db
        .store
        .log_index_documents()
        .await
        .expect("count index documents");
    assert_eq!(docs, 0, "no index entries outlive their rows");
}

async fn logs_are_searchable_by_text_level_fields_and_pages(db: TestDb) {
    use chainops_store::logs::{LogPosition, LogQuery, NewLog};
    let log = |i: i64, node: &str, level: i64, message: &str, fields: &str| NewLog {
        ts_ms: T0 + i,
        node: node.into(),
        chain: "devnet".into(),
        level,
        message: message.into(),
        fields: fields.into(),
        source: "test".into(),
    };
    let rows = vec![
        log(
            1,
            "geth-1",
            2,
            "Imported new chain segment",
            r#"{"height":"100"}"#,
        ),
        log(2, "geth-1", 3, "nonce too low for sender", "{}"),
        log(3, "geth-2", 4, "同步失败：节点连接超时", "{}"),
        log(4, "geth-2", 2, "ok", r#"{"height":"101"}"#),
        log(5, "geth-1", 4, "Nonce too low again", "{}"),
    ];
    let pos = LogPosition {
        source: "test".into(),
        file_id: "1:2".into(),
        offset: 4096,
    };
    db.store
        .insert_logs(&rows, Some(&pos), T0)
        .await
        .expect("insert");
    assert_eq!(db.store.log_position("test").await.expect("pos"), Some(pos));
    let q = |text: &[&str]| LogQuery {
        from_ms: T0,
        to_ms: T0 + 100,
        text: text.iter().map(|t| t.to_string()).collect(),
        limit: 100,
        ..LogQuery::default()
    };
    let msgs = |rows: Vec<chainops_store::logs::LogRow>| {
        rows.into_iter().map(|r| r.message).collect::<Vec<_>>()
    };
    assert_eq!(
        msgs(
            db.store
                .search_logs(&q(&["nonce too low"]))
                .await
                .expect("search")
        ),
        vec!["Nonce too low again", "nonce too low for sender"],
        "case-insensitive substring, newest first"
    );
    assert_eq!(
        msgs(db.store.search_logs(&q(&["连接超时"])).await.expect("cjk")),
        vec!["同步失败：节点连接超时"]
    );
    assert_eq!(
        msgs(db.store.search_logs(&q(&["ok"])).await.expect("short")),
        vec!["ok"],
        "short terms use LIKE"
    );
    assert_eq!(
        msgs(
            db.store
                .search_logs(&q(&["100"]))
                .await
                .expect("field text")
        ),
        vec!["Imported new chain segment"],
        "field values are searchable as text"
    );
    let mut warn = q(&[]);
    warn.min_level = Some(3);
    warn.nodes = vec!["geth-1".into()];
    assert_eq!(db.store.search_logs(&warn).await.expect("level").len(), 2);
    let mut field = q(&[]);
    field.fields = vec![("height".into(), "101".into())];
    assert_eq!(
        msgs(db.store.search_logs(&field).await.expect("field")),
        vec!["ok"]
    );
    let mut page = q(&[]);
    page.limit = 2;
    let first = db.store.search_logs(&page).await.expect("page 1");
    page.before = first.last().map(|r| (r.ts_ms, r.id));
    let second = db.store.search_logs(&page).await.expect("page 2");
    assert_eq!((first.len(), second.len(), second[0].ts_ms), (2, 2, T0 + 3));
    assert_eq!(db.store.prune_logs_before(T0 + 3).await.expect("prune"), 2);
    assert_eq!(db.store.count_logs().await.expect("count"), 3);
    assert!(
        db.store
            .search_logs(&q(&["sender"]))
            .await
            .expect("gone")
            .is_empty(),
        "the index follows deletions"
    );
    assert_eq!(
        db.store.prune_oldest_logs(1).await.expect("prune oldest"),
        1
    );
    assert!(db.store.logs_size_bytes().await.expect("size") > 0);
}

/// Rows in many batches (single rows appended to the newest block, large batches split
/// into blocks) with timestamps out of order: every search and every page equals a
/// brute-force filter of the same rows, newest first.
async fn log_searches_agree_with_a_full_scan(db: TestDb) {
    use chainops_store::logs::{LogQuery, LogRow, NewLog};
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let words = [
        "peer", "block", "Imported", "nonce", "too", "low", "区块", "同步",
    ];
    let mut written = 0;
    // 20,000 rows put common terms in more chunks than are looked up one by one, so the
    // block-header pages are walked with the index's candidates as well.
    // Times mostly follow ingest order, four rows per 10 ms step (ties), with jitter; one
    // batch arrives late with old times.
    let mut step = 0i64;
    for batch in [1usize, 1, 3, 1500, 1, 2, 40, 20_000, 700, 1, 1, 9] {
        let late = batch == 700;
        let rows: Vec<NewLog> = (0..batch)
            .map(|_| {
                let msg: Vec<&str> = (0..4).map(|_| words[next(8) as usize]).collect();
                step += 1;
                let ts = if late {
                    T0 + next(20_000) as i64 / 10 * 10
                } else {
                    T0 + step / 4 * 10 - next(3) as i64 * 10
                };
                NewLog {
                    ts_ms: ts,
                    node: ["geth-1", "geth-2", "btc-1"][next(3) as usize].into(),
                    chain: if next(2) == 0 { "dev" } else { "main" }.into(),
                    level: next(5) as i64,
                    message: format!("{} tag{:03}", msg.join(" "), next(300)),
                    fields: format!(r#"{{"height":"{}"}}"#, next(20)),
                    source: "test".into(),
                }
            })
            .collect();
        written += rows.len();
        db.store.insert_logs(&rows, None, T0).await.expect("insert");
    }
    let all = db.store.logs_after(0, 100_000).await.expect("all rows");
    assert_eq!(all.len(), written);
    assert!(
        all.windows(2).all(|w| w[0].id < w[1].id),
        "tail order is id order"
    );

    let expect = |q: &LogQuery| -> Vec<LogRow> {
        let mut rows: Vec<LogRow> = all
            .iter()
            .filter(|r| r.ts_ms >= q.from_ms && r.ts_ms < q.to_ms)
            .filter(|r| q.nodes.is_empty() || q.nodes.contains(&r.node))
            .filter(|r| q.chains.is_empty() || q.chains.contains(&r.chain))
            .filter(|r| q.min_level.is_none_or(|l| r.level >= l))
            .filter(|r| q.max_level.is_none_or(|l| r.level <= l))
            .filter(|r| {
                q.fields
                    .iter()
                    .all(|(k, v)| r.fields == format!(r#"{{"{k}":"{v}"}}"#))
            })
            .filter(|r| {
                let hay = format!("{} {}", r.message, r.fields).to_lowercase();
                q.text.iter().all(|t| hay.contains(&t.to_lowercase()))
            })
            .cloned()
            .collect();
        rows.sort_by_key(|r| std::cmp::Reverse((r.ts_ms, r.id)));
        rows
    };
    let base = LogQuery {
        from_ms: T0,
        to_ms: T0 + 60_000,
        limit: 25,
        ..LogQuery::default()
    };
    let queries = vec![
        base.clone(),
        LogQuery {
            text: vec!["nonce too".into()],
            ..base.clone()
        },
        LogQuery {
            text: vec!["tag042".into()],
            limit: 1000,
            ..base.clone()
        },
        LogQuery {
            text: vec!["IMPORTED block".into(), "区块".into()],
            ..base.clone()
        },
        LogQuery {
            text: vec!["ow".into()],
            nodes: vec!["btc-1".into()],
            ..base.clone()
        },
        LogQuery {
            min_level: Some(3),
            chains: vec!["main".into()],
            ..base.clone()
        },
        LogQuery {
            max_level: Some(1),
            from_ms: T0 + 10_000,
            to_ms: T0 + 20_000,
            ..base.clone()
        },
        LogQuery {
            fields: vec![("height".into(), "7".into())],
            ..base.clone()
        },
        LogQuery {
            text: vec!["tag299".into()],
            nodes: vec!["geth-2".into(), "geth-1".into()],
            ..base.clone()
        },
        LogQuery {
            text: vec!["no such words".into()],
            ..base.clone()
        },
    ];
    for q in &queries {
        let want = expect(q);
        let got = db.store.search_logs(q).await.expect("search");
        let ids = |rows: &[LogRow]| rows.iter().map(|r| r.id).collect::<Vec<_>>();
        let limit = q.limit as usize;
        assert_eq!(ids(&got), ids(&want[..want.len().min(limit)]), "{q:?}");
        // Walking the pages returns every row exactly once, in order (first 40 pages).
        let mut paged: Vec<LogRow> = Vec::new();
        let mut page = LogQuery {
            limit: 7,
            ..q.clone()
        };
        for _ in 0..40 {
            let rows = db.store.search_logs(&page).await.expect("page");
            let Some(last) = rows.last() else { break };
            page.before = Some((last.ts_ms, last.id));
            paged.extend(rows);
        }
        assert_eq!(
            ids(&paged),
            ids(&want[..want.len().min(280)]),
            "pages of {q:?}"
        );
    }
}

/// A live tail's one-line batches are appended to the newest block (while it is small)
/// instead of making a block each; the rows stay in order and searchable.
async fn small_log_batches_fill_the_newest_block(db: TestDb) {
    use chainops_store::logs::{LogQuery, NewLog};
    for i in 0..300 {
        let row = NewLog {
            ts_ms: T0 + i,
            node: "anvil-1".into(),
            chain: "dev".into(),
            level: 2,
            message: format!("line {i:04}"),
            fields: "{}".into(),
            source: "managed:anvil-1".into(),
        };
        db.store
            .insert_logs(&[row], None, T0)
            .await
            .expect("insert");
    }
    assert_eq!(db.store.log_block_count().await.expect("blocks"), 2);
    let rows = db.store.logs_after(250, 10).await.expect("after");
    assert_eq!(
        rows.iter().map(|r| r.message.as_str()).collect::<Vec<_>>(),
        (250..260)
            .map(|i| format!("line {i:04}"))
            .collect::<Vec<_>>()
    );
    let q = LogQuery {
        from_ms: 0,
        to_ms: i64::MAX,
        text: vec!["line 0123".into()],
        limit: 10,
        ..LogQuery::default()
    };
    let hit = db.store.search_logs(&q).await.expect("search");
    assert_eq!(hit.len(), 1);
    assert_eq!(hit[0].id, 124, "ids count from 1 in insertion order");
    assert_eq!(db.store.prune_oldest_logs(10).await.expect("oldest"), 10);
    assert_eq!(db.store.count_logs().await.expect("count"), 290);
}

/// Rows sharing a timestamp rank by id: a block read later (lower `ts_max`) whose rows
/// tie with the page's oldest row but have higher ids must still be read.
async fn equal_times_in_a_later_block_still_rank_first(db: TestDb) {
    use chainops_store::logs::{LogQuery, NewLog};
    let rows = |n: usize, last_ts: i64| -> Vec<NewLog> {
        (0..n)
            .map(|i| NewLog {
                ts_ms: if i + 1 == n { last_ts } else { T0 + 100 },
                node: "geth-1".into(),
                chain: "dev".into(),
                level: 2,
                message: format!("row {i}"),
                fields: "{}".into(),
                source: "test".into(),
            })
            .collect()
    };
    // More blocks ending later than one fetch round reads, then one ending at the tie.
    for _ in 0..17 {
        db.store
            .insert_logs(&rows(256, T0 + 200), None, T0)
            .await
            .expect("insert");
    }
    db.store
        .insert_logs(&rows(256, T0 + 100), None, T0)
        .await
        .expect("insert");
    let q = LogQuery {
        from_ms: 0,
        to_ms: i64::MAX,
        limit: 20,
        ..LogQuery::default()
    };
    let got = db.store.search_logs(&q).await.expect("search");
    let last = 18 * 256;
    let want: Vec<i64> = (0..17)
        .rev()
        .map(|b| (b + 1) * 256)
        .chain((last - 2..=last).rev())
        .collect();
    assert_eq!(got.iter().map(|r| r.id).collect::<Vec<_>>(), want);
}

async fn login_locks_persist_are_extended_and_expire(db: TestDb) {
    let s = &db.store;
    assert_eq!(
        s.login_locked_until(&["user:a"], T0).await.expect("read"),
        None
    );
    s.lock_login("user:a", T0 + 60_000, T0).await.expect("lock");
    s.lock_login("ip:10.0.0.1", T0 + 30_000, T0)
        .await
        .expect("lock");
    assert_eq!(
        s.login_locked_until(&["user:a", "ip:10.0.0.1"], T0)
            .await
            .expect("read"),
        Some(T0 + 60_000)
    );
    // Locking again extends; an expired lock no longer counts and is dropped.
    s.lock_login("user:a", T0 + 90_000, T0 + 1)
        .await
        .expect("relock");
    assert_eq!(
        s.login_locked_until(&["user:a"], T0 + 70_000)
            .await
            .expect("read"),
        Some(T0 + 90_000)
    );
    assert_eq!(
        s.login_locked_until(&["ip:10.0.0.1"], T0 + 40_000)
            .await
            .expect("read"),
        None
    );
}

async fn audit_reports_keep_their_texts_and_list_newest_first(db: TestDb) {
    use chainops_store::audit_reports::AuditReportRow;
    let report = |id: &str, at: i64| AuditReportRow {
        id: id.into(),
        created_ms: at,
        actor: "user:alice".into(),
        name: "银行.sol".into(),
        high: 1,
        medium: 0,
        low: 2,
        errors: 0,
        source: "contract Bank { /* ü 区块 */ }".into(),
        report: "{\"findings\":[]}".into(),
        sarif: "{\"runs\":[]}".into(),
    };
    db.store
        .save_audit_report(&report("a", T0))
        .await
        .expect("save a");
    db.store
        .save_audit_report(&report("b", T0 + 1))
        .await
        .expect("save b");
    assert!(
        db.store
            .save_audit_report(&report("a", T0 + 2))
            .await
            .is_err(),
        "ids are unique"
    );
    let list = db.store.audit_reports(10).await.expect("list");
    assert_eq!(
        list.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
    assert!(list[0].source.is_empty(), "the list leaves the texts out");
    let full = db
        .store
        .audit_report("a")
        .await
        .expect("get")
        .expect("found");
    assert_eq!(
        (full.name.as_str(), full.source.as_str(), full.low),
        ("银行.sol", "contract Bank { /* ü 区块 */ }", 2)
    );
    assert!(db.store.audit_report("zz").await.expect("get").is_none());
}

async fn bench_runs_keep_their_reports_and_list_newest_first(db: TestDb) {
    use chainops_store::bench_runs::BenchRunRow;
    let run = |id: &str, at: i64| BenchRunRow {
        id: id.into(),
        created_ms: at,
        actor: "token:ci".into(),
        started_at: "2025-11-26T00:00:00Z".into(),
        workload: "eth-transfer".into(),
        target: "http://127.0.0.1:8545".into(),
        chain: "evm 31337".into(),
        client: "anvil/v1 — 区块".into(),
        rounds: 2,
        submitted: 3000,
        confirmed: 2990,
        failed: 10,
        throughput: 1421.25,
        p95: 1.74,
        bottleneck: "gas_limit".into(),
        report: "{\"rounds\":[]}".into(),
    };
    db.store
        .save_bench_run(&run("a", T0))
        .await
        .expect("save a");
    db.store
        .save_bench_run(&run("b", T0 + 1))
        .await
        .expect("save b");
    assert!(
        db.store.save_bench_run(&run("a", T0 + 2)).await.is_err(),
        "ids are unique"
    );
    let list = db.store.bench_runs(10).await.expect("list");
    assert_eq!(
        list.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        ["b", "a"]
    );
    assert!(list[0].report.is_empty(), "the list leaves the report out");
    assert_eq!(db.store.bench_runs(1).await.expect("list").len(), 1);
    let full = db.store.bench_run("a").await.expect("get").expect("found");
    assert_eq!(
        (
            full.client.as_str(),
            full.report.as_str(),
            full.throughput,
            full.p95
        ),
        ("anvil/v1 — 区块", "{\"rounds\":[]}", 1421.25, 1.74)
    );
    assert!(db.store.bench_run("zz").await.expect("get").is_none());
}

async fn status_incidents_take_their_updates_and_maintenance_lists_by_end(db: TestDb) {
    use chainops_store::status_page::{MaintenanceRow, StatusIncidentRow, StatusUpdateRow};
    let opened = StatusIncidentRow {
        id: "i1".into(),
        chain: "devnet".into(),
        title: "区块停止 — blocks stalled".into(),
        state: "investigating".into(),
        created_ms: T0,
        updated_ms: T0,
        resolved_ms: None,
        postmortem: String::new(),
        created_by: "alice".into(),
    };
    let update = |at: i64, state: &str, body: &str| StatusUpdateRow {
        incident_id: "i1".into(),
        at_ms: at,
        state: state.into(),
        body: body.into(),
        author: "alice".into(),
    };
    db.store
        .open_status_incident(&opened, &update(T0, "investigating", "looking"))
        .await
        .expect("open");
    assert!(
        db.store
            .add_status_update(&update(T0 + 10, "identified", "found it"))
            .await
            .expect("update")
    );
    assert!(
        db.store
            .add_status_update(&update(T0 + 10, "resolved", "fixed"))
            .await
            .expect("resolve")
    );
    let mut missing = update(T0, "resolved", "x");
    missing.incident_id = "nope".into();
    assert!(
        !db.store
            .add_status_update(&missing)
            .await
            .expect("no incident")
    );
    assert!(
        db.store
            .set_postmortem("i1", "## Cause\n磁盘满")
            .await
            .expect("pm")
    );
    assert!(!db.store.set_postmortem("nope", "x").await.expect("pm"));
    let (i, updates) = db
        .store
        .status_incident("i1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        (i.state.as_str(), i.resolved_ms),
        ("resolved", Some(T0 + 10))
    );
    assert_eq!(i.postmortem, "## Cause\n磁盘满");
    assert_eq!(
        updates.iter().map(|u| u.body.as_str()).collect::<Vec<_>>(),
        ["fixed", "found it", "looking"],
        "newest first, equal times by order of writing"
    );
    assert_eq!(
        db.store
            .status_incidents(T0 + 11)
            .await
            .expect("list")
            .len(),
        0,
        "resolved before"
    );
    assert_eq!(db.store.status_incidents(T0).await.expect("list").len(), 1);
    let window = |id: &str, starts: i64, ends: i64| MaintenanceRow {
        id: id.into(),
        chain: "devnet".into(),
        title: "upgrade".into(),
        starts_ms: starts,
        ends_ms: ends,
        silence_id: "s".into(),
        created_by: "alice".into(),
    };
    db.store
        .create_maintenance(&window("m2", T0 + 50, T0 + 60))
        .await
        .expect("m2");
    db.store
        .create_maintenance(&window("m1", T0 + 10, T0 + 20))
        .await
        .expect("m1");
    db.store
        .create_maintenance(&window("m0", T0 - 20, T0 - 10))
        .await
        .expect("m0");
    let list = db.store.maintenance_windows(T0).await.expect("list");
    assert_eq!(
        list.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
        ["m1", "m2"]
    );
}

fn ticket_row(subject: &str, requester: &str) -> chainops_store::tickets::TicketRow {
    chainops_store::tickets::TicketRow {
        subject: subject.into(),
        category: "rpc".into(),
        chain: "dev".into(),
        priority: "P2".into(),
        state: "new".into(),
        team: "tier1".into(),
        requester_id: requester.into(),
        channel: "portal".into(),
        tags: vec!["rpc".into()],
        link_hash: format!("hash-{subject}"),
        created_ms: T0,
        updated_ms: T0,
        sla: "ok".into(),
        ..Default::default()
    }
}

fn first_message(id: &str) -> chainops_store::tickets::MessageRow {
    chainops_store::tickets::MessageRow {
        id: id.into(),
        at_ms: T0,
        author_kind: "requester".into(),
        author: "r1".into(),
        public: true,
        body: "eth_call 超时 50% of the time".into(),
        email_id: format!("<{id}@mail.example>"),
        ..Default::default()
    }
}

async fn tickets_number_save_with_revisions_and_keep_their_history(db: TestDb) {
    use chainops_store::tickets::{AttachmentRow, MessageRow, TicketEventRow, TicketFilter};
    let s = &db.store;
    let file = AttachmentRow {
        id: "a1".into(),
        name: "trace.log".into(),
        content_type: "text/plain".into(),
        data: vec![0, 1, 2, 255],
        ..Default::default()
    };
    let a = s
        .create_ticket(
            &ticket_row("RPC 100% 超时", "r1"),
            &first_message("m1"),
            &[file],
            &|id| vec![notification(&format!("mail/{id}/opened"), "mail")],
        )
        .await
        .expect("create");
    let b = s
        .create_ticket(
            &ticket_row("blocks stalled_", "r2"),
            &first_message("m2"),
            &[],
            &|_| vec![],
        )
        .await
        .expect("create");
    assert_eq!((a, b), (1, 2));
    let mut t = s.ticket(a).await.expect("read").expect("exists");
    assert_eq!((t.rev, t.tags.clone()), (1, vec!["rpc".to_string()]));
    // A save names the revision it read; a stale one is refused.
    let stale = t.clone();
    t.state = "open".into();
    t.assignee = "alice".into();
    t.updated_ms = T0 + 10;
    let reply = MessageRow {
        id: "m3".into(),
        ticket_id: a,
        at_ms: T0 + 10,
        author_kind: "staff".into(),
        author: "alice".into(),
        public: false,
        body: "internal: check haproxy".into(),
        email_id: String::new(),
    };
    let ev = |kind: &str, value: &str| TicketEventRow {
        ticket_id: a,
        at_ms: T0 + 10,
        kind: kind.into(),
        value: value.into(),
        actor: "alice".into(),
    };
    assert!(
        s.save_ticket(
            &t,
            &[ev("state", "open"), ev("message", "internal")],
            Some((&reply, &[])),
            &[]
        )
        .await
        .expect("save")
    );
    assert!(
        !s.save_ticket(&stale, &[], None, &[])
            .await
            .expect("stale save")
    );
    let t = s.ticket(a).await.expect("read").expect("exists");
    assert_eq!(
        (t.rev, t.state.as_str(), t.assignee.as_str()),
        (2, "open", "alice")
    );
    let kinds: Vec<String> = s
        .ticket_events(a)
        .await
        .expect("events")
        .into_iter()
        .map(|e| format!("{}={}", e.kind, e.value))
        .collect();
    assert_eq!(
        kinds,
        [
            "created=portal",
            "state=new",
            "message=requester",
            "state=open",
            "message=internal"
        ]
    );
    assert_eq!(s.ticket_messages(a, false).await.expect("public").len(), 1);
    assert_eq!(s.ticket_messages(a, true).await.expect("all").len(), 2);
    let files = s.ticket_attachments(a).await.expect("files");
    assert_eq!((files.len(), files[0].size, files[0].data.len()), (1, 4, 0));
    let whole = s.attachment("a1").await.expect("read").expect("exists");
    assert_eq!(whole.data, vec![0, 1, 2, 255]);
    assert_eq!(
        s.ticket_by_email_id("<m2@mail.example>")
            .await
            .expect("thread"),
        Some(b)
    );
    assert_eq!(
        s.ticket_by_link("hash-blocks stalled_")
            .await
            .expect("link")
            .map(|t| t.id),
        Some(b)
    );
    // Filters, search with LIKE's own characters taken literally, paging.
    let all = TicketFilter::default();
    let (rows, total) = s.list_tickets(&all, 1, 0).await.expect("list");
    assert_eq!((rows.len(), total), (1, 2));
    let open = TicketFilter {
        states: vec!["open".into(), "pending".into()],
        ..Default::default()
    };
    assert_eq!(s.list_tickets(&open, 10, 0).await.expect("list").1, 1);
    for (q, n) in [
        ("100%", 1),
        ("超时", 1),
        ("stalled_", 1),
        ("%", 1),
        ("_", 1),
        ("nothing", 0),
    ] {
        let f = TicketFilter {
            text: Some(q.into()),
            ..Default::default()
        };
        assert_eq!(s.list_tickets(&f, 10, 0).await.expect("search").1, n, "{q}");
    }
    // A renamed ticket is found by its new subject only (the trigram index follows).
    let mut renamed = s.ticket(b).await.expect("read").expect("exists");
    renamed.subject = "区块同步 stalled at height 42".into();
    assert!(
        s.save_ticket(&renamed, &[], None, &[])
            .await
            .expect("rename")
    );
    for (q, n) in [
        ("区块同步", 1),
        ("height 42", 1),
        ("stalled_", 0),
        ("blocks", 0),
    ] {
        let f = TicketFilter {
            text: Some(q.into()),
            ..Default::default()
        };
        assert_eq!(
            s.list_tickets(&f, 10, 0).await.expect("search").1,
            n,
            "{q} after rename"
        );
    }
    // The SLA pass reads active tickets with their clock-relevant history.
    s.set_ticket_sla(b, Some(T0 + 99), "warning")
        .await
        .expect("cache");
    let active = s.sla_inputs().await.expect("active");
    assert_eq!(active.len(), 2);
    assert_eq!(
        active[0].clock_log,
        format!(
            "created=portal@{T0};state=new@{T0};message=requester@{T0};state=open@{};message=internal@{};",
            T0 + 10,
            T0 + 10
        )
    );
    assert_eq!(
        (active[1].sla.as_str(), active[1].next_due_ms),
        ("warning", Some(T0 + 99))
    );
    let (first, _) = s.list_tickets(&all, 10, 0).await.expect("list");
    assert_eq!(first[0].id, b, "the nearest deadline first");
    // An SLA notice is recorded once, with its notifications.
    let n = notification("ticket/1/first_response/0/breach/hook", "firing");
    let key = chainops_store::tickets::SlaNoticeKey {
        ticket_id: a,
        metric: "first_response".into(),
        cycle: 0,
        level: "breach".into(),
    };
    let (rows, history) = ([n.clone()], [ev("sla", "breach")]);
    let first = s.record_sla_notice(&key, T0, &rows, &history);
    assert!(first.await.expect("notice"));
    assert!(
        !s.record_sla_notice(&key, T0 + 5, &[n], &[])
            .await
            .expect("again")
    );
    let sent = s.sla_inputs().await.expect("active");
    assert_eq!(sent[0].sla_sent, "first_response/0/breach;");
    assert_eq!(s.sla_notices(a).await.expect("notices").len(), 1);
    let outbox = s.list_notifications(None, 10).await.expect("outbox");
    let ids: Vec<&str> = outbox.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids.len(), 2, "the ticket's mail and the notice: {ids:?}");
    assert!(
        ids.contains(&"mail/1/opened"),
        "the mail names the number it was given"
    );
}

async fn an_erased_requester_leaves_an_anonymous_history(db: TestDb) {
    use chainops_store::tickets::RequesterRow;
    let s = &db.store;
    let r = RequesterRow {
        id: "r1".into(),
        email_index: Some("idx".into()),
        sealed: Some("sealed-personal-data".into()),
        created_ms: T0,
        erased_ms: None,
    };
    s.create_requester(&r, "wrapped-key").await.expect("create");
    assert_eq!(
        s.requester_by_index("idx").await.expect("find"),
        Some(r.clone())
    );
    assert_eq!(
        s.requester_key("r1").await.expect("key").as_deref(),
        Some("wrapped-key")
    );
    let dup = RequesterRow {
        id: "r2".into(),
        ..r.clone()
    };
    assert!(
        s.create_requester(&dup, "k").await.is_err(),
        "one requester per address"
    );
    let t = s
        .create_ticket(
            &ticket_row("help", "r1"),
            &first_message("m1"),
            &[],
            &|_| vec![],
        )
        .await
        .expect("ticket");
    assert!(
        s.erase_requester("r1", T0 + 1, "admin")
            .await
            .expect("erase")
    );
    assert!(
        !s.erase_requester("r1", T0 + 2, "admin")
            .await
            .expect("again")
    );
    let gone = s.requester("r1").await.expect("read").expect("row stays");
    assert_eq!(
        (gone.email_index, gone.sealed, gone.erased_ms),
        (None, None, Some(T0 + 1))
    );
    assert_eq!(s.requester_key("r1").await.expect("key"), None);
    assert_eq!(s.requester_by_index("idx").await.expect("find"), None);
    let history = s.ticket_events(t).await.expect("events");
    assert_eq!(history.last().map(|e| e.kind.as_str()), Some("erased"));
    assert!(
        s.ticket(t).await.expect("ticket").is_some(),
        "the ticket stays, anonymous"
    );
    if db.store.backend() == Backend::Sqlite {
        // No copy of the key or sealed data is left in the database files.
        let path = db.url.trim_start_matches("sqlite://");
        for file in [path.to_string(), format!("{path}-wal")] {
            let bytes = std::fs::read(&file).unwrap_or_default();
            for needle in [&b"wrapped-key"[..], b"sealed-personal-data"] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{file} still holds {}",
                    String::from_utf8_lossy(needle)
                );
            }
        }
    }
}
