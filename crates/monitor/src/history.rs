//! Metric history: samples are buffered in memory and written to the series store once a
//! minute (one compact raw chunk + one 1-minute rollup per series), hours are rolled up
//! when they complete, and retention runs every ten minutes.
//!
//! Durability: a clean shutdown flushes everything; a crash (kill -9) loses at most the
//! samples of the current minute. Queries merge the store with the unflushed buffer.

use chainops_core::time::now_ms;
use chainops_store::series::{HOUR_MS, MINUTE_MS, Point, Resolution, Retention, SeriesChunk};
use chainops_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::watch;

/// Samples older than this stay buffered only while the store is failing; then they drop.
const MAX_BUFFER_AGE_MS: i64 = HOUR_MS;
/// Retention runs this often.
const RETENTION_EVERY: Duration = Duration::from_secs(600);

type Buffer = HashMap<String, HashMap<&'static str, Vec<(i64, f64)>>>;

/// Buffers samples and owns the write schedule of the series store.
#[derive(Debug)]
pub struct History {
    store: Store,
    retention: Retention,
    buffer: Mutex<Buffer>,
    /// Where every recorded sample is also sent (`[history] remote_write`).
    remote: Option<std::sync::Arc<crate::remote_write::RemoteWriter>>,
    /// Where history is read from instead of the store (`backend = "prometheus"`).
    reader: Option<crate::prom_read::PromReader>,
}

impl History {
    /// A history writer on `store`.
    pub fn new(store: Store, retention: Retention) -> Self {
        Self {
            store,
            retention,
            buffer: Mutex::new(HashMap::new()),
            remote: None,
            reader: None,
        }
    }

    /// Reads history from a Prometheus-compatible TSDB instead of the store.
    pub fn with_reader(mut self, r: crate::prom_read::PromReader) -> Self {
        self.reader = Some(r);
        self
    }

    /// Sends every recorded sample to `w` too.
    pub fn with_remote_write(
        mut self,
        w: std::sync::Arc<crate::remote_write::RemoteWriter>,
    ) -> Self {
        self.remote = Some(w);
        self
    }

    /// The retention in force.
    pub fn retention(&self) -> &Retention {
        &self.retention
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Buffers samples of one node taken at `ts_ms`.
    pub fn record(&self, node: &str, ts_ms: i64, samples: &[(&'static str, f64)]) {
        if let Some(w) = &self.remote {
            w.push(node, ts_ms, samples);
        }
        let mut buf = self.lock();
        let series = match buf.get_mut(node) {
            Some(s) => s,
            None => buf.entry(node.to_string()).or_default(),
        };
        for &(metric, v) in samples {
            if v.is_finite() {
                series.entry(metric).or_default().push((ts_ms, v));
            }
        }
    }

    /// Writes every buffered sample older than `cutoff_ms`. On failure the samples go back
    /// into the buffer (oldest beyond an hour are dropped) and the error is returned.
    pub async fn flush_before(&self, cutoff_ms: i64) -> Result<usize, StoreError> {
        let mut chunks = Vec::new();
        {
            let mut buf = self.lock();
            for (node, series) in buf.iter_mut() {
                for (metric, samples) in series.iter_mut() {
                    let split = samples.partition_point(|(t, _)| *t < cutoff_ms);
                    if split == 0 {
                        continue;
                    }
                    let taken: Vec<(i64, f64)> = samples.drain(..split).collect();
                    for minute in split_by_minute(taken) {
                        chunks.push(SeriesChunk {
                            node: node.clone(),
                            metric: (*metric).to_string(),
                            samples: minute,
                        });
                    }
                }
            }
        }
        if chunks.is_empty() {
            return Ok(0);
        }
        let n: usize = chunks.iter().map(|c| c.samples.len()).sum();
        if let Err(e) = self.store.write_series(&chunks).await {
            let oldest_kept = now_ms() - MAX_BUFFER_AGE_MS;
            let mut buf = self.lock();
            for c in chunks {
                let metric = static_metric(&c.metric);
                let series = buf.entry(c.node).or_default().entry(metric).or_default();
                let mut restored: Vec<(i64, f64)> = c
                    .samples
                    .into_iter()
                    .filter(|(t, _)| *t >= oldest_kept)
                    .collect();
                restored.append(series);
                restored.sort_by_key(|(t, _)| *t);
                *series = restored;
            }
            return Err(e);
        }
        Ok(n)
    }

    /// Reads a series, merging unflushed samples for raw queries.
    pub async fn query(
        &self,
        node: &str,
        metric: &str,
        from_ms: i64,
        to_ms: i64,
        resolution: Resolution,
    ) -> Result<Vec<Point>, StoreError> {
        let mut all = self
            .query_many(&[node.to_string()], metric, from_ms, to_ms, resolution)
            .await?;
        Ok(all.pop().unwrap_or_default())
    }

    /// [`query`](Self::query) for several nodes, in the order of `nodes`.
    pub async fn query_many(
        &self,
        nodes: &[String],
        metric: &str,
        from_ms: i64,
        to_ms: i64,
        resolution: Resolution,
    ) -> Result<Vec<Vec<Point>>, StoreError> {
        if let Some(r) = &self.reader {
            return r
                .query_many(nodes, metric, from_ms, to_ms, resolution)
                .await;
        }
        let mut all = self
            .store
            .query_series_many(nodes, metric, from_ms, to_ms, resolution)
            .await?;
        if resolution == Resolution::Raw {
            let buf = self.lock();
            for (node, points) in nodes.iter().zip(all.iter_mut()) {
                if let Some(samples) = buf.get(node).and_then(|s| s.get(metric)) {
                    points.extend(
                        samples
                            .iter()
                            .filter(|(t, _)| (from_ms..=to_ms).contains(t))
                            .map(|&(t, v)| Point::raw(t, v)),
                    );
                    points.sort_by_key(|p| p.t);
                    points.dedup_by_key(|p| p.t);
                }
            }
        }
        Ok(all)
    }

    /// Rolls up completed hours that were missed while the daemon was down.
    pub async fn catch_up(&self) -> Result<(), StoreError> {
        let Some(last_minute) = self.store.last_rolled_minute().await? else {
            return Ok(());
        };
        let current_hour = floor(now_ms(), HOUR_MS);
        let last_hour = self.store.last_rolled_hour().await?;
        let mut h = last_hour
            .map(|h| h + HOUR_MS)
            .unwrap_or(floor(last_minute, HOUR_MS) - 48 * HOUR_MS);
        h = h.max(floor(last_minute, HOUR_MS) - 48 * HOUR_MS);
        while h < current_hour && h <= last_minute {
            self.store.rollup_hour(h).await?;
            h += HOUR_MS;
        }
        Ok(())
    }

    /// The write schedule: flush each minute, roll up each hour, apply retention; a final
    /// flush of everything when `shutdown` turns true.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) {
        if let Err(e) = self.catch_up().await {
            tracing::warn!(error = %e, "history catch-up failed; hour rollups will be recomputed later");
        }
        let mut last_retention = tokio::time::Instant::now() - RETENTION_EVERY;
        loop {
            let now = now_ms();
            let boundary = floor(now, MINUTE_MS) + MINUTE_MS;
            // Flush a little after the boundary so the last samples of the minute are in.
            let wait = Duration::from_millis((boundary + 2_000 - now).max(0) as u64);
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {
                    match self.flush_before(i64::MAX).await {
                        Ok(n) => tracing::info!(samples = n, "history flushed on shutdown"),
                        Err(e) => tracing::error!(error = %e, "history flush on shutdown failed; samples of this minute are lost"),
                    }
                    return;
                }
            }
            match self.flush_before(boundary).await {
                Ok(n) => tracing::debug!(samples = n, "history flushed"),
                Err(e) => {
                    tracing::warn!(error = %e, "history flush failed; keeping samples for the next try")
                }
            }
            if boundary % HOUR_MS == 0
                && let Err(e) = self.store.rollup_hour(boundary - HOUR_MS).await
            {
                tracing::warn!(error = %e, "hour rollup failed; retried at next start");
            }
            if last_retention.elapsed() >= RETENTION_EVERY {
                last_retention = tokio::time::Instant::now();
                match self.store.apply_retention(now_ms(), &self.retention).await {
                    Ok(r) => tracing::debug!(
                        raw = r.raw_chunks,
                        minute = r.minute_rows,
                        hour = r.hour_rows,
                        "retention applied"
                    ),
                    Err(e) => tracing::warn!(error = %e, "retention failed"),
                }
            }
        }
    }
}

fn floor(t: i64, width: i64) -> i64 {
    t - t.rem_euclid(width)
}

fn split_by_minute(samples: Vec<(i64, f64)>) -> Vec<Vec<(i64, f64)>> {
    let mut out: Vec<Vec<(i64, f64)>> = Vec::new();
    for s in samples {
        match out.last_mut() {
            Some(cur)
                if cur
                    .first()
                    .is_some_and(|f| floor(f.0, MINUTE_MS) == floor(s.0, MINUTE_MS)) =>
            {
                cur.push(s)
            }
            _ => out.push(vec![s]),
        }
    }
    out
}

/// Every series name the collector records (the closed set the history knows).
pub const METRICS: &[&str] = &[
    "up",
    "height",
    "head_age_seconds",
    "block_interval_seconds",
    "tx_per_second",
    "peers",
    "txpool_pending",
    "txpool_queued",
    "gas_price_wei",
    "base_fee_wei",
    "gas_used_ratio",
    "rpc_latency_seconds",
    "blocks_behind",
    "status",
    "syncing",
    "finality_lag_seconds",
    "datadir_free_bytes",
    "datadir_used_ratio",
    "mempool_bytes",
    "chain_quorum",
    "difficulty",
    "chain_db_bytes",
];

/// The series "node" under which a chain's own series are kept (`chain_quorum`): `@` is not
/// allowed in node names, so it cannot collide with one.
pub fn chain_series(chain: &str) -> String {
    format!("@{chain}")
}

pub use crate::names::RPC_METHOD_PREFIX;

/// Most distinct per-method series names kept (the families call a few dozen methods).
const MAX_METHOD_SERIES: usize = 256;

/// The series name of one RPC method's latency, `'static` like every series name: interned
/// once per method. `None` for a name that is not a JSON-RPC method name (ASCII letters,
/// digits and `_`, at most 64) or past [`MAX_METHOD_SERIES`] distinct methods.
pub fn rpc_method_metric(method: &str) -> Option<&'static str> {
    static NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());
    let valid = !method.is_empty()
        && method.len() <= 64
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if !valid {
        return None;
    }
    let mut names = NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(n) = names
        .iter()
        .find(|n| n[RPC_METHOD_PREFIX.len()..] == *method)
    {
        return Some(n);
    }
    if names.len() >= MAX_METHOD_SERIES {
        return None;
    }
    let name: &'static str = Box::leak(format!("{RPC_METHOD_PREFIX}{method}").into_boxed_str());
    names.push(name);
    Some(name)
}

/// Is `name` a series the history keeps ([`METRICS`] or a per-method RPC latency)?
pub fn is_metric(name: &str) -> bool {
    METRICS.contains(&name)
        || name
            .strip_prefix(RPC_METHOD_PREFIX)
            .and_then(rpc_method_metric)
            .is_some()
}

/// Maps a metric name back to its `'static` spelling (metric names are a closed set).
fn static_metric(name: &str) -> &'static str {
    METRICS
        .iter()
        .find(|m| **m == name)
        .copied()
        .or_else(|| {
            name.strip_prefix(RPC_METHOD_PREFIX)
                .and_then(rpc_method_metric)
        })
        .unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_series_names_are_checked_and_interned_once() {
        let a = rpc_method_metric("eth_blockNumber").expect("a method");
        assert_eq!(a, "rpc_method_latency_seconds:eth_blockNumber");
        let b = rpc_method_metric("eth_blockNumber").expect("again");
        assert!(std::ptr::eq(a, b), "interned once");
        assert_eq!(static_metric(a), a);
        assert!(is_metric("rpc_method_latency_seconds:getblockchaininfo"));
        assert!(is_metric("height"));
        for bad in ["", "eth blockNumber", "a/b", "方法", "x\n", &"m".repeat(65)] {
            assert!(rpc_method_metric(bad).is_none(), "{bad:?}");
            assert!(!is_metric(&format!("{RPC_METHOD_PREFIX}{bad}")), "{bad:?}");
        }
        assert!(!is_metric("rpc_method_latency_seconds"));
        assert!(!is_metric("nope"));
    }

    #[test]
    fn samples_split_at_minute_boundaries() {
        let s = vec![(59_000, 1.0), (60_000, 2.0), (61_000, 3.0), (125_000, 4.0)];
        assert_eq!(
            split_by_minute(s),
            vec![
                vec![(59_000, 1.0)],
                vec![(60_000, 2.0), (61_000, 3.0)],
                vec![(125_000, 4.0)]
            ]
        );
    }
}
