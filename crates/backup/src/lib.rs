//! chainops-backup: deduplicated, compressed, encrypted backups of node data.
//!
//! A repository (format in `docs/backup-format.md`) holds encrypted objects on a
//! [`backend::Backend`]: packs of chunk blobs, indexes, snapshots and key files. Files are cut
//! by FastCDC, named by a keyed BLAKE3 hash (ids reveal nothing about content), compressed with
//! zstd when a quick trial says it pays, and sealed with XChaCha20-Poly1305 under a random
//! master key that password-derived keys (Argon2id) wrap.
//!
//! - [`crypto`]: master key, key files, sealing.
//! - [`backend`]: where objects live ([`open_backend`]: a local directory or [`s3`]).
//! - [`repo`]: init/open, keys, config, index and snapshots.
//! - [`pack`]: pack files and their headers.
//! - [`archive`]: `create` — walk, chunk, dedupe, store, incremental against a parent.
//! - [`restore`], [`check`]: read back and verify.
//! - [`config`]: `[[backups]]` jobs; [`node`]: node-aware capture (head, state dump, hooks)
//!   and restore drills through the node's chain family; [`daemon`]: the scheduler that runs
//!   jobs and drills, records runs in the store and serves their metrics and alert facts.

pub mod archive;
pub mod backend;
pub mod check;
pub mod chunk;
pub mod config;
pub mod crypto;
pub mod daemon;
pub mod diff;
pub mod forget;
pub mod lock;
pub mod node;
pub mod pack;
pub mod prune;
pub mod repo;
pub mod restore;
pub mod s3;
pub mod tree;

use std::path::PathBuf;

/// Errors of backup operations.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// No key file opens with this password.
    #[error("wrong password: no key in the repository opens with it")]
    WrongPassword,
    /// The location holds no repository.
    #[error("{0}: not a chainops repository (create one with `chainops backup init --repo {0}`)")]
    NotARepository(String),
    /// `init` on an existing repository.
    #[error("{0}: a repository already exists here")]
    AlreadyExists(String),
    /// An object failed authentication or its id does not match its content.
    #[error("{object}: {detail}")]
    Corrupt {
        /// Object name.
        object: String,
        /// What is wrong.
        detail: String,
    },
    /// Missing object (snapshot, blob, pack).
    #[error("{0}: not found")]
    NotFound(String),
    /// File system error with the path.
    #[error("{path}: {source}")]
    Io {
        /// Path.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// Bad argument.
    #[error("{0}")]
    Input(String),
    /// The disk holding `path` is full. Nothing stored before is touched: objects appear
    /// whole or not at all, and the interrupted run wrote no snapshot.
    #[error(
        "{0}: no space left on the device; free space (or `forget --prune` old snapshots) and run again — earlier snapshots are intact"
    )]
    DiskFull(PathBuf),
    /// An object-storage request failed (after the client's retries).
    #[error("{location}: {detail}")]
    Remote {
        /// Object URL.
        location: String,
        /// What the server or transport said.
        detail: String,
    },
    /// Another process holds a conflicting lock.
    #[error("repository is locked: {0}")]
    Locked(String),
    /// A node, hook or drill step (or the run records) failed, with the kind of failure.
    #[error("{1}")]
    Node(chainops_core::error::ErrorKind, String),
}

impl BackupError {
    /// File system error at `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::StorageFull {
            return Self::DiskFull(path.into());
        }
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Corruption of `object`.
    pub fn corrupt(object: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Corrupt {
            object: object.into(),
            detail: detail.into(),
        }
    }

    /// The coarse kind (exit codes): wrong password 5, not found 3, corrupt 1 …
    pub fn kind(&self) -> chainops_core::error::ErrorKind {
        use chainops_core::error::ErrorKind;
        match self {
            Self::WrongPassword => ErrorKind::Unauthorized,
            Self::NotARepository(_) | Self::NotFound(_) => ErrorKind::NotFound,
            Self::AlreadyExists(_) | Self::Locked(_) => ErrorKind::Conflict,
            Self::Input(_) => ErrorKind::InvalidInput,
            Self::Io { .. } | Self::DiskFull(_) | Self::Remote { .. } => ErrorKind::Unavailable,
            Self::Corrupt { .. } => ErrorKind::Internal,
            Self::Node(kind, _) => *kind,
        }
    }
}

/// Result with [`BackupError`].
pub type Result<T> = std::result::Result<T, BackupError>;

/// The backend for a repository location: `s3://bucket/prefix` or a local directory path.
pub fn open_backend(
    location: &str,
    s3: &s3::S3Options,
) -> Result<std::sync::Arc<dyn backend::Backend>> {
    if location.starts_with("s3://") {
        return Ok(std::sync::Arc::new(s3::S3::new(location, s3)?));
    }
    if location.contains("://") {
        return Err(BackupError::Input(format!(
            "{location}: unsupported repository location; use a directory path or s3://bucket/prefix"
        )));
    }
    Ok(std::sync::Arc::new(backend::LocalDir::new(location)))
}
