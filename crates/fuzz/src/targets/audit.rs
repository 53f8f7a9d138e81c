//! Solidity sources through the tolerant parser, the model and every detector.

use crate::Target;
use chainops_audit::{Options, analyze, source::SourceFile};

pub const SOLIDITY: Target = Target {
    name: "audit-solidity",
    about: "Solidity text: 0.4 rewrites, solang-parser, model, all 26 detectors",
    seeds,
    run,
};

fn seeds() -> Vec<Vec<u8>> {
    super::files("crates/audit/tests/fixtures", ".sol")
}

fn run(data: &[u8]) {
    // Imports resolve against a folder that does not exist: sources are read from nowhere.
    let file = SourceFile::new("/nonexistent/chainops-fuzz/Input.sol", super::text(data));
    let _ = analyze(vec![file], &Options::default());
}
