//! Alert state and the notification outbox. An alert's state change and the notifications it
//! causes are written in one transaction, so a restart neither loses nor duplicates them.

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Where an alert is in its lifecycle, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// Condition false (a pending alert whose condition cleared).
    Inactive,
    /// Condition true, waiting out `for`.
    Pending,
    /// Firing (notified).
    Firing,
    /// Was firing, condition cleared (notified).
    Resolved,
}

impl AlertState {
    /// Every state.
    pub const ALL: [AlertState; 4] = [
        AlertState::Inactive,
        AlertState::Pending,
        AlertState::Firing,
        AlertState::Resolved,
    ];

    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<AlertState> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// Where a notification is in its delivery, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its (next) attempt.
    Pending,
    /// Accepted by the receiver.
    Sent,
    /// Given up on.
    Dead,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [DeliveryState; 3] = [
        DeliveryState::Pending,
        DeliveryState::Sent,
        DeliveryState::Dead,
    ];

    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Dead => "dead",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<DeliveryState> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

fn state_of<T>(
    r: &AnyRow,
    i: usize,
    parse: fn(&str) -> Option<T>,
    column: &'static str,
) -> Result<T> {
    let s: String = r.try_get(i).map_err(decode_err)?;
    parse(&s).ok_or_else(|| StoreError::Corrupt {
        context: column,
        detail: format!("unknown state \"{s}\""),
    })
}

/// One alert (a rule on a node), as persisted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRow {
    /// Stable identity: rule + node.
    pub fingerprint: String,
    /// Rule name.
    pub rule: String,
    /// Node name.
    pub node: String,
    /// Chain name.
    pub chain: String,
    /// `critical|warning|info`.
    pub severity: String,
    /// Lifecycle state.
    pub state: AlertState,
    /// Value of the rule's fact when last true.
    pub value: f64,
    /// Rendered summary.
    pub summary: String,
    /// Rendered description.
    pub description: String,
    /// Labels (JSON object).
    pub labels: serde_json::Value,
    /// When the condition started holding.
    pub active_since_ms: i64,
    /// When it started firing.
    pub fired_at_ms: Option<i64>,
    /// Last evaluation at which the condition held.
    pub last_true_ms: i64,
    /// When it resolved.
    pub resolved_at_ms: Option<i64>,
    /// Last write.
    pub updated_ms: i64,
    /// The rule that inhibits this firing alert right now (a node that is down explains its
    /// other symptoms; a higher alert supersedes a lower one): it stays firing, without
    /// notifications, and resolves only once it is no longer inhibited.
    pub inhibited_by: Option<String>,
}

/// One notification to deliver (or delivered, or given up on).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    /// Unique id, also sent as the delivery id receivers can deduplicate on.
    pub id: String,
    /// Alert fingerprint.
    pub fingerprint: String,
    /// Notifier name.
    pub channel: String,
    /// `firing|resolved`.
    pub event: String,
    /// The JSON body to send.
    pub payload: String,
    /// Enqueued at.
    pub created_ms: i64,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Next attempt not before.
    pub next_attempt_ms: i64,
    /// Delivery state.
    pub state: DeliveryState,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    /// When it was sent or given up on.
    pub done_ms: Option<i64>,
}

const ALERT_COLUMNS: &str = "fingerprint, rule, node, chain, severity, state, value, summary, description, labels, \
     active_since_ms, fired_at_ms, last_true_ms, resolved_at_ms, updated_ms, inhibited_by";
const OUTBOX_COLUMNS: &str = "id, fingerprint, channel, event, payload, created_ms, attempts, next_attempt_ms, state, last_error, done_ms";

impl Store {
    /// Upserts an alert, enqueues its notifications and updates its node's incident
    /// atomically.
    pub async fn save_alert(
        &self,
        alert: &AlertRow,
        notifications: &[OutboxRow],
        incident: Option<&crate::incidents::IncidentUpdate>,
    ) -> Result<()> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query("begin alert write", e))?;
        sqlx::query(
            "INSERT INTO alerts (fingerprint, rule, node, chain, severity, state, value, summary, description, labels,
                active_since_ms, fired_at_ms, last_true_ms, resolved_at_ms, updated_ms, inhibited_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
             ON CONFLICT (fingerprint) DO UPDATE SET rule = excluded.rule, node = excluded.node,
                chain = excluded.chain, severity = excluded.severity, state = excluded.state,
                value = excluded.value, summary = excluded.summary, description = excluded.description,
                labels = excluded.labels, active_since_ms = excluded.active_since_ms,
                fired_at_ms = excluded.fired_at_ms, last_true_ms = excluded.last_true_ms,
                resolved_at_ms = excluded.resolved_at_ms, updated_ms = excluded.updated_ms,
                inhibited_by = excluded.inhibited_by",
        )
        .bind(alert.fingerprint.as_str())
        .bind(alert.rule.as_str())
        .bind(alert.node.as_str())
        .bind(alert.chain.as_str())
        .bind(alert.severity.as_str())
        .bind(alert.state.as_str())
        .bind(alert.value)
        .bind(alert.summary.as_str())
        .bind(alert.description.as_str())
        .bind(alert.labels.to_string())
        .bind(alert.active_since_ms)
        .bind(alert.fired_at_ms)
        .bind(alert.last_true_ms)
        .bind(alert.resolved_at_ms)
        .bind(alert.updated_ms)
        .bind(alert.inhibited_by.as_deref())
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::query("upsert alert", e))?;
        for n in notifications {
            insert_outbox(&mut tx, n).await?;
        }
        if let Some(u) = incident {
            crate::incidents::apply(&mut tx, u).await?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit alert write", e))
    }

    /// Enqueues notifications that belong to no stored alert (Alertmanager intake,
    /// reminders). An id already in the outbox is skipped; returns how many were new.
    pub async fn enqueue_notifications(&self, notifications: &[OutboxRow]) -> Result<u64> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query("begin enqueue", e))?;
        let mut added = 0;
        for n in notifications {
            added += insert_outbox(&mut tx, n).await?;
        }
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit enqueue", e))?;
        Ok(added)
    }

    /// Alerts that are pending or firing.
    pub async fn active_alerts(&self) -> Result<Vec<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE state IN ('pending', 'firing') ORDER BY fingerprint"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("read active alerts", e))?;
        rows.iter().map(alert_row).collect()
    }

    /// Active alerts plus those resolved since `resolved_since_ms`, newest first.
    pub async fn list_alerts(&self, resolved_since_ms: i64) -> Result<Vec<AlertRow>> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE state IN ('pending', 'firing') OR (state = 'resolved' AND resolved_at_ms >= $1)
             ORDER BY active_since_ms DESC, fingerprint"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(resolved_since_ms)
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("list alerts", e))?;
        rows.iter().map(alert_row).collect()
    }

    /// Pending notifications due at `now_ms`, oldest first.
    pub async fn due_notifications(&self, now_ms: i64, limit: i64) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM notification_outbox WHERE state = 'pending' AND next_attempt_ms <= $1
             ORDER BY created_ms, id LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_ms)
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("read due notifications", e))?;
        rows.iter().map(outbox_row).collect()
    }

    /// Claims up to `limit` pending notifications due at `now_ms` for one delivery pass:
    /// their next attempt moves to `claim_until_ms`, so another worker (a cluster's next
    /// leader, a second pass) skips them while this one sends; a worker that dies before
    /// recording the outcome leaves them due again at `claim_until_ms`. On PostgreSQL rows
    /// another transaction holds are skipped (`FOR UPDATE SKIP LOCKED`). Oldest first.
    pub async fn claim_due_notifications(
        &self,
        now_ms: i64,
        limit: i64,
        claim_until_ms: i64,
    ) -> Result<Vec<OutboxRow>> {
        let lock = match self.backend() {
            crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            crate::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE notification_outbox SET next_attempt_ms = $3 WHERE id IN (
                SELECT id FROM notification_outbox WHERE state = 'pending' AND next_attempt_ms <= $1
                ORDER BY created_ms, id LIMIT $2{lock})
             RETURNING {OUTBOX_COLUMNS}"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now_ms)
            .bind(limit)
            .bind(claim_until_ms)
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("claim due notifications", e))?;
        let mut out = rows.iter().map(outbox_row).collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| (a.created_ms, &a.id).cmp(&(b.created_ms, &b.id)));
        Ok(out)
    }

    /// Gives claimed notifications that were not attempted back, due at `due_ms`.
    pub async fn release_notifications(&self, ids: &[&str], due_ms: i64) -> Result<()> {
        for id in ids {
            sqlx::query(
                "UPDATE notification_outbox SET next_attempt_ms = $2 WHERE id = $1 AND state = 'pending'",
            )
            .bind(*id)
            .bind(due_ms)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::query("release claimed notifications", e))?;
        }
        Ok(())
    }

    /// Notifications in `state` (`pending|sent|dead`, or all), newest first.
    pub async fn list_notifications(
        &self,
        state: Option<DeliveryState>,
        limit: i64,
    ) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM notification_outbox WHERE ($1 = '' OR state = $1)
             ORDER BY created_ms DESC, id DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(state.map_or("", DeliveryState::as_str))
            .bind(limit)
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("list notifications", e))?;
        rows.iter().map(outbox_row).collect()
    }

    /// Records a delivery attempt: `sent`, back to `pending` for a retry, or `dead`.
    pub async fn record_delivery(
        &self,
        id: &str,
        state: DeliveryState,
        attempts: i64,
        next_attempt_ms: i64,
        error: Option<&str>,
        now_ms: i64,
    ) -> Result<()> {
        let done = (state != DeliveryState::Pending).then_some(now_ms);
        sqlx::query(
            "UPDATE notification_outbox SET state = $1, attempts = $2, next_attempt_ms = $3, last_error = $4, done_ms = $5
             WHERE id = $6",
        )
        .bind(state.as_str())
        .bind(attempts)
        .bind(next_attempt_ms)
        .bind(error)
        .bind(done)
        .bind(id)
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("record delivery", e))
    }
}

fn alert_row(r: &AnyRow) -> Result<AlertRow> {
    let labels: String = r.try_get(9).map_err(decode_err)?;
    Ok(AlertRow {
        fingerprint: r.try_get(0).map_err(decode_err)?,
        rule: r.try_get(1).map_err(decode_err)?,
        node: r.try_get(2).map_err(decode_err)?,
        chain: r.try_get(3).map_err(decode_err)?,
        severity: r.try_get(4).map_err(decode_err)?,
        state: state_of(r, 5, AlertState::parse, "alerts.state")?,
        value: r.try_get(6).map_err(decode_err)?,
        summary: r.try_get(7).map_err(decode_err)?,
        description: r.try_get(8).map_err(decode_err)?,
        labels: serde_json::from_str(&labels).map_err(|e| StoreError::Corrupt {
            context: "alerts.labels",
            detail: e.to_string(),
        })?,
        active_since_ms: r.try_get(10).map_err(decode_err)?,
        fired_at_ms: r.try_get(11).map_err(decode_err)?,
        last_true_ms: r.try_get(12).map_err(decode_err)?,
        resolved_at_ms: r.try_get(13).map_err(decode_err)?,
        updated_ms: r.try_get(14).map_err(decode_err)?,
        inhibited_by: r.try_get(15).map_err(decode_err)?,
    })
}

fn outbox_row(r: &AnyRow) -> Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.try_get(0).map_err(decode_err)?,
        fingerprint: r.try_get(1).map_err(decode_err)?,
        channel: r.try_get(2).map_err(decode_err)?,
        event: r.try_get(3).map_err(decode_err)?,
        payload: r.try_get(4).map_err(decode_err)?,
        created_ms: r.try_get(5).map_err(decode_err)?,
        attempts: r.try_get(6).map_err(decode_err)?,
        next_attempt_ms: r.try_get(7).map_err(decode_err)?,
        state: state_of(r, 8, DeliveryState::parse, "notification_outbox.state")?,
        last_error: r.try_get(9).map_err(decode_err)?,
        done_ms: r.try_get(10).map_err(decode_err)?,
    })
}

/// Adds `outbox` to the transaction and commits it: a change and the notifications it makes
/// land together or not at all.
pub(crate) async fn commit_with_outbox(
    mut tx: sqlx::Transaction<'_, sqlx::Any>,
    outbox: &[OutboxRow],
    what: &'static str,
) -> Result<()> {
    for row in outbox {
        insert_outbox(&mut tx, row).await?;
    }
    tx.commit().await.map_err(|e| StoreError::query(what, e))
}

/// Inserts one outbox row unless its id exists (the same event is never enqueued twice).
pub(crate) async fn insert_outbox(conn: &mut sqlx::AnyConnection, n: &OutboxRow) -> Result<u64> {
    let done = sqlx::query(
        "INSERT INTO notification_outbox (id, fingerprint, channel, event, payload, created_ms, attempts,
            next_attempt_ms, state, last_error, done_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(n.id.as_str())
    .bind(n.fingerprint.as_str())
    .bind(n.channel.as_str())
    .bind(n.event.as_str())
    .bind(n.payload.as_str())
    .bind(n.created_ms)
    .bind(n.attempts)
    .bind(n.next_attempt_ms)
    .bind(n.state.as_str())
    .bind(n.last_error.as_deref())
    .bind(n.done_ms)
    .execute(conn)
    .await
    .map_err(|e| StoreError::query("enqueue notification", e))?;
    Ok(done.rows_affected())
}
