//! Notices that are not alerts but go out through the same channels (an SLA warning or
//! breach on a support ticket): shaped like an alert payload (`docs/alerting.md`), so every
//! channel renders them without knowing what they are, with a link in `runbook_url`.

use super::Notifier;
use chainops_core::severity::Severity;
use chainops_store::alerts::{DeliveryState, OutboxRow};
use serde_json::json;
use std::sync::Arc;

/// One notice.
#[derive(Debug, Clone)]
pub struct Notice {
    /// Deterministic id: the same notice enqueued twice is one notification.
    pub id: String,
    /// What it is about (`ticket/42`); the outbox groups deliveries by it.
    pub fingerprint: String,
    /// Rule-like name receivers may route on (`TicketSla`).
    pub rule: String,
    /// How urgent.
    pub severity: Severity,
    /// One line.
    pub summary: String,
    /// More.
    pub description: String,
    /// Chain it concerns (`""`: none).
    pub chain: String,
    /// Link to open (the ticket).
    pub link: String,
    /// When it happened, epoch ms.
    pub at_ms: i64,
}

/// The outbox rows of a notice: one per channel that takes its severity and (when `only`
/// is not empty) is named in it.
pub fn rows(
    channels: &[Arc<Notifier>],
    only: &[String],
    n: &Notice,
    now_ms: i64,
) -> Vec<OutboxRow> {
    let at = chainops_core::time::rfc3339(n.at_ms);
    channels
        .iter()
        .filter(|c| c.accepts(n.severity))
        .filter(|c| only.is_empty() || only.contains(&c.config.name))
        .map(|c| {
            let id = format!("{}/{}", n.id, c.config.name);
            let body = json!({
                "version": super::payload::VERSION,
                "id": id,
                "status": "firing",
                "source": "support",
                "alert": {
                    "fingerprint": n.fingerprint, "rule": n.rule, "severity": n.severity.as_str(),
                    "node": "", "chain": n.chain, "summary": n.summary, "description": n.description,
                    "value": serde_json::Value::Null, "labels": {}, "active_since": at, "fired_at": at,
                    "resolved_at": serde_json::Value::Null, "runbook_url": n.link,
                }
            });
            OutboxRow {
                id,
                fingerprint: n.fingerprint.clone(),
                channel: c.config.name.clone(),
                event: "firing".into(),
                payload: body.to_string(),
                created_ms: now_ms,
                attempts: 0,
                next_attempt_ms: c.first_attempt_ms(n.severity, now_ms),
                state: DeliveryState::Pending,
                last_error: None,
                done_ms: None,
            }
        })
        .collect()
}
