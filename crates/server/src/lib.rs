//! chainops-server: the only crate that speaks HTTP.
//!
//! Routes (see `docs/api.md` and `/api/openapi.json`): `/livez`, `/readyz`, `/metrics`,
//! `GET /api/v1/nodes`, `GET /api/v1/nodes/{name}`, `GET /api/v1/series`, alerts, incidents,
//! silences, notifications, notifiers and the Alertmanager intake. Errors are JSON
//! `{code, message}` with stable snake_case codes from [`ErrorKind`].

pub mod access;
pub mod api;
mod auth_routes;
pub mod config;
mod error;
mod extract;
mod log_routes;
mod notify_routes;
pub mod openapi;
pub mod panics;
mod routes;
mod schema;
mod session;
mod time_param;
pub mod tls;

pub use error::ApiError;

use axum::Router;
use chainops_alert::notify::Notifier;
use chainops_auth::Auth;
use chainops_auth::audit_trail::AuditTrail;
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
    /// Users, tokens, sessions.
    pub auth: Arc<Auth>,
    /// The audit trail.
    pub audit: Arc<AuditTrail>,
    /// Security switches.
    pub security: Arc<Security>,
    /// Log management (push endpoint, counters).
    pub logs: Option<Arc<chainops_logs::service::LogService>>,
    /// Other `/metrics` sections (scheduled backups).
    pub extra_metrics: Vec<Arc<dyn chainops_core::ports::MetricsSource>>,
}

/// Security switches of the HTTP surface.
#[derive(Debug, Default)]
pub struct Security {
    /// `/metrics` needs no credentials.
    pub metrics_public: bool,
    /// Served over TLS (cookies get `Secure`, responses HSTS).
    pub tls: bool,
    /// Digest of the one-time first-admin setup token (none once a user exists).
    pub setup_token_digest: std::sync::Mutex<Option<String>>,
}

/// The full router: every route of the table ([`api::ROUTES`]) behind the guard, security
/// headers and the panic catcher.
pub fn router(state: AppState) -> Router {
    api::ROUTES
        .iter()
        .fold(Router::new(), |r, route| {
            r.route(route.path, (route.handler)())
        })
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            access::guard,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::security_headers,
        ))
        .layer(axum::Extension(Arc::new(openapi::document())))
        .layer(panics::layer())
        .fallback(routes::not_found)
        .with_state(state)
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
