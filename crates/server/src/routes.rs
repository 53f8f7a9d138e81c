//! Route table and handlers.

use crate::AppState;
use crate::error::ApiError;
use crate::time_param::parse_time;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chainops_core::ports::MetricsSource;
use chainops_core::time::{now_ms, rfc3339};
use chainops_monitor::collector::METRICS;
use chainops_monitor::exposition;
use chainops_store::alerts::{AlertState, DeliveryState};
use chainops_store::incidents::IncidentRow;
use chainops_store::series::Resolution;
use chainops_store::silences::SilenceRow;
use serde_json::{Value, json};
use std::collections::HashMap;

/// Most points a series answer may hold; narrow the range or pick a coarser step.
const MAX_POINTS: usize = 20_000;

/// Security headers on every answer; HSTS under TLS.
pub(crate) async fn security_headers(
    State(s): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        "x-content-type-options",
        header::HeaderValue::from_static("nosniff"),
    );
    h.insert("x-frame-options", header::HeaderValue::from_static("DENY"));
    h.insert(
        "referrer-policy",
        header::HeaderValue::from_static("no-referrer"),
    );
    h.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    if s.security.tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            header::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    r
}

pub(crate) async fn livez() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub(crate) async fn readyz(State(s): State<AppState>) -> Response {
    let store_ok = s.store.ping().await.is_ok();
    let polled = s.fleet.all_polled();
    let body = json!({"status": if store_ok && polled { "ready" } else { "not_ready" }, "store": store_ok, "nodes_polled": polled});
    let code = if store_ok && polled {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

pub(crate) async fn metrics(State(s): State<AppState>) -> Response {
    let fleet = s.fleet.clone();
    let logs = s.logs.clone();
    let extra = s.extra_metrics.clone();
    let render = move || {
        let now = now_ms();
        let mut text = exposition::render(&fleet, now);
        if let Some(l) = logs {
            text.push_str(&l.render(now));
        }
        text.push_str(&crate::panics::render());
        for m in &extra {
            text.push_str(&m.render(now));
        }
        text
    };
    match tokio::task::spawn_blocking(render).await {
        Ok(text) => ([(header::CONTENT_TYPE, exposition::CONTENT_TYPE)], text).into_response(),
        Err(e) => ApiError::internal(chainops_core::ErrorKind::Internal, e).into_response(),
    }
}

pub(crate) async fn list_nodes(State(s): State<AppState>) -> Json<Value> {
    Json(serde_json::to_value(s.fleet.reports(now_ms())).unwrap_or(Value::Array(vec![])))
}

pub(crate) async fn get_node(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let report = s
        .fleet
        .report(&name, now_ms())
        .ok_or_else(|| unknown_node(&s, &name))?;
    let events = s
        .store
        .recent_events(&name, 50)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    let mut v = serde_json::to_value(report).unwrap_or_default();
    let events: Vec<Value> = events
        .into_iter()
        .map(|e| json!({"at": rfc3339(e.at_ms), "kind": e.kind, "detail": e.detail}))
        .collect();
    if let Value::Object(o) = &mut v {
        o.insert("events".into(), Value::Array(events));
    }
    Ok(Json(v))
}

/// Scheduled backup and drill runs, newest first (`?job=` one job, `?limit=` 1–1000).
pub(crate) async fn backup_runs(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let limit = match q.get("limit") {
        None => 50,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| {
                ApiError::invalid(format!("limit \"{l}\" must be a number from 1 to 1000"))
            })?,
    };
    let runs = s
        .store
        .backup_runs(
            q.get("job").map(String::as_str).filter(|j| !j.is_empty()),
            limit,
        )
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    let runs: Vec<Value> = runs
        .into_iter()
        .map(|r| {
            json!({
                "job": r.job, "node": r.node, "kind": r.kind,
                "started": rfc3339(r.started_ms), "finished": rfc3339(r.finished_ms),
                "seconds": (r.finished_ms - r.started_ms) as f64 / 1000.0,
                "ok": r.ok, "error": r.error, "snapshot": r.snapshot,
                "bytes_read": r.bytes_read, "bytes_added": r.bytes_added, "files": r.files,
                "detail": r.detail,
            })
        })
        .collect();
    Ok(Json(json!({ "runs": runs })))
}

pub(crate) async fn series(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let known = ["node", "metric", "from", "to", "step"];
    if let Some(k) = q.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::invalid(format!(
            "unknown parameter \"{k}\"; use node, metric, from, to, step"
        )));
    }
    let node = q
        .get("node")
        .ok_or_else(|| ApiError::invalid("node is required (e.g. ?node=anvil-1&metric=height)"))?;
    s.fleet
        .index_of(node)
        .ok_or_else(|| unknown_node(&s, node))?;
    let metric = q.get("metric").ok_or_else(|| {
        ApiError::invalid(format!(
            "metric is required; one of: {}",
            METRICS.join(", ")
        ))
    })?;
    if !METRICS.contains(&metric.as_str()) {
        return Err(ApiError::invalid(format!(
            "unknown metric \"{metric}\"; one of: {}",
            METRICS.join(", ")
        )));
    }
    let now = now_ms();
    let to = match q.get("to") {
        Some(t) => parse_time("to", t, now).map_err(ApiError::invalid)?,
        None => now,
    };
    let from = match q.get("from") {
        Some(t) => parse_time("from", t, now).map_err(ApiError::invalid)?,
        None => to - 3_600_000,
    };
    if from > to {
        return Err(ApiError::invalid(format!(
            "from ({}) is after to ({})",
            rfc3339(from),
            rfc3339(to)
        )));
    }
    let resolution = match q.get("step").map(String::as_str) {
        None | Some("auto") => Resolution::pick(from, to, now, s.history.retention()),
        Some(step) => Resolution::parse(step).ok_or_else(|| {
            ApiError::invalid(format!("step \"{step}\" is not one of auto, raw, 1m, 1h"))
        })?,
    };
    let points = s
        .history
        .query(node, metric, from, to, resolution)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    if points.len() > MAX_POINTS {
        return Err(ApiError::invalid(format!(
            "{} points is more than {MAX_POINTS}; narrow from/to or use step=1m or step=1h",
            points.len()
        )));
    }
    Ok(Json(json!({
        "node": node,
        "metric": metric,
        "from": rfc3339(from),
        "to": rfc3339(to),
        "resolution": resolution,
        "points": points,
    })))
}

/// Alerts resolved within this window are still listed.
const RESOLVED_VISIBLE_MS: i64 = 24 * 3_600_000;

pub(crate) async fn list_alerts(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    if let Some(k) = q.keys().find(|k| k.as_str() != "state") {
        return Err(ApiError::invalid(format!(
            "unknown parameter \"{k}\"; use state=pending|firing|resolved"
        )));
    }
    let state = match q.get("state") {
        None => None,
        Some(st) => Some(
            AlertState::parse(st)
                .filter(|s| *s != AlertState::Inactive)
                .ok_or_else(|| {
                    ApiError::invalid(format!(
                        "state \"{st}\" is not one of pending, firing, resolved"
                    ))
                })?,
        ),
    };
    let alerts = s
        .store
        .list_alerts(now_ms() - RESOLVED_VISIBLE_MS)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    let out: Vec<Value> = alerts
        .into_iter()
        .filter(|a| state.is_none_or(|st| a.state == st))
        .map(|a| {
            json!({
                "fingerprint": a.fingerprint, "rule": a.rule, "node": a.node, "chain": a.chain,
                "severity": a.severity, "state": a.state, "value": a.value, "summary": a.summary,
                "description": a.description, "labels": a.labels,
                "active_since": rfc3339(a.active_since_ms),
                "fired_at": a.fired_at_ms.map(rfc3339),
                "resolved_at": a.resolved_at_ms.map(rfc3339),
            })
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

pub(crate) async fn list_notifications(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    if let Some(k) = q.keys().find(|k| !["state", "limit"].contains(&k.as_str())) {
        return Err(ApiError::invalid(format!(
            "unknown parameter \"{k}\"; use state, limit"
        )));
    }
    let state = match q.get("state") {
        None => None,
        Some(st) => Some(DeliveryState::parse(st).ok_or_else(|| {
            ApiError::invalid(format!("state \"{st}\" is not one of pending, sent, dead"))
        })?),
    };
    let limit = match q.get("limit") {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=1000).contains(l))
            .ok_or_else(|| {
                ApiError::invalid(format!("limit \"{l}\" is not a number in 1..=1000"))
            })?,
    };
    let rows = s
        .store
        .list_notifications(state, limit)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    let out: Vec<Value> = rows
        .into_iter()
        .map(|n| {
            json!({
                "id": n.id, "fingerprint": n.fingerprint, "channel": n.channel, "event": n.event,
                "state": n.state, "attempts": n.attempts, "last_error": n.last_error,
                "created": rfc3339(n.created_ms), "next_attempt": rfc3339(n.next_attempt_ms),
                "done": n.done_ms.map(rfc3339),
            })
        })
        .collect();
    Ok(Json(Value::Array(out)))
}

fn incident_json(i: &IncidentRow) -> Value {
    let now = now_ms();
    json!({
        "id": i.id, "chain": i.chain, "node": i.node, "state": i.state,
        "opened_at": rfc3339(i.opened_ms), "resolved_at": i.resolved_ms.map(rfc3339),
        "acknowledged": i.ack_until_ms.is_some_and(|u| u > now),
        "ack": i.ack_by.as_ref().map(|by| json!({"by": by, "comment": i.ack_comment, "until": i.ack_until_ms.map(rfc3339)})),
        "timeline": i.events.iter().map(|e| json!({"at": rfc3339(e.at_ms), "kind": e.kind, "detail": e.detail})).collect::<Vec<_>>(),
    })
}

pub(crate) async fn list_incidents(
    State(s): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    if let Some(k) = q.keys().find(|k| k.as_str() != "state") {
        return Err(ApiError::invalid(format!(
            "unknown parameter \"{k}\"; use state=open|resolved"
        )));
    }
    let state = q.get("state").map(String::as_str);
    if let Some(st) = state
        && !["open", "resolved"].contains(&st)
    {
        return Err(ApiError::invalid(format!(
            "state \"{st}\" is not one of open, resolved"
        )));
    }
    let rows = s
        .store
        .list_incidents(now_ms() - RESOLVED_VISIBLE_MS)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    Ok(Json(Value::Array(
        rows.iter()
            .filter(|i| state.is_none_or(|st| i.state == st))
            .map(incident_json)
            .collect(),
    )))
}

pub(crate) async fn ack_incident(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<chainops_auth::Principal>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(format!(
            "body is not JSON: {e}; send {{\"comment\": \"…\", \"expires\": \"2h\"}}"
        ))
    })?;
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::invalid("body must be a JSON object"))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !["comment", "expires"].contains(&k.as_str()))
    {
        return Err(ApiError::invalid(format!(
            "unknown field \"{k}\"; use comment, expires (who acknowledges comes from your credentials)"
        )));
    }
    let comment = obj
        .get("comment")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            ApiError::invalid("comment is required: say who is on it and what is being done")
        })?;
    let expires = obj.get("expires").and_then(Value::as_str).unwrap_or("4h");
    let dur = chainops_core::duration::parse_duration(expires)
        .map_err(|e| ApiError::invalid(format!("expires: {e}")))?;
    if dur.is_zero() || dur.as_millis() as i64 > MAX_SILENCE_MS {
        return Err(ApiError::invalid("expires must be between 1s and 90d"));
    }
    let by = who.actor();
    let now = now_ms();
    let found = s
        .store
        .acknowledge_incident(&id, &by, comment, now + dur.as_millis() as i64, now)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    if !found {
        return Err(ApiError::not_found(format!(
            "no incident with id \"{id}\"; list them with GET /api/v1/incidents"
        )));
    }
    let inc = s
        .store
        .incident(&id)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    Ok(Json(inc.as_ref().map(incident_json).unwrap_or(Value::Null)))
}

/// Longest silence accepted.
const MAX_SILENCE_MS: i64 = 90 * 86_400_000;

fn silence_json(s: &SilenceRow) -> Value {
    json!({
        "id": s.id, "matchers": s.matchers, "comment": s.comment, "created_by": s.created_by,
        "starts_at": rfc3339(s.starts_ms), "ends_at": rfc3339(s.ends_ms), "created_at": rfc3339(s.created_ms),
    })
}

pub(crate) async fn list_silences(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let rows = s
        .store
        .active_silences(now_ms())
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    Ok(Json(Value::Array(rows.iter().map(silence_json).collect())))
}

pub(crate) async fn create_silence(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<chainops_auth::Principal>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("body is not JSON: {e}; send {{\"matchers\": {{\"node\": \"…\"}}, \"duration\": \"2h\", \"comment\": \"…\"}}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| ApiError::invalid("body must be a JSON object"))?;
    if let Some(k) = obj.keys().find(|k| {
        !["matchers", "duration", "starts_at", "ends_at", "comment"].contains(&k.as_str())
    }) {
        return Err(ApiError::invalid(format!(
            "unknown field \"{k}\"; use matchers, duration or ends_at, starts_at, comment (the creator comes from your credentials)"
        )));
    }
    let matchers = obj
        .get("matchers")
        .and_then(Value::as_object)
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ApiError::invalid("matchers must be a non-empty object of label → value, e.g. {\"node\": \"anvil-1\"}"))?;
    let mut m = std::collections::BTreeMap::new();
    for (k, val) in matchers {
        let val = val
            .as_str()
            .ok_or_else(|| ApiError::invalid(format!("matchers.{k} must be a string")))?;
        m.insert(k.clone(), val.to_string());
    }
    let comment = obj
        .get("comment")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::invalid("comment is required: say why the alerts are silenced"))?;
    let now = now_ms();
    let starts = match obj.get("starts_at").and_then(Value::as_str) {
        Some(t) => parse_time("starts_at", t, now).map_err(ApiError::invalid)?,
        None => now,
    };
    let ends = match (
        obj.get("duration").and_then(Value::as_str),
        obj.get("ends_at").and_then(Value::as_str),
    ) {
        (Some(_), Some(_)) => return Err(ApiError::invalid("give duration or ends_at, not both")),
        (Some(d), None) => {
            starts
                + chainops_core::duration::parse_duration(d)
                    .map_err(|e| ApiError::invalid(format!("duration: {e}")))?
                    .as_millis() as i64
        }
        (None, Some(t)) => parse_time("ends_at", t, now).map_err(ApiError::invalid)?,
        (None, None) => {
            return Err(ApiError::invalid(
                "duration (e.g. \"2h\") or ends_at is required",
            ));
        }
    };
    if ends <= now || ends <= starts {
        return Err(ApiError::invalid(
            "the silence must end in the future and after it starts",
        ));
    }
    if ends - starts > MAX_SILENCE_MS {
        return Err(ApiError::invalid("a silence may last at most 90 days"));
    }
    let row = SilenceRow {
        id: format!("{:016x}", rand::random::<u64>()),
        matchers: m,
        comment: comment.to_string(),
        created_by: who.actor(),
        starts_ms: starts,
        ends_ms: ends,
        created_ms: now,
    };
    s.store
        .create_silence(&row)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    tracing::info!(silence = %row.id, matchers = ?row.matchers, until = %rfc3339(row.ends_ms), "silence created");
    Ok((StatusCode::CREATED, Json(silence_json(&row))).into_response())
}

pub(crate) async fn expire_silence(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if s.store
        .expire_silence(&id, now_ms())
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?
    {
        tracing::info!(silence = %id, "silence expired");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!(
            "no active silence with id \"{id}\"; list them with GET /api/v1/silences"
        )))
    }
}

fn unknown_node(s: &AppState, name: &str) -> ApiError {
    let names: Vec<String> = s
        .fleet
        .reports(now_ms())
        .into_iter()
        .map(|r| r.name)
        .collect();
    ApiError::not_found(format!(
        "no node named \"{name}\"; configured nodes: {}",
        names.join(", ")
    ))
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/openapi.json")
}

/// The OpenAPI document, built once from the route table when the router is made.
pub(crate) async fn openapi(
    axum::Extension(doc): axum::Extension<std::sync::Arc<Value>>,
) -> Json<Value> {
    Json(doc.as_ref().clone())
}
