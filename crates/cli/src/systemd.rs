//! systemd integration of `chainops serve` under a `Type=notify` unit: readiness once the
//! listener is up and the parts started, `RELOADING`/`READY` around a SIGHUP reload,
//! `STOPPING` on shutdown, and watchdog pings from the async runtime (a wedged runtime stops
//! pinging and systemd restarts the daemon). Outside systemd (`NOTIFY_SOCKET` unset) every
//! call does nothing.

use sd_notify::NotifyState;
use std::time::Duration;
use tokio::sync::watch;

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, states) {
        tracing::warn!(error = %e, "cannot notify systemd");
    }
}

/// The daemon serves: `READY=1` with a status line.
pub fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A reload starts (`RELOADING=1`); [`ready`] ends it.
pub fn reloading() {
    notify(&[NotifyState::Reloading]);
}

/// Shutdown starts.
pub fn stopping() {
    notify(&[NotifyState::Stopping]);
}

/// With `WatchdogSec=` set, pings systemd at half the interval until `stop` turns true.
pub fn spawn_watchdog(mut stop: watch::Receiver<bool>) -> Option<tokio::task::JoinHandle<()>> {
    let mut usec = 0;
    if !sd_notify::watchdog_enabled(false, &mut usec) || usec == 0 {
        return None;
    }
    let every = Duration::from_micros(usec / 2);
    tracing::info!(
        every_ms = every.as_millis() as u64,
        "systemd watchdog enabled"
    );
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = tick.tick() => notify(&[NotifyState::Watchdog]),
                _ = stop.changed() => return,
            }
        }
    }))
}
