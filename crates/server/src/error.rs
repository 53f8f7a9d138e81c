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
