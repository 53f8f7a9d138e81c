//! Who may call what. The route table ([`ROUTES`], in `api.rs`) declares every route's
//! permission (and the audit action of every mutating route); [`guard`] enforces it for every
//! matched request:
//! credentials (Bearer token or session cookie + CSRF header) → 401, permission → 403,
//! then the handler; mutating requests are appended to the audit trail with their outcome.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chainops_auth::audit_trail::Entry;
use chainops_auth::{AuthError, Permission, Principal};
use chainops_core::ErrorKind;
use chainops_core::time::now_ms;
use std::net::SocketAddr;

pub use crate::session::{CSRF_HEADER, ClientAddr, SESSION_COOKIE};

/// The route table (method, path, permission, audit action… of every route).
pub use crate::api::ROUTES;

/// The table entry for a request (HEAD is checked as GET).
pub fn lookup(method: &Method, path: &str) -> Option<(Permission, Option<&'static str>)> {
    let m = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    crate::table::find(m, path).map(|r| (r.permission, r.audit))
}

/// Marks a response as the guard's refusal (the console turns it into a page).
#[derive(Clone)]
struct Refusal(String);

fn unauthorized(message: impl Into<String>) -> Response {
    let message = message.into();
    let mut r = ApiError {
        kind: ErrorKind::Unauthorized,
        message: message.clone(),
    }
    .into_response();
    r.extensions_mut().insert(Refusal(message));
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"chainops\""),
    );
    r
}

fn forbidden(message: impl Into<String>) -> Response {
    let message = message.into();
    let mut r = ApiError {
        kind: ErrorKind::Forbidden,
        message: message.clone(),
    }
    .into_response();
    r.extensions_mut().insert(Refusal(message));
    r
}

/// Largest console form body the guard reads to find its CSRF field (the router's 2 MB body
/// limit; a pasted contract of 512 KiB stays under it even percent-encoded).
const MAX_FORM_BYTES: usize = 2 << 20;

/// The `_csrf` field of a multipart form (the console puts it first), read with the same
/// parser the handlers use.
async fn multipart_csrf(content_type: &str, bytes: &axum::body::Bytes) -> Option<String> {
    use axum::extract::FromRequest;
    let req = Request::builder()
        .header(header::CONTENT_TYPE, content_type)
        .body(axum::body::Body::from(bytes.clone()))
        .ok()?;
    let mut form = axum::extract::Multipart::from_request(req, &())
        .await
        .ok()?;
    while let Ok(Some(field)) = form.next_field().await {
        if field.name() == Some("_csrf") {
            return field.text().await.ok();
        }
    }
    None
}

/// A console form post without the CSRF header: reads the (urlencoded or multipart) body, and puts its
/// `_csrf` field into the header the check reads, so forms work without JavaScript. The
/// body is handed on unchanged.
async fn form_csrf(req: Request) -> Result<Request, Response> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let multipart = content_type.starts_with("multipart/form-data");
    let is_form = multipart || content_type.starts_with("application/x-www-form-urlencoded");
    if !is_form || req.headers().contains_key(CSRF_HEADER) {
        return Ok(req);
    }
    let max = if multipart {
        crate::limits::MAX_UPLOAD_BYTES
    } else {
        MAX_FORM_BYTES
    };
    let (mut parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, max).await {
        Ok(b) => b,
        Err(_) => {
            return Err(ApiError {
                kind: ErrorKind::TooLarge,
                message: format!(
                    "a form may hold at most {} KB; attach smaller files or fewer of them",
                    max >> 10
                ),
            }
            .into_response());
        }
    };
    let token = if multipart {
        multipart_csrf(&content_type, &bytes).await
    } else {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .ok()
            .and_then(|f| f.into_iter().find(|(k, _)| k == "_csrf").map(|(_, v)| v))
    };
    if let Some(v) = token.and_then(|t| HeaderValue::from_str(&t).ok()) {
        parts.headers.insert(CSRF_HEADER, v);
    }
    Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
}

/// Authenticates the request's credentials, if any, with the session's CSRF token for a
/// session. `Ok(None)`: no credentials at all.
async fn principal(
    s: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Option<(Principal, Option<String>)>, Response> {
    let now = now_ms();
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let Some(token) = auth.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) else {
            return Err(unauthorized(
                "Authorization must be \"Bearer <token>\"; create a token with `chainops token create`",
            ));
        };
        return match s.auth.token(token.trim(), now).await {
            Ok(p) => Ok(Some((p, None))),
            Err(AuthError::Store(e)) => Err(ApiError::internal(e.kind(), e).into_response()),
            Err(e) => Err(unauthorized(e.to_string())),
        };
    }
    let Some(id) = crate::session::cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    match s.auth.session(id, now).await {
        Ok((p, csrf)) => {
            let writes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
            let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
            if writes && !sent.is_some_and(|t| chainops_auth::secrets::same(t, &csrf)) {
                return Err(forbidden(format!(
                    "missing or wrong {CSRF_HEADER} header; send the csrf value returned at login"
                )));
            }
            Ok(Some((p, Some(csrf))))
        }
        Err(AuthError::Store(e)) => Err(ApiError::internal(e.kind(), e).into_response()),
        Err(e) => Err(unauthorized(e.to_string())),
    }
}

/// Enforces the route table ([`crate::table::all`]) on every matched request and audits
/// mutating ones. A refusal of a console page becomes what a browser should see
/// ([`crate::console::refusal`]).
pub async fn guard(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_default();
    if !crate::console::is_page(&path) {
        return check(s, path, req, next).await;
    }
    let mut head = Request::new(());
    *head.uri_mut() = req.uri().clone();
    *head.headers_mut() = req.headers().clone();
    let req = match form_csrf(req).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let resp = check(s, path, req, next).await;
    match resp.extensions().get::<Refusal>() {
        Some(Refusal(m)) => {
            let (parts, ()) = head.into_parts();
            crate::console::refusal(&parts, resp.status(), m.clone())
        }
        None => resp,
    }
}

async fn check(s: AppState, path: String, mut req: Request, next: Next) -> Response {
    let source = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "unknown".to_string(), |c| c.0.to_string());
    let method = req.method().clone();
    let Some((mut perm, action)) = lookup(&method, &path) else {
        let allowed: Vec<&str> = crate::table::all()
            .filter(|r| r.path == path)
            .map(|r| r.method)
            .collect();
        if !allowed.is_empty() {
            let mut r = (
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                axum::Json(serde_json::json!({
                    "code": "method_not_allowed",
                    "message": format!("{method} is not allowed on {path}; use {}", allowed.join(", ")),
                })),
            )
                .into_response();
            if let Ok(v) = axum::http::HeaderValue::from_str(&allowed.join(", ")) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            return r;
        }
        // A route without a table entry is a programming error: refuse, never serve it open.
        tracing::error!(%method, %path, "route has no permission entry; refusing");
        return forbidden("this route has no permission entry");
    };
    if path == "/metrics" && s.security.metrics_public {
        perm = Permission::Public;
    }
    req.extensions_mut().insert(ClientAddr(source.clone()));
    let headers = req.headers().clone();
    let who = match principal(&s, &method, &headers).await {
        Ok(Some((p, csrf))) => {
            if let Some(c) = csrf {
                req.extensions_mut().insert(crate::console::SessionCsrf(c));
            }
            Some(p)
        }
        Ok(None) => None,
        Err(resp) => {
            tracing::warn!(%method, %path, %source, status = resp.status().as_u16(), "authentication failed");
            return resp;
        }
    };
    let target = req.uri().path().to_string();
    if perm != Permission::Public {
        let Some(p) = &who else {
            tracing::warn!(%method, %path, %source, "no credentials");
            return unauthorized(
                "authentication required: send Authorization: Bearer <token> (chainops token create) or log in at POST /api/v1/auth/login",
            );
        };
        if !perm.allows(p.role) {
            tracing::warn!(%method, %path, %source, actor = %p.actor(), role = p.role.as_str(), "permission denied");
            if let Some(action) = action {
                audit(
                    &s,
                    p.actor(),
                    p.role.as_str(),
                    &source,
                    action,
                    &target,
                    "denied",
                )
                .await;
            }
            return forbidden(format!(
                "role {} may not {} (needs {})",
                p.role.as_str(),
                action.unwrap_or("read this"),
                perm.as_str()
            ));
        }
    }
    if let Some(p) = &who {
        req.extensions_mut().insert(p.clone());
    }
    let response = next.run(req).await;
    if let Some(action) = action {
        // Login and setup record who they authenticated (set by the handler).
        let (actor, role) = match response.extensions().get::<Principal>().or(who.as_ref()) {
            Some(p) => (p.actor(), p.role.as_str().to_string()),
            None => ("anonymous".to_string(), "-".to_string()),
        };
        let status = response.status();
        let result = if status.is_success() || status.is_redirection() {
            "ok".to_string()
        } else {
            status.as_u16().to_string()
        };
        audit(&s, actor, &role, &source, action, &target, &result).await;
    }
    response
}

async fn audit(
    s: &AppState,
    actor: String,
    role: &str,
    source: &str,
    action: &str,
    target: &str,
    result: &str,
) {
    let entry = Entry {
        actor,
        role: role.to_string(),
        source: source.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        result: result.to_string(),
        detail: serde_json::Value::Object(Default::default()),
    };
    if let Err(e) = s.audit.record(entry, now_ms()).await {
        tracing::error!(error = %e, action, target, "cannot append to the audit trail");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_health_login_setup_the_status_page_portal_and_kb_are_public_and_writes_are_audited() {
        for route in crate::table::all() {
            let (m, p, perm, action) =
                (&route.method, &route.path, &route.permission, &route.audit);
            if *perm == Permission::Public {
                assert!(
                    [
                        "/livez",
                        "/readyz",
                        "/api/v1/auth/login",
                        "/api/v1/auth/setup",
                        // The console: `/` is the login form without a session.
                        "/",
                        "/login",
                        "/setup",
                        "/prefs",
                        "/assets/{*file}",
                        // The status page is for the chain's users, who have no account.
                        "/status",
                        "/status/{chain}",
                        "/status/feed.atom",
                        "/api/v1/status",
                        "/status/subscriptions",
                        "/status/subscriptions/{token}",
                        "/status/subscriptions/confirm",
                        "/status/subscriptions/unsubscribe",
                        // The support portal: requesters have no account either; their
                        // private link's token is the credential.
                        "/support",
                        "/support/tickets",
                        "/support/t/{token}",
                        "/support/reply",
                        "/support/t/{token}/files/{id}",
                        "/support/csat",
                        "/support/signin",
                        "/support/signin/{token}",
                        "/support/signin/use",
                        "/support/mine",
                        "/support/nps/{token}",
                        "/support/nps",
                        // The knowledge base's published public articles, for requesters.
                        "/kb",
                        "/kb/suggest",
                        "/kb/{id}",
                        "/kb/{id}/vote",
                        "/api/v1/kb",
                        "/api/v1/kb/{id}",
                    ]
                    .contains(p),
                    "{m} {p} must not be public"
                );
            }
            if *m != "GET" {
                assert!(
                    action.is_some(),
                    "{m} {p} changes state and must be audited"
                );
            }
        }
    }
}

#[cfg(test)]
mod doc_tests {

    /// docs/security.md lists every route with its permission, and no other.
    #[test]
    fn the_security_guide_lists_the_route_table() {
        let doc = include_str!("../../../docs/security.md");
        for route in crate::table::all() {
            let (m, p, perm) = (route.method, route.path, route.permission);
            let row = format!("| `{m} {p}` | {} |", perm.as_str());
            assert!(doc.contains(&row), "docs/security.md lacks {row}");
        }
        assert_eq!(
            doc.matches("| `GET /").count()
                + doc.matches("| `POST /").count()
                + doc.matches("| `DELETE /").count(),
            crate::table::all().count()
        );
    }
}
