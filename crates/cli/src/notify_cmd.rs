//! `chainops notify test CHANNEL`: proves a notification channel works.

use crate::cli::{GlobalOpts, NotifyTestOpts};
use crate::config_load;
use crate::exit::KindError;
use anyhow::Context;
use chainops_alert::notify::{Delivery, Notifier, payload};
use chainops_core::ErrorKind;
use chainops_core::time::now_ms;

/// Sends one test notification and reports whether the receiver accepted it.
pub async fn test(g: &GlobalOpts, o: &NotifyTestOpts) -> anyhow::Result<()> {
    let config = config_load::load(g)?;
    let Some(nc) = config
        .alerting
        .notifiers
        .iter()
        .find(|n| n.name == o.channel)
    else {
        let names: Vec<&str> = config
            .alerting
            .notifiers
            .iter()
            .map(|n| n.name.as_str())
            .collect();
        return Err(KindError(
            ErrorKind::NotFound,
            format!(
                "no notifier named \"{}\"; configured: {}",
                o.channel,
                if names.is_empty() {
                    "none".into()
                } else {
                    names.join(", ")
                }
            ),
        )
        .into());
    };
    let notifier = Notifier::load(nc.clone())
        .with_context(|| format!("notifier {}: cannot read its secret file", nc.name))?;
    let http = chainops_chain::http_client()?;
    let body = payload::test(&nc.name, now_ms());
    let id = body["id"].as_str().unwrap_or("test").to_string();
    let outcome = notifier.send(&http, &id, &body.to_string()).await;
    let (ok, error) = match &outcome {
        Delivery::Sent => (true, None),
        Delivery::Retry { error, .. } => (false, Some(error.clone())),
    };
    if o.json {
        println!(
            "{}",
            serde_json::json!({"channel": nc.name, "delivered": ok, "error": error})
        );
    } else if ok {
        println!(
            "test notification delivered to {} ({})",
            nc.name,
            chainops_core::secret::redact_url(&nc.url)
        );
    }
    match error {
        None => Ok(()),
        Some(e) => Err(KindError(
            ErrorKind::Unavailable,
            format!("test notification to {} failed: {e}", nc.name),
        )
        .into()),
    }
}
