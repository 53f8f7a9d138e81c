//! `[server]` and `[server.tls]`: raw TOML mirrors and their validation.

use chainops_core::section::Problems;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Default HTTP listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// `[server]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawServer {
    /// Listen address.
    pub listen: Option<String>,
    /// Serve `/metrics` without credentials (default true).
    pub metrics_public: Option<bool>,
    /// `[server.tls]`.
    pub tls: Option<RawTls>,
}

/// `[server]`.
#[derive(Debug, Clone, Serialize)]
pub struct ServerConfig {
    /// Address the HTTP API listens on.
    pub listen: SocketAddr,
    /// `/metrics` needs no credentials.
    pub metrics_public: bool,
    /// HTTPS certificate and key (plain HTTP when absent).
    pub tls: Option<TlsConfig>,
}

/// `[server.tls]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTls {
    /// PEM certificate chain.
    pub cert_file: Option<String>,
    /// PEM private key.
    pub key_file: Option<String>,
}

/// HTTPS settings.
#[derive(Debug, Clone, Serialize)]
pub struct TlsConfig {
    /// PEM certificate chain (reloaded when it changes).
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
}

/// Validates `[server]` without its TLS part (the listen address is checked first, as
/// `config check` has always listed it).
pub fn validate_listen(raw: &RawServer, p: &mut Problems) -> SocketAddr {
    let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    listen_text.parse::<SocketAddr>().unwrap_or_else(|_| {
        p.add(
            "server.listen",
            format!("\"{listen_text}\" is not an IP:port address (e.g. \"127.0.0.1:8080\")"),
        );
        SocketAddr::from(([127, 0, 0, 1], 8080))
    })
}

/// Validates `[server]`; `listen` comes from [`validate_listen`].
pub fn validate(raw: RawServer, listen: SocketAddr, p: &mut Problems) -> ServerConfig {
    ServerConfig {
        listen,
        metrics_public: raw.metrics_public.unwrap_or(true),
        tls: raw.tls.and_then(|t| validate_tls(t, p)),
    }
}

fn validate_tls(t: RawTls, p: &mut Problems) -> Option<TlsConfig> {
    match (t.cert_file, t.key_file) {
        (Some(c), Some(k)) if !c.trim().is_empty() && !k.trim().is_empty() => Some(TlsConfig {
            cert_file: PathBuf::from(c),
            key_file: PathBuf::from(k),
        }),
        _ => {
            p.add(
                "server.tls",
                "needs both cert_file and key_file (PEM); or run `chainops serve --dev-tls` for a self-signed certificate",
            );
            None
        }
    }
}
