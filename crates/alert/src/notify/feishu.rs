//! Feishu/Lark bot: an interactive card. With a signing secret the body carries `timestamp`
//! (seconds) and `sign` = base64 of HMAC-SHA256 keyed by `"<timestamp>\n<secret>"` over an
//! empty message, as Feishu documents.

use super::message::Message;
use super::{Delivery, Notifier};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

/// Feishu's `sign` for `timestamp_s`.
pub fn sign(secret: &str, timestamp_s: i64) -> String {
    let key = format!("{timestamp_s}\n{secret}");
    let Ok(mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The request body, signed when a secret is given.
pub fn body(m: &Message, signing: Option<(&str, i64)>) -> serde_json::Value {
    let template = match (m.all_resolved, m.severity.as_str()) {
        (true, _) => "green",
        (_, "critical") => "red",
        (_, "warning") => "orange",
        _ => "blue",
    };
    let content = m
        .markdown
        .split_once("\n\n")
        .map_or(m.markdown.as_str(), |x| x.1);
    let mut b = json!({
        "msg_type": "interactive",
        "card": {
            "header": {"title": {"tag": "plain_text", "content": m.title}, "template": template},
            "elements": [{"tag": "markdown", "content": content}],
        }
    });
    if let Some((secret, ts)) = signing {
        b["timestamp"] = json!(ts.to_string());
        b["sign"] = json!(sign(secret, ts));
    }
    b
}

pub(super) async fn send(http: &reqwest::Client, n: &Notifier, m: &Message) -> Delivery {
    let ts = chainops_core::time::now_ms() / 1000;
    let signing = n.secret.as_ref().map(|s| (s.expose(), ts));
    let resp = http
        .post(&n.config.url)
        .timeout(n.config.timeout)
        .json(&body(m, signing))
        .send()
        .await;
    // 9499 / 11232: frequency limits.
    super::robot_outcome(resp, "code", &[9499, 11232]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_feishus_documented_python() {
        // Feishu's docs: hmac.new(f"{ts}\n{secret}".encode(), digestmod=sha256) → base64.
        assert_eq!(
            sign("demo", 1_599_360_473),
            "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8="
        );
    }

    #[test]
    fn signed_body_carries_timestamp_and_sign_as_strings() {
        let m = super::super::message::render(&[
            serde_json::json!({"status": "resolved", "alert": {"severity": "critical"}}),
        ]);
        let b = body(&m, Some(("demo", 1_599_360_473)));
        assert_eq!(b["timestamp"], "1599360473");
        assert_eq!(b["sign"], "l1N0gAcBjdwBvGm1xMjOF0XSyaLRpR7tuO5dHfhAYc8=");
        assert_eq!(b["card"]["header"]["template"], "green");
    }
}
