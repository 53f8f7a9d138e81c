//! Memory of which optional probes a node does not support, so an unsupported method is
//! reported as "unsupported" instead of failing every poll. Re-probed now and then so an
//! upgraded client is noticed.

use std::sync::atomic::{AtomicU64, Ordering};

/// Polls between re-probes of a method found unsupported.
const REPROBE_EVERY: u64 = 300;

/// Tracks unsupported probes by index into a fixed list of probe names.
#[derive(Debug)]
pub struct ProbeSupport {
    names: &'static [&'static str],
    /// Poll number at which each probe was found unsupported; 0 = supported.
    unsupported_at: Vec<AtomicU64>,
}

impl ProbeSupport {
    /// All probes start out presumed supported.
    pub fn new(names: &'static [&'static str]) -> Self {
        Self {
            names,
            unsupported_at: names.iter().map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Whether to send probe `i` on poll number `poll` (1-based).
    pub fn should_try(&self, i: usize, poll: u64) -> bool {
        match self.unsupported_at[i].load(Ordering::Relaxed) {
            0 => true,
            at => poll.saturating_sub(at) % REPROBE_EVERY == 0,
        }
    }

    /// Records the node's answer to probe `i` on poll `poll`.
    pub fn record(&self, i: usize, poll: u64, supported: bool) {
        let v = if supported {
            0
        } else {
            self.unsupported_at[i]
                .load(Ordering::Relaxed)
                .max(poll)
                .max(1)
        };
        self.unsupported_at[i].store(if supported { 0 } else { v }, Ordering::Relaxed);
    }

    /// Names of probes currently considered unsupported.
    pub fn unsupported(&self) -> Vec<String> {
        self.names
            .iter()
            .zip(&self.unsupported_at)
            .filter(|(_, a)| a.load(Ordering::Relaxed) != 0)
            .map(|(n, _)| (*n).to_string())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsupported_probes_are_skipped_then_retried() {
        let p = ProbeSupport::new(&["peers", "txpool"]);
        assert!(p.should_try(0, 1));
        p.record(0, 1, false);
        assert_eq!(p.unsupported(), vec!["peers"]);
        assert!(!p.should_try(0, 2));
        assert!(p.should_try(0, 1 + REPROBE_EVERY));
        assert!(p.should_try(1, 2));
        p.record(0, 301, true);
        assert!(p.unsupported().is_empty());
    }
}
