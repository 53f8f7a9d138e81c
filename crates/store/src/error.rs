//! The store's error type.

use chainops_core::ErrorKind;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL is neither sqlite:// nor postgres://.
    #[error("unsupported store URL \"{0}\": use sqlite://PATH or postgres://USER@HOST/DB")]
    InvalidUrl(String),
    /// Could not connect.
    #[error("cannot open store at {url}: {source}")]
    Connect {
        /// Redacted URL.
        url: String,
        /// Driver error.
        source: sqlx::Error,
    },
    /// A query failed.
    #[error("store query \"{context}\" failed: {source}")]
    Query {
        /// What we were doing.
        context: &'static str,
        /// Driver error.
        source: sqlx::Error,
    },
    /// A migration failed; the database is left at the previous version.
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        /// Migration number.
        version: i64,
        /// Migration name.
        name: &'static str,
        /// Driver error.
        source: sqlx::Error,
    },
    /// The database was written by a newer chainops.
    #[error(
        "database schema version {found} is newer than this chainops supports ({supported}); upgrade chainops"
    )]
    SchemaTooNew {
        /// Version in the database.
        found: i64,
        /// Highest version this build knows.
        supported: i64,
    },
    /// A job that only uses an existing store found none there.
    #[error(
        "no chainops store at {url}: only `chainops serve` creates one; point --config (or CHAINOPS_CONFIG) at the config the daemon runs with"
    )]
    Missing {
        /// Redacted URL.
        url: String,
    },
    /// Stored data could not be decoded.
    #[error("corrupt stored data in {context}: {detail}")]
    Corrupt {
        /// Where.
        context: &'static str,
        /// What.
        detail: String,
    },
    /// The write conflicts with existing data (duplicate name, concurrent append).
    #[error("{0}")]
    Conflict(String),
    /// The history backend (a Prometheus-compatible TSDB) failed.
    #[error("history backend: {0}")]
    Remote(String),
    /// Filesystem error.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// OS error.
        source: std::io::Error,
    },
}

impl StoreError {
    pub(crate) fn connect(url: &str, source: sqlx::Error) -> Self {
        StoreError::Connect {
            url: chainops_core::secret::redact_url(url),
            source,
        }
    }

    pub(crate) fn query(context: &'static str, source: sqlx::Error) -> Self {
        StoreError::Query { context, source }
    }

    /// Coarse kind for API/CLI mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::InvalidUrl(_) => ErrorKind::InvalidInput,
            StoreError::Missing { .. } => ErrorKind::NotFound,
            StoreError::Conflict(_) => ErrorKind::Conflict,
            StoreError::Remote(_) => ErrorKind::Upstream,
            StoreError::Connect { .. } => ErrorKind::Unavailable,
            StoreError::Query {
                source: sqlx::Error::PoolTimedOut | sqlx::Error::Io(_),
                ..
            } => ErrorKind::Unavailable,
            _ => ErrorKind::Internal,
        }
    }
}
