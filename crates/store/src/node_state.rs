//! Per-node tracker state (reorg counters, recent hashes, last client version) kept across
//! restarts as an opaque JSON document owned by the collector.

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use chainops_core::time::now_ms;
use sqlx::Row;

impl Store {
    /// Saves (replaces) a node's state document.
    pub async fn save_node_state(&self, node: &str, state: &serde_json::Value) -> Result<()> {
        sqlx::query(
            "INSERT INTO node_state (node, state, updated_ms) VALUES ($1, $2, $3)
             ON CONFLICT (node) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms",
        )
        .bind(node)
        .bind(state.to_string())
        .bind(now_ms())
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("save node state", e))
    }

    /// Loads a node's state document, if one was saved.
    pub async fn load_node_state(&self, node: &str) -> Result<Option<serde_json::Value>> {
        let row = sqlx::query("SELECT state FROM node_state WHERE node = $1")
            .bind(node)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| StoreError::query("load node state", e))?;
        match row {
            None => Ok(None),
            Some(r) => {
                let text: String = r.try_get(0).map_err(decode_err)?;
                serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        context: "node_state",
                        detail: e.to_string(),
                    })
            }
        }
    }
}
