//! Node-aware backups: record the head at capture, take anvil's own dump, run hooks; and
//! restore drills that boot the node on a restored snapshot and compare its head.

use crate::cli::NodeCaptureOpts;
use crate::exit::KindError;
use crate::util::rpc_call as call;
use anyhow::Context;
use chainops_backup::tree::{CaptureMode, NodeState};
use chainops_chain::family::{DrillBoot, Family, find_program};
use chainops_chain::rpc::JsonRpcClient;
use chainops_chain::{family, kind_names};
use chainops_core::ErrorKind;
use chainops_core::node::NodeKind;
use chainops_core::ports::ChainAdapter;
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

/// Head (height, hash) and network of a node, through its family's adapter.
async fn head(node: &dyn ChainAdapter) -> anyhow::Result<(u64, String, String)> {
    let mut log = Vec::new();
    let snap = node
        .poll(&mut log)
        .await
        .map_err(|e| KindError(e.kind(), format!("asking the node for its head: {e}")))?;
    let head = snap.head.context("the node reported no head block")?;
    let network = snap.chain_id.unwrap_or_else(|| "unknown".into());
    Ok((head.number, head.hash, network))
}

/// The family named by `--node-kind` (or a snapshot's record).
fn family_named(kind: &str) -> anyhow::Result<&'static Family> {
    chainops_chain::parse_kind(kind)
        .map(family)
        .ok_or_else(|| invalid(format!("--node-kind {kind}: use {}", kind_names())))
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

/// Prepares a capture from `backup create` flags: records the head; dumps the node's state;
/// runs the pre-hook.
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
    let fam = family_named(&o.node_kind)?;
    let what = NodeCapture {
        kind: fam.kind,
        chain: o.chain.clone(),
        node_name: o.node_name.clone(),
        pre_hook: o.pre_hook.clone(),
        post_hook: o.post_hook.clone(),
    };
    if mode == CaptureMode::Hook && o.pre_hook.is_none() {
        return Err(invalid(
            "--capture hook needs --pre-hook (e.g. a command that stops the node)",
        ));
    }
    if mode != CaptureMode::Dump && sources.is_empty() {
        return Err(invalid("create needs at least one SOURCE directory"));
    }
    if mode == CaptureMode::Dump && (fam.dump.is_none() || o.node_rpc.is_none()) {
        return Err(invalid(
            "--capture dump needs --node-rpc of a node that dumps its state (anvil: anvil_dumpState)",
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
    prepare_with(&what, mode, sources, rpc)
}

/// [`prepare`] with the mode decided and the node's RPC client (if any) built by the caller
/// (the daemon builds it from `[[nodes]]`, credentials included).
pub fn prepare_with(
    o: &NodeCapture,
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
    let fam = family(o.kind);
    let node = (fam.adapter)(rpc.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
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
            let (method, file) = fam.dump.context("this node family has no state dump")?;
            for _ in 0..10 {
                let before = head(node.as_ref()).await?;
                let dump = call(&rpc, method, json!([])).await?;
                let after = head(node.as_ref()).await?;
                if before.0 != after.0 {
                    continue;
                }
                let hex = dump
                    .as_str()
                    .with_context(|| format!("{method}: not a hex string"))?;
                let gz = chainops_core::hex::decode(hex.trim_start_matches("0x"))
                    .with_context(|| format!("{method}: bad hex"))?;
                let mut dumped = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut dumped)
                    .with_context(|| format!("{method}: not gzip"))?;
                let dir =
                    std::env::temp_dir().join(format!("chainops-dump-{}", std::process::id()));
                let src = dir.join(o.node_name.clone().unwrap_or_else(|| "node".into()));
                std::fs::create_dir_all(&src)?;
                std::fs::write(src.join(file), &dumped)?;
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

/// The restored file or directory the node starts from.
fn node_input(root: &Path, boot: &DrillBoot) -> anyhow::Result<PathBuf> {
    let top = std::fs::read_dir(root)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .next()
        .context("the snapshot restored nothing")?;
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
    // Snapshots from before the kind was recorded are EVM (the only family then).
    let fam = family_named(
        state
            .kind
            .as_deref()
            .unwrap_or(chainops_chain::evm::KIND.as_str()),
    )?;
    let boot = fam.drill.as_ref().with_context(|| {
        format!(
            "{} nodes cannot be booted for a drill yet",
            fam.kind.as_str()
        )
    })?;
    let input = node_input(root, boot)?;
    let port = crate::util::free_port()?;
    let bin = node_bin
        .or_else(|| find_program(boot.programs, boot.local))
        .with_context(|| {
            format!(
                "{} not found on PATH or in ./.tools: pass --node-bin (daemon: drill_command in [[backups]])",
                boot.programs.join("/")
            )
        })?;
    let mut cmd = std::process::Command::new(bin);
    cmd.args((boot.args)(
        &input,
        port,
        crate::util::free_port()?,
        state.network.as_deref(),
    ));
    cmd.args(extra)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let started = Instant::now();
    let mut child = cmd.spawn().context("cannot start the node")?;
    let url = format!("http://127.0.0.1:{port}");
    let auth = boot.auth.map(|(u, p)| (u.to_string(), Secret::new(p)));
    let node = (fam.adapter)(client(&url, auth)?);
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
