//! What the public status page says about a chain: its state now, from the monitors' node
//! statuses and the chain's quorum, and its uptime per day, from the recorded `chain_quorum`
//! series (1 while a strict majority of the chain's nodes is `ok`, else 0).

use chainops_core::node::NodeStatus;
use serde::Serialize;

/// A chain's state as the status page names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChainState {
    /// Every node is `ok`.
    Operational,
    /// A scheduled maintenance window is running.
    Maintenance,
    /// A majority of the nodes is `ok` (the quorum holds) but not all.
    Degraded,
    /// No majority of the nodes is `ok`, or the chain has no node.
    Outage,
}

impl ChainState {
    /// The word the page, the API and the feed use (`operational`, `degraded`, `outage`,
    /// `maintenance`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChainState::Operational => "operational",
            ChainState::Maintenance => "maintenance",
            ChainState::Degraded => "degraded",
            ChainState::Outage => "outage",
        }
    }
}

/// The state of a chain whose nodes have `statuses` (`maintenance`: a window is running).
/// The quorum is a strict majority of the chain's nodes being `ok`.
pub fn chain_state(statuses: &[NodeStatus], maintenance: bool) -> ChainState {
    let ok = statuses.iter().filter(|s| **s == NodeStatus::Ok).count();
    let state = if statuses.is_empty() || ok * 2 <= statuses.len() {
        ChainState::Outage
    } else if ok == statuses.len() {
        ChainState::Operational
    } else {
        ChainState::Degraded
    };
    if maintenance && state != ChainState::Operational {
        ChainState::Maintenance
    } else {
        state
    }
}

/// One recorded bucket of a chain's `chain_quorum` series: its start (epoch ms), width (ms)
/// and the share of the time in it the chain had its quorum (the series' average, 0–1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// Start, epoch ms.
    pub t: i64,
    /// Width, ms.
    pub width: i64,
    /// Share of the bucket with quorum.
    pub up: f64,
}

/// Uptime of one day: the share of the time with data in which the chain had its quorum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Day {
    /// Start of the day (UTC), epoch ms.
    pub start_ms: i64,
    /// Share of the recorded time with quorum, 0–1; `None` when nothing was recorded.
    pub uptime: Option<f64>,
    /// Time with data, seconds.
    pub recorded_seconds: i64,
    /// Recorded time without quorum, seconds.
    pub outage_seconds: i64,
}

const DAY_MS: i64 = 86_400_000;

/// Uptime per UTC day for `days` days ending with the day of `now_ms`. Buckets outside the
/// window, with no width or with a share outside 0–1 are ignored; a bucket counts toward the
/// day it starts in.
pub fn daily_uptime(buckets: &[Bucket], now_ms: i64, days: usize) -> Vec<Day> {
    let today = now_ms - now_ms.rem_euclid(DAY_MS);
    let first = today - (days.saturating_sub(1) as i64) * DAY_MS;
    // Per day: recorded ms, ms with quorum.
    let mut sums = vec![(0f64, 0f64); days];
    for b in buckets {
        let valid = b.t >= first
            && b.t <= now_ms
            && b.width > 0
            && b.up.is_finite()
            && (0.0..=1.0).contains(&b.up);
        if !valid {
            continue;
        }
        if let Some(day) = usize::try_from((b.t - first) / DAY_MS)
            .ok()
            .and_then(|i| sums.get_mut(i))
        {
            day.0 += b.width as f64;
            day.1 += b.width as f64 * b.up;
        }
    }
    sums.iter()
        .enumerate()
        .map(|(i, (total, up))| Day {
            start_ms: first + i as i64 * DAY_MS,
            uptime: (*total > 0.0).then(|| (up / total).clamp(0.0, 1.0)),
            recorded_seconds: (total / 1000.0) as i64,
            outage_seconds: ((total - up) / 1000.0).round() as i64,
        })
        .collect()
}

/// The uptime over `days` (weighted by recorded time), or `None` with nothing recorded.
pub fn overall(days: &[Day]) -> Option<f64> {
    let recorded: i64 = days.iter().map(|d| d.recorded_seconds).sum();
    let down: i64 = days.iter().map(|d| d.outage_seconds).sum();
    (recorded > 0).then(|| (1.0 - down as f64 / recorded as f64).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const H: i64 = 3_600_000;

    #[test]
    fn the_state_follows_the_quorum() {
        use NodeStatus::*;
        assert_eq!(chain_state(&[Ok, Ok, Ok], false), ChainState::Operational);
        assert_eq!(chain_state(&[Ok, Ok, Down], false), ChainState::Degraded);
        assert_eq!(chain_state(&[Ok, Stalled], false), ChainState::Outage);
        assert_eq!(chain_state(&[Lagging], false), ChainState::Outage);
        assert_eq!(chain_state(&[], false), ChainState::Outage);
        assert_eq!(chain_state(&[Ok, Down], true), ChainState::Maintenance);
        assert_eq!(chain_state(&[Ok], true), ChainState::Operational);
        assert_eq!(ChainState::Outage.as_str(), "outage");
    }

    #[test]
    fn days_count_quorum_time_over_recorded_time() {
        let now = 10 * DAY_MS + 12 * H;
        let today = 10 * DAY_MS;
        let bucket = |t, width, up| Bucket { t, width, up };
        // Today: 9 hours with quorum, 1 hour with it half the time, 2 hours without.
        let mut b: Vec<Bucket> = (0..9).map(|h| bucket(today + h * H, H, 1.0)).collect();
        b.push(bucket(today + 9 * H, H, 0.5));
        b.push(bucket(today + 10 * H, H, 0.0));
        b.push(bucket(today + 11 * H, H, 0.0));
        // Minutes of the current hour.
        b.extend((0..30).map(|m| bucket(now + m * 60_000 - 30 * 60_000, 60_000, 1.0)));
        let days = daily_uptime(&b, now, 3);
        assert_eq!(days.len(), 3);
        assert_eq!(days[2].start_ms, today);
        assert_eq!((days[0].uptime, days[1].uptime), (None, None));
        assert_eq!(days[2].recorded_seconds, 12 * 3600 + 1800);
        assert_eq!(days[2].outage_seconds, 2 * 3600 + 1800);
        assert_eq!(days[2].uptime, Some(10.0 / 12.5));
        // Data from the future, before the window, or absurd is ignored.
        let odd = [
            bucket(now + H, H, 1.0),
            bucket(today - 5 * DAY_MS, H, 1.0),
            bucket(today, H, f64::NAN),
            bucket(today, H, 7.0),
            bucket(today, 0, 1.0),
        ];
        assert_eq!(daily_uptime(&odd, now, 2)[1].uptime, None);
        assert_eq!(overall(&days), Some(10.0 / 12.5));
        assert_eq!(overall(&[]), None);
    }

    proptest! {
        /// Whatever the buckets, every day's uptime is within 0–1, there are as many days as
        /// asked, and a day without data has none.
        #[test]
        fn uptime_is_a_share(
            raw in proptest::collection::vec((0i64..200, 0i64..3, -0.5f64..1.5), 0..80),
            days in 1usize..10,
        ) {
            let now = 5 * DAY_MS;
            let buckets: Vec<Bucket> = raw
                .iter()
                .map(|(h, w, up)| Bucket { t: now - h * H, width: w * H, up: *up })
                .collect();
            let out = daily_uptime(&buckets, now, days);
            prop_assert_eq!(out.len(), days);
            for d in &out {
                match d.uptime {
                    Some(u) => prop_assert!((0.0..=1.0).contains(&u)),
                    None => prop_assert_eq!(d.outage_seconds, 0),
                }
                prop_assert!(d.outage_seconds <= d.recorded_seconds);
            }
            if let Some(u) = overall(&out) {
                prop_assert!((0.0..=1.0).contains(&u));
            }
        }
    }
}
