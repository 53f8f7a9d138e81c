//! Human-readable rendering of notification bodies for chat robots and email: one alert, or
//! a digest of several when a channel's rate limit would otherwise drop messages.

use serde_json::Value;

/// A rendered message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// One-line title (email subject, card header).
    pub title: String,
    /// Markdown body.
    pub markdown: String,
    /// Plain-text body (email).
    pub text: String,
    /// Worst severity in the message.
    pub severity: String,
    /// Whether every alert in the message is resolved (green card).
    pub all_resolved: bool,
}

/// Upper-case status tag, e.g. `FIRING`, `RESOLVED`, `REMINDER`.
fn tag(body: &Value) -> String {
    if body["reminder"].as_u64().is_some_and(|n| n > 0) {
        return "REMINDER".into();
    }
    body["status"].as_str().unwrap_or("firing").to_uppercase()
}

fn field<'a>(a: &'a Value, key: &str) -> &'a str {
    a[key].as_str().unwrap_or("")
}

fn headline(body: &Value) -> String {
    let a = &body["alert"];
    format!(
        "[{}] {} {} on {}",
        tag(body),
        field(a, "severity"),
        field(a, "rule"),
        field(a, "node")
    )
}

fn detail_lines(body: &Value) -> Vec<(String, String)> {
    let a = &body["alert"];
    let mut lines = vec![
        ("Chain".to_string(), field(a, "chain").to_string()),
        ("Node".to_string(), field(a, "node").to_string()),
        ("Severity".to_string(), field(a, "severity").to_string()),
    ];
    for (label, key) in [
        ("Fired", "fired_at"),
        ("Resolved", "resolved_at"),
        ("Description", "description"),
        ("Runbook", "runbook_url"),
    ] {
        let v = field(a, key);
        let unresolved_time = key == "resolved_at" && body["status"] != "resolved";
        if !v.is_empty() && !unresolved_time {
            lines.push((label.to_string(), v.to_string()));
        }
    }
    lines
}

fn rank(severity: &str) -> u8 {
    match severity {
        "critical" => 2,
        "warning" => 1,
        _ => 0,
    }
}

/// Renders one or more notification bodies.
pub fn render(bodies: &[Value]) -> Message {
    let severity = bodies
        .iter()
        .map(|b| field(&b["alert"], "severity"))
        .max_by_key(|s| rank(s))
        .unwrap_or("info")
        .to_string();
    let all_resolved = bodies.iter().all(|b| b["status"] == "resolved");
    let (title, markdown, text) = match bodies {
        [one] => {
            let a = &one["alert"];
            let title = headline(one);
            let mut markdown = format!("### {title}\n\n**{}**\n\n", field(a, "summary"));
            let mut text = format!("{title}\n\n{}\n\n", field(a, "summary"));
            for (k, v) in &detail_lines(one) {
                markdown.push_str(&format!("- **{k}:** {v}\n"));
                text.push_str(&format!("{k}: {v}\n"));
            }
            (title, markdown, text)
        }
        many => {
            let title = format!("[DIGEST] {} chainops notifications", many.len());
            let mut markdown = format!(
                "### {title}\n\nRate limit reached; these are merged into one message.\n\n"
            );
            let mut text = format!("{title}\n\n");
            for b in many {
                let line = format!("{}: {}", headline(b), field(&b["alert"], "summary"));
                markdown.push_str(&format!("- {line}\n"));
                text.push_str(&format!("- {line}\n"));
            }
            (title, markdown, text)
        }
    };
    Message {
        title,
        markdown,
        text,
        severity,
        all_resolved,
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary, marking the cut.
pub fn truncate_bytes(s: &str, max: usize) -> String {
    const MARK: &str = "\n…(truncated)";
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(MARK.len());
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{MARK}", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(status: &str, severity: &str) -> Value {
        json!({"status": status, "alert": {"rule": "HeadStalled", "node": "n1", "chain": "c", "severity": severity,
            "summary": "no new block for 30 s", "description": "", "fired_at": "2026-01-01T00:00:00.000Z",
            "resolved_at": "2026-01-01T00:01:00.000Z", "runbook_url": "https://runbooks/x"}})
    }

    #[test]
    fn one_alert_renders_title_summary_and_details() {
        let m = render(&[body("firing", "critical")]);
        assert_eq!(m.title, "[FIRING] critical HeadStalled on n1");
        assert!(m.markdown.contains("**no new block for 30 s**"));
        assert!(m.markdown.contains("- **Runbook:** https://runbooks/x"));
        assert!(!m.text.contains("Resolved:"), "firing has no resolved time");
        assert!(!m.all_resolved);
    }

    #[test]
    fn a_digest_lists_every_alert_and_takes_the_worst_severity() {
        let m = render(&[
            body("resolved", "info"),
            body("firing", "critical"),
            body("firing", "warning"),
        ]);
        assert_eq!(m.title, "[DIGEST] 3 chainops notifications");
        assert_eq!(m.severity, "critical");
        assert_eq!(m.markdown.matches("\n- [").count(), 3);
    }

    #[test]
    fn truncation_respects_utf8_and_the_limit() {
        let s = "区块".repeat(2000);
        let t = truncate_bytes(&s, 4096);
        assert!(t.len() <= 4096 && t.ends_with("(truncated)"));
        assert_eq!(truncate_bytes("short", 4096), "short");
    }
}
