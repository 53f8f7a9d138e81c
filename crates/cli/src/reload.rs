//! Reloading the config file while the daemon runs (`SIGHUP`, `POST /api/v1/config/reload`).
//!
//! The file is read and validated as `chainops config check` does (every problem, files it
//! names included); parts that cannot change under a running process (store, data dir,
//! listener, managed nodes, history retention, security) are compared with the running
//! configuration; node adapters, notifiers and a new TLS pair are built. Only when all of that
//! holds is the running generation of subsystems stopped and a new one started from the new
//! file, and the HTTP state swapped to it in one step. If the new generation fails to start,
//! the previous configuration is started again and the reload reports why. One reload runs
//! at a time.

use crate::config_load;
use crate::generation::{Base, Generation, prepare, start_generation};
use chainops_config::Config;
use chainops_config::ConfigErrors;
use chainops_core::ports::{ConfigReloader, ReloadOutcome};
use std::path::PathBuf;
use std::sync::Arc;
use toml::{Table, Value};

/// The configuration in force and the subsystems running it.
struct Running {
    /// As loaded (with `--listen` applied; the bound address not yet filled in).
    config: Config,
    /// `None` once the daemon is stopping.
    generation: Option<Generation>,
}

/// Applies the config file again; see the module documentation.
pub struct Reloader {
    file: Option<PathBuf>,
    listen_flag: Option<std::net::SocketAddr>,
    base: Arc<Base>,
    live: chainops_server::LiveCell,
    running: tokio::sync::Mutex<Running>,
}

impl Reloader {
    /// A reloader for the daemon started from `file` (`None`: the built-in default, which
    /// cannot be reloaded) with the address of `--listen` as `listen_flag`.
    pub(crate) fn new(
        file: Option<PathBuf>,
        listen_flag: Option<std::net::SocketAddr>,
        base: Arc<Base>,
        config: Config,
        generation: Generation,
        live: chainops_server::LiveCell,
    ) -> Reloader {
        Reloader {
            file,
            listen_flag,
            base,
            live,
            running: tokio::sync::Mutex::new(Running {
                config,
                generation: Some(generation),
            }),
        }
    }

    /// Was the daemon started from a config file?
    pub fn has_file(&self) -> bool {
        self.file.is_some()
    }

    /// The config file's path, for the audit trail.
    pub fn file_name(&self) -> String {
        self.file
            .as_ref()
            .map_or_else(|| "(built-in default)".into(), |p| p.display().to_string())
    }

    /// Stops the running generation for good (the daemon is shutting down).
    pub async fn stop(&self) {
        let generation = self.running.lock().await.generation.take();
        if let Some(g) = generation {
            g.stop().await;
        }
    }

    /// The file as `serve` would load it with the problems of the files it names, or every
    /// problem of the file itself.
    fn read(&self, file: &std::path::Path) -> Result<(Config, Vec<String>), Vec<String>> {
        let mut config = config_load::load_path(file).map_err(problems_of)?;
        let files = match config.check_files() {
            Ok(()) => Vec::new(),
            Err(e) => problems_of(e.into()),
        };
        if let Some(addr) = self.listen_flag {
            config.server.listen = addr;
        }
        Ok((config, files))
    }
}

/// Every problem an error carries, one line each (`path: message` for config problems).
fn problems_of(e: anyhow::Error) -> Vec<String> {
    match e.downcast_ref::<ConfigErrors>() {
        Some(errs) => errs
            .0
            .iter()
            .map(|p| {
                if p.path.is_empty() {
                    p.message.clone()
                } else {
                    format!("{}: {}", p.path, p.message)
                }
            })
            .collect(),
        None => vec![format!("{e:#}")],
    }
}

/// The configuration as a TOML table in the file's shape (secrets redacted).
fn table(c: &Config) -> Table {
    c.to_redacted_toml().parse::<Table>().unwrap_or_default()
}

/// Settings a running process cannot change, as (path, value) pairs: data dir, store,
/// history retention, security, the listener and its limits, whether TLS is on, the support
/// desk's key file, and each managed node's launch spec.
fn fixed(c: &Config) -> Vec<(String, Option<Value>)> {
    let t = table(c);
    let mut out: Vec<(String, Option<Value>)> =
        ["data_dir", "store", "history", "security", "cluster"]
            .iter()
            .map(|k| ((*k).to_string(), t.get(*k).cloned()))
            .collect();
    if let Some(Value::Table(server)) = t.get("server") {
        for (k, v) in server {
            match k.as_str() {
                // Links only (alerting is restarted), and certificate files (swapped live).
                "external_url" => {}
                "tls" => out.push(("server.tls".into(), Some(Value::Boolean(true)))),
                _ => out.push((format!("server.{k}"), Some(v.clone()))),
            }
        }
    }
    // The key that opens requesters' data is read once, when the daemon starts.
    out.push((
        "support.key_file".into(),
        Some(Value::String(c.support.key_file.display().to_string())),
    ));
    for n in &c.nodes {
        if n.managed.is_some() {
            let spec = t
                .get("nodes")
                .and_then(Value::as_array)
                .and_then(|nodes| {
                    nodes
                        .iter()
                        .find(|v| v.get("name").and_then(Value::as_str) == Some(n.name.as_str()))
                })
                .and_then(|v| v.get("managed"))
                .cloned();
            out.push((format!("nodes.{}.managed", n.name), spec));
        }
    }
    out
}

/// What differs in the settings a restart alone can apply, named with the fix.
fn needs_restart(old: &Config, new: &Config) -> Vec<String> {
    let (before, after) = (fixed(old), fixed(new));
    let mut keys: Vec<&String> = before.iter().chain(after.iter()).map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| {
            let get = |list: &[(String, Option<Value>)]| {
                list.iter().find(|(x, _)| x == *k).and_then(|(_, v)| v.clone())
            };
            get(&before) != get(&after)
        })
        .map(|k| {
            format!(
                "{k}: changed, and takes a restart of the daemon (`systemctl restart chainops`); undo it to reload the rest"
            )
        })
        .collect()
}

/// Top-level sections whose content differs.
fn changed_sections(old: &Config, new: &Config) -> Vec<String> {
    let (a, b) = (table(old), table(new));
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

fn outcome(file: &std::path::Path, config: &Config, changed: Vec<String>) -> ReloadOutcome {
    ReloadOutcome {
        file: file.display().to_string(),
        changed,
        nodes: config.nodes.len(),
        rules: chainops_alert::rules::effective_rules(&config.alerting).len(),
        notifiers: config.alerting.notifiers.len(),
    }
}

#[async_trait::async_trait]
impl ConfigReloader for Reloader {
    async fn reload(&self) -> Result<ReloadOutcome, Vec<String>> {
        let Some(file) = &self.file else {
            return Err(vec![
                "this daemon runs the built-in default (no config file); start it with --config FILE to reload one".into(),
            ]);
        };
        let mut running = self.running.lock().await;
        if running.generation.is_none() {
            return Err(vec!["the daemon is stopping".into()]);
        }
        let (new, mut problems) = self.read(file)?;
        problems.extend(needs_restart(&running.config, &new));
        // Secret files are read here; a file already named missing is not named twice.
        let prepared = if problems.is_empty() {
            match prepare(&new, &self.base.http) {
                Ok(p) => Some(p),
                Err(e) => {
                    problems.extend(problems_of(e));
                    None
                }
            }
        } else {
            None
        };
        // A new certificate pair is loaded (and so checked) before anything stops.
        let tls_files = new
            .server
            .tls
            .as_ref()
            .map(|t| (t.cert_file.clone(), t.key_file.clone()));
        if let (Some(_), Some((cert, key))) = (&self.base.tls, &tls_files)
            && let Err(e) = chainops_server::tls::load(cert, key).await
        {
            problems.push(format!("server.tls: {e}"));
        }
        let Some(prepared) = prepared.filter(|_| problems.is_empty()) else {
            tracing::warn!(file = %file.display(), problems = problems.len(), "config not reloaded; the running configuration stays");
            return Err(problems);
        };
        let changed = changed_sections(&running.config, &new);
        if let Some(g) = running.generation.take() {
            g.stop().await;
        }
        if let (Some(rustls), Some((cert, key))) = (&self.base.tls, &tls_files)
            && let Err(e) = rustls.reload_from_pem_file(cert, key).await
        {
            // Loaded a moment ago; if it fails now the old pair keeps serving.
            tracing::warn!(error = %e, "the new TLS pair could not be put in force");
        }
        match start_generation(&new, &self.base, prepared).await {
            Ok((live, generation)) => {
                chainops_server::replace_live(&self.live, live);
                running.generation = Some(generation);
                running.config = new;
                let o = outcome(file, &running.config, changed);
                tracing::info!(file = %file.display(), changed = ?o.changed, nodes = o.nodes, "config reloaded");
                Ok(o)
            }
            Err(e) => {
                let mut problems = problems_of(e);
                tracing::error!(problems = ?problems, "the new config failed to start; starting the previous one again");
                let old = &running.config;
                let restarted = match prepare(old, &self.base.http) {
                    Ok(p) => start_generation(old, &self.base, p).await,
                    Err(e) => Err(e),
                };
                match restarted {
                    Ok((live, generation)) => {
                        chainops_server::replace_live(&self.live, live);
                        running.generation = Some(generation);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "the previous configuration failed to start too; monitoring is stopped until a reload succeeds");
                        problems.push(format!(
                            "the previous configuration failed to start again too ({e:#}); monitoring is stopped until a reload succeeds or the daemon restarts"
                        ));
                        // Keep an (empty) generation so a later reload can proceed.
                        running.generation = Some(Generation::empty());
                    }
                }
                Err(problems)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "data_dir = \"/tmp/x\"\n[server]\nlisten = \"127.0.0.1:8080\"\n[[nodes]]\nname = \"a\"\nchain = \"devnet\"\nkind = \"evm\"\nrpc_url = \"http://127.0.0.1:8545\"\n{extra}"
        );
        Config::from_toml_str(&text, &|_: &str| None).expect("config")
    }

    #[test]
    fn restart_only_settings_are_named_and_the_rest_is_reloadable() {
        let a = config("");
        assert!(needs_restart(&a, &config("")).is_empty());
        assert!(changed_sections(&a, &config("")).is_empty());
        let b = config(
            "[[nodes]]\nname = \"b\"\nchain = \"devnet\"\nkind = \"evm\"\nrpc_url = \"http://127.0.0.1:8546\"\n",
        );
        assert!(needs_restart(&a, &b).is_empty(), "a node is reloadable");
        assert_eq!(changed_sections(&a, &b), ["nodes"]);
        let moved = Config::from_toml_str(
            &config("")
                .to_redacted_toml()
                .replace("127.0.0.1:8080", "127.0.0.1:9090"),
            &|_: &str| None,
        )
        .expect("config");
        let why = needs_restart(&a, &moved);
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(why[0].starts_with("server.listen: changed") && why[0].contains("restart"));
        let external = Config::from_toml_str(
            &config("").to_redacted_toml().replace(
                "[server]",
                "[server]\nexternal_url = \"https://ops.example.com\"",
            ),
            &|_: &str| None,
        )
        .expect("config");
        assert!(
            needs_restart(&a, &external).is_empty(),
            "external_url only changes links"
        );
        let sla = config("[[support.sla]]\npriority = \"P1\"\nfirst_response = \"5m\"\n");
        assert!(
            needs_restart(&a, &sla).is_empty(),
            "SLA policies are reloadable"
        );
        assert_eq!(changed_sections(&a, &sla), ["support"]);
        let key = config("[support]\nkey_file = \"/elsewhere/support.key\"\n");
        let why = needs_restart(&a, &key);
        assert!(
            why.len() == 1 && why[0].starts_with("support.key_file: changed"),
            "{why:?}"
        );
    }
}
