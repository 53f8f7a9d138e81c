//! HTTPS: rustls via axum-server, with the certificate and key reloaded when their files
//! change (renewals need no restart). Plain HTTP on the TLS port fails the handshake.

use crate::limits::{ConnectionLimits, LimitAcceptor};
use crate::{AppState, router_with};
use axum_server::tls_rustls::RustlsAcceptor;
pub use axum_server::tls_rustls::RustlsConfig;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How often the certificate files are checked for changes.
pub const RELOAD_CHECK: Duration = Duration::from_secs(10);

/// Loads the PEM certificate chain and key; the error names the file and the fix.
pub async fn load(cert: &Path, key: &Path) -> std::io::Result<RustlsConfig> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    RustlsConfig::from_pem_file(cert, key).await.map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!(
                "cannot load TLS certificate {} / key {}: {e} (PEM files expected; `chainops serve --dev-tls` makes a self-signed pair)",
                cert.display(),
                key.display()
            ),
        )
    })
}

fn modified(paths: &[PathBuf]) -> Option<Vec<SystemTime>> {
    paths
        .iter()
        .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .collect()
}

/// Reloads `config` whenever `cert` or `key` changes, until `stop` turns true (a config
/// reload that names other files starts another watch).
pub async fn watch(
    config: RustlsConfig,
    cert: PathBuf,
    key: PathBuf,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let files = [cert.clone(), key.clone()];
    let mut last = modified(&files);
    let mut tick = tokio::time::interval(RELOAD_CHECK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = modified(&files);
        if now == last || now.is_none() {
            continue;
        }
        match config.reload_from_pem_file(&cert, &key).await {
            Ok(()) => {
                tracing::info!(cert = %cert.display(), "TLS certificate reloaded");
                last = now;
            }
            // Half-written renewal: keep serving the old pair and retry next check.
            Err(e) => {
                tracing::warn!(error = %e, "TLS certificate changed but cannot be loaded yet")
            }
        }
    }
}

/// Serves HTTPS on `listener` until `shutdown` resolves, then drains for up to 10 s; the
/// connection budgets are taken before the TLS handshake.
pub async fn serve(
    listener: std::net::TcpListener,
    state: AppState,
    config: RustlsConfig,
    limits: ConnectionLimits,
    max_connections: usize,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = RustlsAcceptor::new(config).acceptor(LimitAcceptor::new(
        axum_server::accept::DefaultAcceptor::new(),
        max_connections,
        limits.max_connections_per_address,
    ));
    crate::tuned(axum_server::from_tcp(listener)?, &limits)
        .acceptor(acceptor)
        .handle(crate::drain_on(shutdown))
        .serve(router_with(state, &limits).into_make_service_with_connect_info::<SocketAddr>())
        .await
}
