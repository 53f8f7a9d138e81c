//! DingTalk (钉钉) group robot: markdown messages. With a signing secret the URL carries
//! `timestamp` (ms) and `sign` = URL-encoded base64 of HMAC-SHA256 over `"<timestamp>\n<secret>"`
//! keyed by the secret, as DingTalk documents. Robots allow 20 messages a minute.

use super::message::Message;
use super::{Delivery, Notifier};
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

/// DingTalk's `sign` parameter for `timestamp_ms` (already URL-encoded).
pub fn sign(secret: &str, timestamp_ms: i64) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    form_urlencoded::byte_serialize(b64.as_bytes()).collect()
}

/// The request body.
pub fn body(m: &Message) -> serde_json::Value {
    json!({"msgtype": "markdown", "markdown": {"title": m.title, "text": m.markdown}})
}

pub(super) async fn send(http: &reqwest::Client, n: &Notifier, m: &Message) -> Delivery {
    let mut url = n.config.url.clone();
    if let Some(secret) = &n.secret {
        let ts = chainops_core::time::now_ms();
        let sep = if url.contains('?') { '&' } else { '?' };
        url.push_str(&format!(
            "{sep}timestamp={ts}&sign={}",
            sign(secret.expose(), ts)
        ));
    }
    let resp = http
        .post(url)
        .timeout(n.config.timeout)
        .json(&body(m))
        .send()
        .await;
    // 130101: "send too fast" (over 20 a minute).
    super::robot_outcome(resp, "errcode", &[130101]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_dingtalks_documented_python() {
        // The Python snippet from DingTalk's robot docs (hmac.new(secret, f"{ts}\n{secret}",
        // sha256) → base64 → urllib.parse.quote_plus) run with these inputs.
        assert_eq!(
            sign("SECxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 1_577_262_236_757),
            "LA6IEAVYbPd0MZN5gklPuqF9wxjD62KuBpIW8Wu%2BtRw%3D"
        );
    }
}
