//! The write path: entries are redacted (message and field values), turned into rows and
//! stored together with their source's read position in one transaction; stored entries
//! are then offered to the forwarder (Loki).

use crate::entry::LogEntry;
use crate::parse::Format;
use crate::redact::Redactor;
use chainops_store::logs::{LogPosition, NewLog};
use chainops_store::{Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// Entries a source never stores: any whose message matches one of these (`drop = […]`).
#[derive(Debug, Clone, Default)]
pub struct DropFilter(pub std::sync::Arc<Vec<regex::Regex>>);

impl DropFilter {
    /// A filter of compiled patterns.
    pub fn new(patterns: Vec<regex::Regex>) -> DropFilter {
        DropFilter(std::sync::Arc::new(patterns))
    }

    /// Compiles `patterns` (validated with the config; one that does not compile is left out).
    pub fn compile(patterns: &[String]) -> DropFilter {
        Self::new(
            patterns
                .iter()
                .filter_map(|p| regex::Regex::new(p).ok())
                .collect(),
        )
    }

    /// Whether `e` is dropped.
    pub fn drops(&self, e: &LogEntry) -> bool {
        self.0.iter().any(|r| r.is_match(&e.message))
    }
}

/// Where entries come from.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// Stable id (`file:/var/log/geth.log`, `managed:anvil-1`, `push:geth-1`, `import:…`).
    pub id: String,
    /// Node the lines belong to.
    pub node: String,
    /// Its chain.
    pub chain: String,
    /// Fixed format, or detect from the first lines.
    pub format: Option<Format>,
    /// Entries not stored (their lines still count as read).
    pub drop: DropFilter,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct IngestStats {
    /// Entries stored.
    pub entries: AtomicU64,
    /// Physical lines read.
    pub lines: AtomicU64,
    /// Entries dropped by the forwarder queue (full).
    pub forward_dropped: AtomicU64,
    /// Entries a source's `drop` filter left out.
    pub filtered: AtomicU64,
}

/// An entry as forwarded (after redaction).
#[derive(Debug, Clone, PartialEq)]
pub struct Forwarded {
    /// Node.
    pub node: String,
    /// Chain.
    pub chain: String,
    /// The entry.
    pub entry: LogEntry,
}

/// Redacts and stores entries.
#[derive(Debug)]
pub struct Ingester {
    store: Store,
    redactor: Mutex<Redactor>,
    /// Counters.
    pub stats: IngestStats,
    forward: Option<mpsc::Sender<Forwarded>>,
}

impl Ingester {
    /// An ingester writing to `store`, redacting with `redactor`, forwarding to `forward`.
    pub fn new(
        store: Store,
        redactor: Redactor,
        forward: Option<mpsc::Sender<Forwarded>>,
    ) -> Ingester {
        Ingester {
            store,
            redactor: Mutex::new(redactor),
            stats: IngestStats::default(),
            forward,
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Redactions so far, by kind.
    pub fn redactions(&self) -> BTreeMap<String, u64> {
        self.redactor
            .lock()
            .map(|r| r.counts().clone())
            .unwrap_or_default()
    }

    /// Redacts an entry in place: the message, and every field's name and value (with the
    /// original message as context, so `{"msg": "private key", "value": "0x…"}` is caught).
    pub fn redact(&self, e: &mut LogEntry) {
        let mut r = self.redactor.lock().unwrap_or_else(|p| p.into_inner());
        r.redact_entry(e);
    }

    /// Redacts and stores `entries` of `src`, with `position` in the same transaction;
    /// returns the stored (redacted) entries.
    pub async fn write(
        &self,
        src: &Source,
        mut entries: Vec<LogEntry>,
        position: Option<&LogPosition>,
        now_ms: i64,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let before = entries.len();
        entries.retain(|e| !src.drop.drops(e));
        self.stats
            .filtered
            .fetch_add((before - entries.len()) as u64, Ordering::Relaxed);
        for e in &mut entries {
            self.redact(e);
        }
        let rows: Vec<NewLog> = entries
            .iter()
            .map(|e| NewLog {
                ts_ms: e.ts_ms,
                node: src.node.clone(),
                chain: src.chain.clone(),
                level: e.level.number(),
                message: e.message.clone(),
                fields: serde_json::to_string(&e.fields).unwrap_or_else(|_| "{}".into()),
                source: src.id.clone(),
            })
            .collect();
        if rows.is_empty() && position.is_none() {
            return Ok(entries);
        }
        self.store.insert_logs(&rows, position, now_ms).await?;
        self.stats
            .entries
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
        if let Some(tx) = &self.forward {
            for e in &entries {
                let f = Forwarded {
                    node: src.node.clone(),
                    chain: src.chain.clone(),
                    entry: e.clone(),
                };
                if tx.try_send(f).is_err() {
                    self.stats.forward_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Ok(entries)
    }
}
