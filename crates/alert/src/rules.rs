//! The effective rule set: the built-in pack (thresholds scaled by each node's own
//! parameters) with config rules overriding, disabling or adding by name.
//! Each default rule is documented with its reasoning in `docs/alerting.md`.

use crate::config::rule_expr::RuleExpr;
use crate::config::{AlertingConfig, RuleConfig, Severity};
use std::collections::BTreeMap;
use std::time::Duration;

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Name.
    pub name: String,
    /// Severity.
    pub severity: Severity,
    /// Condition.
    pub expr: RuleExpr,
    /// Pending time before firing.
    pub for_: Duration,
    /// Flap damping.
    pub keep_firing_for: Duration,
    /// Summary template.
    pub summary: String,
    /// Description template.
    pub description: String,
    /// Runbook link.
    pub runbook_url: Option<String>,
    /// Extra labels.
    pub labels: BTreeMap<String, String>,
    /// Rules whose condition, holding on the same node, silences this one.
    pub inhibited_by: Vec<String>,
}

/// `(name, severity, expr, for, keep_firing_for, inhibited_by, summary)` of the default pack.
type DefaultRule = (
    &'static str,
    Severity,
    &'static str,
    u64,
    u64,
    &'static [&'static str],
    &'static str,
);

/// A node that is down (or whose whole chain is) explains its other symptoms.
const DOWN: &[&str] = &["NodeDown", "AllEndpointsDown"];
const DOWN_OR_STALLED: &[&str] = &["NodeDown", "AllEndpointsDown", "HeadStalled"];
const DOWN_OR_SYNCING: &[&str] = &["NodeDown", "AllEndpointsDown", "Syncing"];

/// The built-in pack. `for`/`keep_firing_for` are seconds.
pub const DEFAULT_PACK: &[DefaultRule] = &[
    (
        "NodeDown",
        Severity::Critical,
        "up < 1",
        15,
        0,
        &["AllEndpointsDown"],
        "{{node}} ({{chain}}) does not answer RPC",
    ),
    (
        "AllEndpointsDown",
        Severity::Critical,
        "chain_max(up) < 1 and chain_count(up) >= 2",
        15,
        0,
        &[],
        "none of the {{chain}} endpoints answers RPC",
    ),
    (
        "HeadStalled",
        Severity::Critical,
        "head_age_seconds > stall_after_seconds",
        0,
        0,
        DOWN,
        "{{node}} ({{chain}}): no new block for {{value}} s",
    ),
    (
        "HeadStale",
        Severity::Warning,
        "head_age_seconds > 3 * block_time_seconds",
        0,
        0,
        DOWN_OR_STALLED,
        "{{node}} ({{chain}}): blocks are late, the head is {{value}} s old",
    ),
    (
        "BehindPeers",
        Severity::Warning,
        "blocks_behind > lag_blocks",
        30,
        30,
        DOWN,
        "{{node}} ({{chain}}) is {{value}} blocks behind the best node of its chain",
    ),
    (
        "Syncing",
        Severity::Warning,
        "syncing > 0",
        300,
        0,
        DOWN,
        "{{node}} ({{chain}}) is syncing",
    ),
    (
        "FinalityStalled",
        Severity::Warning,
        "finality_lag_seconds > 1800",
        300,
        60,
        DOWN_OR_SYNCING,
        "{{node}} ({{chain}}): the finalized block is {{value}} s behind the head",
    ),
    (
        "ChainIdMismatch",
        Severity::Critical,
        "chain_id_mismatch > 0",
        0,
        0,
        &[],
        "{{node}} reports a chain id other than the configured one",
    ),
    (
        "ClientVersionChanged",
        Severity::Info,
        "delta(client_version_changes_total, 15m) > 0",
        0,
        0,
        &[],
        "{{node}} ({{chain}}) now runs another client version",
    ),
    (
        "ReorgDetected",
        Severity::Warning,
        "recent_reorg_depth > 0",
        0,
        0,
        &[],
        "{{node}} ({{chain}}) reorganized {{value}} blocks",
    ),
    (
        "DeepReorg",
        Severity::Critical,
        "recent_reorg_depth >= 3",
        0,
        0,
        &[],
        "{{node}} ({{chain}}) reorganized {{value}} blocks: deeper than finality assumptions",
    ),
    (
        "RpcSlow",
        Severity::Warning,
        "rpc_latency_seconds > 2",
        60,
        60,
        DOWN,
        "{{node}} answers RPC in {{value}} s",
    ),
    (
        "RpcErrors",
        Severity::Warning,
        "delta(rpc_errors_total, 5m) > 10",
        0,
        120,
        DOWN,
        "{{node}} ({{chain}}): {{value}} failed RPC calls in 5 minutes",
    ),
    (
        "LowPeers",
        Severity::Warning,
        "peers < 3",
        300,
        60,
        DOWN,
        "{{node}} ({{chain}}) has only {{value}} peers",
    ),
    (
        "TxpoolBacklog",
        Severity::Warning,
        "txpool_pending > 10000",
        600,
        60,
        DOWN,
        "{{node}} ({{chain}}) has {{value}} pending transactions",
    ),
    (
        "BlockIntervalAnomaly",
        Severity::Warning,
        "anomaly(block_interval_seconds, 1h) > 5",
        120,
        60,
        DOWN_OR_STALLED,
        "{{node}} ({{chain}}): block interval {{value}} σ above its usual level",
    ),
    (
        "GasPriceAnomaly",
        Severity::Info,
        "anomaly(gas_price_wei, 6h, daily) > 5",
        300,
        300,
        DOWN,
        "{{node}} ({{chain}}): gas price {{value}} σ above its usual level for this time of day",
    ),
    (
        "DataDirDiskFull",
        Severity::Critical,
        "datadir_used_ratio > 0.95",
        60,
        60,
        &[],
        "{{node}}: the data directory's disk is {{value}} full",
    ),
    (
        "DataDirWillFill",
        Severity::Warning,
        "forecast(datadir_free_bytes, 24h, 6h) < 0",
        600,
        600,
        &["DataDirDiskFull"],
        "{{node}}: at the current growth the data directory's disk fills within 24 h",
    ),
    (
        "BackupFailed",
        Severity::Warning,
        "backup_failed > 0",
        0,
        0,
        &[],
        "{{node}}: the last scheduled backup failed (see chainops backup runs)",
    ),
    (
        "BackupOverdue",
        Severity::Critical,
        "backup_overdue > 0",
        0,
        0,
        &[],
        "{{node}}: no successful backup for longer than its schedule allows",
    ),
    (
        "RestoreDrillFailed",
        Severity::Critical,
        "drill_failed > 0",
        0,
        0,
        &[],
        "{{node}}: the last restore drill did not bring the node back on the recorded head",
    ),
];

/// Where the daemon serves the alerting guide (the default rules' runbooks).
pub const GUIDE_PATH: &str = "/docs/alerting";

/// Makes every runbook link absolute against `base` (`[server] external_url`, else the
/// daemon's address): a link in a chat message or an exported rule must open from anywhere.
/// Absolute links stay as written.
pub fn link_runbooks(rules: &mut [Rule], base: &str) {
    for r in rules {
        if let Some(u) = &mut r.runbook_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            *u = format!(
                "{}/{}",
                base.trim_end_matches('/'),
                u.trim_start_matches('/')
            );
        }
    }
}

/// Builds the effective rules: defaults (if enabled) replaced by same-named config rules;
/// rules with `enabled = false` removed.
pub fn effective_rules(cfg: &AlertingConfig) -> Vec<Rule> {
    let mut rules: Vec<Rule> = Vec::new();
    if cfg.default_rules {
        for &(name, severity, expr, for_s, keep_s, inhibited_by, summary) in DEFAULT_PACK {
            let Ok(expr) = RuleExpr::parse(expr) else {
                continue;
            };
            rules.push(Rule {
                name: name.into(),
                severity,
                expr,
                for_: Duration::from_secs(for_s),
                keep_firing_for: Duration::from_secs(keep_s),
                summary: summary.into(),
                description: String::new(),
                runbook_url: Some(format!("{GUIDE_PATH}#{}", name.to_ascii_lowercase())),
                labels: BTreeMap::new(),
                inhibited_by: inhibited_by.iter().map(|s| s.to_string()).collect(),
            });
        }
    }
    for rc in &cfg.rules {
        rules.retain(|r| r.name != rc.name);
        if let Some(rule) = from_config(rc) {
            rules.push(rule);
        }
    }
    rules
}

fn from_config(rc: &RuleConfig) -> Option<Rule> {
    if !rc.enabled {
        return None;
    }
    Some(Rule {
        name: rc.name.clone(),
        severity: rc.severity,
        expr: rc.expr.clone()?,
        for_: rc.for_,
        keep_firing_for: rc.keep_firing_for,
        summary: rc.summary.clone(),
        description: rc.description.clone(),
        runbook_url: rc.runbook_url.clone(),
        labels: rc.labels.clone(),
        inhibited_by: rc.inhibited_by.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_rule_parses() {
        for r in DEFAULT_PACK {
            assert!(RuleExpr::parse(r.2).is_ok(), "{}", r.0);
        }
    }

    #[test]
    fn config_rules_override_disable_and_add() {
        let toml = r#"
[[rules]]
name = "HeadStalled"
expr = "head_age_seconds > 60"
for = "10s"
[[rules]]
name = "LowPeers"
enabled = false
[[rules]]
name = "GasSpike"
severity = "info"
expr = "gas_price_wei > 100000000000"
"#;
        let c = crate::config::from_toml(toml).expect("valid");
        let rules = effective_rules(&c);
        let stalled = rules
            .iter()
            .find(|r| r.name == "HeadStalled")
            .expect("kept");
        assert_eq!(
            (stalled.expr.to_string().as_str(), stalled.for_),
            ("head_age_seconds > 60", Duration::from_secs(10))
        );
        assert!(!rules.iter().any(|r| r.name == "LowPeers"));
        assert!(
            rules
                .iter()
                .any(|r| r.name == "GasSpike" && r.severity == Severity::Info)
        );
        assert_eq!(rules.len(), DEFAULT_PACK.len());
    }

    #[test]
    fn inhibitors_name_existing_rules() {
        for r in DEFAULT_PACK {
            for i in r.5 {
                assert!(DEFAULT_PACK.iter().any(|x| x.0 == *i), "{} → {i}", r.0);
            }
        }
    }
}
