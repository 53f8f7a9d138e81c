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

    /// Saves (replaces) many nodes' state documents, a few hundred per statement. A node
    /// listed twice keeps its last document (one statement may not write a row twice).
    pub async fn save_node_states(&self, states: &[(String, serde_json::Value)]) -> Result<()> {
        let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, (node, _)) in states.iter().enumerate() {
            last.insert(node.as_str(), i);
        }
        let states: Vec<&(String, serde_json::Value)> = states
            .iter()
            .enumerate()
            .filter(|(i, (node, _))| last.get(node.as_str()) == Some(i))
            .map(|(_, s)| s)
            .collect();
        for chunk in states.chunks(300) {
            let sql = format!(
                "INSERT INTO node_state (node, state, updated_ms) VALUES {}
                 ON CONFLICT (node) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms",
                crate::values_rows(chunk.len(), 3, "")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            let now = now_ms();
            for (node, state) in chunk {
                q = q.bind(node.as_str()).bind(state.to_string()).bind(now);
            }
            q.execute(self.pool())
                .await
                .map_err(|e| StoreError::query("save node states", e))?;
        }
        Ok(())
    }

    /// Loads the saved state documents of `nodes` (those that have one), a few hundred per
    /// query. An unreadable document is left out (the node starts afresh).
    pub async fn load_node_states(
        &self,
        nodes: &[String],
    ) -> Result<std::collections::HashMap<String, serde_json::Value>> {
        let mut out = std::collections::HashMap::new();
        for chunk in nodes.chunks(500) {
            let sql = format!(
                "SELECT node, state FROM node_state WHERE node IN ({})",
                (1..=chunk.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for n in chunk {
                q = q.bind(n.as_str());
            }
            let rows = q
                .fetch_all(self.pool())
                .await
                .map_err(|e| StoreError::query("load node states", e))?;
            for r in rows {
                let node: String = r.try_get(0).map_err(decode_err)?;
                let text: String = r.try_get(1).map_err(decode_err)?;
                match serde_json::from_str(&text) {
                    Ok(v) => {
                        out.insert(node, v);
                    }
                    Err(e) => {
                        tracing::warn!(%node, error = %e, "ignoring an unreadable saved node state")
                    }
                }
            }
        }
        Ok(out)
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
