//! The audit trail (admins and auditors): records filtered by time, actor, action and
//! result, exported as CSV or JSON with the same filter, and verified (hash chain and
//! signed checkpoints) with the result shown.

use super::{Ctx, Page, page, render};
use crate::AppState;
use crate::auth_routes::auth_err;
use crate::error::ApiError;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chainops_auth::Permission;
use chainops_core::time::{now_ms, rfc3339};
use chainops_store::audit::AuditRow;
use serde::Deserialize;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/audit-trail",
            Permission::ReadAudit,
            None,
            "Console: the audit trail, filtered, with verification",
            || get(trail_page),
        ),
        page(
            "GET",
            "/audit-trail/export",
            Permission::ReadAudit,
            None,
            "Console: the filtered audit trail as CSV (`?format=csv`) or JSON (`?format=json`)",
            || get(export),
        ),
    ],
    nav: Some(("nav.audit_trail", "/audit-trail", Permission::ReadAudit)),
};

/// Ranges: (catalog key, value, milliseconds back).
const RANGES: &[(&str, &str, i64)] = &[
    ("range.24h", "24h", 86_400_000),
    ("range.7d", "7d", 7 * 86_400_000),
    ("range.30d", "30d", 30 * 86_400_000),
    ("range.all", "all", i64::MAX / 2),
];

/// Most records a page or an export holds.
const MAX_RECORDS: i64 = 10_000;

/// The filter.
#[derive(Deserialize, Default)]
pub struct Filter {
    #[serde(default)]
    range: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    result: String,
    #[serde(default)]
    verify: String,
    #[serde(default)]
    format: String,
}

/// The verification result as the page shows it.
pub struct Verified {
    /// Intact?
    pub ok: bool,
    /// Records checked.
    pub records: i64,
    /// Checkpoints checked.
    pub checkpoints: usize,
    /// First bad record: seq and reason.
    pub bad: Option<(i64, String)>,
}

/// The page.
#[derive(Template)]
#[template(path = "audit_trail.html")]
pub struct TrailPage {
    /// Context.
    pub c: Ctx,
    /// Filter.
    pub f: Filter,
    /// Ranges: (label, value, selected).
    pub ranges: Vec<(String, &'static str, bool)>,
    /// Records, newest first.
    pub rows: Vec<AuditRow>,
    /// Their times (RFC 3339), by index.
    pub times: Vec<String>,
    /// The export links' query.
    pub query: String,
    /// Verification, when asked for.
    pub verified: Option<Verified>,
}

async fn records(s: &AppState, f: &Filter) -> Result<Vec<AuditRow>, ApiError> {
    let back = super::range_ms(RANGES, &f.range);
    let since = now_ms().saturating_sub(back);
    let rows = s
        .auth
        .store()
        .audit_records_since(since, MAX_RECORDS)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    let (actor, action, result) = (
        f.actor.trim().to_lowercase(),
        f.action.trim().to_lowercase(),
        f.result.trim(),
    );
    let mut rows: Vec<AuditRow> = rows
        .into_iter()
        .filter(|r| actor.is_empty() || r.actor.to_lowercase().contains(&actor))
        .filter(|r| action.is_empty() || r.action.to_lowercase().contains(&action))
        .filter(|r| match result {
            "" => true,
            "ok" => r.result == "ok",
            _ => r.result != "ok",
        })
        .collect();
    rows.reverse();
    Ok(rows)
}

fn query_of(f: &Filter) -> String {
    serde_urlencoded::to_string([
        ("range", f.range.as_str()),
        ("actor", f.actor.as_str()),
        ("action", f.action.as_str()),
        ("result", f.result.as_str()),
    ])
    .unwrap_or_default()
}

async fn trail_page(State(s): State<AppState>, c: Ctx, Query(f): Query<Filter>) -> Response {
    let rows = match records(&s, &f).await {
        Ok(r) => r,
        Err(e) => return super::error_page(c, e),
    };
    let verified = if f.verify.is_empty() {
        None
    } else {
        match s.audit.verify().await {
            Ok(r) => Some(Verified {
                ok: r.ok(),
                records: r.records,
                checkpoints: r.checkpoints,
                bad: r.first_bad.map(|b| (b.seq, b.reason)),
            }),
            Err(e) => return super::error_page(c, auth_err(e)),
        }
    };
    let ranges = super::range_options(c.t, RANGES, &f.range);
    render(
        StatusCode::OK,
        TrailPage {
            times: rows.iter().map(|r| rfc3339(r.at_ms)).collect(),
            query: query_of(&f),
            ranges,
            rows,
            verified,
            f,
            c,
        },
    )
}

/// One CSV field, quoted when it needs to be; a leading `=+-@` is prefixed with `'` so a
/// spreadsheet does not run it as a formula.
fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

async fn export(State(s): State<AppState>, c: Ctx, Query(f): Query<Filter>) -> Response {
    let rows = match records(&s, &f).await {
        Ok(r) => r,
        Err(e) => return super::error_page(c, e),
    };
    match f.format.as_str() {
        "json" => {
            let list: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| serde_json::json!({"seq": r.seq, "at": rfc3339(r.at_ms), "actor": r.actor, "role": r.role,
                    "source": r.source, "action": r.action, "target": r.target, "result": r.result, "hash": r.hash}))
                .collect();
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"chainops-audit-trail.json\"",
                    ),
                ],
                serde_json::Value::Array(list).to_string(),
            )
                .into_response()
        }
        "csv" | "" => {
            let mut out = String::from("seq,at,actor,role,source,action,target,result,hash\n");
            for r in &rows {
                let fields = [
                    r.seq.to_string(),
                    rfc3339(r.at_ms),
                    r.actor.clone(),
                    r.role.clone(),
                    r.source.clone(),
                    r.action.clone(),
                    r.target.clone(),
                    r.result.clone(),
                    r.hash.clone(),
                ];
                let line: Vec<String> = fields.iter().map(|v| csv_field(v)).collect();
                out.push_str(&line.join(","));
                out.push('\n');
            }
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (
                        header::CONTENT_DISPOSITION,
                        "attachment; filename=\"chainops-audit-trail.csv\"",
                    ),
                ],
                out,
            )
                .into_response()
        }
        other => super::error_page(
            c,
            ApiError::invalid(format!("format \"{other}\" is not csv or json")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("多字节,文本"), "\"多字节,文本\"");
    }
}
