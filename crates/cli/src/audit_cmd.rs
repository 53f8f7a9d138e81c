//! `chainops audit`: static analysis of Solidity sources (offline, no compiler).

use crate::cli::{AuditOpts, GlobalOpts};
use crate::exit::KindError;
use crate::output::print;
use chainops_audit::finding::Severity;
use chainops_audit::source::SourceFile;
use chainops_core::ErrorKind;
use std::path::PathBuf;

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
                if path.is_dir() {
                    stack.push(path);
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

/// Runs the analyzer and prints the report.
pub fn run(_g: &GlobalOpts, o: &AuditOpts) -> anyhow::Result<()> {
    let fail_on = match o.fail_on.as_deref() {
        None => None,
        Some(s) => Some(
            Severity::parse(s)
                .ok_or_else(|| invalid(format!("--fail-on {s}: use high, medium or low")))?,
        ),
    };
    if !["text", "json", "sarif"].contains(&o.format.as_str()) {
        return Err(invalid(format!(
            "--format {}: use text, json or sarif",
            o.format
        )));
    }
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
    let texts: Vec<(String, String)> = sources
        .iter()
        .map(|s| (s.path.display().to_string(), s.text.clone()))
        .collect();
    let mut report = chainops_audit::analyze(sources);
    report.errors.extend(unreadable);
    match o.format.as_str() {
        "json" => print(&serde_json::to_string_pretty(&report)?)?,
        "sarif" => print(&serde_json::to_string_pretty(
            &chainops_audit::sarif::sarif(&report),
        )?)?,
        _ => print(&text_report(&report, &texts))?,
    }
    if let Some(min) = fail_on
        && report.findings.iter().any(|f| f.severity >= min)
    {
        return Err(KindError(
            ErrorKind::Internal,
            format!("findings at or above {} severity", min.as_str()),
        )
        .into());
    }
    Ok(())
}

fn text_report(r: &chainops_audit::Report, texts: &[(String, String)]) -> String {
    let mut out = String::new();
    for f in &r.findings {
        out.push_str(&format!(
            "{}:{}: [{}] {} ({}, {}, {})\n  {}\n",
            f.file,
            f.line,
            f.severity.as_str(),
            f.detector,
            serde_json::to_value(f.category)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default(),
            f.swc,
            f.function.as_deref().unwrap_or(""),
            f.message
        ));
        if let Some((_, text)) = texts.iter().find(|(p, _)| *p == f.file) {
            for (i, line) in text
                .lines()
                .enumerate()
                .skip(f.line.saturating_sub(1))
                .take(f.end_line + 1 - f.line.min(f.end_line))
                .take(4)
            {
                out.push_str(&format!("  {:>5} | {}\n", i + 1, line));
            }
        }
    }
    for e in &r.errors {
        out.push_str(&format!("error: {e}\n"));
    }
    out.push_str(&format!(
        "{} files, {} findings, {} errors\n",
        r.files.len(),
        r.findings.len(),
        r.errors.len()
    ));
    out
}
