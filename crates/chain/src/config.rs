//! `[[nodes]]`: the raw TOML mirror and its validation into [`NodeConfig`], with each
//! family's defaults (block time, lag, how `chain_id` is written) from the registry.

use crate::family::ChainIdForm;
use chainops_core::node_config::{ManagedNode, NodeConfig, RpcAuth, SecretSource};
use chainops_core::secret::{Secret, redact_url};
use chainops_core::section::{Problems, is_http_url};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

/// One `[[nodes]]` entry as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawNode {
    /// Unique node name.
    pub name: Option<String>,
    /// Chain the node belongs to (nodes of one chain are compared).
    pub chain: Option<String>,
    /// A chain family (`evm`, `bitcoin`; see `crate::FAMILIES`).
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

/// Validates every `[[nodes]]` entry; `default_poll`/`default_timeout` come from `[monitor]`.
/// Entries with a problem are reported and left out.
pub fn validate(
    raw: Vec<RawNode>,
    default_poll: Duration,
    default_timeout: Duration,
    p: &mut Problems,
) -> Vec<NodeConfig> {
    let mut names = HashSet::new();
    let mut nodes = Vec::with_capacity(raw.len());
    for (i, n) in raw.into_iter().enumerate() {
        if let Some(node) = validate_node(i, n, default_poll, default_timeout, &mut names, p) {
            nodes.push(node);
        }
    }
    nodes
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
                format!("is missing; set {}", crate::quoted_kind_names()),
            );
            None
        }
        Some(k) => crate::parse_kind(k).or_else(|| {
            p.add(
                at("kind"),
                format!(
                    "\"{k}\" is not a known kind; use {}",
                    crate::quoted_kind_names()
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
    let fam = crate::family(kind.unwrap_or(crate::evm::KIND));
    let block_time = p.duration(
        &at("block_time"),
        n.block_time.as_deref(),
        fam.block_time,
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
        None => fam.lag_blocks,
        Some(v) if v >= 1 => v as u64,
        Some(v) => {
            p.add(at("lag_blocks"), format!("{v} must be at least 1"));
            1
        }
    };
    let chain_id = match (n.chain_id, kind.is_some().then_some(fam.chain_id)) {
        (None, _) => None,
        (Some(toml::Value::Integer(v)), Some(ChainIdForm::Number) | None) if v >= 0 => {
            Some(v.to_string())
        }
        (Some(toml::Value::String(s)), Some(ChainIdForm::Number)) => match s.parse::<u64>() {
            Ok(v) => Some(v.to_string()),
            Err(_) => {
                p.add(
                    at("chain_id"),
                    format!("\"{s}\" is not a number; EVM chain ids are integers (e.g. 1, 31337)"),
                );
                None
            }
        },
        (Some(toml::Value::String(s)), Some(ChainIdForm::Name(names))) => {
            if names.contains(&s.as_str()) {
                Some(s)
            } else {
                p.add(
                    at("chain_id"),
                    format!(
                        "\"{s}\" is not a network name; use one of {}",
                        names.join(", ")
                    ),
                );
                None
            }
        }
        (Some(toml::Value::String(s)), None) => Some(s),
        (Some(other), Some(ChainIdForm::Name(names))) => {
            p.add(
                at("chain_id"),
                format!(
                    "{other} is not a network name; this family names its network: {}",
                    names.join(", ")
                ),
            );
            None
        }
        (Some(other), _) => {
            p.add(
                at("chain_id"),
                format!("{other} is not a chain id; EVM chain ids are integers (e.g. 1, 31337)"),
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
    if let (Some(why), Some(_)) = (fam.rpc_auth, &rpc_auth) {
        p.add(
            at("rpc_user"),
            format!("is not supported for {} nodes: {why}", fam.kind.as_str()),
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(toml_text: &str) -> Vec<String> {
        let raw: RawNode = toml::from_str(toml_text).expect("toml");
        let mut p = Problems::default();
        let d = Duration::from_secs(1);
        validate(vec![raw], d, d, &mut p);
        p.0.iter()
            .map(|c| format!("{}: {}", c.path, c.message))
            .collect()
    }

    #[test]
    fn monero_nodes_name_their_networks_and_refuse_basic_auth() {
        let base = "name = \"x\"\nchain = \"xmr\"\nkind = \"monero\"\nrpc_url = \"http://127.0.0.1:18081\"\n";
        assert!(problems(&format!("{base}chain_id = \"mainnet\"")).is_empty());
        let p = problems(&format!("{base}chain_id = \"regtest\""));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains("mainnet, testnet, stagenet, fakechain"),
            "{p:?}"
        );
        let p = problems(&format!("{base}rpc_user = \"u\"\nrpc_password = \"p\""));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("nodes[0].rpc_user: is not supported for monero nodes")
                && p[0].contains("digest"),
            "{p:?}"
        );
    }
}
