//! `chainops logs import|search|tail`: work on the store directly (like the daemon's own
//! ingest), so they run with or without the daemon.

use crate::cli::{GlobalOpts, LogsCommand};
use crate::config_load;
use crate::exit::KindError;
use anyhow::Context;
use chainops_core::ErrorKind;
use chainops_core::time::{now_ms, rfc3339};
use chainops_logs::entry::Level;
use chainops_logs::ingest::{Ingester, Source};
use chainops_logs::parse::{Format, Grouper, detect};
use chainops_logs::redact::Redactor;
use chainops_store::logs::{LogQuery, LogRow};
use serde_json::json;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::time::{Duration, Instant};

fn invalid(m: impl Into<String>) -> anyhow::Error {
    KindError(ErrorKind::InvalidInput, m.into()).into()
}

/// `7d` ago, RFC 3339, epoch ms or `now`.
fn time_arg(name: &str, s: &str, now: i64) -> anyhow::Result<i64> {
    if s == "now" {
        return Ok(now);
    }
    if let Ok(d) = chainops_core::duration::parse_duration(s) {
        return Ok(now - d.as_millis() as i64);
    }
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    chainops_core::time::parse_rfc3339(s).ok_or_else(|| {
        invalid(format!(
            "--{name} \"{s}\" is not a time; use 1h, 2026-11-26T00:00:00Z or epoch ms"
        ))
    })
}

/// Prints one row; a closed pipe (`| head`) ends the command quietly.
fn print_row(r: &LogRow, json: bool) -> anyhow::Result<()> {
    let level = Level::from_number(r.level).as_str();
    let line = if json {
        let fields: serde_json::Value = serde_json::from_str(&r.fields).unwrap_or(json!({}));
        json!({"id": r.id, "time": rfc3339(r.ts_ms), "node": r.node, "chain": r.chain, "level": level, "message": r.message, "fields": fields}).to_string()
    } else {
        let msg = r.message.replace('\n', "\n    ");
        format!("{} {:<5} {:<12} {msg}", rfc3339(r.ts_ms), level, r.node)
    };
    crate::output::print(&line)
}

/// Runs a `logs` subcommand.
pub async fn run(g: &GlobalOpts, c: &LogsCommand) -> anyhow::Result<()> {
    let config = config_load::load(g)?;
    let store = config_load::existing_store(g, &config).await?;
    match c {
        LogsCommand::Import {
            node,
            chain,
            format,
            file,
            json,
        } => {
            let chain = match (chain, config.node(node)) {
                (Some(c), _) => c.clone(),
                (None, Some(n)) => n.chain.clone(),
                (None, None) => {
                    return Err(invalid(format!(
                        "node \"{node}\" is not in the config; add it or pass --chain"
                    )));
                }
            };
            let format = match format {
                Some(f) => Some(
                    Format::parse(f)
                        .ok_or_else(|| invalid(format!("\"{f}\" is not a log format")))?,
                ),
                None => None,
            };
            let patterns =
                chainops_logs::service::compile_patterns(&config.logs).map_err(invalid)?;
            let ing = Ingester::new(store, Redactor::new(patterns), None);
            let stats = import(&ing, node, &chain, format, file).await?;
            let counts = ing.redactions();
            if *json {
                println!(
                    "{}",
                    serde_json::json!({
                        "entries": stats.0, "lines": stats.1, "file": file.display().to_string(),
                        "format": stats.2.as_str(), "redacted": counts,
                    })
                );
                return Ok(());
            }
            println!(
                "imported {} entries from {} lines of {} ({}); {} secrets redacted",
                stats.0,
                stats.1,
                file.display(),
                stats.2.as_str(),
                counts.values().sum::<u64>()
            );
        }
        LogsCommand::Search {
            query,
            since,
            until,
            limit,
            json,
        } => {
            let now = now_ms();
            let mut q = LogQuery {
                from_ms: time_arg("since", since, now)?,
                to_ms: until
                    .as_deref()
                    .map_or(Ok(now + 1), |u| time_arg("until", u, now))?,
                limit: (*limit).clamp(1, 10_000),
                ..LogQuery::default()
            };
            chainops_logs::query::parse(query.as_deref().unwrap_or(""), &mut q).map_err(invalid)?;
            let rows = store.search_logs(&q).await?;
            for r in &rows {
                print_row(r, *json)?;
            }
            if !*json && rows.len() as i64 == q.limit {
                eprintln!(
                    "(showing the newest {}; narrow the query or raise --limit)",
                    q.limit
                );
            }
        }
        LogsCommand::Tail {
            query,
            follow,
            lines,
            json,
        } => {
            let mut filter = LogQuery::default();
            chainops_logs::query::parse(query.as_deref().unwrap_or(""), &mut filter)
                .map_err(invalid)?;
            let q = LogQuery {
                from_ms: 0,
                to_ms: i64::MAX,
                limit: (*lines).clamp(1, 10_000),
                ..filter.clone()
            };
            let mut rows = store.search_logs(&q).await?;
            rows.reverse();
            let mut last = store.last_log_id().await?;
            for r in &rows {
                print_row(r, *json)?;
            }
            if !*follow {
                return Ok(());
            }
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let new = store.logs_after(last, 1000).await?;
                if let Some(l) = new.last() {
                    last = l.id;
                }
                for r in new.iter().filter(|r| matches(r, &filter)) {
                    print_row(r, *json)?;
                }
                std::io::stdout().flush()?;
            }
        }
    }
    Ok(())
}

/// Whether a row passes the filter (for `tail -f`, which reads rows in id order).
fn matches(r: &LogRow, f: &LogQuery) -> bool {
    let lower = r.message.to_lowercase();
    (f.nodes.is_empty() || f.nodes.contains(&r.node))
        && (f.chains.is_empty() || f.chains.contains(&r.chain))
        && f.min_level.is_none_or(|l| r.level >= l)
        && f.max_level.is_none_or(|l| r.level <= l)
        && f.text.iter().all(|t| lower.contains(&t.to_lowercase()))
        && f.fields.iter().all(|(k, v)| {
            serde_json::from_str::<serde_json::Value>(&r.fields)
                .ok()
                .and_then(|o| o.get(k).and_then(|x| x.as_str().map(|s| s == v)))
                .unwrap_or(false)
        })
}

/// Imports a file in batches with a progress line on a terminal; returns
/// (entries, lines, format).
async fn import(
    ing: &Ingester,
    node: &str,
    chain: &str,
    format: Option<Format>,
    path: &std::path::Path,
) -> anyhow::Result<(usize, u64, Format)> {
    let total = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    let format = match format {
        Some(f) => f,
        None => {
            let mut head = String::new();
            std::fs::File::open(path)?
                .take(256 * 1024)
                .read_to_string(&mut head)
                .ok();
            let sample: Vec<&str> = head.lines().take(200).collect();
            detect(&sample)
        }
    };
    let src = Source {
        id: format!("import:{}", path.display()),
        node: node.to_string(),
        chain: chain.to_string(),
        format: Some(format),
        drop: Default::default(),
    };
    let reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let mut g = Grouper::new(format);
    let mut batch = Vec::with_capacity(5000);
    let (mut entries, mut lines, mut bytes) = (0usize, 0u64, 0u64);
    let tty = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last_report = Instant::now();
    let now = now_ms();
    for line in reader.split(b'\n') {
        let line = line?;
        bytes += line.len() as u64 + 1;
        lines += 1;
        let text = String::from_utf8_lossy(&line);
        if let Some(e) = g.push(&text, now) {
            batch.push(e);
        }
        if batch.len() >= 5000 {
            entries += ing
                .write(&src, std::mem::take(&mut batch), None, now)
                .await?
                .len();
        }
        if last_report.elapsed() >= Duration::from_millis(500) {
            last_report = Instant::now();
            let pct = bytes as f64 * 100.0 / total.max(1) as f64;
            if tty {
                eprint!(
                    "\rimporting {}: {lines} lines, {pct:.0}%   ",
                    path.display()
                );
            } else {
                tracing::info!(lines, percent = pct as u64, "importing");
            }
        }
    }
    batch.extend(g.finish());
    entries += ing.write(&src, batch, None, now).await?.len();
    if tty {
        eprintln!(
            "\rimported {lines} lines in {:.1} s ({:.0} lines/s)            ",
            started.elapsed().as_secs_f64(),
            lines as f64 / started.elapsed().as_secs_f64().max(1e-9)
        );
    }
    Ok((entries, lines, format))
}
