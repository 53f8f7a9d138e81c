//! `chainops nodes list`: live status from the daemon's API; `--offline` lists the
//! configured nodes without it. A daemon that does not answer, or refuses the credentials,
//! is an error naming the URL tried (never an empty table).

use crate::cli::{GlobalOpts, NodesListOpts};
use crate::config_load;
use crate::exit::KindError;
use chainops_core::ErrorKind;
use serde_json::Value;
use std::time::Duration;

/// Runs `nodes show NAME`: every field of the node's report, then its recent events.
pub async fn show(
    g: &GlobalOpts,
    name: &str,
    json: bool,
    server: &crate::cli::ServerOpt,
) -> anyhow::Result<()> {
    let client = crate::api_client::ApiClient::for_cli(g, server)?;
    let path = format!("/api/v1/nodes/{}", crate::api_client::enc(name));
    let v = client.get(&path).await?;
    if json {
        return crate::output::print(&format!("{v}\n"));
    }
    let mut out = String::new();
    let Value::Object(fields) = &v else {
        return crate::output::print(&format!("{v}\n"));
    };
    for (k, val) in fields {
        if matches!(k.as_str(), "events" | "unsupported") {
            continue;
        }
        let shown = match val {
            Value::Null => "—".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        out.push_str(&format!("{k:<24} {shown}\n"));
    }
    let unsupported: Vec<&str> = v["unsupported"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    out.push_str(&format!(
        "{:<24} {}\n",
        "unsupported",
        if unsupported.is_empty() {
            "—".to_string()
        } else {
            unsupported.join(", ")
        }
    ));
    let events = v["events"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!("\nrecent events ({}):\n", events.len()));
    for e in events.iter().take(20) {
        out.push_str(&format!(
            "  {:<24} {:<24} {}\n",
            e["at"].as_str().unwrap_or(""),
            e["kind"].as_str().unwrap_or(""),
            e["detail"]
        ));
    }
    crate::output::print(&out)
}

/// Runs `nodes list`.
pub async fn list(g: &GlobalOpts, o: &NodesListOpts) -> anyhow::Result<()> {
    let config = config_load::load(g)?;
    let base = o
        .server
        .server
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.server.listen));
    let (nodes, source) = if o.offline {
        let rows = config
            .nodes
            .iter()
            .map(|n| serde_json::json!({"name": n.name, "chain": n.chain, "kind": n.kind, "status": null, "rpc_url": chainops_core::secret::redact_url(&n.rpc_url)}))
            .collect();
        (rows, "config")
    } else {
        (live(&base, o.server.token.as_deref()).await?, "daemon")
    };
    if o.json {
        println!("{}", serde_json::json!({"source": source, "nodes": nodes}));
        return Ok(());
    }
    if source == "config" {
        eprintln!("note: configured nodes without live status (--offline)");
    }
    // Columns as wide as the longest name (up to 64 characters, the longest a name may be).
    let width = |key: &str, min: usize| {
        nodes
            .iter()
            .filter_map(|n| n.get(key).and_then(Value::as_str))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(min, 64)
    };
    let (nw, cw) = (width("name", 4), width("chain", 5));
    println!(
        "{:<nw$} {:<cw$} {:<8} {:<8} {:>12} {:>10} {:>7} {:>6}",
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
            "{:<nw$} {:<cw$} {:<8} {:<8} {:>12} {:>10} {:>7} {:>6}",
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

/// `GET /api/v1/nodes` of the daemon at `base`.
async fn live(base: &str, token: Option<&str>) -> anyhow::Result<Vec<Value>> {
    let url = format!("{}/api/v1/nodes?limit=10000", base.trim_end_matches('/'));
    let http = chainops_chain::http_client()?;
    let mut req = http.get(&url).timeout(Duration::from_secs(5));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.map_err(|e| {
        // The innermost cause says what happened ("Connection refused (os error 111)").
        let mut cause: &dyn std::error::Error = &e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        KindError(
            ErrorKind::Unavailable,
            format!(
                "no daemon answered at {url}: {cause} — is `chainops serve` running? Point --server \
                 (or CHAINOPS_SERVER) at it, or use --offline for the configured nodes"
            ),
        )
    })?;
    let status = resp.status();
    if !status.is_success() {
        let body: Value = resp.json().await.unwrap_or_default();
        let message = body["message"].as_str().unwrap_or("").to_string();
        let kind = match status.as_u16() {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            _ => ErrorKind::Upstream,
        };
        let hint = if status.as_u16() == 401 {
            " (set CHAINOPS_TOKEN to a token of this daemon: `chainops token create --config <the daemon's config>`)"
        } else {
            ""
        };
        return Err(KindError(kind, format!("{url} answered {status}: {message}{hint}")).into());
    }
    Ok(resp.json::<Vec<Value>>().await?)
}
