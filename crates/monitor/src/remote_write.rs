//! Prometheus remote-write of every sample the collector records (`[history] remote_write`),
//! to VictoriaMetrics, Prometheus (`--web.enable-remote-write-receiver`), Mimir, Thanos.
//!
//! Samples are named as on `/metrics` where a metric of the same meaning exists
//! (`height` → `chainops_block_height{chain,node}`, [`prom_name`]), so the shipped dashboards
//! work on the TSDB too. Each target batches what arrived in the last `flush_interval` into
//! one `WriteRequest` (protobuf, snappy block-compressed), writes it to its on-disk queue
//! (`data_dir/remote-write/<name>/`, one file per batch), and a sender posts the files oldest
//! first: deleted on a 2xx; retried with backoff on a 5xx, a 429 or a connection error (a
//! TSDB outage loses nothing while the queue has room, nor does a daemon restart); a 4xx is
//! a rejected batch, counted and dropped. Past `queue_max_bytes` the oldest batches are
//! dropped and counted.

use chainops_core::exposition::{header, sample};
use chainops_core::ports::MetricsSource;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// One `[[history.remote_write]]` target, validated.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RemoteWriteConfig {
    /// Name (queue directory, metric label).
    pub name: String,
    /// The write endpoint (`http://vm:8428/api/v1/write`).
    #[serde(serialize_with = "chainops_core::section::ser_url")]
    pub url: String,
    /// Per-request timeout.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub timeout: Duration,
    /// How long samples are gathered into one request.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub flush_interval: Duration,
    /// Bytes the on-disk queue may hold before the oldest batches are dropped.
    pub queue_max_bytes: u64,
    /// Credentials.
    #[serde(flatten)]
    pub auth: TsdbAuth,
}

/// Credentials for a TSDB endpoint (remote write, queries), each secret from a file read
/// per request (so a rotated token is picked up).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct TsdbAuth {
    /// A file holding a bearer token sent as `Authorization: Bearer …`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bearer_token_file: Option<PathBuf>,
    /// HTTP basic auth user (with `password_file`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// A file holding the basic-auth password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password_file: Option<PathBuf>,
}

impl TsdbAuth {
    /// `req` with the credentials; the error names a file that cannot be read.
    pub fn apply(
        &self,
        mut req: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, String> {
        if let Some(f) = &self.bearer_token_file {
            req = req.bearer_auth(read_first_line(f)?);
        }
        if let (Some(user), Some(f)) = (&self.user, &self.password_file) {
            req = req.basic_auth(user, Some(read_first_line(f)?));
        }
        Ok(req)
    }
}

/// The remote-write name of a history series, and the extra label it carries.
pub fn prom_name(series: &str) -> (String, Option<(&'static str, String)>) {
    if let Some(method) = series.strip_prefix(crate::names::RPC_METHOD_PREFIX) {
        return (
            "chainops_rpc_method_latency_seconds".into(),
            Some(("method", method.to_string())),
        );
    }
    let name = match series {
        "up" => "chainops_node_up",
        "height" => "chainops_block_height",
        "tx_per_second" => "chainops_transactions_per_second",
        "gas_used_ratio" => "chainops_block_gas_used_ratio",
        "rpc_latency_seconds" => "chainops_poll_duration_seconds",
        // `/metrics` has a histogram and a 0/1-per-status family under these names.
        "block_interval_seconds" => "chainops_last_block_interval_seconds",
        "status" => "chainops_node_status_code",
        "txpool_pending" | "txpool_queued" => {
            let state = series.trim_start_matches("txpool_").to_string();
            return (
                "chainops_txpool_transactions".into(),
                Some(("state", state)),
            );
        }
        other => return (format!("chainops_{other}"), None),
    };
    (name.into(), None)
}

/// A series' remote-write name and its extra label.
type Named = (Arc<str>, Option<(&'static str, String)>);
/// Label set → samples.
type SeriesMap<'a> = BTreeMap<Vec<(&'a str, &'a str)>, Vec<(i64, f64)>>;

/// One sample waiting for its batch.
struct Pending {
    name: Arc<str>,
    extra: Option<(&'static str, String)>,
    chain: Arc<str>,
    /// Empty for a chain's own series (`chain_quorum`).
    node: Arc<str>,
    ts: i64,
    value: f64,
}

#[derive(Default)]
struct Stats {
    sent: AtomicU64,
    dropped: AtomicU64,
    rejected: AtomicU64,
    queue_bytes: AtomicU64,
    last_success_ms: AtomicI64,
}

struct Target {
    cfg: RemoteWriteConfig,
    dir: PathBuf,
    pending: Mutex<Vec<Pending>>,
    stats: Stats,
    wake: Notify,
    /// Names interned once (`chainops_block_height`, …).
    names: Mutex<HashMap<&'static str, Named>>,
}

/// The writer shared by the collector (which pushes) and the daemon (which runs the tasks
/// and renders the metrics).
pub struct RemoteWriter {
    targets: Vec<Arc<Target>>,
    /// Node name → chain, as the running configuration says.
    chains: RwLock<HashMap<String, Arc<str>>>,
}

impl std::fmt::Debug for RemoteWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.targets.iter().map(|t| &t.cfg.name))
            .finish()
    }
}

impl RemoteWriter {
    /// Writers for `targets`, each queueing under `data_dir/remote-write/<name>/` (created).
    pub fn new(targets: &[RemoteWriteConfig], data_dir: &Path) -> std::io::Result<Self> {
        let mut out = Vec::new();
        for cfg in targets {
            let dir = data_dir.join("remote-write").join(&cfg.name);
            std::fs::create_dir_all(&dir)?;
            // A batch half-written when the daemon died is never sent: remove it.
            for e in std::fs::read_dir(&dir)?.flatten() {
                if e.path().extension().is_some_and(|x| x == "tmp") {
                    let _ = std::fs::remove_file(e.path());
                }
            }
            let t = Target {
                cfg: cfg.clone(),
                dir,
                pending: Mutex::new(Vec::new()),
                stats: Stats::default(),
                wake: Notify::new(),
                names: Mutex::new(HashMap::new()),
            };
            t.stats.queue_bytes.store(queue(&t.dir).1, Relaxed);
            out.push(Arc::new(t));
        }
        Ok(Self {
            targets: out,
            chains: RwLock::new(HashMap::new()),
        })
    }

    /// Whether any target is configured.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// The nodes of the running configuration and their chains (their samples' `chain`).
    pub fn set_nodes<'a>(&self, nodes: impl IntoIterator<Item = (&'a str, &'a str)>) {
        let map = nodes
            .into_iter()
            .map(|(n, c)| (n.to_string(), Arc::from(c)))
            .collect();
        *self.chains.write().unwrap_or_else(|p| p.into_inner()) = map;
    }

    /// Queues the samples of `node` at `ts_ms` (`@chain` is a chain's own series).
    pub fn push(&self, node: &str, ts_ms: i64, samples: &[(&'static str, f64)]) {
        if self.targets.is_empty() {
            return;
        }
        let (chain, node): (Arc<str>, Arc<str>) = match node.strip_prefix('@') {
            Some(chain) => (Arc::from(chain), Arc::from("")),
            None => (
                self.chains
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(node)
                    .cloned()
                    .unwrap_or_else(|| Arc::from("")),
                Arc::from(node),
            ),
        };
        for t in &self.targets {
            let mut names = t.names.lock().unwrap_or_else(|p| p.into_inner());
            let mut pending = t.pending.lock().unwrap_or_else(|p| p.into_inner());
            for &(series, value) in samples {
                if !value.is_finite() {
                    continue;
                }
                let (name, extra) = names
                    .entry(series)
                    .or_insert_with(|| {
                        let (n, e) = prom_name(series);
                        (Arc::from(n.as_str()), e)
                    })
                    .clone();
                pending.push(Pending {
                    name,
                    extra,
                    chain: chain.clone(),
                    node: node.clone(),
                    ts: ts_ms,
                    value,
                });
            }
        }
    }

    /// Starts each target's batcher and sender; they end when `stop` turns true (what is
    /// pending then is written to the queue first).
    pub fn spawn(
        self: &Arc<Self>,
        http: reqwest::Client,
        stop: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut out = Vec::new();
        for t in &self.targets {
            let (t1, mut stop1) = (t.clone(), stop.clone());
            out.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(t1.cfg.flush_interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    let stopping = tokio::select! {
                        _ = tick.tick() => false,
                        _ = stop1.changed() => true,
                    };
                    let t = t1.clone();
                    let _ = tokio::task::spawn_blocking(move || t.batch()).await;
                    if stopping {
                        return;
                    }
                }
            }));
            let (t2, http, mut stop2) = (t.clone(), http.clone(), stop.clone());
            out.push(tokio::spawn(async move {
                tokio::select! {
                    _ = t2.send_loop(&http) => {}
                    _ = stop2.changed() => {}
                }
            }));
        }
        out
    }
}

/// Queued batch files, oldest first, and their total size.
fn queue(dir: &Path) -> (Vec<(PathBuf, u64, u64)>, u64) {
    let mut files: Vec<(PathBuf, u64, u64)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let p = e.path();
                    let name = p.file_name()?.to_str()?.to_string();
                    let (_, samples) = name.strip_suffix(".batch")?.split_once('-')?;
                    let samples: u64 = samples.parse().ok()?;
                    let len = e.metadata().ok()?.len();
                    Some((p, samples, len))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let total = files.iter().map(|f| f.2).sum();
    (files, total)
}

impl Target {
    /// Moves what is pending into one queued batch file; drops the oldest files past the
    /// queue's size.
    fn batch(&self) {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if pending.is_empty() {
            return;
        }
        let n = pending.len() as u64;
        let body = match snap::raw::Encoder::new().compress_vec(&encode(&pending)) {
            Ok(b) => b,
            Err(e) => {
                tracing::error!(target = %self.cfg.name, error = %e, "remote write: cannot compress a batch");
                self.stats.dropped.fetch_add(n, Relaxed);
                return;
            }
        };
        // Names sort by time: nanoseconds since the epoch, then the sample count.
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = self.dir.join(format!("{stamp:024}-{n}.batch"));
        let tmp = self.dir.join(format!("{stamp:024}-{n}.tmp"));
        let written = std::fs::write(&tmp, &body).and_then(|_| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            tracing::error!(target = %self.cfg.name, dir = %self.dir.display(), error = %e, "remote write: cannot queue a batch; its samples are dropped");
            self.stats.dropped.fetch_add(n, Relaxed);
            return;
        }
        let (files, mut total) = queue(&self.dir);
        for (p, samples, len) in files {
            if total <= self.cfg.queue_max_bytes {
                break;
            }
            if std::fs::remove_file(&p).is_ok() {
                total -= len;
                self.stats.dropped.fetch_add(samples, Relaxed);
                tracing::warn!(target = %self.cfg.name, samples, "remote write queue full: the oldest batch is dropped");
            }
        }
        self.stats.queue_bytes.store(total, Relaxed);
        self.wake.notify_one();
    }

    /// Posts queued batches oldest first, forever.
    async fn send_loop(&self, http: &reqwest::Client) {
        let mut backoff = Duration::from_millis(500);
        let mut failing = false;
        loop {
            let (files, total) = queue(&self.dir);
            self.stats.queue_bytes.store(total, Relaxed);
            let Some((path, samples, _)) = files.into_iter().next() else {
                // Woken by the next batch (or a timer, in case a wake was missed).
                let _ = tokio::time::timeout(Duration::from_secs(5), self.wake.notified()).await;
                continue;
            };
            let body = match std::fs::read(&path) {
                Ok(b) => b,
                Err(_) => {
                    // Dropped for room meanwhile.
                    continue;
                }
            };
            match self.post(http, body).await {
                Ok(()) => {
                    let _ = std::fs::remove_file(&path);
                    self.stats.sent.fetch_add(samples, Relaxed);
                    self.stats
                        .last_success_ms
                        .store(chainops_core::time::now_ms(), Relaxed);
                    if failing {
                        tracing::info!(target = %self.cfg.name, "remote write delivers again");
                    }
                    failing = false;
                    backoff = Duration::from_millis(500);
                }
                Err(Failure::Rejected(why)) => {
                    let _ = std::fs::remove_file(&path);
                    self.stats.rejected.fetch_add(samples, Relaxed);
                    tracing::error!(target = %self.cfg.name, samples, error = %why, "remote write: the server rejected a batch; it is dropped");
                }
                Err(Failure::Retry(why)) => {
                    if !failing {
                        tracing::warn!(target = %self.cfg.name, error = %why, "remote write failed; queueing on disk and retrying");
                    }
                    failing = true;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    async fn post(&self, http: &reqwest::Client, body: Vec<u8>) -> Result<(), Failure> {
        let mut req = http
            .post(&self.cfg.url)
            .timeout(self.cfg.timeout)
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .header(
                "User-Agent",
                concat!("chainops/", env!("CARGO_PKG_VERSION")),
            )
            .body(body);
        req = self.cfg.auth.apply(req).map_err(Failure::Retry)?;
        let resp = req
            .send()
            .await
            .map_err(|e| Failure::Retry(e.without_url().to_string()))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let text = resp.text().await.unwrap_or_default();
        let why = format!(
            "HTTP {status}: {}",
            text.trim().chars().take(200).collect::<String>()
        );
        if status.is_client_error() && status.as_u16() != 429 && status.as_u16() != 408 {
            Err(Failure::Rejected(why))
        } else {
            Err(Failure::Retry(why))
        }
    }
}

enum Failure {
    /// Try again later.
    Retry(String),
    /// The server will never take it.
    Rejected(String),
}

fn read_first_line(f: &Path) -> Result<String, String> {
    std::fs::read_to_string(f)
        .map(|t| t.lines().next().unwrap_or_default().trim().to_string())
        .map_err(|e| format!("cannot read {}: {e}", f.display()))
}

/// `prometheus.WriteRequest` in protobuf: one `TimeSeries` per label set, labels sorted by
/// name (`__name__` first), samples in time order.
fn encode(pending: &[Pending]) -> Vec<u8> {
    let mut series: SeriesMap<'_> = BTreeMap::new();
    for p in pending {
        let mut labels: Vec<(&str, &str)> = vec![("__name__", &p.name)];
        if !p.chain.is_empty() {
            labels.push(("chain", &p.chain));
        }
        if !p.node.is_empty() {
            labels.push(("node", &p.node));
        }
        if let Some((k, v)) = &p.extra {
            labels.push((k, v.as_str()));
        }
        labels.sort_unstable();
        series.entry(labels).or_default().push((p.ts, p.value));
    }
    let mut out = Vec::with_capacity(pending.len() * 24);
    let mut ts_buf = Vec::new();
    for (labels, mut samples) in series {
        samples.sort_by_key(|s| s.0);
        samples.dedup_by_key(|s| s.0);
        ts_buf.clear();
        for (k, v) in labels {
            let mut label = Vec::with_capacity(k.len() + v.len() + 4);
            field_bytes(&mut label, 1, k.as_bytes());
            field_bytes(&mut label, 2, v.as_bytes());
            field_bytes(&mut ts_buf, 1, &label);
        }
        for (t, v) in samples {
            let mut s = Vec::with_capacity(20);
            s.push(0x09); // field 1, fixed64: value
            s.extend_from_slice(&v.to_le_bytes());
            s.push(0x10); // field 2, varint: timestamp (ms)
            varint(&mut s, t as u64);
            field_bytes(&mut ts_buf, 2, &s);
        }
        field_bytes(&mut out, 1, &ts_buf);
    }
    out
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field.
fn field_bytes(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    varint(out, u64::from(field << 3 | 2));
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

impl MetricsSource for RemoteWriter {
    fn render(&self, _now_ms: i64) -> String {
        let mut out = String::new();
        if self.targets.is_empty() {
            return out;
        }
        header(
            &mut out,
            "chainops_remote_write_samples_total",
            "counter",
            "Samples per remote-write target: sent, dropped (queue full, unwritable) or rejected (a 4xx).",
        );
        for t in &self.targets {
            for (outcome, n) in [
                ("sent", &t.stats.sent),
                ("dropped", &t.stats.dropped),
                ("rejected", &t.stats.rejected),
            ] {
                sample(
                    &mut out,
                    "chainops_remote_write_samples_total",
                    &[("target", &t.cfg.name), ("outcome", outcome)],
                    n.load(Relaxed) as f64,
                );
            }
        }
        header(
            &mut out,
            "chainops_remote_write_queue_bytes",
            "gauge",
            "Bytes waiting in a remote-write target's on-disk queue.",
        );
        for t in &self.targets {
            sample(
                &mut out,
                "chainops_remote_write_queue_bytes",
                &[("target", &t.cfg.name)],
                t.stats.queue_bytes.load(Relaxed) as f64,
            );
        }
        header(
            &mut out,
            "chainops_remote_write_last_success_timestamp_seconds",
            "gauge",
            "When a remote-write target last accepted a batch.",
        );
        for t in &self.targets {
            let ms = t.stats.last_success_ms.load(Relaxed);
            if ms > 0 {
                sample(
                    &mut out,
                    "chainops_remote_write_last_success_timestamp_seconds",
                    &[("target", &t.cfg.name)],
                    ms as f64 / 1000.0,
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_exposition_where_one_exists() {
        assert_eq!(prom_name("height").0, "chainops_block_height");
        assert_eq!(
            prom_name("txpool_queued"),
            (
                "chainops_txpool_transactions".into(),
                Some(("state", "queued".into()))
            )
        );
        assert_eq!(
            prom_name("rpc_method_latency_seconds:eth_call"),
            (
                "chainops_rpc_method_latency_seconds".into(),
                Some(("method", "eth_call".into()))
            )
        );
        assert_eq!(prom_name("difficulty").0, "chainops_difficulty");
    }

    #[test]
    fn the_protobuf_is_what_prometheus_expects() {
        let p = vec![Pending {
            name: Arc::from("m"),
            extra: None,
            chain: Arc::from("c"),
            node: Arc::from(""),
            ts: 1,
            value: 2.0,
        }];
        // timeseries { labels {__name__ m} labels {chain c} samples {2.0 @ 1} }
        let mut want = vec![0x0a, 0x28];
        want.extend([0x0a, 0x0d, 0x0a, 0x08]);
        want.extend(b"__name__");
        want.extend([0x12, 0x01, b'm']);
        want.extend([0x0a, 0x0a, 0x0a, 0x05]);
        want.extend(b"chain");
        want.extend([0x12, 0x01, b'c']);
        want.extend([0x12, 0x0b, 0x09]);
        want.extend(2.0f64.to_le_bytes());
        want.extend([0x10, 0x01]);
        assert_eq!(encode(&p), want);
    }

    #[test]
    fn a_full_queue_drops_the_oldest_batches_and_counts_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = RemoteWriteConfig {
            name: "t".into(),
            url: "http://127.0.0.1:1/".into(),
            timeout: Duration::from_secs(1),
            flush_interval: Duration::from_secs(1),
            queue_max_bytes: 300,
            auth: TsdbAuth::default(),
        };
        // A batch half-written before a crash is cleared at start.
        let queue_dir = dir.path().join("remote-write/t");
        std::fs::create_dir_all(&queue_dir).expect("mkdir");
        std::fs::write(queue_dir.join("000000000000000000000001-2.tmp"), b"half").expect("tmp");
        let w = RemoteWriter::new(&[cfg], dir.path()).expect("writer");
        assert!(!queue_dir.join("000000000000000000000001-2.tmp").exists());
        w.set_nodes([("n1", "c1")]);
        for i in 0..20 {
            w.push("n1", i, &[("height", i as f64), ("peers", 3.0)]);
            w.targets[0].batch();
        }
        let (files, total) = queue(&w.targets[0].dir);
        assert!(total <= 300, "{total}");
        assert!(!files.is_empty() && files.len() < 20);
        let dropped = w.targets[0].stats.dropped.load(Relaxed);
        assert_eq!(dropped, 2 * (20 - files.len() as u64));
        let text = w.render(0);
        assert!(
            text.contains(&format!(
                "chainops_remote_write_samples_total{{target=\"t\",outcome=\"dropped\"}} {dropped}"
            )),
            "{text}"
        );
    }
}
