//! Maps errors at the binary's edge to stable exit codes (see `ErrorKind::exit_code`).

use chainops_core::ErrorKind;
use chainops_core::section::ConfigErrors;
use chainops_store::StoreError;

/// Exit code for an error: 2 invalid input/config, 3 not found, 6 unavailable, 1 otherwise.
pub fn code_for(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if cause.is::<ConfigErrors>() {
            return ErrorKind::InvalidInput.exit_code();
        }
        if let Some(s) = cause.downcast_ref::<StoreError>() {
            return s.kind().exit_code();
        }
        if let Some(k) = cause.downcast_ref::<KindError>() {
            return k.0.exit_code();
        }
    }
    ErrorKind::Internal.exit_code()
}

/// An error tagged with its kind, for edge cases that have no typed error.
#[derive(Debug)]
pub struct KindError(pub ErrorKind, pub String);

impl std::error::Error for KindError {}

impl std::fmt::Display for KindError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.1)
    }
}

/// A backup library error with its exit-code kind.
pub(crate) fn backup_err(e: chainops_backup::BackupError) -> anyhow::Error {
    KindError(e.kind(), e.to_string()).into()
}
