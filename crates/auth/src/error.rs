//! Errors of authentication and authorization. Messages never contain secrets.

use chainops_core::ErrorKind;
use chainops_store::StoreError;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No or unusable credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Authenticated but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed logins; retry after the given seconds.
    #[error("too many failed logins; try again in {0} s")]
    LockedOut(u64),
    /// Input rejected (weak password, bad name, unknown role).
    #[error("{0}")]
    Invalid(String),
    /// No such user or token.
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Key file or hashing failure.
    #[error("{0}")]
    Crypto(String),
}

impl AuthError {
    /// Coarse kind for API/CLI mapping.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::Unauthenticated(_) | AuthError::LockedOut(_) => ErrorKind::Unauthorized,
            AuthError::Forbidden(_) => ErrorKind::Forbidden,
            AuthError::Invalid(_) => ErrorKind::InvalidInput,
            AuthError::NotFound(_) => ErrorKind::NotFound,
            AuthError::Store(e) => e.kind(),
            AuthError::Crypto(_) => ErrorKind::Internal,
        }
    }
}
