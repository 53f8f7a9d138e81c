//! Users, tokens and sessions over the store: the checks every request and every CLI job go
//! through. Failures are logged with the name and source, never with the secret.

use crate::AuthError;
use crate::lockout::Lockout;
use crate::password;
use crate::roles::Role;
use crate::secrets::{digest, new_token, random_hex};
use chainops_store::Store;
use chainops_store::users::{SessionRow, TokenRow, UserRow};
use serde::Serialize;
use std::time::Duration;

/// Console session lifetime.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// `last_used` of a token is written at most this often (not on every request).
const TOUCH_EVERY_MS: i64 = 60_000;

/// How a principal authenticated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Via {
    /// `Authorization: Bearer` API token.
    Token {
        /// Token id.
        id: String,
    },
    /// Console session cookie.
    Session,
    /// A local CLI job (trusted through file access to the store).
    Cli,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// User name, or the token's name for tokens.
    pub name: String,
    /// Role.
    pub role: Role,
    /// How.
    pub via: Via,
}

impl Principal {
    /// Actor string for the audit trail: `alice`, `token:3fa9c1…`, `cli:root`.
    pub fn actor(&self) -> String {
        match &self.via {
            Via::Token { id } => format!("token:{id}({})", self.name),
            Via::Session => self.name.clone(),
            Via::Cli => format!("cli:{}", self.name),
        }
    }
}

/// A new console session: the cookie value and the CSRF token the console echoes.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// Cookie value (secret).
    pub id: String,
    /// CSRF token.
    pub csrf: String,
    /// Who.
    pub principal: Principal,
    /// Expiry.
    pub expires_ms: i64,
}

/// Checks a user or token name: 1–64 of `a-z 0-9 . _ -`, starting with a letter.
pub fn check_name(what: &str, name: &str) -> Result<(), AuthError> {
    let ok = (1..=64).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::Invalid(format!(
            "{what} \"{name}\" is not valid; use 1–64 of a-z, 0-9, '.', '_', '-' starting with a letter"
        )))
    }
}

/// Parses a role name with a helpful error.
pub fn parse_role(s: &str) -> Result<Role, AuthError> {
    Role::parse(s).ok_or_else(|| {
        AuthError::Invalid(format!(
            "\"{s}\" is not a role; use admin, operator, auditor, support or viewer"
        ))
    })
}

/// Authentication over the store.
#[derive(Debug)]
pub struct Auth {
    store: Store,
    lockout: Lockout,
}

impl Auth {
    /// Auth with the default lockout policy.
    pub fn new(store: Store) -> Auth {
        Self::with_lockout(store, Lockout::default())
    }

    /// Auth with a custom lockout policy.
    pub fn with_lockout(store: Store, lockout: Lockout) -> Auth {
        Auth { store, lockout }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Creates a user after checking the name and the password policy.
    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &str,
        now_ms: i64,
    ) -> Result<UserRow, AuthError> {
        check_name("user name", name)?;
        password::check_policy(name, password)?;
        let hash = password::hash(password)?;
        let row = UserRow {
            name: name.into(),
            role: role.as_str().into(),
            password_hash: hash,
            created_ms: now_ms,
            updated_ms: now_ms,
        };
        self.store.create_user(&row).await?;
        Ok(row)
    }

    /// Changes a user's password (policy checked) and ends nothing else.
    pub async fn set_password(
        &self,
        name: &str,
        password: &str,
        now_ms: i64,
    ) -> Result<(), AuthError> {
        password::check_policy(name, password)?;
        let hash = password::hash(password)?;
        if self
            .store
            .update_user(name, None, Some(&hash), now_ms)
            .await?
        {
            Ok(())
        } else {
            Err(AuthError::NotFound(format!("no user named \"{name}\"")))
        }
    }

    /// Changes a user's role; their sessions follow at once. The last admin keeps the role
    /// (someone must be able to manage users).
    pub async fn set_role(&self, name: &str, role: Role, now_ms: i64) -> Result<(), AuthError> {
        let Some(user) = self.store.user(name).await? else {
            return Err(AuthError::NotFound(format!("no user named \"{name}\"")));
        };
        if user.role == Role::Admin.as_str() && role != Role::Admin {
            let admins = self
                .store
                .list_users()
                .await?
                .iter()
                .filter(|u| u.role == Role::Admin.as_str())
                .count();
            if admins <= 1 {
                return Err(AuthError::Invalid(format!(
                    "{name} is the last admin; make another user admin first"
                )));
            }
        }
        self.store
            .update_user(name, Some(role.as_str()), None, now_ms)
            .await?;
        Ok(())
    }

    /// Deletes a user and their sessions.
    pub async fn remove_user(&self, name: &str) -> Result<(), AuthError> {
        if self.store.delete_user(name).await? {
            Ok(())
        } else {
            Err(AuthError::NotFound(format!("no user named \"{name}\"")))
        }
    }

    /// Checks a password login from `source` and opens a session. Unknown user and wrong
    /// password give the same answer after the same work; repeated failures lock out.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        source: &str,
        now_ms: i64,
    ) -> Result<NewSession, AuthError> {
        // A name no account can have (oversized, control characters, …) is neither looked
        // up, nor logged, nor kept as a lockout key: it counts against the address only.
        let possible = check_name("user name", name).is_ok() && password.len() <= 4096;
        let name = if possible { name } else { "(invalid name)" };
        let user_key = format!("user:{name}");
        let ip_key = format!("ip:{}", source.rsplit_once(':').map_or(source, |x| x.0));
        let all_keys = [ip_key.as_str(), user_key.as_str()];
        let keys = &all_keys[..if possible { 2 } else { 1 }];
        let stored = self
            .store
            .login_locked_until(keys, now_ms)
            .await?
            .map(|until| ((until - now_ms + 999) / 1000) as u64);
        if let Some(secs) = self.lockout.locked(keys, now_ms).max(stored) {
            tracing::warn!(user = %name, %source, "login refused: locked out");
            return Err(AuthError::LockedOut(secs));
        }
        let user = if possible {
            self.store.user(name).await?
        } else {
            None
        };
        let hash = user
            .as_ref()
            .map_or(password::dummy_hash(), |u| u.password_hash.as_str());
        let ok = possible && password::verify(password, hash) && user.is_some();
        let (Some(user), true) = (user, ok) else {
            let locked = self.lockout.fail_locking(keys, now_ms);
            for (key, until) in &locked {
                self.store.lock_login(key, *until, now_ms).await?;
            }
            tracing::warn!(user = %name, %source, locked = !locked.is_empty(), "login failed");
            return Err(AuthError::Unauthenticated(
                "invalid user name or password".into(),
            ));
        };
        self.lockout.succeed(keys);
        let role = parse_role(&user.role)?;
        let id = random_hex(32);
        let csrf = random_hex(16);
        let expires_ms = now_ms + SESSION_TTL.as_millis() as i64;
        self.store
            .create_session(&SessionRow {
                id_hash: digest(&id),
                user_name: user.name.clone(),
                csrf: csrf.clone(),
                created_ms: now_ms,
                expires_ms,
                last_seen_ms: now_ms,
            })
            .await?;
        tracing::info!(user = %name, %source, "login");
        Ok(NewSession {
            id,
            csrf,
            principal: Principal {
                name: user.name,
                role,
                via: Via::Session,
            },
            expires_ms,
        })
    }

    /// The principal and CSRF token of a live session cookie.
    pub async fn session(&self, id: &str, now_ms: i64) -> Result<(Principal, String), AuthError> {
        let expired =
            || AuthError::Unauthenticated("session expired or unknown; log in again".into());
        let s = self
            .store
            .session(&digest(id), now_ms)
            .await?
            .ok_or_else(expired)?;
        // A deleted user's or demoted user's session follows the user row.
        let user = self.store.user(&s.user_name).await?.ok_or_else(expired)?;
        Ok((
            Principal {
                name: user.name,
                role: parse_role(&user.role)?,
                via: Via::Session,
            },
            s.csrf,
        ))
    }

    /// Ends a session.
    pub async fn logout(&self, id: &str, now_ms: i64) -> Result<(), AuthError> {
        Ok(self.store.delete_session(&digest(id), now_ms).await?)
    }

    /// Creates an API token; returns its row and the secret (shown once, never stored).
    pub async fn create_token(
        &self,
        name: &str,
        role: Role,
        expires_in: Option<Duration>,
        created_by: &str,
        now_ms: i64,
    ) -> Result<(TokenRow, String), AuthError> {
        check_name("token name", name)?;
        let (id, secret) = new_token();
        let row = TokenRow {
            id,
            name: name.into(),
            role: role.as_str().into(),
            hash: digest(&secret),
            created_by: created_by.into(),
            created_ms: now_ms,
            expires_ms: expires_in.map(|d| now_ms + d.as_millis() as i64),
            revoked_ms: None,
            last_used_ms: None,
        };
        self.store.create_token(&row).await?;
        Ok((row, secret))
    }

    /// The principal of a bearer token, if valid (not expired, not revoked).
    pub async fn token(&self, secret: &str, now_ms: i64) -> Result<Principal, AuthError> {
        let bad = |why: &str| AuthError::Unauthenticated(format!("API token {why}"));
        let t = self
            .store
            .token_by_hash(&digest(secret))
            .await?
            .ok_or_else(|| bad("is not valid"))?;
        if t.revoked_ms.is_some() {
            return Err(bad(&format!("{} was revoked", t.id)));
        }
        if t.expires_ms.is_some_and(|e| e <= now_ms) {
            return Err(bad(&format!("{} has expired; create a new one", t.id)));
        }
        if t.last_used_ms.is_none_or(|l| now_ms - l >= TOUCH_EVERY_MS)
            && let Err(e) = self.store.touch_token(&t.id, now_ms).await
        {
            tracing::warn!(token = %t.id, error = %e, "cannot record token use");
        }
        Ok(Principal {
            name: t.name,
            role: parse_role(&t.role)?,
            via: Via::Token { id: t.id },
        })
    }

    /// Revokes a token by id.
    pub async fn revoke_token(&self, id: &str, now_ms: i64) -> Result<(), AuthError> {
        if self.store.revoke_token(id, now_ms).await? {
            Ok(())
        } else {
            Err(AuthError::NotFound(format!(
                "no active token with id \"{id}\" (see `chainops token list`)"
            )))
        }
    }
}

/// Lifetime of a new API token when none is given.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 86_400);

/// Parses a token lifetime: absent → 90 days, `never` → no expiry, else a duration from
/// 1 minute to 10 years (`0s` would make a dead token; typos should not make an eternal one).
pub fn token_lifetime(text: Option<&str>) -> Result<Option<Duration>, AuthError> {
    let Some(t) = text else {
        return Ok(Some(DEFAULT_TOKEN_LIFETIME));
    };
    if t == "never" {
        return Ok(None);
    }
    let d = chainops_core::duration::parse_duration(t)
        .map_err(|m| AuthError::Invalid(format!("expires: {m}")))?;
    if d < Duration::from_secs(60) || d > Duration::from_secs(3650 * 86_400) {
        return Err(AuthError::Invalid(format!(
            "expires \"{t}\" must be between 1m and 3650d, or \"never\""
        )));
    }
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn auth(dir: &tempfile::TempDir, max: u32) -> Auth {
        let store = Store::open(&format!("sqlite://{}/a.db", dir.path().display()))
            .await
            .expect("store");
        Auth::with_lockout(
            store,
            Lockout::new(max, Duration::from_secs(60), Duration::from_secs(30)),
        )
    }

    const PW: &str = "Tr0ub4dor&3x!";

    #[tokio::test]
    async fn login_locks_out_after_failures_and_recovers_after_the_window() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = auth(&dir, 3).await;
        a.add_user("alice", Role::Operator, PW, 0)
            .await
            .expect("user");
        for t in 0..3 {
            let e = a
                .login("alice", "wrong-Password-1", "10.0.0.9:5000", t)
                .await;
            assert!(matches!(e, Err(AuthError::Unauthenticated(_))), "{e:?}");
        }
        let e = a.login("alice", PW, "10.0.0.7:6000", 10).await;
        assert!(
            matches!(e, Err(AuthError::LockedOut(30))),
            "right password, still locked: {e:?}"
        );
        let s = a
            .login("alice", PW, "10.0.0.7:6000", 31_000)
            .await
            .expect("unlocked");
        assert_eq!(s.principal.role, Role::Operator);
        let (p, csrf) = a.session(&s.id, 32_000).await.expect("session");
        assert_eq!((p.name.as_str(), csrf), ("alice", s.csrf.clone()));
        a.logout(&s.id, 33_000).await.expect("logout");
        assert!(a.session(&s.id, 34_000).await.is_err());
        let unknown = a.login("mallory", PW, "10.0.0.8:1", 40_000).await;
        assert_eq!(
            unknown.unwrap_err().to_string(),
            "invalid user name or password",
            "no user enumeration"
        );
    }

    #[tokio::test]
    async fn tokens_expire_and_revoke() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = auth(&dir, 5).await;
        let (row, secret) = a
            .create_token(
                "ci",
                Role::Viewer,
                Some(Duration::from_secs(10)),
                "cli:root",
                0,
            )
            .await
            .expect("token");
        assert_eq!(
            a.token(&secret, 1_000).await.expect("valid").role,
            Role::Viewer
        );
        let used = a.store().list_tokens().await.expect("list");
        assert_eq!(used[0].last_used_ms, Some(1_000));
        assert!(
            a.token(&secret, 10_000)
                .await
                .unwrap_err()
                .to_string()
                .contains("expired")
        );
        let (row2, secret2) = a
            .create_token("ops", Role::Operator, None, "cli:root", 0)
            .await
            .expect("token");
        a.revoke_token(&row2.id, 5).await.expect("revoke");
        assert!(
            a.token(&secret2, 6)
                .await
                .unwrap_err()
                .to_string()
                .contains("revoked")
        );
        assert!(a.token("chainops_nope", 6).await.is_err());
        assert!(matches!(a.revoke_token(&row.id, 7).await, Ok(())));
        assert!(matches!(
            a.revoke_token(&row.id, 8).await,
            Err(AuthError::NotFound(_))
        ));
    }
}
