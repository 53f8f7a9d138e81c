//! `chainops backup …`: repository jobs (offline; the daemon is not involved).

use crate::cli::{BackupCommand, BackupKeyCommand, NodeCaptureOpts, RepoOpts};
use crate::exit::KindError;
use crate::output::print;
use chainops_backup::archive::{CreateOptions, create};
use chainops_backup::node::{self, Capture, NodeCapture};
use chainops_backup::repo::Repository;
use chainops_backup::tree::CaptureMode;
use chainops_backup::{check, diff, forget, lock, prune, restore};
use chainops_core::ErrorKind;
use chainops_core::secret::Secret;
use chainops_core::time::rfc3339;
use serde_json::json;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) use crate::exit::backup_err as err;

/// The password: --password-file, CHAINOPS_BACKUP_PASSWORD, or a prompt.
fn password(o: &RepoOpts, confirm: bool) -> anyhow::Result<String> {
    if let Some(p) = &o.password_file {
        return crate::util::first_line(p, "password");
    }
    if let Ok(p) = std::env::var("CHAINOPS_BACKUP_PASSWORD") {
        return Ok(p);
    }
    ask(
        "Repository password: ",
        confirm,
        "CHAINOPS_BACKUP_PASSWORD or --password-file",
    )
}

fn new_password(file: &Option<std::path::PathBuf>) -> anyhow::Result<String> {
    if let Some(p) = file {
        return crate::util::first_line(p, "password");
    }
    if let Ok(p) = std::env::var("CHAINOPS_BACKUP_NEW_PASSWORD") {
        return Ok(p);
    }
    ask(
        "New password: ",
        true,
        "CHAINOPS_BACKUP_NEW_PASSWORD or --new-password-file",
    )
}

fn ask(prompt: &str, confirm: bool, alternative: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(KindError(
            ErrorKind::InvalidInput,
            format!("no password: stdin is not a terminal; set {alternative}"),
        )
        .into());
    }
    let first = crate::security_cmd::prompt_hidden(prompt)?;
    if confirm && crate::security_cmd::prompt_hidden("Repeat: ")? != first {
        return Err(KindError(ErrorKind::InvalidInput, "the passwords do not match".into()).into());
    }
    Ok(first)
}

fn open(o: &RepoOpts) -> anyhow::Result<Repository> {
    let pw = password(o, false)?;
    Repository::open(backend(&o.repo)?, &pw).map_err(err)
}

/// The storage for a `--repo` location (S3 settings from the `AWS_*` environment).
fn backend(location: &str) -> anyhow::Result<Arc<dyn chainops_backup::backend::Backend>> {
    chainops_backup::open_backend(location, &Default::default()).map_err(err)
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / 1048576.0)
}

/// Progress: a bar on a terminal, a log line every 5 s otherwise.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    what: &'static str,
    last: std::sync::Mutex<Instant>,
}

impl Progress {
    fn new(what: &'static str, unit_bytes: bool) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let b = indicatif::ProgressBar::new(0);
            let tpl = if unit_bytes {
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
            } else {
                "{msg} [{bar:30}] {pos}/{len} eta {eta}"
            };
            b.set_style(
                indicatif::ProgressStyle::with_template(tpl)
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            b.set_message(what);
            b
        });
        Self {
            bar,
            what,
            last: std::sync::Mutex::new(Instant::now()),
        }
    }

    fn update(&self, done: u64, total: u64) {
        match &self.bar {
            Some(b) => {
                b.set_length(total);
                b.set_position(done);
            }
            None => {
                if let Ok(mut last) = self.last.lock()
                    && last.elapsed() >= Duration::from_secs(5)
                {
                    *last = Instant::now();
                    tracing::info!(what = self.what, done, total, "progress");
                }
            }
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// Runs a `backup` subcommand.
pub fn run(c: BackupCommand) -> anyhow::Result<()> {
    match c {
        BackupCommand::Init { repo } => {
            let pw = password(&repo, true)?;
            Repository::init(backend(&repo.repo)?, &pw, None).map_err(err)?;
            if repo.json {
                print(&json!({"repo": repo.repo, "created": true}).to_string())
            } else {
                print(&format!(
                    "created repository {}\nKeep the password safe: without it the backups cannot be read.",
                    repo.repo
                ))
            }
        }
        BackupCommand::Create(o) => {
            let crate::cli::BackupCreateOpts {
                repo,
                tags,
                host,
                parent,
                force,
                node,
                sources,
                from_node: _,
            } = *o;
            let mut r = open(&repo)?;
            let _lock = lock::acquire(&r, false).map_err(err)?;
            let capture = prepare(&node, sources)?;
            let p = Progress::new("backup", true);
            let opts = CreateOptions {
                sources: capture.sources.clone(),
                tags,
                host,
                parent,
                force,
                mode: capture.mode,
                node: capture.node.clone(),
                threads: None,
            };
            let made = create(&mut r, &opts, &|d, t| p.update(d, t));
            drop(p);
            let finished = capture.finish();
            let (id, snap) = made.map_err(err)?;
            finished?;
            if repo.json {
                print(&json!({"id": id, "snapshot": snap}).to_string())
            } else {
                let s = &snap.stats;
                let skipped = if s.skipped == 0 {
                    String::new()
                } else {
                    format!(
                        "\n  skipped {} (left out of the snapshot):\n    {}{}",
                        s.skipped,
                        s.skipped_paths.join("\n    "),
                        if s.skipped as usize > s.skipped_paths.len() {
                            "\n    …"
                        } else {
                            ""
                        }
                    )
                };
                print(&format!(
                    "snapshot {} saved\n  files {} ({} read, {} unchanged), dirs {}, {}\n  added {} in {} new chunks, stored {} (after compression)\n  took {:.1} s{skipped}",
                    &id[..12],
                    s.files,
                    s.files_read,
                    s.files.saturating_sub(s.files_read),
                    s.dirs,
                    mib(s.total_bytes),
                    mib(s.bytes_added),
                    s.chunks_added,
                    mib(s.bytes_stored),
                    s.duration_ms as f64 / 1000.0
                ))
            }
        }
        BackupCommand::List { repo } => {
            let r = open(&repo)?;
            let snaps = r.snapshots().map_err(err)?;
            if repo.json {
                let list: Vec<_> = snaps
                    .iter()
                    .map(|(id, s)| json!({"id": id, "time": rfc3339(s.time_ms), "snapshot": s}))
                    .collect();
                return print(&serde_json::to_string(&list)?);
            }
            let mut out = format!(
                "{:<12}  {:<24}  {:<12}  {:>10}  {:<10}  sources\n",
                "id", "time", "host", "size", "tags"
            );
            for (id, s) in &snaps {
                out.push_str(&format!(
                    "{:<12}  {:<24}  {:<12}  {:>10}  {:<10}  {}\n",
                    &id[..12],
                    rfc3339(s.time_ms),
                    s.host,
                    mib(s.stats.total_bytes),
                    s.tags.join(","),
                    s.sources.join(" ")
                ));
            }
            out.push_str(&format!("{} snapshots\n", snaps.len()));
            print(&out)
        }
        BackupCommand::Diff { repo, a, b } => {
            let r = open(&repo)?;
            let changes = diff::diff(&r, &a, &b).map_err(err)?;
            if repo.json {
                return print(&serde_json::to_string(&changes)?);
            }
            let mut out = String::new();
            for c in &changes {
                out.push_str(&format!("{} {}\n", c.op, c.path));
            }
            out.push_str(&format!("{} changes\n", changes.len()));
            print(&out)
        }
        BackupCommand::Restore {
            repo,
            snapshot,
            target,
            include,
            overwrite,
        } => {
            if !overwrite {
                refuse_non_empty(&target)?;
            }
            let r = open(&repo)?;
            let _lock = lock::acquire(&r, false).map_err(err)?;
            let p = Progress::new("restore", true);
            let started = Instant::now();
            let stats = restore::restore(&r, &snapshot, &target, &include, &|d, t| p.update(d, t))
                .map_err(err)?;
            drop(p);
            if repo.json {
                print(&json!({"target": target, "stats": stats, "seconds": started.elapsed().as_secs_f64()}).to_string())
            } else {
                print(&format!(
                    "restored {} files ({}), {} dirs, {} symlinks into {} in {:.1} s; every byte verified",
                    stats.files,
                    mib(stats.bytes),
                    stats.dirs,
                    stats.symlinks,
                    target.display(),
                    started.elapsed().as_secs_f64()
                ))
            }
        }
        BackupCommand::Check {
            repo,
            read_data,
            read_data_subset,
        } => {
            let r = open(&repo)?;
            let share = match (read_data, read_data_subset) {
                (true, _) => Some(1.0),
                (false, Some(s)) => {
                    let n: f64 = s.trim_end_matches('%').parse().map_err(|_| {
                        KindError(
                            ErrorKind::InvalidInput,
                            format!("--read-data-subset {s:?}: give a percentage like 10%"),
                        )
                    })?;
                    if !(n > 0.0 && n <= 100.0) {
                        return Err(KindError(
                            ErrorKind::InvalidInput,
                            format!("--read-data-subset {s}: use 0% < N ≤ 100%"),
                        )
                        .into());
                    }
                    Some(n / 100.0)
                }
                (false, None) => None,
            };
            let _lock = lock::acquire(&r, false).map_err(err)?;
            let p = Progress::new("check", false);
            let report = check::check(&r, share, &|d, t| p.update(d, t)).map_err(err)?;
            drop(p);
            if repo.json {
                print(&serde_json::to_string(&report)?)?;
            } else {
                let mut out = format!(
                    "{} snapshots, {} packs, {} blobs; {} packs read in full\n",
                    report.snapshots, report.packs, report.blobs, report.packs_read
                );
                if !report.unreferenced_packs.is_empty() {
                    out.push_str(&format!(
                        "note: {} packs are not referenced by any index (left by an interrupted backup; prune removes them)\n",
                        report.unreferenced_packs.len()
                    ));
                }
                if !report.temporary_files.is_empty() {
                    out.push_str(&format!(
                        "note: {} temporary files were left by an interrupted write (prune removes them): {}\n",
                        report.temporary_files.len(),
                        report.temporary_files.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
                for e in &report.errors {
                    out.push_str(&format!("error: {e}\n"));
                }
                for d in &report.damaged {
                    out.push_str(&format!(
                        "damaged: snapshot {} file {}\n",
                        &d.snapshot[..12.min(d.snapshot.len())],
                        d.path
                    ));
                }
                out.push_str(if report.ok() { "no errors found\n" } else { "" });
                print(&out)?;
            }
            if report.ok() {
                Ok(())
            } else {
                Err(KindError(
                    ErrorKind::Internal,
                    format!("check found {} problems", report.errors.len()),
                )
                .into())
            }
        }
        BackupCommand::Forget {
            repo,
            keep_last,
            keep_hourly,
            keep_daily,
            keep_weekly,
            keep_monthly,
            dry_run,
            prune: and_prune,
        } => {
            let policy = forget::Policy {
                last: keep_last,
                hourly: keep_hourly,
                daily: keep_daily,
                weekly: keep_weekly,
                monthly: keep_monthly,
            };
            if policy.is_empty() {
                return Err(KindError(
                    ErrorKind::InvalidInput,
                    "no --keep-* rule given: forget would delete every snapshot; say what to keep (e.g. --keep-daily 7)".into(),
                )
                .into());
            }
            let mut r = open(&repo)?;
            let lock = lock::acquire(&r, true).map_err(err)?;
            let decisions = forget::forget(&r, &policy, dry_run).map_err(err)?;
            let pruned = if and_prune {
                Some(prune::prune(&mut r, dry_run).map_err(err)?)
            } else {
                None
            };
            drop(lock);
            if repo.json {
                return print(&serde_json::to_string(
                    &json!({"dry_run": dry_run, "snapshots": decisions, "prune": pruned}),
                )?);
            }
            let mut out = String::new();
            for d in &decisions {
                out.push_str(&format!(
                    "{} {}  {}\n",
                    if d.keep {
                        "keep  "
                    } else if dry_run {
                        "would remove"
                    } else {
                        "remove"
                    },
                    &d.id[..12],
                    d.reasons.join(",")
                ));
            }
            let gone = decisions.iter().filter(|d| !d.keep).count();
            out.push_str(&format!(
                "{} kept, {gone} {}\n",
                decisions.len() - gone,
                if dry_run {
                    "would be removed"
                } else {
                    "removed"
                }
            ));
            if let Some(p) = &pruned {
                out.push_str(&prune_summary(p, dry_run));
            }
            print(&out)
        }
        BackupCommand::Prune { repo, dry_run } => {
            let mut r = open(&repo)?;
            let lock = lock::acquire(&r, true).map_err(err)?;
            let report = prune::prune(&mut r, dry_run).map_err(err)?;
            drop(lock);
            if repo.json {
                return print(&serde_json::to_string(&report)?);
            }
            print(&prune_summary(&report, dry_run))
        }
        BackupCommand::Unlock { repo, all } => {
            let r = open(&repo)?;
            let n = lock::unlock(&r, all).map_err(err)?;
            print(&format!("removed {n} lock(s)"))
        }
        BackupCommand::Drill {
            repo,
            snapshot,
            node_bin,
            node_args,
            timeout,
            keep,
        } => {
            let timeout = chainops_core::duration::parse_duration(&timeout)
                .map_err(|m| KindError(ErrorKind::InvalidInput, format!("--timeout: {m}")))?;
            let r = open(&repo)?;
            let _lock = lock::acquire(&r, false).map_err(err)?;
            let p = Progress::new("restore", true);
            let drilled = node::drill(
                &r,
                &snapshot,
                node_bin,
                &node_args,
                timeout,
                keep,
                &|d, t| p.update(d, t),
            );
            drop(p);
            let (id, result) = drilled.map_err(err)?;
            let value = serde_json::to_value(&result)?;
            if repo.json {
                print(&value.to_string())?;
            } else {
                print(&format!(
                    "drill of snapshot {}: {} (height {}, hash {}, booted in {:.1} s){}",
                    &id[..12],
                    if result.ok {
                        "OK — the node boots on the restored data with the recorded head"
                    } else {
                        "FAILED"
                    },
                    result.height,
                    result.expected_hash,
                    result.boot_seconds,
                    result
                        .error
                        .as_deref()
                        .map(|e| format!("\n  {e}"))
                        .unwrap_or_default()
                ))?;
            }
            if result.ok {
                Ok(())
            } else {
                Err(KindError(
                    ErrorKind::Internal,
                    format!("drill failed: {}", result.error.unwrap_or_default()),
                )
                .into())
            }
        }
        BackupCommand::Key { command } => key(command),
        BackupCommand::RunJob { .. } | BackupCommand::Runs { .. } => Err(KindError(
            ErrorKind::Internal,
            "run-job and runs need the config and store; main dispatches them".into(),
        )
        .into()),
    }
}

fn key(c: BackupKeyCommand) -> anyhow::Result<()> {
    match c {
        BackupKeyCommand::Add {
            repo,
            new_password_file,
        } => {
            let r = open(&repo)?;
            let pw = new_password(&new_password_file)?;
            let id = r.add_key(&pw, None).map_err(err)?;
            print(&format!("added key {}", &id[..12]))
        }
        BackupKeyCommand::List { repo } => {
            let r = open(&repo)?;
            let keys = r.keys().map_err(err)?;
            if repo.json {
                return print(&serde_json::to_string(&keys)?);
            }
            let mut out = String::new();
            for k in &keys {
                out.push_str(&format!(
                    "{} {}  {}  {}\n",
                    if k.current { "*" } else { " " },
                    &k.id[..12],
                    rfc3339(k.created_ms),
                    k.host
                ));
            }
            print(&out)
        }
        BackupKeyCommand::Remove { repo, id } => {
            let r = open(&repo)?;
            r.remove_key(&id).map_err(err)?;
            print(&format!("removed key {id}"))
        }
        BackupKeyCommand::Passwd {
            repo,
            new_password_file,
        } => {
            let mut r = open(&repo)?;
            let pw = new_password(&new_password_file)?;
            let id = r.change_password(&pw, None).map_err(err)?;
            print(&format!("password changed (key {})", &id[..12]))
        }
    }
}

fn prune_summary(r: &prune::PruneReport, dry_run: bool) -> String {
    format!(
        "{}{} blobs in use, {} unused; packs: {} deleted, {} repacked, {} left by interrupted backups; {} temporary files; {} freed\n",
        if dry_run { "dry run: " } else { "" },
        r.blobs_used,
        r.blobs_removed,
        r.packs_deleted,
        r.packs_repacked,
        r.packs_unreferenced,
        r.temporary_removed,
        mib(r.bytes_freed.max(0) as u64)
    )
}

/// Prepares a capture from `backup create` flags: records the head; dumps the node's state;
/// runs the pre-hook (`chainops_backup::node` does the work).
fn prepare(o: &NodeCaptureOpts, sources: Vec<PathBuf>) -> anyhow::Result<Capture> {
    let invalid =
        |m: &str| -> anyhow::Error { KindError(ErrorKind::InvalidInput, m.to_string()).into() };
    let mode = match CaptureMode::from_config_name(&o.capture) {
        Some(m) if m != CaptureMode::Stopped => m,
        _ => {
            return Err(invalid(&format!(
                "--capture {}: use live, dump or hook",
                o.capture
            )));
        }
    };
    let fam = node::family_named(&o.node_kind).map_err(err)?;
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
                    o.rpc_password.clone().unwrap_or_else(|| {
                        Secret::new(
                            std::env::var("CHAINOPS_BACKUP_RPC_PASSWORD").unwrap_or_default(),
                        )
                    }),
                )
            });
            Some(node::client(url, auth).map_err(err)?)
        }
    };
    node::prepare_with(&what, mode, sources, rpc).map_err(err)
}

/// `backup create --node NAME`: fills the capture options and the sources from the node's
/// `[[nodes]]` entry and its `[[backups]]` job in the config.
pub fn from_config_node(
    g: &crate::cli::GlobalOpts,
    o: &mut crate::cli::BackupCreateOpts,
) -> anyhow::Result<()> {
    let Some(name) = o.from_node.clone() else {
        return Ok(());
    };
    let config = crate::config_load::load(g)?;
    let Some(n) = config.nodes.iter().find(|n| n.name == name) else {
        let known: Vec<&str> = config.nodes.iter().map(|n| n.name.as_str()).collect();
        return Err(KindError(
            ErrorKind::NotFound,
            format!(
                "--node {name}: no such [[nodes]] entry in the config (nodes: {}); pass --config with the daemon's file",
                if known.is_empty() { "none".into() } else { known.join(", ") }
            ),
        )
        .into());
    };
    let job = config.backups.iter().find(|j| j.node == name);
    let family = node::family_named(n.kind.as_str()).map_err(err)?;
    let capture = match job {
        Some(j) if j.capture != CaptureMode::Stopped => j.capture,
        _ if n.data_dir.is_none() && o.sources.is_empty() && family.dump.is_some() => {
            CaptureMode::Dump
        }
        _ => CaptureMode::Live,
    };
    o.node.node_rpc = Some(n.rpc_url.clone());
    o.node.node_kind = n.kind.as_str().to_string();
    o.node.chain = Some(n.chain.clone());
    o.node.node_name = Some(n.name.clone());
    o.node.capture = capture.config_name().to_string();
    if let Some(j) = job {
        o.node.pre_hook = o.node.pre_hook.clone().or_else(|| j.pre_hook.clone());
        o.node.post_hook = o.node.post_hook.clone().or_else(|| j.post_hook.clone());
    }
    match &n.rpc_auth {
        Some(chainops_core::node_config::RpcAuth::Basic { user, password }) => {
            o.node.rpc_user = Some(user.clone());
            o.node.rpc_password = Some(chainops_core::node_config::read_secret(password).map_err(
                |e| {
                    KindError(
                        ErrorKind::InvalidInput,
                        format!("node {name}: rpc password: {e}"),
                    )
                },
            )?);
        }
        Some(chainops_core::node_config::RpcAuth::Cookie(path)) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                KindError(
                    ErrorKind::InvalidInput,
                    format!("node {name}: cookie file {}: {e}", path.display()),
                )
            })?;
            let (user, pw) = text.trim().split_once(':').ok_or_else(|| {
                KindError(
                    ErrorKind::InvalidInput,
                    format!(
                        "node {name}: cookie file {} is not user:password",
                        path.display()
                    ),
                )
            })?;
            o.node.rpc_user = Some(user.to_string());
            o.node.rpc_password = Some(Secret::new(pw.to_string()));
        }
        None => {}
    }
    if capture != CaptureMode::Dump && o.sources.is_empty() {
        match (&n.data_dir, job) {
            (Some(d), _) => o.sources.push(d.clone()),
            (None, Some(j)) if !j.paths.is_empty() => o.sources.extend(j.paths.iter().cloned()),
            _ => {
                return Err(KindError(
                    ErrorKind::InvalidInput,
                    format!(
                        "--node {name}: the config gives it no data_dir; give the SOURCE directory"
                    ),
                )
                .into());
            }
        }
    }
    Ok(())
}

/// A restore target must be missing or an empty directory (without `--overwrite`): a
/// snapshot restored over a node's data would mix two states of it.
fn refuse_non_empty(target: &std::path::Path) -> anyhow::Result<()> {
    let meta = match std::fs::symlink_metadata(target) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(KindError(
                ErrorKind::InvalidInput,
                format!("--target {}: {e}", target.display()),
            )
            .into());
        }
        Ok(m) => m,
    };
    if !meta.is_dir() {
        return Err(KindError(
            ErrorKind::InvalidInput,
            format!(
                "--target {} exists and is not a directory; give a new or empty directory",
                target.display()
            ),
        )
        .into());
    }
    let mut entries = std::fs::read_dir(target).map_err(|e| {
        KindError(
            ErrorKind::InvalidInput,
            format!("--target {}: {e}", target.display()),
        )
    })?;
    if let Some(first) = entries.next() {
        let first = first
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .unwrap_or_default();
        let more = entries.count();
        return Err(KindError(
            ErrorKind::Conflict,
            format!(
                "--target {} is not empty ({first}{}); restore into a new or empty directory, or pass --overwrite to replace the files the snapshot holds (others stay)",
                target.display(),
                if more > 0 { format!(" and {more} more") } else { String::new() }
            ),
        )
        .into());
    }
    Ok(())
}
