//! The alerting's part of `/metrics`: alerts active by state and severity (as of the last
//! evaluation), evaluations and their failures, the last successful evaluation, and
//! notification deliveries by channel and outcome. One [`AlertMetrics`] is shared by the
//! engine (and the engines a supervisor rebuilds) and the delivery worker of a generation.

use chainops_core::exposition::{family, header, sample};
use chainops_core::ports::MetricsSource;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// How a delivery attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    /// Delivered.
    Sent,
    /// Failed; will be retried.
    Retry,
    /// Given up on: a dead letter.
    Dead,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Retry => "retry",
            Outcome::Dead => "dead",
        }
    }
}

/// Counters and gauges of the alerting.
#[derive(Debug, Default)]
pub struct AlertMetrics {
    /// (state, severity) → alerts, as of the last evaluation.
    active: Mutex<BTreeMap<(String, String), usize>>,
    evaluations: AtomicU64,
    failures: AtomicU64,
    last_ok_ms: AtomicI64,
    /// (channel, outcome) → attempts.
    deliveries: Mutex<BTreeMap<(String, Outcome), u64>>,
}

impl AlertMetrics {
    /// Records one evaluation: `Some(active)` with the (state, severity) of every pending
    /// and firing alert after it, `None` when it failed.
    pub fn evaluated<'a>(
        &self,
        now_ms: i64,
        active: Option<impl Iterator<Item = (&'a str, &'a str)>>,
    ) {
        self.evaluations.fetch_add(1, Relaxed);
        let Some(active) = active else {
            self.failures.fetch_add(1, Relaxed);
            return;
        };
        let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
        for (state, severity) in active {
            *counts
                .entry((state.to_string(), severity.to_string()))
                .or_default() += 1;
        }
        *self.active.lock().unwrap_or_else(|p| p.into_inner()) = counts;
        self.last_ok_ms.store(now_ms, Relaxed);
    }

    /// Records one delivery attempt on `channel`.
    pub fn delivered(&self, channel: &str, outcome: Outcome) {
        *self
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((channel.to_string(), outcome))
            .or_default() += 1;
    }
}

impl MetricsSource for AlertMetrics {
    fn render(&self, _now_ms: i64) -> String {
        let mut out = String::new();
        header(
            &mut out,
            "chainops_alerts_active",
            "gauge",
            "Pending and firing alerts by state and severity, as of the last evaluation.",
        );
        // Every (state, severity) pair is written, zeros included, so a panel or a rule on
        // `chainops_alerts_active{state="firing"}` has a series before anything fires.
        let active = self.active.lock().unwrap_or_else(|p| p.into_inner());
        for state in ["pending", "firing"] {
            for severity in ["critical", "warning", "info"] {
                let n = active
                    .get(&(state.to_string(), severity.to_string()))
                    .copied()
                    .unwrap_or(0);
                sample(
                    &mut out,
                    "chainops_alerts_active",
                    &[("state", state), ("severity", severity)],
                    n as f64,
                );
            }
        }
        drop(active);
        family(
            &mut out,
            "chainops_alert_evaluations_total",
            "counter",
            "Rule evaluations of the alert engine.",
            [(vec![], self.evaluations.load(Relaxed) as f64)],
        );
        family(
            &mut out,
            "chainops_alert_evaluation_failures_total",
            "counter",
            "Rule evaluations that failed (the store did not answer).",
            [(vec![], self.failures.load(Relaxed) as f64)],
        );
        let last = self.last_ok_ms.load(Relaxed);
        if last > 0 {
            family(
                &mut out,
                "chainops_alert_last_evaluation_timestamp_seconds",
                "gauge",
                "When the alert engine last evaluated its rules successfully.",
                [(vec![], last as f64 / 1000.0)],
            );
        }
        header(
            &mut out,
            "chainops_notifications_total",
            "counter",
            "Notification delivery attempts by channel and outcome (sent, retry, dead).",
        );
        for ((channel, outcome), n) in self
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            sample(
                &mut out,
                "chainops_notifications_total",
                &[("channel", channel), ("outcome", outcome.as_str())],
                *n as f64,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_state_and_severity_and_counts_deliveries() {
        let m = AlertMetrics::default();
        let text = m.render(0);
        assert!(text.contains("chainops_alerts_active{state=\"firing\",severity=\"critical\"} 0"));
        assert!(!text.contains("chainops_alert_last_evaluation_timestamp_seconds "));
        m.evaluated(
            5_000,
            Some(
                [
                    ("firing", "critical"),
                    ("firing", "critical"),
                    ("pending", "info"),
                ]
                .into_iter(),
            ),
        );
        m.evaluated(6_000, None::<std::iter::Empty<(&str, &str)>>);
        m.delivered("ops \"hook\"", Outcome::Sent);
        m.delivered("ops \"hook\"", Outcome::Sent);
        m.delivered("slack", Outcome::Dead);
        let text = m.render(0);
        assert!(
            text.contains("chainops_alerts_active{state=\"firing\",severity=\"critical\"} 2"),
            "{text}"
        );
        assert!(text.contains("chainops_alerts_active{state=\"pending\",severity=\"info\"} 1"));
        assert!(text.contains("chainops_alert_evaluations_total 2"));
        assert!(text.contains("chainops_alert_evaluation_failures_total 1"));
        assert!(text.contains("chainops_alert_last_evaluation_timestamp_seconds 5"));
        assert!(
            text.contains(
                "chainops_notifications_total{channel=\"ops \\\"hook\\\"\",outcome=\"sent\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("chainops_notifications_total{channel=\"slack\",outcome=\"dead\"} 1")
        );
    }
}
