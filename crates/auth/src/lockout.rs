//! Login rate limiting: after [`MAX_FAILURES`] failed logins for one user name (from any
//! address) or from one address (for any name) within [`WINDOW`], further attempts are
//! refused for [`LOCKOUT`] without checking the password. Counters live in memory; a lock,
//! once reached, is also written to the store (`Auth::login`), so a restart does not lift it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// Failures before a lockout.
pub const MAX_FAILURES: u32 = 5;
/// Window in which failures count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Lockout length.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Copy)]
struct Entry {
    failures: u32,
    first_ms: i64,
    locked_until_ms: i64,
}

/// Failure counters by key (`user:<name>`, `ip:<addr>`).
#[derive(Debug)]
pub struct Lockout {
    max: u32,
    window_ms: i64,
    lockout_ms: i64,
    entries: Mutex<HashMap<String, Entry>>,
}

impl Default for Lockout {
    fn default() -> Self {
        Self::new(MAX_FAILURES, WINDOW, LOCKOUT)
    }
}

impl Lockout {
    /// A limiter with custom limits (tests use short windows).
    pub fn new(max: u32, window: Duration, lockout: Duration) -> Self {
        Self {
            max,
            window_ms: window.as_millis() as i64,
            lockout_ms: lockout.as_millis() as i64,
            entries: Mutex::default(),
        }
    }

    /// Seconds until any of `keys` is unlocked, or `None` if none is locked.
    pub fn locked(&self, keys: &[&str], now_ms: i64) -> Option<u64> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        keys.iter()
            .filter_map(|k| entries.get(*k))
            .filter(|e| e.locked_until_ms > now_ms)
            .map(|e| ((e.locked_until_ms - now_ms + 999) / 1000) as u64)
            .max()
    }

    /// Counts a failure for each key; returns whether one is now locked.
    pub fn fail(&self, keys: &[&str], now_ms: i64) -> bool {
        !self.fail_locking(keys, now_ms).is_empty()
    }

    /// Counts a failure for each key; returns the keys this failure locked, with the end
    /// of their lock (epoch ms).
    pub fn fail_locking(&self, keys: &[&str], now_ms: i64) -> Vec<(String, i64)> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() > 100_000 {
            entries
                .retain(|_, e| now_ms - e.first_ms < self.window_ms || e.locked_until_ms > now_ms);
        }
        let mut locked = Vec::new();
        for k in keys {
            let e = entries.entry((*k).to_string()).or_insert(Entry {
                failures: 0,
                first_ms: now_ms,
                locked_until_ms: 0,
            });
            if now_ms - e.first_ms >= self.window_ms {
                *e = Entry {
                    failures: 0,
                    first_ms: now_ms,
                    locked_until_ms: 0,
                };
            }
            e.failures += 1;
            if e.failures >= self.max {
                e.locked_until_ms = now_ms + self.lockout_ms;
                e.failures = 0;
                e.first_ms = now_ms;
                locked.push(((*k).to_string(), e.locked_until_ms));
            }
        }
        locked
    }

    /// Clears the counters of `keys` (a successful login).
    pub fn succeed(&self, keys: &[&str]) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            entries.remove(*k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_and_unlocks_after_the_lockout() {
        let l = Lockout::new(3, Duration::from_secs(60), Duration::from_secs(30));
        let keys = ["user:alice", "ip:10.0.0.1"];
        assert!(!l.fail(&keys, 0));
        assert!(!l.fail(&keys, 1_000));
        assert!(l.fail(&keys, 2_000));
        assert_eq!(l.locked(&keys, 2_000), Some(30));
        assert_eq!(l.locked(&["user:bob"], 2_000), None);
        assert_eq!(l.locked(&keys, 32_001), None);
        // Failures outside the window do not add up.
        assert!(!l.fail(&["user:carol"], 0));
        assert!(!l.fail(&["user:carol"], 61_000));
        assert!(!l.fail(&["user:carol"], 62_000));
    }
}
