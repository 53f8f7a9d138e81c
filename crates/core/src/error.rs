//! Coarse error classification shared by the HTTP API and the CLI exit codes.

use serde::Serialize;

/// The coarse kind of an error: decides the HTTP status and the CLI exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The caller sent something invalid; fix the input.
    InvalidInput,
    /// The named thing does not exist.
    NotFound,
    /// The request conflicts with current state.
    Conflict,
    /// No or bad credentials.
    Unauthorized,
    /// Credentials lack the permission.
    Forbidden,
    /// A dependency (store, node) is not reachable right now; retry later.
    Unavailable,
    /// A remote peer (node RPC) answered with an error.
    Upstream,
    /// Too many requests from one client; retry later.
    Limited,
    /// The request body is larger than the route takes.
    TooLarge,
    /// A bug or an unexpected state inside chainops.
    Internal,
}

impl ErrorKind {
    /// HTTP status code for this kind.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::InvalidInput => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Upstream => 502,
            ErrorKind::Unavailable => 503,
            ErrorKind::Limited => 429,
            ErrorKind::TooLarge => 413,
            ErrorKind::Internal => 500,
        }
    }

    /// Process exit code for CLI jobs (sysexits-inspired, stable).
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::InvalidInput | ErrorKind::TooLarge => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::Conflict => 4,
            ErrorKind::Unauthorized | ErrorKind::Forbidden => 5,
            ErrorKind::Unavailable | ErrorKind::Upstream | ErrorKind::Limited => 6,
            ErrorKind::Internal => 1,
        }
    }

    /// Stable snake_case code used in API error bodies.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Upstream => "upstream",
            ErrorKind::Limited => "too_many_requests",
            ErrorKind::TooLarge => "payload_too_large",
            ErrorKind::Internal => "internal",
        }
    }
}
