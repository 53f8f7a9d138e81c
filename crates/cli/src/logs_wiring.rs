//! Wires log management into the daemon: the Loki forwarder, the log service with its file
//! and managed-node sources, and log alert rules for the alert engine.

use chainops_alert::config::rule_expr::{Cond, Func, Op, Rhs, RuleExpr, Term};
use chainops_alert::rules::Rule;
use chainops_config::Config;
use chainops_logs::parse::Format;
use chainops_logs::service::{LogService, NodeLog};
use chainops_store::Store;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Starts log ingest (and Loki forwarding if configured).
pub fn start(
    config: &Config,
    store: &Store,
    http: &reqwest::Client,
    shutdown: &watch::Receiver<bool>,
) -> anyhow::Result<(Arc<LogService>, Vec<tokio::task::JoinHandle<()>>)> {
    let mut tasks = Vec::new();
    let forward = config.logs.loki.as_ref().map(|l| {
        let (tx, rx) = tokio::sync::mpsc::channel(chainops_logs::loki::QUEUE);
        tasks.push(tokio::spawn(chainops_logs::loki::run(
            http.clone(),
            l.clone(),
            rx,
            shutdown.clone(),
        )));
        tx
    });
    let service = Arc::new(
        LogService::new(store.clone(), &config.logs, forward).map_err(|m| anyhow::anyhow!(m))?,
    );
    let mut sources = Vec::new();
    if config.logs.managed_nodes {
        for n in config.nodes.iter().filter(|n| n.managed.is_some()) {
            // By default a managed node's log leaves out the requests of chainops' own polls.
            let drop = config.logs.managed_drop.clone().unwrap_or_else(|| {
                chainops_chain::family(n.kind)
                    .poll_line_pattern()
                    .into_iter()
                    .collect()
            });
            sources.push(NodeLog {
                node: n.name.clone(),
                chain: n.chain.clone(),
                path: config.data_dir.join("nodes").join(&n.name).join("node.log"),
                format: None,
                source_id: format!("managed:{}", n.name),
                drop: chainops_logs::ingest::DropFilter::compile(&drop),
            });
        }
    }
    for s in &config.logs.sources {
        let chain = config
            .node(&s.node)
            .map(|n| n.chain.clone())
            .unwrap_or_default();
        sources.push(NodeLog {
            node: s.node.clone(),
            chain,
            path: s.path.clone(),
            format: s.format.as_deref().and_then(Format::parse),
            source_id: format!("file:{}", s.path.display()),
            drop: chainops_logs::ingest::DropFilter::compile(&s.drop),
        });
    }
    tracing::info!(
        sources = sources.len(),
        loki = config.logs.loki.is_some(),
        "log management enabled"
    );
    tasks.extend(service.spawn(sources, shutdown.clone()));
    Ok((service, tasks))
}

/// Alert rules for `[[logs.alerts]]`: `log_<name> > threshold` on each node.
pub fn rules(config: &Config, fact_names: &[&'static str]) -> Vec<Rule> {
    config
        .logs
        .alerts
        .iter()
        .zip(fact_names)
        .map(|(a, fact)| {
            let what = a.pattern.as_deref().map_or_else(
                || format!("{} entries", a.level.as_deref().unwrap_or("")),
                |p| format!("\"{p}\""),
            );
            Rule {
                name: a.name.clone(),
                severity: a.severity,
                expr: RuleExpr {
                    conds: vec![Cond {
                        lhs: Term {
                            func: Func::Value,
                            fact,
                            window: Duration::ZERO,
                            lookback: Duration::ZERO,
                            daily: false,
                        },
                        op: Op::Gt,
                        rhs: Rhs::Number(a.threshold as f64),
                    }],
                },
                for_: Duration::ZERO,
                keep_firing_for: Duration::ZERO,
                summary: format!(
                    "{{{{node}}}} ({{{{chain}}}}): {{{{value}}}} log lines matched {what} in {}",
                    chainops_core::duration::format_duration(a.window)
                ),
                description: String::new(),
                runbook_url: Some("docs/logs.md#log-alert-rules".into()),
                labels: BTreeMap::from([("source".to_string(), "logs".to_string())]),
                inhibited_by: Vec::new(),
            }
        })
        .collect()
}
