//! chainops-audit: static analysis of Solidity source without a compiler.
//!
//! - [`source`]: files, line index.
//! - [`tolerant`]: rewrites 0.4-era syntax the parser does not accept, byte offsets kept.
//! - [`parse`]: solang-parser behind the tolerant step; diagnostics with file:line:col.
//! - [`imports`]: import resolution (relative paths and remappings).
//! - [`archive`]: a zipped project read in memory (the console's upload).
//! - [`model`]: contracts, state variables, functions as detectors see them.
//! - [`walk`]: statement/expression visitors and call recognition.
//! - [`detectors`]: the registry.
//! - [`finding`]: findings, categories, severities; [`sarif`]: SARIF 2.1.0 output.
//! - [`bytecode`]: checks of deployed code (disassembly, proxies, code hashes).

pub mod archive;
pub mod bytecode;
pub mod config;
pub mod detectors;
pub mod finding;
pub mod imports;
pub mod model;
pub mod parse;
pub mod sarif;
pub mod source;
pub mod tolerant;
pub mod walk;

use finding::Finding;
use parse::{Diagnostic, Parsed};

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

/// What to run and how to find imports.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Run only these detectors (all when empty).
    pub only: Vec<String>,
    /// Never run these.
    pub disabled: Vec<String>,
    /// Import remappings `prefix=path` (as solc's).
    pub remaps: Vec<(String, std::path::PathBuf)>,
    /// Read no imports from disk (sources that did not come from this machine's files,
    /// such as a contract pasted into the console, must not name files to read).
    pub no_imports: bool,
}

impl Options {
    /// Checks every detector id named in the options; the error lists the known ids.
    pub fn validate(&self) -> Result<(), String> {
        let known: Vec<&str> = detectors::registry().iter().map(|d| d.info().id).collect();
        for id in self.only.iter().chain(&self.disabled) {
            if !known.contains(&id.as_str()) {
                return Err(format!(
                    "unknown detector \"{id}\"; known: {}",
                    known.join(", ")
                ));
            }
        }
        Ok(())
    }

    fn runs(&self, id: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|o| o == id))
            && !self.disabled.iter().any(|d| d == id)
    }
}

/// True when the finding's line (or the line above) carries a suppression comment for its
/// detector: `// chainops-disable-next-line [id, …]` above it, or
/// `// chainops-disable-line [id, …]` on it (no ids: every detector).
fn suppressed(file: &source::SourceFile, f: &Finding) -> bool {
    let applies = |line: &str, marker: &str| {
        line.find(marker).is_some_and(|at| {
            let ids = line[at + marker.len()..].trim();
            ids.is_empty()
                || ids
                    .split(|c: char| c == ',' || c.is_whitespace())
                    .any(|id| id == f.detector)
        })
    };
    (f.line > 1 && applies(file.line_text(f.line - 1), "chainops-disable-next-line"))
        || applies(file.line_text(f.line), "chainops-disable-line")
}

/// Analyses already-read sources with the selected detectors. Imports are read from disk
/// (relative to each file, or through `options.remaps`) for context only.
pub fn analyze(sources: Vec<source::SourceFile>, options: &Options) -> Report {
    let detectors: Vec<_> = detectors::registry()
        .into_iter()
        .filter(|d| options.runs(d.info().id))
        .collect();
    let mut report = Report::default();
    let mut parsed: Vec<Parsed> = Vec::new();
    for file in sources {
        match parse::parse(file) {
            Ok(p) => parsed.push(p),
            Err(d) => report.errors.push(d),
        }
    }
    let context = if options.no_imports {
        Vec::new()
    } else {
        imports::load(&parsed, &options.remaps, &mut report.errors)
    };
    let index = imports::index(&parsed, &context);
    for p in &parsed {
        report.files.push(p.file.path.display().to_string());
        let deps = imports::closure(p, &index, &options.remaps, !options.no_imports);
        let unit = model::Unit::with_imports(p, &deps);
        let mut found = Vec::new();
        for d in &detectors {
            let mut sink = detectors::Sink::new(d.info(), &unit, &mut found);
            d.check(&unit, &mut sink);
        }
        found.retain(|f| !suppressed(&p.file, f));
        report.findings.extend(found);
    }
    report
        .findings
        .sort_by(|a, b| (&a.file, a.line, a.detector).cmp(&(&b.file, b.line, b.detector)));
    report
}
