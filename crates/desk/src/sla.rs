//! SLA clocks, recomputed from a ticket's history (never stored as running counters, so a
//! restart cannot make them drift or lose a breach).
//!
//! Three clocks per ticket, each against its policy's target in business time:
//! - **first response**: from creation to the first public staff reply;
//! - **next response**: from a requester's message (once the first response was given) to
//!   the next public staff reply — one cycle per exchange;
//! - **resolution**: from creation to *solved*; a reopened ticket's clock goes on from where
//!   it stopped.
//!
//! Every clock pauses while the ticket is *pending* (waiting on the requester). *On-hold*
//! (waiting on a third party) does not pause: the team still owns the wait. Solving a
//! ticket stops its response clocks without a verdict. The targets are those of the
//! ticket's current priority, so raising a ticket from P3 to P1 can breach it at once.

use crate::calendar::Calendar;
use crate::tickets::{Priority, State};
use std::sync::Arc;

/// Share of a target at which a warning goes out, in per mille.
pub const WARN_PERMILLE: i64 = 750;

/// What happened to a ticket, as far as its clocks care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening {
    /// Opened.
    Created,
    /// Moved to a state.
    State(State),
    /// The requester wrote (reply or follow-up).
    RequesterMessage,
    /// Staff replied publicly (internal notes do not count).
    StaffReply,
}

/// A happening at an instant (epoch ms); a ticket's history is these, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Epoch ms.
    pub at: i64,
    /// What.
    pub what: Happening,
}

/// Targets of one priority, in business milliseconds (`None`: not measured).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Targets {
    /// First public reply.
    pub first_response: Option<i64>,
    /// Each later reply to the requester.
    pub next_response: Option<i64>,
    /// Solved.
    pub resolution: Option<i64>,
}

/// An SLA policy: targets for a priority (and optionally a category) on a calendar.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Name shown on tickets and reports.
    pub name: String,
    /// The priority it applies to.
    pub priority: Priority,
    /// Only tickets of this category (`None`: any).
    pub category: Option<String>,
    /// Targets.
    pub targets: Targets,
    /// Business hours the clocks run in.
    pub calendar: Arc<Calendar>,
    /// The calendar's name (`24x7` or a `[support.calendars.NAME]`).
    pub calendar_name: String,
    /// Team a breached ticket moves to.
    pub escalate_to: Option<String>,
}

/// The policy for a ticket: one for its category first, else one for any category.
pub fn policy_for<'a>(
    policies: &'a [Policy],
    priority: Priority,
    category: &str,
) -> Option<&'a Policy> {
    policies
        .iter()
        .filter(|p| p.priority == priority)
        .find(|p| p.category.as_deref() == Some(category))
        .or_else(|| {
            policies
                .iter()
                .find(|p| p.priority == priority && p.category.is_none())
        })
}

/// Which clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// First public reply.
    FirstResponse,
    /// A later reply.
    NextResponse,
    /// Solved.
    Resolution,
}

impl Metric {
    /// Stable name (`first_response`, `next_response`, `resolution`).
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::FirstResponse => "first_response",
            Metric::NextResponse => "next_response",
            Metric::Resolution => "resolution",
        }
    }
}

/// Where a clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Counting now.
    Running,
    /// Waiting on the requester.
    Paused,
    /// Stopped within its target.
    Met,
    /// Stopped after its target (or still running past it).
    Breached,
    /// Stopped without a verdict (solved before a reply was due).
    Stopped,
}

/// One clock of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Clock {
    /// Which.
    pub metric: Metric,
    /// Next-response exchange number (0 for the others).
    pub cycle: u32,
    /// Target, business ms.
    pub target_ms: i64,
    /// Business ms counted.
    pub elapsed_ms: i64,
    /// Where it stands.
    pub phase: Phase,
    /// When it started.
    pub started_ms: i64,
    /// When it stopped (met, breached-and-stopped, stopped).
    pub stopped_ms: Option<i64>,
    /// When it reaches its target if it keeps running (running clocks not yet breached).
    pub due_ms: Option<i64>,
    /// When it passed [`WARN_PERMILLE`] of its target.
    pub warned_ms: Option<i64>,
    /// When it passed its target.
    pub breached_ms: Option<i64>,
}

impl Clock {
    /// Counted share of the target, in per mille (capped at 10,000).
    pub fn permille(&self) -> i64 {
        if self.target_ms <= 0 {
            return 0;
        }
        (self.elapsed_ms.saturating_mul(1000) / self.target_ms).min(10_000)
    }
}

/// A clock being built: its counting segments.
struct Draft {
    metric: Metric,
    cycle: u32,
    started: i64,
    /// Closed counting segments.
    segments: Vec<(i64, i64)>,
    /// Start of the open counting segment.
    open_since: Option<i64>,
    /// Stopped: when and how.
    stop: Option<(i64, bool)>,
}

impl Draft {
    fn new(metric: Metric, cycle: u32, at: i64, counting: bool) -> Draft {
        Draft {
            metric,
            cycle,
            started: at,
            segments: Vec::new(),
            open_since: counting.then_some(at),
            stop: None,
        }
    }

    fn pause(&mut self, at: i64) {
        if let Some(s) = self.open_since.take() {
            self.segments.push((s, at));
        }
    }

    fn resume(&mut self, at: i64) {
        if self.stop.is_none() && self.open_since.is_none() {
            self.open_since = Some(at);
        }
    }

    /// Stops the clock; `verdict`: whether met/breached applies (false: stopped).
    fn stop(&mut self, at: i64, verdict: bool) {
        self.pause(at);
        if self.stop.is_none() {
            self.stop = Some((at, verdict));
        }
    }

    fn finish(mut self, target: i64, calendar: &Calendar, now: i64) -> Clock {
        let running = self.open_since.is_some() && self.stop.is_none();
        if let Some(s) = self.open_since.take() {
            self.segments.push((s, now.max(s)));
        }
        let crossing = |share: i64| -> Option<i64> {
            let mut left = share;
            for &(s, e) in &self.segments {
                let have = calendar.business_ms(s, e);
                if have >= left {
                    return calendar.add_business(s, left);
                }
                left -= have;
            }
            None
        };
        let elapsed: i64 = self
            .segments
            .iter()
            .map(|&(s, e)| calendar.business_ms(s, e))
            .sum();
        let breached_ms = crossing(target);
        let warned_ms = crossing(target * WARN_PERMILLE / 1000);
        let phase = match self.stop {
            Some((_, false)) if breached_ms.is_none() => Phase::Stopped,
            _ if breached_ms.is_some() => Phase::Breached,
            Some(_) => Phase::Met,
            None if running => Phase::Running,
            None => Phase::Paused,
        };
        let due_ms = (phase == Phase::Running)
            .then(|| {
                let from = self.segments.last().map_or(now, |s| s.0);
                let before: i64 = self.segments[..self.segments.len().saturating_sub(1)]
                    .iter()
                    .map(|&(s, e)| calendar.business_ms(s, e))
                    .sum();
                calendar.add_business(from, target - before)
            })
            .flatten();
        Clock {
            metric: self.metric,
            cycle: self.cycle,
            target_ms: target,
            elapsed_ms: elapsed,
            phase,
            started_ms: self.started,
            stopped_ms: self.stop.map(|s| s.0),
            due_ms,
            warned_ms,
            breached_ms,
        }
    }
}

/// A ticket's clocks under `policy` at `now`, from its history (sorted by time; events after
/// `now` are ignored). Clocks whose target the policy does not set are left out.
pub fn clocks(events: &[Event], policy: &Policy, now: i64) -> Vec<Clock> {
    let mut state = State::New;
    let mut first: Option<Draft> = None;
    let mut next: Vec<Draft> = Vec::new();
    let mut resolution: Option<Draft> = None;
    let mut responded = false;
    for e in events.iter().filter(|e| e.at <= now) {
        let counting = |s: State| !matches!(s, State::Pending | State::Solved | State::Closed);
        match e.what {
            Happening::Created => {
                first = Some(Draft::new(Metric::FirstResponse, 0, e.at, true));
                resolution = Some(Draft::new(Metric::Resolution, 0, e.at, true));
            }
            Happening::StaffReply => {
                if !responded {
                    responded = true;
                    if let Some(d) = first.as_mut() {
                        d.stop(e.at, true);
                    }
                }
                if let Some(d) = next.last_mut() {
                    d.stop(e.at, true);
                }
            }
            Happening::RequesterMessage => {
                let waiting = next.last().is_some_and(|d| d.stop.is_none());
                if responded && !waiting && !matches!(state, State::Solved | State::Closed) {
                    let cycle = next.len() as u32 + 1;
                    next.push(Draft::new(
                        Metric::NextResponse,
                        cycle,
                        e.at,
                        counting(state),
                    ));
                }
            }
            Happening::State(to) => {
                let open_drafts = first
                    .iter_mut()
                    .chain(next.last_mut())
                    .filter(|d| d.stop.is_none());
                match to {
                    State::Solved | State::Closed => {
                        for d in open_drafts {
                            d.stop(e.at, false);
                        }
                        if let Some(d) = resolution.as_mut() {
                            d.pause(e.at);
                        }
                    }
                    State::Pending => {
                        for d in open_drafts {
                            d.pause(e.at);
                        }
                        if let Some(d) = resolution.as_mut() {
                            d.pause(e.at);
                        }
                    }
                    State::New | State::Open | State::OnHold => {
                        for d in open_drafts {
                            d.resume(e.at);
                        }
                        if let Some(d) = resolution.as_mut() {
                            d.resume(e.at);
                        }
                    }
                }
                state = to;
            }
        }
    }
    if let (Some(d), State::Solved | State::Closed) = (resolution.as_mut(), state) {
        // Solved ends the resolution clock (a reopen would have resumed it).
        let at = events
            .iter()
            .filter(|e| e.at <= now)
            .rev()
            .find(|e| matches!(e.what, Happening::State(State::Solved | State::Closed)))
            .map_or(now, |e| e.at);
        d.stop(at, true);
    }
    let t = policy.targets;
    let cal = &policy.calendar;
    let mut out = Vec::new();
    if let (Some(d), Some(target)) = (first, t.first_response) {
        out.push(d.finish(target, cal, now));
    }
    if let Some(target) = t.next_response {
        out.extend(next.into_iter().map(|d| d.finish(target, cal, now)));
    }
    if let (Some(d), Some(target)) = (resolution, t.resolution) {
        out.push(d.finish(target, cal, now));
    }
    out
}

/// The earliest instant a running clock reaches its target (the ticket's next deadline).
pub fn next_due(clocks: &[Clock]) -> Option<i64> {
    clocks.iter().filter_map(|c| c.due_ms).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::CalendarSpec;
    use proptest::prelude::*;

    const M: i64 = 60_000;
    const H: i64 = 60 * M;

    fn policy(calendar: Calendar) -> Policy {
        Policy {
            name: "p2".into(),
            priority: Priority::P2,
            category: None,
            targets: Targets {
                first_response: Some(H),
                next_response: Some(2 * H),
                resolution: Some(8 * H),
            },
            calendar: Arc::new(calendar),
            calendar_name: "test".into(),
            escalate_to: None,
        }
    }

    fn ev(at: i64, what: Happening) -> Event {
        Event { at, what }
    }

    fn find(c: &[Clock], m: Metric, cycle: u32) -> &Clock {
        c.iter()
            .find(|c| c.metric == m && c.cycle == cycle)
            .expect("clock")
    }

    #[test]
    fn a_ticket_answered_in_time_then_paused_then_solved() {
        let p = policy(Calendar::always());
        let t0 = 1_000 * H;
        let history = [
            ev(t0, Happening::Created),
            ev(t0 + 30 * M, Happening::StaffReply),
            ev(t0 + 31 * M, Happening::State(State::Pending)),
            // Two days waiting on the requester count for nothing.
            ev(t0 + 49 * H, Happening::RequesterMessage),
            ev(t0 + 49 * H, Happening::State(State::Open)),
            ev(t0 + 52 * H, Happening::StaffReply),
            ev(t0 + 53 * H, Happening::State(State::Solved)),
        ];
        let now = t0 + 100 * H;
        let c = clocks(&history, &p, now);
        let first = find(&c, Metric::FirstResponse, 0);
        assert_eq!((first.phase, first.elapsed_ms), (Phase::Met, 30 * M));
        let next = find(&c, Metric::NextResponse, 1);
        assert_eq!(next.phase, Phase::Breached, "3 h against 2 h");
        assert_eq!(next.breached_ms, Some(t0 + 51 * H));
        assert_eq!(next.warned_ms, Some(t0 + 50 * H + 30 * M));
        let res = find(&c, Metric::Resolution, 0);
        // 31 minutes before the pause, 4 hours after.
        assert_eq!((res.phase, res.elapsed_ms), (Phase::Met, 4 * H + 31 * M));
        assert_eq!(next_due(&c), None);
    }

    #[test]
    fn running_clocks_have_due_times_and_a_reopen_goes_on() {
        let p = policy(Calendar::always());
        let t0 = 1_000 * H;
        let mut history = vec![ev(t0, Happening::Created)];
        let c = clocks(&history, &p, t0 + 10 * M);
        assert_eq!(find(&c, Metric::FirstResponse, 0).due_ms, Some(t0 + H));
        assert_eq!(next_due(&c), Some(t0 + H));
        assert_eq!(find(&c, Metric::FirstResponse, 0).permille(), 166);
        history.push(ev(t0 + 20 * M, Happening::StaffReply));
        history.push(ev(t0 + 2 * H, Happening::State(State::Solved)));
        history.push(ev(t0 + 5 * H, Happening::State(State::Open)));
        let c = clocks(&history, &p, t0 + 6 * H);
        let res = find(&c, Metric::Resolution, 0);
        assert_eq!(res.phase, Phase::Running);
        assert_eq!(
            res.elapsed_ms,
            3 * H,
            "2 h before solved, 1 h since the reopen"
        );
        assert_eq!(res.due_ms, Some(t0 + 11 * H));
        // Solved before the requester got a next reply: that clock stops without a verdict.
        history.push(ev(t0 + 7 * H, Happening::RequesterMessage));
        history.push(ev(t0 + 8 * H, Happening::State(State::Solved)));
        let c = clocks(&history, &p, t0 + 9 * H);
        assert_eq!(find(&c, Metric::NextResponse, 1).phase, Phase::Stopped);
        assert_eq!(find(&c, Metric::Resolution, 0).phase, Phase::Met);
        // Still running past its target: breached, no due time.
        let c = clocks(&history[..1], &p, t0 + 2 * H);
        let first = find(&c, Metric::FirstResponse, 0);
        assert_eq!(
            (first.phase, first.breached_ms, first.due_ms),
            (Phase::Breached, Some(t0 + H), None)
        );
    }

    #[test]
    fn business_hours_stretch_the_deadline_over_the_night() {
        let cal = Calendar::parse(&CalendarSpec {
            zone: "Asia/Shanghai".into(),
            hours: vec!["mon-fri 09:00-18:00".into()],
            ..Default::default()
        })
        .expect("calendar");
        let p = policy(cal);
        // Friday 2026-12-04 17:30 Shanghai; one working hour is due Monday 09:30.
        let t0 = chainops_core::time::parse_rfc3339("2026-12-04T09:30:00Z").expect("t");
        let c = clocks(&[ev(t0, Happening::Created)], &p, t0 + 60 * H);
        let first = find(&c, Metric::FirstResponse, 0);
        assert_eq!(first.elapsed_ms, 30 * M);
        assert_eq!(
            first.due_ms,
            chainops_core::time::parse_rfc3339("2026-12-07T01:30:00Z")
        );
    }

    #[test]
    fn policies_by_category_come_first() {
        let mut a = policy(Calendar::always());
        a.name = "any".into();
        let mut b = a.clone();
        b.name = "rpc".into();
        b.category = Some("rpc".into());
        let ps = [a, b];
        assert_eq!(
            policy_for(&ps, Priority::P2, "rpc").map(|p| p.name.as_str()),
            Some("rpc")
        );
        assert_eq!(
            policy_for(&ps, Priority::P2, "billing").map(|p| p.name.as_str()),
            Some("any")
        );
        assert!(policy_for(&ps, Priority::P1, "rpc").is_none());
    }

    fn happenings() -> impl Strategy<Value = Vec<(i64, Happening)>> {
        let what = prop_oneof![
            Just(Happening::RequesterMessage),
            Just(Happening::StaffReply),
            prop::sample::select(State::ALL.to_vec()).prop_map(Happening::State),
        ];
        prop::collection::vec((1i64..(6 * H), what), 0..25)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// However a ticket moves, a clock's counted time is exactly its business time while
        /// the ticket was not pending (nor solved, for resolution), and pausing loses or
        /// gains nothing: counted + paused time = the whole span.
        #[test]
        fn pauses_are_exact(steps in happenings(), office in any::<bool>(), tail in 0i64..(48 * H)) {
            let cal = if office {
                Calendar::parse(&CalendarSpec {
                    zone: "America/New_York".into(),
                    hours: vec!["mon-fri 09:00-17:00".into()],
                    holidays: vec!["2026-03-09".into()],
                    ..Default::default()
                }).expect("calendar")
            } else {
                Calendar::always()
            };
            let p = policy(cal);
            let t0 = chainops_core::time::parse_rfc3339("2026-03-06T15:00:00Z").expect("t");
            let mut at = t0;
            let mut history = vec![ev(t0, Happening::Created)];
            for (gap, what) in steps {
                at += gap;
                history.push(ev(at, what));
            }
            let now = at + tail;
            // The resolution clock counts while the ticket is neither pending nor solved/closed.
            let mut counted = 0;
            let mut state = State::New;
            let mut since = t0;
            for e in history.iter().skip(1) {
                if let Happening::State(s) = e.what {
                    if !matches!(state, State::Pending | State::Solved | State::Closed) {
                        counted += p.calendar.business_ms(since, e.at);
                    }
                    state = s;
                    since = e.at;
                }
            }
            let ends_solved = matches!(state, State::Solved | State::Closed);
            if !matches!(state, State::Pending | State::Solved | State::Closed) {
                counted += p.calendar.business_ms(since, now);
            }
            let c = clocks(&history, &p, now);
            let res = find(&c, Metric::Resolution, 0);
            prop_assert_eq!(res.elapsed_ms, counted);
            prop_assert!(res.elapsed_ms <= p.calendar.business_ms(t0, now));
            prop_assert_eq!(matches!(res.phase, Phase::Met | Phase::Breached) && res.stopped_ms.is_some(), ends_solved);
            for clock in &c {
                prop_assert!(clock.elapsed_ms >= 0);
                if let Some(b) = clock.breached_ms {
                    prop_assert!(p.calendar.business_ms(clock.started_ms, b) >= clock.target_ms);
                    prop_assert!(clock.warned_ms.is_some_and(|w| w <= b));
                }
                prop_assert_eq!(clock.breached_ms.is_some(), clock.elapsed_ms >= clock.target_ms);
                if let Some(due) = clock.due_ms {
                    prop_assert!(due >= now && clock.phase == Phase::Running);
                }
            }
            // Evaluating later without new events never un-breaches or loses counted time.
            let later = clocks(&history, &p, now + 3 * H);
            for (a, b) in c.iter().zip(later.iter()) {
                prop_assert!(b.elapsed_ms >= a.elapsed_ms);
                if a.breached_ms.is_some() {
                    prop_assert_eq!(a.breached_ms, b.breached_ms);
                }
            }
        }
    }
}
