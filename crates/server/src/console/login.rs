//! Logging in and out, first-run setup, and the language/theme switch. The login form is
//! what `/` shows a visitor without a session ([`super::fleet`] owns `/`).

use super::{Ctx, LANG_COOKIE, Page, THEME_COOKIE, local_path, page, render, see_other};
use crate::AppState;
use crate::auth_routes::{CLEAR_SESSION_COOKIE, auth_err, run_setup, session_cookie, setup_open};
use crate::session::{ClientAddr, SESSION_COOKIE};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form};
use chainops_auth::{AuthError, Permission};
use chainops_core::time::now_ms;
use serde::Deserialize;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "POST",
            "/login",
            Permission::Public,
            Some("auth.login"),
            "Console login form post: sets the session cookie, then back to the page asked for",
            || post(login),
        ),
        page(
            "POST",
            "/logout",
            Permission::Authenticated,
            Some("auth.logout"),
            "Console logout: ends the session",
            || post(logout),
        ),
        page(
            "GET",
            "/setup",
            Permission::Public,
            None,
            "First-run page: create the first admin with the one-time token",
            || get(setup_form),
        ),
        page(
            "POST",
            "/setup",
            Permission::Public,
            Some("auth.setup"),
            "First-run form post",
            || post(setup),
        ),
        page(
            "GET",
            "/prefs",
            Permission::Public,
            None,
            "Remembers the console language or theme (cookie) and goes back",
            || get(prefs),
        ),
    ],
    nav: None,
};

/// The login page.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Context.
    pub c: Ctx,
    /// Where to go after logging in.
    pub next: String,
    /// The name typed (kept on a failed attempt).
    pub name: String,
    /// Catalog key of the error, if the last attempt failed.
    pub error: Option<String>,
    /// Is first-run setup open (no user yet)?
    pub setup_open: bool,
}

/// The login form, as `/` shows it to a visitor without a session.
pub async fn form(s: &AppState, c: Ctx, next: Option<&str>) -> Response {
    let setup_open = setup_open(s, None).await.unwrap_or(false);
    render(
        StatusCode::OK,
        LoginPage {
            c,
            next: local_path(next),
            name: String::new(),
            error: None,
            setup_open,
        },
    )
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    next: Option<String>,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn login(
    State(s): State<AppState>,
    Extension(src): Extension<ClientAddr>,
    c: Ctx,
    Form(f): Form<LoginForm>,
) -> Response {
    let next = local_path(f.next.as_deref());
    let failed = |c: Ctx, status: StatusCode, error: String, name: String| {
        render(
            status,
            LoginPage {
                c,
                next: next.clone(),
                name,
                error: Some(error),
                setup_open: false,
            },
        )
    };
    if f.name.trim().is_empty() || f.password.is_empty() {
        let e = c.t.t("login.missing").to_string();
        return failed(c, StatusCode::BAD_REQUEST, e, f.name);
    }
    match s.auth.login(&f.name, &f.password, &src.0, now_ms()).await {
        Ok(session) => {
            let mut r = see_other(&next);
            if let Ok(v) = HeaderValue::from_str(&session_cookie(&session, s.security.tls)) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r.extensions_mut().insert(session.principal);
            r
        }
        Err(AuthError::LockedOut(secs)) => {
            let e = c.t.t1("login.locked", secs);
            failed(c, StatusCode::TOO_MANY_REQUESTS, e, f.name)
        }
        Err(AuthError::Unauthenticated(_)) | Err(AuthError::NotFound(_)) => {
            let e = c.t.t("login.invalid").to_string();
            failed(c, StatusCode::UNAUTHORIZED, e, f.name)
        }
        Err(e) => super::error_page(c, auth_err(e)),
    }
}

async fn logout(State(s): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = crate::session::cookie(&headers, SESSION_COOKIE)
        && let Err(e) = s.auth.logout(id, now_ms()).await
    {
        tracing::warn!(error = %e, "logout failed");
    }
    let mut r = see_other("/");
    r.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(CLEAR_SESSION_COOKIE),
    );
    r
}

/// The first-run page.
#[derive(Template)]
#[template(path = "setup.html")]
pub struct SetupPage {
    /// Context.
    pub c: Ctx,
    /// Is setup still open?
    pub open: bool,
    /// Name typed.
    pub name: String,
    /// Error of the last attempt.
    pub error: Option<String>,
}

async fn setup_form(State(s): State<AppState>, c: Ctx) -> Response {
    let open = setup_open(&s, None).await.unwrap_or(false);
    render(
        StatusCode::OK,
        SetupPage {
            c,
            open,
            name: String::new(),
            error: None,
        },
    )
}

/// The first-run form's fields.
#[derive(Deserialize)]
pub struct SetupForm {
    token: String,
    name: String,
    password: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn setup(State(s): State<AppState>, c: Ctx, Form(f): Form<SetupForm>) -> Response {
    match run_setup(&s, f.token.trim(), f.name.trim(), &f.password).await {
        Ok(p) => {
            let mut r = see_other("/");
            r.extensions_mut().insert(p);
            r
        }
        Err(e) => {
            let status = e.status();
            let open = setup_open(&s, None).await.unwrap_or(false);
            render(
                status,
                SetupPage {
                    c,
                    open,
                    name: f.name,
                    error: Some(e.message),
                },
            )
        }
    }
}

/// `/prefs` parameters.
#[derive(Deserialize)]
pub struct Prefs {
    lang: Option<String>,
    theme: Option<String>,
    back: Option<String>,
}

async fn prefs(State(s): State<AppState>, Query(p): Query<Prefs>) -> Response {
    let mut r = see_other(&local_path(p.back.as_deref()));
    let secure = if s.security.tls { "; Secure" } else { "" };
    let year = 365 * 86_400;
    let mut set = |name: &str, value: &str| {
        let v = format!("{name}={value}; SameSite=Lax; Path=/; Max-Age={year}{secure}");
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    };
    if let Some(l) = p.lang.as_deref().and_then(super::i18n::Lang::from_tag) {
        set(LANG_COOKIE, l.tag());
    }
    if let Some(t) = p
        .theme
        .as_deref()
        .filter(|t| ["light", "dark", "auto"].contains(t))
    {
        set(THEME_COOKIE, t);
    }
    r.into_response()
}
