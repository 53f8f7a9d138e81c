//! The support desk at scale (issue 19): 100,000 tickets with 1,000,000 messages on SQLite
//! and on PostgreSQL — the ticket queue and subject search p95 (goal ≤ 50 ms), one SLA pass
//! over 10,000 open tickets (goal ≤ 100 ms), and portal ticket creation throughput (sealed
//! requester, private link, first message, history, SLA verdict).
//!
//! `cargo run --release -p chainops-desk --example desk_bench [TICKETS MESSAGES OPEN]`
//! (or `make bench-desk`). PostgreSQL is measured when `CHAINOPS_BENCH_POSTGRES_URL` (a
//! database the user may fill) or `CHAINOPS_TEST_POSTGRES_URL` (`make test`'s cluster, a
//! fresh database is created) is set. `BENCH_SMOKE=1`: a tiny run. Prints one JSON line per
//! backend.

use chainops_desk::config::{RawSupport, validate};
use chainops_desk::privacy::Vault;
use chainops_desk::service::{Channel, Desk, NewTicket, SlaNotice};
use chainops_store::Store;
use chainops_store::alerts::OutboxRow;
use chainops_store::tickets::{MessageRow, TicketEventRow, TicketFilter, TicketRow};
use std::sync::Arc;
use std::time::Instant;

type Error = Box<dyn std::error::Error>;

const NOW: i64 = 1_796_000_000_000;
const WORDS: [&str; 12] = [
    "rpc",
    "timeout",
    "eth_call",
    "同步",
    "节点",
    "reorg",
    "gas",
    "nonce",
    "peer",
    "超时",
    "mempool",
    "websocket",
];
const POLICIES: &str = r#"
[[sla]]
priority = "P1"
first_response = "1h"
next_response = "2h"
resolution = "8h"
[[sla]]
priority = "P2"
first_response = "2h"
resolution = "1d"
[[sla]]
priority = "P3"
first_response = "8h"
resolution = "3d"
[[sla]]
priority = "P4"
first_response = "1d"
resolution = "7d"
"#;

fn p95(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * 0.95) as usize).min(v.len().saturating_sub(1))]
}

/// The p95 in milliseconds of `n` runs of `f`.
async fn timed<F, Fut>(n: usize, mut f: F) -> Result<f64, Error>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let mut ms = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i).await?;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    Ok(p95(ms))
}

fn word(k: i64) -> &'static str {
    WORDS[k.unsigned_abs() as usize % WORDS.len()]
}

/// One imported ticket: active ones have a running next-response clock, the others are solved.
fn ticket(
    id: i64,
    at: i64,
    active: bool,
    per: usize,
) -> (TicketRow, Vec<MessageRow>, Vec<TicketEventRow>) {
    let row = TicketRow {
        id,
        rev: 1,
        subject: format!("{} {} on node-{} #{id}", word(id), word(id / 7), id % 50),
        category: "rpc".into(),
        chain: format!("chain-{}", id % 5),
        priority: ["P1", "P2", "P3", "P4"][(id % 4) as usize].into(),
        state: if active { "open" } else { "solved" }.into(),
        team: "support".into(),
        requester_id: format!("rq_{}", id % 5000),
        channel: "portal".into(),
        link_hash: format!("{id:064x}"),
        created_ms: at,
        updated_ms: at,
        sla: "ok".into(),
        ..Default::default()
    };
    let messages = (0..per)
        .map(|k| MessageRow {
            id: format!("m{id}-{k}"),
            ticket_id: id,
            at_ms: at + k as i64 * 1000,
            author_kind: if k % 2 == 0 { "requester" } else { "staff" }.into(),
            author: if k % 2 == 0 {
                row.requester_id.clone()
            } else {
                "alice".into()
            },
            public: true,
            body: format!(
                "{} {} seen at block {} — 请查看日志 {k}",
                word(id + k as i64),
                word(k as i64),
                id * 10 + k as i64
            ),
            email_id: String::new(),
        })
        .collect();
    let ev = |at_ms: i64, kind: &str, value: &str| TicketEventRow {
        ticket_id: id,
        at_ms,
        kind: kind.into(),
        value: value.into(),
        actor: "bench".into(),
    };
    let mut events = vec![
        ev(at, "created", "portal"),
        ev(at, "state", "new"),
        ev(at, "message", "requester"),
        ev(at + 1000, "message", "public"),
    ];
    if active {
        events.push(ev(at + 2000, "message", "requester"));
        events.push(ev(at + 2000, "state", "open"));
    } else {
        events.push(ev(at + 3000, "state", "solved"));
    }
    (row, messages, events)
}

/// Fills the store: `tickets` tickets, `messages` messages spread over them, the last `open`
/// active. Returns the seconds it took.
async fn fill(store: &Store, tickets: usize, messages: usize, open: usize) -> Result<f64, Error> {
    let per = (messages / tickets.max(1)).max(1);
    let t = Instant::now();
    let mut batch = Vec::with_capacity(1000);
    for id in 1..=tickets as i64 {
        let at = NOW - (tickets as i64 - id) * 60_000;
        batch.push(ticket(id, at, id as usize > tickets - open, per));
        if batch.len() == 1000 {
            store.import_tickets(&batch).await?;
            batch.clear();
        }
    }
    store.import_tickets(&batch).await?;
    Ok(t.elapsed().as_secs_f64())
}

fn portal_ticket(i: usize) -> NewTicket {
    NewTicket {
        subject: format!("portal ticket {i} 超时"),
        body: "eth_call times out since 10:00".into(),
        category: "rpc".into(),
        chain: String::new(),
        node: String::new(),
        priority: None,
        email: format!("user{}@example.com", i % 200),
        name: String::new(),
        ip: "203.0.113.7".into(),
        channel: Channel::Portal,
        attachments: Vec::new(),
        tags: Vec::new(),
        actor: String::new(),
        email_id: String::new(),
    }
}

async fn run(
    backend: &str,
    url: &str,
    size: (usize, usize, usize),
    smoke: bool,
) -> Result<(), Error> {
    let (tickets, messages, open) = size;
    let store = Store::open(url).await?;
    let load_s = fill(&store, tickets, messages, open).await?;
    if backend == "postgres" {
        // What autovacuum does soon after a bulk import (a DBA runs it at once): planner
        // statistics and the visibility map that index-only counts need.
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query("VACUUM ANALYZE").execute(&mut conn).await?;
    }
    let raw: RawSupport = toml::from_str(POLICIES)?;
    let mut p = chainops_core::section::Problems::default();
    let config = Arc::new(validate(raw, std::path::Path::new("/tmp"), &mut p));
    let desk = Desk::new(config, store.clone(), Vault::new([1; 32]));
    let samples = if smoke { 20 } else { 200 };

    let queue = TicketFilter {
        states: ["new", "open", "pending", "on-hold"]
            .map(String::from)
            .to_vec(),
        ..Default::default()
    };
    let queue_p95 = timed(samples, |i| {
        let (store, queue) = (store.clone(), queue.clone());
        async move {
            store
                .list_tickets(&queue, 50, ((i % 5) * 50) as i64)
                .await?;
            Ok(())
        }
    })
    .await?;
    let priority_p95 = timed(samples, |i| {
        let store = store.clone();
        async move {
            let f = TicketFilter {
                priority: Some(["P1", "P2", "P3", "P4"][i % 4].into()),
                ..Default::default()
            };
            store.list_tickets(&f, 50, 0).await?;
            Ok(())
        }
    })
    .await?;
    let search_p95 = timed(samples, |i| {
        let store = store.clone();
        async move {
            let f = TicketFilter {
                text: Some(word(i as i64).into()),
                ..Default::default()
            };
            store.list_tickets(&f, 50, 0).await?;
            Ok(())
        }
    })
    .await?;
    // A selective search (a ticket number, as people paste it): a handful of matches.
    let rare_p95 = timed(samples, |i| {
        let store = store.clone();
        async move {
            let f = TicketFilter {
                text: Some(format!("#{}", 1000 + (i * 37) % 9000)),
                ..Default::default()
            };
            store.list_tickets(&f, 50, 0).await?;
            Ok(())
        }
    })
    .await?;
    let none = |_: &SlaNotice| Vec::<OutboxRow>::new();
    // The first pass after the import writes every open ticket's verdict; the steady-state
    // pass (what runs every check_interval) reads and recomputes.
    let t = Instant::now();
    let first = desk.sla_pass(NOW, &none).await?;
    let first_ms = t.elapsed().as_secs_f64() * 1e3;
    let sla_p95 = timed(if smoke { 3 } else { 20 }, |_| {
        let desk = desk.clone();
        async move {
            desk.sla_pass(NOW, &none).await?;
            Ok(())
        }
    })
    .await?;
    let (kb_articles, kb_build_ms, kb_search_p95) = kb(&desk, &store, smoke).await?;
    let create_n = if smoke { 20 } else { 500 };
    let t = Instant::now();
    for i in 0..create_n {
        desk.open_ticket(portal_ticket(i), NOW + i as i64).await?;
    }
    let create_per_s = create_n as f64 / t.elapsed().as_secs_f64();
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    println!(
        "{}",
        serde_json::json!({
            "backend": backend, "tickets": tickets, "messages": messages, "open": open,
            "load_s": r2(load_s), "queue_p95_ms": r2(queue_p95),
            "priority_list_p95_ms": r2(priority_p95), "subject_search_p95_ms": r2(search_p95),
            "selective_search_p95_ms": r2(rare_p95),
            "sla_pass_first_ms": first_ms.round(), "sla_pass_p95_ms": r2(sla_p95),
            "sla_tickets": first.tickets, "portal_tickets_per_s": create_per_s.round(),
            "kb_articles": kb_articles, "kb_index_build_ms": r2(kb_build_ms),
            "kb_search_p95_ms": r2(kb_search_p95),
        })
    );
    store.close().await;
    Ok(())
}

/// The knowledge base: 1,000 article versions (500 articles in English and Chinese, ~2 KB
/// each) saved through the desk; the index built from the store once, then searches (an
/// English word, a word being typed, Chinese without spaces, a miss) with the store's
/// version check each time, as the portal's suggestions run.
async fn kb(desk: &Desk, store: &Store, smoke: bool) -> Result<(usize, f64, f64), Error> {
    let n = if smoke { 50 } else { 500 };
    let zh = [
        "节点同步失败",
        "交易池已满",
        "区块高度落后",
        "证书过期",
        "超时重试",
        "链重组",
    ];
    for i in 0..n {
        for lang in ["en", "zh-CN"] {
            let body = if lang == "en" {
                (0..40)
                    .map(|k| format!("{} {} node {}", word(i + k), word(i * 7 + k), i + k))
                    .collect::<Vec<_>>()
                    .join(". ")
            } else {
                (0..40)
                    .map(|k| format!("{}{}", zh[(i + k) as usize % zh.len()], word(i + k)))
                    .collect::<Vec<_>>()
                    .join("。")
            };
            let d = chainops_store::kb::ArticleRow {
                id: format!("article-{i}"),
                lang: lang.into(),
                title: format!("{} {} {}", word(i), zh[i as usize % zh.len()], i),
                body,
                category: "general".into(),
                faq: i % 10 == 0,
                public: true,
                published: true,
                ..Default::default()
            };
            desk.save_article(d, "bench", NOW).await?;
        }
    }
    let t = Instant::now();
    desk.kb().await?;
    let build_ms = t.elapsed().as_secs_f64() * 1e3;
    let queries = [
        "timeout",
        "eth_c",
        "节点同步",
        "区块",
        "no-such-word-anywhere",
    ];
    let p95 = timed(if smoke { 20 } else { 200 }, |i| {
        let desk = desk.clone();
        async move {
            let ix = desk.kb().await?;
            ix.search(
                queries[i % queries.len()],
                "zh-CN",
                chainops_desk::kb::Audience::Public,
                5,
            );
            Ok(())
        }
    })
    .await?;
    let _ = store;
    Ok(((n * 2) as usize, build_ms, p95))
}

async fn postgres_url() -> Result<Option<String>, Error> {
    if let Ok(u) = std::env::var("CHAINOPS_BENCH_POSTGRES_URL") {
        return Ok(Some(u));
    }
    let Ok(admin) = std::env::var("CHAINOPS_TEST_POSTGRES_URL") else {
        return Ok(None);
    };
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&admin).await?;
    let name = format!("chainops_desk_bench_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await?;
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    Ok(Some(format!("{base}/{name}")))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let smoke = std::env::var("BENCH_SMOKE").is_ok_and(|v| v == "1");
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let size = match (smoke, args.as_slice()) {
        (_, [t, m, o, ..]) => (*t, *m, *o),
        (true, _) => (2_000, 20_000, 200),
        (false, _) => (100_000, 1_000_000, 10_000),
    };
    if size.2 > size.0 || size.0 == 0 {
        return Err("TICKETS must be at least 1 and OPEN at most TICKETS".into());
    }
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}/desk.db", dir.path().display());
    run("sqlite", &sqlite, size, smoke).await?;
    match postgres_url().await? {
        Some(url) => run("postgres", &url, size, smoke).await?,
        None => {
            eprintln!("desk_bench: no PostgreSQL (set CHAINOPS_BENCH_POSTGRES_URL); SQLite only")
        }
    }
    Ok(())
}
