//! The JSON document a notification carries (documented in `docs/alerting.md`).

use chainops_core::time::rfc3339;
use chainops_store::alerts::AlertRow;
use serde_json::{Value, json};

/// Payload format version.
pub const VERSION: &str = "1";

/// Builds the notification body for `alert` and `event` (`firing|resolved`).
pub fn build(id: &str, event: &str, alert: &AlertRow, runbook_url: Option<&str>) -> Value {
    json!({
        "version": VERSION,
        "id": id,
        "status": event,
        "alert": {
            "fingerprint": alert.fingerprint,
            "rule": alert.rule,
            "severity": alert.severity,
            "node": alert.node,
            "chain": alert.chain,
            "summary": alert.summary,
            "description": alert.description,
            "value": alert.value,
            "labels": alert.labels,
            "active_since": rfc3339(alert.active_since_ms),
            "fired_at": alert.fired_at_ms.map(rfc3339),
            "resolved_at": alert.resolved_at_ms.map(rfc3339),
            "runbook_url": runbook_url,
        }
    })
}

/// A test notification for `channel` (status `test`, rule `ChainopsTest`): proves a channel
/// works without waiting for a real alert.
pub fn test(channel: &str, now_ms: i64) -> Value {
    let t = rfc3339(now_ms);
    json!({
        "version": VERSION,
        "id": format!("test/{channel}/{now_ms}"),
        "status": "test",
        "alert": {
            "fingerprint": "ChainopsTest/-", "rule": "ChainopsTest", "severity": "info", "node": "-", "chain": "-",
            "summary": format!("chainops test notification for channel {channel}"), "description": "",
            "value": 0, "labels": {}, "active_since": t, "fired_at": t, "resolved_at": t, "runbook_url": null,
        }
    })
}
