//! Slack incoming webhook: `{"text": …}` in Slack's mrkdwn, with a colour bar by severity.

use super::message::Message;
use super::{Delivery, Notifier};
use serde_json::json;

fn colour(m: &Message) -> &'static str {
    match (m.all_resolved, m.severity.as_str()) {
        (true, _) => "#2eb886",
        (_, "critical") => "#d00000",
        (_, "warning") => "#f2c744",
        _ => "#439fe0",
    }
}

/// The Slack request body (`**bold**` becomes Slack's `*bold*`).
pub fn body(m: &Message) -> serde_json::Value {
    let text = m.markdown.replace("### ", "").replace("**", "*");
    json!({"text": m.title, "attachments": [{"color": colour(m), "text": text, "mrkdwn_in": ["text"]}]})
}

pub(super) async fn send(http: &reqwest::Client, n: &Notifier, m: &Message) -> Delivery {
    super::outcome(
        http.post(&n.config.url)
            .timeout(n.config.timeout)
            .json(&body(m))
            .send()
            .await,
    )
}
