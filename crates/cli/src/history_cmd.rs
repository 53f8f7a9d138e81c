//! `chainops history`: a node's (or several nodes', or a chain's) metric history from the
//! daemon's series API, as a table, the API's JSON, or CSV for a spreadsheet.

use crate::api_client::{ApiClient, enc};
use crate::cli::{GlobalOpts, HistoryOpts};
use crate::exit::KindError;
use chainops_core::ErrorKind;
use serde_json::Value;

/// Runs `chainops history`.
pub async fn run(g: &GlobalOpts, o: &HistoryOpts) -> anyhow::Result<()> {
    let scope = match (&o.chain, o.nodes.as_slice()) {
        (Some(c), _) => format!("chain={}", enc(c)),
        (None, []) => {
            return Err(KindError(
                ErrorKind::InvalidInput,
                "name a node (--node NAME, repeatable) or a chain (--chain CHAIN)".into(),
            )
            .into());
        }
        (None, nodes) => format!(
            "node={}",
            nodes.iter().map(|n| enc(n)).collect::<Vec<_>>().join(",")
        ),
    };
    let path = format!(
        "/api/v1/series?{scope}&metric={}&from={}&to={}&step={}",
        enc(&o.metric),
        enc(&relative(&o.from)),
        enc(&relative(&o.to)),
        enc(&o.step)
    );
    let v = ApiClient::for_cli(g, &o.server)?.get(&path).await?;
    if o.json {
        return crate::output::print(&format!("{v}\n"));
    }
    let rows = rows(&v);
    let mut out = String::new();
    if o.csv {
        out.push_str("time,node,value,min,max,last\n");
        for r in &rows {
            out.push_str(&format!(
                "{},{},{},{},{},{}\n",
                r.0,
                csv_field(&r.1),
                r.2,
                opt(r.3),
                opt(r.4),
                opt(r.5)
            ));
        }
    } else {
        let width = rows
            .iter()
            .map(|r| r.1.chars().count())
            .max()
            .unwrap_or(4)
            .clamp(4, 64);
        out.push_str(&format!(
            "{:<20}  {:<width$}  {:>16}  {:>16}  {:>16}\n",
            "TIME", "NODE", "VALUE", "MIN", "MAX"
        ));
        for r in &rows {
            out.push_str(&format!(
                "{:<20}  {:<width$}  {:>16}  {:>16}  {:>16}\n",
                r.0,
                r.1,
                r.2,
                opt(r.3),
                opt(r.4)
            ));
        }
        out.push_str(&format!(
            "{} point(s), resolution {}\n",
            rows.len(),
            v["resolution"].as_str().unwrap_or("?")
        ));
    }
    crate::output::print(&out)
}

/// (time, node, value, min, max, last) of every point, by node then time.
type Row = (String, String, f64, Option<f64>, Option<f64>, Option<f64>);

fn rows(v: &Value) -> Vec<Row> {
    let single = v.get("points").map(|p| (v["node"].clone(), p.clone()));
    let many = v["series"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| (s["node"].clone(), s["points"].clone()));
    single
        .into_iter()
        .chain(many)
        .flat_map(|(node, points)| {
            let node = node.as_str().unwrap_or_default().to_string();
            points
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |p| {
                    let t = p["t"].as_i64().unwrap_or_default();
                    let time = chainops_core::time::rfc3339(t);
                    (
                        time.strip_suffix(".000Z")
                            .map_or(time.clone(), |s| format!("{s}Z")),
                        node.clone(),
                        p["v"].as_f64().unwrap_or(f64::NAN),
                        p["min"].as_f64(),
                        p["max"].as_f64(),
                        p["last"].as_f64(),
                    )
                })
        })
        .collect()
}

/// `-6h` reads as `now-6h` (the API's spelling).
fn relative(t: &str) -> String {
    if t.starts_with('-') {
        format!("now{t}")
    } else {
        t.to_string()
    }
}

fn opt(v: Option<f64>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
