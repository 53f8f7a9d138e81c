//! Grafana dashboards over chainops' `/metrics`: fleet, node, alerting, backups and logs
//! ingest, with the provisioning file that loads them (`chainops dashboards export`).
//!
//! Panels are declared here once ([`dashboards`]); a panel's description is the `# HELP` text
//! of its metric from the exposition's registry where the metric is a node metric. Every
//! query is tested on a real Prometheus scraping a daemon (a query that returns nothing fails
//! the test), so a renamed metric cannot leave a dashboard silently empty.

use serde_json::{Value, json};

/// How a panel draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Viz {
    /// Lines over time.
    TimeSeries,
    /// One number (the latest value).
    Stat,
}

/// One panel: a title, a unit (Grafana's unit id) and its queries with their legends.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title.
    pub title: &'static str,
    /// Grafana unit (`short`, `s`, `bytes`, `percentunit`, `reqps`, `dateTimeFromNow`).
    pub unit: &'static str,
    /// How it draws.
    pub viz: Viz,
    /// (PromQL, legend) per query; `$chain`, `$node` and `$__rate_interval` are Grafana
    /// variables.
    pub queries: &'static [(&'static str, &'static str)],
}

/// One dashboard.
#[derive(Debug, Clone)]
pub struct Dashboard {
    /// Stable uid (links survive a re-import).
    pub uid: &'static str,
    /// File name stem and title.
    pub title: &'static str,
    /// Whether it has the `$node` variable (per-node dashboards).
    pub per_node: bool,
    /// Panels in order, laid out two per row.
    pub panels: &'static [Panel],
}

const fn ts(
    title: &'static str,
    unit: &'static str,
    queries: &'static [(&'static str, &'static str)],
) -> Panel {
    Panel {
        title,
        unit,
        viz: Viz::TimeSeries,
        queries,
    }
}

const fn stat(
    title: &'static str,
    unit: &'static str,
    queries: &'static [(&'static str, &'static str)],
) -> Panel {
    Panel {
        title,
        unit,
        viz: Viz::Stat,
        queries,
    }
}

/// Every shipped dashboard.
pub fn dashboards() -> &'static [Dashboard] {
    DASHBOARDS
}

static DASHBOARDS: &[Dashboard] = &[
    Dashboard {
        uid: "chainops-fleet",
        title: "chainops fleet",
        per_node: false,
        panels: &[
            stat(
                "Nodes up",
                "short",
                &[(r#"sum(chainops_node_up{chain=~"$chain"})"#, "up")],
            ),
            stat(
                "Nodes down",
                "short",
                &[(
                    r#"sum(chainops_node_status{chain=~"$chain", status="down"})"#,
                    "down",
                )],
            ),
            ts(
                "Nodes by status",
                "short",
                &[(
                    r#"sum by (status) (chainops_node_status{chain=~"$chain"})"#,
                    "{{status}}",
                )],
            ),
            ts(
                "Best height by chain",
                "short",
                &[(
                    r#"max by (chain) (chainops_block_height{chain=~"$chain"})"#,
                    "{{chain}}",
                )],
            ),
            ts(
                "Blocks behind the chain's best",
                "short",
                &[(r#"chainops_blocks_behind{chain=~"$chain"}"#, "{{node}}")],
            ),
            ts(
                "Head age",
                "s",
                &[(r#"chainops_head_age_seconds{chain=~"$chain"}"#, "{{node}}")],
            ),
            ts(
                "Peers",
                "short",
                &[(r#"chainops_peers{chain=~"$chain"}"#, "{{node}}")],
            ),
            ts(
                "Reorgs (1 h)",
                "short",
                &[(
                    r#"increase(chainops_reorgs_total{chain=~"$chain"}[1h])"#,
                    "{{node}}",
                )],
            ),
            ts(
                "RPC latency p95 by method",
                "s",
                &[(
                    r#"histogram_quantile(0.95, sum by (le, method) (rate(chainops_rpc_request_duration_seconds_bucket{chain=~"$chain"}[$__rate_interval])))"#,
                    "{{method}}",
                )],
            ),
            ts(
                "RPC calls by outcome",
                "reqps",
                &[(
                    r#"sum by (outcome) (rate(chainops_rpc_requests_total{chain=~"$chain"}[$__rate_interval]))"#,
                    "{{outcome}}",
                )],
            ),
        ],
    },
    Dashboard {
        uid: "chainops-node",
        title: "chainops node",
        per_node: true,
        panels: &[
            ts(
                "Height",
                "short",
                &[(r#"chainops_block_height{node=~"$node"}"#, "{{node}}")],
            ),
            ts(
                "Block interval p50",
                "s",
                &[(
                    r#"histogram_quantile(0.5, sum by (le, node) (rate(chainops_block_interval_seconds_bucket{node=~"$node"}[5m])))"#,
                    "{{node}}",
                )],
            ),
            ts(
                "Transactions per second",
                "short",
                &[(
                    r#"chainops_transactions_per_second{node=~"$node"}"#,
                    "{{node}}",
                )],
            ),
            ts(
                "Transaction pool",
                "short",
                &[(
                    r#"chainops_txpool_transactions{node=~"$node"}"#,
                    "{{node}} {{state}}",
                )],
            ),
            ts(
                "Gas used ratio (EVM)",
                "percentunit",
                &[(
                    r#"chainops_block_gas_used_ratio{node=~"$node"}"#,
                    "{{node}}",
                )],
            ),
            ts(
                "Gas price and base fee (EVM)",
                "short",
                &[
                    (
                        r#"chainops_gas_price_wei{node=~"$node"}"#,
                        "{{node}} gas price",
                    ),
                    (
                        r#"chainops_base_fee_wei{node=~"$node"}"#,
                        "{{node}} base fee",
                    ),
                ],
            ),
            ts(
                "Mempool bytes (Bitcoin, Monero)",
                "bytes",
                &[(r#"chainops_mempool_bytes{node=~"$node"}"#, "{{node}}")],
            ),
            ts(
                "Difficulty (Bitcoin, Monero)",
                "short",
                &[(r#"chainops_difficulty{node=~"$node"}"#, "{{node}}")],
            ),
            ts(
                "Peers in / out",
                "short",
                &[
                    (r#"chainops_peers_inbound{node=~"$node"}"#, "{{node}} in"),
                    (r#"chainops_peers_outbound{node=~"$node"}"#, "{{node}} out"),
                ],
            ),
            ts(
                "Chain database size",
                "bytes",
                &[(r#"chainops_chain_db_bytes{node=~"$node"}"#, "{{node}}")],
            ),
            ts(
                "Data dir free space",
                "bytes",
                &[(r#"chainops_datadir_free_bytes{node=~"$node"}"#, "{{node}}")],
            ),
            ts(
                "Poll duration",
                "s",
                &[(
                    r#"chainops_poll_duration_seconds{node=~"$node"}"#,
                    "{{node}}",
                )],
            ),
            ts(
                "Managed node restarts (1 h)",
                "short",
                &[(
                    r#"increase(chainops_managed_node_restarts_total{node=~"$node"}[1h])"#,
                    "{{node}}",
                )],
            ),
        ],
    },
    Dashboard {
        uid: "chainops-alerting",
        title: "chainops alerting",
        per_node: false,
        panels: &[
            stat(
                "Firing",
                "short",
                &[(r#"sum(chainops_alerts_active{state="firing"})"#, "firing")],
            ),
            stat(
                "Last evaluation",
                "dateTimeFromNow",
                &[(
                    r#"chainops_alert_last_evaluation_timestamp_seconds * 1000"#,
                    "last",
                )],
            ),
            ts(
                "Active alerts by severity",
                "short",
                &[(
                    r#"sum by (state, severity) (chainops_alerts_active)"#,
                    "{{state}} {{severity}}",
                )],
            ),
            ts(
                "Evaluations and failures",
                "reqps",
                &[
                    (
                        r#"rate(chainops_alert_evaluations_total[$__rate_interval])"#,
                        "evaluations",
                    ),
                    (
                        r#"rate(chainops_alert_evaluation_failures_total[$__rate_interval])"#,
                        "failures",
                    ),
                ],
            ),
            ts(
                "Notifications by channel and outcome (1 h)",
                "short",
                &[(
                    r#"sum by (channel, outcome) (increase(chainops_notifications_total[1h]))"#,
                    "{{channel}} {{outcome}}",
                )],
            ),
        ],
    },
    Dashboard {
        uid: "chainops-backups",
        title: "chainops backups",
        per_node: false,
        panels: &[
            stat(
                "Jobs failing",
                "short",
                &[(r#"sum(chainops_backup_failed)"#, "failing")],
            ),
            stat(
                "Jobs overdue",
                "short",
                &[(r#"sum(chainops_backup_overdue)"#, "overdue")],
            ),
            ts(
                "Since the last good backup",
                "s",
                &[(
                    r#"time() - chainops_backup_last_success_timestamp_seconds"#,
                    "{{job}}",
                )],
            ),
            ts(
                "Last run duration",
                "s",
                &[(r#"chainops_backup_last_run_duration_seconds"#, "{{job}}")],
            ),
            ts(
                "Bytes added by the last run",
                "bytes",
                &[(r#"chainops_backup_last_run_bytes_added"#, "{{job}}")],
            ),
            ts(
                "Runs by result (1 h)",
                "short",
                &[(
                    r#"sum by (job, kind, result) (increase(chainops_backup_runs_total[1h]))"#,
                    "{{job}} {{kind}} {{result}}",
                )],
            ),
            ts(
                "Since the last good restore drill",
                "s",
                &[(
                    r#"time() - chainops_backup_drill_last_success_timestamp_seconds"#,
                    "{{job}}",
                )],
            ),
        ],
    },
    Dashboard {
        uid: "chainops-logs",
        title: "chainops logs ingest",
        per_node: false,
        panels: &[
            ts(
                "Entries stored",
                "short",
                &[(
                    r#"rate(chainops_log_entries_total[$__rate_interval])"#,
                    "entries/s",
                )],
            ),
            ts(
                "Lines read from files",
                "short",
                &[(
                    r#"rate(chainops_log_lines_total[$__rate_interval])"#,
                    "lines/s",
                )],
            ),
            ts(
                "Filtered and dropped",
                "short",
                &[
                    (
                        r#"increase(chainops_log_entries_filtered_total[1h])"#,
                        "filtered (1 h)",
                    ),
                    (
                        r#"increase(chainops_log_forward_dropped_total[1h])"#,
                        "forward dropped (1 h)",
                    ),
                ],
            ),
            ts(
                "Secrets redacted (1 h)",
                "short",
                &[(
                    r#"sum by (kind) (increase(chainops_log_redactions_total[1h]))"#,
                    "{{kind}}",
                )],
            ),
        ],
    },
];

/// The metric names a query reads (`chainops_…`, without `_bucket`).
pub fn query_metrics(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("chainops_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        let name = tail[..end].trim_end_matches("_bucket");
        if !out.contains(&name) {
            out.push(name);
        }
        rest = &tail[end..];
    }
    out
}

/// A query with the Grafana variables replaced for a plain Prometheus (every chain and
/// node, a 1-minute rate window): what the tests and `dashboards export --promql` run.
pub fn plain_promql(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("\"$chain\"", "\".*\"")
        .replace("\"$node\"", "\".*\"")
}

/// The dashboard as Grafana JSON (schema 39), for a Prometheus data source chosen by the
/// `datasource` variable.
pub fn grafana_json(d: &Dashboard) -> Value {
    let ds = json!({"type": "prometheus", "uid": "${datasource}"});
    let panels: Vec<Value> = d
        .panels
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (w, h) = match p.viz {
                Viz::Stat => (6, 4),
                Viz::TimeSeries => (12, 8),
            };
            let description = p
                .queries
                .iter()
                .flat_map(|(q, _)| query_metrics(q))
                .filter_map(crate::exposition::help_of)
                .collect::<Vec<_>>()
                .join(" ");
            json!({
                "id": i + 1,
                "type": match p.viz { Viz::Stat => "stat", Viz::TimeSeries => "timeseries" },
                "title": p.title,
                "description": description,
                "datasource": ds,
                "gridPos": {"h": h, "w": w, "x": (i % 2) * 12, "y": (i / 2) * 8},
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "options": match p.viz {
                    Viz::Stat => json!({"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false}, "colorMode": "value", "graphMode": "area"}),
                    Viz::TimeSeries => json!({"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}}),
                },
                "targets": p.queries.iter().enumerate().map(|(j, (expr, legend))| json!({
                    "refId": ((b'A' + j as u8) as char).to_string(),
                    "datasource": ds,
                    "expr": expr,
                    "legendFormat": legend,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut vars = vec![json!({
        "name": "datasource", "type": "datasource", "query": "prometheus", "label": "Data source",
        "current": {}, "hide": 0, "refresh": 1,
    })];
    vars.push(json!({
        "name": "chain", "type": "query", "label": "Chain", "datasource": ds,
        "query": {"query": "label_values(chainops_node_up, chain)", "refId": "chain"},
        "definition": "label_values(chainops_node_up, chain)",
        "includeAll": true, "multi": true, "allValue": ".*", "refresh": 2,
        "current": {"text": "All", "value": "$__all"},
    }));
    if d.per_node {
        vars.push(json!({
            "name": "node", "type": "query", "label": "Node", "datasource": ds,
            "query": {"query": "label_values(chainops_node_up{chain=~\"$chain\"}, node)", "refId": "node"},
            "definition": "label_values(chainops_node_up{chain=~\"$chain\"}, node)",
            "includeAll": true, "multi": true, "allValue": ".*", "refresh": 2,
            "current": {"text": "All", "value": "$__all"},
        }));
    }
    json!({
        "uid": d.uid,
        "title": d.title,
        "tags": ["chainops"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "editable": true,
        "templating": {"list": vars},
        "links": DASHBOARDS.iter().filter(|o| o.uid != d.uid).map(|o| json!({
            "title": o.title, "type": "link", "url": format!("/d/{}", o.uid),
        })).collect::<Vec<_>>(),
        "panels": panels,
    })
}

/// Grafana's dashboard provisioning file loading the JSON files from `dir`.
pub fn provisioning_yaml(dir: &str) -> String {
    format!(
        "# Grafana dashboard provisioning for chainops (copy to /etc/grafana/provisioning/dashboards/).\n\
         apiVersion: 1\n\
         providers:\n  \
           - name: chainops\n    \
             folder: chainops\n    \
             type: file\n    \
             disableDeletion: false\n    \
             updateIntervalSeconds: 60\n    \
             allowUiUpdates: false\n    \
             options:\n      \
               path: {dir}\n      \
               foldersFromFilesStructure: false\n"
    )
}

/// A dashboard's file name (`chainops-fleet.json`).
pub fn file_name(d: &Dashboard) -> String {
    format!("{}.json", d.uid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_panel_reads_chainops_metrics_and_uids_are_unique() {
        let mut uids = std::collections::HashSet::new();
        for d in dashboards() {
            assert!(uids.insert(d.uid));
            let j = grafana_json(d);
            assert_eq!(j["panels"].as_array().map(Vec::len), Some(d.panels.len()));
            for p in d.panels {
                for (q, _) in p.queries {
                    assert!(!query_metrics(q).is_empty(), "{q}");
                    assert!(!plain_promql(q).contains('$'), "{q}");
                }
            }
        }
    }

    #[test]
    fn node_panels_are_described_by_the_registry() {
        let d = &dashboards()[1];
        let j = grafana_json(d);
        assert_eq!(j["templating"]["list"][2]["name"], "node");
        let height = &j["panels"][0];
        assert_eq!(height["description"], "Height of the node's head block.");
        assert_eq!(
            query_metrics(
                "histogram_quantile(0.5, rate(chainops_block_interval_seconds_bucket[5m])) + chainops_x"
            ),
            vec!["chainops_block_interval_seconds", "chainops_x"]
        );
    }
}
