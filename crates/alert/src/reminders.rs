//! Reminders: while an alert fires and its incident is not acknowledged (and no silence
//! matches), human channels with a `repeat_interval` get the alert again every interval.
//!
//! The n-th reminder of a firing has the id `<fingerprint>/<fired_at>/reminder-<n>/<channel>`,
//! so however often this runs, and across restarts, each reminder is enqueued exactly once.

use crate::config::Severity;
use crate::labels::alert_labels;
use crate::notify::{Notifier, payload};
use chainops_store::alerts::{AlertRow, OutboxRow};
use chainops_store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

/// How often the engine looks for due reminders.
pub const CHECK_EVERY_MS: i64 = 15_000;

/// Enqueues the reminders due at `now_ms` for `active` alerts; returns how many were new.
pub async fn enqueue<'a>(
    store: &Store,
    notifiers: &[Arc<Notifier>],
    active: impl Iterator<Item = &'a AlertRow>,
    runbooks: &HashMap<String, String>,
    now_ms: i64,
) -> Result<usize, StoreError> {
    let repeating: Vec<&Arc<Notifier>> = notifiers
        .iter()
        .filter(|n| !n.config.repeat_interval.is_zero())
        .collect();
    if repeating.is_empty() {
        return Ok(0);
    }
    let firing: Vec<&AlertRow> = active
        .filter(|a| {
            a.state == chainops_store::alerts::AlertState::Firing && a.inhibited_by.is_none()
        })
        .collect();
    if firing.is_empty() {
        return Ok(0);
    }
    let acked = store.acknowledged_nodes(now_ms).await?;
    let silences = store.active_silences(now_ms).await?;
    let mut rows = Vec::new();
    for a in firing {
        let Some(fired) = a.fired_at_ms else { continue };
        if acked.iter().any(|(c, n)| *c == a.chain && *n == a.node) {
            continue;
        }
        let labels = alert_labels(a);
        if silences.iter().any(|s| s.matches(&labels)) {
            continue;
        }
        let severity = Severity::parse(&a.severity).unwrap_or(Severity::Critical);
        for n in repeating.iter().filter(|n| n.accepts(severity)) {
            let every = n.config.repeat_interval.as_millis() as i64;
            let nth = (now_ms - fired) / every;
            if nth < 1 {
                continue;
            }
            let id = format!("{}/{fired}/reminder-{nth}/{}", a.fingerprint, n.config.name);
            let mut body =
                payload::build(&id, "firing", a, runbooks.get(&a.rule).map(String::as_str));
            body["reminder"] = serde_json::json!(nth);
            rows.push(OutboxRow {
                id,
                fingerprint: a.fingerprint.clone(),
                channel: n.config.name.clone(),
                event: "reminder".into(),
                payload: body.to_string(),
                created_ms: now_ms,
                attempts: 0,
                next_attempt_ms: n.first_attempt_ms(severity, now_ms),
                state: chainops_store::alerts::DeliveryState::Pending,
                last_error: None,
                done_ms: None,
            });
        }
    }
    if rows.is_empty() {
        return Ok(0);
    }
    let added = store.enqueue_notifications(&rows).await? as usize;
    if added > 0 {
        tracing::info!(
            reminders = added,
            "reminders enqueued for unacknowledged firing alerts"
        );
    }
    Ok(added)
}
