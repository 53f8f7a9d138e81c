//! Prometheus Alertmanager (v2 API): alerts are POSTed to `<url>/api/v2/alerts`. Alertmanager
//! expires an alert it has not heard of for `resolve_timeout`, so firing alerts are re-sent
//! every [`RESEND_EVERY`](crate::delivery::RESEND_EVERY) by the delivery worker; a resolved
//! alert is sent with `endsAt`.

use super::{Delivery, Notifier};
use serde_json::{Map, Value, json};

/// Converts a chainops notification body into Alertmanager's alert list.
pub fn to_alertmanager(body: &Value) -> Value {
    let a = &body["alert"];
    let mut labels = Map::new();
    labels.insert("alertname".into(), a["rule"].clone());
    for key in ["node", "chain", "severity"] {
        labels.insert(key.into(), a[key].clone());
    }
    if let Some(extra) = a["labels"].as_object() {
        for (k, v) in extra {
            labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let mut annotations = Map::new();
    for key in ["summary", "description", "runbook_url"] {
        if let Some(v) = a[key].as_str().filter(|v| !v.is_empty()) {
            annotations.insert(key.into(), Value::String(v.into()));
        }
    }
    let starts = a["fired_at"]
        .as_str()
        .or(a["active_since"].as_str())
        .unwrap_or_default();
    let mut alert = json!({"labels": labels, "annotations": annotations, "startsAt": starts});
    // Resolved alerts (and test notifications, which must not leave an active alert) end.
    if body["status"] != "firing"
        && let Some(ends) = a["resolved_at"].as_str()
    {
        alert["endsAt"] = Value::String(ends.into());
    }
    Value::Array(vec![alert])
}

pub(super) async fn send(http: &reqwest::Client, n: &Notifier, body: &str) -> Delivery {
    let parsed: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => {
            return Delivery::Retry {
                error: format!("stored payload is not JSON: {e}"),
                retry_after: None,
            };
        }
    };
    let url = format!("{}/api/v2/alerts", n.config.url.trim_end_matches('/'));
    super::outcome(
        http.post(url)
            .timeout(n.config.timeout)
            .json(&to_alertmanager(&parsed))
            .send()
            .await,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_alerts_carry_ends_at_and_labels_identify_the_node() {
        let body = json!({"status": "resolved", "alert": {"rule": "HeadStalled", "node": "n1", "chain": "c", "severity": "critical",
            "summary": "s", "description": "", "labels": {"team": "ops"}, "active_since": "2026-01-01T00:00:00.000Z",
            "fired_at": "2026-01-01T00:00:05.000Z", "resolved_at": "2026-01-01T00:01:00.000Z", "runbook_url": null}});
        let am = to_alertmanager(&body);
        assert_eq!(
            am[0]["labels"],
            json!({"alertname": "HeadStalled", "node": "n1", "chain": "c", "severity": "critical", "team": "ops"})
        );
        assert_eq!(am[0]["startsAt"], "2026-01-01T00:00:05.000Z");
        assert_eq!(am[0]["endsAt"], "2026-01-01T00:01:00.000Z");
        assert_eq!(am[0]["annotations"], json!({"summary": "s"}));
    }
}
