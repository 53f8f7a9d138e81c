//! Contract audit: paste a Solidity file (or pick one: the script reads it into the box),
//! run the same analyzer as `chainops audit`, and read the findings with their code, severity
//! and fix advice; download the report as JSON or SARIF; earlier reports stay listed.
//! Pasted code names no files on this machine: imports are not read from disk.

use super::{Ctx, Page, page, render, see_other};
use crate::AppState;
use crate::error::ApiError;
use askama::Template;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form};
use chainops_audit::finding::Severity;
use chainops_audit::source::SourceFile;
use chainops_auth::{Permission, Principal};
use chainops_core::time::{now_ms, rfc3339};
use chainops_store::audit_reports::AuditReportRow;
use serde::Deserialize;
use serde_json::{Value, json};

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
            "POST",
            "/audit/project",
            Permission::RunAudit,
            Some("contract.audit_project"),
            "Console form: audit a zipped project (multipart, field `project`; tests, scripts, mocks and dependencies are context)",
            || {
                post(audit_project).layer(axum::extract::DefaultBodyLimit::max(
                    crate::limits::MAX_UPLOAD_BYTES,
                ))
            },
        ),
        page(
            "POST",
            "/audit/address",
            Permission::RunAudit,
            Some("contract.audit_address"),
            "Console form: check the code deployed at an address through a configured EVM node",
            || post(audit_address),
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
    /// Configured EVM nodes (for an audit of deployed code).
    pub evm_nodes: Vec<String>,
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
    /// Byte offset in deployed code (a check of an address).
    pub pc: Option<u64>,
    /// Function.
    pub function: String,
    /// File inside a project (empty for a single file).
    pub file: String,
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
    /// Parse errors: line (0: the file was not analysed at all), message.
    pub errors: Vec<(u64, String)>,
    /// Deployed code checked (an address audit): (catalog key, value) per contract.
    pub deployed: Vec<CodeFacts>,
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
    let evm_nodes = s
        .live()
        .fleet
        .reports(now_ms())
        .into_iter()
        .filter(|r| r.kind == chainops_chain::evm::KIND)
        .map(|r| r.name)
        .collect();
    render(
        StatusCode::OK,
        AuditPage {
            c,
            history,
            may_run,
            evm_nodes,
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
        made_of(
            chainops_audit::analyze(
                vec![SourceFile::new(&file, source)],
                &chainops_audit::Options {
                    no_imports: true,
                    ..chainops_audit::Options::default()
                },
            ),
            None,
        )
    })
    .await
    .map(Ok);
    match finished(made) {
        Ok(made) => keep(&s, &who, c, name, f.source, made).await,
        Err(e) => super::error_page(c, e),
    }
}

/// The outcome of an analysis run on the blocking pool: its refusal (an archive that is not
/// one) is a 400 naming it; a panic is an internal error.
fn finished<T>(r: Result<Result<T, String>, tokio::task::JoinError>) -> Result<T, ApiError> {
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(message)) => Err(ApiError::invalid(message)),
        Err(_) => Err(ApiError::internal(
            chainops_core::ErrorKind::Internal,
            "the analysis panicked",
        )),
    }
}

/// A finished analysis: its counts, JSON and SARIF.
struct Made {
    counts: (i64, i64, i64, i64),
    report: String,
    sarif: String,
}

/// Counts and renders `report`; with `own`, only findings and parse errors in the files it
/// accepts are kept (the others were context).
fn made_of(mut report: chainops_audit::Report, own: Option<fn(&str) -> bool>) -> Made {
    if let Some(own) = own {
        report.findings.retain(|f| own(&f.file));
        report.errors.retain(|e| own(&e.file));
        report.files.retain(|f| own(f));
    }
    let count = |sev: Severity| report.findings.iter().filter(|x| x.severity == sev).count() as i64;
    Made {
        counts: (
            count(Severity::High),
            count(Severity::Medium),
            count(Severity::Low),
            report.errors.len() as i64,
        ),
        report: serde_json::to_string(&report).unwrap_or_default(),
        sarif: chainops_audit::sarif::sarif(&report).to_string(),
    }
}

/// Stores a finished analysis and shows it.
async fn keep(
    s: &AppState,
    who: &Principal,
    c: Ctx,
    name: String,
    source: String,
    made: Made,
) -> Response {
    let (high, medium, low, errors) = made.counts;
    let row = AuditReportRow {
        id: format!("{:016x}", rand::random::<u64>()),
        created_ms: now_ms(),
        actor: who.actor(),
        name,
        high,
        medium,
        low,
        errors,
        source,
        report: made.report,
        sarif: made.sarif,
    };
    if let Err(e) = s.store.save_audit_report(&row).await {
        return super::error_page(c, ApiError::internal(e.kind(), e));
    }
    see_other(&format!("/audit/reports/{}", row.id))
}

/// Reads the uploaded `project` file of the multipart form: (file name, bytes).
async fn uploaded_project(form: Multipart) -> Result<(String, Vec<u8>), ApiError> {
    super::uploaded_file(form, "project").await?.ok_or_else(|| {
        ApiError::invalid(
            "no project in the form: choose a .zip of the project (Foundry, Hardhat or plain .sol files)",
        )
    })
}

/// A name for an uploaded archive: its last path part ending in `.zip`.
fn zip_name(given: &str) -> String {
    let base = file_name(given);
    let stem = base.strip_suffix(".sol").unwrap_or(&base);
    if stem.ends_with(".zip") {
        stem.to_string()
    } else {
        format!("{stem}.zip")
    }
}

async fn audit_project(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    form: Multipart,
) -> Response {
    let (name, bytes) = match uploaded_project(form).await {
        Ok(v) => v,
        Err(e) => return super::error_page(c, e),
    };
    let made = tokio::task::spawn_blocking(move || {
        let project = chainops_audit::archive::read_zip(&bytes, Default::default())?;
        let own = chainops_audit::archive::Project::is_own;
        // Only the project's own files are kept for the excerpts.
        let sources: std::collections::BTreeMap<String, &str> = project
            .files
            .iter()
            .map(|f| (f.path.display().to_string(), f.text.as_str()))
            .filter(|(p, _)| own(p))
            .collect();
        if sources.is_empty() {
            return Err(
                "the archive holds only tests, scripts, mocks or dependencies (lib/, node_modules/, test/, script/, mocks/, *.t.sol, *.s.sol)"
                    .to_string(),
            );
        }
        let kept = serde_json::to_string(&sources).unwrap_or_default();
        let options = chainops_audit::Options {
            no_imports: true,
            remaps: project.remaps.clone(),
            ..chainops_audit::Options::default()
        };
        let mut report = chainops_audit::analyze(project.files, &options);
        // What could not be read is said on the report, not dropped in silence.
        report
            .errors
            .extend(project.skipped.into_iter().map(|(file, why)| {
                chainops_audit::parse::Diagnostic {
                    message: format!("{file}: {why}"),
                    file,
                    line: 0,
                    column: 0,
                }
            }));
        let made = made_of(report, Some(own));
        Ok((made, kept))
    })
    .await;
    match finished(made) {
        Ok((made, kept)) => keep(&s, &who, c, zip_name(&name), kept, made).await,
        Err(e) => super::error_page(c, e),
    }
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
    // A project's own files are kept as a JSON map of path → text; a pasted file as is.
    let project: std::collections::BTreeMap<String, String> = if row.name.ends_with(".zip") {
        serde_json::from_str(&row.source).unwrap_or_default()
    } else {
        Default::default()
    };
    let lines_of = |file: &str| -> Vec<&str> {
        if row.name.ends_with(".zip") {
            project
                .get(file)
                .map(|t| t.lines().collect())
                .unwrap_or_default()
        } else {
            row.source.lines().collect()
        }
    };
    let fixes: std::collections::HashMap<&str, &str> = chainops_audit::detectors::registry()
        .iter()
        .map(|d| (d.info().id, d.info().fix))
        .collect();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let findings: Vec<FindingItem> = report["findings"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let lines = lines_of(f["file"].as_str().unwrap_or_default());
            let line = f["line"].as_u64().unwrap_or(0);
            let end = f["end_line"].as_u64().unwrap_or(line).max(line);
            let from = line.saturating_sub(2).max(1) as usize;
            let to = ((end + 2) as usize).min(lines.len()).min(from + 40);
            FindingItem {
                severity: text(&f["severity"]),
                swc: chainops_audit::finding::weakness_ids(f["swc"].as_str(), f["cwe"].as_str()),
                line,
                pc: None,
                function: text(&f["function"]),
                file: if row.name.ends_with(".zip") {
                    text(&f["file"])
                } else {
                    String::new()
                },
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
    let (deployed, code_findings) = deployed_of(&report);
    let findings = findings.into_iter().chain(code_findings).collect();
    render(
        StatusCode::OK,
        ReportPage {
            h: item(&row),
            findings,
            errors,
            deployed,
            c,
        },
    )
}

/// Facts of one checked contract: (catalog key, value).
type CodeFacts = Vec<(&'static str, String)>;

/// The contracts and findings of a deployed-code report (`{"contracts": [...]}`).
fn deployed_of(report: &Value) -> (Vec<CodeFacts>, Vec<FindingItem>) {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let mut facts = Vec::new();
    let mut findings = Vec::new();
    for c in report["contracts"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let proxy = &c["proxy"];
        let mut rows = vec![
            ("audit.address", text(&c["address"])),
            (
                "audit.code_size",
                c["code_size"].as_u64().unwrap_or(0).to_string(),
            ),
            ("audit.code_hash", text(&c["code_hash"])),
        ];
        if let Some(v) = c["verified"].as_str() {
            rows.push(("audit.verified", v.to_string()));
        }
        if proxy.is_object() {
            rows.push((
                "audit.proxy",
                format!(
                    "{} → {}",
                    text(&proxy["kind"]),
                    text(&proxy["implementation"])
                ),
            ));
        }
        facts.push(rows);
        for f in c["findings"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            findings.push(FindingItem {
                severity: text(&f["severity"]),
                detector: text(&f["detector"]),
                swc: String::new(),
                line: 0,
                pc: f["pc"].as_u64(),
                function: String::new(),
                file: String::new(),
                message: text(&f["message"]),
                fix: String::new(),
                excerpt: Vec::new(),
            });
        }
    }
    (facts, findings)
}

/// The address form.
#[derive(Deserialize)]
pub struct AddressForm {
    node: String,
    address: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

/// Reads the runtime code and the proxy slots of `address` through `node`'s RPC and checks
/// them like `chainops audit --address`.
async fn check_address(
    s: &AppState,
    node: &str,
    address: &str,
) -> Result<chainops_audit::bytecode::CodeReport, ApiError> {
    let address = address.trim();
    if !chainops_audit::bytecode::is_address(address) {
        return Err(ApiError::invalid(format!(
            "\"{}\" is not an address: 0x and 40 hex digits",
            address.chars().take(80).collect::<String>()
        )));
    }
    let fleet = s.live().fleet.clone();
    let config = fleet
        .index_of(node)
        .map(|i| fleet.lock(i).config.clone())
        .filter(|c| c.kind == chainops_chain::evm::KIND)
        .ok_or_else(|| {
            ApiError::invalid(format!(
                "\"{}\" is not a configured EVM node; pick one from the list",
                node.chars().take(64).collect::<String>()
            ))
        })?;
    let upstream = |e: &dyn std::fmt::Display| ApiError::upstream(format!("node {node}: {e}"));
    let rpc =
        chainops_chain::registry::rpc_client_for(&config, &s.http).map_err(|e| upstream(&e))?;
    let mut log = chainops_core::ports::RpcLog::default();
    let code_hex = rpc
        .call("eth_getCode", json!([address, "latest"]), &mut log)
        .await
        .map_err(|e| upstream(&e))?;
    let code =
        chainops_core::hex::decode(code_hex.as_str().unwrap_or("0x").trim_start_matches("0x"))
            .ok_or_else(|| upstream(&"eth_getCode returned bad hex"))?;
    if code.is_empty() {
        return Err(ApiError::not_found(format!(
            "no code at {address} on {node} (not a contract, self-destructed, or another chain)"
        )));
    }
    let mut slots = std::collections::HashMap::new();
    for slot in chainops_audit::bytecode::PROXY_SLOTS {
        let word = rpc
            .call(
                "eth_getStorageAt",
                json!([address, slot, "latest"]),
                &mut log,
            )
            .await
            .map_err(|e| upstream(&e))?;
        if let Some(w) = word.as_str() {
            slots.insert(slot, w.to_string());
        }
    }
    let mut storage = |slot: &str| slots.get(slot).cloned();
    Ok(chainops_audit::bytecode::check(
        address,
        &code,
        &mut storage,
        None,
    ))
}

async fn audit_address(
    State(s): State<AppState>,
    Extension(who): Extension<Principal>,
    c: Ctx,
    Form(f): Form<AddressForm>,
) -> Response {
    let report = match check_address(&s, &f.node, &f.address).await {
        Ok(r) => r,
        Err(e) => return super::error_page(c, e),
    };
    let count = |sev: Severity| report.findings.iter().filter(|x| x.severity == sev).count() as i64;
    // Deployed code has no source lines, so no SARIF.
    let made = Made {
        counts: (
            count(Severity::High),
            count(Severity::Medium),
            count(Severity::Low),
            0,
        ),
        report: json!({ "contracts": [&report] }).to_string(),
        sarif: String::new(),
    };
    let name = format!("{} @ {}", report.address, f.node);
    keep(&s, &who, c, name, String::new(), made).await
}

async fn download(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Query(q): Query<super::FormatQuery>,
) -> Response {
    let row = match load(&s, &id).await {
        Ok(r) => r,
        Err(e) => return super::error_page(c, e),
    };
    let (body, ctype, ext) = match q.format.as_deref().unwrap_or("json") {
        "json" => (row.report, "application/json", "json"),
        "sarif" if row.sarif.is_empty() => {
            return super::error_page(
                c,
                ApiError::invalid(
                    "a check of deployed code has no SARIF (it has no source lines); download the JSON",
                ),
            );
        }
        "sarif" => (row.sarif, "application/sarif+json", "sarif"),
        other => {
            return super::error_page(
                c,
                ApiError::invalid(format!("format \"{other}\" is not json or sarif")),
            );
        }
    };
    super::attachment(body, ctype, &format!("chainops-audit-{}.{ext}", row.id))
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
