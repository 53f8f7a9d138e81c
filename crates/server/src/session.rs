//! Names the guard and the handlers share: the client address extension, the session cookie
//! and the CSRF header.

/// The client's address (`ip:port`), for handlers that record it.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

/// Session cookie name.
pub const SESSION_COOKIE: &str = "chainops_session";
/// Header carrying the CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}
