//! The alert state machine, pure: given the previous state, whether the condition holds now,
//! and the rule's timings, decide the next state and whether to notify.
//!
//! ```text
//! inactive ──cond──▶ pending ──held `for`──▶ firing ──cond false for `keep_firing_for`──▶ resolved
//!     ▲                 │ cond false                                                      │
//!     └─────────────────┘◀──────────────────────────────── cond again ─────────────────────┘
//! ```
//! With `for = 0` an alert fires at once.

use std::time::Duration;

/// Where an alert is (the stored type: one enum from the state machine to the database).
pub use chainops_store::alerts::AlertState as State;

/// Timing facts about one alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// When the condition started holding (pending since).
    pub active_since_ms: i64,
    /// Last evaluation at which the condition held.
    pub last_true_ms: i64,
}

/// What one evaluation decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Nothing to write.
    Stay,
    /// Condition began holding; wait out `for`.
    StartPending,
    /// Pending condition cleared before `for`: back to inactive, nobody told.
    CancelPending,
    /// Fire and notify.
    Fire,
    /// Resolve and notify.
    Resolve,
}

/// Decides the next step. `holds` is whether the (uninhibited) condition holds now.
pub fn step(
    state: State,
    clock: Option<Clock>,
    holds: bool,
    now_ms: i64,
    for_: Duration,
    keep_firing_for: Duration,
) -> Step {
    let for_ms = for_.as_millis() as i64;
    let keep_ms = keep_firing_for.as_millis() as i64;
    match (state, holds) {
        (State::Inactive | State::Resolved, true) if for_ms == 0 => Step::Fire,
        (State::Inactive | State::Resolved, true) => Step::StartPending,
        (State::Inactive | State::Resolved, false) => Step::Stay,
        (State::Pending, true) => match clock {
            Some(c) if now_ms - c.active_since_ms >= for_ms => Step::Fire,
            _ => Step::Stay,
        },
        (State::Pending, false) => Step::CancelPending,
        (State::Firing, true) => Step::Stay,
        (State::Firing, false) => match clock {
            Some(c) if now_ms - c.last_true_ms < keep_ms => Step::Stay,
            _ => Step::Resolve,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const Z: Duration = Duration::ZERO;

    fn clock(since: i64, last: i64) -> Option<Clock> {
        Some(Clock {
            active_since_ms: since,
            last_true_ms: last,
        })
    }

    #[test]
    fn pending_then_firing_after_for() {
        assert_eq!(
            step(State::Inactive, None, true, 0, 10 * S, Z),
            Step::StartPending
        );
        assert_eq!(
            step(State::Pending, clock(0, 0), true, 9_999, 10 * S, Z),
            Step::Stay
        );
        assert_eq!(
            step(State::Pending, clock(0, 9_999), true, 10_000, 10 * S, Z),
            Step::Fire
        );
        assert_eq!(
            step(State::Pending, clock(0, 5_000), false, 6_000, 10 * S, Z),
            Step::CancelPending
        );
    }

    #[test]
    fn zero_for_fires_at_once_and_keep_firing_for_damps_flapping() {
        assert_eq!(step(State::Inactive, None, true, 0, Z, 30 * S), Step::Fire);
        assert_eq!(
            step(State::Firing, clock(0, 100_000), false, 129_999, Z, 30 * S),
            Step::Stay
        );
        assert_eq!(
            step(State::Firing, clock(0, 100_000), false, 130_000, Z, 30 * S),
            Step::Resolve
        );
        assert_eq!(
            step(State::Firing, clock(0, 0), true, 500_000, Z, 30 * S),
            Step::Stay
        );
        assert_eq!(
            step(State::Resolved, clock(0, 0), true, 600_000, 5 * S, Z),
            Step::StartPending
        );
    }
}
