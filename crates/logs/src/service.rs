//! The daemon side: builds the redactor and ingester from `[logs]`, follows configured files
//! (new files matching a glob are picked up) and managed nodes' output, enforces retention,
//! counts log alert matches, and pushes JSON lines received over HTTP.

use crate::config::{LogAlertConfig, LogsConfig};
use crate::entry::{Level, LogEntry};
use crate::ingest::{Ingester, Source};
use crate::parse::{Format, Grouper};
use crate::redact::{Pattern, Redactor};
use crate::tail::FileTail;
use chainops_core::task::spawn_supervised;
use chainops_core::time::now_ms;
use chainops_store::Store;
use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// Compiles `[[logs.redact]]` patterns; the error names the bad one.
pub fn compile_patterns(cfg: &LogsConfig) -> Result<Vec<Pattern>, String> {
    cfg.redact
        .iter()
        .enumerate()
        .map(|(i, r)| {
            regex::Regex::new(&r.pattern)
                .map(|regex| Pattern {
                    name: r.name.clone(),
                    regex,
                })
                .map_err(|e| format!("logs.redact[{i}].pattern: {e}"))
        })
        .collect()
}

/// `*` and `?` in the file name of `pattern`.
pub fn glob(pattern: &Path) -> Vec<PathBuf> {
    let name = pattern
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    if !name.contains(['*', '?']) {
        return vec![pattern.to_path_buf()];
    }
    let dir = pattern.parent().unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| wildcard(&name, &e.file_name().to_string_lossy()))
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn wildcard(p: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (p.chars().collect(), s.chars().collect());
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < s.len() {
        if i < p.len() && (p[i] == '?' || p[i] == s[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(st) = star {
            i = st + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

/// Counts entries matching each log alert rule per node in a sliding window.
#[derive(Debug, Default)]
pub struct AlertCounts {
    rules: Vec<LogAlertConfig>,
    /// (rule, node) → match times.
    hits: Mutex<HashMap<(usize, String), VecDeque<i64>>>,
}

impl AlertCounts {
    /// Counters for `rules`.
    pub fn new(rules: Vec<LogAlertConfig>) -> AlertCounts {
        AlertCounts {
            rules,
            hits: Mutex::default(),
        }
    }

    /// The rules.
    pub fn rules(&self) -> &[LogAlertConfig] {
        &self.rules
    }

    /// Records stored entries of `node`.
    pub fn observe(&self, node: &str, entries: &[LogEntry], now: i64) {
        if self.rules.is_empty() {
            return;
        }
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        for (ri, r) in self.rules.iter().enumerate() {
            let min = r.level.as_deref().and_then(Level::parse);
            let n = entries
                .iter()
                .filter(|e| min.is_none_or(|m| e.level >= m))
                .filter(|e| {
                    r.pattern
                        .as_deref()
                        .is_none_or(|p| e.message.to_lowercase().contains(p))
                })
                .count();
            if n > 0 {
                let q = hits.entry((ri, node.to_string())).or_default();
                q.extend(std::iter::repeat_n(now, n));
            }
        }
    }

    /// Matches of rule `ri` on `node` within its window ending at `now`.
    pub fn count(&self, ri: usize, node: &str, now: i64) -> u64 {
        let Some(r) = self.rules.get(ri) else {
            return 0;
        };
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        let Some(q) = hits.get_mut(&(ri, node.to_string())) else {
            return 0;
        };
        let from = now - r.window.as_millis() as i64;
        while q.front().is_some_and(|&t| t < from) {
            q.pop_front();
        }
        q.len() as u64
    }
}

/// The running log subsystem.
pub struct LogService {
    /// The ingester (shared with the HTTP push endpoint).
    pub ingester: Arc<Ingester>,
    /// Log alert counters (read by the alert engine).
    pub alerts: Arc<AlertCounts>,
    config: LogsConfig,
}

/// A node whose log lines chainops reads.
#[derive(Debug, Clone)]
pub struct NodeLog {
    /// Node name.
    pub node: String,
    /// Chain.
    pub chain: String,
    /// File to follow.
    pub path: PathBuf,
    /// Fixed format.
    pub format: Option<Format>,
    /// Source id.
    pub source_id: String,
    /// Entries not stored.
    pub drop: crate::ingest::DropFilter,
}

impl LogService {
    /// Builds the service; `forward` receives stored entries (Loki).
    pub fn new(
        store: Store,
        config: &LogsConfig,
        forward: Option<tokio::sync::mpsc::Sender<crate::ingest::Forwarded>>,
    ) -> Result<LogService, String> {
        let redactor = Redactor::new(compile_patterns(config)?);
        Ok(LogService {
            ingester: Arc::new(Ingester::new(store, redactor, forward)),
            alerts: Arc::new(AlertCounts::new(config.alerts.clone())),
            config: config.clone(),
        })
    }

    /// Stores pushed JSON lines for `node`; returns entries stored.
    pub async fn push(
        &self,
        src: &Source,
        body: &str,
    ) -> Result<usize, chainops_store::StoreError> {
        let now = now_ms();
        let mut g = Grouper::new(src.format.unwrap_or(Format::JsonLines));
        let mut entries: Vec<LogEntry> = body.lines().filter_map(|l| g.push(l, now)).collect();
        entries.extend(g.finish());
        self.alerts.observe(&src.node, &entries, now);
        self.ingester
            .write(src, entries, None, now)
            .await
            .map(|e| e.len())
    }

    /// Follows every source (configured globs, plus `managed`) until `shutdown`.
    pub fn spawn(
        &self,
        sources: Vec<NodeLog>,
        shutdown: watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        let mut tasks = Vec::new();
        let interval = self.config.poll_interval;
        let (ing, alerts, stop) = (self.ingester.clone(), self.alerts.clone(), shutdown.clone());
        // A restarted follower resumes from the read positions stored with the entries.
        tasks.push(spawn_supervised("logs:follow", move || {
            follow(
                ing.clone(),
                alerts.clone(),
                sources.clone(),
                interval,
                stop.clone(),
            )
        }));
        let (store, age, size) = (
            self.ingester.store().clone(),
            self.config.retention,
            self.config.max_size_bytes,
        );
        tasks.push(spawn_supervised("logs:retention", move || {
            retention(store.clone(), age, size, shutdown.clone())
        }));
        tasks
    }
}

/// Follows `sources`, expanding globs every few seconds so new files are picked up.
async fn follow(
    ing: Arc<Ingester>,
    alerts: Arc<AlertCounts>,
    sources: Vec<NodeLog>,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tails: Vec<(String, FileTail)> = Vec::new();
    let mut known: HashSet<PathBuf> = HashSet::new();
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut since_scan = Duration::MAX;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        since_scan = since_scan.saturating_add(interval);
        if since_scan >= Duration::from_secs(5) {
            since_scan = Duration::ZERO;
            for s in &sources {
                for path in glob(&s.path) {
                    if known.insert(path.clone()) {
                        let id = if s.path.to_string_lossy().contains(['*', '?']) {
                            format!("{}:{}", s.source_id, path.display())
                        } else {
                            s.source_id.clone()
                        };
                        let src = Source {
                            id,
                            node: s.node.clone(),
                            chain: s.chain.clone(),
                            format: s.format,
                            drop: s.drop.clone(),
                        };
                        tails.push((s.node.clone(), FileTail::new(src, &path)));
                    }
                }
            }
        }
        for (node, t) in &mut tails {
            match t.poll_entries(&ing).await {
                Ok(entries) => alerts.observe(node, &entries, now_ms()),
                Err(e) => tracing::warn!(error = %e, "log ingest failed; retrying"),
            }
        }
    }
}

/// Deletes entries past the retention age, then the oldest beyond the size limit; hourly.
async fn retention(
    store: Store,
    max_age: Duration,
    max_bytes: Option<u64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        if let Err(e) = enforce_retention(&store, max_age, max_bytes, now_ms()).await {
            tracing::warn!(error = %e, "log retention failed");
        }
    }
}

/// One retention pass; returns rows deleted.
pub async fn enforce_retention(
    store: &Store,
    max_age: Duration,
    max_bytes: Option<u64>,
    now: i64,
) -> Result<u64, chainops_store::StoreError> {
    let mut deleted = store
        .prune_logs_before(now - max_age.as_millis() as i64)
        .await?;
    if let Some(limit) = max_bytes {
        let size = store.logs_size_bytes().await? as u64;
        let rows = store.count_logs().await?;
        if size > limit && rows > 0 {
            // Delete the oldest share that brings the size under the limit (+5 % headroom).
            let per_row = (size / rows as u64).max(1);
            let excess = ((size - limit) / per_row) as i64 + rows / 20;
            deleted += store.prune_oldest_logs(excess.min(rows)).await?;
        }
    }
    if deleted > 0 {
        tracing::info!(rows = deleted, "log retention deleted old entries");
    }
    Ok(deleted)
}

/// The fleet's facts plus one fact per log alert rule (`log_<rule>`: matches in the rule's
/// window for the node), so log rules run in the alert engine like any other rule.
pub struct WithLogFacts {
    inner: Arc<dyn chainops_core::facts::FactSource>,
    counts: Arc<AlertCounts>,
    names: Vec<&'static str>,
}

impl WithLogFacts {
    /// Wraps `inner`. Fact names are created once at start (config is static for the run).
    pub fn new(
        inner: Arc<dyn chainops_core::facts::FactSource>,
        counts: Arc<AlertCounts>,
    ) -> WithLogFacts {
        let names = counts
            .rules()
            .iter()
            .map(|r| &*Box::leak(format!("log_{}", r.name).into_boxed_str()))
            .collect();
        WithLogFacts {
            inner,
            counts,
            names,
        }
    }

    /// The fact name of each log rule, in rule order.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }
}

impl chainops_core::facts::FactSource for WithLogFacts {
    fn facts(&self, now_ms: i64) -> Vec<chainops_core::facts::NodeFacts> {
        let mut facts = self.inner.facts(now_ms);
        for f in &mut facts {
            for (ri, name) in self.names.iter().enumerate() {
                f.values
                    .insert(name, self.counts.count(ri, &f.node, now_ms) as f64);
            }
        }
        facts
    }
}

impl chainops_core::ports::MetricsSource for LogService {
    /// Log ingest counters and redactions by kind (every built-in kind, 0 included).
    fn render(&self, _now_ms: i64) -> String {
        use chainops_core::exposition::{family, header, sample};
        use std::sync::atomic::Ordering::Relaxed;
        let st = &self.ingester.stats;
        let mut out = String::new();
        for (name, help, v) in [
            (
                "chainops_log_lines_total",
                "Log lines read from files.",
                st.lines.load(Relaxed),
            ),
            (
                "chainops_log_entries_total",
                "Log entries stored (after grouping and redaction).",
                st.entries.load(Relaxed),
            ),
            (
                "chainops_log_forward_dropped_total",
                "Entries not forwarded to Loki because its queue was full.",
                st.forward_dropped.load(Relaxed),
            ),
            (
                "chainops_log_entries_filtered_total",
                "Entries a source's drop filter left out (a managed node's poll request lines by default).",
                st.filtered.load(Relaxed),
            ),
        ] {
            family(&mut out, name, "counter", help, [(vec![], v as f64)]);
        }
        let name = "chainops_log_redactions_total";
        header(
            &mut out,
            name,
            "counter",
            "Secrets replaced in logs before storage, by kind.",
        );
        let counts = self.ingester.redactions();
        for kind in crate::redact::KINDS {
            let v = counts.get(*kind).copied().unwrap_or(0);
            sample(&mut out, name, &[("kind", kind)], v as f64);
        }
        for (kind, v) in counts
            .iter()
            .filter(|(k, _)| !crate::redact::KINDS.contains(&k.as_str()))
        {
            sample(&mut out, name, &[("kind", kind)], *v as f64);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_file_names() {
        assert!(wildcard("*.log", "geth.log"));
        assert!(wildcard("node-?.log", "node-1.log"));
        assert!(!wildcard("*.log", "geth.log.1"));
        assert!(wildcard("debug*", "debug.log"));
    }
}
