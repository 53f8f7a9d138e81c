//! Anomaly detection on one metric of one node: a robust z-score of the metric against its
//! own recent history.
//!
//! Raw observations are averaged into buckets (`step`). Each completed bucket `x` is compared
//! with the level (an EWMA of past buckets) and scaled by the MAD of past residuals:
//! `z = (x − level) / (1.4826 · MAD)`. The level follows slow drift (it is an EWMA) but not
//! outliers (the update is winsorized at ±3 scale), so a spike or a step stands out while a
//! drift does not; a step becomes the new normal after a while. The scale has a floor of 1 %
//! of the level so a perfectly flat metric does not turn tiny jitter into infinite scores.
//!
//! With daily seasonality the detector first subtracts a per-time-of-day profile (15-minute
//! slots, an EWMA across days), so the nightly batch job that doubles gas prices is normal but
//! the same jump at noon is not. A seasonal detector needs a full day of history before it
//! scores.

use std::collections::VecDeque;

/// `1 / Φ⁻¹(3/4)`: makes the MAD a consistent estimator of σ for normal data.
const MAD_TO_SIGMA: f64 = 1.4826;
/// Residual history for the scale, in windows: a longer history makes the MAD a steadier
/// estimate (its relative error falls from ~11 % to ~5 %), which keeps noise from crossing
/// the threshold by chance.
const SCALE_HISTORY: usize = 4;
/// Winsorization of the level update, in scale units.
const CLIP: f64 = 3.0;
const DAY_MS: i64 = 86_400_000;

/// Per-time-of-day baseline (daily seasonality).
#[derive(Debug, Clone)]
struct Profile {
    slot_ms: i64,
    slots: Vec<Option<f64>>,
    /// Absolute slot being accumulated: (index since epoch, sum, count).
    current: Option<(i64, f64, u32)>,
    first_ms: Option<i64>,
}

impl Profile {
    fn new(step_ms: i64) -> Profile {
        let slot_ms = step_ms.max(15 * 60_000);
        Profile {
            slot_ms,
            slots: vec![None; (DAY_MS / slot_ms).max(1) as usize],
            current: None,
            first_ms: None,
        }
    }

    fn slot_of_day(&self, abs_slot: i64) -> usize {
        (abs_slot.rem_euclid(DAY_MS / self.slot_ms)) as usize
    }

    /// Feeds a bucket; returns the baseline for its time of day once a day is known.
    fn deseasonalize(&mut self, t_ms: i64, x: f64) -> Option<f64> {
        let first = *self.first_ms.get_or_insert(t_ms);
        let abs = t_ms.div_euclid(self.slot_ms);
        match &mut self.current {
            Some((slot, sum, n)) if *slot == abs => {
                *sum += x;
                *n += 1;
            }
            cur => {
                if let Some((slot, sum, n)) = cur.take() {
                    let i = self.slot_of_day(slot);
                    let mean = sum / n as f64;
                    self.slots[i] = Some(match self.slots[i] {
                        Some(p) => p + 0.3 * (mean - p),
                        None => mean,
                    });
                }
                self.current = Some((abs, x, 1));
            }
        }
        let warm = t_ms - first >= DAY_MS;
        let base = self.slots[self.slot_of_day(abs)];
        base.filter(|_| warm).map(|b| x - b)
    }
}

/// A streaming detector for one series.
#[derive(Debug, Clone)]
pub struct Detector {
    step_ms: i64,
    capacity: usize,
    min_buckets: usize,
    alpha: f64,
    bucket: Option<(i64, f64, u32)>,
    level: Option<f64>,
    residuals: VecDeque<f64>,
    profile: Option<Profile>,
    last_z: Option<f64>,
}

impl Detector {
    /// A detector over `window` of history in `buckets` buckets.
    pub fn new(window_ms: i64, buckets: usize, daily: bool) -> Detector {
        let buckets = buckets.max(8);
        let step_ms = (window_ms / buckets as i64).max(1);
        Detector {
            step_ms,
            capacity: buckets,
            min_buckets: buckets / 4,
            // EWMA span of a quarter of the window; the whole window with seasonality, where
            // the profile already follows the shape and a fast level would chase the
            // profile's own noise.
            alpha: 2.0
                / (if daily {
                    buckets as f64
                } else {
                    buckets as f64 / 4.0
                } + 1.0),
            bucket: None,
            level: None,
            residuals: VecDeque::with_capacity(SCALE_HISTORY * buckets),
            profile: daily.then(|| Profile::new(step_ms)),
            last_z: None,
        }
    }

    /// Adds an observation at `t_ms` (non-decreasing); returns the score of the latest
    /// completed bucket, or `None` while warming up.
    pub fn observe(&mut self, t_ms: i64, v: f64) -> Option<f64> {
        if !v.is_finite() {
            return self.score();
        }
        let start = t_ms.div_euclid(self.step_ms) * self.step_ms;
        match &mut self.bucket {
            Some((s, sum, n)) if *s == start => {
                *sum += v;
                *n += 1;
            }
            Some((s, sum, n)) if start > *s => {
                let (bs, mean) = (*s, *sum / *n as f64);
                self.bucket = Some((start, v, 1));
                self.complete(bs, mean);
            }
            Some(_) => {} // out of order: ignore
            None => self.bucket = Some((start, v, 1)),
        }
        self.score()
    }

    /// The current score (latest completed bucket), if warmed up.
    pub fn score(&self) -> Option<f64> {
        self.last_z
            .filter(|_| self.residuals.len() >= self.min_buckets)
    }

    fn complete(&mut self, t_ms: i64, x: f64) {
        let y = match &mut self.profile {
            Some(p) => match p.deseasonalize(t_ms, x) {
                Some(y) => y,
                None => return,
            },
            None => x,
        };
        let Some(level) = self.level else {
            self.level = Some(y);
            return;
        };
        let r = y - level;
        let scale = self.scale(level);
        self.last_z = Some(r / scale);
        let clipped = r.clamp(-CLIP * scale, CLIP * scale);
        self.level = Some(level + self.alpha * clipped);
        if self.residuals.len() == SCALE_HISTORY * self.capacity {
            self.residuals.pop_front();
        }
        self.residuals.push_back(r);
    }

    fn scale(&self, level: f64) -> f64 {
        let floor = (0.01 * level.abs()).max(1e-9);
        if self.residuals.is_empty() {
            return floor;
        }
        let mut v: Vec<f64> = self.residuals.iter().copied().collect();
        let med = median(&mut v);
        let mut dev: Vec<f64> = v.iter().map(|r| (r - med).abs()).collect();
        (MAD_TO_SIGMA * median(&mut dev)).max(floor)
    }
}

fn median(v: &mut [f64]) -> f64 {
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    *m
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    /// Deterministic standard normal noise (LCG + Box–Muller).
    struct Noise(u64);
    impl Noise {
        fn uniform(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }
        fn normal(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    /// Runs one observation per minute through a 2-hour, 120-bucket detector; returns the
    /// minutes at which |z| > 4.
    fn detections(daily: bool, minutes: i64, f: impl Fn(i64) -> f64) -> Vec<i64> {
        let mut d = Detector::new(120 * MIN, 120, daily);
        let mut noise = Noise(42);
        let mut hits = Vec::new();
        for m in 0..minutes {
            let x = f(m) + noise.normal();
            // The score of minute m is known when minute m + 1 starts.
            if let Some(z) = d.observe(m * MIN, x)
                && z.abs() > 4.0
            {
                hits.push(m - 1);
            }
        }
        hits
    }

    #[test]
    fn noise_alone_never_fires() {
        assert_eq!(detections(false, 3000, |_| 100.0), Vec::<i64>::new());
    }

    #[test]
    fn a_spike_fires_once_at_the_spike() {
        let hits = detections(false, 600, |m| if m == 400 { 130.0 } else { 100.0 });
        assert_eq!(hits, vec![400]);
    }

    #[test]
    fn a_step_fires_then_becomes_the_new_normal() {
        let hits = detections(false, 1200, |m| if m >= 400 { 110.0 } else { 100.0 });
        assert_eq!(hits.first(), Some(&400), "{hits:?}");
        assert!(
            hits.iter().all(|&m| m < 500),
            "adapted within 100 buckets: {hits:?}"
        );
    }

    #[test]
    fn a_slow_drift_never_fires() {
        // 30 σ over 3000 minutes.
        assert_eq!(
            detections(false, 3000, |m| 100.0 + 0.01 * m as f64),
            Vec::<i64>::new()
        );
    }

    /// A nightly job: +15 σ from 02:00 to 02:30 every day.
    fn nightly(m: i64) -> f64 {
        let minute_of_day = m % 1440;
        if (120..150).contains(&minute_of_day) {
            115.0
        } else {
            100.0
        }
    }

    #[test]
    fn a_daily_cycle_is_learned_with_seasonality_and_not_without() {
        let days = 4 * 1440;
        let plain = detections(false, days, nightly);
        assert!(
            plain.iter().any(|&m| m > 3 * 1440),
            "without seasonality the job fires every night: {plain:?}"
        );
        let seasonal = detections(true, days, nightly);
        assert!(
            seasonal.iter().all(|&m| m < 2 * 1440),
            "after a day of history the job is normal: {seasonal:?}"
        );
    }

    #[test]
    fn with_seasonality_an_off_schedule_jump_still_fires() {
        let hits = detections(true, 4 * 1440, |m| {
            if m == 3 * 1440 + 720 {
                130.0
            } else {
                nightly(m)
            }
        });
        assert!(hits.contains(&(3 * 1440 + 720)), "{hits:?}");
    }

    #[test]
    fn warming_up_gives_no_score() {
        let mut d = Detector::new(120 * MIN, 120, false);
        for m in 0..20 {
            assert_eq!(d.observe(m * MIN, 100.0), None);
        }
    }
}
