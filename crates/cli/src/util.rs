//! Small helpers several jobs share: secret files, free ports, one-off JSON-RPC calls.

use crate::exit::KindError;
use anyhow::Context;
use chainops_chain::rpc::JsonRpcClient;
use chainops_core::ErrorKind;
use chainops_core::ports::RpcLog;
use chainops_core::secret::Secret;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// The first line of a file holding a secret (`what` names it in errors); an empty one is
/// refused.
pub fn first_line(path: &Path, what: &str) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().to_string();
    anyhow::ensure!(
        !line.is_empty(),
        "the {what} file {} is empty",
        path.display()
    );
    Ok(line)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind(("127.0.0.1", 0))?
        .local_addr()?
        .port())
}

/// A JSON-RPC client for `url` on the shared HTTP client.
pub fn rpc_client(
    url: &str,
    user: Option<(String, Secret)>,
    timeout: Duration,
) -> anyhow::Result<JsonRpcClient> {
    let http = chainops_chain::http_client().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(JsonRpcClient::new(http, url.to_string(), user, timeout))
}

/// One call; failures are `Unavailable` (exit 6) and name the method.
pub async fn rpc_call(
    rpc: &JsonRpcClient,
    method: &'static str,
    params: Value,
) -> anyhow::Result<Value> {
    let mut log = RpcLog::default();
    rpc.call(method, params, &mut log)
        .await
        .map_err(|e| KindError(ErrorKind::Unavailable, format!("{method}: {e}")).into())
}

/// Creates the data directory owner-only (0700; it holds password hashes, the audit key and
/// node logs), or tightens an existing one of ours that group or others can read.
pub fn data_dir(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("cannot create data_dir {}", path.display()))?;
    let m = std::fs::metadata(path)
        .with_context(|| format!("cannot read data_dir {}", path.display()))?;
    if m.mode() & 0o077 != 0 && m.uid() == nix::unistd::geteuid().as_raw() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot make data_dir {} owner-only", path.display()))?;
        tracing::info!(dir = %path.display(), "data_dir made owner-only (0700)");
    }
    Ok(())
}
