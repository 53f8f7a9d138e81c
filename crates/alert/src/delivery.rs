//! Drains the notification outbox: every due entry is sent by its channel; failures retry with
//! exponential backoff and jitter (or the receiver's `Retry-After`), and an entry still failing
//! after `give_up_after` becomes a dead letter, visible in `GET /api/v1/notifications?state=dead`.
//!
//! Delivery is at least once; the `X-Chainops-Delivery` id is stable across retries so a
//! receiver can make it exactly once. An entry is marked sent only after the receiver
//! accepted it, so a crash mid-send causes a retry, never a loss.

use crate::notify::{Delivery, Notifier};
use chainops_core::time::now_ms;
use chainops_store::alerts::OutboxRow;
use chainops_store::alerts::{AlertState, DeliveryState};
use chainops_store::{Store, StoreError};
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// First retry delay.
pub const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Longest retry delay (a receiver that comes back is served within a minute).
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Entries handled per pass.
const BATCH: i64 = 100;
/// How long a pass holds the entries it claimed.
pub const CLAIM: Duration = Duration::from_secs(60);
/// Firing alerts are re-sent to Alertmanager this often (its `resolve_timeout` is 5 m).
pub const RESEND_EVERY: Duration = Duration::from_secs(60);

/// Delay before attempt `attempts + 1`, with ±20 % jitter.
pub fn backoff(attempts: i64) -> Duration {
    let exp = MIN_BACKOFF
        .saturating_mul(1u32 << attempts.clamp(0, 16) as u32)
        .min(MAX_BACKOFF);
    exp.mul_f64(rand::rng().random_range(0.8..1.2))
}

/// Sends what the outbox holds.
pub struct DeliveryWorker {
    store: Store,
    notifiers: HashMap<String, Arc<Notifier>>,
    http: reqwest::Client,
    give_up_after: Duration,
    recipients: Option<Arc<dyn chainops_core::mail::Recipients>>,
    metrics: Option<Arc<crate::metrics::AlertMetrics>>,
}

impl DeliveryWorker {
    /// A worker for `notifiers`.
    pub fn new(
        store: Store,
        notifiers: &[Arc<Notifier>],
        http: reqwest::Client,
        give_up_after: Duration,
    ) -> Self {
        let notifiers = notifiers
            .iter()
            .map(|n| (n.config.name.clone(), n.clone()))
            .collect();
        Self {
            store,
            notifiers,
            http,
            give_up_after,
            recipients: None,
            metrics: None,
        }
    }

    /// Counts every delivery attempt in `m` (`chainops_notifications_total`).
    pub fn with_metrics(mut self, m: Arc<crate::metrics::AlertMetrics>) -> Self {
        self.metrics = Some(m);
        self
    }

    fn count(&self, channel: &str, outcome: crate::metrics::Outcome) {
        if let Some(m) = &self.metrics {
            m.delivered(channel, outcome);
        }
    }

    /// Resolves the addresses of mail to support requesters (`docs/support.md`).
    pub fn with_recipients(mut self, r: Arc<dyn chainops_core::mail::Recipients>) -> Self {
        self.recipients = Some(r);
        self
    }

    /// One pass over due entries; returns how many were sent. A channel with a rate limit
    /// sends individually while its budget lasts; on a chat or email channel the rest of what
    /// is due goes out as one digest (the last slot of the minute is kept for it), elsewhere
    /// it waits for the next minute.
    ///
    /// The pass claims what it takes for [`CLAIM`] ([`Store::claim_due_notifications`]):
    /// another worker skips those rows, and a worker killed mid-pass leaves them due again
    /// when the claim ends, so a cluster's next leader sends them once. A pass that runs
    /// long stops attempting before its claim could lapse and gives the rest back.
    pub async fn deliver_due(&self) -> Result<usize, StoreError> {
        let start = now_ms();
        let claim_until = start + CLAIM.as_millis() as i64;
        // The last attempt must start early enough to end (timeout) inside the claim.
        let slowest = self
            .notifiers
            .values()
            .map(|n| n.config.timeout)
            .max()
            .unwrap_or_default();
        let margin = (slowest + Duration::from_secs(5)).min(CLAIM / 2);
        let last_start = claim_until - margin.as_millis() as i64;
        let due = self
            .store
            .claim_due_notifications(start, BATCH, claim_until)
            .await?;
        let mut by_channel: Vec<(String, Vec<OutboxRow>)> = Vec::new();
        let mut unattempted: Vec<&str> = Vec::new();
        let mut sent = 0;
        for n in &due {
            if now_ms() > last_start {
                unattempted.push(&n.id);
                continue;
            }
            // Mail to a requester is one message to one person: never merged into a digest.
            if n.event == chainops_core::mail::EVENT {
                if self.deliver(n).await? {
                    sent += 1;
                }
                continue;
            }
            match by_channel.iter_mut().find(|(c, _)| *c == n.channel) {
                Some((_, rows)) => rows.push(n.clone()),
                None => by_channel.push((n.channel.clone(), vec![n.clone()])),
            }
        }
        for (channel, rows) in &by_channel {
            let notifier = self.notifiers.get(channel);
            let budget = notifier.map_or(usize::MAX, |n| n.budget());
            let digest = notifier.is_some_and(|n| n.digests()) && rows.len() > budget;
            let singles = if digest {
                budget.saturating_sub(1)
            } else {
                budget.min(rows.len())
            };
            for n in &rows[..singles] {
                if now_ms() > last_start {
                    unattempted.push(&n.id);
                } else if self.deliver(n).await? {
                    sent += 1;
                }
            }
            if digest
                && budget > 0
                && let Some(ch) = notifier
                && now_ms() <= last_start
            {
                sent += self.deliver_digest(ch, &rows[singles..]).await?;
            } else {
                // Over the channel's budget (or out of time): due again now, sent when the
                // budget allows.
                unattempted.extend(rows[singles..].iter().map(|n| n.id.as_str()));
            }
        }
        if !unattempted.is_empty() {
            self.store
                .release_notifications(&unattempted, start)
                .await?;
        }
        Ok(sent)
    }

    /// Sends `rows` as one digest message; each row is then marked like a single delivery.
    async fn deliver_digest(&self, ch: &Notifier, rows: &[OutboxRow]) -> Result<usize, StoreError> {
        let bodies: Vec<serde_json::Value> = rows
            .iter()
            .filter_map(|r| serde_json::from_str(&r.payload).ok())
            .collect();
        let outcome = ch.send_message(&self.http, &bodies).await;
        tracing::info!(channel = %ch.config.name, merged = rows.len(), ok = outcome == Delivery::Sent, "digest sent for rate-limited channel");
        let mut sent = 0;
        for n in rows {
            if self.record(n, outcome.clone()).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Gives up on `n`: it stays visible as a dead letter with its last error.
    async fn dead_letter(
        &self,
        n: &OutboxRow,
        attempts: i64,
        error: &str,
    ) -> Result<(), StoreError> {
        self.count(&n.channel, crate::metrics::Outcome::Dead);
        self.store
            .record_delivery(
                &n.id,
                DeliveryState::Dead,
                attempts,
                n.next_attempt_ms,
                Some(error),
                now_ms(),
            )
            .await
    }

    async fn deliver(&self, n: &OutboxRow) -> Result<bool, StoreError> {
        let attempts = n.attempts + 1;
        let Some(channel) = self.notifiers.get(&n.channel) else {
            let error = format!("notifier \"{}\" is no longer configured", n.channel);
            self.dead_letter(n, attempts, &error).await?;
            return Ok(false);
        };
        if n.event == chainops_core::mail::EVENT {
            return self.deliver_mail(channel, n, attempts).await;
        }
        let outcome = channel.send(&self.http, &n.id, &n.payload).await;
        self.record(n, outcome).await
    }

    /// Sends mail to a support requester, their address resolved now; an erased requester
    /// (or a payload that is not a mail) is a dead letter, never retried.
    async fn deliver_mail(
        &self,
        channel: &Notifier,
        n: &OutboxRow,
        attempts: i64,
    ) -> Result<bool, StoreError> {
        let mail = serde_json::from_str::<serde_json::Value>(&n.payload)
            .ok()
            .and_then(|v| {
                serde_json::from_value::<chainops_core::mail::Mail>(
                    v.get(chainops_core::mail::FIELD)?.clone(),
                )
                .ok()
            });
        let Some(mail) = mail else {
            self.dead_letter(n, attempts, "the stored mail cannot be read")
                .await?;
            return Ok(false);
        };
        let address = match &self.recipients {
            Some(r) => r.address(&mail.requester).await,
            None => Ok(None),
        };
        let to = match address {
            Ok(a) => a,
            Err(error) => {
                return self
                    .record(
                        n,
                        Delivery::Retry {
                            error,
                            retry_after: None,
                        },
                    )
                    .await;
            }
        };
        let Some(to) = to else {
            let error = "the requester was erased or is unknown; nothing was sent";
            self.dead_letter(n, attempts, error).await?;
            return Ok(false);
        };
        let outcome = channel.send_mail(&to, &mail).await;
        self.record(n, outcome).await
    }

    /// Stores the outcome of an attempt: sent, retry later, or dead letter.
    async fn record(&self, n: &OutboxRow, outcome: Delivery) -> Result<bool, StoreError> {
        let attempts = n.attempts + 1;
        match outcome {
            Delivery::Sent => {
                self.count(&n.channel, crate::metrics::Outcome::Sent);
                self.store
                    .record_delivery(
                        &n.id,
                        DeliveryState::Sent,
                        attempts,
                        n.next_attempt_ms,
                        None,
                        now_ms(),
                    )
                    .await?;
                tracing::info!(id = %n.id, channel = %n.channel, attempts, "notification delivered");
                let detail = serde_json::json!({"channel": n.channel, "event": n.event, "attempts": attempts});
                if let Err(e) = self
                    .store
                    .incident_event_for_alert(&n.fingerprint, "notified", &detail, now_ms())
                    .await
                {
                    tracing::warn!(id = %n.id, error = %e, "cannot add the delivery to the incident timeline");
                }
                Ok(true)
            }
            Delivery::Retry { error, retry_after } => {
                let now = now_ms();
                if now - n.created_ms >= self.give_up_after.as_millis() as i64 {
                    tracing::error!(id = %n.id, channel = %n.channel, attempts, %error, "notification undeliverable; moved to dead letters");
                    self.dead_letter(n, attempts, &error).await?;
                } else {
                    let delay = retry_after
                        .unwrap_or_else(|| backoff(n.attempts))
                        .min(Duration::from_secs(3600));
                    tracing::warn!(id = %n.id, channel = %n.channel, attempts, %error, retry_in_ms = delay.as_millis() as u64, "notification failed; will retry");
                    self.count(&n.channel, crate::metrics::Outcome::Retry);
                    self.store
                        .record_delivery(
                            &n.id,
                            DeliveryState::Pending,
                            attempts,
                            now + delay.as_millis() as i64,
                            Some(&error),
                            now,
                        )
                        .await?;
                }
                Ok(false)
            }
        }
    }

    /// Re-sends every firing alert to the Alertmanager channels (best effort: a failure is
    /// retried at the next re-send).
    pub async fn resend_firing(&self) -> Result<usize, StoreError> {
        let channels: Vec<&Arc<Notifier>> = self
            .notifiers
            .values()
            .filter(|n| n.config.kind == crate::config::notifier::NotifierKind::Alertmanager)
            .collect();
        if channels.is_empty() {
            return Ok(0);
        }
        let firing: Vec<_> = self
            .store
            .active_alerts()
            .await?
            .into_iter()
            .filter(|a| a.state == AlertState::Firing)
            .collect();
        let mut sent = 0;
        for alert in &firing {
            let severity = crate::config::Severity::parse(&alert.severity)
                .unwrap_or(crate::config::Severity::Critical);
            for ch in channels.iter().filter(|c| c.accepts(severity)) {
                let body =
                    crate::notify::payload::build("resend", "firing", alert, None).to_string();
                if ch.send(&self.http, "resend", &body).await == Delivery::Sent {
                    sent += 1;
                }
            }
        }
        Ok(sent)
    }

    /// Delivers every second (and re-sends firing alerts to Alertmanager every
    /// [`RESEND_EVERY`]) until `shutdown`.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_resend = tokio::time::Instant::now();
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.changed() => return,
            }
            if let Err(e) = self.deliver_due().await {
                tracing::warn!(error = %e, "notification delivery pass failed");
            }
            if last_resend.elapsed() >= RESEND_EVERY {
                last_resend = tokio::time::Instant::now();
                if let Err(e) = self.resend_firing().await {
                    tracing::warn!(error = %e, "re-sending firing alerts to Alertmanager failed");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        for (attempts, base) in [(0, 1.0), (1, 2.0), (3, 8.0), (10, 60.0), (40, 60.0)] {
            let d = backoff(attempts).as_secs_f64();
            assert!(
                d >= base * 0.8 - 1e-9 && d <= base * 1.2 + 1e-9,
                "attempt {attempts}: {d}"
            );
        }
    }
}
