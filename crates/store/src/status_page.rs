//! The public status page's own records: incidents written by operators (with their updates
//! and a post-mortem) and scheduled maintenance windows.

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use sqlx::Row;

/// An email subscriber of the status page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberRow {
    /// Id.
    pub id: String,
    /// The requester record that holds the sealed address.
    pub requester_id: String,
    /// Only this chain's news (`""`: every chain).
    pub chain: String,
    /// Hash of the private token (confirm and unsubscribe links).
    pub token_hash: String,
    /// The token, sealed under the desk key (every mail carries the unsubscribe link).
    pub token_sealed: String,
    /// Subscribed, epoch ms.
    pub created_ms: i64,
    /// Confirmed (double opt-in), epoch ms; nothing is sent before.
    pub confirmed_ms: Option<i64>,
}

const SUBSCRIBER: &str =
    "id, requester_id, chain, token_hash, token_sealed, created_ms, confirmed_ms";

fn subscriber(r: &sqlx::any::AnyRow) -> Result<SubscriberRow> {
    Ok(SubscriberRow {
        id: r.try_get(0).map_err(decode_err)?,
        requester_id: r.try_get(1).map_err(decode_err)?,
        chain: r.try_get(2).map_err(decode_err)?,
        token_hash: r.try_get(3).map_err(decode_err)?,
        token_sealed: r.try_get(4).map_err(decode_err)?,
        created_ms: r.try_get(5).map_err(decode_err)?,
        confirmed_ms: r.try_get(6).map_err(decode_err)?,
    })
}

/// A public incident.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusIncidentRow {
    /// Id.
    pub id: String,
    /// The chain it concerns (`""`: every chain).
    pub chain: String,
    /// Title.
    pub title: String,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub state: String,
    /// Opened, epoch ms.
    pub created_ms: i64,
    /// Last update, epoch ms.
    pub updated_ms: i64,
    /// Resolved, epoch ms.
    pub resolved_ms: Option<i64>,
    /// Post-mortem (Markdown; empty until written).
    pub postmortem: String,
    /// Who opened it.
    pub created_by: String,
}

/// One update of a public incident.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatusUpdateRow {
    /// The incident.
    pub incident_id: String,
    /// When, epoch ms.
    pub at_ms: i64,
    /// The incident's state from this update on.
    pub state: String,
    /// What the operators say.
    pub body: String,
    /// Who wrote it.
    pub author: String,
}

/// A scheduled maintenance window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MaintenanceRow {
    /// Id.
    pub id: String,
    /// The chain (`""`: every chain).
    pub chain: String,
    /// What is done.
    pub title: String,
    /// Start, epoch ms.
    pub starts_ms: i64,
    /// End, epoch ms.
    pub ends_ms: i64,
    /// The silence that holds the chain's alerts during the window.
    pub silence_id: String,
    /// Who scheduled it.
    pub created_by: String,
}

const INCIDENT: &str =
    "id, chain, title, state, created_ms, updated_ms, resolved_ms, postmortem, created_by";
const MAINTENANCE: &str = "id, chain, title, starts_ms, ends_ms, silence_id, created_by";

fn incident(r: &sqlx::any::AnyRow) -> Result<StatusIncidentRow> {
    Ok(StatusIncidentRow {
        id: r.try_get(0).map_err(decode_err)?,
        chain: r.try_get(1).map_err(decode_err)?,
        title: r.try_get(2).map_err(decode_err)?,
        state: r.try_get(3).map_err(decode_err)?,
        created_ms: r.try_get(4).map_err(decode_err)?,
        updated_ms: r.try_get(5).map_err(decode_err)?,
        resolved_ms: r.try_get(6).map_err(decode_err)?,
        postmortem: r.try_get(7).map_err(decode_err)?,
        created_by: r.try_get(8).map_err(decode_err)?,
    })
}

fn maintenance(r: &sqlx::any::AnyRow) -> Result<MaintenanceRow> {
    Ok(MaintenanceRow {
        id: r.try_get(0).map_err(decode_err)?,
        chain: r.try_get(1).map_err(decode_err)?,
        title: r.try_get(2).map_err(decode_err)?,
        starts_ms: r.try_get(3).map_err(decode_err)?,
        ends_ms: r.try_get(4).map_err(decode_err)?,
        silence_id: r.try_get(5).map_err(decode_err)?,
        created_by: r.try_get(6).map_err(decode_err)?,
    })
}

impl Store {
    /// Adds a subscriber (or, for the same requester and chain, replaces its token) with
    /// the confirmation mail, in one transaction.
    pub async fn add_subscriber(
        &self,
        r: &SubscriberRow,
        outbox: &[crate::alerts::OutboxRow],
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO status_subscribers ({SUBSCRIBER}) VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (requester_id, chain) DO UPDATE SET token_hash = excluded.token_hash,
             token_sealed = excluded.token_sealed"
        )))
        .bind(&r.id)
        .bind(&r.requester_id)
        .bind(&r.chain)
        .bind(&r.token_hash)
        .bind(&r.token_sealed)
        .bind(r.created_ms)
        .bind(r.confirmed_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("save a subscription", e))?;
        crate::alerts::commit_with_outbox(tx, outbox, "commit a subscription").await
    }

    /// The subscriber of a requester for a chain.
    pub async fn subscriber_of(
        &self,
        requester: &str,
        chain: &str,
    ) -> Result<Option<SubscriberRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SUBSCRIBER} FROM status_subscribers WHERE requester_id = $1 AND chain = $2"
        )))
        .bind(requester)
        .bind(chain)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read a subscription", e))?;
        row.as_ref().map(subscriber).transpose()
    }

    /// The subscriber a token belongs to.
    pub async fn subscriber_by_token(&self, token_hash: &str) -> Result<Option<SubscriberRow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SUBSCRIBER} FROM status_subscribers WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read a subscription", e))?;
        row.as_ref().map(subscriber).transpose()
    }

    /// Confirms a subscription (once).
    pub async fn confirm_subscriber(&self, id: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE status_subscribers SET confirmed_ms = $1 WHERE id = $2 AND confirmed_ms IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| StoreError::query("confirm a subscription", e))?;
        Ok(())
    }

    /// Removes a subscription.
    pub async fn delete_subscriber(&self, id: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM status_subscribers WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::query("delete a subscription", e))?
            .rows_affected()
            > 0)
    }

    /// Confirmed subscribers of `chain`'s news (`""`: news of every chain goes to all).
    pub async fn subscribers_for(&self, chain: &str) -> Result<Vec<SubscriberRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SUBSCRIBER} FROM status_subscribers WHERE confirmed_ms IS NOT NULL
             AND ($1 = '' OR chain = '' OR chain = $1) ORDER BY id"
        )))
        .bind(chain)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list subscribers", e))?;
        rows.iter().map(subscriber).collect()
    }

    /// How many subscriptions are confirmed and pending.
    pub async fn subscriber_counts(&self) -> Result<(i64, i64)> {
        sqlx::query_as(
            "SELECT COALESCE(SUM(CASE WHEN confirmed_ms IS NULL THEN 0 ELSE 1 END), 0),
             COALESCE(SUM(CASE WHEN confirmed_ms IS NULL THEN 1 ELSE 0 END), 0) FROM status_subscribers",
        )
        .fetch_one(self.pool())
        .await
        .map_err(|e| StoreError::query("count subscribers", e))
    }

    /// Opens a public incident with its first update, in one transaction.
    pub async fn open_status_incident(
        &self,
        i: &StatusIncidentRow,
        first: &StatusUpdateRow,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO status_incidents ({INCIDENT}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )))
        .bind(i.id.as_str())
        .bind(i.chain.as_str())
        .bind(i.title.as_str())
        .bind(i.state.as_str())
        .bind(i.created_ms)
        .bind(i.updated_ms)
        .bind(i.resolved_ms)
        .bind(i.postmortem.as_str())
        .bind(i.created_by.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("insert status incident", e))?;
        insert_update(&mut tx, first).await?;
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit", e))
    }

    /// Adds an update; the incident takes its state (and is resolved by a `resolved` one).
    /// `false` when there is no such incident.
    pub async fn add_status_update(&self, u: &StatusUpdateRow) -> Result<bool> {
        let mut tx = self.begin().await?;
        let resolved = (u.state == "resolved").then_some(u.at_ms);
        let changed = sqlx::query(
            "UPDATE status_incidents SET state = $1, updated_ms = $2, resolved_ms = $3 WHERE id = $4",
        )
        .bind(u.state.as_str())
        .bind(u.at_ms)
        .bind(resolved)
        .bind(u.incident_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("update status incident", e))?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        insert_update(&mut tx, u).await?;
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit", e))?;
        Ok(true)
    }

    /// Sets an incident's post-mortem; `false` when there is no such incident.
    pub async fn set_postmortem(&self, id: &str, text: &str) -> Result<bool> {
        sqlx::query("UPDATE status_incidents SET postmortem = $1 WHERE id = $2")
            .bind(text)
            .bind(id)
            .execute(self.pool())
            .await
            .map(|r| r.rows_affected() > 0)
            .map_err(|e| StoreError::query("set postmortem", e))
    }

    /// Incidents still open or updated since `since_ms`, newest first, each with its updates
    /// (newest first).
    pub async fn status_incidents(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(StatusIncidentRow, Vec<StatusUpdateRow>)>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INCIDENT} FROM status_incidents WHERE resolved_ms IS NULL OR updated_ms >= $1
             ORDER BY created_ms DESC, id DESC LIMIT 500"
        )))
        .bind(since_ms)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list status incidents", e))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let i = incident(r)?;
            let updates = self.status_updates(&i.id).await?;
            out.push((i, updates));
        }
        Ok(out)
    }

    /// One incident with its updates.
    pub async fn status_incident(
        &self,
        id: &str,
    ) -> Result<Option<(StatusIncidentRow, Vec<StatusUpdateRow>)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INCIDENT} FROM status_incidents WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read status incident", e))?;
        match row {
            None => Ok(None),
            Some(r) => {
                let i = incident(&r)?;
                let updates = self.status_updates(&i.id).await?;
                Ok(Some((i, updates)))
            }
        }
    }

    async fn status_updates(&self, id: &str) -> Result<Vec<StatusUpdateRow>> {
        let rows = sqlx::query(
            "SELECT incident_id, at_ms, state, body, author FROM status_updates
             WHERE incident_id = $1 ORDER BY at_ms DESC, seq DESC",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list status updates", e))?;
        rows.iter()
            .map(|r| {
                Ok(StatusUpdateRow {
                    incident_id: r.try_get(0).map_err(decode_err)?,
                    at_ms: r.try_get(1).map_err(decode_err)?,
                    state: r.try_get(2).map_err(decode_err)?,
                    body: r.try_get(3).map_err(decode_err)?,
                    author: r.try_get(4).map_err(decode_err)?,
                })
            })
            .collect()
    }

    /// Schedules a maintenance window.
    pub async fn create_maintenance(&self, m: &MaintenanceRow) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO maintenance ({MAINTENANCE}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )))
        .bind(m.id.as_str())
        .bind(m.chain.as_str())
        .bind(m.title.as_str())
        .bind(m.starts_ms)
        .bind(m.ends_ms)
        .bind(m.silence_id.as_str())
        .bind(m.created_by.as_str())
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("insert maintenance", e))
    }

    /// Windows that end at or after `from_ms`, soonest first.
    pub async fn maintenance_windows(&self, from_ms: i64) -> Result<Vec<MaintenanceRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {MAINTENANCE} FROM maintenance WHERE ends_ms >= $1 ORDER BY starts_ms, id LIMIT 500"
        )))
        .bind(from_ms)
        .fetch_all(self.pool())
        .await
        .map_err(|e| StoreError::query("list maintenance", e))?;
        rows.iter().map(maintenance).collect()
    }
}

async fn insert_update(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    u: &StatusUpdateRow,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO status_updates (incident_id, at_ms, state, body, author, seq)
         VALUES ($1, $2, $3, $4, $5,
                 (SELECT COALESCE(MAX(seq), 0) + 1 FROM status_updates WHERE incident_id = $1))",
    )
    .bind(u.incident_id.as_str())
    .bind(u.at_ms)
    .bind(u.state.as_str())
    .bind(u.body.as_str())
    .bind(u.author.as_str())
    .execute(&mut **tx)
    .await
    .map(|_| ())
    .map_err(|e| StoreError::query("insert status update", e))
}
