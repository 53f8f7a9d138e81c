//! Latency distributions (HDR histogram, microsecond resolution) and their summaries.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A latency recorder.
#[derive(Debug, Clone)]
pub struct Latency {
    hist: Histogram<u64>,
}

/// Latency summary in seconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LatencyStats {
    /// Samples.
    pub count: u64,
    /// Smallest.
    pub min: f64,
    /// Mean.
    pub avg: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

/// One bar of the latency distribution.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bucket {
    /// Upper bound (seconds).
    pub le: f64,
    /// Samples in `(previous le, le]`.
    pub count: u64,
}

impl Default for Latency {
    fn default() -> Self {
        Self::new()
    }
}

impl Latency {
    /// Records 1 µs … 1 h with 3 significant digits.
    pub fn new() -> Self {
        let hist = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap_or_else(|_| {
            Histogram::new(3).unwrap_or_else(|_| unreachable!("3 sigfig is valid"))
        });
        Self { hist }
    }

    /// Records one latency in seconds (clamped to the range).
    pub fn record(&mut self, seconds: f64) {
        let us = (seconds.max(0.0) * 1e6).round() as u64;
        self.hist.saturating_record(us.clamp(1, 3_600_000_000));
    }

    /// Adds another recorder's samples.
    pub fn merge(&mut self, other: &Latency) {
        let _ = self.hist.add(&other.hist);
    }

    /// The summary (all zero without samples).
    pub fn stats(&self) -> LatencyStats {
        if self.hist.is_empty() {
            return LatencyStats::default();
        }
        let s = |us: u64| us as f64 / 1e6;
        LatencyStats {
            count: self.hist.len(),
            min: s(self.hist.min()),
            avg: self.hist.mean() / 1e6,
            p50: s(self.hist.value_at_quantile(0.50)),
            p90: s(self.hist.value_at_quantile(0.90)),
            p95: s(self.hist.value_at_quantile(0.95)),
            p99: s(self.hist.value_at_quantile(0.99)),
            max: s(self.hist.max()),
        }
    }

    /// Up to `bars` equal-width buckets from min to max.
    pub fn distribution(&self, bars: usize) -> Vec<Bucket> {
        if self.hist.is_empty() || bars == 0 {
            return Vec::new();
        }
        let (lo, hi) = (self.hist.min(), self.hist.max());
        let width = ((hi - lo) / bars as u64).max(1);
        let mut out: Vec<Bucket> = (1..=bars as u64)
            .map(|i| Bucket {
                le: (lo + width * i) as f64 / 1e6,
                count: 0,
            })
            .collect();
        for v in self.hist.iter_recorded() {
            let idx =
                ((v.value_iterated_to().saturating_sub(lo)) / width).min(bars as u64 - 1) as usize;
            out[idx].count += v.count_at_value();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ordered(s: &LatencyStats) -> bool {
        s.min <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max
    }

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut l = Latency::new();
        for i in 1..=1000 {
            l.record(i as f64 / 1000.0);
        }
        let s = l.stats();
        assert_eq!(s.count, 1000);
        assert!((s.p50 - 0.5).abs() < 0.002, "{s:?}");
        assert!((s.p99 - 0.99).abs() < 0.002, "{s:?}");
        assert!((s.max - 1.0).abs() < 0.002, "{s:?}");
        assert!(ordered(&s));
        let d = l.distribution(10);
        assert_eq!(d.len(), 10);
        assert_eq!(d.iter().map(|b| b.count).sum::<u64>(), 1000);
    }

    #[test]
    fn empty_is_zero() {
        let l = Latency::new();
        assert_eq!(l.stats(), LatencyStats::default());
        assert!(l.distribution(5).is_empty());
    }
}
