//! `chainops audit`: static analysis of Solidity sources (offline, no compiler), and checks
//! of deployed code through a node's RPC.

use crate::cli::{AuditOpts, GlobalOpts};
use crate::exit::KindError;
use crate::output::print;
use anyhow::Context;
use chainops_audit::finding::Severity;
use chainops_audit::source::SourceFile;
use chainops_core::ErrorKind;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

fn invalid(m: String) -> anyhow::Error {
    KindError(ErrorKind::InvalidInput, m).into()
}

/// Every `.sol` file under `paths` (files as given, directories recursively, sorted).
fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| invalid(format!("{}: {e}", p.display())))?;
        if meta.is_file() {
            out.push(p.clone());
            continue;
        }
        let mut stack = vec![p.clone()];
        while let Some(dir) = stack.pop() {
            let rd =
                std::fs::read_dir(&dir).map_err(|e| invalid(format!("{}: {e}", dir.display())))?;
            for e in rd.flatten() {
                let path = e.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if path.is_dir() {
                    // Dependencies are context (imports), not audit targets.
                    if name != "node_modules" && !name.starts_with('.') {
                        stack.push(path);
                    }
                } else if path.extension().is_some_and(|x| x == "sol") {
                    out.push(path);
                }
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Runs the analyzer (or the deployed-code checks) and prints the report.
pub fn run(g: &GlobalOpts, o: &AuditOpts) -> anyhow::Result<()> {
    let config = crate::config_load::load(g)?;
    if o.list {
        return list(&o.format);
    }
    let fail_on = match o.fail_on.as_deref().or(config.audit.fail_on.as_deref()) {
        None => None,
        Some(s) => Some(
            Severity::parse(s)
                .filter(|s| *s != Severity::Info)
                .ok_or_else(|| invalid(format!("--fail-on {s}: use high, medium or low")))?,
        ),
    };
    if !["text", "json", "sarif"].contains(&o.format.as_str()) {
        return Err(invalid(format!(
            "--format {}: use text, json or sarif",
            o.format
        )));
    }
    if !o.address.is_empty() {
        return deployed(o, fail_on);
    }
    let mut remaps = Vec::new();
    for r in o.remaps.iter() {
        let (p, d) =
            chainops_audit::config::parse_remap(r).map_err(|m| invalid(format!("--remap {m}")))?;
        remaps.push((p, PathBuf::from(d)));
    }
    remaps.extend(
        config
            .audit
            .remap
            .iter()
            .map(|(p, d)| (p.clone(), PathBuf::from(d))),
    );
    let options = chainops_audit::Options {
        only: if o.only.is_empty() {
            config.audit.only.clone()
        } else {
            o.only.clone()
        },
        disabled: config
            .audit
            .disabled
            .iter()
            .chain(&o.disable)
            .cloned()
            .collect(),
        remaps,
        no_imports: false,
    };
    options.validate().map_err(invalid)?;
    let files = collect(&o.paths)?;
    if files.is_empty() {
        return Err(invalid("no .sol files under the given paths".into()));
    }
    let mut sources = Vec::new();
    let mut unreadable = Vec::new();
    for f in &files {
        match std::fs::read(f) {
            Ok(bytes) => sources.push(SourceFile::new(
                f,
                String::from_utf8_lossy(&bytes).into_owned(),
            )),
            Err(e) => unreadable.push(chainops_audit::parse::Diagnostic {
                file: f.display().to_string(),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    let texts: Vec<SourceFile> = sources.clone();
    let mut report = chainops_audit::analyze(sources, &options);
    report.errors.extend(unreadable);
    match o.format.as_str() {
        "json" => print(&serde_json::to_string_pretty(&report)?)?,
        "sarif" => print(&serde_json::to_string_pretty(
            &chainops_audit::sarif::sarif(&report),
        )?)?,
        _ => print(&text_report(&report, &texts))?,
    }
    // Nothing analysed is not a clean bill: say so, and fail.
    if report.files.is_empty() {
        let first = report
            .errors
            .first()
            .map(|e| format!("; first: {e}"))
            .unwrap_or_default();
        return Err(invalid(format!(
            "no input file could be analysed ({} of {} did not parse or could not be read{first})",
            report.errors.len(),
            files.len()
        )));
    }
    fail_if(fail_on, report.findings.iter().map(|f| f.severity))
}

fn fail_if(min: Option<Severity>, found: impl Iterator<Item = Severity>) -> anyhow::Result<()> {
    let mut found = found;
    if let Some(min) = min
        && found.any(|s| s >= min)
    {
        return Err(KindError(
            ErrorKind::Internal,
            format!("findings at or above {} severity", min.as_str()),
        )
        .into());
    }
    Ok(())
}

fn category(c: chainops_audit::finding::Category) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

fn list(format: &str) -> anyhow::Result<()> {
    let all = chainops_audit::detectors::registry();
    if format == "json" {
        let v: Vec<Value> = all
            .iter()
            .map(|d| serde_json::to_value(d.info()).unwrap_or_default())
            .collect();
        return print(&serde_json::to_string_pretty(&v)?);
    }
    let mut out = String::new();
    for d in &all {
        let i = d.info();
        out.push_str(&format!(
            "{:<30} {:<26} {:<18} {:<7} {}\n",
            i.id,
            category(i.category),
            chainops_audit::finding::weakness_ids(i.swc, i.cwe),
            i.severity.as_str(),
            i.description
        ));
    }
    print(&out)
}

fn text_report(r: &chainops_audit::Report, texts: &[SourceFile]) -> String {
    let mut out = String::new();
    for f in &r.findings {
        out.push_str(&format!(
            "{}:{}: [{}] {} ({}, {}, {})\n  {}\n",
            f.file,
            f.line,
            f.severity.as_str(),
            f.detector,
            category(f.category),
            chainops_audit::finding::weakness_ids(f.swc, f.cwe),
            f.function.as_deref().unwrap_or(""),
            f.message
        ));
        if let Some(src) = texts
            .iter()
            .find(|s| s.path.display().to_string() == f.file)
        {
            for n in f.line..=f.end_line.min(f.line + 3) {
                out.push_str(&format!("  {n:>5} | {}\n", src.line_text(n)));
            }
        }
    }
    for e in &r.errors {
        out.push_str(&format!("error: {e}\n"));
    }
    let high = r
        .findings
        .iter()
        .filter(|f| f.severity == Severity::High)
        .count();
    out.push_str(&format!(
        "{} files, {} findings ({high} high), {} errors\n",
        r.files.len(),
        r.findings.len(),
        r.errors.len()
    ));
    out
}

/// `--address`: fetch code and proxy slots, check them.
fn deployed(o: &AuditOpts, fail_on: Option<Severity>) -> anyhow::Result<()> {
    let url = o
        .rpc
        .clone()
        .ok_or_else(|| invalid("--address needs --rpc URL".into()))?;
    let verified = match &o.verified {
        None => None,
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| invalid(format!("--verified {}: {e}", p.display())))?;
            Some(
                chainops_audit::bytecode::parse_verified(&text)
                    .map_err(|m| invalid(format!("--verified {}: {m}", p.display())))?,
            )
        }
    };
    for a in &o.address {
        if !chainops_audit::bytecode::is_address(a) {
            return Err(invalid(format!(
                "--address {a}: not a 0x-prefixed 20-byte address"
            )));
        }
    }
    let rpc = crate::util::rpc_client(&url, None, Duration::from_secs(30))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let endpoint = chainops_core::secret::redact_url(&url);
    let call = |method: &'static str, params: Value| -> anyhow::Result<Value> {
        rt.block_on(crate::util::rpc_call(&rpc, method, params))
            .with_context(|| format!("at {endpoint}"))
    };
    let mut reports = Vec::new();
    for a in &o.address {
        let code_hex = call("eth_getCode", json!([a, "latest"]))?;
        let code =
            chainops_core::hex::decode(code_hex.as_str().unwrap_or("0x").trim_start_matches("0x"))
                .ok_or_else(|| anyhow::anyhow!("eth_getCode returned bad hex"))?;
        if code.is_empty() {
            return Err(KindError(
                ErrorKind::NotFound,
                format!("{a}: no code at this address (not a contract, or self-destructed)"),
            )
            .into());
        }
        let mut failure: Option<anyhow::Error> = None;
        let mut storage = |slot: &str| -> Option<String> {
            match call("eth_getStorageAt", json!([a, slot, "latest"])) {
                Ok(v) => v.as_str().map(String::from),
                Err(e) => {
                    failure.get_or_insert(e);
                    None
                }
            }
        };
        let report = chainops_audit::bytecode::check(a, &code, &mut storage, verified.as_deref());
        if let Some(e) = failure {
            return Err(e);
        }
        reports.push(report);
    }
    if o.format == "text" {
        let mut out = String::new();
        for r in &reports {
            out.push_str(&format!(
                "{}: {} bytes, code hash {}{}\n",
                r.address,
                r.code_size,
                r.code_hash,
                r.verified
                    .as_deref()
                    .map(|n| format!(" (verified: {n})"))
                    .unwrap_or_default()
            ));
            for f in &r.findings {
                out.push_str(&format!(
                    "  [{}] {}{}: {}\n",
                    f.severity.as_str(),
                    f.detector,
                    f.pc.map(|p| format!(" at pc {p}")).unwrap_or_default(),
                    f.message
                ));
            }
        }
        print(&out)?;
    } else {
        print(&serde_json::to_string_pretty(
            &json!({ "contracts": reports }),
        )?)?;
    }
    fail_if(
        fail_on,
        reports
            .iter()
            .flat_map(|r| r.findings.iter().map(|f| f.severity)),
    )
}
