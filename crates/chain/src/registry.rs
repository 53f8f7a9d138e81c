//! Builds the adapter for a configured node through its family ([`crate::family`]).

use crate::rpc::JsonRpcClient;
use chainops_core::node_config::{NodeConfig, RpcAuth, read_secret};
use chainops_core::ports::ChainAdapter;
use chainops_core::secret::Secret;
use std::sync::Arc;

/// Why an adapter could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// A password or cookie file could not be read.
    #[error("node {node}: cannot read {what} {path}: {source}")]
    SecretFile {
        /// Node name.
        node: String,
        /// Which file.
        what: &'static str,
        /// Its path.
        path: String,
        /// OS error.
        source: std::io::Error,
    },
    /// The cookie file is not `user:password`.
    #[error("node {node}: cookie file {path} is not in user:password form")]
    BadCookie {
        /// Node name.
        node: String,
        /// Its path.
        path: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build HTTP client: {0}")]
    Http(String),
    /// The node's CA bundle could not be read or parsed.
    #[error("node {node}: ca_file {path}: {detail} (a PEM bundle of CA certificates is expected)")]
    CaFile {
        /// Node name.
        node: String,
        /// Its path.
        path: String,
        /// What went wrong.
        detail: String,
    },
}

/// A client trusting `ca_file` in addition to the system roots (verification stays on).
fn client_with_ca(
    node: &NodeConfig,
    ca_file: &std::path::Path,
) -> Result<reqwest::Client, BuildError> {
    let err = |detail: String| BuildError::CaFile {
        node: node.name.clone(),
        path: ca_file.display().to_string(),
        detail,
    };
    let pem = std::fs::read(ca_file).map_err(|e| err(e.to_string()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no certificate found".into()));
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .tls_certs_merge(certs)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| BuildError::Http(e.to_string()))
}

/// The shared HTTP client (connection pooling, rustls with the ring provider, platform
/// certificate verification).
pub fn http_client() -> Result<reqwest::Client, BuildError> {
    // Ignore "already installed": any installed provider is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(90))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| BuildError::Http(e.to_string()))
}

/// Builds the adapter for `node`, reading its secret files now.
pub fn adapter_for(
    node: &NodeConfig,
    http: &reqwest::Client,
) -> Result<Arc<dyn ChainAdapter>, BuildError> {
    let rpc = rpc_client_for(node, http)?;
    Ok((crate::family(node.kind).adapter)(rpc))
}

/// The JSON-RPC client for `node` (credentials and CA file applied), reading secrets now.
pub fn rpc_client_for(
    node: &NodeConfig,
    http: &reqwest::Client,
) -> Result<JsonRpcClient, BuildError> {
    let auth = match &node.rpc_auth {
        None => None,
        Some(RpcAuth::Basic { user, password }) => {
            let pw = read_secret(password).map_err(|e| BuildError::SecretFile {
                node: node.name.clone(),
                what: "rpc_password_file",
                path: format!("{password:?}"),
                source: e,
            })?;
            Some((user.clone(), pw))
        }
        Some(RpcAuth::Cookie(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| BuildError::SecretFile {
                node: node.name.clone(),
                what: "rpc_cookie_file",
                path: path.display().to_string(),
                source: e,
            })?;
            let (user, pw) = text
                .trim()
                .split_once(':')
                .ok_or_else(|| BuildError::BadCookie {
                    node: node.name.clone(),
                    path: path.display().to_string(),
                })?;
            Some((user.to_string(), Secret::new(pw)))
        }
    };
    let client = match &node.ca_file {
        Some(ca) => client_with_ca(node, ca)?,
        None => http.clone(),
    };
    Ok(JsonRpcClient::new(
        client,
        node.rpc_url.clone(),
        auth,
        node.timeout,
    ))
}
