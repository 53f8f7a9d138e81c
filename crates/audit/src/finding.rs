//! Findings and the vocabulary detectors describe themselves with.

use serde::Serialize;

/// DASP category of a finding (the JSON `category`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Missing or wrong authorization.
    AccessControl,
    /// Integer overflow/underflow.
    Arithmetic,
    /// Predictable randomness.
    BadRandomness,
    /// Denial of service.
    DenialOfService,
    /// Transaction-order dependence.
    FrontRunning,
    /// Reentrancy.
    Reentrancy,
    /// Short address attack.
    ShortAddresses,
    /// Timestamp dependence.
    TimeManipulation,
    /// Unchecked low-level calls.
    UncheckedLowLevelCalls,
    /// Everything else.
    Other,
}

/// How bad it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Style, deprecations.
    Info,
    /// Worth fixing.
    Low,
    /// Exploitable under conditions.
    Medium,
    /// Loses funds or control.
    High,
}

impl Severity {
    /// Parses `high|medium|low|info`.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" => Severity::Low,
            "info" => Severity::Info,
            _ => return None,
        })
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }
}

/// How sure the detector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// A pattern that is often fine.
    Low,
    /// Usually a real problem.
    Medium,
    /// Almost always a real problem.
    High,
}

/// A detector's description of itself.
#[derive(Debug, Serialize)]
pub struct Info {
    /// Stable id (`reentrancy-eth`).
    pub id: &'static str,
    /// DASP category.
    pub category: Category,
    /// SWC registry id (`SWC-107`), where the registry has one for this weakness.
    pub swc: Option<&'static str>,
    /// CWE id (`CWE-841`), where one fits.
    pub cwe: Option<&'static str>,
    /// Severity.
    pub severity: Severity,
    /// Confidence.
    pub confidence: Confidence,
    /// What it finds.
    pub description: &'static str,
    /// How to fix it.
    pub fix: &'static str,
}

/// One finding (the JSON `findings[]` element).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Detector id.
    pub detector: &'static str,
    /// DASP category.
    pub category: Category,
    /// SWC id, where the registry has one.
    pub swc: Option<&'static str>,
    /// CWE id, where one fits.
    pub cwe: Option<&'static str>,
    /// Severity.
    pub severity: Severity,
    /// Confidence.
    pub confidence: Confidence,
    /// File.
    pub file: String,
    /// 1-based line of the offending statement.
    pub line: usize,
    /// Last line of that statement.
    pub end_line: usize,
    /// `Contract.function` (or the contract for contract-level findings).
    pub function: Option<String>,
    /// What is wrong here.
    pub message: String,
}

/// `SWC-107, CWE-841`, `CWE-20`, or `no SWC/CWE` (text reports and listings).
pub fn weakness_ids(swc: Option<&str>, cwe: Option<&str>) -> String {
    match (swc, cwe) {
        (Some(s), Some(c)) => format!("{s}, {c}"),
        (Some(x), None) | (None, Some(x)) => x.to_string(),
        (None, None) => "no SWC/CWE".into(),
    }
}
