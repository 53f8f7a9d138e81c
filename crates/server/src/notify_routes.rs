//! Notification channels over HTTP: list them, send a test message, and the Alertmanager
//! webhook intake.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chainops_alert::intake;
use chainops_alert::notify::{Delivery, payload};
use chainops_core::ErrorKind;
use chainops_core::secret::redact_url;
use chainops_core::time::now_ms;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

/// `GET /api/v1/notifiers`: configured channels, URLs with credentials redacted (a page:
/// default 500, at most 1000).
pub(crate) async fn list_notifiers(
    State(s): State<AppState>,
    crate::extract::ApiQuery(q): crate::extract::ApiQuery<crate::extract::PageQuery>,
) -> Result<axum::response::Response, ApiError> {
    let page = q.page(500, 1000)?;
    Ok(page.answer(s.live().notifiers.iter(), |n| {
        let c = &n.config;
        json!({"name": c.name, "kind": c.kind, "url": redact_url(&c.url), "min_severity": c.min_severity,
            "rate_limit_per_minute": c.rate_limit_per_minute, "repeat_interval_seconds": c.repeat_interval.as_secs(),
            "quiet_hours": c.quiet_hours.is_some()})
    }))
}

/// `POST /api/v1/notifiers/{name}/test`: sends a test notification now (not via the outbox)
/// and answers whether the receiver accepted it (`delivered`, and `error` if not).
pub(crate) async fn test_notifier(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(match send_test(&s, &name).await? {
        None => json!({"channel": name, "delivered": true}),
        Some(error) => json!({"channel": name, "delivered": false, "error": error}),
    }))
}

/// Sends a test notification through channel `name` now (not via the outbox): `None` when
/// the receiver accepted it, else why not. The API route and the console's button share it.
pub(crate) async fn send_test(s: &AppState, name: &str) -> Result<Option<String>, ApiError> {
    let live = s.live();
    let Some(n) = live.notifiers.iter().find(|n| n.config.name == name) else {
        let names: Vec<&str> = live
            .notifiers
            .iter()
            .map(|n| n.config.name.as_str())
            .collect();
        return Err(ApiError::not_found(format!(
            "no notifier named \"{name}\"; configured: {}",
            if names.is_empty() {
                "none".into()
            } else {
                names.join(", ")
            }
        )));
    };
    let body = payload::test(name, now_ms());
    let id = body["id"].as_str().unwrap_or("test").to_string();
    // The test ran either way: a refusing receiver is a result, not a server error.
    Ok(match n.send(&s.http, &id, &body.to_string()).await {
        Delivery::Sent => None,
        Delivery::Retry { error, .. } => {
            Some(format!("test notification to {name} failed: {error}"))
        }
    })
}

/// `POST /api/v1/integrations/alertmanager[?channel=a,b]`: accepts an Alertmanager webhook
/// payload and enqueues its alerts for our channels (202 with counts).
/// `POST /api/v1/integrations/alertmanager` parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IntakeQuery {
    /// Only these channels (`NAME[,NAME]`); default every channel whose severity matches.
    channel: Option<String>,
}

pub(crate) async fn alertmanager_intake(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<IntakeQuery>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid(format!(
            "body is not JSON: {e}; point an Alertmanager webhook_configs receiver here"
        ))
    })?;
    let only: Option<Vec<String>> = q
        .channel
        .map(|c| c.split(',').map(|x| x.trim().to_string()).collect());
    let out = intake::from_alertmanager(&v, &s.live().notifiers, only.as_deref(), now_ms())
        .map_err(ApiError::invalid)?;
    let enqueued = s
        .store
        .enqueue_notifications(&out.notifications)
        .await
        .map_err(|e| ApiError::internal(ErrorKind::Unavailable, e))?;
    tracing::info!(
        alerts = out.alerts,
        enqueued,
        "Alertmanager webhook accepted"
    );
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"alerts": out.alerts, "enqueued": enqueued, "duplicates": out.notifications.len() as u64 - enqueued})),
    )
        .into_response())
}
