//! chainops-audit: static analysis of Solidity source without a compiler.
//!
//! - [`source`]: files, line index.
//! - [`tolerant`]: rewrites 0.4-era syntax the parser does not accept, byte offsets kept.
//! - [`parse`]: solang-parser behind the tolerant step; diagnostics with file:line:col.
//! - [`model`]: contracts, state variables, functions as detectors see them.
//! - [`walk`]: statement/expression visitors and call recognition.
//! - [`detectors`]: the registry.
//! - [`finding`]: findings, categories, severities.

pub mod detectors;
pub mod finding;
pub mod model;
pub mod parse;
pub mod sarif;
pub mod source;
pub mod tolerant;
pub mod walk;

use finding::Finding;
use parse::Diagnostic;

/// The result of analysing some files.
#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    /// Files analysed (parsed).
    pub files: Vec<String>,
    /// Findings, by file then line.
    pub findings: Vec<Finding>,
    /// Files that could not be read or parsed.
    pub errors: Vec<Diagnostic>,
}

/// Analyses already-read sources with every detector.
pub fn analyze(sources: Vec<source::SourceFile>) -> Report {
    let detectors = detectors::registry();
    let mut report = Report::default();
    for file in sources {
        match parse::parse(file) {
            Ok(parsed) => {
                report.files.push(parsed.file.path.display().to_string());
                let unit = model::Unit::new(&parsed);
                for d in &detectors {
                    let mut sink = detectors::Sink::new(d.info(), &unit, &mut report.findings);
                    d.check(&unit, &mut sink);
                }
            }
            Err(d) => report.errors.push(d),
        }
    }
    report
        .findings
        .sort_by(|a, b| (&a.file, a.line, a.detector).cmp(&(&b.file, b.line, b.detector)));
    report
}
