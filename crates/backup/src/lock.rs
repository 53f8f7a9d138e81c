//! Repository locks: shared for `create`, `restore`, `check`; exclusive for `prune`.
//!
//! A lock is a sealed object `locks/<random>` naming host, pid and time. A lock is *stale* when
//! its process is gone (same host) or it is older than [`STALE_AFTER`] (other hosts); stale
//! locks never block and `unlock` removes them.

use crate::backend::Backend;
use crate::crypto::{Kind, id_hex};
use crate::repo::{Repository, this_host};
use crate::{BackupError, Result};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A lock from another host is stale after this long.
pub const STALE_AFTER_MS: i64 = 6 * 3600 * 1000;

/// What a lock file holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LockInfo {
    /// Host.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Taken at (epoch ms).
    pub time_ms: i64,
    /// Exclusive (prune) or shared.
    pub exclusive: bool,
}

impl LockInfo {
    /// True when the holder is gone.
    pub fn stale(&self, now_ms: i64) -> bool {
        if self.host == this_host() {
            !std::path::Path::new(&format!("/proc/{}", self.pid)).exists()
        } else {
            now_ms - self.time_ms > STALE_AFTER_MS
        }
    }
}

/// A held lock; released when dropped.
pub struct Lock {
    backend: Arc<dyn Backend>,
    name: String,
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.backend.delete(&self.name);
    }
}

/// Every lock with its name.
pub fn locks(repo: &Repository) -> Result<Vec<(String, LockInfo)>> {
    let mut out = Vec::new();
    for name in repo.backend().list("locks/")? {
        let Ok(sealed) = repo.backend().read(&name) else {
            continue;
        };
        match repo
            .key()
            .open(Kind::Lock, &sealed, &name)
            .ok()
            .and_then(|p| serde_json::from_slice(&p).ok())
        {
            Some(info) => out.push((name, info)),
            None => tracing::warn!(lock = %name, "unreadable lock file ignored"),
        }
    }
    Ok(out)
}

fn conflict(mine_exclusive: bool, other: &LockInfo) -> bool {
    mine_exclusive || other.exclusive
}

/// Takes a lock or fails naming the holder.
pub fn acquire(repo: &Repository, exclusive: bool) -> Result<Lock> {
    let now = chainops_core::time::now_ms();
    let check = |skip: Option<&str>| -> Result<()> {
        for (name, info) in locks(repo)? {
            if Some(name.as_str()) == skip || info.stale(now) {
                continue;
            }
            if conflict(exclusive, &info) {
                return Err(BackupError::Locked(format!(
                    "{} lock held by pid {} on {} since {}; wait for it, or run `chainops backup unlock` if that process is gone",
                    if info.exclusive {
                        "an exclusive"
                    } else {
                        "a shared"
                    },
                    info.pid,
                    info.host,
                    chainops_core::time::rfc3339(info.time_ms)
                )));
            }
        }
        Ok(())
    };
    check(None)?;
    let info = LockInfo {
        host: this_host(),
        pid: std::process::id(),
        time_ms: now,
        exclusive,
    };
    let name = format!("locks/{}", id_hex(&rand::random()));
    let plain = serde_json::to_vec(&info).map_err(|e| BackupError::Input(e.to_string()))?;
    repo.backend()
        .write(&name, &repo.key().seal(Kind::Lock, &plain))?;
    let lock = Lock {
        backend: repo.backend().clone(),
        name,
    };
    // Someone may have locked between our look and our write: look again.
    check(Some(&lock.name))?;
    Ok(lock)
}

/// Removes stale locks (all locks with `all`); returns how many.
pub fn unlock(repo: &Repository, all: bool) -> Result<usize> {
    let now = chainops_core::time::now_ms();
    let mut n = 0;
    for (name, info) in locks(repo)? {
        if all || info.stale(now) {
            repo.backend().delete(&name)?;
            n += 1;
        }
    }
    Ok(n)
}
