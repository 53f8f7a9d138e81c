//! Node-aware backups: record the head at capture, take anvil's own dump, run hooks; and
//! restore drills that boot the node on a restored snapshot and compare its head.

use crate::cli::NodeCaptureOpts;
use crate::exit::KindError;
use crate::util::rpc_call as call;
use anyhow::Context;
use chainops_backup::tree::{CaptureMode, NodeState};
use chainops_chain::rpc::JsonRpcClient;
use chainops_core::ErrorKind;
use chainops_core::secret::Secret;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn invalid(m: impl Into<String>) -> anyhow::Error {
    KindError(ErrorKind::InvalidInput, m.into()).into()
}

fn client(url: &str, user: Option<(String, Secret)>) -> anyhow::Result<JsonRpcClient> {
    crate::util::rpc_client(url, user, Duration::from_secs(60))
}

/// Head (height, hash) and network of a node.
async fn head(rpc: &JsonRpcClient, kind: &str) -> anyhow::Result<(u64, String, String)> {
    if kind == "bitcoin" {
        // One call: height and hash from the same moment.
        let info = call(rpc, "getblockchaininfo", json!([])).await?;
        let height = info["blocks"]
            .as_u64()
            .context("getblockchaininfo: no blocks")?;
        let hash = info["bestblockhash"]
            .as_str()
            .context("no bestblockhash")?
            .to_string();
        let network = info["chain"].as_str().unwrap_or("main").to_string();
        return Ok((height, hash, network));
    }
    let b = call(rpc, "eth_getBlockByNumber", json!(["latest", false])).await?;
    let height = b["number"]
        .as_str()
        .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
        .context("eth_getBlockByNumber: no number")?;
    let hash = b["hash"].as_str().context("no hash")?.to_string();
    let chain_id = call(rpc, "eth_chainId", json!([])).await?;
    let network = chain_id
        .as_str()
        .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok())
        .map_or_else(|| "unknown".to_string(), |id| id.to_string());
    Ok((height, hash, network))
}

fn run_hook(name: &str, cmd: &str) -> anyhow::Result<()> {
    let status = std::process::Command::new("sh")
        .args(["-c", cmd])
        .status()
        .with_context(|| format!("cannot run the {name} hook"))?;
    if !status.success() {
        return Err(KindError(
            ErrorKind::Upstream,
            format!("the {name} hook `{cmd}` failed ({status}); nothing was backed up"),
        )
        .into());
    }
    Ok(())
}

/// What `create` backs up and how, after the node was asked.
pub struct Capture {
    /// Sources to back up (a temporary directory for dumps).
    pub sources: Vec<PathBuf>,
    /// Mode recorded.
    pub mode: CaptureMode,
    /// Node state recorded.
    pub node: Option<NodeState>,
    /// Temporary directory to delete afterwards.
    pub scratch: Option<PathBuf>,
    /// Hook to run after the copy.
    pub post_hook: Option<String>,
}

/// Prepares a capture: records the head; dumps anvil; runs the pre-hook.
pub fn prepare(o: &NodeCaptureOpts, sources: Vec<PathBuf>) -> anyhow::Result<Capture> {
    let mode = match o.capture.as_str() {
        "live" => CaptureMode::Live,
        "dump" => CaptureMode::Dump,
        "hook" => CaptureMode::Hook,
        other => {
            return Err(invalid(format!(
                "--capture {other}: use live, dump or hook"
            )));
        }
    };
    if o.node_kind != "evm" && o.node_kind != "bitcoin" {
        return Err(invalid(format!(
            "--node-kind {}: use evm or bitcoin",
            o.node_kind
        )));
    }
    if mode == CaptureMode::Hook && o.pre_hook.is_none() {
        return Err(invalid(
            "--capture hook needs --pre-hook (e.g. a command that stops the node)",
        ));
    }
    if mode != CaptureMode::Dump && sources.is_empty() {
        return Err(invalid("create needs at least one SOURCE directory"));
    }
    if mode == CaptureMode::Dump && (o.node_kind != "evm" || o.node_rpc.is_none()) {
        return Err(invalid(
            "--capture dump needs --node-rpc of an anvil node (anvil_dumpState)",
        ));
    }
    let rpc = match &o.node_rpc {
        None => None,
        Some(url) => {
            let auth = o.rpc_user.clone().map(|u| {
                (
                    u,
                    Secret::new(std::env::var("CHAINOPS_BACKUP_RPC_PASSWORD").unwrap_or_default()),
                )
            });
            Some(client(url, auth)?)
        }
    };
    prepare_with(o, mode, sources, rpc)
}

/// [`prepare`] with the mode decided and the node's RPC client (if any) built by the caller
/// (the daemon builds it from `[[nodes]]`, credentials included).
pub fn prepare_with(
    o: &NodeCaptureOpts,
    mode: CaptureMode,
    sources: Vec<PathBuf>,
    rpc: Option<JsonRpcClient>,
) -> anyhow::Result<Capture> {
    let Some(rpc) = rpc else {
        if let Some(cmd) = &o.pre_hook {
            run_hook("pre", cmd)?;
        }
        return Ok(Capture {
            sources,
            mode,
            node: None,
            scratch: None,
            post_hook: o.post_hook.clone(),
        });
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let state = |(height, hash, network): (u64, String, String)| NodeState {
        chain: o.chain.clone().unwrap_or_else(|| network.clone()),
        node: o.node_name.clone().unwrap_or_else(|| "node".into()),
        height,
        hash,
        network: Some(network),
        kind: Some(o.node_kind.clone()),
    };
    match mode {
        CaptureMode::Dump => rt.block_on(async {
            // Head before and after the dump must agree, or the dump raced a new block.
            for _ in 0..10 {
                let before = head(&rpc, "evm").await?;
                let dump = call(&rpc, "anvil_dumpState", json!([])).await?;
                let after = head(&rpc, "evm").await?;
                if before.0 != after.0 {
                    continue;
                }
                let hex = dump.as_str().context("anvil_dumpState: not a hex string")?;
                let gz = chainops_core::hex::decode(hex.trim_start_matches("0x"))
                    .context("anvil_dumpState: bad hex")?;
                let mut dumped = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut dumped)
                    .context("anvil_dumpState: not gzip")?;
                let dir =
                    std::env::temp_dir().join(format!("chainops-dump-{}", std::process::id()));
                let src = dir.join(o.node_name.clone().unwrap_or_else(|| "anvil".into()));
                std::fs::create_dir_all(&src)?;
                std::fs::write(src.join("state.json"), &dumped)?;
                return Ok(Capture {
                    sources: vec![src],
                    mode: CaptureMode::Dump,
                    node: Some(state(before)),
                    scratch: Some(dir),
                    post_hook: o.post_hook.clone(),
                });
            }
            Err(KindError(
                ErrorKind::Unavailable,
                "the node kept producing blocks during every dump attempt".into(),
            )
            .into())
        }),
        _ => {
            let h = rt.block_on(head(&rpc, &o.node_kind))?;
            if let Some(cmd) = &o.pre_hook {
                run_hook("pre", cmd)?;
            }
            Ok(Capture {
                sources,
                mode,
                node: Some(state(h)),
                scratch: None,
                post_hook: o.post_hook.clone(),
            })
        }
    }
}

impl Capture {
    /// Runs the post-hook and removes the scratch directory.
    pub fn finish(&self) -> anyhow::Result<()> {
        if let Some(d) = &self.scratch {
            let _ = std::fs::remove_dir_all(d);
        }
        if let Some(cmd) = &self.post_hook {
            run_hook("post", cmd)?;
        }
        Ok(())
    }
}

/// Finds the restored file or directory the node starts from.
fn node_input(root: &Path, kind: &str) -> anyhow::Result<PathBuf> {
    let first = std::fs::read_dir(root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .next()
        .context("the snapshot restored nothing")?;
    if kind == "evm" {
        let f = first.join("state.json");
        anyhow::ensure!(
            f.is_file(),
            "no state.json in the snapshot: drills of EVM nodes need a --capture dump snapshot"
        );
        return Ok(f);
    }
    Ok(first)
}

/// The outcome of a drill.
#[derive(Debug, serde::Serialize)]
pub struct DrillResult {
    /// Snapshot id.
    pub snapshot: String,
    /// Head height and hash matched.
    pub ok: bool,
    /// Recorded height.
    pub height: u64,
    /// Recorded hash.
    pub expected_hash: String,
    /// Hash the booted node reports at that height.
    pub found_hash: Option<String>,
    /// Node head after boot.
    pub node_height: Option<u64>,
    /// Seconds from start to the answer.
    pub boot_seconds: f64,
    /// When (RFC 3339).
    pub time: String,
    /// What went wrong.
    pub error: Option<String>,
}

/// A restore drill: restores `snapshot` into a scratch directory, boots the node on it,
/// compares its head with the snapshot's record and saves the result in the repository.
/// Returns the full snapshot id and the result (a failed comparison is `Ok` with `ok: false`).
pub fn drill(
    r: &chainops_backup::repo::Repository,
    snapshot: &str,
    node_bin: Option<PathBuf>,
    node_args: &[String],
    timeout: Duration,
    keep: bool,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> anyhow::Result<(String, DrillResult)> {
    let (id, snap) = r.snapshot(snapshot).map_err(crate::exit::backup_err)?;
    let state = snap.node.clone().ok_or_else(|| {
        invalid(format!(
            "snapshot {} has no node state: take it with --node-rpc (and --capture dump for anvil)",
            &id[..12]
        ))
    })?;
    let dir = std::env::temp_dir().join(format!(
        "chainops-drill-{}-{}-{}",
        &id[..12],
        std::process::id(),
        rand::random::<u32>()
    ));
    let restored = chainops_backup::restore::restore(r, &id, &dir, &[], progress);
    let result = restored
        .map_err(crate::exit::backup_err)
        .and_then(|_| boot_and_compare(&id, &state, &dir, node_bin, node_args, timeout));
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let result = result?;
    r.save_drill(&serde_json::to_value(&result)?)
        .map_err(crate::exit::backup_err)?;
    Ok((id, result))
}

/// Boots `kind` on restored data in `root` and compares the head.
#[allow(clippy::too_many_arguments)]
pub fn boot_and_compare(
    snapshot: &str,
    state: &NodeState,
    root: &Path,
    node_bin: Option<PathBuf>,
    extra: &[String],
    timeout: Duration,
) -> anyhow::Result<DrillResult> {
    let kind = state.kind.clone().unwrap_or_else(|| "evm".into());
    let input = node_input(root, &kind)?;
    let port = crate::util::free_port()?;
    let mut cmd = if kind == "evm" {
        let bin = node_bin
            .or_else(crate::config_load::find_anvil)
            .context("anvil not found on PATH or in ./.tools: pass --node-bin (daemon: drill_command in [[backups]])")?;
        let mut c = std::process::Command::new(bin);
        c.args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--load-state",
        ])
        .arg(&input);
        c
    } else {
        let bin = node_bin
            .or_else(|| {
                crate::config_load::find_tool(
                    &["litecoind", "bitcoind"],
                    &[".tools/bin/litecoind", ".tools/bin/bitcoind"],
                )
            })
            .context("litecoind/bitcoind not found on PATH or in ./.tools: pass --node-bin (daemon: drill_command in [[backups]])")?;
        let mut c = std::process::Command::new(bin);
        c.arg(format!("-datadir={}", input.display()))
            .arg(format!("-rpcport={port}"))
            .arg(format!("-port={}", crate::util::free_port()?))
            .args([
                "-rpcuser=drill",
                "-rpcpassword=drill",
                "-listen=0",
                "-connect=0",
                "-dnsseed=0",
                "-printtoconsole=0",
                "-rpcbind=127.0.0.1",
                "-rpcallowip=127.0.0.1",
                "-listenonion=0",
                "-upnp=0",
            ]);
        match state.network.as_deref() {
            Some("regtest") => {
                c.arg("-regtest");
            }
            Some("test") => {
                c.arg("-testnet");
            }
            _ => {}
        }
        c
    };
    cmd.args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().context("cannot start the node")?;
    let url = format!("http://127.0.0.1:{port}");
    let auth = (kind == "bitcoin").then(|| ("drill".to_string(), Secret::new("drill")));
    let rpc = client(&url, auth)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut result = DrillResult {
        snapshot: snapshot.to_string(),
        ok: false,
        height: state.height,
        expected_hash: state.hash.clone(),
        found_hash: None,
        node_height: None,
        boot_seconds: 0.0,
        time: chainops_core::time::rfc3339(chainops_core::time::now_ms()),
        error: None,
    };
    let outcome: anyhow::Result<()> = rt.block_on(async {
        let mut last_err = String::from("no answer");
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = child.try_wait() {
                anyhow::bail!("the node exited ({status}) before answering");
            }
            let answer = if kind == "evm" {
                match (
                    call(&rpc, "eth_blockNumber", json!([])).await,
                    call(
                        &rpc,
                        "eth_getBlockByNumber",
                        json!([format!("0x{:x}", state.height), false]),
                    )
                    .await,
                ) {
                    (Ok(h), Ok(b)) => Ok((
                        h.as_str()
                            .and_then(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).ok()),
                        b["hash"].as_str().map(str::to_string),
                    )),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            } else {
                match (
                    call(&rpc, "getblockcount", json!([])).await,
                    call(&rpc, "getblockhash", json!([state.height])).await,
                ) {
                    (Ok(h), Ok(b)) => Ok((h.as_u64(), b.as_str().map(str::to_string))),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                }
            };
            match answer {
                Ok((h, hash)) => {
                    result.node_height = h;
                    result.found_hash = hash;
                    return Ok(());
                }
                Err(e) => last_err = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        anyhow::bail!(
            "the node did not answer within {}s: {last_err}",
            timeout.as_secs()
        )
    });
    result.boot_seconds = started.elapsed().as_secs_f64();
    let _ = child.kill();
    let _ = child.wait();
    match outcome {
        Ok(()) => {
            result.ok = result.found_hash.as_deref() == Some(state.hash.as_str())
                && result.node_height.is_some_and(|h| h >= state.height);
            if !result.ok {
                result.error = Some(format!(
                    "head mismatch: the snapshot recorded {} at {}, the node has {:?} there (head {:?})",
                    state.hash, state.height, result.found_hash, result.node_height
                ));
            }
        }
        Err(e) => result.error = Some(e.to_string()),
    }
    Ok(result)
}
