//! MonitorHeartbeat: a dead-man switch. While rule evaluation succeeds, chainops GETs a URL
//! every interval (healthchecks.io, Cronitor, Uptime Kuma push monitors, a Prometheus
//! Pushgateway…); when chainops, its host or its evaluation loop dies, the pings stop and the
//! external service alerts. A monitor cannot report its own death, so this is the only rule
//! that must live outside chainops.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// Pings `url` every `interval` while the last successful evaluation (epoch ms in
/// `last_eval_ms`) is younger than `stale_after`.
pub async fn run(
    http: reqwest::Client,
    url: String,
    interval: Duration,
    stale_after: Duration,
    last_eval_ms: Arc<AtomicI64>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.changed() => return,
        }
        let age = chainops_core::time::now_ms() - last_eval_ms.load(Ordering::Relaxed);
        if age > stale_after.as_millis() as i64 {
            tracing::warn!(age_ms = age, "rule evaluation is stale; heartbeat withheld");
            continue;
        }
        match http
            .get(&url)
            .timeout(interval.min(Duration::from_secs(10)))
            .send()
            .await
        {
            Ok(r) if r.status().is_success() => tracing::debug!("heartbeat sent"),
            Ok(r) => tracing::warn!(status = %r.status(), "heartbeat not accepted"),
            Err(e) => tracing::warn!(error = %e.without_url(), "heartbeat failed"),
        }
    }
}
