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
    /// Prometheus remote-write targets.
    pub remote_write: Option<Vec<RawRemoteWrite>>,
    /// `embedded` (default) or `prometheus`: where history is read from.
    pub backend: Option<String>,
    /// The query API history is read from with `backend = "prometheus"`.
    pub prometheus: Option<RawPromRead>,
}

/// `[history.prometheus]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPromRead {
    /// Base URL of the query API.
    pub url: Option<String>,
    /// Per-query timeout.
    pub timeout: Option<String>,
    /// Bearer token file.
    pub bearer_token_file: Option<String>,
    /// Basic-auth user.
    pub user: Option<String>,
    /// Basic-auth password file.
    pub password_file: Option<String>,
}

/// One `[[history.remote_write]]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRemoteWrite {
    /// Name (default: the URL's host).
    pub name: Option<String>,
    /// Write endpoint.
    pub url: Option<String>,
    /// Request timeout.
    pub timeout: Option<String>,
    /// Batch interval.
    pub flush_interval: Option<String>,
    /// Queue size (`256MB` or bytes).
    pub queue_max_bytes: Option<toml::Value>,
    /// Bearer token file.
    pub bearer_token_file: Option<String>,
    /// Basic-auth user.
    pub user: Option<String>,
    /// Basic-auth password file.
    pub password_file: Option<String>,
}

/// `[cluster]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCluster {
    /// Join the cluster of daemons sharing this store.
    pub enabled: Option<bool>,
    /// This member's name (default: host name and listen port).
    pub member: Option<String>,
    /// How long leadership and membership last without a heartbeat.
    pub lease: Option<String>,
    /// How often a member renews both.
    pub heartbeat: Option<String>,
}

/// `[cluster]`: several daemons on one PostgreSQL store sharing the work.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterConfig {
    /// Whether this daemon is a cluster member.
    pub enabled: bool,
    /// This member's name; `None` means host name and listen port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<String>,
    /// A member (or leader) not heard of for this long is replaced.
    #[serde(serialize_with = "ser_duration")]
    pub lease: Duration,
    /// How often a member renews its membership and the leader its lease.
    #[serde(serialize_with = "ser_duration")]
    pub heartbeat: Duration,
}

/// Validates `[cluster]`; `postgres` says whether the store can host a cluster.
pub fn validate_cluster(raw: RawCluster, postgres: bool, p: &mut Problems) -> ClusterConfig {
    let enabled = raw.enabled.unwrap_or(false);
    if enabled && !postgres {
        p.add(
            "cluster.enabled",
            "needs a PostgreSQL store: every member must share one; set [store] url = \"postgres://…\" on each member",
        );
    }
    let member = raw.member.filter(|m| {
        let ok = !m.is_empty() && m.len() <= 100 && !m.chars().any(char::is_control);
        if !ok {
            p.add(
                "cluster.member",
                "must be 1 to 100 printable characters (e.g. \"chainops-a\")",
            );
        }
        ok
    });
    let lease = p.duration(
        "cluster.lease",
        raw.lease.as_deref(),
        Duration::from_secs(8),
        Duration::from_secs(3),
    );
    let heartbeat = p.duration(
        "cluster.heartbeat",
        raw.heartbeat.as_deref(),
        Duration::from_secs(2),
        Duration::from_millis(500),
    );
    if lease > Duration::from_secs(600) {
        p.add(
            "cluster.lease",
            "is longer than 10m: a dead member's nodes would go unpolled that long",
        );
    }
    if heartbeat * 3 > lease {
        p.add(
            "cluster.heartbeat",
            format!(
                "must be at most a third of cluster.lease ({}) so one late heartbeat does not end a lease",
                chainops_core::duration::format_duration(lease)
            ),
        );
    }
    ClusterConfig {
        enabled,
        member,
        lease,
        heartbeat,
    }
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
    /// Prometheus remote-write targets.
    pub remote_write: Vec<crate::remote_write::RemoteWriteConfig>,
    /// Where history is read from: `embedded` or `prometheus`.
    pub backend: &'static str,
    /// The query API read with `backend = "prometheus"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<crate::prom_read::PromReadConfig>,
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
    let remote_write = validate_remote_write(raw.remote_write.unwrap_or_default(), p);
    let prometheus = raw.prometheus.map(|r| validate_prom_read(r, p));
    let backend = match raw.backend.as_deref() {
        None | Some("embedded") => "embedded",
        Some("prometheus") => {
            if prometheus.is_none() {
                p.add(
                    "history.prometheus.url",
                    "is missing: backend = \"prometheus\" reads from it (e.g. http://127.0.0.1:8428 for VictoriaMetrics); fill it with a [[history.remote_write]] target",
                );
            }
            "prometheus"
        }
        Some(other) => {
            p.add(
                "history.backend",
                format!("\"{other}\" is not a history backend; use \"embedded\" or \"prometheus\""),
            );
            "embedded"
        }
    };
    HistoryConfig {
        remote_write,
        backend,
        prometheus,
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

fn validate_remote_write(
    raw: Vec<RawRemoteWrite>,
    p: &mut Problems,
) -> Vec<crate::remote_write::RemoteWriteConfig> {
    let mut out: Vec<crate::remote_write::RemoteWriteConfig> = Vec::new();
    for (i, r) in raw.into_iter().enumerate() {
        let at = |k: &str| format!("history.remote_write[{i}].{k}");
        let start = p.len();
        let url = tsdb_url(
            p,
            &at("url"),
            r.url,
            "http://127.0.0.1:8428/api/v1/write (VictoriaMetrics) or http://prometheus:9090/api/v1/write",
        );
        let default_name = reqwest::Url::parse(&url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h.replace(|c: char| !(c.is_ascii_alphanumeric() || c == '-'), "-"))
            })
            .unwrap_or_else(|| format!("target-{i}"));
        let name = match r.name {
            Some(n) => p.identifier(&at("name"), Some(&n)).unwrap_or_default(),
            None => default_name,
        };
        if out.iter().any(|o| o.name == name) {
            p.add(
                at("name"),
                format!("\"{name}\" is used by another target; give each a name"),
            );
        }
        let queue_max_bytes = match r.queue_max_bytes {
            None => 256 << 20,
            Some(toml::Value::Integer(n)) if n >= 1 << 20 => n as u64,
            Some(toml::Value::String(s)) => match chainops_core::section::parse_size(&s) {
                Ok(n) if n >= 1 << 20 => n,
                Ok(_) => {
                    p.add(
                        at("queue_max_bytes"),
                        format!("\"{s}\" is below the minimum 1MB"),
                    );
                    256 << 20
                }
                Err(e) => {
                    p.add(at("queue_max_bytes"), e);
                    256 << 20
                }
            },
            Some(v) => {
                p.add(
                    at("queue_max_bytes"),
                    format!("{v} is not a size of at least 1MB; write e.g. \"256MB\""),
                );
                256 << 20
            }
        };
        let auth = tsdb_auth(p, &at, r.bearer_token_file, r.user, r.password_file);
        let cfg = crate::remote_write::RemoteWriteConfig {
            name,
            url,
            timeout: p.duration(
                &at("timeout"),
                r.timeout.as_deref(),
                Duration::from_secs(10),
                Duration::from_millis(100),
            ),
            flush_interval: p.duration(
                &at("flush_interval"),
                r.flush_interval.as_deref(),
                Duration::from_secs(1),
                Duration::from_millis(100),
            ),
            queue_max_bytes,
            auth,
        };
        if p.len() == start {
            out.push(cfg);
        }
    }
    out
}

fn validate_prom_read(r: RawPromRead, p: &mut Problems) -> crate::prom_read::PromReadConfig {
    let at = |k: &str| format!("history.prometheus.{k}");
    let url = tsdb_url(
        p,
        &at("url"),
        r.url,
        "http://127.0.0.1:8428 (VictoriaMetrics) or http://prometheus:9090",
    );
    crate::prom_read::PromReadConfig {
        url,
        timeout: p.duration(
            &at("timeout"),
            r.timeout.as_deref(),
            Duration::from_secs(10),
            Duration::from_millis(100),
        ),
        auth: tsdb_auth(p, &at, r.bearer_token_file, r.user, r.password_file),
    }
}

/// A TSDB endpoint URL: http(s), without credentials in it (they would be shown).
fn tsdb_url(p: &mut Problems, at: &str, url: Option<String>, example: &str) -> String {
    match url {
        Some(u)
            if reqwest::Url::parse(&u)
                .is_ok_and(|x| !x.username().is_empty() || x.password().is_some()) =>
        {
            p.add(
                at,
                "carries credentials; put them in user + password_file (or bearer_token_file) so they are never shown",
            );
            String::new()
        }
        Some(u) if chainops_core::section::is_http_url(&u) => u,
        Some(u) => {
            p.add(
                at,
                format!(
                    "\"{}\" is not an http(s) URL; e.g. {example}",
                    chainops_core::secret::redact_url(&u)
                ),
            );
            String::new()
        }
        None => {
            p.add(at, format!("is missing; e.g. {example}"));
            String::new()
        }
    }
}

/// A TSDB endpoint's credentials: a bearer token file, or a user with a password file.
fn tsdb_auth(
    p: &mut Problems,
    at: &dyn Fn(&str) -> String,
    bearer_token_file: Option<String>,
    user: Option<String>,
    password_file: Option<String>,
) -> crate::remote_write::TsdbAuth {
    if user.is_some() != password_file.is_some() {
        p.add(at("user"), "and password_file go together (basic auth)");
    }
    if user.is_some() && bearer_token_file.is_some() {
        p.add(
            at("bearer_token_file"),
            "cannot be combined with user/password_file; use one of them",
        );
    }
    crate::remote_write::TsdbAuth {
        bearer_token_file: bearer_token_file.map(Into::into),
        user,
        password_file: password_file.map(Into::into),
    }
}
