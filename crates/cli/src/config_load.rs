//! Loading the config (file or defaults, env overrides), the default managed anvil, and the
//! `config check` / `config show` commands.

use crate::cli::{GlobalOpts, JsonOpt};
use crate::exit::KindError;
use anyhow::Context;
use chainops_chain::config::RawNode;
use chainops_config::{Config, ConfigErrors, RawConfig, TomlValue};
use chainops_core::ErrorKind;
use std::path::{Path, PathBuf};

/// Name of the node `serve` manages when nothing is configured.
pub const DEFAULT_NODE_NAME: &str = "anvil-local";

/// Environment lookup for the config; `CHAINOPS_MASTER_KEY` falls back to the contents of
/// the file named by `CHAINOPS_MASTER_KEY_FILE` (sealed `enc:v1:` values need it).
fn env(key: &str) -> Option<String> {
    if key == chainops_core::sealed::KEY_VAR && std::env::var(key).is_err() {
        let path = std::env::var("CHAINOPS_MASTER_KEY_FILE").ok()?;
        return std::fs::read_to_string(path).ok();
    }
    std::env::var(key).ok()
}

/// The master key from `--key-file`, `CHAINOPS_MASTER_KEY_FILE` or `CHAINOPS_MASTER_KEY`.
pub fn master_key(key_file: Option<&Path>) -> anyhow::Result<[u8; 32]> {
    let text = match key_file {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("cannot read the master key file {}", p.display()))?,
        None => env(chainops_core::sealed::KEY_VAR).ok_or_else(|| {
            KindError(
                ErrorKind::InvalidInput,
                "no master key: pass --key-file or set CHAINOPS_MASTER_KEY_FILE (create one with `chainops secret keygen`)".into(),
            )
        })?,
    };
    chainops_core::sealed::parse_key(&text)
        .map_err(|m| KindError(ErrorKind::InvalidInput, m).into())
}

/// Where a config is looked for when neither `--config` nor `CHAINOPS_CONFIG` names one, in
/// order: the working directory, then the system-wide file.
pub const SEARCH_PATH: &[&str] = &["./chainops.toml", "/etc/chainops/chainops.toml"];

/// The config file every command uses, found the same way as the daemon finds it:
/// `--config`, `CHAINOPS_CONFIG`, then the first of [`SEARCH_PATH`] that exists; `None`
/// means the built-in defaults.
pub fn config_path(g: &GlobalOpts) -> Option<PathBuf> {
    g.config
        .clone()
        .or_else(|| SEARCH_PATH.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// How `config check`, errors and logs name where the config came from.
pub fn config_source(g: &GlobalOpts) -> String {
    config_path(g).map_or_else(
        || {
            format!(
                "built-in defaults (no --config, no CHAINOPS_CONFIG, none of {})",
                SEARCH_PATH.join(", ")
            )
        },
        |p| p.display().to_string(),
    )
}

/// Opens the store the daemon created, for a job beside it. Never creates one: without it
/// the error names the store and the config it came from, and how to point at the right one.
pub async fn existing_store(
    g: &GlobalOpts,
    config: &Config,
) -> anyhow::Result<chainops_store::Store> {
    chainops_store::Store::open_existing(&config.store.url)
        .await
        .with_context(|| format!("the store of config {}", config_source(g)))
}

/// Loads and validates the config found by [`config_path`], or the defaults.
/// Redaction patterns are compiled here too, so a bad regex is a config problem, not a
/// start-up failure.
pub fn load(g: &GlobalOpts) -> anyhow::Result<Config> {
    match config_path(g) {
        Some(path) => load_path(&path),
        None => compiled(Config::defaults(&env)?),
    }
}

/// Loads and validates the config file at `path` (what a reload reads again).
pub fn load_path(path: &Path) -> anyhow::Result<Config> {
    compiled(load_file(path)?)
}

fn compiled(config: Config) -> anyhow::Result<Config> {
    if let Err(m) = chainops_logs::service::compile_patterns(&config.logs) {
        return Err(KindError(ErrorKind::InvalidInput, m).into());
    }
    Ok(config)
}

fn load_file(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::InvalidInput
        };
        KindError(
            kind,
            format!("cannot read config file {}: {e}", path.display()),
        )
    })?;
    Config::from_toml_str(&text, &env).with_context(|| format!("config file {}", path.display()))
}

/// The config `serve` runs with no file and no nodes: one managed anvil with 1 s blocks.
pub fn with_default_node(anvil: &Path, port: u16) -> Result<Config, ConfigErrors> {
    let raw = RawConfig {
        nodes: vec![RawNode {
            name: Some(DEFAULT_NODE_NAME.into()),
            chain: Some("devnet".into()),
            kind: Some("evm".into()),
            rpc_url: Some(format!("http://127.0.0.1:{port}")),
            block_time: Some("1s".into()),
            chain_id: Some(TomlValue::Integer(31337)),
            managed: Some(true),
            command: Some(anvil.display().to_string()),
            args: Some(vec![
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                port.to_string(),
                "--block-time".into(),
                "1".into(),
                "--chain-id".into(),
                "31337".into(),
            ]),
            ..RawNode::default()
        }],
        ..RawConfig::default()
    };
    Config::validate(raw, &env)
}

/// Finds an `anvil` binary: PATH first, then `.tools/` and `tools/` under the current dir.
pub fn find_anvil() -> Option<PathBuf> {
    find_tool(
        &["anvil"],
        &[
            ".tools/node_modules/.bin/anvil",
            ".tools/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil",
            ".tools/bin/anvil",
            "tools/anvil",
        ],
    )
}

/// The first of `names` on the PATH, else the first existing of `local` paths (relative
/// to the working directory), canonicalized.
pub fn find_tool(names: &[&str], local: &[&str]) -> Option<PathBuf> {
    chainops_chain::family::find_program(names, local)
}

/// [`load`] plus the check that every file the config names can be read (for `config check`;
/// `serve` warns instead, and other commands need not have the daemon's secret files).
pub fn load_checked(g: &GlobalOpts) -> anyhow::Result<Config> {
    let config = load(g)?;
    config.check_files()?;
    Ok(config)
}

/// `chainops config check`.
pub fn check(g: &GlobalOpts, o: &JsonOpt) -> anyhow::Result<()> {
    let source = config_source(g);
    match load_checked(g) {
        Ok(c) => {
            if o.json {
                println!(
                    "{}",
                    serde_json::json!({"ok": true, "source": source, "nodes": c.nodes.len(), "problems": []})
                );
            } else {
                println!(
                    "config OK ({source}): {} node(s), store {}",
                    c.nodes.len(),
                    chainops_core::secret::redact_url(&c.store.url)
                );
            }
            Ok(())
        }
        Err(e) => {
            if let (true, Some(errs)) = (o.json, e.downcast_ref::<ConfigErrors>()) {
                let problems: Vec<_> = errs
                    .0
                    .iter()
                    .map(|p| serde_json::json!({"path": p.path, "message": p.message}))
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"ok": false, "source": source, "problems": problems})
                );
            }
            Err(e)
        }
    }
}

/// `chainops config show`.
pub fn show(g: &GlobalOpts, o: &JsonOpt) -> anyhow::Result<()> {
    let c = load(g)?;
    if o.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
    } else {
        print!("{}", c.to_redacted_toml());
    }
    Ok(())
}
