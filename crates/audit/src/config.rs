//! `[audit]`: which detectors `chainops audit` runs, import remappings, the failing severity.

use chainops_core::section::Problems;
use serde::{Deserialize, Serialize};

/// `[audit]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawAudit {
    /// Run only these detector ids.
    pub only: Option<Vec<String>>,
    /// Never run these detector ids.
    pub disabled: Option<Vec<String>>,
    /// Import remappings `prefix=path`.
    pub remap: Option<Vec<String>>,
    /// Default of `--fail-on`.
    pub fail_on: Option<String>,
}

/// Validated `[audit]` (detector ids are checked by the audit job, which knows them).
#[derive(Debug, Clone, Default, Serialize)]
pub struct AuditConfig {
    /// Only these detectors (all when empty).
    pub only: Vec<String>,
    /// Disabled detectors.
    pub disabled: Vec<String>,
    /// Remappings (prefix, path).
    pub remap: Vec<(String, String)>,
    /// `high`, `medium` or `low`.
    pub fail_on: Option<String>,
}

/// Splits `prefix=path`.
pub fn parse_remap(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((p, d)) if !p.is_empty() && !d.is_empty() => Ok((p.to_string(), d.to_string())),
        _ => Err(format!(
            "\"{s}\" is not PREFIX=DIR (e.g. @openzeppelin/=node_modules/@openzeppelin/)"
        )),
    }
}

/// Validates the section, reporting every problem into `p`.
pub fn validate(raw: RawAudit, p: &mut Problems) -> AuditConfig {
    let mut remap = Vec::new();
    for (i, r) in raw.remap.unwrap_or_default().iter().enumerate() {
        match parse_remap(r) {
            Ok(x) => remap.push(x),
            Err(m) => p.add(format!("audit.remap[{i}]"), m),
        }
    }
    let fail_on = raw.fail_on.filter(|f| {
        let ok = matches!(f.as_str(), "high" | "medium" | "low");
        if !ok {
            p.add("audit.fail_on", format!("\"{f}\": use high, medium or low"));
        }
        ok
    });
    AuditConfig {
        only: raw.only.unwrap_or_default(),
        disabled: raw.disabled.unwrap_or_default(),
        remap,
        fail_on,
    }
}
