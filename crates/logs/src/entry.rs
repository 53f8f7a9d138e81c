//! A log entry as chainops stores it, and log levels.

use serde::Serialize;
use std::collections::BTreeMap;

/// Severity, ordered `Trace < … < Fatal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Finest detail.
    Trace,
    /// Debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected but handled.
    Warn,
    /// A failure.
    Error,
    /// The process cannot continue.
    Fatal,
}

impl Level {
    /// Parses the spellings node clients use (`INFO`, `WARNING`, `ERR`, `CRIT`, `E`…).
    pub fn parse(s: &str) -> Option<Level> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "trace" | "trce" | "t" => Level::Trace,
            "debug" | "dbug" | "d" | "debg" => Level::Debug,
            "info" | "inf" | "i" | "notice" => Level::Info,
            "warn" | "warning" | "wrn" | "w" => Level::Warn,
            "error" | "err" | "eror" | "e" => Level::Error,
            "fatal" | "crit" | "critical" | "panic" | "f" => Level::Fatal,
            _ => return None,
        })
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Fatal => "fatal",
        }
    }

    /// Stored number (0–5).
    pub fn number(self) -> i64 {
        self as i64
    }

    /// From the stored number.
    pub fn from_number(n: i64) -> Level {
        match n {
            0 => Level::Trace,
            1 => Level::Debug,
            2 => Level::Info,
            3 => Level::Warn,
            4 => Level::Error,
            _ => Level::Fatal,
        }
    }
}

/// One parsed (possibly multi-line) log entry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    /// Timestamp, epoch ms (the line's own, or the time it was read when it has none).
    pub ts_ms: i64,
    /// Severity.
    pub level: Level,
    /// The message; continuation lines joined with `\n`.
    pub message: String,
    /// Structured fields (`height`, `hash`, `peer`, `tx`, `target`, …).
    pub fields: BTreeMap<String, String>,
}
