//! Names the guard and the handlers share: the client address extension, the session cookie
//! and the CSRF header.

/// The client's address (`ip:port`), for handlers that record it.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

/// Session cookie name.
pub const SESSION_COOKIE: &str = "chainops_session";
/// Header carrying the CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";
