//! Users and API tokens (admin; auditors read): create a user, change their role, reset
//! their password, delete them; create a token (its secret shown once, on the answer page),
//! revoke one; every token's last use. The forms call the same `chainops-auth` service as
//! the API and the CLI, so the password policy, the last-admin rule and the audit trail are
//! the same everywhere.

use super::{Ctx, Page, page, render, see_other};
use crate::AppState;
use crate::auth_routes::auth_err;
use crate::error::ApiError;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form};
use chainops_auth::service::{Via, parse_role, token_lifetime};
use chainops_auth::{Permission, Principal, Role};
use chainops_core::time::{now_ms, rfc3339};
use serde::Deserialize;

/// The routes.
pub static PAGE: Page = Page {
    routes: &[
        page(
            "GET",
            "/users",
            Permission::ReadUsers,
            None,
            "Console: users and API tokens",
            || get(users_page),
        ),
        page(
            "POST",
            "/users",
            Permission::ManageUsers,
            Some("user.create"),
            "Console form: create a user",
            || post(create_user),
        ),
        page(
            "POST",
            "/users/{name}/role",
            Permission::ManageUsers,
            Some("user.role"),
            "Console form: change a user's role",
            || post(set_role),
        ),
        page(
            "POST",
            "/users/{name}/password",
            Permission::ManageUsers,
            Some("user.password"),
            "Console form: set a user's password",
            || post(set_password),
        ),
        page(
            "POST",
            "/users/{name}/delete",
            Permission::ManageUsers,
            Some("user.delete"),
            "Console form: delete a user",
            || post(delete_user),
        ),
        page(
            "POST",
            "/tokens",
            Permission::ManageUsers,
            Some("token.create"),
            "Console form: create an API token (the secret is shown once)",
            || post(create_token),
        ),
        page(
            "POST",
            "/tokens/{id}/revoke",
            Permission::ManageUsers,
            Some("token.revoke"),
            "Console form: revoke an API token",
            || post(revoke_token),
        ),
    ],
    nav: Some(("nav.users", "/users", Permission::ReadUsers)),
};

/// A user row.
pub struct UserItem {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Created (RFC 3339).
    pub created: String,
    /// Last change (RFC 3339).
    pub updated: String,
}

/// A token row.
pub struct TokenItem {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// Creator.
    pub created_by: String,
    /// Created.
    pub created: String,
    /// Expiry, empty for never.
    pub expires: String,
    /// Last use, empty for never.
    pub last_used: String,
    /// `active`, `expired` or `revoked`.
    pub state: &'static str,
}

/// The page.
#[derive(Template)]
#[template(path = "users.html")]
pub struct UsersPage {
    /// Context.
    pub c: Ctx,
    /// Users.
    pub users: Vec<UserItem>,
    /// Tokens.
    pub tokens: Vec<TokenItem>,
    /// Role names.
    pub roles: Vec<&'static str>,
    /// May the viewer change things?
    pub manage: bool,
    /// A token secret just created (shown once).
    pub new_secret: Option<String>,
}

async fn page_with(s: &AppState, c: Ctx, new_secret: Option<String>) -> Response {
    let internal = |e: chainops_store::StoreError| ApiError::internal(e.kind(), e);
    let users = match s.auth.store().list_users().await.map_err(internal) {
        Ok(u) => u,
        Err(e) => return super::error_page(c, e),
    };
    let tokens = match s.auth.store().list_tokens().await.map_err(internal) {
        Ok(t) => t,
        Err(e) => return super::error_page(c, e),
    };
    let now = now_ms();
    let manage = c.may(&Permission::ManageUsers);
    render(
        if new_secret.is_some() {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        },
        UsersPage {
            users: users
                .into_iter()
                .map(|u| UserItem {
                    name: u.name,
                    role: u.role,
                    created: rfc3339(u.created_ms),
                    updated: rfc3339(u.updated_ms),
                })
                .collect(),
            tokens: tokens
                .into_iter()
                .map(|t| TokenItem {
                    state: if t.revoked_ms.is_some() {
                        "revoked"
                    } else if t.expires_ms.is_some_and(|e| e <= now) {
                        "expired"
                    } else {
                        "active"
                    },
                    id: t.id,
                    name: t.name,
                    role: t.role,
                    created_by: t.created_by,
                    created: rfc3339(t.created_ms),
                    expires: t.expires_ms.map(rfc3339).unwrap_or_default(),
                    last_used: t.last_used_ms.map(rfc3339).unwrap_or_default(),
                })
                .collect(),
            roles: Role::ALL.iter().map(|r| r.as_str()).collect(),
            manage,
            new_secret,
            c,
        },
    )
}

async fn users_page(State(s): State<AppState>, c: Ctx) -> Response {
    page_with(&s, c, None).await
}

fn role(text: &str) -> Result<Role, ApiError> {
    parse_role(text).map_err(auth_err)
}

/// New user form.
#[derive(Deserialize)]
pub struct NewUser {
    name: String,
    role: String,
    password: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn create_user(State(s): State<AppState>, c: Ctx, Form(f): Form<NewUser>) -> Response {
    let done = match role(&f.role) {
        Ok(r) => s
            .auth
            .add_user(f.name.trim(), r, &f.password, now_ms())
            .await
            .map(|_| ())
            .map_err(auth_err),
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => see_other("/users"),
        Err(e) => super::error_page(c, e),
    }
}

/// Role form.
#[derive(Deserialize)]
pub struct RoleForm {
    role: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn set_role(
    State(s): State<AppState>,
    c: Ctx,
    Path(name): Path<String>,
    Form(f): Form<RoleForm>,
) -> Response {
    let done = match role(&f.role) {
        Ok(r) => s.auth.set_role(&name, r, now_ms()).await.map_err(auth_err),
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => see_other("/users"),
        Err(e) => super::error_page(c, e),
    }
}

/// Password form.
#[derive(Deserialize)]
pub struct PasswordForm {
    password: String,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn set_password(
    State(s): State<AppState>,
    c: Ctx,
    Path(name): Path<String>,
    Form(f): Form<PasswordForm>,
) -> Response {
    match s
        .auth
        .set_password(&name, &f.password, now_ms())
        .await
        .map_err(auth_err)
    {
        Ok(()) => see_other("/users"),
        Err(e) => super::error_page(c, e),
    }
}

async fn delete_user(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    c: Ctx,
    Path(name): Path<String>,
    Form(_f): Form<super::CsrfOnly>,
) -> Response {
    if p.name == name && matches!(p.via, Via::Session) {
        return super::error_page(
            c,
            ApiError::invalid("you cannot delete your own account while logged in with it"),
        );
    }
    match s.auth.remove_user(&name).await.map_err(auth_err) {
        Ok(()) => see_other("/users"),
        Err(e) => super::error_page(c, e),
    }
}

/// New token form.
#[derive(Deserialize)]
pub struct NewToken {
    name: String,
    role: String,
    expires: Option<String>,
    #[serde(rename = "_csrf")]
    _csrf: Option<String>,
}

async fn create_token(
    State(s): State<AppState>,
    Extension(p): Extension<Principal>,
    c: Ctx,
    Form(f): Form<NewToken>,
) -> Response {
    let made = async {
        let r = role(&f.role)?;
        let expires = token_lifetime(f.expires.as_deref().filter(|e| !e.trim().is_empty()))
            .map_err(auth_err)?;
        s.auth
            .create_token(f.name.trim(), r, expires, &p.actor(), now_ms())
            .await
            .map_err(auth_err)
    }
    .await;
    match made {
        Ok((_, secret)) => page_with(&s, c, Some(secret)).await,
        Err(e) => super::error_page(c, e),
    }
}

async fn revoke_token(
    State(s): State<AppState>,
    c: Ctx,
    Path(id): Path<String>,
    Form(_f): Form<super::CsrfOnly>,
) -> Response {
    match s.auth.revoke_token(&id, now_ms()).await.map_err(auth_err) {
        Ok(()) => see_other("/users"),
        Err(e) => super::error_page(c, e),
    }
}
