//! `[server.tls]` and `[security]`: raw TOML mirrors and their validation.

use crate::section::Problems;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

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

/// `[security]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSecurity {
    /// How long audit records are kept (default 180 days).
    pub audit_retention: Option<String>,
}

/// Validated security settings.
#[derive(Debug, Clone, Serialize)]
pub struct SecurityConfig {
    /// Audit records older than this are pruned (after a signed checkpoint).
    #[serde(serialize_with = "crate::section::ser_duration")]
    pub audit_retention: Duration,
}

/// Shortest audit retention accepted: MLPS 2.0 and the Cybersecurity Law (art. 21) expect
/// at least six months of logs.
pub const MIN_AUDIT_RETENTION: Duration = Duration::from_secs(180 * 86_400);

pub(crate) fn validate_tls(t: RawTls, p: &mut Problems) -> Option<TlsConfig> {
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

pub(crate) fn validate_security(s: RawSecurity, p: &mut Problems) -> SecurityConfig {
    let audit_retention = p.duration(
        "security.audit_retention",
        s.audit_retention.as_deref(),
        MIN_AUDIT_RETENTION,
        Duration::from_secs(86_400),
    );
    if audit_retention < MIN_AUDIT_RETENTION {
        p.add(
            "security.audit_retention",
            "is shorter than 180d; audit logs must be kept at least six months (MLPS 2.0, Cybersecurity Law art. 21)",
        );
    }
    SecurityConfig { audit_retention }
}
