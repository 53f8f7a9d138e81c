//! SARIF 2.1.0 output (what GitHub code scanning accepts): one run, every detector as a rule,
//! every finding as a result with its file and line range.

use crate::Report;
use crate::detectors::registry;
use crate::finding::Severity;
use serde_json::{Value, json};

fn level(s: Severity) -> &'static str {
    match s {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// GitHub's `security-severity` (0–10) for a severity.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "1.0",
    }
}

/// A rule's tags: its category, its SWC id, and its CWE id in the `external/cwe/cwe-N` form
/// GitHub code scanning reads.
fn tags(i: &crate::finding::Info) -> Vec<String> {
    let category = serde_json::to_value(i.category)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default();
    ["security".to_string(), category]
        .into_iter()
        .chain(i.swc.map(String::from))
        .chain(
            i.cwe
                .map(|c| format!("external/cwe/{}", c.to_ascii_lowercase())),
        )
        .collect()
}

/// The report as a SARIF log.
pub fn sarif(report: &Report) -> Value {
    let detectors = registry();
    let rules: Vec<Value> = detectors
        .iter()
        .map(|d| {
            let i = d.info();
            json!({
                "id": i.id,
                "name": i.id,
                "shortDescription": {"text": format!("{} ({}, {})", i.id, serde_json::to_value(i.category).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(), crate::finding::weakness_ids(i.swc, i.cwe))},
                "fullDescription": {"text": i.description},
                "help": {"text": i.fix},
                "defaultConfiguration": {"level": level(i.severity)},
                "properties": {
                    "tags": tags(i),
                    "security-severity": security_severity(i.severity),
                    "precision": match i.confidence {
                        crate::finding::Confidence::High => "high",
                        crate::finding::Confidence::Medium => "medium",
                        crate::finding::Confidence::Low => "low",
                    },
                },
            })
        })
        .collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| {
            let index = detectors.iter().position(|d| d.info().id == f.detector);
            json!({
                "ruleId": f.detector,
                "ruleIndex": index,
                "level": level(f.severity),
                "message": {"text": f.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file.trim_start_matches("./")},
                        "region": {"startLine": f.line, "endLine": f.end_line},
                    },
                    "logicalLocations": f.function.as_ref().map(|n| vec![json!({"fullyQualifiedName": n, "kind": "function"})]).unwrap_or_default(),
                }],
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "chainops-audit",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/chainops/docs/audit.md",
                "rules": rules,
            }},
            "results": results,
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": report.errors.iter().map(|e| json!({
                    "level": "error",
                    "message": {"text": e.message},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": e.file}, "region": {"startLine": e.line.max(1), "startColumn": e.column.max(1)}}}],
                })).collect::<Vec<_>>(),
            }],
        }],
    })
}
