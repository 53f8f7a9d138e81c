//! `chainops rules export --format prometheus`: the rules as a Prometheus alerting-rules file
//! over chainops' own `/metrics`, for teams that alert in Prometheus/Alertmanager.
//!
//! Every fact maps to an exported metric; thresholds on node parameters join on
//! `(chain, node)`. `inhibited_by` has no Prometheus equivalent (it belongs in Alertmanager's
//! `inhibit_rules`) and is listed in a comment.

use crate::config::rule_expr::{Cond, Func, Rhs, Term};
use crate::rules::Rule;
use chainops_core::duration::format_duration;
use std::time::Duration;

/// PromQL selecting a fact's metric, or `None` when it has no single-series equivalent.
pub fn fact_metric(fact: &str) -> Option<&'static str> {
    Some(match fact {
        "up" => "chainops_node_up",
        "height" => "chainops_block_height",
        "head_age_seconds" => "chainops_head_age_seconds",
        "blocks_behind" => "chainops_blocks_behind",
        "peers" => "chainops_peers",
        "txpool_pending" => "sum without (state) (chainops_txpool_transactions{state=\"pending\"})",
        "txpool_queued" => "sum without (state) (chainops_txpool_transactions{state=\"queued\"})",
        "gas_price_wei" => "chainops_gas_price_wei",
        "base_fee_wei" => "chainops_base_fee_wei",
        "gas_used_ratio" => "chainops_block_gas_used_ratio",
        "rpc_latency_seconds" => "chainops_poll_duration_seconds",
        "syncing" => "chainops_syncing",
        "chain_id_mismatch" => "chainops_chain_id_mismatch",
        "reorgs_total" => "chainops_reorgs_total",
        "last_reorg_depth" => "chainops_last_reorg_depth_blocks",
        "recent_reorg_depth" => {
            "(chainops_last_reorg_depth_blocks and on (chain, node) increase(chainops_reorgs_total[10m]) > 0)"
        }
        "client_version_changes_total" => "chainops_client_version_changes_total",
        "block_time_seconds" => "chainops_node_block_time_seconds",
        "stall_after_seconds" => "chainops_node_stall_after_seconds",
        "lag_blocks" => "chainops_node_lag_blocks",
        "rpc_errors_total" => {
            "sum without (method, outcome) (chainops_rpc_requests_total{outcome!=\"ok\"})"
        }
        "finality_lag_seconds" => {
            "(chainops_block_height - on (chain, node) chainops_finalized_block_height) * on (chain, node) chainops_node_block_time_seconds"
        }
        "datadir_free_bytes" => "chainops_datadir_free_bytes",
        "datadir_used_ratio" => "chainops_datadir_used_ratio",
        "backup_failed" => "max without (job) (chainops_backup_failed)",
        "backup_overdue" => "max without (job) (chainops_backup_overdue)",
        "backup_age_seconds" => "max without (job) (chainops_backup_age_seconds)",
        "drill_failed" => "max without (job) (chainops_backup_drill_failed)",
        _ => return None,
    })
}

/// `M[w]` for a plain metric name, a subquery `(M)[w:]` for an expression.
fn range(metric: &str, w: Duration) -> String {
    let w = format_duration(w);
    if metric
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        format!("{metric}[{w}]")
    } else {
        format!("({metric})[{w}:]")
    }
}

/// PromQL for one term, or `None` when Prometheus has no equivalent (`age`, per-node
/// `absent`, `anomaly`).
pub fn term_promql(t: &Term) -> Option<String> {
    let m = fact_metric(t.fact)?;
    let counter = t.fact.ends_with("_total");
    Some(match t.func {
        Func::Value => m.to_string(),
        Func::Rate if counter => format!("rate({})", range(m, t.window)),
        Func::Rate => format!("deriv({})", range(m, t.window)),
        Func::Delta if counter => format!("increase({})", range(m, t.window)),
        Func::Delta => format!("delta({})", range(m, t.window)),
        Func::Forecast => format!(
            "predict_linear({}, {})",
            range(m, t.lookback),
            t.window.as_secs()
        ),
        Func::ChainMin => format!("min by (chain) ({m})"),
        Func::ChainMax => format!("max by (chain) ({m})"),
        Func::ChainAvg => format!("avg by (chain) ({m})"),
        Func::ChainSum => format!("sum by (chain) ({m})"),
        Func::ChainCount => format!("count by (chain) ({m})"),
        Func::Age | Func::Absent | Func::Anomaly => return None,
    })
}

/// PromQL for one comparison.
fn cond_promql(c: &Cond) -> Option<String> {
    let lhs = term_promql(&c.lhs)?;
    let op = c.op.as_str();
    Some(match &c.rhs {
        Rhs::Number(v) => format!("{lhs} {op} {v}"),
        Rhs::Scaled(k, t) => {
            let rhs = term_promql(t)?;
            let rhs = if *k == 1.0 {
                rhs
            } else {
                format!("({k} * {rhs})")
            };
            let on = match (c.lhs.func.is_chain(), t.func.is_chain()) {
                (true, _) => "on (chain)",
                (false, true) => "on (chain) group_left",
                (false, false) => "on (chain, node)",
            };
            format!("{lhs} {op} {on} {rhs}")
        }
    })
}

/// PromQL for a rule's condition, or `None` if a term has no equivalent.
pub fn promql(rule: &Rule) -> Option<String> {
    let conds = &rule.expr.conds;
    if let [one] = conds.as_slice() {
        return cond_promql(one);
    }
    let on = if rule.expr.is_chain_scoped() {
        "on (chain)"
    } else {
        "on (chain, node)"
    };
    let parts = conds
        .iter()
        .map(|c| cond_promql(c).map(|p| format!("({p})")))
        .collect::<Option<Vec<_>>>()?;
    Some(parts.join(&format!(" and {on} ")))
}

/// `{{node}}` → `{{ $labels.node }}` etc.
fn template(t: &str, rule: &Rule) -> String {
    t.replace("{{node}}", "{{ $labels.node }}")
        .replace("{{chain}}", "{{ $labels.chain }}")
        .replace("{{value}}", "{{ $value }}")
        .replace("{{rule}}", &rule.name)
        .replace("{{severity}}", rule.severity.as_str())
}

/// YAML double-quoted string (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// One rule as Prometheus takes it, built once for both renderings.
struct Exported {
    alert: String,
    expr: String,
    for_: Option<String>,
    keep_firing_for: Option<String>,
    /// `severity` first, then the rule's labels.
    labels: Vec<(String, String)>,
    /// `summary`, then `description` and `runbook_url` when set.
    annotations: Vec<(&'static str, String)>,
    inhibited_by: Vec<String>,
}

/// The rules Prometheus can evaluate, and the names of those it cannot.
fn exported(rules: &[Rule]) -> (Vec<Exported>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    for r in rules {
        let Some(expr) = promql(r) else {
            skipped.push(r.name.clone());
            continue;
        };
        let mut labels = vec![("severity".to_string(), r.severity.as_str().to_string())];
        labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        let mut annotations = vec![("summary", template(&r.summary, r))];
        if !r.description.is_empty() {
            annotations.push(("description", template(&r.description, r)));
        }
        if let Some(u) = &r.runbook_url {
            annotations.push(("runbook_url", u.clone()));
        }
        let dur = |d: std::time::Duration| (!d.is_zero()).then(|| format_duration(d));
        out.push(Exported {
            alert: r.name.clone(),
            expr,
            for_: dur(r.for_),
            keep_firing_for: dur(r.keep_firing_for),
            labels,
            annotations,
            inhibited_by: r.inhibited_by.clone(),
        });
    }
    (out, skipped)
}

/// Renders the rules file; rules that cannot be expressed are listed as comments.
pub fn prometheus_rules(rules: &[Rule]) -> String {
    let mut out = String::from("# Generated by `chainops rules export --format prometheus`.\n");
    out.push_str("# Scrape chainops' /metrics; labels chain and node identify a node.\ngroups:\n  - name: chainops\n    rules:\n");
    let (rules, skipped) = exported(rules);
    for r in rules {
        out.push_str(&format!(
            "      - alert: {}\n        expr: {}\n",
            r.alert,
            q(&r.expr)
        ));
        if let Some(d) = &r.for_ {
            out.push_str(&format!("        for: {d}\n"));
        }
        if let Some(d) = &r.keep_firing_for {
            out.push_str(&format!("        keep_firing_for: {d}\n"));
        }
        out.push_str("        labels:\n");
        for (k, v) in &r.labels {
            out.push_str(&format!("          {k}: {}\n", q(v)));
        }
        out.push_str("        annotations:\n");
        for (k, v) in &r.annotations {
            out.push_str(&format!("          {k}: {}\n", q(v)));
        }
        if !r.inhibited_by.is_empty() {
            out.push_str(&format!(
                "        # inhibited_by {:?}: add an Alertmanager inhibit_rule (source_matchers alertname=…, equal [chain, node])\n",
                r.inhibited_by
            ));
        }
    }
    for s in skipped {
        out.push_str(&format!(
            "# {s}: not expressible in PromQL over chainops metrics; evaluated by chainops only\n"
        ));
    }
    out
}

/// The same rules file as JSON (which Prometheus loads like YAML), and the notes the YAML
/// carries as comments: rules not expressible in PromQL, and inhibitions to recreate in
/// Alertmanager.
pub fn prometheus_rules_json(rules: &[Rule]) -> (serde_json::Value, Vec<String>) {
    let (rules, skipped) = exported(rules);
    let mut notes: Vec<String> = skipped
        .iter()
        .map(|s| {
            format!(
                "{s}: not expressible in PromQL over chainops metrics; evaluated by chainops only"
            )
        })
        .collect();
    let list: Vec<serde_json::Value> = rules
        .iter()
        .map(|r| {
            if !r.inhibited_by.is_empty() {
                notes.push(format!(
                    "{}: inhibited_by {:?}; add an Alertmanager inhibit_rule (equal [chain, node])",
                    r.alert, r.inhibited_by
                ));
            }
            let mut v = serde_json::json!({
                "alert": r.alert,
                "expr": r.expr,
                "labels": r.labels.iter().cloned().collect::<std::collections::BTreeMap<String, String>>(),
                "annotations": r.annotations.iter().cloned().collect::<std::collections::BTreeMap<&str, String>>(),
            });
            if let Some(d) = &r.for_ {
                v["for"] = serde_json::json!(d);
            }
            if let Some(d) = &r.keep_firing_for {
                v["keep_firing_for"] = serde_json::json!(d);
            }
            v
        })
        .collect();
    (
        serde_json::json!({"groups": [{"name": "chainops", "rules": list}]}),
        notes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::effective_rules;

    #[test]
    fn default_pack_translates_with_joins_on_node_parameters() {
        let c = crate::config::from_toml("").expect("defaults");
        let rules = effective_rules(&c);
        let stalled = rules
            .iter()
            .find(|r| r.name == "HeadStalled")
            .expect("rule");
        assert_eq!(
            promql(stalled).as_deref(),
            Some("chainops_head_age_seconds > on (chain, node) chainops_node_stall_after_seconds")
        );
        let text = prometheus_rules(&rules);
        assert!(
            text.contains(
                "- alert: NodeDown\n        expr: \"chainops_node_up < 1\"\n        for: 15s"
            ),
            "{text}"
        );
        assert!(text.contains("{{ $labels.node }}"));
    }

    #[test]
    fn every_fact_has_a_metric() {
        for f in chainops_core::facts::FACT_NAMES {
            if *f != "block_interval_seconds" {
                assert!(fact_metric(f).is_some(), "{f}");
            }
        }
    }
}
