//! Contract audit: paste a Solidity file (or pick one: the script reads it into the box),
//! run the same analyzer as `chainops audit`, and read the findings with their code, severity
//! and fix advice; download the report as JSON or SARIF; earlier reports stay listed.
//! Pasted code names no files on this machine: imports are not read from disk.

use super::{Ctx, Page, page, render, see_other};
use crate::AppState;
use crate::error::ApiError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form};
use chainops_audit::finding::Severity;
use chainops_audit::source::SourceFile;
use chainops_auth::{Permission, Principal};
use chainops_core::time::{now_ms, rfc3339};
use chainops_store::audit_reports::AuditReportRow;
use serde::Deserialize;
use serde_json::Value;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/audit",
            Permission::ReadFleet,
            None,
            "Console: audit a Solidity contract; earlier reports",
            || get(audit_page),
        ),
        page(
            "POST",
            "/audit",
            Permission::RunAudit,
            Some("contract.audit"),
            "Console form: audit the pasted Solidity source (the report is kept)",
            || post(run_audit),
        ),
        page(
            "GET",
            "/audit/reports/{id}",
            Permission::ReadFleet,
            None,
            "Console: one audit report with code excerpts and fix advice",
            || get(report_page),
        ),
        page(
            "GET",
            "/audit/reports/{id}/download",
            Permission::ReadFleet,
            None,
            "Console: an audit report as JSON (`?format=json`) or SARIF (`?format=sarif`)",
            || get(download),
        ),
    ],
    nav: Some(("nav.audit", "/audit", Permission::ReadFleet)),
};

/// Largest source accepted (decoded; the form limit is 2 MiB encoded).
const MAX_SOURCE: usize = 512 * 1024;
/// Reports listed.
const HISTORY: i64 = 50;

/// A report in the history list.
pub struct HistoryItem {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// When.
    pub at: String,
    /// Who.
    pub actor: String,
    /// Counts: high, medium, low, parse errors.
    pub counts: (i64, i64, i64, i64),
}

/// The audit page.
#[derive(Template)]
#[template(path = "audit.html")]
pub struct AuditPage {
    /// Context.
    pub c: Ctx,
    /// Earlier reports.
    pub history: Vec<HistoryItem>,
    /// May the viewer run an audit?
    pub may_run: bool,
}

/// One finding as the report page shows it.
pub struct FindingItem {
    /// Severity.
    pub severity: String,
    /// Detector id.
    pub detector: String,
    /// SWC id.
    pub swc: String,
    /// Line.
    pub line: u64,
    /// Function.
    pub function: String,
    /// Message.
    pub message: String,
    /// Fix advice of the detector.
    pub fix: String,
    /// Code excerpt: (line number, text, is the finding's line).
    pub excerpt: Vec<(usize, String, bool)>,
}

/// The report page.
#[derive(Template)]
#[template(path = "audit_report.html")]
pub struct ReportPage {
    /// Context.
    pub c: Ctx,
    /// The report's summary.
    pub h: HistoryItem,
    /// Findings.
    pub findings: Vec<FindingItem>,
    /// Parse errors: line, message.
    pub errors: Vec<(u64, String)>,
}

fn item(r: &AuditReportRow) -> HistoryItem {
    HistoryItem {
        id: r.id.clone(),
        name: r.name.clone(),
        at: rfc3339(r.created_ms),
        actor: r.actor.clone(),
        counts: (r.high, r.medium, r.low, r.errors),
    }
}

async fn audit_page(State(s): State<AppState>, c: Ctx) -> Response {
    let history = match s.store.audit_reports(HISTORY).await {
        Ok(h) => h.iter().map(item).collect(),
        Err(e) => return super::error_page(c, ApiError::internal(e.kind(), e)),
    };
    let may_run = c.may(&Permission::RunAudit);
    render(
        StatusCode::OK,
        AuditPage {
            c,
            history,
            may_run,
        },
    )
}

/// The audit form.
#[derive(Deserialize)]
pub struct AuditForm {
    name: String,
    source: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

/// A file name for the pasted source: its last path part, `.sol` at the end, no more
/// than 100 characters; `contract.sol` when nothing usable is left.
fn file_name(given: &str) -> String {
    let base = given.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let base: String = base.chars().filter(|c| !c.is_control()).take(100).collect();
    let base = if base.is_empty() || base == "." || base == ".." {
        "contract.sol".to_string()
    } else {
        base
    };
    if base.ends_with(".sol") {
        base
    } else {
        format!("{base}.sol")
    }
}

async fn run_audit(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Form(f): Form<AuditForm>,
) -> Response {
    if f.source.trim().is_empty() {
        return super::error_page(
            c,
            ApiError::invalid("source is empty: paste a Solidity file or choose one"),
        );
    }
    if f.source.len() > MAX_SOURCE {
        return super::error_page(
            c,
            ApiError::invalid(format!(
                "the source is {} bytes; the console audits at most {MAX_SOURCE} (use `chainops audit` for projects)",
                f.source.len()
            )),
        );
    }
    let name = file_name(&f.name);
    let (source, file) = (f.source.clone(), name.clone());
    let made = tokio::task::spawn_blocking(move || {
        let report = chainops_audit::analyze(
            vec![SourceFile::new(&file, source)],
            &chainops_audit::Options {
                no_imports: true,
                ..chainops_audit::Options::default()
            },
        );
        let count =
            |sev: Severity| report.findings.iter().filter(|x| x.severity == sev).count() as i64;
        (
            count(Severity::High),
            count(Severity::Medium),
            count(Severity::Low),
            report.errors.len() as i64,
            serde_json::to_string(&report).unwrap_or_default(),
            chainops_audit::sarif::sarif(&report).to_string(),
        )
    })
    .await;
    let Ok((high, medium, low, errors, report, sarif)) = made else {
        return super::error_page(
            c,
            ApiError::internal(chainops_core::ErrorKind::Internal, "the analysis panicked"),
        );
    };
    let row = AuditReportRow {
        id: format!("{:016x}", rand::random::<u64>()),
        created_ms: now_ms(),
        actor: who.actor(),
        name,
        high,
        medium,
        low,
        errors,
        source: f.source,
        report,
        sarif,
    };
    if let Err(e) = s.store.save_audit_report(&row).await {
        return super::error_page(c, ApiError::internal(e.kind(), e));
    }
    see_other(&format!("/audit/reports/{}", row.id))
}

async fn load(s: &AppState, id: &str) -> Result<AuditReportRow, ApiError> {
    s.store
        .audit_report(id)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no audit report \"{id}\"; the audit page lists them"
            ))
        })
}

async fn report_page(State(s): State<AppState>, c: Ctx, Path(id): Path<String>) -> Response {
    let row = match load(&s, &id).await {
        Ok(r) => r,
        Err(e) => return super::error_page(c, e),
    };
    let report: Value = serde_json::from_str(&row.report).unwrap_or_default();
    let lines: Vec<&str> = row.source.lines().collect();
    let fixes: std::collections::HashMap<&str, &str> = chainops_audit::detectors::registry()
        .iter()
        .map(|d| (d.info().id, d.info().fix))
        .collect();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let findings = report["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let line = f["line"].as_u64().unwrap_or(0);
            let end = f["end_line"].as_u64().unwrap_or(line).max(line);
            let from = line.saturating_sub(2).max(1) as usize;
            let to = ((end + 2) as usize).min(lines.len()).min(from + 40);
            FindingItem {
                severity: text(&f["severity"]),
                swc: text(&f["swc"]),
                line,
                function: text(&f["function"]),
                message: text(&f["message"]),
                fix: fixes
                    .get(f["detector"].as_str().unwrap_or(""))
                    .copied()
                    .unwrap_or_default()
                    .to_string(),
                detector: text(&f["detector"]),
                excerpt: (from..=to)
                    .filter_map(|n| {
                        lines.get(n - 1).map(|t| {
                            (
                                n,
                                t.to_string(),
                                (line as usize..=end as usize).contains(&n),
                            )
                        })
                    })
                    .collect(),
            }
        })
        .collect();
    let errors = report["errors"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|e| (e["line"].as_u64().unwrap_or(0), text(&e["message"])))
        .collect();
    render(
        StatusCode::OK,
        ReportPage {
            h: item(&row),
            findings,
            errors,
            c,
        },
    )
}

/// `?format=`.
#[derive(Deserialize)]
pub struct Format {
    format: Option<String>,
}

async fn download(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Query(q): Query<Format>,
) -> Response {
    let row = match load(&s, &id).await {
        Ok(r) => r,
        Err(e) => return super::error_page(c, e),
    };
    let (body, ctype, ext) = match q.format.as_deref().unwrap_or("json") {
        "json" => (row.report, "application/json", "json"),
        "sarif" => (row.sarif, "application/sarif+json", "sarif"),
        other => {
            return super::error_page(
                c,
                ApiError::invalid(format!("format \"{other}\" is not json or sarif")),
            );
        }
    };
    let disposition = format!("attachment; filename=\"chainops-audit-{}.{ext}\"", row.id);
    (
        [
            (header::CONTENT_TYPE, ctype.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::file_name;

    #[test]
    fn uploaded_names_are_plain_file_names() {
        assert_eq!(file_name("Bank.sol"), "Bank.sol");
        assert_eq!(file_name("../../etc/passwd"), "passwd.sol");
        assert_eq!(file_name("C:\\x\\Vault.sol"), "Vault.sol");
        assert_eq!(file_name(""), "contract.sol");
        assert_eq!(file_name(".."), "contract.sol");
        assert_eq!(file_name("合约.sol"), "合约.sol");
        assert_eq!(file_name(&"a".repeat(500)).chars().count(), 104);
    }
}
