//! chainops-server: the only crate that speaks HTTP.
//!
//! Routes (see `docs/api.md` and `/api/openapi.json`): `/livez`, `/readyz`, `/metrics`,
//! `GET /api/v1/nodes`, `GET /api/v1/nodes/{name}`, `GET /api/v1/series`, alerts, incidents,
//! silences, notifications, notifiers and the Alertmanager intake. Errors are JSON
//! `{code, message}` with stable snake_case codes from [`ErrorKind`].

mod error;
mod notify_routes;
mod routes;
mod time_param;

pub use error::ApiError;

use axum::Router;
use chainops_alert::notify::Notifier;
use chainops_monitor::fleet::Fleet;
use chainops_monitor::history::History;
use chainops_store::Store;
use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// What the handlers need.
#[derive(Clone)]
pub struct AppState {
    /// Live node view.
    pub fleet: Arc<Fleet>,
    /// Metric history.
    pub history: Arc<History>,
    /// The store.
    pub store: Store,
    /// Notification channels (test endpoint, Alertmanager intake).
    pub notifiers: Arc<Vec<Arc<Notifier>>>,
    /// Outbound HTTP client.
    pub http: reqwest::Client,
}

/// The full router.
pub fn router(state: AppState) -> Router {
    routes::router(state)
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
