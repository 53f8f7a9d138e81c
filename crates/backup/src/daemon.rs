//! Scheduled backups in the daemon: one task per `[[backups]]` job runs it on its cron
//! schedule (and its restore drills on theirs), records every run in the store, keeps the
//! state that `/metrics` and the `backup_*` alert facts show, and applies retention.
//!
//! A run is blocking work (chunking, hashing, a node booted for a drill), so it runs on the
//! blocking pool; runs of one job never overlap, and firings missed while a run was still
//! going are skipped, not queued.

use crate::archive::{CreateOptions, create};
use crate::config::BackupJob;
use crate::node::NodeCapture;
use crate::repo::Repository;
use crate::s3::S3Options;
use crate::tree::CaptureMode;
use crate::{BackupError, Result, forget, lock, prune};
use chainops_chain::supervisor::NodeControl;
use chainops_core::ErrorKind;
use chainops_core::cron::Cron;
use chainops_core::facts::{FactSource, NodeFacts};
use chainops_core::node_config::NodeConfig;
use chainops_core::ports::{BackupJobView, BackupJobs, MetricsSource, SnapshotView};
use chainops_core::task::spawn_supervised;
use chainops_core::time::now_ms;
use chainops_store::Store;
use chainops_store::backup_runs::BackupRun;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How long a drill waits for the restored node to answer.
const DRILL_TIMEOUT: Duration = Duration::from_secs(180);
/// How often run records written by others (`chainops backup run-job`) are picked up.
const REFRESH: Duration = Duration::from_secs(30);

/// What the daemon knows about one job (from the store at start, then from each run).
#[derive(Debug, Clone, Default)]
struct JobState {
    node: String,
    chain: String,
    overdue_after_ms: i64,
    /// When the daemon started watching: a job that never succeeded is overdue from here.
    since_ms: i64,
    last_backup: Option<BackupRun>,
    last_ok_ms: Option<i64>,
    last_drill: Option<BackupRun>,
    last_drill_ok_ms: Option<i64>,
    runs: [u64; 2],
    drills: [u64; 2],
    running: bool,
}

impl JobState {
    fn failed(&self) -> bool {
        self.last_backup.as_ref().is_some_and(|r| !r.ok)
    }

    fn overdue(&self, now: i64) -> bool {
        now - self.last_ok_ms.unwrap_or(self.since_ms) > self.overdue_after_ms
    }

    fn drill_failed(&self) -> bool {
        self.last_drill.as_ref().is_some_and(|r| !r.ok)
    }

    fn remember(&mut self, run: &BackupRun) {
        let slot = usize::from(!run.ok);
        if run.kind == "drill" {
            self.drills[slot] += 1;
            if run.ok {
                self.last_drill_ok_ms = Some(run.finished_ms);
            }
            self.last_drill = Some(run.clone());
        } else {
            self.runs[slot] += 1;
            if run.ok {
                self.last_ok_ms = Some(run.finished_ms);
            }
            self.last_backup = Some(run.clone());
        }
    }
}

/// Live state of every job: the source of `/metrics` lines and alert facts.
#[derive(Debug, Default)]
pub struct BackupStatus {
    jobs: Mutex<BTreeMap<String, JobState>>,
}

impl BackupStatus {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, JobState>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, job: &str, f: impl FnOnce(&mut JobState)) {
        if let Some(s) = self.lock().get_mut(job) {
            f(s);
        }
    }

    /// The worst of a node's jobs as alert facts (none for nodes without jobs).
    fn node_facts(&self, node: &str, now: i64) -> Vec<(&'static str, f64)> {
        let jobs = self.lock();
        let mine: Vec<&JobState> = jobs.values().filter(|j| j.node == node).collect();
        if mine.is_empty() {
            return Vec::new();
        }
        let flag = |f: &dyn Fn(&JobState) -> bool| f64::from(u8::from(mine.iter().any(|j| f(j))));
        let mut out = vec![
            ("backup_failed", flag(&|j| j.failed())),
            ("backup_overdue", flag(&|j| j.overdue(now))),
            ("drill_failed", flag(&|j| j.drill_failed())),
        ];
        if mine.iter().all(|j| j.last_ok_ms.is_some()) {
            let age = mine
                .iter()
                .filter_map(|j| j.last_ok_ms)
                .map(|t| (now - t) as f64 / 1000.0)
                .fold(0.0, f64::max);
            out.push(("backup_age_seconds", age));
        }
        out
    }
}

type Labels<'a> = Vec<(&'static str, &'a str)>;

fn labels<'a>(job: &'a str, s: &'a JobState) -> Labels<'a> {
    vec![("job", job), ("node", &s.node), ("chain", &s.chain)]
}

impl MetricsSource for BackupStatus {
    fn render(&self, now: i64) -> String {
        let jobs = self.lock();
        if jobs.is_empty() {
            return String::new();
        }
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(Labels<'_>, f64)>| {
            chainops_core::exposition::family(&mut out, name, kind, help, rows);
        };
        let each = |f: &dyn Fn(&JobState) -> Option<f64>| -> Vec<(Labels<'_>, f64)> {
            jobs.iter()
                .filter_map(|(job, s)| f(s).map(|v| (labels(job, s), v)))
                .collect()
        };
        let secs = |ms: i64| ms as f64 / 1000.0;
        let b = |x: bool| f64::from(u8::from(x));
        family(
            "chainops_backup_last_success_timestamp_seconds",
            "gauge",
            "When the newest successful backup of the job finished.",
            each(&|s| s.last_ok_ms.map(secs)),
        );
        family(
            "chainops_backup_age_seconds",
            "gauge",
            "Seconds since the newest successful backup.",
            each(&|s| s.last_ok_ms.map(|t| secs(now - t))),
        );
        family(
            "chainops_backup_last_run_duration_seconds",
            "gauge",
            "Wall time of the last backup run.",
            each(&|s| {
                s.last_backup
                    .as_ref()
                    .map(|r| secs(r.finished_ms - r.started_ms))
            }),
        );
        family(
            "chainops_backup_last_run_bytes_read",
            "gauge",
            "Bytes the last backup run read from the source (changed files only).",
            each(&|s| s.last_backup.as_ref().map(|r| r.bytes_read as f64)),
        );
        family(
            "chainops_backup_last_run_bytes_added",
            "gauge",
            "New bytes (before compression) the last backup run added to the repository.",
            each(&|s| s.last_backup.as_ref().map(|r| r.bytes_added as f64)),
        );
        family(
            "chainops_backup_failed",
            "gauge",
            "1 when the last backup run of the job failed.",
            each(&|s| Some(b(s.failed()))),
        );
        family(
            "chainops_backup_overdue",
            "gauge",
            "1 when no backup succeeded within the job's overdue_after.",
            each(&|s| Some(b(s.overdue(now)))),
        );
        family(
            "chainops_backup_running",
            "gauge",
            "1 while a backup or drill of the job runs.",
            each(&|s| Some(b(s.running))),
        );
        family(
            "chainops_backup_drill_failed",
            "gauge",
            "1 when the last restore drill of the job failed.",
            each(&|s| Some(b(s.drill_failed()))),
        );
        family(
            "chainops_backup_drill_last_success_timestamp_seconds",
            "gauge",
            "When the newest successful restore drill finished.",
            each(&|s| s.last_drill_ok_ms.map(secs)),
        );
        let mut runs = Vec::new();
        for (kind, pick) in [("backup", 0usize), ("drill", 1)] {
            for (job, s) in jobs.iter() {
                let counts = if pick == 0 { s.runs } else { s.drills };
                for (result, n) in [("ok", counts[0]), ("failed", counts[1])] {
                    let mut l = labels(job, s);
                    l.extend([("kind", kind), ("result", result)]);
                    runs.push((l, n as f64));
                }
            }
        }
        family(
            "chainops_backup_runs_total",
            "counter",
            "Backup and drill runs since the daemon started, by result.",
            runs,
        );
        out
    }
}

/// The fleet's facts plus each node's backup facts.
pub struct WithBackupFacts {
    inner: Arc<dyn FactSource>,
    status: Arc<BackupStatus>,
}

impl WithBackupFacts {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn FactSource>, status: Arc<BackupStatus>) -> Self {
        Self { inner, status }
    }
}

impl FactSource for WithBackupFacts {
    fn facts(&self, now_ms: i64) -> Vec<NodeFacts> {
        let mut facts = self.inner.facts(now_ms);
        for f in &mut facts {
            for (name, v) in self.status.node_facts(&f.node, now_ms) {
                f.values.insert(name, v);
            }
        }
        facts
    }
}

/// What a run needs besides the job.
#[derive(Clone)]
pub struct RunContext {
    /// The node the job belongs to.
    pub node: NodeConfig,
    /// Stops and restarts a managed node (`capture = "stop"`).
    pub control: Option<NodeControl>,
    /// HTTP client for the node's RPC.
    pub http: reqwest::Client,
    /// The runtime, to await node control from the blocking pool.
    pub handle: tokio::runtime::Handle,
}

/// The first line of a file holding a secret (`what` names it in errors); an empty one is
/// refused.
fn first_line(path: &std::path::Path, what: &str) -> Result<String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        BackupError::Input(format!(
            "cannot read the {what} file {}: {e}",
            path.display()
        ))
    })?;
    let line = text.lines().next().unwrap_or_default().to_string();
    if line.is_empty() {
        return Err(BackupError::Input(format!(
            "the {what} file {} is empty",
            path.display()
        )));
    }
    Ok(line)
}

/// The job's S3 settings with the secret key read from its file.
fn s3_options(job: &BackupJob) -> Result<S3Options> {
    Ok(match &job.s3 {
        None => S3Options::default(),
        Some(s) => S3Options {
            endpoint: s.endpoint.clone(),
            region: s.region.clone(),
            access_key_id: s.access_key_id.clone(),
            secret_access_key: s
                .secret_access_key_file
                .as_ref()
                .map(|p| first_line(p, "S3 secret key"))
                .transpose()?,
            virtual_hosted: s.addressing.as_deref().map(|a| a == "virtual"),
            proxy: s.proxy.clone(),
        },
    })
}

/// Opens the job's repository, creating it on the first run.
fn open_repo(job: &BackupJob) -> Result<Repository> {
    let password = first_line(&job.password_file, "password")?;
    let backend = crate::open_backend(&job.repo, &s3_options(job)?)?;
    match Repository::open(backend.clone(), &password) {
        Err(BackupError::NotARepository(_)) => {
            tracing::info!(job = %job.name, repo = %job.repo, "creating the backup repository (first run)");
            Repository::init(backend, &password, None)
        }
        other => other,
    }
}

fn capture_opts(job: &BackupJob, node: &NodeConfig) -> NodeCapture {
    NodeCapture {
        kind: node.kind,
        chain: Some(node.chain.clone()),
        node_name: Some(node.name.clone()),
        pre_hook: job.pre_hook.clone(),
        post_hook: job.post_hook.clone(),
    }
}

/// An unfinished, failed-until-proven-otherwise run record of `kind` starting now.
fn new_run(job: &BackupJob, kind: &str) -> BackupRun {
    let started_ms = now_ms();
    BackupRun {
        job: job.name.clone(),
        node: job.node.clone(),
        kind: kind.into(),
        started_ms,
        finished_ms: started_ms,
        ok: false,
        error: None,
        snapshot: None,
        bytes_read: 0,
        bytes_added: 0,
        files: 0,
        detail: json!({}),
    }
}

/// One backup run of `job`: capture, snapshot, retention. Blocking.
pub fn run_backup(job: &BackupJob, ctx: &RunContext) -> BackupRun {
    let mut run = new_run(job, "backup");
    if let Err(e) = backup_into(job, ctx, &mut run) {
        run.error = Some(e.to_string());
    } else {
        run.ok = true;
    }
    run.finished_ms = now_ms();
    run
}

fn backup_into(job: &BackupJob, ctx: &RunContext, run: &mut BackupRun) -> Result<()> {
    let mut repo = open_repo(job)?;
    let shared = lock::acquire(&repo, false)?;
    let mode = job.capture;
    let opts = capture_opts(job, &ctx.node);
    let rpc = chainops_chain::rpc_client_for(&ctx.node, &ctx.http)
        .map_err(|e| BackupError::Input(format!("node {}: {e}", ctx.node.name)))?;
    let capture = match crate::node::prepare_with(&opts, mode, job.paths.clone(), Some(rpc)) {
        Ok(c) => c,
        // A stopped or unreachable node's files are still worth a copy; say what is missing.
        // (Only the head query fails as `Unavailable`; a failed hook is `Upstream`.)
        Err(e) if mode != CaptureMode::Dump && unavailable(&e) => {
            tracing::warn!(job = %job.name, error = %e, "node state unavailable; backing up the files without it");
            run.detail["node_state_error"] = json!(e.to_string());
            crate::node::prepare_with(&opts, mode, job.paths.clone(), None)?
        }
        Err(e) => return Err(e),
    };
    let stopped = match (&mode, &ctx.control) {
        (CaptureMode::Stopped, Some(c)) => {
            ctx.handle.block_on(c.stop()).map_err(|e| {
                BackupError::Node(
                    ErrorKind::Unavailable,
                    format!("cannot stop {}: {e}", job.node),
                )
            })?;
            Some(c)
        }
        (CaptureMode::Stopped, None) => {
            return Err(BackupError::Input(format!(
                "capture = \"stop\" needs {} to be managed by this daemon",
                job.node
            )));
        }
        _ => None,
    };
    let mut tags = job.tags.clone();
    tags.push(forget::job_tag(&job.name));
    let made = create(
        &mut repo,
        &CreateOptions {
            sources: capture.sources.clone(),
            tags,
            host: None,
            parent: None,
            force: false,
            mode: capture.mode,
            node: capture.node.clone(),
            threads: None,
        },
        &|_, _| {},
    );
    if let Some(c) = stopped {
        c.start();
    }
    let finished = capture.finish();
    let (id, snap) = made?;
    finished?;
    run.snapshot = Some(id.clone());
    run.bytes_read = snap.stats.bytes_read as i64;
    run.bytes_added = snap.stats.bytes_added as i64;
    run.files = snap.stats.files as i64;
    run.detail["mode"] = json!(capture.mode);
    run.detail["bytes_stored"] = json!(snap.stats.bytes_stored);
    if let Some(n) = &snap.node {
        run.detail["height"] = json!(n.height);
        run.detail["hash"] = json!(n.hash);
    }
    drop(shared);
    if !job.keep.is_empty() {
        let policy = &job.keep;
        let retention = (|| {
            let _exclusive = lock::acquire(&repo, true)?;
            let decisions = forget::forget_job(&repo, policy, &job.name)?;
            let forgotten = decisions.iter().filter(|d| !d.keep).count();
            let pruned = if job.prune && forgotten > 0 {
                Some(prune::prune(&mut repo, false)?)
            } else {
                None
            };
            Ok::<_, BackupError>((forgotten, pruned))
        })();
        let (forgotten, pruned) = retention.map_err(|e| {
            BackupError::Node(
                e.kind(),
                format!("snapshot {} saved, but retention failed: {e}", &id[..12]),
            )
        })?;
        run.detail["forgotten"] = json!(forgotten);
        if let Some(p) = pruned {
            run.detail["pruned_bytes"] = json!(p.bytes_freed);
        }
    }
    Ok(())
}

fn unavailable(e: &BackupError) -> bool {
    matches!(e, BackupError::Node(ErrorKind::Unavailable, _))
}

/// One restore drill of the job's newest snapshot of its node. Blocking.
pub fn run_drill(job: &BackupJob, ctx: &RunContext) -> BackupRun {
    let mut run = new_run(job, "drill");
    let outcome = (|| {
        let repo = open_repo(job)?;
        let _lock = lock::acquire(&repo, false)?;
        let snaps = repo.snapshots()?;
        let (id, _) = snaps
            .iter()
            .rev()
            .find(|(_, s)| s.node.as_ref().is_some_and(|n| n.node == job.node))
            .ok_or_else(|| {
                BackupError::NotFound("no snapshot with node state of this node yet".into())
            })?;
        let node_bin = job
            .drill_command
            .clone()
            .or_else(|| ctx.node.managed.as_ref().map(|m| PathBuf::from(&m.command)));
        crate::node::drill(&repo, id, node_bin, &[], DRILL_TIMEOUT, false, &|_, _| {})
    })();
    match outcome {
        Ok((id, result)) => {
            run.snapshot = Some(id);
            run.ok = result.ok;
            run.error = result.error.clone();
            run.detail = serde_json::to_value(&result).unwrap_or_default();
        }
        Err(e) => run.error = Some(e.to_string()),
    }
    run.finished_ms = now_ms();
    run
}

/// Runs one job now (backup or drill) and records it: `chainops backup run-job`.
pub async fn run_now(
    store: &Store,
    job: &BackupJob,
    ctx: RunContext,
    drill: bool,
) -> Result<BackupRun> {
    let j = job.clone();
    let run = tokio::task::spawn_blocking(move || {
        if drill {
            run_drill(&j, &ctx)
        } else {
            run_backup(&j, &ctx)
        }
    })
    .await
    .map_err(|e| BackupError::Node(ErrorKind::Internal, format!("the run panicked: {e}")))?;
    store.record_backup_run(&run).await.map_err(store_err)?;
    Ok(run)
}

fn store_err(e: chainops_store::StoreError) -> BackupError {
    BackupError::Node(e.kind(), format!("backup run records: {e}"))
}

/// Builds the run context of `job` from the configured nodes (and the daemon's node
/// controls).
pub fn context(
    nodes: &[NodeConfig],
    job: &BackupJob,
    http: &reqwest::Client,
    controls: &HashMap<String, NodeControl>,
) -> Result<RunContext> {
    let node = nodes
        .iter()
        .find(|n| n.name == job.node)
        .ok_or_else(|| {
            BackupError::Input(format!(
                "backup job {}: node {} is not configured",
                job.name, job.node
            ))
        })?
        .clone();
    Ok(RunContext {
        control: controls.get(&node.name).cloned(),
        node,
        http: http.clone(),
        handle: tokio::runtime::Handle::current(),
    })
}

/// Starts the scheduler: one task per job schedule and drill schedule, plus a refresher
/// that picks up runs recorded by others. Returns the live status and the jobs' console port.
pub async fn start(
    jobs: &[BackupJob],
    nodes: &[NodeConfig],
    store: &Store,
    http: &reqwest::Client,
    controls: &HashMap<String, NodeControl>,
    shutdown: &watch::Receiver<bool>,
    leader: watch::Receiver<bool>,
) -> Result<(
    Arc<BackupStatus>,
    Arc<Jobs>,
    Vec<tokio::task::JoinHandle<()>>,
)> {
    let status = Arc::new(BackupStatus::default());
    let mut slots = Vec::new();
    let started = now_ms();
    let mut tasks = Vec::new();
    for job in jobs {
        let node = nodes
            .iter()
            .find(|n| n.name == job.node)
            .map(|n| n.chain.clone())
            .unwrap_or_default();
        let mut state = JobState {
            node: job.node.clone(),
            chain: node,
            overdue_after_ms: job.overdue_after.as_millis() as i64,
            since_ms: started,
            ..JobState::default()
        };
        load_state(store, &job.name, &mut state)
            .await
            .map_err(store_err)?;
        status.lock().insert(job.name.clone(), state);
        let ctx = context(nodes, job, http, controls)?;
        // One lock per job: a backup and a drill of the same job never overlap.
        let exclusive = Arc::new(tokio::sync::Mutex::new(()));
        slots.push(JobSlot {
            job: job.clone(),
            ctx: ctx.clone(),
            exclusive: exclusive.clone(),
        });
        let schedules = std::iter::once((job.schedule.clone(), false))
            .chain(job.drill_schedule.clone().map(|d| (d, true)));
        for (schedule, drill) in schedules {
            let (job, ctx, store, status, exclusive, stop, leader) = (
                job.clone(),
                ctx.clone(),
                store.clone(),
                status.clone(),
                exclusive.clone(),
                shutdown.clone(),
                leader.clone(),
            );
            let name = format!("backup:{}{}", job.name, if drill { ":drill" } else { "" });
            tasks.push(spawn_supervised(name, move || {
                schedule_loop(
                    Scheduled {
                        job: job.clone(),
                        schedule: schedule.clone(),
                        drill,
                        leader: leader.clone(),
                    },
                    ctx.clone(),
                    store.clone(),
                    status.clone(),
                    exclusive.clone(),
                    stop.clone(),
                )
            }));
        }
        tracing::info!(job = %job.name, node = %job.node, schedule = %job.schedule, repo = %chainops_core::secret::redact_url(&job.repo), "backup job scheduled");
    }
    if !jobs.is_empty() {
        let jobs: Vec<String> = jobs.iter().map(|j| j.name.clone()).collect();
        let (store, status, stop) = (store.clone(), status.clone(), shutdown.clone());
        tasks.push(spawn_supervised("backup:refresh", move || {
            refresh_loop(jobs.clone(), store.clone(), status.clone(), stop.clone())
        }));
    }
    let jobs = Arc::new(Jobs {
        status: status.clone(),
        slots,
        store: store.clone(),
        shutdown: shutdown.clone(),
        listed: Mutex::new(BTreeMap::new()),
    });
    Ok((status, jobs, tasks))
}

/// Fills `state` with the newest runs in the store (counters stay per daemon run).
async fn load_state(
    store: &Store,
    job: &str,
    state: &mut JobState,
) -> std::result::Result<(), chainops_store::StoreError> {
    state.last_backup = store.last_backup_run(job, "backup", false).await?;
    state.last_ok_ms = store
        .last_backup_run(job, "backup", true)
        .await?
        .map(|r| r.finished_ms);
    state.last_drill = store.last_backup_run(job, "drill", false).await?;
    state.last_drill_ok_ms = store
        .last_backup_run(job, "drill", true)
        .await?
        .map(|r| r.finished_ms);
    Ok(())
}

async fn refresh_loop(
    jobs: Vec<String>,
    store: Store,
    status: Arc<BackupStatus>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(REFRESH) => {}
            _ = shutdown.changed() => return,
        }
        for job in &jobs {
            let mut fresh = JobState::default();
            if let Err(e) = load_state(&store, job, &mut fresh).await {
                tracing::warn!(job = %job, error = %e, "cannot read backup runs");
                continue;
            }
            status.update(job, |s| {
                s.last_backup = fresh.last_backup;
                s.last_ok_ms = fresh.last_ok_ms;
                s.last_drill = fresh.last_drill;
                s.last_drill_ok_ms = fresh.last_drill_ok_ms;
            });
        }
    }
}

#[allow(clippy::too_many_arguments)]
/// One schedule of a job: its backups or its drills.
struct Scheduled {
    job: BackupJob,
    schedule: Cron,
    drill: bool,
    /// Runs happen only while this is `true` (the cluster's leader; standalone: always).
    leader: watch::Receiver<bool>,
}

async fn schedule_loop(
    s: Scheduled,
    ctx: RunContext,
    store: Store,
    status: Arc<BackupStatus>,
    exclusive: Arc<tokio::sync::Mutex<()>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let Scheduled {
        job,
        schedule,
        drill,
        leader,
    } = s;
    let what = if drill { "drill" } else { "backup" };
    loop {
        let Some(next) = schedule.next_after(now_ms()) else {
            tracing::warn!(job = %job.name, "the {what} schedule never fires again");
            return;
        };
        let wait = Duration::from_millis((next - now_ms()).max(0) as u64);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.changed() => return,
        }
        if !*leader.borrow() {
            tracing::debug!(job = %job.name, "another cluster member runs this {what}");
            continue;
        }
        if !turn(
            &job,
            drill,
            &ctx,
            &store,
            &status,
            &exclusive,
            &mut shutdown,
        )
        .await
        {
            return;
        }
    }
}

/// One run of `job` under its lock: marks it running, runs it, records it and updates the
/// live status. `false` when the daemon shut down during the run (it is not recorded).
async fn turn(
    job: &BackupJob,
    drill: bool,
    ctx: &RunContext,
    store: &Store,
    status: &BackupStatus,
    exclusive: &tokio::sync::Mutex<()>,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    let what = if drill { "drill" } else { "backup" };
    let _turn = exclusive.lock().await;
    status.update(&job.name, |s| s.running = true);
    tracing::info!(job = %job.name, node = %job.node, "{what} started");
    let result = tokio::select! {
        r = run_now(store, job, ctx.clone(), drill) => r,
        _ = shutdown.changed() => {
            // The blocking run finishes on its own; a repository is safe to abandon.
            tracing::warn!(job = %job.name, "shutting down during a {what}; it is not recorded");
            return false;
        }
    };
    status.update(&job.name, |s| s.running = false);
    match result {
        Ok(run) => {
            let secs = (run.finished_ms - run.started_ms) as f64 / 1000.0;
            if run.ok {
                tracing::info!(job = %job.name, snapshot = run.snapshot.as_deref().unwrap_or(""), seconds = secs, bytes_added = run.bytes_added, "{what} finished");
            } else {
                tracing::error!(job = %job.name, error = run.error.as_deref().unwrap_or(""), seconds = secs, "{what} failed");
            }
            status.update(&job.name, |s| s.remember(&run));
        }
        Err(e) => tracing::error!(job = %job.name, error = %e, "{what} could not be recorded"),
    }
    true
}

/// One job with what running it needs.
struct JobSlot {
    job: BackupJob,
    ctx: RunContext,
    exclusive: Arc<tokio::sync::Mutex<()>>,
}

/// The daemon's jobs for the console ([`BackupJobs`]): their state, their snapshots, and
/// a run started by hand that takes the same per-job lock as the schedules.
pub struct Jobs {
    status: Arc<BackupStatus>,
    slots: Vec<JobSlot>,
    store: Store,
    shutdown: watch::Receiver<bool>,
    /// Snapshot lists by job, with the job's finished-run count and the time they were read:
    /// opening a repository derives its key (hundreds of ms), so the console's backups page
    /// reads a list again only after a run of the job, or after [`LISTING_TTL`] (a
    /// `backup forget` from the CLI).
    listed: Mutex<BTreeMap<String, Listing>>,
}

/// A cached snapshot list: the job's finished runs when read, when, and the list.
type Listing = (u64, std::time::Instant, Vec<SnapshotView>);

/// Longest a cached snapshot list is shown without reading the repository again.
const LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(60);

impl Jobs {
    fn slot(&self, name: &str) -> std::result::Result<&JobSlot, (ErrorKind, String)> {
        self.slots
            .iter()
            .find(|s| s.job.name == name)
            .ok_or_else(|| {
                let known: Vec<&str> = self.slots.iter().map(|s| s.job.name.as_str()).collect();
                (
                    ErrorKind::NotFound,
                    format!(
                        "no [[backups]] job \"{name}\" (jobs: {})",
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ),
                )
            })
    }
}

fn outcome(r: &Option<BackupRun>) -> Option<(i64, bool, Option<String>)> {
    r.as_ref().map(|r| (r.finished_ms, r.ok, r.error.clone()))
}

#[async_trait::async_trait]
impl BackupJobs for Jobs {
    fn jobs(&self, now: i64) -> Vec<BackupJobView> {
        let states = self.status.lock();
        self.slots
            .iter()
            .map(|slot| {
                let j = &slot.job;
                let st = states.get(&j.name);
                BackupJobView {
                    name: j.name.clone(),
                    node: j.node.clone(),
                    schedule: j.schedule.to_string(),
                    drill_schedule: j.drill_schedule.as_ref().map(|d| d.to_string()),
                    repo: chainops_core::secret::redact_url(&j.repo),
                    password_file: j.password_file.display().to_string(),
                    last_backup: st.and_then(|s| outcome(&s.last_backup)),
                    last_drill: st.and_then(|s| outcome(&s.last_drill)),
                    next_backup_ms: j.schedule.next_after(now),
                    next_drill_ms: j.drill_schedule.as_ref().and_then(|d| d.next_after(now)),
                    overdue: st.is_some_and(|s| s.overdue(now)),
                    running: st.is_some_and(|s| s.running),
                }
            })
            .collect()
    }

    async fn start(&self, name: &str, drill: bool) -> std::result::Result<(), (ErrorKind, String)> {
        let slot = self.slot(name)?;
        if slot.exclusive.try_lock().is_err() {
            return Err((
                ErrorKind::Conflict,
                format!("a run of {name} is going; wait for it to finish"),
            ));
        }
        let (job, ctx, store, status, exclusive, mut stop) = (
            slot.job.clone(),
            slot.ctx.clone(),
            self.store.clone(),
            self.status.clone(),
            slot.exclusive.clone(),
            self.shutdown.clone(),
        );
        tokio::spawn(async move {
            turn(&job, drill, &ctx, &store, &status, &exclusive, &mut stop).await;
        });
        Ok(())
    }

    async fn snapshots(
        &self,
        name: &str,
    ) -> std::result::Result<Vec<SnapshotView>, (ErrorKind, String)> {
        let job = self.slot(name)?.job.clone();
        let finished = self
            .status
            .lock()
            .get(name)
            .map_or(0, |s| s.runs.iter().chain(s.drills.iter()).sum::<u64>());
        let cache = || self.listed.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((n, at, list)) = cache().get(name)
            && *n == finished
            && at.elapsed() < LISTING_TTL
        {
            return Ok(list.clone());
        }
        let listed = tokio::task::spawn_blocking(move || -> Result<Vec<SnapshotView>> {
            let password = first_line(&job.password_file, "password")?;
            let backend = crate::open_backend(&job.repo, &s3_options(&job)?)?;
            let repo = match Repository::open(backend, &password) {
                Err(BackupError::NotARepository(_)) => return Ok(Vec::new()),
                other => other?,
            };
            let mut out: Vec<SnapshotView> = repo
                .snapshots()?
                .into_iter()
                .map(|(id, s)| SnapshotView {
                    id,
                    time_ms: s.time_ms,
                    bytes: s.stats.total_bytes,
                    tags: s.tags,
                })
                .collect();
            out.reverse();
            Ok(out)
        })
        .await
        .map_err(|e| {
            (
                ErrorKind::Internal,
                format!("listing snapshots panicked: {e}"),
            )
        })?;
        let list = listed.map_err(|e| (e.kind(), e.to_string()))?;
        cache().insert(
            name.to_string(),
            (finished, std::time::Instant::now(), list.clone()),
        );
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: &str, ok: bool, at: i64) -> BackupRun {
        BackupRun {
            job: "j".into(),
            node: "n".into(),
            kind: kind.into(),
            started_ms: at - 1000,
            finished_ms: at,
            ok,
            error: (!ok).then(|| "boom".into()),
            snapshot: None,
            bytes_read: 10,
            bytes_added: 5,
            files: 1,
            detail: json!({}),
        }
    }

    #[test]
    fn facts_and_metrics_follow_the_runs() {
        let status = BackupStatus::default();
        status.lock().insert(
            "j".into(),
            JobState {
                node: "n".into(),
                chain: "c".into(),
                overdue_after_ms: 60_000,
                since_ms: 0,
                ..JobState::default()
            },
        );
        let facts = |now| {
            status
                .node_facts("n", now)
                .into_iter()
                .collect::<BTreeMap<_, _>>()
        };
        assert!(status.node_facts("other", 0).is_empty());
        assert_eq!(facts(30_000)["backup_overdue"], 0.0);
        assert_eq!(facts(61_000)["backup_overdue"], 1.0, "never succeeded");
        assert!(!facts(61_000).contains_key("backup_age_seconds"));

        status.update("j", |s| s.remember(&run("backup", true, 100_000)));
        let f = facts(110_000);
        assert_eq!((f["backup_failed"], f["backup_overdue"]), (0.0, 0.0));
        assert_eq!(f["backup_age_seconds"], 10.0);
        status.update("j", |s| s.remember(&run("backup", false, 120_000)));
        status.update("j", |s| s.remember(&run("drill", false, 125_000)));
        let f = facts(130_000);
        assert_eq!((f["backup_failed"], f["drill_failed"]), (1.0, 1.0));
        assert_eq!(f["backup_overdue"], 0.0, "the last success is recent");
        assert_eq!(facts(170_000)["backup_overdue"], 1.0);

        let text = status.render(130_000);
        let labels = "job=\"j\",node=\"n\",chain=\"c\"";
        for line in [
            format!("chainops_backup_failed{{{labels}}} 1"),
            format!("chainops_backup_last_success_timestamp_seconds{{{labels}}} 100"),
            format!("chainops_backup_runs_total{{{labels},kind=\"backup\",result=\"ok\"}} 1"),
            format!("chainops_backup_runs_total{{{labels},kind=\"backup\",result=\"failed\"}} 1"),
            format!("chainops_backup_drill_failed{{{labels}}} 1"),
        ] {
            assert!(text.contains(&line), "{line}\n{text}");
        }
    }
}
