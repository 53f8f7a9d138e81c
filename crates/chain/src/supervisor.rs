//! Supervision of managed nodes: start the process, capture stdout/stderr to a log file in
//! the data dir, restart it with exponential backoff when it exits, stop it cleanly
//! (SIGTERM, then SIGKILL after a grace period) on shutdown. A [`NodeControl`] can hold the
//! node stopped for a while (a consistent backup copy) and start it again.

use chainops_core::node_config::ManagedNode;
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
/// A requested stop (a hold) waits until the node has run this long: a node signalled while
/// it is still starting may exit without saving its state, or save a half-loaded one (anvil
/// writes `--state` from its signal handler).
pub const MIN_UP_BEFORE_HOLD: Duration = Duration::from_secs(3);

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
    hold: watch::Receiver<bool>,
    held: watch::Sender<bool>,
    control: NodeControl,
}

/// Stops a supervised node on request and starts it again (no restart backoff, not counted
/// as a restart).
#[derive(Clone)]
pub struct NodeControl {
    name: String,
    hold: Arc<watch::Sender<bool>>,
    held: watch::Receiver<bool>,
}

impl NodeControl {
    /// Asks the supervisor to stop the node and waits until the process has exited.
    pub async fn stop(&self) -> Result<(), String> {
        let mut held = self.held.clone();
        let stopped = async {
            // A release sent just before must be seen first, or the acknowledgement of the
            // last stop would be taken for this one while the node is started again.
            held.wait_for(|h| !*h).await.map(|_| ())?;
            self.hold.send_replace(true);
            held.wait_for(|h| *h).await.map(|_| ())
        };
        let limit = STOP_GRACE * 2 + MIN_UP_BEFORE_HOLD;
        match tokio::time::timeout(limit, stopped).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(format!("the supervisor of {} has ended", self.name)),
            Err(_) => Err(format!(
                "{} did not stop within {}s",
                self.name,
                limit.as_secs()
            )),
        }
    }

    /// Lets the supervisor start the node again.
    pub fn start(&self) {
        self.hold.send_replace(false);
    }
}

impl Supervisor {
    /// Prepares supervision of `spec`; its log goes to `work_dir/node.log`.
    pub fn new(name: &str, spec: ManagedNode, work_dir: PathBuf) -> Self {
        let status = ManagedStatus {
            log_file: work_dir.join("node.log"),
            ..ManagedStatus::default()
        };
        let (hold_tx, hold) = watch::channel(false);
        let (held, held_rx) = watch::channel(false);
        let control = NodeControl {
            name: name.to_string(),
            hold: Arc::new(hold_tx),
            held: held_rx,
        };
        Self {
            name: name.to_string(),
            spec,
            work_dir,
            status: Arc::new(Mutex::new(status)),
            hold,
            held,
            control,
        }
    }

    /// The handle that stops and restarts this node on request.
    pub fn control(&self) -> NodeControl {
        self.control.clone()
    }

    /// While a hold is requested: report the node stopped and wait for the release (or
    /// shutdown, then `false`).
    async fn wait_out_hold(
        &self,
        hold: &mut watch::Receiver<bool>,
        shutdown: &mut watch::Receiver<bool>,
    ) -> bool {
        if !*hold.borrow() {
            return true;
        }
        tracing::info!(node = %self.name, "managed node held stopped (backup)");
        self.held.send_replace(true);
        let released = tokio::select! {
            released = async { hold.wait_for(|h| !*h).await.is_ok() } => released,
            _ = shutdown.changed() => false,
        };
        self.held.send_replace(false);
        if released {
            tracing::info!(node = %self.name, "hold released; starting the managed node again");
        }
        released
    }

    /// Live status handle (for the API).
    pub fn status(&self) -> StatusHandle {
        self.status.clone()
    }

    /// Runs until `shutdown` turns true: starts, restarts with backoff, then stops the child.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        let mut first = true;
        let mut hold = self.hold.clone();
        loop {
            if *shutdown.borrow() || !self.wait_out_hold(&mut hold, &mut shutdown).await {
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
                        _ = async { hold.wait_for(|h| *h).await.map(|_| ()) } => {
                            tokio::time::sleep(MIN_UP_BEFORE_HOLD.saturating_sub(started.elapsed())).await;
                            stop_child(&self.name, &mut child).await;
                            self.lock().pid = None;
                            // A requested stop: start again as soon as released.
                            first = true;
                            backoff = MIN_BACKOFF;
                            continue;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pid(status: &StatusHandle) -> Option<u32> {
        status.lock().map(|s| s.pid).unwrap_or(None)
    }

    async fn until(what: &str, f: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn a_held_node_stops_and_starts_again_without_counting_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = ManagedNode {
            command: "sleep".into(),
            args: vec!["1000".into()],
            env: Default::default(),
        };
        let sup = Supervisor::new("sleeper", spec, dir.path().to_path_buf());
        let (status, control) = (sup.status(), sup.control());
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(sup.run(stop_rx));
        until("started", || pid(&status).is_some()).await;
        let first = pid(&status).expect("pid");

        control.stop().await.expect("stops");
        assert_eq!(pid(&status), None);
        let alive = std::path::Path::new(&format!("/proc/{first}/stat"))
            .exists()
            .then(|| std::fs::read_to_string(format!("/proc/{first}/stat")).unwrap_or_default());
        assert!(
            alive.is_none_or(|s| s.contains(") Z ")),
            "the old process is gone"
        );
        control.start();
        until("started again", || pid(&status).is_some()).await;
        assert_ne!(pid(&status), Some(first));
        assert_eq!(status.lock().map(|s| s.restarts).unwrap_or(99), 0);

        stop_tx.send_replace(true);
        task.await.expect("supervisor ends");
    }

    /// A stop requested right after a release (back-to-back backups) lets the node finish
    /// starting first, so its shutdown handler runs: here a shell that needs a second before
    /// it traps SIGTERM and records it.
    #[tokio::test]
    async fn a_stop_right_after_a_release_lets_the_node_start_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("terms");
        let script = format!(
            "sleep 1; trap 'echo term >> {}; exit 0' TERM; while true; do sleep 0.05; done",
            log.display()
        );
        let spec = ManagedNode {
            command: "sh".into(),
            args: vec!["-c".into(), script],
            env: Default::default(),
        };
        let sup = Supervisor::new("slow-start", spec, dir.path().to_path_buf());
        let (status, control) = (sup.status(), sup.control());
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(sup.run(stop_rx));
        until("started", || pid(&status).is_some()).await;
        control.stop().await.expect("first stop");
        control.start();
        control
            .stop()
            .await
            .expect("second stop, right after the release");
        let terms = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(terms.lines().count(), 2, "both stops reached the handler");
        control.start();
        stop_tx.send_replace(true);
        task.await.expect("supervisor ends");
    }
}
