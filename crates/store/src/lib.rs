//! chainops-store: everything chainops persists, on SQLite (embedded default) or PostgreSQL.
//!
//! One code path serves both backends through sqlx's `Any` driver: `$N` placeholders,
//! epoch-millisecond `BIGINT` times, `TEXT` ids, portable `ON CONFLICT` upserts. Migrations
//! are plain SQL in [`migrations`] and run on [`Store::open`].

pub mod alerts;
pub mod audit;
pub mod audit_reports;
pub mod backup_runs;
pub mod bench_runs;
pub mod cluster;
pub mod config;
mod error;
pub mod events;
pub mod incidents;
pub mod kb;
pub mod logs;
pub mod migrations;
pub mod node_state;
pub mod series;
pub mod silences;
pub mod status_page;
pub mod surveys;
pub mod tickets;
pub mod users;

pub use error::StoreError;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};
use std::path::Path;
use std::time::Duration;

/// Which database engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file (WAL mode).
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

impl Backend {
    /// Display name.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A `LIKE … ESCAPE '\'` pattern matching `s` anywhere, its own `%`, `_` and `\` taken
/// literally (log search and ticket search).
pub(crate) fn like_pattern(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Result type of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What [`Store::probe`] found.
#[derive(Debug, Clone, Copy)]
pub struct StoreProbe {
    /// SQLite or PostgreSQL.
    pub backend: Backend,
    /// The schema version the database is at (`None`: no chainops schema yet).
    pub version: Option<i64>,
    /// The newest schema version this binary knows.
    pub newest_known: i64,
    /// The database server's clock, epoch ms (PostgreSQL only).
    pub clock_ms: Option<i64>,
}

/// A handle to the database: cheap to clone, safe to share.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// `rows` parenthesised groups of `cols` numbered placeholders for a multi-row `VALUES`,
/// each followed by `tail` when it is not empty: `values_rows(2, 2, "0")` is
/// `($1, $2, 0), ($3, $4, 0)`.
pub(crate) fn values_rows(rows: usize, cols: usize, tail: &str) -> String {
    (0..rows)
        .map(|r| {
            let mut marks: Vec<String> = (1..=cols).map(|c| format!("${}", r * cols + c)).collect();
            if !tail.is_empty() {
                marks.push(tail.to_string());
            }
            format!("({})", marks.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Store {
    /// Opens (creating if needed) the database at `url` and applies pending migrations.
    ///
    /// `sqlite://PATH` creates the file and its directory; `postgres://…` must point at an
    /// existing database.
    pub async fn open(url: &str) -> Result<Store> {
        Self::open_with(url, true).await
    }

    /// Opens a store the daemon has already created, for the jobs beside it (`token`,
    /// `user`, `logs`, `backup run`, …): never creates a database file or an empty schema,
    /// so a job pointed at the wrong config says so instead of minting state nobody reads.
    /// Newer migrations are still applied to a store that exists.
    pub async fn open_existing(url: &str) -> Result<Store> {
        Self::open_with(url, false).await
    }

    /// Looks at the store at `url` without changing anything (no file created, no
    /// migration applied): for `chainops doctor`. `Ok(None)` when there is no SQLite file yet.
    pub async fn probe(url: &str) -> Result<Option<StoreProbe>> {
        install_default_drivers();
        if let Some(file) = sqlite_file(url)
            && !Path::new(file).is_file()
        {
            return Ok(None);
        }
        let (backend, url) = normalize_url(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&url)
            .await
            .map_err(|e| StoreError::connect(&url, e))?;
        let store = Store { pool, backend };
        let version = if migrations::exists(&store).await {
            Some(migrations::version(&store).await?)
        } else {
            None
        };
        // The server's clock (PostgreSQL): members of a cluster and the store must agree.
        let clock_ms = match backend {
            Backend::Postgres => sqlx::query_scalar::<_, i64>(
                "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)",
            )
            .fetch_one(&store.pool)
            .await
            .ok(),
            Backend::Sqlite => None,
        };
        store.close().await;
        Ok(Some(StoreProbe {
            backend,
            version,
            newest_known: migrations::MIGRATIONS
                .iter()
                .map(|m| m.version)
                .max()
                .unwrap_or(0),
            clock_ms,
        }))
    }

    async fn open_with(url: &str, create: bool) -> Result<Store> {
        install_default_drivers();
        let missing = || StoreError::Missing {
            url: chainops_core::secret::redact_url(url),
        };
        if !create
            && let Some(file) = sqlite_file(url)
            && !Path::new(file).is_file()
        {
            return Err(missing());
        }
        let (backend, url) = normalize_url(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA cache_size = -32000").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(|e| StoreError::connect(&url, e))?;
        let store = Store { pool, backend };
        if !create && !migrations::exists(&store).await {
            store.close().await;
            return Err(missing());
        }
        migrations::apply(&store).await?;
        logs::convert_legacy(&store).await?;
        Ok(store)
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool, for repositories in this crate.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction on the pool.
    pub(crate) async fn begin(&self) -> Result<sqlx::Transaction<'_, sqlx::Any>> {
        self.pool
            .begin()
            .await
            .map_err(|e| StoreError::query("begin a transaction", e))
    }

    /// Checks the database answers (used by `/readyz`).
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| StoreError::query("ping", e))
    }

    /// Closes all connections, waiting for in-flight queries.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Splits the backend off a URL and makes SQLite URLs create their file.
/// The database file of a `sqlite://` URL (`None` for other engines and `:memory:`).
fn sqlite_file(url: &str) -> Option<&str> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let file = path.split_once('?').map_or(path, |x| x.0);
    (file != ":memory:" && !file.is_empty()).then_some(file)
}

fn normalize_url(url: &str) -> Result<(Backend, String)> {
    if let Some(path) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    {
        let (file, query) = path.split_once('?').unwrap_or((path, ""));
        if file.is_empty() {
            return Err(StoreError::InvalidUrl(url.to_string()));
        }
        if file != ":memory:"
            && let Some(dir) = Path::new(file).parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
                context: format!("creating database directory {}", dir.display()),
                source: e,
            })?;
        }
        let query = if query.is_empty() { "mode=rwc" } else { query };
        Ok((Backend::Sqlite, format!("sqlite://{file}?{query}")))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Backend::Postgres, url.to_string()))
    } else {
        Err(StoreError::InvalidUrl(chainops_core::secret::redact_url(
            url,
        )))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_rows_number_placeholders_across_rows() {
        assert_eq!(super::values_rows(2, 2, "0"), "($1, $2, 0), ($3, $4, 0)");
        assert_eq!(super::values_rows(1, 3, ""), "($1, $2, $3)");
        assert_eq!(super::values_rows(0, 3, ""), "");
    }
}
