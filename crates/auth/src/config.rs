//! `[security]`: the raw TOML mirror and its validation.

use chainops_core::section::Problems;
use serde::{Deserialize, Serialize};
use std::time::Duration;

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
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub audit_retention: Duration,
}

/// Shortest audit retention accepted: MLPS 2.0 and the Cybersecurity Law (art. 21) expect
/// at least six months of logs.
pub const MIN_AUDIT_RETENTION: Duration = Duration::from_secs(180 * 86_400);

/// Validates `[security]`.
pub fn validate(s: RawSecurity, p: &mut Problems) -> SecurityConfig {
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
