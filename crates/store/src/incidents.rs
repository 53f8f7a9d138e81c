//! Incidents: the alerts of one node grouped into one story with a timeline (fired, notified,
//! acknowledged, resolved, closed). Timeline writes caused by an alert transition happen in
//! the same transaction as the transition (see [`Store::save_alert`]).

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

/// What an alert transition does to its node's incident.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentUpdate {
    /// Chain of the node.
    pub chain: String,
    /// Node name.
    pub node: String,
    /// Timeline entry kind (`fired`, `resolved`).
    pub kind: String,
    /// Timeline entry details.
    pub detail: serde_json::Value,
    /// Close the incident after this entry (no alert of the node is firing any more).
    pub close: bool,
    /// When.
    pub at_ms: i64,
}

/// An incident with its timeline.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentRow {
    /// Id.
    pub id: String,
    /// Chain.
    pub chain: String,
    /// Node.
    pub node: String,
    /// `open|resolved`.
    pub state: String,
    /// Opened at.
    pub opened_ms: i64,
    /// Resolved at.
    pub resolved_ms: Option<i64>,
    /// Who acknowledged.
    pub ack_by: Option<String>,
    /// Acknowledgement comment.
    pub ack_comment: Option<String>,
    /// Acknowledgement expires at.
    pub ack_until_ms: Option<i64>,
    /// Timeline, oldest first.
    pub events: Vec<IncidentEvent>,
}

/// One timeline entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IncidentEvent {
    /// When.
    pub at_ms: i64,
    /// `opened`, `fired`, `notified`, `acknowledged`, `resolved`, `closed`.
    pub kind: String,
    /// Details.
    pub detail: serde_json::Value,
}

fn new_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(0);
    // Zero-padded so ids sort in creation order (timeline ties at the same ms sort by id).
    format!(
        "{prefix}{:013}-{:010}",
        chainops_core::time::now_ms(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

async fn add_event(
    tx: &mut Transaction<'_, Any>,
    incident: &str,
    at_ms: i64,
    kind: &str,
    detail: &serde_json::Value,
) -> Result<()> {
    sqlx::query("INSERT INTO incident_events (id, incident_id, at_ms, kind, detail) VALUES ($1, $2, $3, $4, $5)")
        .bind(new_id("ev-"))
        .bind(incident)
        .bind(at_ms)
        .bind(kind)
        .bind(detail.to_string())
        .execute(&mut **tx)
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("insert incident event", e))
}

async fn open_incident_id(
    tx: &mut Transaction<'_, Any>,
    chain: &str,
    node: &str,
) -> Result<Option<String>> {
    sqlx::query_scalar("SELECT id FROM incidents WHERE chain = $1 AND node = $2 AND state = 'open' ORDER BY opened_ms DESC LIMIT 1")
        .bind(chain)
        .bind(node)
        .fetch_optional(&mut **tx)
        .await
        .map_err(|e| StoreError::query("find open incident", e))
}

/// Applies an incident update inside an alert-transition transaction.
pub(crate) async fn apply(tx: &mut Transaction<'_, Any>, u: &IncidentUpdate) -> Result<()> {
    let id = match open_incident_id(tx, &u.chain, &u.node).await? {
        Some(id) => id,
        None if u.close => return Ok(()),
        None => {
            let id = new_id("inc-");
            sqlx::query(
                "INSERT INTO incidents (id, chain, node, state, opened_ms, updated_ms) VALUES ($1, $2, $3, 'open', $4, $4)",
            )
            .bind(id.as_str())
            .bind(u.chain.as_str())
            .bind(u.node.as_str())
            .bind(u.at_ms)
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::query("open incident", e))?;
            add_event(tx, &id, u.at_ms, "opened", &serde_json::json!({})).await?;
            id
        }
    };
    add_event(tx, &id, u.at_ms, &u.kind, &u.detail).await?;
    if u.close {
        sqlx::query("UPDATE incidents SET state = 'resolved', resolved_ms = $1, updated_ms = $1 WHERE id = $2")
            .bind(u.at_ms)
            .bind(id.as_str())
            .execute(&mut **tx)
            .await
            .map_err(|e| StoreError::query("close incident", e))?;
        add_event(tx, &id, u.at_ms, "closed", &serde_json::json!({})).await?;
    }
    Ok(())
}

impl Store {
    /// Adds a timeline entry to the open (else most recent) incident of an alert's node.
    pub async fn incident_event_for_alert(
        &self,
        fingerprint: &str,
        kind: &str,
        detail: &serde_json::Value,
        at_ms: i64,
    ) -> Result<()> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query("begin incident event", e))?;
        let id: Option<String> = sqlx::query_scalar(
            "SELECT i.id FROM incidents i JOIN alerts a ON a.chain = i.chain AND a.node = i.node
             WHERE a.fingerprint = $1 ORDER BY CASE WHEN i.state = 'open' THEN 0 ELSE 1 END, i.opened_ms DESC LIMIT 1",
        )
        .bind(fingerprint)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| StoreError::query("find incident of alert", e))?;
        if let Some(id) = id {
            add_event(&mut tx, &id, at_ms, kind, detail).await?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit incident event", e))
    }

    /// Acknowledges an incident; `false` if there is no such incident.
    pub async fn acknowledge_incident(
        &self,
        id: &str,
        by: &str,
        comment: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> Result<bool> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query("begin ack", e))?;
        let n = sqlx::query("UPDATE incidents SET ack_by = $1, ack_comment = $2, ack_until_ms = $3, updated_ms = $4 WHERE id = $5")
            .bind(by)
            .bind(comment)
            .bind(until_ms)
            .bind(now_ms)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("acknowledge incident", e))?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        let detail = serde_json::json!({"by": by, "comment": comment, "until": chainops_core::time::rfc3339(until_ms)});
        add_event(&mut tx, id, now_ms, "acknowledged", &detail).await?;
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit ack", e))?;
        Ok(true)
    }

    /// `(chain, node)` of open incidents whose acknowledgement is still valid at `now_ms`
    /// (reminders skip them).
    pub async fn acknowledged_nodes(&self, now_ms: i64) -> Result<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT chain, node FROM incidents WHERE state = 'open' AND ack_until_ms IS NOT NULL AND ack_until_ms > $1",
        )
        .bind(now_ms)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("read acknowledged incidents", e))?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("chain").map_err(decode_err)?,
                    r.try_get("node").map_err(decode_err)?,
                ))
            })
            .collect()
    }

    /// Open incidents and those resolved since `resolved_since_ms`, newest first (at most
    /// 500), with timelines. Two queries, whatever the number of incidents.
    pub async fn list_incidents(&self, resolved_since_ms: i64) -> Result<Vec<IncidentRow>> {
        const SELECTED: &str = "FROM incidents WHERE state = 'open' OR resolved_ms >= $1";
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} {SELECTED} ORDER BY opened_ms DESC, id DESC LIMIT 500"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(resolved_since_ms)
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("list incidents", e))?;
        let events = format!(
            "SELECT incident_id, at_ms, kind, detail FROM incident_events
             WHERE incident_id IN (SELECT id {SELECTED}) ORDER BY at_ms, id"
        );
        let events = sqlx::query(sqlx::AssertSqlSafe(events)).bind(resolved_since_ms);
        self.with_timelines(&rows, events).await
    }

    /// One incident with its timeline.
    pub async fn incident(&self, id: &str) -> Result<Option<IncidentRow>> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("read incident", e))?;
        let events = sqlx::query(
            "SELECT incident_id, at_ms, kind, detail FROM incident_events WHERE incident_id = $1 ORDER BY at_ms, id",
        )
        .bind(id);
        Ok(self.with_timelines(&rows, events).await?.pop())
    }

    /// Decodes incident rows and attaches the events `events` selects
    /// (`incident_id, at_ms, kind, detail`, in timeline order).
    async fn with_timelines(
        &self,
        rows: &[AnyRow],
        events: sqlx::query::Query<'_, Any, sqlx::any::AnyArguments>,
    ) -> Result<Vec<IncidentRow>> {
        let mut out: Vec<IncidentRow> = rows.iter().map(incident_row).collect::<Result<_>>()?;
        if out.is_empty() {
            return Ok(out);
        }
        let index: std::collections::HashMap<String, usize> = out
            .iter()
            .enumerate()
            .map(|(i, inc)| (inc.id.clone(), i))
            .collect();
        let event_rows = events
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("read incident events", e))?;
        for r in &event_rows {
            let incident: String = r.try_get(0).map_err(decode_err)?;
            let Some(&i) = index.get(&incident) else {
                continue;
            };
            let detail: String = r.try_get(3).map_err(decode_err)?;
            out[i].events.push(IncidentEvent {
                at_ms: r.try_get(1).map_err(decode_err)?,
                kind: r.try_get(2).map_err(decode_err)?,
                detail: serde_json::from_str(&detail).map_err(|e| StoreError::Corrupt {
                    context: "incident_events.detail",
                    detail: e.to_string(),
                })?,
            });
        }
        Ok(out)
    }
}

const INCIDENT_COLUMNS: &str =
    "id, chain, node, state, opened_ms, resolved_ms, ack_by, ack_comment, ack_until_ms";

fn incident_row(r: &AnyRow) -> Result<IncidentRow> {
    Ok(IncidentRow {
        id: r.try_get(0).map_err(decode_err)?,
        chain: r.try_get(1).map_err(decode_err)?,
        node: r.try_get(2).map_err(decode_err)?,
        state: r.try_get(3).map_err(decode_err)?,
        opened_ms: r.try_get(4).map_err(decode_err)?,
        resolved_ms: r.try_get(5).map_err(decode_err)?,
        ack_by: r.try_get(6).map_err(decode_err)?,
        ack_comment: r.try_get(7).map_err(decode_err)?,
        ack_until_ms: r.try_get(8).map_err(decode_err)?,
        events: Vec::new(),
    })
}
