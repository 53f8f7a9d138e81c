//! Notifiers: one module per channel kind, chosen by [`NotifierKind`]. A notifier turns an
//! outbox entry into a request and reports how delivery went.

pub mod alertmanager;
pub mod payload;
pub mod webhook;

use chainops_core::alerting_config::{NotifierConfig, NotifierKind, Severity};
use chainops_core::config::read_secret;
use chainops_core::secret::Secret;
use std::time::Duration;

/// How a delivery attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Accepted by the receiver.
    Sent,
    /// Failed; try again (after `retry_after` if the receiver said so).
    Retry {
        /// What went wrong.
        error: String,
        /// Receiver-requested delay (HTTP 429 `Retry-After`).
        retry_after: Option<Duration>,
    },
}

/// Maps an HTTP answer to a delivery outcome: 2xx is sent; anything else retries, honouring a
/// `Retry-After` in seconds (429 from chat robots, 503 from gateways).
pub(crate) fn outcome(result: Result<reqwest::Response, reqwest::Error>) -> Delivery {
    match result {
        Ok(resp) if resp.status().is_success() => Delivery::Sent,
        Ok(resp) => {
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            Delivery::Retry {
                error: format!("HTTP {}", resp.status()),
                retry_after,
            }
        }
        Err(e) => Delivery::Retry {
            error: e.without_url().to_string(),
            retry_after: None,
        },
    }
}

/// A configured channel with its secret loaded.
#[derive(Debug, Clone)]
pub struct Notifier {
    /// Config.
    pub config: NotifierConfig,
    /// HMAC secret, if any.
    pub secret: Option<Secret>,
}

impl Notifier {
    /// Loads the channel's secret file now.
    pub fn load(config: NotifierConfig) -> std::io::Result<Notifier> {
        let secret = config.secret.as_ref().map(read_secret).transpose()?;
        Ok(Notifier { config, secret })
    }

    /// Whether alerts of `severity` go to this channel.
    pub fn accepts(&self, severity: Severity) -> bool {
        severity >= self.config.min_severity
    }

    /// Sends one notification body.
    pub async fn send(&self, http: &reqwest::Client, delivery_id: &str, body: &str) -> Delivery {
        match self.config.kind {
            NotifierKind::Webhook => webhook::send(http, self, delivery_id, body).await,
            NotifierKind::Alertmanager => alertmanager::send(http, self, body).await,
        }
    }
}
