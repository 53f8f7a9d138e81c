//! A validated node entry and how chainops reaches it: the node identity every section
//! refers to (backups name a node, logs follow a node's file). `config` validates
//! `[[nodes]]` into these.

use crate::node::NodeKind;
use crate::secret::Secret;
use crate::section::{ser_duration, ser_url};
use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A validated node entry.
#[derive(Debug, Clone, Serialize)]
pub struct NodeConfig {
    /// Unique name.
    pub name: String,
    /// Chain name.
    pub chain: String,
    /// Chain family.
    pub kind: NodeKind,
    /// RPC endpoint; credentials redacted when shown.
    #[serde(serialize_with = "ser_url")]
    pub rpc_url: String,
    /// Expected block time.
    #[serde(serialize_with = "ser_duration")]
    pub block_time: Duration,
    /// Head age after which the node is `stalled`.
    #[serde(serialize_with = "ser_duration")]
    pub stall_after: Duration,
    /// Blocks behind the chain's best node before `lagging`.
    pub lag_blocks: u64,
    /// Expected chain id / network, normalized to a string.
    pub chain_id: Option<String>,
    /// RPC authentication.
    pub rpc_auth: Option<RpcAuth>,
    /// Poll interval.
    #[serde(serialize_with = "ser_duration")]
    pub poll_interval: Duration,
    /// Poll timeout.
    #[serde(serialize_with = "ser_duration")]
    pub timeout: Duration,
    /// Present when chainops starts and supervises this node.
    pub managed: Option<ManagedNode>,
    /// The node's data directory on this machine, if local.
    pub data_dir: Option<PathBuf>,
    /// Extra CA bundle for the node's HTTPS endpoint.
    pub ca_file: Option<PathBuf>,
}

/// How to authenticate to a node's RPC.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RpcAuth {
    /// HTTP basic auth.
    Basic {
        /// User name.
        user: String,
        /// Password, inline or from a file.
        password: SecretSource,
    },
    /// Bitcoin Core cookie file (`user:password` in one line).
    Cookie(PathBuf),
}

/// Where a secret comes from. Inline secrets never serialize.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// Written in the config (redacted when shown).
    Inline(#[serde(serialize_with = "ser_secret")] Secret),
    /// Read from this file at start.
    File(PathBuf),
}

/// A node chainops starts and supervises.
#[derive(Debug, Clone, Serialize)]
pub struct ManagedNode {
    /// Program to run.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: BTreeMap<String, String>,
}

fn ser_secret<S: Serializer>(_: &Secret, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str("[REDACTED]")
}

/// Reads a secret from its source (the one I/O helper here, used at build time).
pub fn read_secret(source: &SecretSource) -> std::io::Result<Secret> {
    match source {
        SecretSource::Inline(s) => Ok(s.clone()),
        SecretSource::File(p) => read_secret_file(p),
    }
}

/// Most bytes read from a secret file: a password, key or cookie is far smaller, and a
/// `/dev/zero` or a log file given by mistake must not be read until memory runs out.
pub const MAX_SECRET_FILE: u64 = 64 * 1024;

fn read_secret_file(path: &Path) -> std::io::Result<Secret> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_SECRET_FILE {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is larger than {} KiB; a secret file holds one secret",
                path.display(),
                MAX_SECRET_FILE / 1024
            ),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} is not UTF-8 text", path.display()),
        )
    })?;
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

/// A [`SecretSource`] as `config show` prints it back into a table: inline under `key`
/// (its serialization is already redacted) or a file under `file_key`.
pub fn secret_file_shape(
    t: &mut toml::Table,
    secret: Option<&toml::Value>,
    key: &str,
    file_key: &str,
) {
    let Some(toml::Value::Table(s)) = secret else {
        return;
    };
    if let Some(v) = s.get("inline") {
        t.insert(key.into(), v.clone());
    }
    if let Some(v) = s.get("file") {
        t.insert(file_key.into(), v.clone());
    }
}

/// Rewrites a serialized [`NodeConfig`] into the keys `[[nodes]]` takes: `rpc_auth` becomes
/// `rpc_user`/`rpc_password(_file)`/`rpc_cookie_file`, `managed` becomes `managed = true`
/// with `command`/`args`/`env` (for `config show`, whose output must paste back).
pub fn node_file_shape(n: &mut toml::Table) {
    use toml::Value;
    if let Some(Value::Table(auth)) = n.remove("rpc_auth") {
        if let Some(Value::Table(basic)) = auth.get("basic") {
            if let Some(u) = basic.get("user") {
                n.insert("rpc_user".into(), u.clone());
            }
            secret_file_shape(
                n,
                basic.get("password"),
                "rpc_password",
                "rpc_password_file",
            );
        }
        if let Some(c) = auth.get("cookie") {
            n.insert("rpc_cookie_file".into(), c.clone());
        }
    }
    if let Some(Value::Table(m)) = n.remove("managed") {
        n.insert("managed".into(), Value::Boolean(true));
        n.extend(m);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_files_are_read_up_to_a_small_cap() {
        let e = read_secret(&SecretSource::File(PathBuf::from("/dev/zero")))
            .expect_err("an endless file is refused");
        assert!(e.to_string().contains("larger than 64 KiB"), "{e}");
        let dir = std::env::temp_dir().join(format!("chainops-secret-{}", std::process::id()));
        std::fs::write(&dir, "hunter2\n").expect("write");
        let s = read_secret(&SecretSource::File(dir.clone())).expect("read");
        assert_eq!(s.expose(), "hunter2");
        let _ = std::fs::remove_file(dir);
    }
}
