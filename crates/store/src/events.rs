//! Node events worth remembering: reorgs (with depth), chain-id mismatches, client version
//! changes. Append-only; read newest first.

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use serde::Serialize;
use sqlx::Row;

/// A recorded event about a node.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeEvent {
    /// Node name.
    pub node: String,
    /// Chain name.
    pub chain: String,
    /// When it was observed, epoch ms.
    pub at_ms: i64,
    /// `reorg`, `chain_id_mismatch`, `client_version_changed`, …
    pub kind: String,
    /// Kind-specific details (JSON object).
    pub detail: serde_json::Value,
}

impl Store {
    /// Appends an event.
    pub async fn record_event(&self, ev: &NodeEvent) -> Result<()> {
        let id = format!("{}-{}-{}-{}", ev.at_ms, ev.node, ev.kind, next_seq());
        sqlx::query("INSERT INTO node_events (id, node, chain, at_ms, kind, detail) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(id)
            .bind(ev.node.as_str())
            .bind(ev.chain.as_str())
            .bind(ev.at_ms)
            .bind(ev.kind.as_str())
            .bind(ev.detail.to_string())
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(|e| StoreError::query("insert node event", e))
    }

    /// The newest `limit` events of a node, newest first.
    pub async fn recent_events(&self, node: &str, limit: i64) -> Result<Vec<NodeEvent>> {
        let rows = sqlx::query(
            "SELECT node, chain, at_ms, kind, detail FROM node_events WHERE node = $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
        )
        .bind(node)
        .bind(limit)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read node events", e))?;
        rows.iter()
            .map(|r| {
                let detail: String = r.try_get(4).map_err(decode_err)?;
                Ok(NodeEvent {
                    node: r.try_get(0).map_err(decode_err)?,
                    chain: r.try_get(1).map_err(decode_err)?,
                    at_ms: r.try_get(2).map_err(decode_err)?,
                    kind: r.try_get(3).map_err(decode_err)?,
                    detail: serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt {
                        context: "node_events.detail",
                        detail: e.to_string(),
                    })?,
                })
            })
            .collect()
    }
}

fn next_seq() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    SEQ.fetch_add(1, Ordering::Relaxed)
}
