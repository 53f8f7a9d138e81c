//! Tailing against real files: a separate writer process rotating its log, in-place
//! truncation, a crash and restart in the middle, and the anvil banner's keys.

use chainops_logs::ingest::{Ingester, Source};
use chainops_logs::parse::Format;
use chainops_logs::redact::Redactor;
use chainops_logs::tail::FileTail;
use chainops_store::Store;
use chainops_store::logs::LogQuery;
use std::collections::HashSet;
use std::io::Write;
use std::time::Duration;

async fn ingester(dir: &tempfile::TempDir) -> Ingester {
    let store = Store::open(&format!("sqlite://{}/logs.db", dir.path().display()))
        .await
        .expect("store");
    Ingester::new(store, Redactor::default(), None)
}

fn source(format: Option<Format>) -> Source {
    Source {
        id: "file:test".into(),
        node: "n1".into(),
        chain: "devnet".into(),
        format,
        drop: Default::default(),
    }
}

async fn all_seqs(ing: &Ingester) -> Vec<u64> {
    let rows = ing
        .store()
        .search_logs(&LogQuery {
            from_ms: 0,
            to_ms: i64::MAX,
            limit: 10_000,
            ..LogQuery::default()
        })
        .await
        .expect("search");
    let mut out = Vec::new();
    let mut last = rows.last().map(|r| (r.ts_ms, r.id));
    out.extend(
        rows.iter()
            .filter_map(|r| r.message.rsplit("seq=").next()?.parse::<u64>().ok()),
    );
    while let Some(before) = last {
        let page = ing
            .store()
            .search_logs(&LogQuery {
                from_ms: 0,
                to_ms: i64::MAX,
                limit: 10_000,
                before: Some(before),
                ..LogQuery::default()
            })
            .await
            .expect("page");
        if page.is_empty() {
            break;
        }
        last = page.last().map(|r| (r.ts_ms, r.id));
        out.extend(
            page.iter()
                .filter_map(|r| r.message.rsplit("seq=").next()?.parse::<u64>().ok()),
        );
    }
    out
}

fn line(i: u64) -> String {
    format!("2026-11-26T00:00:{:02}Z INFO tick seq={i}\n", i % 60)
}

#[tokio::test]
async fn a_rotating_writer_process_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ing = ingester(&dir).await;
    let path = dir.path().join("node.log");
    let total = 20_000u64;
    let script = r#"
import os, sys, time
path, total, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
f = open(path, "a")
for i in range(total):
    f.write("2026-11-26T00:00:%02dZ INFO tick seq=%d\n" % (i % 60, i))
    if i % 500 == 0:
        f.flush()
    if i > 0 and i % every == 0:
        f.close()
        os.replace(path, path + ".1")   # logrotate: rename, then a new file
        f = open(path, "a")
        time.sleep(0.3)                  # rotations are rare; one per poll at most
f.close()
"#;
    // The tailer follows the file from before the writer starts (as for a running node).
    std::fs::write(&path, "").expect("create");
    let mut tail = FileTail::new(source(Some(Format::Generic)), &path)
        .with_idle_flush(Duration::from_millis(50));
    tail.poll(&ing).await.expect("first poll");
    let mut writer = std::process::Command::new("python3")
        .args(["-c", script])
        .arg(&path)
        .args([total.to_string(), "3000".to_string()])
        .spawn()
        .expect("python3 writer");
    loop {
        tail.poll(&ing).await.expect("poll");
        if writer.try_wait().expect("wait").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for _ in 0..5 {
        tail.poll(&ing).await.expect("poll");
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let seqs = all_seqs(&ing).await;
    let unique: HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!(seqs.len(), unique.len(), "no line stored twice");
    let missing: Vec<u64> = (0..total).filter(|i| !unique.contains(i)).collect();
    assert!(
        missing.is_empty(),
        "lost {} lines, first {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

#[tokio::test]
async fn truncation_in_place_restarts_at_the_beginning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ing = ingester(&dir).await;
    let path = dir.path().join("node.log");
    let mut f = std::fs::File::create(&path).expect("create");
    for i in 0..100 {
        f.write_all(line(i).as_bytes()).expect("write");
    }
    let mut tail =
        FileTail::new(source(Some(Format::Generic)), &path).with_idle_flush(Duration::ZERO);
    tail.poll(&ing).await.expect("poll");
    f.set_len(0).expect("truncate");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .expect("reopen");
    for i in 100..150 {
        f.write_all(line(i).as_bytes()).expect("write");
    }
    tail.poll(&ing).await.expect("poll");
    let unique: HashSet<u64> = all_seqs(&ing).await.into_iter().collect();
    assert_eq!(unique.len(), 150);
}

#[tokio::test]
async fn a_restart_resumes_exactly_where_the_store_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ing = ingester(&dir).await;
    let path = dir.path().join("node.log");
    let mut f = std::fs::File::create(&path).expect("create");
    for i in 0..1000 {
        f.write_all(line(i).as_bytes()).expect("write");
    }
    // A half-written last line must not be stored until it is complete.
    f.write_all(b"2026-11-26T00:00:00Z INFO tick se")
        .expect("partial");
    let mut tail = FileTail::new(source(Some(Format::Generic)), &path)
        .with_idle_flush(Duration::from_secs(3600));
    tail.poll(&ing).await.expect("poll");
    drop(tail); // crash: nothing but the store survives
    f.write_all(b"q=1000\n").expect("finish line");
    for i in 1001..1500 {
        f.write_all(line(i).as_bytes()).expect("write");
    }
    let mut tail =
        FileTail::new(source(Some(Format::Generic)), &path).with_idle_flush(Duration::ZERO);
    tail.poll(&ing).await.expect("poll");
    let seqs = all_seqs(&ing).await;
    let unique: HashSet<u64> = seqs.iter().copied().collect();
    assert_eq!((seqs.len(), unique.len()), (1500, 1500));
}

#[tokio::test]
async fn anvil_banner_keys_and_mnemonic_never_reach_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ing = ingester(&dir).await;
    let fixture = format!(
        "{}/tests/fixtures/node-logs/anvil-automine.log",
        env!("CARGO_MANIFEST_DIR")
    );
    let path = dir.path().join("anvil.log");
    std::fs::copy(&fixture, &path).expect("copy");
    let mut tail = FileTail::new(source(None), &path).with_idle_flush(Duration::ZERO);
    tail.poll(&ing).await.expect("poll");
    let text = std::fs::read_to_string(&fixture).expect("fixture");
    let keys: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("Private Keys"))
        .filter(|l| l.starts_with('('))
        .filter_map(|l| l.split_whitespace().nth(1))
        .filter(|k| k.len() == 66)
        .collect();
    assert_eq!(keys.len(), 10);
    let q = |t: &str| LogQuery {
        from_ms: 0,
        to_ms: i64::MAX,
        text: vec![t.to_string()],
        limit: 10,
        ..LogQuery::default()
    };
    for k in keys {
        assert!(
            ing.store()
                .search_logs(&q(&k[2..]))
                .await
                .expect("search")
                .is_empty(),
            "{k} leaked"
        );
    }
    assert!(
        ing.store()
            .search_logs(&q("test test test"))
            .await
            .expect("search")
            .is_empty(),
        "mnemonic leaked"
    );
    assert!(
        !ing.store()
            .search_logs(&q("[REDACTED:private_key]"))
            .await
            .expect("search")
            .is_empty()
    );
    assert!(ing.redactions()["private_key"] >= 10);
    // Transaction hashes stay searchable.
    assert!(
        !ing.store()
            .search_logs(&q("ce09985d94caad02"))
            .await
            .expect("search")
            .is_empty()
    );
}

#[tokio::test]
async fn chinese_text_is_found_by_substring() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ing = ingester(&dir).await;
    let path = dir.path().join("cn.log");
    std::fs::write(
        &path,
        "2026-11-26T00:00:00Z ERROR 区块同步失败：与节点的连接超时\n2026-11-26T00:00:01Z INFO 同步完成\n",
    )
    .expect("write");
    let mut tail = FileTail::new(source(None), &path).with_idle_flush(Duration::ZERO);
    tail.poll(&ing).await.expect("poll");
    let rows = ing
        .store()
        .search_logs(&LogQuery {
            from_ms: 0,
            to_ms: i64::MAX,
            text: vec!["连接超时".into()],
            limit: 10,
            ..LogQuery::default()
        })
        .await
        .expect("search");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].level, 4);
}

/// Deterministic generator for the store-level secret test.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[(self.next() % 16) as usize]))
            .collect()
    }
}

#[tokio::test]
async fn no_generated_secret_survives_in_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ing = ingester(&dir).await;
    let words: Vec<&str> = bip39::Language::English.word_list().to_vec();
    let mut rng = Lcg(2026);
    let mut secrets = Vec::new();
    let mut lines = String::new();
    for i in 0..100 {
        let key = rng.hex(64);
        let phrase: Vec<&str> = (0..12)
            .map(|_| words[(rng.next() % 2048) as usize])
            .collect();
        let phrase = phrase.join(" ");
        let pw = format!("Pw{}x", rng.hex(10));
        let contexts = [
            format!("2026-11-26T00:00:00Z INFO loaded signer private key 0x{key} for account {i}"),
            format!("2026-11-26T00:00:00Z WARN wallet mnemonic: {phrase}"),
            format!("2026-11-26T00:00:00Z INFO dialing postgres://chain:{pw}@db:5432/x"),
        ];
        for c in &contexts {
            lines.push_str(c);
            lines.push('\n');
        }
        secrets.extend([key, phrase, pw]);
    }
    let path = dir.path().join("secrets.log");
    std::fs::write(&path, lines).expect("write");
    let mut tail = FileTail::new(source(None), &path).with_idle_flush(Duration::ZERO);
    tail.poll(&ing).await.expect("poll");
    for s in &secrets {
        let hit = ing
            .store()
            .search_logs(&LogQuery {
                from_ms: 0,
                to_ms: i64::MAX,
                text: vec![s.clone()],
                limit: 1,
                ..LogQuery::default()
            })
            .await
            .expect("search");
        assert!(hit.is_empty(), "{s} reached the store");
    }
    assert_eq!(ing.store().count_logs().await.expect("count"), 300);
}
