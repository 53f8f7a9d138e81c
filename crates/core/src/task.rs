//! Supervised background tasks: a task that panics is logged and started again (with a
//! backoff), and every restart is counted for `/metrics`
//! (`chainops_task_restarts_total{task}`). A task that returns is done (shutdown).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use tokio::task::JoinHandle;

fn restarts_map() -> &'static Mutex<BTreeMap<String, u64>> {
    static R: OnceLock<Mutex<BTreeMap<String, u64>>> = OnceLock::new();
    R.get_or_init(Mutex::default)
}

/// Restarts so far, by task name.
pub fn restarts() -> BTreeMap<String, u64> {
    restarts_map()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
}

/// Aborts the inner task when the supervisor is aborted or dropped mid-await.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The text of a panic payload (`panic!("…")` gives `&str` or `String`).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic".into())
}

/// Longest wait between restarts.
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Spawns `make()` and starts it again whenever it panics: an error line names the task and
/// the panic, the restart counter grows, and the wait doubles from 1 s up to 60 s. The
/// returned handle finishes when a run returns normally.
pub fn spawn_supervised<F, Fut>(name: impl Into<String>, mut make: F) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let name = name.into();
    tokio::spawn(async move {
        let mut backoff = Duration::from_secs(1);
        loop {
            let mut run = AbortOnDrop(tokio::spawn(make()));
            match (&mut run.0).await {
                Ok(()) => return,
                Err(e) if e.is_cancelled() => return,
                Err(e) => {
                    let what = panic_message(e.into_panic().as_ref());
                    *restarts_map()
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .entry(name.clone())
                        .or_default() += 1;
                    tracing::error!(task = %name, panic = %what, restart_in_s = backoff.as_secs(), "background task panicked; restarting it");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn a_panicking_task_is_restarted_and_counted() {
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let h = spawn_supervised("test-flaky", move || {
            let r = r.clone();
            async move {
                if r.fetch_add(1, Ordering::SeqCst) < 2 {
                    panic!("boom");
                }
            }
        });
        h.await.expect("supervisor");
        assert_eq!(
            runs.load(Ordering::SeqCst),
            3,
            "two panics, then a clean return"
        );
        assert_eq!(restarts().get("test-flaky"), Some(&2));
    }

    #[tokio::test]
    async fn aborting_the_supervisor_stops_the_task() {
        let runs = Arc::new(AtomicU32::new(0));
        let r = runs.clone();
        let h = spawn_supervised("test-forever", move || {
            let r = r.clone();
            async move {
                loop {
                    r.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        h.abort();
        let _ = h.await;
        let seen = runs.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            seen,
            "the inner task was aborted too"
        );
    }
}
