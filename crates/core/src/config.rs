//! The daemon configuration: TOML parsing, `${VAR}` interpolation, env overrides and pure
//! validation that reports every problem at once with its path.
//!
//! Pipeline (no I/O here; the caller reads the file and passes the environment):
//! TOML text → [`toml::Value`] → interpolate `${VAR}` → [`RawConfig`] (permissive, strings)
//! → env overrides → [`Config::validate`] → [`Config`] (typed, checked) or [`ConfigErrors`].

use crate::alerting_config::{AlertingConfig, RawAlerting, RawRule};
pub use crate::node_config::{ManagedNode, NodeConfig, RpcAuth, SecretSource, read_secret};
pub use crate::section::{ConfigErrors, ConfigProblem, is_http_url};
pub(crate) use crate::section::{Problems, ser_duration, ser_url, walk_strings};

use crate::node::NodeKind;
use crate::notifier_config::RawNotifier;
use crate::secret::{Secret, redact_url};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// TOML value type, re-exported for callers that build a [`RawConfig`] in code.
pub use toml::Value as TomlValue;

/// Permissive mirror of the TOML file: everything optional, values still strings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Where chainops keeps its database and managed node data.
    pub data_dir: Option<String>,
    /// `[server]`.
    pub server: RawServer,
    /// `[store]`.
    pub store: RawStore,
    /// `[monitor]`.
    pub monitor: RawMonitor,
    /// `[history]`.
    pub history: RawHistory,
    /// `[[nodes]]`.
    pub nodes: Vec<RawNode>,
    /// `[alerting]`.
    pub alerting: RawAlerting,
    /// `[[rules]]`.
    pub rules: Vec<RawRule>,
    /// `[[notifiers]]`.
    pub notifiers: Vec<RawNotifier>,
    /// `[security]`.
    pub security: crate::security_config::RawSecurity,
    /// `[logs]`.
    pub logs: crate::logs_config::RawLogs,
    /// `[bench]`.
    pub bench: crate::bench_config::RawBench,
    /// `[[backups]]`.
    pub backups: Vec<crate::backup_config::RawBackup>,
    /// `[audit]`.
    pub audit: crate::audit_config::RawAudit,
}

/// `[server]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    /// Listen address.
    pub listen: Option<String>,
    /// Serve `/metrics` without credentials (default true).
    pub metrics_public: Option<bool>,
    /// `[server.tls]`.
    pub tls: Option<crate::security_config::RawTls>,
}

/// `[store]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStore {
    /// `sqlite://…` or `postgres://…`.
    pub url: Option<String>,
}

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

/// One `[[nodes]]` entry as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawNode {
    /// Unique node name.
    pub name: Option<String>,
    /// Chain the node belongs to (nodes of one chain are compared).
    pub chain: Option<String>,
    /// A chain family (`evm`, `bitcoin`; see `NodeKind::ALL`).
    pub kind: Option<String>,
    /// JSON-RPC endpoint.
    pub rpc_url: Option<String>,
    /// Expected block time.
    pub block_time: Option<String>,
    /// Head age after which the node is `stalled`.
    pub stall_after: Option<String>,
    /// Blocks behind the chain's best node before `lagging`.
    pub lag_blocks: Option<i64>,
    /// Expected chain id (EVM number) or network (Bitcoin: main, test, regtest, signet).
    pub chain_id: Option<toml::Value>,
    /// RPC basic-auth user.
    pub rpc_user: Option<String>,
    /// RPC password (prefer `rpc_password_file`).
    pub rpc_password: Option<String>,
    /// File holding the RPC password.
    pub rpc_password_file: Option<String>,
    /// Bitcoin Core `.cookie` file.
    pub rpc_cookie_file: Option<String>,
    /// Per-node poll interval.
    pub poll_interval: Option<String>,
    /// Per-node poll timeout.
    pub timeout: Option<String>,
    /// Start and supervise this node.
    pub managed: Option<bool>,
    /// Program to run for a managed node.
    pub command: Option<String>,
    /// Arguments for `command`.
    pub args: Option<Vec<String>>,
    /// Extra environment for `command`.
    pub env: Option<BTreeMap<String, String>>,
    /// Where the node keeps its data on this machine (disk alerts, backups).
    pub data_dir: Option<String>,
    /// PEM CA bundle trusted (in addition to the system roots) for this node's HTTPS RPC.
    pub ca_file: Option<String>,
}

/// The validated configuration the rest of chainops sees.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Data directory (database, managed node data and logs).
    pub data_dir: PathBuf,
    /// HTTP server settings.
    pub server: ServerConfig,
    /// Store settings.
    pub store: StoreConfig,
    /// Collector defaults.
    pub monitor: MonitorConfig,
    /// Metric history retention.
    pub history: HistoryConfig,
    /// Monitored nodes.
    pub nodes: Vec<NodeConfig>,
    /// Alert rules and notification channels.
    pub alerting: AlertingConfig,
    /// Audit retention and secret encryption.
    pub security: crate::security_config::SecurityConfig,
    /// Log management.
    pub logs: crate::logs_config::LogsConfig,
    /// The load-test plan for `chainops bench run`.
    pub bench: crate::bench_config::BenchConfig,
    /// Scheduled backups and drills.
    pub backups: Vec<crate::backup_config::BackupJob>,
    /// Contract audit defaults.
    pub audit: crate::audit_config::AuditConfig,
}

/// `[server]`.
#[derive(Debug, Clone, Serialize)]
pub struct ServerConfig {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// `/metrics` needs no credentials.
    pub metrics_public: bool,
    /// HTTPS certificate and key (plain HTTP when absent).
    pub tls: Option<crate::security_config::TlsConfig>,
}

/// `[store]`.
#[derive(Debug, Clone, Serialize)]
pub struct StoreConfig {
    /// Database URL; credentials are redacted when shown.
    #[serde(serialize_with = "ser_url")]
    pub url: String,
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

/// Default data directory when neither config nor env set one.
pub const DEFAULT_DATA_DIR: &str = "./chainops-data";
/// Default HTTP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// Environment variables that override the file (after `${VAR}` interpolation).
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("CHAINOPS_DATA", "data_dir"),
    ("CHAINOPS_DATA_DIR", "data_dir"),
    ("CHAINOPS_LISTEN", "server.listen"),
    ("CHAINOPS_STORE_URL", "store.url"),
];

impl Config {
    /// Parses and validates TOML text. `env` looks up environment variables (for
    /// `${VAR}` interpolation and `CHAINOPS_*` overrides); pass a map in tests.
    pub fn from_toml_str(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        let mut value: toml::Value = toml::from_str(text).map_err(|e| {
            ConfigErrors(vec![ConfigProblem {
                path: String::new(),
                message: format!("not valid TOML: {}", e.to_string().trim_end()),
            }])
        })?;
        let mut problems = Vec::new();
        interpolate(&mut value, "", env, &mut problems);
        let mut key = || {
            env(crate::sealed::KEY_VAR)
                .ok_or_else(|| {
                    "no master key is set: point CHAINOPS_MASTER_KEY_FILE at the key file"
                        .to_string()
                })
                .and_then(|k| crate::sealed::parse_key(&k))
        };
        crate::sealed::open_tree(&mut value, "", &mut key, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigErrors(problems));
        }
        let raw: RawConfig = value.try_into().map_err(|e: toml::de::Error| {
            ConfigErrors(vec![ConfigProblem {
                path: String::new(),
                message: e.to_string().trim_end().to_string(),
            }])
        })?;
        Self::validate(raw, env)
    }

    /// The configuration used when no file is given: defaults plus env overrides.
    pub fn defaults(env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
        Self::validate(RawConfig::default(), env)
    }

    /// Applies env overrides and validates. Pure: reports every problem at once.
    pub fn validate(
        mut raw: RawConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigErrors> {
        for (var, key) in ENV_OVERRIDES {
            if let Some(v) = env(var).filter(|v| !v.is_empty()) {
                match *key {
                    "data_dir" => raw.data_dir = Some(v),
                    "server.listen" => raw.server.listen = Some(v),
                    "store.url" => raw.store.url = Some(v),
                    _ => {}
                }
            }
        }
        let mut p = Problems::default();

        let data_dir = PathBuf::from(raw.data_dir.as_deref().unwrap_or(DEFAULT_DATA_DIR));
        if data_dir.as_os_str().is_empty() {
            p.add(
                "data_dir",
                "is empty; set a directory chainops may write to",
            );
        }

        let listen_text = raw.server.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
        let listen = listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
            p.add(
                "server.listen",
                format!("\"{listen_text}\" is not an IP:port address (e.g. \"127.0.0.1:8080\")"),
            );
            SocketAddr::from(([127, 0, 0, 1], 8080))
        });

        let store_url = match raw.store.url {
            Some(u) => {
                if !(u.starts_with("sqlite:")
                    || u.starts_with("postgres://")
                    || u.starts_with("postgresql://"))
                {
                    p.add(
                        "store.url",
                        format!(
                            "\"{}\" is not a sqlite:// or postgres:// URL",
                            redact_url(&u)
                        ),
                    );
                }
                u
            }
            None => format!("sqlite://{}", data_dir.join("chainops.db").display()),
        };

        let poll_interval = p.duration(
            "monitor.poll_interval",
            raw.monitor.poll_interval.as_deref(),
            Duration::from_secs(1),
            Duration::from_millis(100),
        );
        let timeout = p.duration(
            "monitor.timeout",
            raw.monitor.timeout.as_deref(),
            Duration::from_secs(5),
            Duration::from_millis(100),
        );
        let max_concurrent_polls = match raw.monitor.max_concurrent_polls {
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

        let history = HistoryConfig {
            raw_retention: p.duration(
                "history.raw_retention",
                raw.history.raw_retention.as_deref(),
                Duration::from_secs(48 * 3600),
                Duration::from_secs(600),
            ),
            minute_retention: p.duration(
                "history.minute_retention",
                raw.history.minute_retention.as_deref(),
                Duration::from_secs(30 * 86_400),
                Duration::from_secs(3600),
            ),
            hour_retention: p.duration(
                "history.hour_retention",
                raw.history.hour_retention.as_deref(),
                Duration::from_secs(2 * 365 * 86_400),
                Duration::from_secs(86_400),
            ),
        };

        let mut names = HashSet::new();
        let mut nodes = Vec::with_capacity(raw.nodes.len());
        for (i, n) in raw.nodes.into_iter().enumerate() {
            if let Some(node) = validate_node(i, n, poll_interval, timeout, &mut names, &mut p) {
                nodes.push(node);
            }
        }

        let alerting =
            crate::alerting_config::validate(raw.alerting, raw.rules, raw.notifiers, &mut p);
        let tls = raw
            .server
            .tls
            .and_then(|t| crate::security_config::validate_tls(t, &mut p));
        let security = crate::security_config::validate_security(raw.security, &mut p);
        let node_names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        let logs = crate::logs_config::validate(raw.logs, &node_names, &mut p);
        let bench = crate::bench_config::validate(raw.bench, &node_names, &mut p);
        let backups = crate::backup_config::validate(raw.backups, &nodes, &mut p);
        let audit = crate::audit_config::validate(raw.audit, &mut p);

        if !p.0.is_empty() {
            return Err(ConfigErrors(p.0));
        }
        Ok(Config {
            data_dir,
            server: ServerConfig {
                listen,
                metrics_public: raw.server.metrics_public.unwrap_or(true),
                tls,
            },
            store: StoreConfig { url: store_url },
            monitor: MonitorConfig {
                poll_interval,
                timeout,
                max_concurrent_polls,
            },
            history,
            nodes,
            alerting,
            security,
            logs,
            bench,
            backups,
            audit,
        })
    }

    /// The effective configuration as TOML with every secret redacted.
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }

    /// Looks a node up by name.
    pub fn node(&self, name: &str) -> Option<&NodeConfig> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

fn validate_node(
    i: usize,
    n: RawNode,
    default_poll: Duration,
    default_timeout: Duration,
    names: &mut HashSet<String>,
    p: &mut Problems,
) -> Option<NodeConfig> {
    let at = |k: &str| format!("nodes[{i}].{k}");
    let start = p.0.len();

    let name = p.identifier(&at("name"), n.name.as_deref());
    if let Some(name) = &name
        && !names.insert(name.clone())
    {
        p.add(
            at("name"),
            format!("\"{name}\" is used by another node; names must be unique"),
        );
    }
    let chain = p.identifier(&at("chain"), n.chain.as_deref());
    let kind = match n.kind.as_deref() {
        None => {
            p.add(
                at("kind"),
                format!("is missing; set {}", NodeKind::quoted_names()),
            );
            None
        }
        Some(k) => NodeKind::parse(k).or_else(|| {
            p.add(
                at("kind"),
                format!(
                    "\"{k}\" is not a known kind; use {}",
                    NodeKind::quoted_names()
                ),
            );
            None
        }),
    };
    let rpc_url = match n.rpc_url {
        None => {
            p.add(
                at("rpc_url"),
                "is missing; set the node's JSON-RPC URL (e.g. \"http://127.0.0.1:8545\")",
            );
            None
        }
        Some(u) if is_http_url(&u) => Some(u),
        Some(u) => {
            p.add(
                at("rpc_url"),
                format!("\"{}\" is not an http(s) URL", redact_url(&u)),
            );
            None
        }
    };
    let kind_or_evm = kind.unwrap_or(NodeKind::Evm);
    let block_time = p.duration(
        &at("block_time"),
        n.block_time.as_deref(),
        kind_or_evm.default_block_time(),
        Duration::from_millis(100),
    );
    let default_stall = block_time * 5 + Duration::from_secs(10);
    let stall_after = p.duration(
        &at("stall_after"),
        n.stall_after.as_deref(),
        default_stall,
        Duration::from_secs(1),
    );
    let lag_blocks = match n.lag_blocks {
        None => kind_or_evm.default_lag_blocks(),
        Some(v) if v >= 1 => v as u64,
        Some(v) => {
            p.add(at("lag_blocks"), format!("{v} must be at least 1"));
            1
        }
    };
    let chain_id = match n.chain_id {
        None => None,
        Some(toml::Value::Integer(v)) if v >= 0 => Some(v.to_string()),
        Some(toml::Value::String(s)) if kind == Some(NodeKind::Evm) => match s.parse::<u64>() {
            Ok(v) => Some(v.to_string()),
            Err(_) => {
                p.add(
                    at("chain_id"),
                    format!("\"{s}\" is not a number; EVM chain ids are integers (e.g. 1, 31337)"),
                );
                None
            }
        },
        Some(toml::Value::String(s)) => Some(s),
        Some(other) => {
            p.add(
                at("chain_id"),
                format!(
                    "{other} is not a chain id; use an integer (EVM) or a network name (Bitcoin)"
                ),
            );
            None
        }
    };
    let rpc_auth = match (
        n.rpc_user,
        n.rpc_password,
        n.rpc_password_file,
        n.rpc_cookie_file,
    ) {
        (None, None, None, None) => None,
        (None, None, None, Some(c)) => Some(RpcAuth::Cookie(PathBuf::from(c))),
        (Some(_), _, _, Some(_)) => {
            p.add(
                at("rpc_cookie_file"),
                "cannot be combined with rpc_user; use one of them",
            );
            None
        }
        (Some(user), Some(pw), None, None) => Some(RpcAuth::Basic {
            user,
            password: SecretSource::Inline(Secret::new(pw)),
        }),
        (Some(user), None, Some(f), None) => Some(RpcAuth::Basic {
            user,
            password: SecretSource::File(PathBuf::from(f)),
        }),
        (Some(_), Some(_), Some(_), None) => {
            p.add(
                at("rpc_password"),
                "and rpc_password_file are both set; keep only rpc_password_file",
            );
            None
        }
        (Some(_), None, None, None) => {
            p.add(
                at("rpc_user"),
                "is set without a password; add rpc_password_file (or rpc_password)",
            );
            None
        }
        (None, _, _, _) => {
            p.add(at("rpc_user"), "is missing; a password needs a user name");
            None
        }
    };
    let poll_interval = p.duration(
        &at("poll_interval"),
        n.poll_interval.as_deref(),
        default_poll,
        Duration::from_millis(100),
    );
    let timeout = p.duration(
        &at("timeout"),
        n.timeout.as_deref(),
        default_timeout,
        Duration::from_millis(100),
    );
    let managed = match (n.managed.unwrap_or(false), n.command) {
        (true, Some(command)) if !command.trim().is_empty() => Some(ManagedNode {
            command,
            args: n.args.unwrap_or_default(),
            env: n.env.unwrap_or_default(),
        }),
        (true, _) => {
            p.add(
                at("command"),
                "is missing; a managed node needs the program to run (e.g. \"anvil\")",
            );
            None
        }
        (false, Some(_)) => {
            p.add(
                at("command"),
                "only applies to managed nodes; set managed = true or remove it",
            );
            None
        }
        (false, None) => {
            if n.args.is_some() || n.env.is_some() {
                p.add(
                    at("args"),
                    "args/env only apply to managed nodes; set managed = true or remove them",
                );
            }
            None
        }
    };

    let data_dir = match n.data_dir {
        Some(d) if d.trim().is_empty() => {
            p.add(
                at("data_dir"),
                "is empty; give the node's data directory or remove it",
            );
            None
        }
        d => d.map(PathBuf::from),
    };

    let ca_file = n.ca_file.map(PathBuf::from);
    if ca_file.is_some()
        && rpc_url
            .as_deref()
            .is_some_and(|u| !u.starts_with("https://"))
    {
        p.add(
            at("ca_file"),
            "only applies to https:// rpc_url; remove it or use https",
        );
    }

    if p.0.len() != start {
        return None;
    }
    Some(NodeConfig {
        name: name?,
        chain: chain?,
        kind: kind?,
        rpc_url: rpc_url?,
        block_time,
        stall_after,
        lag_blocks,
        chain_id,
        rpc_auth,
        poll_interval,
        timeout,
        managed,
        data_dir,
        ca_file,
    })
}

/// Replaces `${VAR}` in every string value, reporting unset variables by path.
fn interpolate(
    v: &mut toml::Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<ConfigProblem>,
) {
    walk_strings(v, path, &mut |path, s| {
        if !s.contains("${") {
            return;
        }
        let mut out = String::with_capacity(s.len());
        let mut rest = s.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                problems.push(ConfigProblem {
                    path: path.into(),
                    message: "has an unclosed \"${\"".into(),
                });
                return;
            };
            let var = &after[..end];
            match env(var) {
                Some(val) => out.push_str(&val),
                None => problems.push(ConfigProblem {
                    path: path.into(),
                    message: format!(
                        "refers to ${{{var}}} but the environment variable {var} is not set"
                    ),
                }),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        *s = out;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const ISSUE_EXAMPLE: &str = r#"
data_dir = "/var/lib/chainops"
[server]
listen = "127.0.0.1:8080"
[[nodes]]
name = "anvil-1"
chain = "devnet"
kind = "evm"
rpc_url = "http://127.0.0.1:8545"
block_time = "1s"
[[nodes]]
name = "ltc-1"
chain = "ltc-regtest"
kind = "bitcoin"
rpc_url = "http://127.0.0.1:29441"
rpc_user = "ops"
rpc_password_file = "/run/secrets/ltc"
"#;

    #[test]
    fn the_documented_example_is_valid() {
        let c = Config::from_toml_str(ISSUE_EXAMPLE, &no_env).expect("valid");
        assert_eq!(c.nodes.len(), 2);
        assert_eq!(c.store.url, "sqlite:///var/lib/chainops/chainops.db");
        assert_eq!(c.nodes[0].block_time, Duration::from_secs(1));
        assert_eq!(c.nodes[0].stall_after, Duration::from_secs(15));
        assert_eq!(c.nodes[1].kind, NodeKind::Bitcoin);
        assert!(matches!(c.nodes[1].rpc_auth, Some(RpcAuth::Basic { .. })));
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_path() {
        let text = r#"
[server]
listen = "nowhere"
[[nodes]]
name = "a"
chain = "c"
kind = "evm"
rpc_url = "http://127.0.0.1:1"
[[nodes]]
name = "a"
chain = "c"
kind = "solana"
rpc_url = "htp://x"
block_time = "fast"
"#;
        let err = Config::from_toml_str(text, &no_env).expect_err("invalid");
        let lines: Vec<String> = err.0.iter().map(|p| p.to_string()).collect();
        assert!(
            lines.contains(&"nodes[1].rpc_url: \"htp://x\" is not an http(s) URL".to_string()),
            "{lines:?}"
        );
        assert!(lines.iter().any(|l| l.starts_with("server.listen: ")));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("nodes[1].name: ") && l.contains("unique"))
        );
        assert!(lines.iter().any(|l| l.starts_with("nodes[1].kind: ")));
        assert!(lines.iter().any(|l| l.starts_with("nodes[1].block_time: ")));
        assert_eq!(lines.len(), 5, "{lines:?}");
    }

    #[test]
    fn env_interpolation_and_overrides_apply() {
        let env = |k: &str| match k {
            "LTC_URL" => Some("http://10.0.0.5:9332".to_string()),
            "CHAINOPS_LISTEN" => Some("0.0.0.0:9999".to_string()),
            _ => None,
        };
        let text =
            "[[nodes]]\nname=\"l\"\nchain=\"ltc\"\nkind=\"bitcoin\"\nrpc_url=\"${LTC_URL}\"\n";
        let c = Config::from_toml_str(text, &env).expect("valid");
        assert_eq!(c.nodes[0].rpc_url, "http://10.0.0.5:9332");
        assert_eq!(c.server.listen.port(), 9999);
        let missing =
            Config::from_toml_str("data_dir = \"${NOPE}\"", &no_env).expect_err("missing var");
        assert_eq!(missing.0[0].path, "data_dir");
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = Config::from_toml_str("[server]\nlisen = \"x\"", &no_env).expect_err("typo");
        assert!(err.to_string().contains("lisen"), "{err}");
    }

    #[test]
    fn redacted_toml_hides_secrets() {
        let text = "[store]\nurl=\"postgres://u:topsecret@db/x\"\n[[nodes]]\nname=\"l\"\nchain=\"c\"\nkind=\"bitcoin\"\nrpc_url=\"http://a:b@h:1\"\nrpc_user=\"u\"\nrpc_password=\"hunter2\"\n";
        let c = Config::from_toml_str(text, &no_env).expect("valid");
        let shown = c.to_redacted_toml();
        assert!(
            !shown.contains("topsecret") && !shown.contains("hunter2") && !shown.contains(":b@"),
            "{shown}"
        );
        assert!(shown.contains("[REDACTED]"));
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn url_check_accepts_http_and_https_only() {
        assert!(is_http_url("http://127.0.0.1:8545"));
        assert!(is_http_url("https://user:pw@rpc.example.org/v3/key"));
        assert!(!is_http_url("htp://x"));
        assert!(!is_http_url("http://"));
        assert!(!is_http_url("ws://127.0.0.1:8546"));
    }
}
