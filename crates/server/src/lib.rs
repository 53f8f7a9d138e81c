//! chainops-server: the only crate that speaks HTTP.
//!
//! Routes (see `docs/api.md` and `/api/openapi.json`): `/livez`, `/readyz`, `/metrics`,
//! `GET /api/v1/nodes`, `GET /api/v1/nodes/{name}`, `GET /api/v1/series`, alerts, incidents,
//! silences, notifications, notifiers and the Alertmanager intake. Errors are JSON
//! `{code, message}` with stable snake_case codes from [`ErrorKind`].

pub mod access;
pub mod api;
mod auth_routes;
mod bench_routes;
pub mod chain_routes;
mod cluster_routes;
pub mod config;
pub mod console;
mod error;
mod extract;
mod kb_routes;
pub mod limits;
mod log_routes;
mod notify_routes;
pub mod openapi;
pub mod panics;
mod routes;
mod schema;
mod session;
mod status_routes;
pub mod table;
mod ticket_routes;
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

/// The parts of the state built from the configuration: a reload (`SIGHUP`, `POST
/// /api/v1/config/reload`) replaces them all at once, and a request sees one or the other
/// whole, never a mix.
pub struct Live {
    /// Live node view.
    pub fleet: Arc<Fleet>,
    /// Notification channels (test endpoint, Alertmanager intake).
    pub notifiers: Arc<Vec<Arc<Notifier>>>,
    /// Log management (push endpoint, counters).
    pub logs: Option<Arc<chainops_logs::service::LogService>>,
    /// Other `/metrics` sections (scheduled backups).
    pub extra_metrics: Vec<Arc<dyn chainops_core::ports::MetricsSource>>,
    /// The effective configuration as TOML with secrets redacted (the console's settings page).
    pub settings: Arc<String>,
    /// Label names the configured alert rules add (silences may match them).
    pub label_names: Arc<Vec<String>>,
    /// The scheduled backup jobs (the console's backups page).
    pub backups: Option<Arc<dyn chainops_core::ports::BackupJobs>>,
    /// The support desk (tickets, the portal); absent in tools that serve no desk.
    pub desk: Option<Arc<chainops_desk::service::Desk>>,
}

/// What the handlers need.
#[derive(Clone)]
pub struct AppState {
    /// The configuration-built parts, swapped whole by a reload ([`AppState::live`]).
    pub live: LiveCell,
    /// Metric history.
    pub history: Arc<History>,
    /// The store.
    pub store: Store,
    /// Outbound HTTP client.
    pub http: reqwest::Client,
    /// Users, tokens, sessions.
    pub auth: Arc<Auth>,
    /// The audit trail.
    pub audit: Arc<AuditTrail>,
    /// Security switches.
    pub security: Arc<Security>,
    /// Applies the config file again (absent: the daemon runs without a config file).
    pub reloader: Option<Arc<dyn chainops_core::ports::ConfigReloader>>,
    /// This member's cluster coordinator (absent: a standalone daemon).
    pub cluster: Option<Arc<chainops_monitor::cluster::Coordinator>>,
}

impl AppState {
    /// The configuration-built parts in force now (one consistent set for a request).
    pub fn live(&self) -> Arc<Live> {
        self.live.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The shared cell of the configuration-built parts ([`AppState::live`]).
pub type LiveCell = Arc<std::sync::RwLock<Arc<Live>>>;

/// Puts a new set in force (a reload); requests already running keep the one they read.
pub fn replace_live(cell: &LiveCell, live: Live) {
    *cell.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(live);
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

/// [`router`] with a request-body timeout (a client trickling a body cannot hold a task)
/// and gzip for clients that accept it (pages, scripts, JSON, `/metrics`). Compressed
/// pages hold the CSRF token beside reflected input, but the session cookie is
/// `SameSite=Strict`, so no other site can make the browser fetch them (no BREACH).
pub fn router_with(state: AppState, limits: &limits::ConnectionLimits) -> Router {
    router(state)
        .layer(tower_http::compression::CompressionLayer::new().gzip(true))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_timeout,
        ))
}

/// The full router: every route of the table ([`table::all`]: the API and the console) behind the guard, security
/// headers and the panic catcher.
pub fn router(state: AppState) -> Router {
    table::all()
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
        .layer(axum::middleware::from_fn(error::json_errors))
        .fallback(routes::not_found)
        .with_state(state)
}

/// Applies the header and first-request timeouts of `limits` to a server.
pub(crate) fn tuned<Acc>(
    mut server: axum_server::Server<std::net::SocketAddr, Acc>,
    limits: &limits::ConnectionLimits,
) -> axum_server::Server<std::net::SocketAddr, Acc> {
    server
        .http_builder()
        .http1()
        .header_read_timeout(limits.header_read_timeout);
    server.first_request_timeout(limits.header_read_timeout)
}

/// A handle that drains in-flight requests for up to 10 s once `shutdown` resolves.
pub(crate) fn drain_on(
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> axum_server::Handle<std::net::SocketAddr> {
    let handle = axum_server::Handle::new();
    let h = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        h.graceful_shutdown(Some(std::time::Duration::from_secs(10)));
    });
    handle
}

/// Serves plain HTTP until `shutdown` resolves, then drains in-flight requests; `limits`
/// bound connections and slow clients (see [`limits`]); `max_connections` is the global
/// budget already capped to the descriptor limit.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    limits: limits::ConnectionLimits,
    max_connections: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = limits::LimitAcceptor::new(
        axum_server::accept::DefaultAcceptor::new(),
        max_connections,
        limits.max_connections_per_address,
    );
    tuned(axum_server::from_tcp(listener.into_std()?)?, &limits)
        .acceptor(acceptor)
        .handle(drain_on(shutdown))
        .serve(
            router_with(state, &limits)
                .into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
}
