//! API errors: `{code, message}` with the HTTP status of their [`ErrorKind`].

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chainops_core::ErrorKind;
use serde_json::json;

/// An error answered to an API client. Internal details are logged, never returned.
#[derive(Debug)]
pub struct ApiError {
    /// Coarse kind (status and code).
    pub kind: ErrorKind,
    /// Human message naming what is wrong and how to fix it.
    pub message: String,
}

impl ApiError {
    /// The HTTP status this error answers with (a form page shown again with the reason).
    pub fn status(&self) -> axum::http::StatusCode {
        axum::http::StatusCode::from_u16(self.kind.http_status())
            .unwrap_or(axum::http::StatusCode::BAD_REQUEST)
    }

    /// A 400 with guidance.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::InvalidInput,
            message: message.into(),
        }
    }

    /// A 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::NotFound,
            message: message.into(),
        }
    }

    /// A 502: another system (a node) failed; the message names it and what it said.
    pub fn upstream(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorKind::Upstream,
            message: message.into(),
        }
    }

    /// Logs `detail` and answers a generic message of `kind`.
    pub fn internal(kind: ErrorKind, detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "request failed");
        let message = match kind {
            ErrorKind::Unavailable => "the store is unavailable; retry shortly",
            _ => "internal error; see the chainops log",
        };
        Self {
            kind,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.kind.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(json!({"code": self.kind.code(), "message": self.message})),
        )
            .into_response()
    }
}

/// The `code` of an error answer by HTTP status, for answers made outside the handlers.
fn code_for(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "invalid_input",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "payload_too_large",
        414 | 431 => "request_too_large",
        415 => "unsupported_media_type",
        429 => "rate_limited",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "invalid_input",
    }
}

/// Most bytes of a framework error text kept as the message.
const MAX_MESSAGE: usize = 300;

/// Turns every error answer that is neither JSON nor a console page yet (body limits, bad paths, extractor and
/// timeout rejections) into `{code, message}` with the same status.
pub(crate) async fn json_errors(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let r = next.run(req).await;
    let status = r.status();
    // JSON already, or a console page (its error pages are HTML on purpose).
    let is_json = r
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return r;
    }
    let (parts, body) = r.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
        .unwrap_or_default();
    let mut message = if text.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_string()
    } else {
        text
    };
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        message =
            format!("{message}: the body is over the limit of this route (see docs/security.md)");
    }
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
    }
    let mut out = (
        status,
        Json(json!({"code": code_for(status), "message": message})),
    )
        .into_response();
    for (k, v) in parts.headers.iter() {
        if k == axum::http::header::ALLOW || k == axum::http::header::WWW_AUTHENTICATE {
            out.headers_mut().insert(k.clone(), v.clone());
        }
    }
    out
}
