//! Notifiers: one module per channel kind, chosen by [`NotifierKind`]. A notifier turns an
//! outbox entry into a request and reports how delivery went.

pub mod alertmanager;
pub mod dingtalk;
pub mod email;
pub mod feishu;
pub mod message;
pub mod notice;
pub mod payload;
pub mod slack;
pub mod webhook;
pub mod wecom;

use crate::config::Severity;
use crate::config::notifier::{NotifierConfig, NotifierKind};
use chainops_core::node_config::read_secret;
use chainops_core::secret::Secret;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
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
            error: describe_send_error(&e),
            retry_after: None,
        },
    }
}

/// What went wrong sending to a receiver, in words that say where to look: the innermost
/// cause with the receiver's host and port (never its path or credentials, which may hold
/// the secret), e.g. "connection refused by 127.0.0.1:9 — is the receiver running?".
pub fn describe_send_error(e: &reqwest::Error) -> String {
    let at = e
        .url()
        .and_then(|u| {
            let host = u.host_str()?;
            Some(match u.port_or_known_default() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_string(),
            })
        })
        .unwrap_or_else(|| "the receiver".into());
    // The innermost cause, and the OS error on the way if there is one.
    let mut inner: &dyn std::error::Error = e;
    let mut io_kind = None;
    while let Some(next) = inner.source() {
        if let Some(io) = next.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        inner = next;
    }
    let cause = inner.to_string();
    let lower = cause.to_ascii_lowercase();
    if e.is_timeout() {
        format!("no answer from {at} in time — is the receiver up and reachable?")
    } else if io_kind == Some(std::io::ErrorKind::ConnectionRefused) {
        format!("connection refused by {at} — is the receiver running?")
    } else if lower.contains("dns")
        || lower.contains("failed to lookup")
        || lower.contains("name or service not known")
    {
        format!("cannot resolve the host of {at}: {cause} — check the URL")
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        format!("TLS with {at} failed: {cause}")
    } else if matches!(
        io_kind,
        Some(
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::UnexpectedEof
        )
    ) || lower.contains("closed")
    {
        format!("{at} closed the connection: {cause}")
    } else {
        format!("sending to {at} failed: {cause}")
    }
}

/// Outcome of a chat robot call: these answer HTTP 200 with an error code in the body
/// (`errcode` for DingTalk/WeCom, `code` for Feishu); 0 is success, `rate_limited` codes retry
/// after a minute, anything else retries with backoff.
pub(crate) async fn robot_outcome(
    result: Result<reqwest::Response, reqwest::Error>,
    code_field: &str,
    rate_limited: &[i64],
) -> Delivery {
    let resp = match result {
        Ok(r) if r.status().is_success() => r,
        other => return outcome(other),
    };
    let text = resp.text().await.unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    match v[code_field].as_i64() {
        Some(0) => Delivery::Sent,
        Some(code) => Delivery::Retry {
            error: format!(
                "robot error {code}: {}",
                v["errmsg"].as_str().or(v["msg"].as_str()).unwrap_or("")
            ),
            retry_after: rate_limited
                .contains(&code)
                .then_some(Duration::from_secs(60)),
        },
        // No code at all: an unexpected answer; keep it short in the error.
        None => Delivery::Retry {
            error: format!(
                "unexpected robot answer: {}",
                text.chars().take(200).collect::<String>()
            ),
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
    /// Send times in the last minute (rate limit), shared by every sender of this channel.
    sent_at: Arc<Mutex<VecDeque<i64>>>,
}

impl Notifier {
    /// Loads the channel's secret file now.
    pub fn load(config: NotifierConfig) -> std::io::Result<Notifier> {
        let secret = config.secret.as_ref().map(read_secret).transpose()?;
        Ok(Notifier {
            config,
            secret,
            sent_at: Arc::default(),
        })
    }

    /// Whether alerts of `severity` go to this channel.
    pub fn accepts(&self, severity: Severity) -> bool {
        severity >= self.config.min_severity
    }

    /// When a notification of `severity` enqueued at `now_ms` may first be sent: quiet
    /// hours hold non-critical ones until the window ends.
    pub fn first_attempt_ms(&self, severity: Severity, now_ms: i64) -> i64 {
        match &self.config.quiet_hours {
            Some(q) if severity < Severity::Critical => q.release_at(now_ms).unwrap_or(now_ms),
            _ => now_ms,
        }
    }

    /// Messages this channel may still send in the current minute (`usize::MAX` without a
    /// rate limit).
    pub fn budget(&self) -> usize {
        let Some(limit) = self.config.rate_limit_per_minute else {
            return usize::MAX;
        };
        let mut w = self.sent_at.lock().unwrap_or_else(|p| p.into_inner());
        let now = chainops_core::time::now_ms();
        while w.front().is_some_and(|&t| now - t >= 60_000) {
            w.pop_front();
        }
        (limit as usize).saturating_sub(w.len())
    }

    fn count_send(&self) {
        let mut w = self.sent_at.lock().unwrap_or_else(|p| p.into_inner());
        w.push_back(chainops_core::time::now_ms());
    }

    /// Whether several due notifications may be merged into one digest message.
    pub fn digests(&self) -> bool {
        self.config.kind.is_human()
    }

    /// Sends one notification body.
    pub async fn send(&self, http: &reqwest::Client, delivery_id: &str, body: &str) -> Delivery {
        if !self.config.kind.is_human() {
            self.count_send();
        }
        match self.config.kind {
            NotifierKind::Webhook => webhook::send(http, self, delivery_id, body).await,
            NotifierKind::Alertmanager => alertmanager::send(http, self, body).await,
            _ => match serde_json::from_str(body) {
                Ok(v) => self.send_message(http, &[v]).await,
                Err(e) => Delivery::Retry {
                    error: format!("stored payload is not JSON: {e}"),
                    retry_after: None,
                },
            },
        }
    }

    /// Sends mail to one person (a support requester) through this email channel.
    pub async fn send_mail(&self, to: &str, mail: &chainops_core::mail::Mail) -> Delivery {
        if self.config.kind != NotifierKind::Email {
            return Delivery::Retry {
                error: format!("notifier \"{}\" is not an email channel", self.config.name),
                retry_after: None,
            };
        }
        self.count_send();
        email::send_mail(self, to, mail).await
    }

    /// Renders `bodies` (one alert, or a digest of several) and sends them as one message
    /// on a chat or email channel.
    pub async fn send_message(
        &self,
        http: &reqwest::Client,
        bodies: &[serde_json::Value],
    ) -> Delivery {
        self.count_send();
        let m = message::render(bodies);
        match self.config.kind {
            NotifierKind::Slack => slack::send(http, self, &m).await,
            NotifierKind::Dingtalk => dingtalk::send(http, self, &m).await,
            NotifierKind::Wecom => wecom::send(http, self, &m).await,
            NotifierKind::Feishu => feishu::send(http, self, &m).await,
            NotifierKind::Email => email::send(self, &m).await,
            NotifierKind::Webhook | NotifierKind::Alertmanager => Delivery::Retry {
                error: "this channel kind does not take rendered messages".into(),
                retry_after: None,
            },
        }
    }
}
