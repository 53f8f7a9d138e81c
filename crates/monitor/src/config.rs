//! `[monitor]` and `[history]`: raw TOML mirrors and their validation.

use chainops_core::section::{Problems, ser_duration};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[monitor]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawMonitor {
    /// Default poll interval.
    pub poll_interval: Option<String>,
    /// Default per-poll timeout.
    pub timeout: Option<String>,
    /// Upper bound on polls in flight.
    pub max_concurrent_polls: Option<i64>,
}

/// `[history]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawHistory {
    /// Raw sample retention.
    pub raw_retention: Option<String>,
    /// 1-minute rollup retention.
    pub minute_retention: Option<String>,
    /// 1-hour rollup retention.
    pub hour_retention: Option<String>,
}

/// `[monitor]`.
#[derive(Debug, Clone, Serialize)]
pub struct MonitorConfig {
    /// Default poll interval for nodes that do not set one.
    #[serde(serialize_with = "ser_duration")]
    pub poll_interval: Duration,
    /// Default per-poll timeout.
    #[serde(serialize_with = "ser_duration")]
    pub timeout: Duration,
    /// Upper bound on polls in flight across all nodes.
    pub max_concurrent_polls: usize,
}

/// `[history]`.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryConfig {
    /// How long raw samples are kept.
    #[serde(serialize_with = "ser_duration")]
    pub raw_retention: Duration,
    /// How long 1-minute rollups are kept.
    #[serde(serialize_with = "ser_duration")]
    pub minute_retention: Duration,
    /// How long 1-hour rollups are kept.
    #[serde(serialize_with = "ser_duration")]
    pub hour_retention: Duration,
}

/// Validates `[monitor]`.
pub fn validate_monitor(raw: RawMonitor, p: &mut Problems) -> MonitorConfig {
    let poll_interval = p.duration(
        "monitor.poll_interval",
        raw.poll_interval.as_deref(),
        Duration::from_secs(1),
        Duration::from_millis(100),
    );
    let timeout = p.duration(
        "monitor.timeout",
        raw.timeout.as_deref(),
        Duration::from_secs(5),
        Duration::from_millis(100),
    );
    let max_concurrent_polls = match raw.max_concurrent_polls {
        None => 512,
        Some(n) if (1..=100_000).contains(&n) => n as usize,
        Some(n) => {
            p.add(
                "monitor.max_concurrent_polls",
                format!("{n} is out of range; use 1..=100000"),
            );
            512
        }
    };
    MonitorConfig {
        poll_interval,
        timeout,
        max_concurrent_polls,
    }
}

/// Validates `[history]`.
pub fn validate_history(raw: RawHistory, p: &mut Problems) -> HistoryConfig {
    HistoryConfig {
        raw_retention: p.duration(
            "history.raw_retention",
            raw.raw_retention.as_deref(),
            Duration::from_secs(48 * 3600),
            Duration::from_secs(600),
        ),
        minute_retention: p.duration(
            "history.minute_retention",
            raw.minute_retention.as_deref(),
            Duration::from_secs(30 * 86_400),
            Duration::from_secs(3600),
        ),
        hour_retention: p.duration(
            "history.hour_retention",
            raw.hour_retention.as_deref(),
            Duration::from_secs(2 * 365 * 86_400),
            Duration::from_secs(86_400),
        ),
    }
}
