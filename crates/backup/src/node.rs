//! Node-aware backups (backup capture and restore drills through the node's chain family): record the head at capture, take anvil's own dump, run hooks; and
//! restore drills that boot the node on a restored snapshot and compare its head.

use crate::tree::{CaptureMode, NodeState};
use crate::{BackupError, Result};
use chainops_chain::family::{DrillBoot, Family, find_program};
use chainops_chain::rpc::JsonRpcClient;
use chainops_chain::{family, kind_names};
use chainops_core::ErrorKind;
use chainops_core::node::NodeKind;
use chainops_core::ports::{ChainAdapter, RpcLog};
use chainops_core::secret::Secret;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn invalid(m: impl Into<String>) -> BackupError {
    BackupError::Input(m.into())
}

fn node_err(kind: ErrorKind, m: impl Into<String>) -> BackupError {
    BackupError::Node(kind, m.into())
}

/// A JSON-RPC client for a node at `url` (60 s per call).
pub fn client(url: &str, user: Option<(String, Secret)>) -> Result<JsonRpcClient> {
    let http = chainops_chain::http_client()
        .map_err(|e| node_err(ErrorKind::Internal, format!("no HTTP client: {e}")))?;
    Ok(JsonRpcClient::new(
        http,
        url.to_string(),
        user,
        Duration::from_secs(60),
    ))
}

/// One call; failures are `Unavailable` and name the method.
async fn call(rpc: &JsonRpcClient, method: &'static str, params: Value) -> Result<Value> {
    let mut log = RpcLog::default();
    rpc.call(method, params, &mut log)
        .await
        .map_err(|e| node_err(ErrorKind::Unavailable, format!("{method}: {e}")))
}

/// A free TCP port on 127.0.0.1.
fn free_port() -> Result<u16> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| node_err(ErrorKind::Unavailable, format!("no free port: {e}")))
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| node_err(ErrorKind::Internal, format!("cannot start a runtime: {e}")))
}

/// Head (height, hash) and network of a node, through its family's adapter.
async fn head(node: &dyn ChainAdapter) -> Result<(u64, String, String)> {
    let mut log = Vec::new();
    let snap = node
        .poll(&mut log)
        .await
        .map_err(|e| node_err(e.kind(), format!("asking the node for its head: {e}")))?;
    let head = snap
        .head
        .ok_or_else(|| node_err(ErrorKind::Upstream, "the node reported no head block"))?;
    let network = snap.chain_id.unwrap_or_else(|| "unknown".into());
    Ok((head.number, head.hash, network))
}

/// The family named by `--node-kind` (or a snapshot's record).
pub fn family_named(kind: &str) -> Result<&'static Family> {
    chainops_chain::parse_kind(kind)
        .map(family)
        .ok_or_else(|| invalid(format!("--node-kind {kind}: use {}", kind_names())))
}

fn run_hook(name: &str, cmd: &str) -> Result<()> {
    let status = std::process::Command::new("sh")
        .args(["-c", cmd])
        .status()
        .map_err(|e| {
            node_err(
                ErrorKind::Upstream,
                format!("cannot run the {name} hook: {e}"),
            )
        })?;
    if !status.success() {
        return Err(node_err(
            ErrorKind::Upstream,
            format!("the {name} hook `{cmd}` failed ({status}); nothing was backed up"),
        ));
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

/// What to capture of a node: typed options that `backup create`'s flags and the daemon's
/// `[[backups]]` jobs both become (no command-line struct outside the CLI parser).
#[derive(Debug, Clone)]
pub struct NodeCapture {
    /// The node's family.
    pub kind: NodeKind,
    /// Chain name recorded (default: the network the node reports).
    pub chain: Option<String>,
    /// Node name recorded.
    pub node_name: Option<String>,
    /// Command run (sh -c) before copying.
    pub pre_hook: Option<String>,
    /// Command run after copying (also when the copy failed).
    pub post_hook: Option<String>,
}

/// Prepares a capture: records the head; dumps the node's state; runs the pre-hook. The
/// caller decides the mode and builds the node's RPC client, if any (the daemon from
/// `[[nodes]]`, credentials included; `backup create` from its flags).
pub fn prepare_with(
    o: &NodeCapture,
    mode: CaptureMode,
    sources: Vec<PathBuf>,
    rpc: Option<JsonRpcClient>,
) -> Result<Capture> {
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
    let fam = family(o.kind);
    let node = (fam.adapter)(rpc.clone());
    let rt = runtime()?;
    let state = |(height, hash, network): (u64, String, String)| NodeState {
        chain: o.chain.clone().unwrap_or_else(|| network.clone()),
        node: o.node_name.clone().unwrap_or_else(|| "node".into()),
        height,
        hash,
        network: Some(network),
        kind: Some(o.kind.as_str().to_string()),
    };
    match mode {
        CaptureMode::Dump => rt.block_on(async {
            // Head before and after the dump must agree, or the dump raced a new block.
            let (method, file) = fam
                .dump
                .ok_or_else(|| invalid("this node family has no state dump"))?;
            for _ in 0..10 {
                let before = head(node.as_ref()).await?;
                let dump = call(&rpc, method, json!([])).await?;
                let after = head(node.as_ref()).await?;
                if before.0 != after.0 {
                    continue;
                }
                let bad = |what: &str| node_err(ErrorKind::Upstream, format!("{method}: {what}"));
                let hex = dump.as_str().ok_or_else(|| bad("not a hex string"))?;
                let gz = chainops_core::hex::decode(hex.trim_start_matches("0x"))
                    .ok_or_else(|| bad("bad hex"))?;
                let mut dumped = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut dumped)
                    .map_err(|_| bad("not gzip"))?;
                let dir =
                    std::env::temp_dir().join(format!("chainops-dump-{}", std::process::id()));
                let src = dir.join(o.node_name.clone().unwrap_or_else(|| "node".into()));
                std::fs::create_dir_all(&src).map_err(|e| BackupError::io(&src, e))?;
                let out = src.join(file);
                std::fs::write(&out, &dumped).map_err(|e| BackupError::io(&out, e))?;
                return Ok(Capture {
                    sources: vec![src],
                    mode: CaptureMode::Dump,
                    node: Some(state(before)),
                    scratch: Some(dir),
                    post_hook: o.post_hook.clone(),
                });
            }
            Err(node_err(
                ErrorKind::Unavailable,
                "the node kept producing blocks during every dump attempt",
            ))
        }),
        _ => {
            let h = rt.block_on(head(node.as_ref()))?;
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
    pub fn finish(&self) -> Result<()> {
        if let Some(d) = &self.scratch {
            let _ = std::fs::remove_dir_all(d);
        }
        if let Some(cmd) = &self.post_hook {
            run_hook("post", cmd)?;
        }
        Ok(())
    }
}

/// The restored file or directory the node starts from.
fn node_input(root: &Path, boot: &DrillBoot) -> Result<PathBuf> {
    let top = std::fs::read_dir(root)
        .map_err(|e| BackupError::io(root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .next()
        .ok_or_else(|| invalid("the snapshot restored nothing"))?;
    (boot.input)(&top).map_err(invalid)
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
    r: &crate::repo::Repository,
    snapshot: &str,
    node_bin: Option<PathBuf>,
    node_args: &[String],
    timeout: Duration,
    keep: bool,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<(String, DrillResult)> {
    let (id, snap) = r.snapshot(snapshot)?;
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
    let restored = crate::restore::restore(r, &id, &dir, &[], progress);
    let result =
        restored.and_then(|_| boot_and_compare(&id, &state, &dir, node_bin, node_args, timeout));
    if !keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let result = result?;
    let record = serde_json::to_value(&result)
        .map_err(|e| node_err(ErrorKind::Internal, format!("drill record: {e}")))?;
    r.save_drill(&record)?;
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
) -> Result<DrillResult> {
    // Snapshots from before the kind was recorded are EVM (the only family then).
    let fam = family_named(
        state
            .kind
            .as_deref()
            .unwrap_or(chainops_chain::evm::KIND.as_str()),
    )?;
    let boot = fam.drill.as_ref().ok_or_else(|| {
        invalid(format!(
            "{} nodes cannot be booted for a drill yet",
            fam.kind.as_str()
        ))
    })?;
    let input = node_input(root, boot)?;
    let port = free_port()?;
    let bin = node_bin
        .or_else(|| find_program(boot.programs, boot.local))
        .ok_or_else(|| {
            node_err(ErrorKind::NotFound, format!(
                "{} not found on PATH or in ./.tools: pass --node-bin (daemon: drill_command in [[backups]])",
                boot.programs.join("/")
            ))
        })?;
    let mut cmd = std::process::Command::new(bin);
    cmd.args((boot.args)(
        &input,
        port,
        free_port()?,
        state.network.as_deref(),
    ));
    cmd.args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| {
        node_err(
            ErrorKind::Unavailable,
            format!("cannot start the node: {e}"),
        )
    })?;
    let url = format!("http://127.0.0.1:{port}");
    let auth = boot.auth.map(|(u, p)| (u.to_string(), Secret::new(p)));
    let node = (fam.adapter)(client(&url, auth)?);
    let rt = runtime()?;
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
    let outcome: std::result::Result<(), String> = rt.block_on(async {
        let mut last_err = String::from("no answer");
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("the node exited ({status}) before answering"));
            }
            // The head first: a node short of the recorded height has no hash to compare.
            let mut log = Vec::new();
            let answer = match node.poll(&mut log).await {
                Ok(snap) => match snap.head.map(|h| h.number) {
                    Some(h) if h >= state.height => node
                        .block_at(state.height, &mut log)
                        .await
                        .map(|b| (Some(h), Some(b.hash))),
                    h => Ok((h, None)),
                },
                Err(e) => Err(e),
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
        Err(format!(
            "the node did not answer within {}s: {last_err}",
            timeout.as_secs()
        ))
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
        Err(e) => result.error = Some(e),
    }
    Ok(result)
}
