//! Config text: the whole TOML file through interpolation, sealed values and validation;
//! rule expressions; and the small value grammars (durations, sizes, cron, quiet hours,
//! timestamps) that config and API values go through.

use crate::Target;
use chainops_alert::config::rule_expr::RuleExpr;
use chainops_config::Config;

pub const TOML: Target = Target {
    name: "config-toml",
    about: "chainops.toml: parse, ${VAR} interpolation, enc:v1 values, validation of every section",
    seeds: toml_seeds,
    run: run_toml,
};

pub const RULE_EXPR: Target = Target {
    name: "config-rule-expr",
    about: "alert rule conditions (terms, functions, comparisons, `and`)",
    seeds: rule_seeds,
    run: run_rule,
};

pub const SCHEDULES: Target = Target {
    name: "config-values",
    about: "durations, sizes, cron schedules, quiet hours, RFC 3339 times, master keys",
    seeds: value_seeds,
    run: run_values,
};

/// Every ```toml block of the docs, one seed each.
fn toml_seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for doc in super::files("docs", ".md") {
        let text = super::text(&doc);
        let mut rest = text.as_str();
        while let Some(i) = rest.find("```toml\n") {
            let body = &rest[i + 8..];
            let end = body.find("```").unwrap_or(body.len());
            out.push(body.as_bytes()[..end].to_vec());
            rest = &body[end..];
        }
    }
    out.push(b"data_dir = \"${HOME}/x\"\n[[nodes]]\nname=\"a\"\nkind=\"evm\"\nrpc_url=\"http://127.0.0.1:1\"\nchain=\"c\"\n".to_vec());
    out
}

fn env(name: &str) -> Option<String> {
    match name {
        "HOME" => Some("/home/op".into()),
        "CHAINOPS_MASTER_KEY_FILE" => None,
        _ => None,
    }
}

fn run_toml(data: &[u8]) {
    let text = super::text(data);
    if let Ok(c) = Config::from_toml_str(&text, &env) {
        let _ = c.to_redacted_toml();
    }
}

fn rule_seeds() -> Vec<Vec<u8>> {
    [
        "head_age_seconds > 3 * block_time_seconds for 30s",
        "delta(rpc_errors_total, 5m) > 10",
        "rate(height, 10m) < 0.5 and peers < 3",
        "anomaly(block_interval_seconds) > 4",
        "forecast(disk_free_bytes, 6h) < 1e9",
        "lag_blocks >= 5 and syncing == 0",
        "age(last_block) > 2m",
        "chain_min(height) < chain_max(height) - 10",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn run_rule(data: &[u8]) {
    let text = super::text(data);
    let _ = RuleExpr::parse(&text);
}

fn value_seeds() -> Vec<Vec<u8>> {
    [
        "1h30m",
        "250ms",
        "10GiB",
        "512 MB",
        "0 */6 * * mon-fri",
        "30 0 3 1,15 * *",
        "@daily",
        "22:00-07:00|+08:00",
        "2026-11-26T00:45:43.123+08:00",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

fn run_values(data: &[u8]) {
    use chainops_alert::config::quiet_hours::QuietHours;
    use chainops_core::{cron::Cron, duration, time};
    use chainops_logs::config as logs_config;
    let text = super::text(data);
    let _ = duration::parse_duration(&text);
    let _ = logs_config::parse_size(&text);
    if let Ok(c) = Cron::parse(&text) {
        let t = c.next_after(1_764_000_000_000);
        let _ = c.longest_gap_ms(t.unwrap_or(0), 64);
    }
    let (w, o) = text.split_once('|').unwrap_or((&text, "+00:00"));
    if let Ok(q) = QuietHours::parse(w, o) {
        let _ = q.release_at(1_764_000_000_000);
    }
    if let Some(ms) = time::parse_rfc3339(&text) {
        let _ = time::rfc3339(ms);
    }
    let _ = chainops_core::sealed::parse_key(&text);
}
