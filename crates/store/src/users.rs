//! Users, API tokens and console sessions. Only hashes are stored: Argon2id for passwords,
//! a fast hash for high-entropy tokens and session ids (computed by `chainops-auth`).

use crate::series::decode_err;
use crate::{Result, Store, StoreError};
use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A user account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRow {
    /// Login name.
    pub name: String,
    /// Role name.
    pub role: String,
    /// Argon2id PHC string (never serialized).
    #[serde(skip)]
    pub password_hash: String,
    /// Created at.
    pub created_ms: i64,
    /// Last change.
    pub updated_ms: i64,
}

/// An API token (the secret itself is never stored).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRow {
    /// Public id (shown in lists, used to revoke).
    pub id: String,
    /// Human label.
    pub name: String,
    /// Role granted.
    pub role: String,
    /// Hash of the secret (never serialized).
    #[serde(skip)]
    pub hash: String,
    /// Who created it.
    pub created_by: String,
    /// Created at.
    pub created_ms: i64,
    /// Expiry, if any.
    pub expires_ms: Option<i64>,
    /// Revoked at.
    pub revoked_ms: Option<i64>,
    /// Last successful use.
    pub last_used_ms: Option<i64>,
}

/// A console session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    /// Hash of the session id.
    pub id_hash: String,
    /// User.
    pub user_name: String,
    /// CSRF token the console must echo on writes.
    pub csrf: String,
    /// Created at.
    pub created_ms: i64,
    /// Hard expiry.
    pub expires_ms: i64,
    /// Last request.
    pub last_seen_ms: i64,
}

fn user(r: &AnyRow) -> Result<UserRow> {
    Ok(UserRow {
        name: r.try_get(0).map_err(decode_err)?,
        role: r.try_get(1).map_err(decode_err)?,
        password_hash: r.try_get(2).map_err(decode_err)?,
        created_ms: r.try_get(3).map_err(decode_err)?,
        updated_ms: r.try_get(4).map_err(decode_err)?,
    })
}

fn token(r: &AnyRow) -> Result<TokenRow> {
    Ok(TokenRow {
        id: r.try_get(0).map_err(decode_err)?,
        name: r.try_get(1).map_err(decode_err)?,
        role: r.try_get(2).map_err(decode_err)?,
        hash: r.try_get(3).map_err(decode_err)?,
        created_by: r.try_get(4).map_err(decode_err)?,
        created_ms: r.try_get(5).map_err(decode_err)?,
        expires_ms: r.try_get(6).map_err(decode_err)?,
        revoked_ms: r.try_get(7).map_err(decode_err)?,
        last_used_ms: r.try_get(8).map_err(decode_err)?,
    })
}

const USER_COLUMNS: &str = "name, role, password_hash, created_ms, updated_ms";
const TOKEN_COLUMNS: &str =
    "id, name, role, hash, created_by, created_ms, expires_ms, revoked_ms, last_used_ms";

impl Store {
    /// Creates a user; a taken name is a [`StoreError::Conflict`].
    pub async fn create_user(&self, u: &UserRow) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_ms, updated_ms)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING",
        )
        .bind(u.name.as_str())
        .bind(u.role.as_str())
        .bind(u.password_hash.as_str())
        .bind(u.created_ms)
        .bind(u.updated_ms)
        .execute(self.pool())
        .await
        .map_err(|e| StoreError::query("create user", e))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict(format!(
                "user \"{}\" already exists",
                u.name
            )));
        }
        Ok(())
    }

    /// One user by name.
    pub async fn user(&self, name: &str) -> Result<Option<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE name = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| StoreError::query("read user", e))?
            .as_ref()
            .map(user)
            .transpose()
    }

    /// Every user, by name.
    pub async fn list_users(&self) -> Result<Vec<UserRow>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY name");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("list users", e))?
            .iter()
            .map(user)
            .collect()
    }

    /// Number of users (zero means first-start setup is open).
    pub async fn count_users(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await
            .map_err(|e| StoreError::query("count users", e))
    }

    /// Sets a user's password hash and/or role; `false` if there is no such user.
    pub async fn update_user(
        &self,
        name: &str,
        role: Option<&str>,
        password_hash: Option<&str>,
        now_ms: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET role = COALESCE($1, role), password_hash = COALESCE($2, password_hash),
             updated_ms = $3 WHERE name = $4",
        )
        .bind(role)
        .bind(password_hash)
        .bind(now_ms)
        .bind(name)
        .execute(self.pool())
        .await
        .map_err(|e| StoreError::query("update user", e))?;
        Ok(done.rows_affected() > 0)
    }

    /// Deletes a user and their sessions; `false` if there is no such user.
    pub async fn delete_user(&self, name: &str) -> Result<bool> {
        let mut tx = self
            .pool()
            .begin()
            .await
            .map_err(|e| StoreError::query("begin delete user", e))?;
        sqlx::query("DELETE FROM sessions WHERE user_name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("delete sessions", e))?;
        let done = sqlx::query("DELETE FROM users WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(|e| StoreError::query("delete user", e))?;
        tx.commit()
            .await
            .map_err(|e| StoreError::query("commit delete user", e))?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores a new token.
    pub async fn create_token(&self, t: &TokenRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO api_tokens (id, name, role, hash, created_by, created_ms, expires_ms, revoked_ms, last_used_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(t.id.as_str())
        .bind(t.name.as_str())
        .bind(t.role.as_str())
        .bind(t.hash.as_str())
        .bind(t.created_by.as_str())
        .bind(t.created_ms)
        .bind(t.expires_ms)
        .bind(t.revoked_ms)
        .bind(t.last_used_ms)
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("create token", e))
    }

    /// The token with this hash, if any (revoked and expired ones included).
    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE hash = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| StoreError::query("read token", e))?
            .as_ref()
            .map(token)
            .transpose()
    }

    /// Every token, newest first.
    pub async fn list_tokens(&self) -> Result<Vec<TokenRow>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_ms DESC, id");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.pool())
            .await
            .map_err(|e| StoreError::query("list tokens", e))?
            .iter()
            .map(token)
            .collect()
    }

    /// Revokes a token; `false` if there is no such unrevoked token.
    pub async fn revoke_token(&self, id: &str, now_ms: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_ms = $1 WHERE id = $2 AND revoked_ms IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| StoreError::query("revoke token", e))?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a token's use.
    pub async fn touch_token(&self, id: &str, now_ms: i64) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_ms = $1 WHERE id = $2")
            .bind(now_ms)
            .bind(id)
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(|e| StoreError::query("touch token", e))
    }

    /// Stores a session.
    pub async fn create_session(&self, s: &SessionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_name, csrf, created_ms, expires_ms, last_seen_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(s.id_hash.as_str())
        .bind(s.user_name.as_str())
        .bind(s.csrf.as_str())
        .bind(s.created_ms)
        .bind(s.expires_ms)
        .bind(s.last_seen_ms)
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("create session", e))
    }

    /// Records that `key` (`user:<name>`, `ip:<addr>`) may not log in before `until_ms`;
    /// expired locks are dropped on the way.
    pub async fn lock_login(&self, key: &str, until_ms: i64, now_ms: i64) -> Result<()> {
        sqlx::query("DELETE FROM login_locks WHERE until_ms <= $1")
            .bind(now_ms)
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::query("expire login locks", e))?;
        sqlx::query(
            "INSERT INTO login_locks (lock_key, until_ms) VALUES ($1, $2)
             ON CONFLICT (lock_key) DO UPDATE SET until_ms = excluded.until_ms",
        )
        .bind(key)
        .bind(until_ms)
        .execute(self.pool())
        .await
        .map(|_| ())
        .map_err(|e| StoreError::query("lock login", e))
    }

    /// The latest end of a lock in force on any of `keys`.
    pub async fn login_locked_until(&self, keys: &[&str], now_ms: i64) -> Result<Option<i64>> {
        let mut latest = None;
        for key in keys {
            let until: Option<i64> = sqlx::query_scalar(
                "SELECT until_ms FROM login_locks WHERE lock_key = $1 AND until_ms > $2",
            )
            .bind(*key)
            .bind(now_ms)
            .fetch_optional(self.pool())
            .await
            .map_err(|e| StoreError::query("read login locks", e))?;
            latest = latest.max(until);
        }
        Ok(latest)
    }

    /// A live session by id hash.
    pub async fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<SessionRow>> {
        let row = sqlx::query(
            "SELECT id_hash, user_name, csrf, created_ms, expires_ms, last_seen_ms FROM sessions
             WHERE id_hash = $1 AND expires_ms > $2",
        )
        .bind(id_hash)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await
        .map_err(|e| StoreError::query("read session", e))?;
        row.map(|r| {
            Ok(SessionRow {
                id_hash: r.try_get(0).map_err(decode_err)?,
                user_name: r.try_get(1).map_err(decode_err)?,
                csrf: r.try_get(2).map_err(decode_err)?,
                created_ms: r.try_get(3).map_err(decode_err)?,
                expires_ms: r.try_get(4).map_err(decode_err)?,
                last_seen_ms: r.try_get(5).map_err(decode_err)?,
            })
        })
        .transpose()
    }

    /// Ends a session (logout) and drops expired ones.
    pub async fn delete_session(&self, id_hash: &str, now_ms: i64) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1 OR expires_ms <= $2")
            .bind(id_hash)
            .bind(now_ms)
            .execute(self.pool())
            .await
            .map(|_| ())
            .map_err(|e| StoreError::query("delete session", e))
    }
}
