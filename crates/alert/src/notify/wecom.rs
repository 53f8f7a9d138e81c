//! WeCom (企业微信) group robot: markdown content of at most 4096 bytes (longer messages are
//! cut on a character boundary and marked). Robots allow 20 messages a minute.

use super::message::{Message, truncate_bytes};
use super::{Delivery, Notifier};
use serde_json::json;

/// WeCom's limit on markdown content, in bytes.
pub const MAX_CONTENT_BYTES: usize = 4096;

/// The request body.
pub fn body(m: &Message) -> serde_json::Value {
    let colour = match (m.all_resolved, m.severity.as_str()) {
        (true, _) => "info",
        (_, "critical") => "warning",
        _ => "comment",
    };
    let content = format!(
        "<font color=\"{colour}\">{}</font>\n{}",
        m.title,
        m.markdown.replace("### ", "")
    );
    json!({"msgtype": "markdown", "markdown": {"content": truncate_bytes(&content, MAX_CONTENT_BYTES)}})
}

pub(super) async fn send(http: &reqwest::Client, n: &Notifier, m: &Message) -> Delivery {
    let resp = http
        .post(&n.config.url)
        .timeout(n.config.timeout)
        .json(&body(m))
        .send()
        .await;
    // 45009: API frequency limit.
    super::robot_outcome(resp, "errcode", &[45009]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_never_exceeds_4096_bytes() {
        let m = Message {
            title: "t".into(),
            markdown: "节点".repeat(3000),
            text: String::new(),
            severity: "critical".into(),
            all_resolved: false,
        };
        let b = body(&m);
        let content = b["markdown"]["content"].as_str().unwrap_or_default();
        assert!(content.len() <= MAX_CONTENT_BYTES);
        assert!(content.ends_with("(truncated)"));
    }
}
