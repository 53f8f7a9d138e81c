//! Forwarding to Grafana Loki's push API (`POST /loki/api/v1/push`, JSON). Streams carry only
//! the low-cardinality labels `chain`, `node` and `level`; every other field travels as
//! structured metadata (the third element of a value), so label cardinality stays bounded.
//! Entries arrive already redacted. Batches go out when full or after `batch_wait`; failures
//! are retried with backoff (a 4xx other than 429 is a malformed batch and is dropped with an
//! error, since retrying cannot fix it).

use crate::config::LokiConfig;
use crate::ingest::Forwarded;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Queue length between the ingester and the forwarder (beyond it entries are counted as
/// dropped for Loki; the store still has them).
pub const QUEUE: usize = 50_000;

/// The push body for `batch`.
pub fn body(batch: &[Forwarded]) -> Value {
    let mut streams: BTreeMap<(String, String, String), Vec<Value>> = BTreeMap::new();
    for f in batch {
        let key = (
            f.chain.clone(),
            f.node.clone(),
            f.entry.level.as_str().to_string(),
        );
        let meta: Map<String, Value> = f
            .entry
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let ns = (f.entry.ts_ms as i128 * 1_000_000).to_string();
        let value = if meta.is_empty() {
            json!([ns, f.entry.message])
        } else {
            json!([ns, f.entry.message, meta])
        };
        streams.entry(key).or_default().push(value);
    }
    let streams: Vec<Value> = streams
        .into_iter()
        .map(|((chain, node, level), values)| {
            json!({"stream": {"chain": chain, "node": node, "level": level}, "values": values})
        })
        .collect();
    json!({ "streams": streams })
}

/// How a push ended.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retry(String),
    Drop(String),
}

async fn push(http: &reqwest::Client, cfg: &LokiConfig, batch: &[Forwarded]) -> Outcome {
    let url = format!("{}/loki/api/v1/push", cfg.url.trim_end_matches('/'));
    let mut req = http
        .post(url)
        .timeout(Duration::from_secs(10))
        .json(&body(batch));
    if let Some(t) = &cfg.tenant {
        req = req.header("X-Scope-OrgID", t);
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => Outcome::Sent,
        Ok(r) if r.status().as_u16() == 429 || r.status().is_server_error() => {
            Outcome::Retry(format!("HTTP {}", r.status()))
        }
        Ok(r) => Outcome::Drop(format!(
            "HTTP {}: {}",
            r.status(),
            r.text()
                .await
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect::<String>()
        )),
        Err(e) => Outcome::Retry(e.without_url().to_string()),
    }
}

/// Forwards what arrives on `rx` until `shutdown` (then flushes what it holds).
pub async fn run(
    http: reqwest::Client,
    cfg: LokiConfig,
    mut rx: mpsc::Receiver<Forwarded>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut batch: Vec<Forwarded> = Vec::with_capacity(cfg.batch_size);
    let mut backoff = Duration::from_millis(500);
    loop {
        let deadline = tokio::time::sleep(cfg.batch_wait);
        tokio::pin!(deadline);
        let mut stopping = false;
        while batch.len() < cfg.batch_size {
            tokio::select! {
                got = rx.recv() => match got {
                    Some(f) => batch.push(f),
                    None => { stopping = true; break; }
                },
                _ = &mut deadline => break,
                _ = shutdown.changed() => { stopping = true; break; }
            }
        }
        while !batch.is_empty() {
            match push(&http, &cfg, &batch).await {
                Outcome::Sent => {
                    tracing::debug!(entries = batch.len(), "pushed to Loki");
                    batch.clear();
                    backoff = Duration::from_millis(500);
                }
                Outcome::Drop(e) => {
                    tracing::error!(entries = batch.len(), error = %e, "Loki refused the batch; dropped (the store keeps the entries)");
                    batch.clear();
                }
                Outcome::Retry(e) => {
                    tracing::warn!(entries = batch.len(), error = %e, retry_in_ms = backoff.as_millis() as u64, "Loki push failed; will retry");
                    if stopping {
                        return;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.changed() => return,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Level, LogEntry};

    #[test]
    fn streams_hold_low_cardinality_labels_and_fields_go_to_metadata() {
        let f = |node: &str, level: Level, msg: &str, fields: &[(&str, &str)]| Forwarded {
            node: node.into(),
            chain: "devnet".into(),
            entry: LogEntry {
                ts_ms: 1_700_000_000_123,
                level,
                message: msg.into(),
                fields: fields
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        };
        let b = body(&[
            f("n1", Level::Info, "a", &[("height", "5")]),
            f("n1", Level::Info, "b", &[]),
            f("n1", Level::Error, "c", &[]),
        ]);
        let streams = b["streams"].as_array().expect("streams");
        assert_eq!(streams.len(), 2);
        assert_eq!(
            streams[1]["stream"],
            json!({"chain": "devnet", "node": "n1", "level": "info"})
        );
        assert_eq!(
            streams[1]["values"][0],
            json!(["1700000000123000000", "a", {"height": "5"}])
        );
        assert_eq!(streams[1]["values"][1], json!(["1700000000123000000", "b"]));
    }
}
