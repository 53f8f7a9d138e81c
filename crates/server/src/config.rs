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
    /// Connections open at once, all clients (default 4096, capped at half the descriptor limit).
    pub max_connections: Option<i64>,
    /// Connections open at once from one IP address (default 256).
    pub max_connections_per_address: Option<i64>,
    /// Time a client has to send request headers (default 10s).
    pub header_read_timeout: Option<String>,
    /// Time a client has to send a request body (default 30s).
    pub body_timeout: Option<String>,
    /// The URL people reach this daemon at (`https://ops.example.org/chainops`): the base
    /// of runbook links in notifications and exported rules, and of console links.
    pub external_url: Option<String>,
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
    /// Connection budgets and slow-client timeouts.
    #[serde(flatten)]
    pub limits: crate::limits::ConnectionLimits,
    /// `[server] external_url`, without a trailing slash.
    pub external_url: Option<String>,
}

impl ServerConfig {
    /// The base of links to this daemon: `external_url`, else the address it listens on
    /// (`bound`, once known, else `listen`; an unspecified IP reads as 127.0.0.1).
    pub fn external_base(&self, bound: Option<SocketAddr>) -> String {
        if let Some(u) = &self.external_url {
            return u.clone();
        }
        let mut addr = bound.unwrap_or(self.listen);
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{addr}")
    }
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
    let d = crate::limits::ConnectionLimits::default();
    let count = |p: &mut Problems, key: &str, v: Option<i64>, default: usize| match v {
        None => default,
        Some(n) if (1..=1_000_000).contains(&n) => n as usize,
        Some(n) => {
            p.add(
                format!("server.{key}"),
                format!("{n} is out of range; use 1..=1000000"),
            );
            default
        }
    };
    let max_connections = count(p, "max_connections", raw.max_connections, d.max_connections);
    let per_address = count(
        p,
        "max_connections_per_address",
        raw.max_connections_per_address,
        d.max_connections_per_address,
    );
    if per_address > max_connections {
        p.add(
            "server.max_connections_per_address",
            format!("{per_address} is more than max_connections ({max_connections})"),
        );
    }
    let limits = crate::limits::ConnectionLimits {
        max_connections,
        max_connections_per_address: per_address,
        header_read_timeout: p.duration(
            "server.header_read_timeout",
            raw.header_read_timeout.as_deref(),
            d.header_read_timeout,
            std::time::Duration::from_secs(1),
        ),
        body_timeout: p.duration(
            "server.body_timeout",
            raw.body_timeout.as_deref(),
            d.body_timeout,
            std::time::Duration::from_secs(1),
        ),
    };
    let external_url = match raw.external_url {
        None => None,
        Some(u) if chainops_core::section::is_http_url(&u) && !u.contains(['?', '#']) => {
            Some(u.trim_end_matches('/').to_string())
        }
        Some(u) => {
            p.add(
                "server.external_url",
                format!("\"{u}\" is not an http(s) URL without query or fragment; write the address people open, e.g. \"https://ops.example.org/chainops\""),
            );
            None
        }
    };
    ServerConfig {
        listen,
        metrics_public: raw.metrics_public.unwrap_or(true),
        tls: raw.tls.and_then(|t| validate_tls(t, p)),
        limits,
        external_url,
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
