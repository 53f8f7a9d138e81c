//! `chainops nodes list`: live status from the daemon's API, or the configured nodes when
//! the daemon is not running.

use crate::cli::{GlobalOpts, NodesListOpts};
use crate::config_load;
use serde_json::Value;
use std::time::Duration;

/// Runs `nodes list`.
pub async fn list(g: &GlobalOpts, o: &NodesListOpts) -> anyhow::Result<()> {
    let config = config_load::load(g)?;
    let base = o
        .server
        .server
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.server.listen));
    let http = chainops_chain::http_client()?;
    let mut req = http.get(format!("{}/api/v1/nodes", base.trim_end_matches('/')));
    if let Some(t) = &o.server.token {
        req = req.bearer_auth(t);
    }
    let live = req
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()
        .filter(|r| r.status().is_success());
    let (nodes, source) = match live {
        Some(resp) => (resp.json::<Vec<Value>>().await?, "daemon"),
        None => {
            let rows = config
                .nodes
                .iter()
                .map(|n| serde_json::json!({"name": n.name, "chain": n.chain, "kind": n.kind, "status": null, "rpc_url": chainops_core::secret::redact_url(&n.rpc_url)}))
                .collect();
            (rows, "config")
        }
    };
    if o.json {
        println!("{}", serde_json::json!({"source": source, "nodes": nodes}));
        return Ok(());
    }
    if source == "config" {
        eprintln!(
            "note: no daemon answered at {base}; showing configured nodes without live status"
        );
    }
    println!(
        "{:<20} {:<16} {:<8} {:<8} {:>12} {:>10} {:>7} {:>6}",
        "NAME", "CHAIN", "KIND", "STATUS", "HEIGHT", "HEAD_AGE", "BEHIND", "PEERS"
    );
    for n in &nodes {
        let s = |k: &str| match n.get(k) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(x)) => match x.as_f64() {
                Some(f) if f.fract() != 0.0 => format!("{f:.1}s"),
                _ => x.to_string(),
            },
            Some(Value::Null) | None => "-".into(),
            Some(v) => v.to_string(),
        };
        println!(
            "{:<20} {:<16} {:<8} {:<8} {:>12} {:>10} {:>7} {:>6}",
            s("name"),
            s("chain"),
            s("kind"),
            s("status"),
            s("height"),
            s("head_age_seconds"),
            s("blocks_behind"),
            s("peers")
        );
    }
    Ok(())
}
