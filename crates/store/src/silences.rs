//! Silences: label matchers with a time window; matching alerts send no notifications.

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

/// A silence as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SilenceRow {
    /// Id.
    pub id: String,
    /// Label name → required value (all must match).
    pub matchers: BTreeMap<String, String>,
    /// Why.
    pub comment: String,
    /// Who (free text until users exist).
    pub created_by: String,
    /// Start, epoch ms.
    pub starts_ms: i64,
    /// End, epoch ms.
    pub ends_ms: i64,
    /// Created at.
    pub created_ms: i64,
}

impl SilenceRow {
    /// Whether every matcher equals the label of that name.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matchers.iter().all(|(k, v)| labels.get(k) == Some(v))
    }
}

impl Store {
    /// Stores a new silence.
    pub async fn create_silence(&self, s: &SilenceRow) -> Result<()> {
        let matchers = serde_json::to_string(&s.matchers).map_err(|e| StoreError::Corrupt {
            context: "silences.matchers",
            detail: e.to_string(),
        })?;
        sqlx::query(
            "INSERT INTO silences (id, matchers, comment, created_by, starts_ms, ends_ms, created_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(s.id.as_str())
        .bind(matchers)
        .bind(s.comment.as_str())
        .bind(s.created_by.as_str())
        .bind(s.starts_ms)
        .bind(s.ends_ms)
        .bind(s.created_ms)
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("create silence", e))
    }

    /// Silences in force at `now_ms`.
    pub async fn active_silences(&self, now_ms: i64) -> Result<Vec<SilenceRow>> {
        let rows = sqlx::query(
            "SELECT id, matchers, comment, created_by, starts_ms, ends_ms, created_ms FROM silences
             WHERE starts_ms <= $1 AND ends_ms > $1 ORDER BY created_ms, id",
        )
        .bind(now_ms)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read silences", e))?;
        rows.iter()
            .map(|r| {
                let m: String = r.try_get(1).map_err(decode_err)?;
                Ok(SilenceRow {
                    id: r.try_get(0).map_err(decode_err)?,
                    matchers: serde_json::from_str(&m).map_err(|e| StoreError::Corrupt {
                        context: "silences.matchers",
                        detail: e.to_string(),
                    })?,
                    comment: r.try_get(2).map_err(decode_err)?,
                    created_by: r.try_get(3).map_err(decode_err)?,
                    starts_ms: r.try_get(4).map_err(decode_err)?,
                    ends_ms: r.try_get(5).map_err(decode_err)?,
                    created_ms: r.try_get(6).map_err(decode_err)?,
                })
            })
            .collect()
    }

    /// Ends a silence now; `false` if no active silence has that id.
    pub async fn expire_silence(&self, id: &str, now_ms: i64) -> Result<bool> {
        sqlx::query("UPDATE silences SET ends_ms = $1 WHERE id = $2 AND ends_ms > $1")
            .bind(now_ms)
            .bind(id)
            .execute(self.pool())
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(|e| StoreError::query("expire silence", e))
    }
}
