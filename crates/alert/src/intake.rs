//! Alertmanager webhook intake: Prometheus users point an Alertmanager `webhook_configs`
//! receiver at `POST /api/v1/integrations/alertmanager` and their alerts go out through our
//! channels (DingTalk, WeCom, Feishu, email…) with the same outbox, retries and digests.
//!
//! Each alert becomes one outbox entry per channel with id
//! `am/<fingerprint>/<startsAt>/<status>/<channel>`: Alertmanager re-sending a group does not
//! notify twice. Alertmanager channels are skipped so alerts cannot loop.

use crate::config::Severity;
use crate::config::notifier::NotifierKind;
use crate::notify::Notifier;
use chainops_store::alerts::OutboxRow;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Most alerts accepted in one request.
pub const MAX_ALERTS: usize = 1000;

/// What one intake request produced.
#[derive(Debug)]
pub struct Intake {
    /// Alerts in the payload.
    pub alerts: usize,
    /// Outbox entries to enqueue.
    pub notifications: Vec<OutboxRow>,
}

fn label<'a>(labels: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| labels.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
}

/// Converts an Alertmanager webhook payload (version 4) into outbox entries for `notifiers`
/// (only the named ones when `only` is given). Errors name the offending field.
pub fn from_alertmanager(
    payload: &Value,
    notifiers: &[Arc<Notifier>],
    only: Option<&[String]>,
    now_ms: i64,
) -> Result<Intake, String> {
    if let Some(names) = only
        && let Some(bad) = names
            .iter()
            .find(|n| !notifiers.iter().any(|x| &x.config.name == *n))
    {
        return Err(format!("channel \"{bad}\" is not a configured notifier"));
    }
    let alerts = payload["alerts"]
        .as_array()
        .ok_or("body is not an Alertmanager webhook payload: \"alerts\" must be an array")?;
    if alerts.len() > MAX_ALERTS {
        return Err(format!(
            "{} alerts in one request; Alertmanager sends at most max_alerts per group, keep it under {MAX_ALERTS}",
            alerts.len()
        ));
    }
    let channels: Vec<&Arc<Notifier>> = notifiers
        .iter()
        .filter(|n| n.config.kind != NotifierKind::Alertmanager)
        .filter(|n| only.is_none_or(|names| names.contains(&n.config.name)))
        .collect();
    let mut notifications = Vec::new();
    for (i, a) in alerts.iter().enumerate() {
        let at = |k: &str| format!("alerts[{i}].{k}");
        let status = match a["status"].as_str() {
            Some(s @ ("firing" | "resolved")) => s,
            _ => {
                return Err(format!(
                    "{} must be \"firing\" or \"resolved\"",
                    at("status")
                ));
            }
        };
        let labels = a["labels"]
            .as_object()
            .ok_or_else(|| format!("{} must be an object", at("labels")))?;
        let rule = label(labels, &["alertname"])
            .ok_or_else(|| format!("{} is missing", at("labels.alertname")))?;
        let starts = a["startsAt"].as_str().unwrap_or_default();
        let node = label(labels, &["node", "instance"]).unwrap_or("-");
        let chain = label(labels, &["chain", "job"]).unwrap_or("-");
        let severity = label(labels, &["severity"])
            .and_then(Severity::parse)
            .unwrap_or(Severity::Warning);
        let ann = a["annotations"].as_object().cloned().unwrap_or_default();
        let text = |k: &str| ann.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let fingerprint = format!(
            "am/{}",
            a["fingerprint"]
                .as_str()
                .map_or_else(|| format!("{rule}/{node}"), str::to_string)
        );
        let summary = Some(text("summary"))
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("{rule} on {node}"));
        for ch in channels.iter().filter(|c| c.accepts(severity)) {
            let id = format!("{fingerprint}/{starts}/{status}/{}", ch.config.name);
            let body = json!({
                "version": crate::notify::payload::VERSION,
                "id": id,
                "status": status,
                "source": "alertmanager",
                "alert": {
                    "fingerprint": fingerprint, "rule": rule, "severity": severity.as_str(),
                    "node": node, "chain": chain, "summary": summary,
                    "description": text("description"), "value": Value::Null,
                    "labels": labels, "active_since": starts, "fired_at": starts,
                    "resolved_at": (status == "resolved").then(|| a["endsAt"].clone()),
                    "runbook_url": Some(text("runbook_url")).filter(|s| !s.is_empty()),
                }
            });
            notifications.push(OutboxRow {
                id,
                fingerprint: fingerprint.clone(),
                channel: ch.config.name.clone(),
                event: status.into(),
                payload: body.to_string(),
                created_ms: now_ms,
                attempts: 0,
                next_attempt_ms: ch.first_attempt_ms(severity, now_ms),
                state: chainops_store::alerts::DeliveryState::Pending,
                last_error: None,
                done_ms: None,
            });
        }
    }
    Ok(Intake {
        alerts: alerts.len(),
        notifications,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notifiers() -> Vec<Arc<Notifier>> {
        let c = crate::config::from_toml(
            r#"
[[notifiers]]
name = "ding"
kind = "dingtalk"
url = "http://127.0.0.1:1/robot"
min_severity = "warning"
[[notifiers]]
name = "am"
kind = "alertmanager"
url = "http://127.0.0.1:1"
"#,
        )
        .expect("valid");
        c.notifiers
            .into_iter()
            .map(|n| Arc::new(Notifier::load(n).expect("no secret")))
            .collect()
    }

    fn payload() -> Value {
        json!({"version": "4", "status": "firing", "receiver": "chainops", "alerts": [
            {"status": "firing", "labels": {"alertname": "DiskFull", "instance": "geth-1:6060", "severity": "critical"},
             "annotations": {"summary": "disk 95 % full"}, "startsAt": "2026-11-26T01:00:00Z", "fingerprint": "abc"},
            {"status": "resolved", "labels": {"alertname": "Chatty", "severity": "info"}, "startsAt": "2026-11-26T00:00:00Z",
             "endsAt": "2026-11-26T00:30:00Z"}
        ]})
    }

    #[test]
    fn alerts_map_to_our_payload_and_skip_alertmanager_channels_and_low_severities() {
        let out = from_alertmanager(&payload(), &notifiers(), None, 1).expect("valid");
        assert_eq!(out.alerts, 2);
        assert_eq!(
            out.notifications.len(),
            1,
            "info is below ding's min; am is skipped"
        );
        let n = &out.notifications[0];
        assert_eq!(n.id, "am/abc/2026-11-26T01:00:00Z/firing/ding");
        let body: Value = serde_json::from_str(&n.payload).expect("json");
        assert_eq!(body["alert"]["node"], "geth-1:6060");
        assert_eq!(body["alert"]["summary"], "disk 95 % full");
    }

    #[test]
    fn bad_payloads_name_the_field() {
        let n = notifiers();
        let e = |v: Value| from_alertmanager(&v, &n, None, 1).unwrap_err();
        assert!(e(json!({"x": 1})).contains("\"alerts\" must be an array"));
        assert!(e(json!({"alerts": [{"status": "x"}]})).contains("alerts[0].status"));
        assert!(
            e(json!({"alerts": [{"status": "firing", "labels": {}}]}))
                .contains("alerts[0].labels.alertname is missing")
        );
        let only = vec!["nope".to_string()];
        assert!(
            from_alertmanager(&payload(), &n, Some(&only), 1)
                .unwrap_err()
                .contains("\"nope\"")
        );
    }
}
