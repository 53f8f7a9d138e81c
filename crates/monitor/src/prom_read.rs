//! History read back from a Prometheus-compatible query API (`[history] backend =
//! "prometheus"`): the series API, the console's charts and the status page's uptime ask the
//! TSDB the remote writer fills instead of the embedded store.
//!
//! Raw points are the TSDB's samples (an instant query of a range vector, `x[range]`); 1-minute
//! and 1-hour points are `avg/min/max/last_over_time` of the bucket, stamped with the bucket's
//! start like the embedded rollups. Several nodes are one request (`node=~"^(a|b)$"`), split
//! by the `node` label.

use crate::remote_write::prom_name;
use chainops_store::StoreError;
use chainops_store::series::{Point, Resolution};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// `[history.prometheus]`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PromReadConfig {
    /// Base URL of the query API (`http://vm:8428`, `http://prometheus:9090`).
    #[serde(serialize_with = "chainops_core::section::ser_url")]
    pub url: String,
    /// Per-query timeout.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub timeout: Duration,
    /// Credentials.
    #[serde(flatten)]
    pub auth: crate::remote_write::TsdbAuth,
}

/// Reads history from the TSDB.
#[derive(Debug, Clone)]
pub struct PromReader {
    cfg: PromReadConfig,
    http: reqwest::Client,
}

fn remote(e: impl std::fmt::Display) -> StoreError {
    StoreError::Remote(e.to_string())
}

/// A regex alternation matching exactly `names` (label values are escaped).
fn alternation(names: &[&str]) -> String {
    let escaped: Vec<String> = names
        .iter()
        .map(|n| {
            n.chars()
                .flat_map(|c| {
                    let special = "\\.+*?()|[]{}^$".contains(c);
                    special.then_some('\\').into_iter().chain([c])
                })
                .collect::<String>()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        })
        .collect();
    format!("^({})$", escaped.join("|"))
}

impl PromReader {
    /// A reader with `cfg` over the shared HTTP client.
    pub fn new(cfg: PromReadConfig, http: reqwest::Client) -> Self {
        Self { cfg, http }
    }

    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Value, StoreError> {
        let mut url = reqwest::Url::parse(&format!("{}{path}", self.cfg.url.trim_end_matches('/')))
            .map_err(remote)?;
        for (k, v) in params {
            url.query_pairs_mut().append_pair(k, v);
        }
        let req = self
            .cfg
            .auth
            .apply(self.http.get(url).timeout(self.cfg.timeout))
            .map_err(remote)?;
        let resp = req
            .send()
            .await
            .map_err(|e| remote(format!("{}: {}", self.cfg.url, e.without_url())))?;
        let status = resp.status();
        let v: Value = resp.json().await.map_err(|e| {
            remote(format!(
                "{}: HTTP {status}, not a Prometheus answer ({e})",
                self.cfg.url
            ))
        })?;
        if v["status"] != "success" {
            return Err(remote(format!(
                "{}: HTTP {status}: {}",
                self.cfg.url,
                v["error"].as_str().unwrap_or("query failed")
            )));
        }
        Ok(v)
    }

    /// The points of `metric` (a history series name) for each of `nodes` (`@chain` for a
    /// chain's own series), in the order of `nodes`.
    pub async fn query_many(
        &self,
        nodes: &[String],
        metric: &str,
        from_ms: i64,
        to_ms: i64,
        resolution: Resolution,
    ) -> Result<Vec<Vec<Point>>, StoreError> {
        let (name, extra) = prom_name(metric);
        let extra = extra
            .map(|(k, v)| format!(",{k}=\"{v}\""))
            .unwrap_or_default();
        let plain: Vec<&str> = nodes
            .iter()
            .filter(|n| !n.starts_with('@'))
            .map(String::as_str)
            .collect();
        let chains: Vec<&str> = nodes.iter().filter_map(|n| n.strip_prefix('@')).collect();
        let mut by_key: HashMap<String, Vec<Point>> = HashMap::new();
        for (label, keys, prefix) in [("node", &plain, ""), ("chain", &chains, "@")] {
            if keys.is_empty() {
                continue;
            }
            let node_empty = if label == "chain" { ",node=\"\"" } else { "" };
            let sel = format!(
                "{{__name__=\"{name}\",{label}=~\"{}\"{node_empty}{extra}}}",
                alternation(keys)
            );
            for (key, points) in self.points(&sel, label, from_ms, to_ms, resolution).await? {
                by_key.insert(format!("{prefix}{key}"), points);
            }
        }
        Ok(nodes
            .iter()
            .map(|n| by_key.remove(n).unwrap_or_default())
            .collect())
    }

    /// Points per value of `label` for selector `sel`.
    async fn points(
        &self,
        sel: &str,
        label: &str,
        from_ms: i64,
        to_ms: i64,
        resolution: Resolution,
    ) -> Result<HashMap<String, Vec<Point>>, StoreError> {
        let mut out: HashMap<String, Vec<Point>> = HashMap::new();
        let secs = |ms: i64| format!("{:.3}", ms as f64 / 1000.0);
        let step_ms = match resolution {
            Resolution::Raw => {
                let range_s = ((to_ms - from_ms) / 1000).max(1) + 1;
                let v = self
                    .get(
                        "/api/v1/query",
                        &[
                            ("query", format!("{sel}[{range_s}s]")),
                            ("time", secs(to_ms)),
                        ],
                    )
                    .await?;
                for s in v["data"]["result"].as_array().into_iter().flatten() {
                    let key = s["metric"][label].as_str().unwrap_or("").to_string();
                    let pts = out.entry(key).or_default();
                    for p in s["values"].as_array().into_iter().flatten() {
                        if let Some((t, x)) = sample(p)
                            && t >= from_ms
                        {
                            pts.push(Point::raw(t, x));
                        }
                    }
                }
                for pts in out.values_mut() {
                    pts.sort_by_key(|p| p.t);
                }
                return Ok(out);
            }
            Resolution::Minute => 60_000,
            Resolution::Hour => 3_600_000,
        };
        // Bucket [t, t+step) is evaluated at t+step, as *_over_time looks back.
        let start = from_ms - from_ms.rem_euclid(step_ms) + step_ms;
        let end = to_ms - to_ms.rem_euclid(step_ms) + step_ms;
        let step_s = step_ms / 1000;
        let mut parts: HashMap<(String, i64), [Option<f64>; 4]> = HashMap::new();
        for (i, f) in ["avg", "min", "max", "last"].iter().enumerate() {
            let v = self
                .get(
                    "/api/v1/query_range",
                    &[
                        ("query", format!("{f}_over_time({sel}[{step_s}s])")),
                        ("start", secs(start)),
                        ("end", secs(end)),
                        ("step", format!("{step_s}s")),
                    ],
                )
                .await?;
            for s in v["data"]["result"].as_array().into_iter().flatten() {
                let key = s["metric"][label].as_str().unwrap_or("").to_string();
                for p in s["values"].as_array().into_iter().flatten() {
                    if let Some((t, x)) = sample(p) {
                        parts.entry((key.clone(), t - step_ms)).or_default()[i] = Some(x);
                    }
                }
            }
        }
        for ((key, t), [avg, min, max, last]) in parts {
            if let Some(v) = avg
                && t >= from_ms - step_ms
                && t <= to_ms
            {
                out.entry(key).or_default().push(Point {
                    t,
                    v,
                    min,
                    max,
                    last,
                });
            }
        }
        for pts in out.values_mut() {
            pts.sort_by_key(|p| p.t);
        }
        Ok(out)
    }
}

/// `[1717171717.123, "42"]` → (ms, value).
fn sample(p: &Value) -> Option<(i64, f64)> {
    let t = (p.get(0)?.as_f64()? * 1000.0).round() as i64;
    let v: f64 = p.get(1)?.as_str()?.parse().ok()?;
    v.is_finite().then_some((t, v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_names_are_matched_exactly() {
        assert_eq!(alternation(&["geth-1", "a.b"]), "^(geth-1|a\\\\.b)$");
        assert_eq!(sample(&serde_json::json!([1.5, "42"])), Some((1500, 42.0)));
        assert_eq!(sample(&serde_json::json!([1.5, "NaN"])), None);
    }
}
