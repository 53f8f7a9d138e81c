//! `chainops dashboards export` (Grafana JSON, provisioning file and the Prometheus rule
//! file, ready to ship) and `chainops dashboards check` (runs every panel's query on a
//! Prometheus-compatible server and names the panels that would be empty).

use crate::cli::{DashboardsCheckOpts, DashboardsExportOpts, GlobalOpts};
use crate::exit::KindError;
use anyhow::Context;
use chainops_core::ErrorKind;
use chainops_monitor::dashboards::{
    dashboards, file_name, grafana_json, plain_promql, provisioning_yaml,
};
use serde_json::{Value, json};
use std::time::Duration;

/// The provisioning file's name in the export directory.
pub const PROVISIONING: &str = "chainops-dashboards.yaml";
/// The Prometheus rule file's name in the export directory.
pub const RULES: &str = "chainops-rules.yml";

/// Writes every dashboard, the provisioning file and the rule file into `--out-dir`.
pub fn export(g: &GlobalOpts, o: &DashboardsExportOpts) -> anyhow::Result<()> {
    let config = crate::config_load::load(g)?;
    std::fs::create_dir_all(&o.out_dir)
        .with_context(|| format!("cannot create {}", o.out_dir.display()))?;
    let mut written = Vec::new();
    let mut write = |name: String, text: String| -> anyhow::Result<()> {
        let path = o.out_dir.join(&name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path.display().to_string());
        Ok(())
    };
    for d in dashboards() {
        write(
            file_name(d),
            format!("{}\n", serde_json::to_string_pretty(&grafana_json(d))?),
        )?;
    }
    write(PROVISIONING.into(), provisioning_yaml(&o.grafana_path))?;
    let mut rules = chainops_alert::rules::effective_rules(&config.alerting);
    chainops_alert::rules::link_runbooks(&mut rules, &config.server.external_base(None));
    write(
        RULES.into(),
        chainops_alert::export::prometheus_rules(&rules),
    )?;
    if o.json {
        println!("{}", json!({ "files": written }));
    } else {
        for f in &written {
            println!("{f}");
        }
        println!(
            "{} dashboards; Grafana loads them from {} with {PROVISIONING} in /etc/grafana/provisioning/dashboards/; Prometheus loads {RULES} (rule_files)",
            dashboards().len(),
            o.grafana_path
        );
    }
    Ok(())
}

/// One panel query's answer on the server.
struct Checked {
    dashboard: &'static str,
    panel: &'static str,
    expr: String,
    /// Series returned, or why none could be read.
    result: Result<usize, String>,
}

/// Runs every panel's query (variables set to every chain and node) on `--prometheus`.
pub async fn check(o: &DashboardsCheckOpts) -> anyhow::Result<()> {
    let base = o.prometheus.trim_end_matches('/');
    reqwest::Url::parse(base).map_err(|e| {
        KindError(
            ErrorKind::InvalidInput,
            format!("--prometheus {base}: {e} (e.g. http://127.0.0.1:9090)"),
        )
    })?;
    let http = chainops_chain::http_client().map_err(|e| anyhow::anyhow!("{e}"))?;
    let url = format!("{base}/api/v1/query");
    let mut checked = Vec::new();
    for d in dashboards() {
        for p in d.panels {
            for (q, _) in p.queries {
                let expr = plain_promql(q);
                let result = query(&http, &url, &expr).await;
                checked.push(Checked {
                    dashboard: d.uid,
                    panel: p.title,
                    expr,
                    result,
                });
            }
        }
    }
    let empty = checked
        .iter()
        .filter(|c| !matches!(c.result, Ok(n) if n > 0))
        .count();
    if o.json {
        let rows: Vec<Value> = checked
            .iter()
            .map(|c| {
                json!({
                    "dashboard": c.dashboard, "panel": c.panel, "expr": c.expr,
                    "series": c.result.as_ref().ok(), "error": c.result.as_ref().err(),
                })
            })
            .collect();
        println!("{}", json!({ "queries": rows, "empty": empty }));
    } else {
        for c in &checked {
            let verdict = match &c.result {
                Ok(0) => "EMPTY".to_string(),
                Ok(n) => format!("{n} series"),
                Err(e) => format!("ERROR {e}"),
            };
            println!("{:<18} {:<44} {verdict}", c.dashboard, c.panel);
        }
        println!("{} queries, {empty} without data", checked.len());
    }
    if empty > 0 {
        return Err(KindError(
            ErrorKind::Upstream,
            format!(
                "{empty} dashboard queries return no data on {base}: check that it scrapes chainops' /metrics (with a token unless [security] metrics_public) and that the panels' features are configured"
            ),
        )
        .into());
    }
    Ok(())
}

/// The number of series `expr` returns now, or the server's error.
async fn query(http: &reqwest::Client, url: &str, expr: &str) -> Result<usize, String> {
    let mut u = reqwest::Url::parse(url).map_err(|e| e.to_string())?;
    u.query_pairs_mut().append_pair("query", expr);
    let answer = http
        .get(u)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let status = answer.status();
    let v: Value = answer
        .json()
        .await
        .map_err(|e| format!("HTTP {status}: not a Prometheus answer ({e})"))?;
    if v["status"] != "success" {
        return Err(format!(
            "HTTP {status}: {}",
            v["error"].as_str().unwrap_or("query failed")
        ));
    }
    match &v["data"]["result"] {
        Value::Array(a) => Ok(a.len()),
        // A scalar answer is one value.
        Value::Null => Ok(0),
        _ => Ok(1),
    }
}
