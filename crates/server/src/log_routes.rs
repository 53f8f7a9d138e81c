//! Node logs over HTTP: search with the query language, and a push endpoint for JSON lines.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chainops_core::ErrorKind;
use chainops_core::time::{now_ms, rfc3339};
use chainops_logs::entry::Level;
use chainops_logs::ingest::Source;
use chainops_store::logs::LogQuery;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// Most bytes accepted in one push.
pub const MAX_PUSH_BYTES: usize = 8 << 20;

/// `GET /api/v1/logs` parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchQuery {
    /// Search in the query language (`node:geth-1 level>=warn "peer dropped"`).
    q: Option<String>,
    /// Start (RFC 3339 or relative); default one hour ago.
    from: Option<String>,
    /// End (RFC 3339 or relative); default now.
    to: Option<String>,
    /// At most this many entries (1–1000, default 100).
    #[schemars(with = "Option<u16>")]
    limit: Option<String>,
    /// The `next` value of the previous page (`TS:ID`).
    before: Option<String>,
}

/// `GET /api/v1/logs?q=&from=&to=&limit=&before=` — newest first; `next` pages on.
pub(crate) async fn search(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<SearchQuery>,
) -> Result<Json<Value>, ApiError> {
    let now = now_ms();
    let mut q = LogQuery {
        from_ms: match &p.from {
            Some(t) => crate::time_param::parse_time("from", t, now).map_err(ApiError::invalid)?,
            None => now - 3_600_000,
        },
        to_ms: match &p.to {
            Some(t) => crate::time_param::parse_time("to", t, now).map_err(ApiError::invalid)?,
            None => now + 1,
        },
        limit: crate::extract::limit(p.limit.as_deref(), 100, 1000)?,
        ..LogQuery::default()
    };
    if let Some(b) = &p.before {
        let parsed = b
            .split_once(':')
            .and_then(|(t, i)| Some((t.parse::<i64>().ok()?, i.parse::<i64>().ok()?)));
        q.before = Some(parsed.ok_or_else(|| {
            ApiError::invalid("before must be the `next` value of the previous page (TS:ID)")
        })?);
    }
    chainops_logs::query::parse(p.q.as_deref().unwrap_or(""), &mut q)
        .map_err(|m| ApiError::invalid(format!("q: {m}")))?;
    let rows = s
        .store
        .search_logs(&q)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    let next = (rows.len() as i64 == q.limit)
        .then(|| rows.last().map(|r| format!("{}:{}", r.ts_ms, r.id)))
        .flatten();
    let entries: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({"id": r.id, "time": rfc3339(r.ts_ms), "node": r.node, "chain": r.chain,
                "level": Level::from_number(r.level).as_str(), "message": r.message,
                "fields": serde_json::from_str::<Value>(&r.fields).unwrap_or_else(|_| json!({})), "source": r.source})
        })
        .collect();
    Ok(Json(json!({"entries": entries, "next": next})))
}

/// `POST /api/v1/logs/push?node=NAME[&format=F]` — one JSON object (or line of the given
/// format) per line; redacted and stored like any other source.
/// `POST /api/v1/logs/push` parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PushQuery {
    /// The configured node the lines come from (required).
    #[schemars(required, with = "String")]
    node: Option<String>,
    /// Line format (`json`, `logfmt`, `geth`, `bitcoin`, …); detected when absent.
    format: Option<String>,
}

pub(crate) async fn push(
    State(s): State<AppState>,
    ApiQuery(p): ApiQuery<PushQuery>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let node = p
        .node
        .as_ref()
        .ok_or_else(|| ApiError::invalid("node is required (?node=geth-1)"))?;
    let chain = s
        .live()
        .fleet
        .report(node, now_ms())
        .map(|r| r.chain)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no node named \"{node}\"; push logs of configured nodes"
            ))
        })?;
    let format = match &p.format {
        Some(f) => Some(chainops_logs::parse::Format::parse(f).ok_or_else(|| {
            ApiError::invalid(format!(
                "\"{f}\" is not a log format (json, logfmt, geth, bitcoin, …)"
            ))
        })?),
        None => None,
    };
    if body.len() > MAX_PUSH_BYTES {
        return Err(ApiError::invalid(format!(
            "body is over {MAX_PUSH_BYTES} bytes; push in smaller batches"
        )));
    }
    let text =
        std::str::from_utf8(&body).map_err(|_| ApiError::invalid("body is not UTF-8 text"))?;
    let src = Source {
        id: format!("push:{node}"),
        node: node.clone(),
        chain,
        format,
        drop: Default::default(),
    };
    let Some(logs) = &s.live().logs else {
        return Err(ApiError {
            kind: ErrorKind::Unavailable,
            message: "log management is not running".into(),
        });
    };
    let stored = logs
        .push(&src, text)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    Ok((StatusCode::ACCEPTED, Json(json!({"stored": stored}))).into_response())
}
