//! The whole configuration file: TOML parsing, `${VAR}` interpolation, sealed values, env
//! overrides, and the assembly of every crate's section. Each section's raw mirror and pure
//! validation live with its feature (`chainops_alert::config`, `chainops_backup::config`, …);
//! this module only puts them together, in the order `config check` reports problems.
//!
//! Pipeline (no I/O here; the caller reads the file and passes the environment):
//! TOML text → [`toml::Value`] → interpolate `${VAR}` → open sealed values → [`RawConfig`]
//! → env overrides → [`Config::validate`] → [`Config`] (typed, checked) or [`ConfigErrors`].

pub use chainops_core::node_config::{ManagedNode, NodeConfig, RpcAuth, SecretSource, read_secret};
pub use chainops_core::section::{ConfigErrors, ConfigProblem, is_http_url};
use chainops_core::section::{Problems, walk_strings};

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// TOML value type, re-exported for callers that build a [`RawConfig`] in code.
pub use toml::Value as TomlValue;

/// Permissive mirror of the TOML file: everything optional, values still strings.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Where chainops keeps its database and managed node data.
    pub data_dir: Option<String>,
    /// `[server]`.
    pub server: chainops_server::config::RawServer,
    /// `[store]`.
    pub store: chainops_store::config::RawStore,
    /// `[monitor]`.
    pub monitor: chainops_monitor::config::RawMonitor,
    /// `[history]`.
    pub history: chainops_monitor::config::RawHistory,
    /// `[[nodes]]`.
    pub nodes: Vec<chainops_chain::config::RawNode>,
    /// `[alerting]`.
    pub alerting: chainops_alert::config::RawAlerting,
    /// `[[rules]]`.
    pub rules: Vec<chainops_alert::config::RawRule>,
    /// `[[notifiers]]`.
    pub notifiers: Vec<chainops_alert::config::notifier::RawNotifier>,
    /// `[security]`.
    pub security: chainops_auth::config::RawSecurity,
    /// `[logs]`.
    pub logs: chainops_logs::config::RawLogs,
    /// `[bench]`.
    pub bench: chainops_bench::config::RawBench,
    /// `[[backups]]`.
    pub backups: Vec<chainops_backup::config::RawBackup>,
    /// `[audit]`.
    pub audit: chainops_audit::config::RawAudit,
    /// `[support]`.
    pub support: chainops_desk::config::RawSupport,
    /// `[cluster]`.
    pub cluster: chainops_monitor::config::RawCluster,
}

/// The validated configuration the rest of chainops sees.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Data directory (database, managed node data and logs).
    pub data_dir: PathBuf,
    /// HTTP server settings.
    pub server: chainops_server::config::ServerConfig,
    /// Store settings.
    pub store: chainops_store::config::StoreConfig,
    /// Collector defaults.
    pub monitor: chainops_monitor::config::MonitorConfig,
    /// Metric history retention.
    pub history: chainops_monitor::config::HistoryConfig,
    /// Monitored nodes.
    pub nodes: Vec<NodeConfig>,
    /// Alert rules and notification channels.
    pub alerting: chainops_alert::config::AlertingConfig,
    /// Audit retention and secret encryption.
    pub security: chainops_auth::config::SecurityConfig,
    /// Log management.
    pub logs: chainops_logs::config::LogsConfig,
    /// The load-test plan for `chainops bench run`.
    pub bench: chainops_bench::config::BenchConfig,
    /// Scheduled backups and drills.
    pub backups: Vec<chainops_backup::config::BackupJob>,
    /// Contract audit defaults.
    pub audit: chainops_audit::config::AuditConfig,
    /// The support desk: portal, calendars, SLA policies.
    pub support: chainops_desk::config::SupportConfig,
    /// Several daemons on one PostgreSQL store.
    pub cluster: chainops_monitor::config::ClusterConfig,
}

/// Default data directory when neither config nor env set one.
pub const DEFAULT_DATA_DIR: &str = "./chainops-data";

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
            env(chainops_core::sealed::KEY_VAR)
                .ok_or_else(|| {
                    "no master key is set: point CHAINOPS_MASTER_KEY_FILE at the key file"
                        .to_string()
                })
                .and_then(|k| chainops_core::sealed::parse_key(&k))
        };
        chainops_core::sealed::open_tree(&mut value, "", &mut key, &mut problems);
        if !problems.is_empty() {
            return Err(ConfigErrors(problems));
        }
        let mut shape = Vec::new();
        let Some(raw) = chainops_core::section::deserialize_all::<RawConfig>(value, &mut shape)
        else {
            return Err(ConfigErrors(shape));
        };
        match Self::validate(raw, env) {
            Ok(c) if shape.is_empty() => Ok(c),
            Ok(_) => Err(ConfigErrors(shape)),
            Err(ConfigErrors(more)) => {
                // A key removed for its type is not also "missing".
                let more: Vec<_> = more
                    .into_iter()
                    .filter(|p| !shape.iter().any(|s| s.path == p.path))
                    .collect();
                shape.extend(more);
                Err(ConfigErrors(shape))
            }
        }
    }

    /// The configuration used when no file is given: defaults plus env overrides.
    pub fn defaults(env: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigErrors> {
        Self::validate(RawConfig::default(), env)
    }

    /// Applies env overrides and validates. Pure: reports every problem at once, in file
    /// order of the sections (the order `config check` has always printed).
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
        let listen = chainops_server::config::validate_listen(&raw.server, &mut p);
        let store = chainops_store::config::validate(raw.store, &data_dir, &mut p);
        let monitor = chainops_monitor::config::validate_monitor(raw.monitor, &mut p);
        let history = chainops_monitor::config::validate_history(raw.history, &mut p);
        // Names as written, valid entries or not: a section naming a node whose entry has
        // its own problems is not also told the node does not exist.
        let written: Vec<String> = raw.nodes.iter().filter_map(|n| n.name.clone()).collect();
        let nodes = chainops_chain::config::validate(
            raw.nodes,
            monitor.poll_interval,
            monitor.timeout,
            &mut p,
        );
        let alerting =
            chainops_alert::config::validate(raw.alerting, raw.rules, raw.notifiers, &mut p);
        let server = chainops_server::config::validate(raw.server, listen, &mut p);
        let security = chainops_auth::config::validate(raw.security, &mut p);
        let logs = chainops_logs::config::validate(raw.logs, &written, &mut p);
        let bench = chainops_bench::config::validate(raw.bench, &written, &mut p);
        let backups = chainops_backup::config::validate(raw.backups, &nodes, &written, &mut p);
        let audit = chainops_audit::config::validate(raw.audit, &mut p);
        let support = chainops_desk::config::validate(raw.support, &data_dir, &mut p);
        let cluster = chainops_monitor::config::validate_cluster(
            raw.cluster,
            store.backend() == chainops_store::Backend::Postgres,
            &mut p,
        );
        if cluster.enabled {
            for (i, n) in nodes.iter().enumerate() {
                if n.managed.is_some() {
                    p.add(
                        format!("nodes[{i}].managed"),
                        format!("node \"{}\" is managed, but a cluster member may poll any node and a managed node lives on one host; run it as a service there and monitor it by rpc_url", n.name),
                    );
                }
            }
        }
        if let Some(name) = &support.email_notifier {
            match alerting.notifiers.iter().find(|c| &c.name == name) {
                Some(c) if c.email.is_some() => {}
                Some(_) => p.add(
                    "support.email_notifier",
                    format!("\"{name}\" is not an email notifier (kind = \"email\")"),
                ),
                None => p.add(
                    "support.email_notifier",
                    format!("\"{name}\" is not a [[notifiers]] name"),
                ),
            }
        }
        for (key, list) in [
            ("notify", &support.notify),
            ("status_notify", &support.status_notify),
        ] {
            for (i, n) in list.iter().enumerate() {
                if !alerting.notifiers.iter().any(|c| &c.name == n) {
                    p.add(
                        format!("support.{key}[{i}]"),
                        format!("\"{n}\" is not a [[notifiers]] name"),
                    );
                }
            }
        }

        if !p.0.is_empty() {
            return Err(ConfigErrors(p.0));
        }
        Ok(Config {
            data_dir,
            server,
            store,
            monitor,
            history,
            nodes,
            alerting,
            security,
            logs,
            bench,
            backups,
            audit,
            support,
            cluster,
        })
    }

    /// The effective configuration as TOML with every secret redacted, in the file's own
    /// shape: what `config show` prints can be pasted back (`config check` accepts it; a
    /// redacted secret reads `[REDACTED]` and must be filled in again).
    pub fn to_redacted_toml(&self) -> String {
        let mut v = match toml::Value::try_from(self) {
            Ok(v) => v,
            Err(e) => return format!("# cannot render config: {e}\n"),
        };
        file_shape(&mut v);
        toml::to_string_pretty(&v).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }

    /// Every file the configuration names that must exist when the daemon starts, by its
    /// config path (`nodes[0].rpc_password_file`). Cookie files are not listed: the node
    /// writes its cookie when it starts.
    pub fn referenced_files(&self) -> Vec<(String, PathBuf)> {
        let mut out = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if let Some(RpcAuth::Basic {
                password: SecretSource::File(f),
                ..
            }) = &n.rpc_auth
            {
                out.push((format!("nodes[{i}].rpc_password_file"), f.clone()));
            }
            if let Some(f) = &n.ca_file {
                out.push((format!("nodes[{i}].ca_file"), f.clone()));
            }
        }
        if let Some(t) = &self.server.tls {
            out.push(("server.tls.cert_file".into(), t.cert_file.clone()));
            out.push(("server.tls.key_file".into(), t.key_file.clone()));
        }
        for (i, n) in self.alerting.notifiers.iter().enumerate() {
            if let Some(SecretSource::File(f)) = &n.secret {
                out.push((format!("notifiers[{i}].secret_file"), f.clone()));
            }
        }
        for (i, b) in self.backups.iter().enumerate() {
            out.push((
                format!("backups[{i}].password_file"),
                b.password_file.clone(),
            ));
            if let Some(f) = b.s3.as_ref().and_then(|s| s.secret_access_key_file.clone()) {
                out.push((format!("backups[{i}].s3.secret_access_key_file"), f));
            }
        }
        out
    }

    /// Checks that every [referenced file](Self::referenced_files) is a readable regular
    /// file (I/O: `config check` and `serve` call it after the pure validation).
    pub fn check_files(&self) -> Result<(), ConfigErrors> {
        let problems: Vec<ConfigProblem> = self
            .referenced_files()
            .into_iter()
            .filter_map(|(path, file)| {
                let message = match std::fs::metadata(&file) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        format!("{} does not exist", file.display())
                    }
                    Err(e) => format!("{} cannot be read: {e}", file.display()),
                    Ok(m) if m.is_dir() => format!("{} is a directory, not a file", file.display()),
                    Ok(_) => match std::fs::File::open(&file) {
                        Ok(_) => return None,
                        Err(e) => format!("{} cannot be read: {e}", file.display()),
                    },
                };
                Some(ConfigProblem { path, message })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(problems))
        }
    }

    /// Looks a node up by name.
    pub fn node(&self, name: &str) -> Option<&NodeConfig> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

/// Rewrites the validated types' serialization into the keys the file uses, for
/// `config show`: the assembly's own part (`[alerting]`'s rules and notifiers become
/// `[[rules]]` and `[[notifiers]]`), then each section's `file_shape`, kept with the section
/// that knows its types.
fn file_shape(v: &mut toml::Value) {
    use toml::Value;
    let Some(root) = v.as_table_mut() else { return };
    for key in ["rules", "notifiers"] {
        let moved = match root.get_mut("alerting") {
            Some(Value::Table(alerting)) => alerting.remove(key),
            _ => None,
        };
        if let Some(x) = moved {
            root.insert(key.into(), x);
        }
    }
    let each = |root: &mut toml::Table, key: &str, f: fn(&mut toml::Table)| {
        if let Some(Value::Array(items)) = root.get_mut(key) {
            items.iter_mut().filter_map(Value::as_table_mut).for_each(f);
        }
    };
    each(root, "nodes", chainops_core::node_config::node_file_shape);
    each(
        root,
        "notifiers",
        chainops_alert::config::notifier::file_shape,
    );
    each(root, "backups", chainops_backup::config::file_shape);
    if let Some(Value::Table(bench)) = root.get_mut("bench") {
        chainops_bench::config::file_shape(bench);
    }
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
    use std::time::Duration;

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
        assert_eq!(c.nodes[1].kind, chainops_chain::bitcoin::KIND);
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
    fn a_cluster_needs_postgresql_sane_leases_and_no_managed_nodes() {
        let err = |text: &str| -> Vec<String> {
            Config::from_toml_str(text, &no_env)
                .expect_err("invalid")
                .0
                .iter()
                .map(|p| p.to_string())
                .collect()
        };
        let lines = err(
            "[cluster]\nenabled = true\nlease = \"4s\"\nheartbeat = \"2s\"\nmember = \"\"\n\
             [[nodes]]\nname = \"local\"\nchain = \"dev\"\nkind = \"evm\"\nrpc_url = \"http://127.0.0.1:8545\"\nmanaged = true\ncommand = \"anvil\"\n",
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("cluster.enabled: needs a PostgreSQL store")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("cluster.heartbeat: must be at most a third")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("cluster.member: ")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("nodes[0].managed: ") && l.contains("rpc_url")),
            "{lines:?}"
        );
        let lines = err(
            "[store]\nurl = \"postgres://db/chainops\"\n[cluster]\nenabled = true\nlease = \"1y\"\nheartbeat = \"0s\"\n",
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("cluster.lease: is longer than 10m")),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("cluster.heartbeat: ") && l.contains("minimum")),
            "{lines:?}"
        );
        let ok = Config::from_toml_str(
            "[store]\nurl = \"postgres://db/chainops\"\n[cluster]\nenabled = true\nmember = \"节点-a\"\n",
            &no_env,
        )
        .expect("valid");
        assert_eq!(ok.cluster.lease, Duration::from_secs(8));
        assert_eq!(ok.cluster.heartbeat, Duration::from_secs(2));
        // What `config show` prints reads back the same.
        let again = Config::from_toml_str(&ok.to_redacted_toml(), &no_env).expect("round trip");
        assert_eq!(again.cluster.member.as_deref(), Some("节点-a"));
        assert!(again.cluster.enabled);
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

    /// Issue 15 item 9, issue 16 item 7: an unknown key used to hide every other problem
    /// (one problem, empty path); five unknown keys were one problem; a type error had no
    /// array index.
    #[test]
    fn unknown_keys_and_type_errors_come_with_every_other_problem() {
        let text = r#"
[monitor]
poll_intervall = "5s"
[server]
listen = "nowhere"
[[nodes]]
name = "a"
chain = "c"
kind = "evm"
rpc_url = "http://127.0.0.1:1"
[[nodes]]
name = "b"
chain = "c"
kind = "evm"
rpc_url = "htp://x"
[[nodes]]
name = "c"
chain = "c"
kind = "evm"
rpc_url = "http://127.0.0.1:2"
block_time = 5
[alerting]
a1 = 1
a2 = 1
a3 = 1
a4 = 1
a5 = 1
"#;
        let err = Config::from_toml_str(text, &no_env).expect_err("invalid");
        let lines: Vec<String> = err.0.iter().map(|p| p.to_string()).collect();
        assert!(
            lines.contains(
                &"monitor.poll_intervall: is not a known key; did you mean `poll_interval`?"
                    .to_string()
            ),
            "{lines:?}"
        );
        for k in ["a1", "a2", "a3", "a4", "a5"] {
            assert!(
                lines
                    .iter()
                    .any(|l| l.starts_with(&format!("alerting.{k}: is not a known key"))),
                "{lines:?}"
            );
        }
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("nodes[2].block_time: has the wrong type")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("server.listen: ")),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.starts_with("nodes[1].rpc_url: ")),
            "{lines:?}"
        );
        assert_eq!(lines.len(), 9, "{lines:?}");
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
