//! Parsers for the log formats of node clients, format detection, and grouping of
//! multi-line entries (anvil's per-transaction blocks, stack traces) into one entry.

use crate::entry::{Level, LogEntry};
use crate::timestamp::{parse_geth, parse_iso};
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// A log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// anvil / foundry default output (no timestamps; banner; indented blocks).
    Anvil,
    /// anvil with `RUST_LOG` tracing lines (`2026-…Z  INFO node::user: …`).
    AnvilTracing,
    /// go-ethereum (`INFO [11-25|12:00:00.000] msg key=value`).
    Geth,
    /// Bitcoin Core / litecoind `debug.log` (`2026-…Z message`).
    Bitcoin,
    /// monerod (`2026-11-25 23:48:28.314<TAB>thread<TAB>LEVEL<TAB>category<TAB>file:line<TAB>msg`).
    Monero,
    /// ganache and hardhat node output (like anvil's).
    Ganache,
    /// One JSON object per line.
    JsonLines,
    /// `key=value` pairs (`time=… level=info msg="…"`).
    Logfmt,
    /// Anything else: an optional leading timestamp and level word.
    Generic,
}

impl Format {
    /// Every format with its config spelling.
    pub const ALL: &'static [(&'static str, Format)] = &[
        ("anvil", Format::Anvil),
        ("anvil_tracing", Format::AnvilTracing),
        ("geth", Format::Geth),
        ("bitcoin", Format::Bitcoin),
        ("monero", Format::Monero),
        ("ganache", Format::Ganache),
        ("json", Format::JsonLines),
        ("logfmt", Format::Logfmt),
        ("generic", Format::Generic),
    ];

    /// Parses a config spelling.
    pub fn parse(s: &str) -> Option<Format> {
        Format::ALL.iter().find(|(n, _)| *n == s).map(|x| x.1)
    }

    /// Config spelling.
    pub fn as_str(self) -> &'static str {
        Format::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("generic", |x| x.0)
    }
}

/// What one physical line is.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// Starts a new entry.
    Start(LogEntry),
    /// Continues the current entry (its text, trimmed, and the line's time if it has one).
    Continue(String, Option<i64>),
    /// Empty: may separate blocks.
    Blank,
}

fn entry(ts_ms: i64, level: Level, message: &str, fields: BTreeMap<String, String>) -> LogEntry {
    LogEntry {
        ts_ms,
        level,
        message: message.to_string(),
        fields,
    }
}

/// Dev-node output (anvil, ganache, hardhat): no timestamps, indented continuation blocks.
fn dev_node(line: &str, now_ms: i64) -> Line {
    if line.trim().is_empty() {
        return Line::Blank;
    }
    let trimmed = line.trim();
    if line.starts_with([' ', '\t']) || trimmed.chars().all(|c| c == '=') {
        return Line::Continue(trimmed.to_string(), None);
    }
    let lower = trimmed.to_ascii_lowercase();
    let level = if lower.starts_with("error") || lower.contains(" error:") {
        Level::Error
    } else if lower.starts_with("warning") {
        Level::Warn
    } else {
        Level::Info
    };
    Line::Start(entry(now_ms, level, trimmed, BTreeMap::new()))
}

/// `2026-11-25T23:36:38.477623Z  INFO node::user: message` (tracing's default format).
fn tracing_line(line: &str, now_ms: i64) -> Line {
    let Some((ts, used)) = parse_iso(line) else {
        return dev_node(line, now_ms);
    };
    let rest = line[used..].trim_start();
    let (lvl, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let Some(level) = Level::parse(lvl) else {
        return Line::Start(entry(ts, Level::Info, rest.trim(), BTreeMap::new()));
    };
    let rest = rest.trim_start();
    let (target, message) = match rest.split_once(": ") {
        Some((t, m)) if !t.contains(' ') => (Some(t), m),
        _ => (None, rest.strip_suffix(':').unwrap_or(rest)),
    };
    let message = message.strip_suffix('\r').unwrap_or(message);
    if message.trim().is_empty() {
        return Line::Blank;
    }
    if message.starts_with([' ', '\t']) {
        return Line::Continue(message.trim().to_string(), Some(ts));
    }
    let mut fields = BTreeMap::new();
    if let Some(t) = target {
        fields.insert("target".into(), t.to_string());
    }
    Line::Start(entry(ts, level, message.trim(), fields))
}

/// `INFO [11-25|12:00:00.000] Imported new chain segment   number=19,000,000 hash=0x…`.
fn geth_line(line: &str, now_ms: i64) -> Line {
    let parsed = (|| {
        // Levels are padded to five characters: `INFO [`, `DEBUG[`.
        let (lvl, rest) = line.split_once('[')?;
        let level = Level::parse(lvl.trim())?;
        let (ts, rest) = rest.split_once(']')?;
        Some((level, parse_geth(ts, now_ms)?, rest.trim()))
    })();
    match parsed {
        Some((level, ts, rest)) => {
            // The message is padded; key=value pairs follow.
            let (message, pairs) = split_message_pairs(rest);
            Line::Start(entry(ts, level, message, pairs))
        }
        None if line.trim().is_empty() => Line::Blank,
        None => Line::Continue(line.trim().to_string(), None),
    }
}

/// Splits `message   k=v k2="v 2"` into the message and its logfmt pairs.
fn split_message_pairs(s: &str) -> (&str, BTreeMap<String, String>) {
    let pairs_start = s.match_indices("  ").map(|(i, _)| i).find(|&i| {
        s[i..]
            .split_whitespace()
            .next()
            .is_some_and(|w| w.contains('='))
    });
    match pairs_start {
        Some(i) => (s[..i].trim(), logfmt_pairs(&s[i..])),
        None => (s.trim(), BTreeMap::new()),
    }
}

/// Parses `k=v k2="quoted value"` pairs; stray words are ignored.
pub fn logfmt_pairs(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let key_end = rest.find(['=', ' ']).unwrap_or(rest.len());
        let key = &rest[..key_end];
        rest = &rest[key_end..];
        if let Some(after) = rest.strip_prefix('=') {
            let (value, next) = if let Some(q) = after.strip_prefix('"') {
                let mut end = None;
                let mut escaped = false;
                for (i, c) in q.char_indices() {
                    match c {
                        '\\' if !escaped => escaped = true,
                        '"' if !escaped => {
                            end = Some(i);
                            break;
                        }
                        _ => escaped = false,
                    }
                }
                match end {
                    Some(e) => (q[..e].replace("\\\"", "\""), &q[e + 1..]),
                    None => (q.to_string(), ""),
                }
            } else {
                let e = after.find(' ').unwrap_or(after.len());
                (after[..e].to_string(), &after[e..])
            };
            if !key.is_empty() {
                out.insert(key.to_string(), value);
            }
            rest = next.trim_start();
        } else {
            rest = rest.trim_start();
        }
    }
    out
}

/// `2026-11-25T23:56:26Z [category] message` (Bitcoin Core and forks).
fn bitcoin_line(line: &str, now_ms: i64) -> Line {
    let _ = now_ms;
    let iso_t = line.as_bytes().get(10) == Some(&b'T');
    let Some((ts, used)) = parse_iso(line).filter(|_| iso_t) else {
        return if line.trim().is_empty() {
            Line::Blank
        } else {
            Line::Continue(line.trim().to_string(), None)
        };
    };
    let mut message = line[used..].trim();
    let mut fields = BTreeMap::new();
    // Optional `[thread]` / `[category:level]` prefixes.
    while let Some(rest) = message.strip_prefix('[') {
        let Some((tag, after)) = rest.split_once(']') else {
            break;
        };
        let (cat, lvl) = tag.split_once(':').unwrap_or((tag, ""));
        fields.insert("category".to_string(), cat.to_string());
        if !lvl.is_empty() {
            fields.insert("level".to_string(), lvl.to_string());
        }
        message = after.trim_start();
    }
    let lower = message.to_ascii_lowercase();
    let level = match fields.remove("level").as_deref().and_then(Level::parse) {
        Some(l) => l,
        None if lower.starts_with("error") || lower.contains(" error:") => Level::Error,
        None if lower.starts_with("warning") => Level::Warn,
        None => Level::Info,
    };
    Line::Start(entry(ts, level, message, fields))
}

/// monerod: tab-separated time, thread, level, category, location, message.
fn monero_line(line: &str, now_ms: i64) -> Line {
    let _ = now_ms;
    let parts: Vec<&str> = line.splitn(6, '\t').collect();
    let parsed = match parts.as_slice() {
        [ts, thread, lvl, cat, loc, msg] => parse_iso(ts.trim()).and_then(|(t, _)| {
            let level = Level::parse(lvl)?;
            let mut f = BTreeMap::new();
            f.insert("thread".into(), thread.trim().to_string());
            f.insert("category".into(), cat.trim().to_string());
            f.insert("location".into(), loc.trim().to_string());
            Some(entry(t, level, msg.trim(), f))
        }),
        _ => None,
    };
    match parsed {
        Some(e) => Line::Start(e),
        None if line.trim().is_empty() => Line::Blank,
        None => Line::Continue(line.trim().to_string(), None),
    }
}

fn json_ts(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::String(s) => parse_iso(s).map(|x| x.0),
        serde_json::Value::Number(n) => {
            let x = n.as_f64()?;
            // Seconds, milliseconds or nanoseconds since the epoch.
            Some(if x < 1e11 {
                (x * 1000.0) as i64
            } else if x < 1e14 {
                x as i64
            } else {
                (x / 1e6) as i64
            })
        }
        _ => None,
    }
}

fn json_line(line: &str, now_ms: i64) -> Line {
    let Ok(serde_json::Value::Object(mut o)) = serde_json::from_str::<serde_json::Value>(line)
    else {
        return generic_line(line, now_ms);
    };
    let take = |o: &mut serde_json::Map<String, serde_json::Value>, keys: &[&str]| {
        keys.iter().find_map(|k| o.remove(*k))
    };
    let ts = take(&mut o, &["ts", "time", "timestamp", "@timestamp", "t"])
        .as_ref()
        .and_then(json_ts)
        .unwrap_or(now_ms);
    let level = take(&mut o, &["level", "lvl", "severity"])
        .and_then(|v| v.as_str().and_then(Level::parse))
        .unwrap_or(Level::Info);
    let message = take(&mut o, &["msg", "message"])
        .map(|v| match v {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
        .unwrap_or_default();
    let fields = o
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect();
    Line::Start(entry(ts, level, &message, fields))
}

fn logfmt_line(line: &str, now_ms: i64) -> Line {
    if line.trim().is_empty() {
        return Line::Blank;
    }
    let mut pairs = logfmt_pairs(line);
    if !pairs.contains_key("msg") && !pairs.contains_key("level") {
        return generic_line(line, now_ms);
    }
    let ts = ["time", "ts", "t"]
        .iter()
        .find_map(|k| pairs.remove(*k))
        .and_then(|t| parse_iso(&t).map(|x| x.0))
        .unwrap_or(now_ms);
    let level = ["level", "lvl"]
        .iter()
        .find_map(|k| pairs.remove(*k))
        .and_then(|l| Level::parse(&l))
        .unwrap_or(Level::Info);
    let message = pairs.remove("msg").unwrap_or_default();
    Line::Start(entry(ts, level, &message, pairs))
}

/// A leading timestamp if any, a level word among the first three tokens if any.
fn generic_line(line: &str, now_ms: i64) -> Line {
    if line.trim().is_empty() {
        return Line::Blank;
    }
    if line.starts_with([' ', '\t']) {
        return Line::Continue(line.trim().to_string(), None);
    }
    let (ts, rest) = match parse_iso(line) {
        Some((t, used)) => (t, line[used..].trim_start()),
        None => (now_ms, line.trim()),
    };
    let mut level = Level::Info;
    let mut message = rest;
    for (i, w) in rest.split_whitespace().take(3).enumerate() {
        let w = w.trim_matches(|c: char| c == '[' || c == ']' || c == ':');
        if w.len() >= 3
            && let Some(l) = Level::parse(w)
        {
            level = l;
            if i == 0 {
                message = rest[rest.find(char::is_whitespace).unwrap_or(rest.len())..].trim_start();
            }
            break;
        }
    }
    Line::Start(entry(ts, level, message, BTreeMap::new()))
}

/// Classifies one line of `format`; `now_ms` stamps lines without their own time.
pub fn classify(format: Format, line: &str, now_ms: i64) -> Line {
    let line = line.strip_suffix('\r').unwrap_or(line);
    match format {
        Format::Anvil | Format::Ganache => dev_node(line, now_ms),
        Format::AnvilTracing => tracing_line(line, now_ms),
        Format::Geth => geth_line(line, now_ms),
        Format::Bitcoin => bitcoin_line(line, now_ms),
        Format::Monero => monero_line(line, now_ms),
        Format::JsonLines => json_line(line, now_ms),
        Format::Logfmt => logfmt_line(line, now_ms),
        Format::Generic => generic_line(line, now_ms),
    }
}

/// Picks the format that explains most of `sample` (the first lines of a source).
pub fn detect(sample: &[&str]) -> Format {
    let text = sample.join("\n");
    if text.contains("https://github.com/foundry-rs/foundry")
        || text.contains("anvil") && text.contains("Available Accounts")
    {
        let tracing = sample
            .iter()
            .filter(|l| parse_iso(l).is_some() && l.contains(" node::"))
            .count();
        return if tracing > 0 {
            Format::AnvilTracing
        } else {
            Format::Anvil
        };
    }
    if text.contains("ganache v") || text.contains("Started HTTP and WebSocket JSON-RPC server") {
        return Format::Ganache;
    }
    let lines: Vec<&str> = sample
        .iter()
        .copied()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if lines.is_empty() {
        return Format::Generic;
    }
    let score = |f: Format| {
        lines
            .iter()
            .filter(|l| match classify(f, l, 0) {
                Line::Start(e) => e.ts_ms != 0 || matches!(f, Format::JsonLines | Format::Logfmt),
                _ => false,
            })
            .count()
    };
    let candidates = [
        Format::Geth,
        Format::Monero,
        Format::AnvilTracing,
        Format::Bitcoin,
        Format::JsonLines,
        Format::Logfmt,
    ];
    let json = lines
        .iter()
        .filter(|l| l.trim_start().starts_with('{'))
        .count();
    let best = candidates
        .iter()
        .map(|&f| {
            let s = match f {
                Format::JsonLines => json.min(score(f)),
                Format::Logfmt => lines
                    .iter()
                    .filter(|l| {
                        let p = logfmt_pairs(l);
                        p.contains_key("msg") || p.contains_key("level")
                    })
                    .count(),
                Format::AnvilTracing => lines
                    .iter()
                    .filter(|l| l.contains(" node::") && parse_iso(l).is_some())
                    .count(),
                _ => score(f),
            };
            (s, f)
        })
        // The first (most specific) format wins a tie.
        .fold(None::<(usize, Format)>, |best, (s, f)| match best {
            Some((bs, _)) if bs >= s => best,
            _ => Some((s, f)),
        });
    match best {
        Some((s, f)) if s * 2 >= lines.len() => f,
        _ => Format::Generic,
    }
}

fn patterns() -> &'static [(Regex, &'static str)] {
    static P: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    P.get_or_init(|| {
        [
            (r"(?:\bheight=|(?i:block number):\s*|\bnumber=|Block #)(\d[\d,]*)", "height"),
            (r"(?:\bhash=|(?i:block hash):\s*|\bbest=|Block #\d+:\s+)(0x[0-9a-fA-F]{64}|[0-9a-fA-F]{64})", "hash"),
            (r"(?:Transaction: |\btxid=|\btxhash=)(0x[0-9a-fA-F]{64}|[0-9a-fA-F]{64})", "tx"),
            (r"\bpeer=(\S+)", "peer"),
        ]
        .iter()
        .filter_map(|(re, name)| Regex::new(re).ok().map(|r| (r, *name)))
        .collect()
    })
}

/// Adds `height`, `hash`, `tx`, `peer` found in the message (unless already set).
pub fn extract_fields(e: &mut LogEntry) {
    for (re, name) in patterns() {
        if e.fields.contains_key(*name) {
            continue;
        }
        if let Some(m) = re.captures(&e.message).and_then(|c| c.get(1)) {
            let v = m.as_str().replace(',', "");
            e.fields.insert((*name).to_string(), v);
        }
    }
    if let Some(n) = e.fields.remove("number") {
        e.fields
            .entry("height".into())
            .or_insert(n.replace(',', ""));
    }
}

/// Inside an indented block, after a blank line: does `next` start another block? It does
/// when it is a new transaction, or repeats a key the block already has (the next block).
fn new_block(current: &str, next: &str) -> bool {
    let key = next.split(':').next().unwrap_or(next);
    key == "Transaction"
        || current.starts_with(&format!("{key}:"))
        || current.contains(&format!("\n{key}:"))
}

/// Groups lines into entries. An entry ends when the next one starts; an indented block
/// after a blank line becomes an entry of its own (anvil's transaction and block blocks).
#[derive(Debug)]
pub struct Grouper {
    format: Format,
    current: Option<LogEntry>,
    /// The current entry was started by an indented block.
    block: bool,
    blank: bool,
}

impl Grouper {
    /// A grouper for `format`.
    pub fn new(format: Format) -> Grouper {
        Grouper {
            format,
            current: None,
            block: false,
            blank: false,
        }
    }

    /// The format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Whether an entry is waiting for more lines.
    pub fn pending(&self) -> bool {
        self.current.is_some()
    }

    /// Feeds one line; returns the entry it completed, if any.
    pub fn push(&mut self, line: &str, now_ms: i64) -> Option<LogEntry> {
        match classify(self.format, line, now_ms) {
            Line::Blank => {
                self.blank = true;
                None
            }
            Line::Continue(text, ts) => {
                let starts_block = self.blank
                    && (!self.block
                        || self
                            .current
                            .as_ref()
                            .is_some_and(|c| new_block(&c.message, &text)));
                self.blank = false;
                if starts_block || self.current.is_none() {
                    let done = self.finish();
                    self.current = Some(LogEntry {
                        ts_ms: ts.unwrap_or(now_ms),
                        level: Level::Info,
                        message: text,
                        fields: BTreeMap::new(),
                    });
                    self.block = true;
                    done
                } else {
                    if let Some(c) = &mut self.current {
                        c.message.push('\n');
                        c.message.push_str(&text);
                    }
                    None
                }
            }
            Line::Start(e) => {
                let done = self.finish();
                self.current = Some(e);
                self.block = false;
                self.blank = false;
                done
            }
        }
    }

    /// Completes the pending entry (end of input, or the source went quiet).
    pub fn finish(&mut self) -> Option<LogEntry> {
        let mut e = self.current.take()?;
        self.block = false;
        extract_fields(&mut e);
        Some(e)
    }
}

/// Parses a whole text (for imports and tests).
pub fn parse_all(format: Format, text: &str, now_ms: i64) -> Vec<LogEntry> {
    let mut g = Grouper::new(format);
    let mut out: Vec<LogEntry> = text.lines().filter_map(|l| g.push(l, now_ms)).collect();
    out.extend(g.finish());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geth_lines_split_message_and_pairs() {
        let now = chainops_core::time::parse_rfc3339("2026-11-26T00:00:00Z").unwrap_or(0);
        let e = parse_all(
            Format::Geth,
            "INFO [11-25|12:00:00.000] Imported new chain segment               number=19,000,000 hash=0x0dc2d26eb5826af459572363699ef622898d8e09fb9fa240f4cb941059c95500 txs=12\nWARN [11-25|12:00:01.000] Snapshot extension registration failed   peer=3f1a9c2e err=\"peer connected on snap without compatible eth support\"\n  goroutine 1 [running]:",
            now,
        );
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].message, "Imported new chain segment");
        assert_eq!(e[0].fields["height"], "19000000");
        assert_eq!(e[0].fields["txs"], "12");
        assert_eq!(e[1].level, Level::Warn);
        assert_eq!(e[1].fields["peer"], "3f1a9c2e");
        assert_eq!(
            e[1].fields["err"],
            "peer connected on snap without compatible eth support"
        );
        assert!(
            e[1].message.ends_with("goroutine 1 [running]:"),
            "stack lines join the entry"
        );
    }

    #[test]
    fn json_and_logfmt_lines() {
        let e = parse_all(
            Format::JsonLines,
            r#"{"ts":"2026-11-25T23:00:00Z","level":"error","msg":"nonce too low","node":"x","height":5}"#,
            0,
        );
        assert_eq!(
            (e[0].level, e[0].message.as_str()),
            (Level::Error, "nonce too low")
        );
        assert_eq!(e[0].fields["height"], "5");
        let l = parse_all(
            Format::Logfmt,
            r#"time=2026-11-25T23:00:00Z level=warn msg="slow block" height=7"#,
            0,
        );
        assert_eq!(
            (l[0].level, l[0].fields["height"].as_str()),
            (Level::Warn, "7")
        );
    }
}
