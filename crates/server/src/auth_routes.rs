//! Login, first-start setup, users, API tokens and the audit trail over HTTP.

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiQuery};
use crate::session::SESSION_COOKIE;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chainops_auth::service::parse_role;
use chainops_auth::{AuthError, Principal};
use chainops_core::time::{now_ms, rfc3339};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

pub(crate) fn auth_err(e: AuthError) -> ApiError {
    match e {
        AuthError::Store(e) => ApiError::internal(e.kind(), e),
        AuthError::Crypto(m) => ApiError::internal(chainops_core::ErrorKind::Internal, m),
        e => ApiError {
            kind: e.kind(),
            message: e.to_string(),
        },
    }
}

fn text<'a>(value: &'a str, key: &str) -> Result<&'a str, ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid(format!(
            "{key} is required (a non-empty string)"
        )));
    }
    Ok(value)
}

/// `POST /api/v1/auth/login` body.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    /// User name.
    name: String,
    /// Password.
    password: String,
}

/// The `Set-Cookie` value of a new session (HttpOnly, SameSite=Strict, Secure under TLS).
pub(crate) fn session_cookie(session: &chainops_auth::service::NewSession, tls: bool) -> String {
    let max_age = (session.expires_ms - now_ms()) / 1000;
    let secure = if tls { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{secure}",
        session.id
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub(crate) const CLEAR_SESSION_COOKIE: &str =
    "chainops_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0";

/// Whether setup is open now (no user yet, the one-time token not used) and, given
/// `token`, whether it is the right one.
pub(crate) async fn setup_open(s: &AppState, token: Option<&str>) -> Result<bool, ApiError> {
    let users = s
        .auth
        .store()
        .count_users()
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    let expected = s
        .security
        .setup_token_digest
        .lock()
        .map(|g| g.clone())
        .unwrap_or(None);
    Ok(users == 0
        && expected.is_some_and(|d| match token {
            None => true,
            Some(t) => chainops_auth::secrets::same(&d, &chainops_auth::secrets::digest(t)),
        }))
}

/// Creates the first admin if the setup token is right, and closes setup.
pub(crate) async fn run_setup(
    s: &AppState,
    token: &str,
    name: &str,
    password: &str,
) -> Result<Principal, ApiError> {
    if !setup_open(s, Some(token)).await? {
        return Err(ApiError {
            kind: chainops_core::ErrorKind::Unauthorized,
            message: "setup is closed or the token is wrong; the token is printed once at first start, or use `chainops user add`".into(),
        });
    }
    let user = s
        .auth
        .add_user(name, chainops_auth::Role::Admin, password, now_ms())
        .await
        .map_err(auth_err)?;
    if let Ok(mut g) = s.security.setup_token_digest.lock() {
        *g = None;
    }
    Ok(Principal {
        name: user.name,
        role: chainops_auth::Role::Admin,
        via: chainops_auth::service::Via::Session,
    })
}

/// `POST /api/v1/auth/login {name, password}` → session cookie and CSRF token.
pub(crate) async fn login(
    State(s): State<AppState>,
    Extension(src): Extension<crate::session::ClientAddr>,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let (name, password) = (text(&body.name, "name")?, text(&body.password, "password")?);
    let session = s
        .auth
        .login(name, password, &src.0, now_ms())
        .await
        .map_err(auth_err)?;
    let cookie = session_cookie(&session, s.security.tls);
    let body = json!({"name": session.principal.name, "role": session.principal.role,
        "csrf": session.csrf, "expires": rfc3339(session.expires_ms)});
    let mut r = (StatusCode::OK, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r.extensions_mut().insert(session.principal);
    Ok(r)
}

/// `POST /api/v1/auth/logout`: ends the session and clears the cookie.
pub(crate) async fn logout(State(s): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let id = crate::session::cookie(&headers, SESSION_COOKIE).map(str::to_string);
    if let Some(id) = id
        && let Err(e) = s.auth.logout(&id, now_ms()).await
    {
        return auth_err(e).into_response();
    }
    let mut r = StatusCode::NO_CONTENT.into_response();
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(CLEAR_SESSION_COOKIE),
    );
    r
}

/// `GET /api/v1/auth/me`.
pub(crate) async fn me(Extension(p): Extension<Principal>) -> Json<Value> {
    Json(json!({"name": p.name, "role": p.role, "via": p.via}))
}

/// `POST /api/v1/auth/setup` body.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetupBody {
    /// The one-time token printed at first start.
    token: String,
    /// Name of the first admin.
    name: String,
    /// Their password.
    password: String,
}

/// `POST /api/v1/auth/setup {token, name, password}`: creates the first admin with the
/// one-time token printed at first start; refused once any user exists.
pub(crate) async fn setup(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<SetupBody>,
) -> Result<Response, ApiError> {
    let (token, name, password) = (
        text(&body.token, "token")?,
        text(&body.name, "name")?,
        text(&body.password, "password")?,
    );
    let p = run_setup(&s, token, name, password).await?;
    let mut r = (
        StatusCode::CREATED,
        Json(json!({"name": p.name, "role": "admin"})),
    )
        .into_response();
    r.extensions_mut().insert(p);
    Ok(r)
}

/// `GET /api/v1/users` (a page: default 500, at most 1000).
pub(crate) async fn list_users(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<crate::extract::PageQuery>,
) -> Result<Response, ApiError> {
    let page = q.page(500, 1000)?;
    let users = s
        .auth
        .store()
        .list_users()
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    Ok(page.answer(users.iter(), |u| {
        json!({"name": u.name, "role": u.role, "created": rfc3339(u.created_ms), "updated": rfc3339(u.updated_ms)})
    }))
}

/// `POST /api/v1/users` body.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserBody {
    /// User name.
    name: String,
    /// `admin`, `operator`, `support` or `viewer`.
    role: String,
    /// Initial password.
    password: String,
}

/// `POST /api/v1/users {name, role, password}`.
pub(crate) async fn create_user(
    State(s): State<AppState>,
    ApiJson(body): ApiJson<UserBody>,
) -> Result<Response, ApiError> {
    let role = parse_role(text(&body.role, "role")?).map_err(auth_err)?;
    let u = s
        .auth
        .add_user(
            text(&body.name, "name")?,
            role,
            text(&body.password, "password")?,
            now_ms(),
        )
        .await
        .map_err(auth_err)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": u.name, "role": u.role})),
    )
        .into_response())
}

/// `DELETE /api/v1/users/{name}`.
pub(crate) async fn delete_user(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    if p.name == name && matches!(p.via, chainops_auth::service::Via::Session) {
        return Err(ApiError::invalid(
            "you cannot delete your own account while logged in with it",
        ));
    }
    s.auth.remove_user(&name).await.map_err(auth_err)?;
    Ok(StatusCode::NO_CONTENT)
}

fn token_json(t: &chainops_store::users::TokenRow) -> Value {
    json!({"id": t.id, "name": t.name, "role": t.role, "created_by": t.created_by,
        "created": rfc3339(t.created_ms), "expires": t.expires_ms.map(rfc3339),
        "revoked": t.revoked_ms.map(rfc3339), "last_used": t.last_used_ms.map(rfc3339)})
}

/// `GET /api/v1/tokens` (never the secrets; a page: default 500, at most 1000).
pub(crate) async fn list_tokens(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<crate::extract::PageQuery>,
) -> Result<Response, ApiError> {
    let page = q.page(500, 1000)?;
    let list = s
        .auth
        .store()
        .list_tokens()
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    Ok(page.answer(list.iter(), token_json))
}

/// `POST /api/v1/tokens` body.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenBody {
    /// What the token is for (e.g. `grafana`).
    name: String,
    /// `admin`, `operator`, `support` or `viewer`.
    role: String,
    /// Lifetime from `1m` to `3650d` (default `90d`), or `never`.
    expires: Option<String>,
}

/// `POST /api/v1/tokens {name, role, expires?}` → 201 with the secret, shown once.
pub(crate) async fn create_token(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Response, ApiError> {
    let role = parse_role(text(&body.role, "role")?).map_err(auth_err)?;
    let expires =
        chainops_auth::service::token_lifetime(body.expires.as_deref()).map_err(auth_err)?;
    let (row, secret) = s
        .auth
        .create_token(
            text(&body.name, "name")?,
            role,
            expires,
            &p.actor(),
            now_ms(),
        )
        .await
        .map_err(auth_err)?;
    let mut v = token_json(&row);
    v["token"] = Value::String(secret);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// `DELETE /api/v1/tokens/{id}`.
pub(crate) async fn revoke_token(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    s.auth.revoke_token(&id, now_ms()).await.map_err(auth_err)?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/audit-log` parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditQuery {
    /// Records from this time on (RFC 3339 or relative); default one day ago.
    since: Option<String>,
    /// At most this many (1–10000, default 1000).
    #[schemars(with = "Option<u16>")]
    limit: Option<String>,
}

/// `GET /api/v1/audit-log[?since=&limit=]`, oldest first.
pub(crate) async fn audit_log(
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    let now = now_ms();
    let since = match &q.since {
        Some(t) => crate::time_param::parse_time("since", t, now).map_err(ApiError::invalid)?,
        None => now - 86_400_000,
    };
    let limit = crate::extract::limit(q.limit.as_deref(), 1000, 10_000)?;
    let rows = s
        .auth
        .store()
        .audit_records_since(since, limit)
        .await
        .map_err(|e| ApiError::internal(e.kind(), e))?;
    let list: Vec<Value> = rows
        .iter()
        .map(|r| json!({"seq": r.seq, "at": rfc3339(r.at_ms), "actor": r.actor, "role": r.role, "source": r.source,
            "action": r.action, "target": r.target, "result": r.result, "hash": r.hash}))
        .collect();
    Ok(Json(Value::Array(list)))
}

/// `GET /api/v1/audit-log/verify`.
pub(crate) async fn verify_audit(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let r = s.audit.verify().await.map_err(auth_err)?;
    Ok(Json(json!({"ok": r.ok(), "report": r})))
}
