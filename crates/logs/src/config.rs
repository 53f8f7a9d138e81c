//! `[logs]`: retention, sources, redaction patterns, Loki forwarding and log alert rules.

use chainops_core::section::Problems;
use chainops_core::severity::Severity;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// `[logs]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLogs {
    /// Keep entries this long (default 180d).
    pub retention: Option<String>,
    /// Delete the oldest entries beyond this size, e.g. `"20GB"`.
    pub max_size: Option<String>,
    /// `"cn"`: refuse retention shorter than 180 days.
    pub compliance: Option<String>,
    /// How often files are checked for new lines.
    pub poll_interval: Option<String>,
    /// Ingest the output of managed nodes (default true).
    pub managed_nodes: Option<bool>,
    /// Drop filters of managed nodes' logs (default: the lines of chainops' own polls).
    pub managed_drop: Option<Vec<String>>,
    /// Files to tail.
    pub sources: Option<Vec<RawLogSource>>,
    /// Extra redaction patterns.
    pub redact: Option<Vec<RawRedact>>,
    /// Grafana Loki forwarding.
    pub loki: Option<RawLoki>,
    /// Log-based alert rules.
    pub alerts: Option<Vec<RawLogAlert>>,
}

/// `[[logs.sources]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLogSource {
    /// Node (from `[[nodes]]`) the lines belong to.
    pub node: Option<String>,
    /// File path; `*` and `?` allowed in the file name.
    pub path: Option<String>,
    /// Format (default: detected).
    pub format: Option<String>,
    /// Regular expressions: entries whose message matches one are not stored.
    pub drop: Option<Vec<String>>,
}

/// `[[logs.redact]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRedact {
    /// Marker name: `[REDACTED:<name>]`.
    pub name: Option<String>,
    /// Regular expression.
    pub pattern: Option<String>,
}

/// `[logs.loki]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLoki {
    /// Base URL, e.g. `http://loki:3100`.
    pub url: Option<String>,
    /// Entries per push (default 1000).
    pub batch_size: Option<usize>,
    /// Longest wait before a partial batch is pushed (default 1s).
    pub batch_wait: Option<String>,
    /// `X-Scope-OrgID` for multi-tenant Loki.
    pub tenant: Option<String>,
}

/// `[[logs.alerts]]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawLogAlert {
    /// Rule name.
    pub name: Option<String>,
    /// Case-insensitive substring of the message (optional if `level` is set).
    pub pattern: Option<String>,
    /// Count only entries at or above this level.
    pub level: Option<String>,
    /// Counting window (default 5m).
    pub window: Option<String>,
    /// Fire when more than this many entries matched in the window.
    pub threshold: Option<u64>,
    /// Severity (default warning).
    pub severity: Option<String>,
}

/// A file source.
#[derive(Debug, Clone, Serialize)]
pub struct LogSourceConfig {
    /// Node name.
    pub node: String,
    /// Path (glob in the file name).
    pub path: PathBuf,
    /// Fixed format name.
    pub format: Option<String>,
    /// Entries whose message matches one of these regexes are not stored.
    pub drop: Vec<String>,
}

/// A redaction pattern (compiled by the logs crate).
#[derive(Debug, Clone, Serialize)]
pub struct RedactConfig {
    /// Marker name.
    pub name: String,
    /// Regular expression.
    pub pattern: String,
}

/// Loki forwarding.
#[derive(Debug, Clone, Serialize)]
pub struct LokiConfig {
    /// Base URL (credentials redacted when shown).
    #[serde(serialize_with = "chainops_core::section::ser_url")]
    pub url: String,
    /// Entries per push.
    pub batch_size: usize,
    /// Longest wait for a partial batch.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub batch_wait: Duration,
    /// Tenant header.
    pub tenant: Option<String>,
}

/// A log alert rule.
#[derive(Debug, Clone, Serialize)]
pub struct LogAlertConfig {
    /// Name.
    pub name: String,
    /// Substring (lower-cased).
    pub pattern: Option<String>,
    /// Minimum level name.
    pub level: Option<String>,
    /// Window.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub window: Duration,
    /// Fires above this count.
    pub threshold: u64,
    /// Severity.
    pub severity: Severity,
}

/// Validated `[logs]`.
#[derive(Debug, Clone, Serialize)]
pub struct LogsConfig {
    /// Retention by age.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub retention: Duration,
    /// Retention by size, bytes.
    pub max_size_bytes: Option<u64>,
    /// Compliance profile.
    pub compliance: Option<String>,
    /// File poll interval.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub poll_interval: Duration,
    /// Ingest managed nodes' output.
    pub managed_nodes: bool,
    /// Drop filters of managed nodes' logs; `None`: each family's poll request lines.
    pub managed_drop: Option<Vec<String>>,
    /// File sources.
    pub sources: Vec<LogSourceConfig>,
    /// Extra redaction patterns.
    pub redact: Vec<RedactConfig>,
    /// Loki forwarding.
    pub loki: Option<LokiConfig>,
    /// Log alert rules.
    pub alerts: Vec<LogAlertConfig>,
}

/// Six months: the minimum for network logs in China (Cybersecurity Law art. 21).
pub const CN_MIN_RETENTION: Duration = Duration::from_secs(180 * 86_400);

pub use chainops_core::section::parse_size;

/// Most drop patterns one source takes.
const MAX_DROP: usize = 100;

/// Checks a `drop` list: each entry a regular expression (reported at `at[i]`).
fn drop_patterns(list: Option<Vec<String>>, at: &str, p: &mut Problems) -> Vec<String> {
    let list = list.unwrap_or_default();
    if list.len() > MAX_DROP {
        p.add(
            at,
            format!("has {} patterns; at most {MAX_DROP}", list.len()),
        );
        return Vec::new();
    }
    list.into_iter()
        .enumerate()
        .filter_map(|(i, d)| match regex::Regex::new(&d) {
            Ok(_) if !d.is_empty() => Some(d),
            Ok(_) => {
                p.add(
                    format!("{at}[{i}]"),
                    "is empty, which would drop every entry",
                );
                None
            }
            Err(e) => {
                p.add(
                    format!("{at}[{i}]"),
                    format!("is not a valid regular expression: {e}"),
                );
                None
            }
        })
        .collect()
}

/// Validates the section, reporting every problem into `p`.
pub fn validate(raw: RawLogs, node_names: &[String], p: &mut Problems) -> LogsConfig {
    let retention = p.duration(
        "logs.retention",
        raw.retention.as_deref(),
        CN_MIN_RETENTION,
        Duration::from_secs(3600),
    );
    let compliance = match raw.compliance.as_deref() {
        None => None,
        Some("cn") => {
            if retention < CN_MIN_RETENTION {
                p.add(
                    "logs.retention",
                    "is shorter than 180d, which compliance = \"cn\" refuses (Cybersecurity Law art. 21, MLPS 2.0)",
                );
            }
            Some("cn".to_string())
        }
        Some(c) => {
            p.add(
                "logs.compliance",
                format!("\"{c}\" is not a profile; use \"cn\" or remove it"),
            );
            None
        }
    };
    let max_size_bytes = raw.max_size.as_deref().and_then(|s| match parse_size(s) {
        Ok(b) if b >= 1 << 20 => Some(b),
        Ok(_) => {
            p.add("logs.max_size", "is below 1MB; use e.g. \"20GB\"");
            None
        }
        Err(m) => {
            p.add("logs.max_size", m);
            None
        }
    });
    let poll_interval = p.duration(
        "logs.poll_interval",
        raw.poll_interval.as_deref(),
        Duration::from_millis(250),
        Duration::from_millis(10),
    );
    let mut sources = Vec::new();
    for (i, s) in raw.sources.unwrap_or_default().into_iter().enumerate() {
        let at = |k: &str| format!("logs.sources[{i}].{k}");
        let node = match s.node {
            Some(n) if node_names.contains(&n) => Some(n),
            Some(n) => {
                p.add(
                    at("node"),
                    format!("\"{n}\" is not a configured node; add it to [[nodes]]"),
                );
                None
            }
            None => {
                p.add(at("node"), "is missing; name the node the lines belong to");
                None
            }
        };
        let path = match s.path {
            Some(x) if !x.trim().is_empty() => Some(PathBuf::from(x)),
            _ => {
                p.add(
                    at("path"),
                    "is missing; give the log file (\"*\" allowed in the file name)",
                );
                None
            }
        };
        const FORMATS: &[&str] = &[
            "anvil",
            "anvil_tracing",
            "geth",
            "bitcoin",
            "monero",
            "ganache",
            "json",
            "logfmt",
            "generic",
        ];
        if let Some(f) = &s.format
            && !FORMATS.contains(&f.as_str())
        {
            p.add(
                at("format"),
                format!(
                    "\"{f}\" is not a format; use one of: {}",
                    FORMATS.join(", ")
                ),
            );
        }
        let drop = drop_patterns(s.drop, &at("drop"), p);
        if let (Some(node), Some(path)) = (node, path) {
            sources.push(LogSourceConfig {
                node,
                path,
                format: s.format,
                drop,
            });
        }
    }
    let managed_drop = raw
        .managed_drop
        .map(|d| drop_patterns(Some(d), "logs.managed_drop", p));
    let mut redact = Vec::new();
    for (i, r) in raw.redact.unwrap_or_default().into_iter().enumerate() {
        match (r.name, r.pattern) {
            (Some(name), Some(pattern)) if !pattern.is_empty() => {
                // Compiled here so `config check` reports it with every other problem.
                match regex::Regex::new(&pattern) {
                    Ok(_) => redact.push(RedactConfig { name, pattern }),
                    Err(e) => p.add(
                        format!("logs.redact[{i}].pattern"),
                        format!("is not a valid regular expression: {e}"),
                    ),
                }
            }
            _ => p.add(format!("logs.redact[{i}]"), "needs name and pattern"),
        }
    }
    let loki = raw.loki.and_then(|l| {
        let url = match l.url {
            Some(u) if chainops_core::section::is_http_url(&u) => u,
            _ => {
                p.add(
                    "logs.loki.url",
                    "is missing or not an http(s) URL (e.g. \"http://loki:3100\")",
                );
                return None;
            }
        };
        Some(LokiConfig {
            url,
            batch_size: l.batch_size.unwrap_or(1000).clamp(1, 100_000),
            batch_wait: p.duration(
                "logs.loki.batch_wait",
                l.batch_wait.as_deref(),
                Duration::from_secs(1),
                Duration::from_millis(10),
            ),
            tenant: l.tenant,
        })
    });
    let mut alerts = Vec::new();
    for (i, a) in raw.alerts.unwrap_or_default().into_iter().enumerate() {
        let at = |k: &str| format!("logs.alerts[{i}].{k}");
        let start = p.len();
        let name = p.identifier(&at("name"), a.name.as_deref());
        if a.pattern.is_none() && a.level.is_none() {
            p.add(at("pattern"), "or level is required: what to count");
        }
        let window = p.duration(
            &at("window"),
            a.window.as_deref(),
            Duration::from_secs(300),
            Duration::from_secs(1),
        );
        let severity = p.severity(&at("severity"), a.severity.as_deref(), Severity::Warning);
        if p.len() == start
            && let Some(name) = name
        {
            alerts.push(LogAlertConfig {
                name,
                pattern: a.pattern.map(|s| s.to_lowercase()),
                level: a.level,
                window,
                threshold: a.threshold.unwrap_or(0),
                severity,
            });
        }
    }
    LogsConfig {
        retention,
        max_size_bytes,
        compliance,
        poll_interval,
        managed_nodes: raw.managed_nodes.unwrap_or(true),
        managed_drop,
        sources,
        redact,
        loki,
        alerts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str) -> String {
        #[derive(serde::Deserialize)]
        struct File {
            logs: RawLogs,
        }
        let nodes: Vec<String> = Vec::new();
        chainops_core::section::parse_section(text, |f: File, p| validate(f.logs, &nodes, p))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn sizes_and_the_cn_profile() {
        assert_eq!(parse_size("20GB"), Ok(20 << 30));
        assert_eq!(parse_size("512 MB"), Ok(512 << 20));
        assert!(parse_size("lots").is_err());
        let e = check("[logs]\ncompliance = \"cn\"\nretention = \"30d\"\n");
        assert!(e.contains("logs.retention: is shorter than 180d"), "{e}");
        let e = check("[[logs.sources]]\nnode = \"ghost\"\npath = \"/x\"\n");
        assert!(e.contains("\"ghost\" is not a configured node"), "{e}");
    }

    #[test]
    fn drop_patterns_are_checked_with_their_index() {
        let e = check(
            "[logs]\nmanaged_drop = [\"\"]\n[[logs.sources]]\nnode = \"ghost\"\npath = \"/x\"\ndrop = [\"^ok$\", \"(unclosed\"]\n",
        );
        assert!(
            e.contains("logs.sources[0].drop[1]: is not a valid regular expression"),
            "{e}"
        );
        assert!(!e.contains("sources[0].drop[0]"), "{e}");
        assert!(e.contains("logs.managed_drop[0]: is empty"), "{e}");
    }
}
