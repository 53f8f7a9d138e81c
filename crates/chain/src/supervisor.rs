//! Supervision of managed nodes: start the process, capture stdout/stderr to a log file in
//! the data dir, restart it with exponential backoff when it exits, stop it cleanly
//! (SIGTERM, then SIGKILL after a grace period) on shutdown.

use chainops_core::config::ManagedNode;
use chainops_core::time::now_ms;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// First restart delay; doubles per quick exit up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Longest restart delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A run this long resets the backoff.
pub const HEALTHY_RUN: Duration = Duration::from_secs(60);
/// Time between SIGTERM and SIGKILL on stop.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// What the supervisor reports about its process.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ManagedStatus {
    /// PID while running.
    pub pid: Option<u32>,
    /// Times the process was restarted after exiting.
    pub restarts: u64,
    /// Exit status of the last run, as text.
    pub last_exit: Option<String>,
    /// When the current run started, epoch ms.
    pub started_ms: Option<i64>,
    /// Where stdout/stderr go.
    pub log_file: PathBuf,
    /// Set when the program cannot be started at all.
    pub last_error: Option<String>,
}

/// Shared, live view of a supervised process.
pub type StatusHandle = Arc<Mutex<ManagedStatus>>;

/// A process under supervision.
pub struct Supervisor {
    name: String,
    spec: ManagedNode,
    work_dir: PathBuf,
    status: StatusHandle,
}

impl Supervisor {
    /// Prepares supervision of `spec`; its log goes to `work_dir/node.log`.
    pub fn new(name: &str, spec: ManagedNode, work_dir: PathBuf) -> Self {
        let status = ManagedStatus {
            log_file: work_dir.join("node.log"),
            ..ManagedStatus::default()
        };
        Self {
            name: name.to_string(),
            spec,
            work_dir,
            status: Arc::new(Mutex::new(status)),
        }
    }

    /// Live status handle (for the API).
    pub fn status(&self) -> StatusHandle {
        self.status.clone()
    }

    /// Runs until `shutdown` turns true: starts, restarts with backoff, then stops the child.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        let mut first = true;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let started = tokio::time::Instant::now();
            match self.spawn() {
                Ok(mut child) => {
                    {
                        let mut s = self.lock();
                        s.pid = child.id();
                        s.started_ms = Some(now_ms());
                        s.last_error = None;
                        if !first {
                            s.restarts += 1;
                        }
                    }
                    tracing::info!(node = %self.name, pid = ?child.id(), command = %self.spec.command, "managed node started");
                    tokio::select! {
                        status = child.wait() => {
                            let text = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                            tracing::warn!(node = %self.name, exit = %text, "managed node exited; restarting after backoff");
                            let mut s = self.lock();
                            s.pid = None;
                            s.last_exit = Some(text);
                        }
                        _ = shutdown.changed() => {
                            stop_child(&self.name, &mut child).await;
                            self.lock().pid = None;
                            return;
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(node = %self.name, command = %self.spec.command, error = %e, "cannot start managed node");
                    self.lock().last_error = Some(e);
                }
            }
            first = false;
            if started.elapsed() >= HEALTHY_RUN {
                backoff = MIN_BACKOFF;
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ManagedStatus> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spawn(&self) -> Result<Child, String> {
        std::fs::create_dir_all(&self.work_dir)
            .map_err(|e| format!("cannot create {}: {e}", self.work_dir.display()))?;
        let log_path = self.work_dir.join("node.log");
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_path)
                .map_err(|e| format!("cannot open {}: {e}", log_path.display()))
        };
        let (out, err) = (open()?, open()?);
        Command::new(&self.spec.command)
            .args(&self.spec.args)
            .envs(&self.spec.env)
            .current_dir(&self.work_dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.spec.command))
    }
}

/// SIGTERM, wait up to [`STOP_GRACE`], then SIGKILL.
async fn stop_child(name: &str, child: &mut Child) {
    if let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        if tokio::time::timeout(STOP_GRACE, child.wait()).await.is_ok() {
            tracing::info!(node = %name, "managed node stopped");
            return;
        }
        tracing::warn!(node = %name, "managed node ignored SIGTERM; killing");
    }
    let _ = child.kill().await;
}
