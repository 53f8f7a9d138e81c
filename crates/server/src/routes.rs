//! Route table and handlers.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery, bounded_name, bounded_text, limit, non_blank};
use crate::time_param::parse_time;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chainops_core::ports::MetricsSource;
use chainops_core::time::{now_ms, rfc3339};
use chainops_monitor::collector::METRICS;
use chainops_monitor::exposition;
use chainops_monitor::history::{RPC_METHOD_PREFIX, is_metric};
use chainops_store::alerts::{AlertRow, AlertState, DeliveryState};
use chainops_store::incidents::IncidentRow;
use chainops_store::series::Resolution;
use chainops_store::silences::SilenceRow;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Most points a series answer may hold; narrow the range or pick a coarser step.
const MAX_POINTS: usize = 20_000;
/// Most points of one series request over several nodes.
const MAX_POINTS_TOTAL: usize = 250_000;

/// Content-Security-Policy of every answer: the console loads only its own embedded
/// scripts, styles and data (no inline script or style, no other origin, no framing).
pub(crate) const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// Security headers on every answer (CSP, nosniff, no framing, no referrer); HSTS under TLS.
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
    // Console assets say they may be cached (their URLs change with their contents).
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
    }
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(CSP),
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
    let polled = s.live().fleet.all_polled();
    let body = json!({"status": if store_ok && polled { "ready" } else { "not_ready" }, "store": store_ok, "nodes_polled": polled});
    let code = if store_ok && polled {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, Json(body)).into_response()
}

pub(crate) async fn metrics(State(s): State<AppState>) -> Response {
    let live = s.live();
    let (fleet, logs, extra) = (
        live.fleet.clone(),
        live.logs.clone(),
        live.extra_metrics.clone(),
    );
    let render = move || {
        let now = now_ms();
        let mut text = exposition::render(&fleet, now);
        if let Some(l) = logs {
            text.push_str(&l.render(now));
        }
        text.push_str(&crate::panics::render());
        text.push_str(&crate::limits::render());
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

/// `GET /api/v1/nodes`: a page of the fleet (default 1000, at most 10000 per page).
pub(crate) async fn list_nodes(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<crate::extract::PageQuery>,
) -> Result<Response, ApiError> {
    let page = q.page(1000, 10_000)?;
    Ok(page.answer(s.live().fleet.reports(now_ms()), |r| {
        serde_json::to_value(r).unwrap_or_default()
    }))
}

pub(crate) async fn get_node(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let report = s
        .live()
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

/// `GET /api/v1/backups/runs` parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackupRunsQuery {
    /// Only runs of this `[[backups]]` job.
    job: Option<String>,
    /// At most this many runs (1–1000, default 50).
    #[schemars(with = "Option<u16>")]
    limit: Option<String>,
}

/// Scheduled backup and drill runs, newest first (`?job=` one job, `?limit=` 1–1000).
pub(crate) async fn backup_runs(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<BackupRunsQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = limit(q.limit.as_deref(), 50, 1000)?;
    let runs = s
        .store
        .backup_runs(q.job.as_deref().filter(|j| !j.is_empty()), limit)
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

/// `GET /api/v1/series` parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeriesQuery {
    /// Node name, or several separated by commas (give this or `chain`).
    node: Option<String>,
    /// Every node of this chain (instead of `node`).
    chain: Option<String>,
    /// Metric name (required): height, head_age_seconds, peers, … (see `METRICS`).
    #[schemars(required, with = "String")]
    metric: Option<String>,
    /// Start: RFC 3339 or relative (`-6h`); default one hour before `to`.
    from: Option<String>,
    /// End: RFC 3339, relative or `now` (default).
    to: Option<String>,
    /// `auto` (default), `raw`, `1m` or `1h`.
    #[schemars(extend("enum" = ["auto", "raw", "1m", "1h"]))]
    step: Option<String>,
}

/// Most nodes one series request reads.
const MAX_SERIES_NODES: usize = 1000;

/// One node's series (`node=a`), or several (`node=a,b` or `chain=c`: `{series: [{node,
/// points}]}`); values rounded for reading ([`chainops_store::series::round_value`]).
pub(crate) async fn series(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<SeriesQuery>,
) -> Result<Json<Value>, ApiError> {
    let (nodes, single) = match (&q.node, &q.chain) {
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid("give node or chain, not both"));
        }
        (None, None) => {
            return Err(ApiError::invalid(
                "node (or chain) is required (e.g. ?node=anvil-1&metric=height, ?chain=devnet&metric=height)",
            ));
        }
        (Some(list), None) => {
            let names: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(String::from)
                .collect();
            if names.is_empty() {
                return Err(ApiError::invalid("node is empty; name one or more nodes"));
            }
            let single = names.len() == 1 && !list.contains(',');
            (names, single)
        }
        (None, Some(chain)) => {
            let names = s.live().fleet.nodes_of_chain(chain);
            if names.is_empty() {
                return Err(ApiError::not_found(format!(
                    "no configured node is on chain \"{}\"",
                    chain.chars().take(64).collect::<String>()
                )));
            }
            (names, false)
        }
    };
    if nodes.len() > MAX_SERIES_NODES {
        return Err(ApiError::invalid(format!(
            "{} nodes is more than {MAX_SERIES_NODES} in one request",
            nodes.len()
        )));
    }
    for node in &nodes {
        s.live()
            .fleet
            .index_of(node)
            .ok_or_else(|| unknown_node(&s, node))?;
    }
    let known = || {
        format!(
            "{}, or {RPC_METHOD_PREFIX}<method> (one RPC method's latency)",
            METRICS.join(", ")
        )
    };
    let metric = q
        .metric
        .as_ref()
        .ok_or_else(|| ApiError::invalid(format!("metric is required; one of: {}", known())))?;
    if !is_metric(metric) {
        return Err(ApiError::invalid(format!(
            "unknown metric \"{metric}\"; one of: {}",
            known()
        )));
    }
    let now = now_ms();
    let to = match &q.to {
        Some(t) => parse_time("to", t, now).map_err(ApiError::invalid)?,
        None => now,
    };
    let from = match &q.from {
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
    let resolution = match q.step.as_deref() {
        None | Some("auto") => Resolution::pick(from, to, now, s.history.retention()),
        Some(step) => Resolution::parse(step).ok_or_else(|| {
            ApiError::invalid(format!("step \"{step}\" is not one of auto, raw, 1m, 1h"))
        })?,
    };
    let mut total = 0usize;
    let mut series = Vec::with_capacity(nodes.len());
    let read = s
        .history
        .query_many(&nodes, metric, from, to, resolution)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    for (node, points) in nodes.iter().zip(read) {
        total += points.len();
        if points.len() > MAX_POINTS || total > MAX_POINTS_TOTAL {
            return Err(ApiError::invalid(format!(
                "more than {MAX_POINTS} points per node or {MAX_POINTS_TOTAL} in all; narrow from/to, ask for fewer nodes, or use step=1m or step=1h"
            )));
        }
        let points: Vec<_> = points.into_iter().map(|p| p.rounded()).collect();
        series.push((node, points));
    }
    let head = json!({
        "metric": metric,
        "from": rfc3339(from),
        "to": rfc3339(to),
        "resolution": resolution,
    });
    let mut out = head;
    if single && let Some((node, points)) = series.pop() {
        out["node"] = json!(node);
        out["points"] = json!(points);
    } else {
        out["series"] = Value::Array(
            series
                .into_iter()
                .map(|(node, points)| json!({"node": node, "points": points}))
                .collect(),
        );
    }
    Ok(Json(out))
}

/// Alerts resolved within this window are still listed.
pub(crate) const RESOLVED_VISIBLE_MS: i64 = 24 * 3_600_000;

crate::extract::list_query! {
    /// `GET /api/v1/alerts` parameters (a page: default 500, at most 1000).
    AlertsQuery {
        /// Only alerts in this state: `pending`, `firing` or `resolved`.
        #[schemars(extend("enum" = ["pending", "firing", "resolved"]))]
        state: Option<String>,
    }
}

pub(crate) async fn list_alerts(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AlertsQuery>,
) -> Result<Response, ApiError> {
    let page = q.page(500, 1000)?;
    let state = match &q.state {
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
    let marks = AlertMarks::load(&s, now_ms()).await?;
    let alerts = alerts
        .into_iter()
        .filter(|a| state.is_none_or(|st| a.state == st));
    Ok(page.answer(alerts, |a| {
            let ack = marks.ack_of(&a);
            let silence = marks.silence_of(&a);
            json!({
                "fingerprint": a.fingerprint, "rule": a.rule, "node": a.node, "chain": a.chain,
                "severity": a.severity, "state": a.state, "value": a.value, "summary": a.summary,
                "description": a.description, "labels": a.labels,
                "active_since": rfc3339(a.active_since_ms),
                "fired_at": a.fired_at_ms.map(rfc3339),
                "resolved_at": a.resolved_at_ms.map(rfc3339),
                "acknowledged": ack.map(|(by, until, comment)| json!({"by": by, "until": rfc3339(until), "comment": comment})),
                "silenced": silence.map(|s| json!({"id": s.id, "until": rfc3339(s.ends_ms), "by": s.created_by, "comment": s.comment})),
                "inhibited": a.inhibited_by.as_ref().map(|by| json!({"by": by})),
            })
    }))
}

/// What is known about alerts beside their state: the acknowledgements of open incidents
/// (by node) and the silences in force. The API's alert list and the console share it.
pub(crate) struct AlertMarks {
    acked: BTreeMap<String, (String, i64, String)>,
    silences: Vec<SilenceRow>,
    now: i64,
}

impl AlertMarks {
    /// Reads them at `now`.
    pub(crate) async fn load(s: &AppState, now: i64) -> Result<AlertMarks, ApiError> {
        let incidents = s
            .store
            .list_incidents(now - RESOLVED_VISIBLE_MS)
            .await
            .map_err(|e| ApiError::internal(e.kind(), e))?;
        Self::with(s, &incidents, now).await
    }

    /// Like [`load`](Self::load) with the incidents the caller has read already.
    pub(crate) async fn with(
        s: &AppState,
        incidents: &[IncidentRow],
        now: i64,
    ) -> Result<AlertMarks, ApiError> {
        let acked = incidents
            .iter()
            .filter(|i| i.state == "open" && i.ack_until_ms.is_some_and(|u| u > now))
            .filter_map(|i| {
                Some((
                    i.node.clone(),
                    (
                        i.ack_by.clone()?,
                        i.ack_until_ms?,
                        i.ack_comment.clone().unwrap_or_default(),
                    ),
                ))
            })
            .collect();
        let silences = s
            .store
            .active_silences(now)
            .await
            .map_err(|e| ApiError::internal(e.kind(), e))?;
        Ok(AlertMarks {
            acked,
            silences,
            now,
        })
    }

    /// The acknowledgement covering an unresolved alert: by, until (epoch ms), comment.
    pub(crate) fn ack_of(&self, a: &AlertRow) -> Option<(String, i64, String)> {
        if a.state == AlertState::Resolved {
            return None;
        }
        self.acked.get(&a.node).cloned()
    }

    /// The silence in force over an unresolved alert (the one that lasts longest).
    pub(crate) fn silence_of(&self, a: &AlertRow) -> Option<&SilenceRow> {
        if a.state == AlertState::Resolved {
            return None;
        }
        let labels = chainops_alert::labels::alert_labels(a);
        self.silences
            .iter()
            .filter(|s| s.starts_ms <= self.now && s.matches(&labels))
            .max_by_key(|s| s.ends_ms)
    }

    /// The silences in force.
    pub(crate) fn silences(self) -> Vec<SilenceRow> {
        self.silences
    }
}

/// `GET /api/v1/notifications` parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NotificationsQuery {
    /// Only notifications in this state: `pending`, `sent` or `dead`.
    #[schemars(extend("enum" = ["pending", "sent", "dead"]))]
    state: Option<String>,
    /// At most this many (1–1000, default 100).
    #[schemars(with = "Option<u16>")]
    limit: Option<String>,
}

pub(crate) async fn list_notifications(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<NotificationsQuery>,
) -> Result<Json<Value>, ApiError> {
    let state = match &q.state {
        None => None,
        Some(st) => Some(DeliveryState::parse(st).ok_or_else(|| {
            ApiError::invalid(format!("state \"{st}\" is not one of pending, sent, dead"))
        })?),
    };
    let limit = limit(q.limit.as_deref(), 100, 1000)?;
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

crate::extract::list_query! {
    /// `GET /api/v1/incidents` parameters (a page: default 500, at most 1000).
    IncidentsQuery {
        /// Only incidents in this state: `open` or `resolved`.
        #[schemars(extend("enum" = ["open", "resolved"]))]
        state: Option<String>,
    }
}

pub(crate) async fn list_incidents(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<IncidentsQuery>,
) -> Result<Response, ApiError> {
    let page = q.page(500, 1000)?;
    let state = q.state.as_deref();
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
    Ok(page.answer(
        rows.iter().filter(|i| state.is_none_or(|st| i.state == st)),
        incident_json,
    ))
}

/// `POST /api/v1/incidents/{id}/ack` body (who acknowledges comes from the credentials).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AckBody {
    /// Who is on it and what is being done.
    comment: String,
    /// How long the acknowledgement holds (default `4h`, at most `90d`).
    expires: Option<String>,
}

pub(crate) async fn ack_incident(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<chainops_auth::Principal>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AckBody>,
) -> Result<Json<Value>, ApiError> {
    let inc = acknowledge(&s, &who, &id, &body.comment, body.expires.as_deref()).await?;
    Ok(Json(incident_json(&inc)))
}

/// Acknowledges incident `id` for `who` with `comment` for `expires` (default `4h`, at
/// most 90 days); the API route and the console's form share it.
pub(crate) async fn acknowledge(
    s: &AppState,
    who: &chainops_auth::Principal,
    id: &str,
    comment: &str,
    expires: Option<&str>,
) -> Result<IncidentRow, ApiError> {
    let comment = non_blank(
        comment,
        "comment",
        "say who is on it and what is being done",
    )?;
    let comment = bounded_text(comment, "comment", MAX_COMMENT)?;
    let expires = expires.filter(|e| !e.trim().is_empty()).unwrap_or("4h");
    let dur = chainops_core::duration::parse_duration(expires)
        .map_err(|e| ApiError::invalid(format!("expires: {e}")))?;
    if dur.is_zero() || dur.as_millis() as i64 > MAX_SILENCE_MS {
        return Err(ApiError::invalid("expires must be between 1s and 90d"));
    }
    let by = who.actor();
    let now = now_ms();
    let found = s
        .store
        .acknowledge_incident(id, &by, comment, now + dur.as_millis() as i64, now)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    let inc = if found {
        s.store
            .incident(id)
            .await
            .map_err(|e| ApiError::internal(e.kind(), e))?
    } else {
        None
    };
    inc.ok_or_else(|| {
        ApiError::not_found(format!(
            "no incident with id \"{id}\"; list them with GET /api/v1/incidents"
        ))
    })
}

/// Most characters of a silence or acknowledgement comment.
const MAX_COMMENT: usize = 2000;
/// Most matchers of one silence.
const MAX_MATCHERS: usize = 20;

/// Longest silence accepted.
const MAX_SILENCE_MS: i64 = 90 * 86_400_000;

fn silence_json(s: &SilenceRow) -> Value {
    json!({
        "id": s.id, "matchers": s.matchers, "comment": s.comment, "created_by": s.created_by,
        "starts_at": rfc3339(s.starts_ms), "ends_at": rfc3339(s.ends_ms), "created_at": rfc3339(s.created_ms),
    })
}

/// `GET /api/v1/silences`: a page of the silences in force, newest first (default 500, at
/// most 1000).
pub(crate) async fn list_silences(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<crate::extract::PageQuery>,
) -> Result<Response, ApiError> {
    let page = q.page(500, 1000)?;
    let mut rows = s
        .store
        .active_silences(now_ms())
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    rows.sort_by_key(|r| std::cmp::Reverse(r.created_ms));
    Ok(page.answer(rows.iter(), silence_json))
}

/// `POST /api/v1/silences` body (the creator comes from the credentials).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SilenceBody {
    /// Label → value; an alert is silenced when all match (e.g. `{"node": "anvil-1"}`).
    pub(crate) matchers: BTreeMap<String, String>,
    /// Why the alerts are silenced.
    pub(crate) comment: String,
    /// How long (e.g. `2h`); give this or `ends_at`.
    pub(crate) duration: Option<String>,
    /// Start (RFC 3339 or relative); default now.
    pub(crate) starts_at: Option<String>,
    /// End (RFC 3339 or relative); give this or `duration`.
    pub(crate) ends_at: Option<String>,
    /// Accept matchers on labels no rule or alert has (a silence that may match nothing).
    pub(crate) allow_unknown_labels: Option<bool>,
}

pub(crate) async fn create_silence(
    State(s): State<AppState>,
    axum::Extension(who): axum::Extension<chainops_auth::Principal>,
    ApiJson(body): ApiJson<SilenceBody>,
) -> Result<Response, ApiError> {
    let (row, warnings) = silence(&s, &who, body).await?;
    let mut v = silence_json(&row);
    if !warnings.is_empty() {
        v["warnings"] = json!(warnings);
    }
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Validates and stores a silence by `who`, with warnings (labels no alert has, when
/// allowed); the API route and the console's form share it.
pub(crate) async fn silence(
    s: &AppState,
    who: &chainops_auth::Principal,
    body: SilenceBody,
) -> Result<(SilenceRow, Vec<String>), ApiError> {
    if body.matchers.is_empty() {
        return Err(ApiError::invalid(
            "matchers must be a non-empty object of label → value, e.g. {\"node\": \"anvil-1\"}",
        ));
    }
    if body.matchers.len() > MAX_MATCHERS {
        return Err(ApiError::invalid(format!(
            "{} matchers; a silence takes at most {MAX_MATCHERS}",
            body.matchers.len()
        )));
    }
    for (k, v) in &body.matchers {
        bounded_name(k, "matchers key", 64)?;
        bounded_name(v, &format!("matchers.{k}"), 256)?;
    }
    let known = known_labels(s).await?;
    let unknown: Vec<&str> = body
        .matchers
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(*k))
        .collect();
    if !unknown.is_empty() && body.allow_unknown_labels != Some(true) {
        return Err(ApiError::invalid(format!(
            "no rule or alert has the label{} {}; known labels: {} (a typo? pass \"allow_unknown_labels\": true, or `silences add --allow-unknown-labels`, to create it anyway)",
            if unknown.len() > 1 { "s" } else { "" },
            unknown.join(", "),
            known
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let warnings: Vec<String> = unknown
        .iter()
        .map(|k| format!("no rule or alert has the label {k}; this silence may match nothing"))
        .collect();
    let m = body.matchers;
    let comment = non_blank(&body.comment, "comment", "say why the alerts are silenced")?;
    let comment = bounded_text(comment, "comment", MAX_COMMENT)?;
    let now = now_ms();
    let starts = match &body.starts_at {
        Some(t) => parse_time("starts_at", t, now).map_err(ApiError::invalid)?,
        None => now,
    };
    let ends = match (body.duration.as_deref(), body.ends_at.as_deref()) {
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
    Ok((row, warnings))
}

pub(crate) async fn expire_silence(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    expire(&s, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Label names a silence can match: the four every alert has, the configured rules' own
/// labels, and those of the alerts seen in the last day (Alertmanager intake included).
async fn known_labels(s: &AppState) -> Result<std::collections::BTreeSet<String>, ApiError> {
    let mut known: std::collections::BTreeSet<String> = ["alertname", "node", "chain", "severity"]
        .iter()
        .map(|k| k.to_string())
        .chain(s.live().label_names.iter().cloned())
        .collect();
    let alerts = s
        .store
        .list_alerts(now_ms() - RESOLVED_VISIBLE_MS)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    for a in &alerts {
        known.extend(chainops_alert::labels::alert_labels(a).into_keys());
    }
    Ok(known)
}

/// Ends silence `id` now (404 when no active silence has that id).
pub(crate) async fn expire(s: &AppState, id: &str) -> Result<(), ApiError> {
    if s.store
        .expire_silence(id, now_ms())
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?
    {
        tracing::info!(silence = %id, "silence expired");
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "no active silence with id \"{id}\"; list them with GET /api/v1/silences"
        )))
    }
}

fn unknown_node(s: &AppState, name: &str) -> ApiError {
    let names: Vec<String> = s
        .live()
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

/// `POST /api/v1/config/reload`: the file is read and validated again and applied whole, or
/// the running configuration stays and the answer lists every problem (400
/// `{code, message, problems}`).
pub(crate) async fn reload_config(State(s): State<AppState>) -> Response {
    let Some(reloader) = &s.reloader else {
        return ApiError {
            kind: chainops_core::ErrorKind::Conflict,
            message: "this daemon runs the built-in default (no config file); start it with --config FILE (or CHAINOPS_CONFIG) to reload one".into(),
        }
        .into_response();
    };
    match reloader.reload().await {
        Ok(outcome) => Json(json!(outcome)).into_response(),
        Err(problems) => (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "code": chainops_core::ErrorKind::InvalidInput.code(),
                "message": format!(
                    "the config was not reloaded ({} problem{}); the running configuration stays: {}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    problems.join("; ")
                ),
                "problems": problems,
            })),
        )
            .into_response(),
    }
}
