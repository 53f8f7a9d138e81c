//! Node log lines: format detection, line parsing, multi-line grouping, field extraction and
//! redaction, as ingest runs them on every tailed, imported and pushed line.

use crate::Target;
use chainops_logs::parse::{self, Format, Grouper};
use chainops_logs::redact::Redactor;

pub const LINES: Target = Target {
    name: "logs-line",
    about: "log lines: detect, parse every format, group, extract fields, redact",
    seeds,
    run,
};

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for file in super::files("crates/logs/tests/fixtures/node-logs", ".log") {
        // Seeds of a few lines each: mutations then reach every part of a line.
        let text = super::text(&file);
        let lines: Vec<&str> = text.lines().collect();
        for chunk in lines.chunks(4).take(40) {
            out.push(chunk.join("\n").into_bytes());
        }
    }
    out.push(b"2026-11-25T23:36:38+08:00 ERROR boom password=hunter2".to_vec());
    out.push(br#"{"ts":"2026-11-25T23:36:38Z","level":"warn","msg":"x","key":"0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"}"#.to_vec());
    out.push(b"time=2026-11-25T23:36:38Z level=info msg=\"a b\" token=abc".to_vec());
    out
}

fn run(data: &[u8]) {
    let text = super::text(data);
    let lines: Vec<&str> = text.lines().collect();
    let now = 1_764_000_000_000;
    let detected = parse::detect(&lines);
    for (_, format) in Format::ALL.iter().chain(std::iter::once(&("", detected))) {
        let mut g = Grouper::new(*format);
        for l in &lines {
            let _ = parse::classify(*format, l, now);
            if let Some(mut e) = g.push(l, now) {
                parse::extract_fields(&mut e);
            }
        }
        let _ = g.finish();
    }
    let mut redactor = Redactor::new(Vec::new());
    let mut t = text.clone();
    redactor.redact(&mut t);
    let _ = chainops_logs::timestamp::parse_iso(&text);
    let _ = chainops_logs::timestamp::parse_geth(&text, now);
    let mut q = chainops_store::logs::LogQuery::default();
    let _ = chainops_logs::query::parse(&text, &mut q);
}
