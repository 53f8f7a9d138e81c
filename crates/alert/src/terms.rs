//! Resolving rule terms: plain facts, per-node windows (rate, delta, age, anomaly, forecast)
//! and chain aggregates. The engine compiles every rule's terms once; each cycle it feeds the
//! windows of every node and computes chain aggregates, then rules read term values by index.

use crate::anomaly::Detector;
use crate::config::rule_expr::{Eval, Func, Term, TermValue};
use crate::rules::Rule;
use chainops_core::facts::NodeFacts;
use std::collections::{HashMap, VecDeque};

/// Buckets of history an anomaly detector keeps over its window.
const ANOMALY_BUCKETS: usize = 120;
/// Samples a rate/delta window keeps (spacing = window / this).
const WINDOW_SAMPLES: i64 = 240;
/// Samples a forecast lookback keeps.
const FORECAST_SAMPLES: i64 = 120;

/// Where a term's value comes from.
#[derive(Debug, Clone, Copy)]
enum Source {
    Fact,
    Absent,
    Window(usize),
    Chain(usize),
}

/// Rules' terms, compiled.
#[derive(Debug, Default)]
pub struct Compiled {
    windowed: Vec<Term>,
    chain: Vec<Term>,
    /// Per rule, the source of each of its terms.
    sources: Vec<Vec<Source>>,
}

fn index_of(list: &mut Vec<Term>, t: &Term) -> usize {
    match list.iter().position(|x| x == t) {
        Some(i) => i,
        None => {
            list.push(t.clone());
            list.len() - 1
        }
    }
}

impl Compiled {
    /// Compiles the terms of `rules`.
    pub fn new(rules: &[Rule]) -> Compiled {
        let mut c = Compiled::default();
        for r in rules {
            let sources = r
                .expr
                .terms()
                .map(|t| match t.func {
                    Func::Value => Source::Fact,
                    Func::Absent => Source::Absent,
                    f if f.is_chain() => Source::Chain(index_of(&mut c.chain, t)),
                    _ => Source::Window(index_of(&mut c.windowed, t)),
                })
                .collect();
            c.sources.push(sources);
        }
        c
    }

    /// Chain aggregates of the polled nodes, by chain.
    pub fn chain_values(&self, facts: &[NodeFacts]) -> HashMap<String, Vec<TermValue>> {
        let mut out: HashMap<String, Vec<Vec<f64>>> = HashMap::new();
        if self.chain.is_empty() {
            return HashMap::new();
        }
        for f in facts.iter().filter(|f| f.polled) {
            let vals = out
                .entry(f.chain.clone())
                .or_insert_with(|| vec![Vec::new(); self.chain.len()]);
            for (i, t) in self.chain.iter().enumerate() {
                if let Some(v) = f.get(t.fact) {
                    vals[i].push(v);
                }
            }
        }
        out.into_iter()
            .map(|(chain, vals)| {
                let agg = self
                    .chain
                    .iter()
                    .zip(vals)
                    .map(|(t, v)| aggregate(t.func, &v))
                    .collect();
                (chain, agg)
            })
            .collect()
    }

    /// Feeds `f`'s current facts into its windows and returns the windowed term values.
    pub fn observe(&self, windows: &mut NodeWindows, f: &NodeFacts, now_ms: i64) -> Vec<TermValue> {
        windows.states.resize_with(self.windowed.len(), || None);
        self.windowed
            .iter()
            .zip(windows.states.iter_mut())
            .map(|(t, state)| match f.get(t.fact) {
                Some(v) => {
                    let st = state.get_or_insert_with(|| TermState::new(t, now_ms));
                    st.observe(now_ms, v);
                    st.value(t, now_ms, v)
                }
                None => TermValue::Missing,
            })
            .collect()
    }

    /// Evaluates rule `ri` on `f` with the given window and chain values.
    pub fn eval(
        &self,
        rule: &Rule,
        ri: usize,
        f: &NodeFacts,
        windows: &[TermValue],
        chain: Option<&Vec<TermValue>>,
    ) -> Eval {
        rule.expr
            .eval_with(&mut |i, t| self.term_value(ri, i, t, f, windows, chain))
    }

    /// The current value of rule `ri`'s first left-hand side, whether or not the rule holds
    /// (a resolved notification says what the value is now, not what it was).
    pub fn lhs_value(
        &self,
        rule: &Rule,
        ri: usize,
        f: &NodeFacts,
        windows: &[TermValue],
        chain: Option<&Vec<TermValue>>,
    ) -> Option<f64> {
        let t = rule.expr.terms().next()?;
        match self.term_value(ri, 0, t, f, windows, chain) {
            TermValue::Exact(v) | TermValue::AtLeast(v) => Some(v),
            TermValue::Missing | TermValue::Unknown => None,
        }
    }

    fn term_value(
        &self,
        ri: usize,
        i: usize,
        t: &Term,
        f: &NodeFacts,
        windows: &[TermValue],
        chain: Option<&Vec<TermValue>>,
    ) -> TermValue {
        match self.sources[ri].get(i) {
            Some(Source::Fact) => f.get(t.fact).map_or(TermValue::Missing, TermValue::Exact),
            Some(Source::Absent) => {
                TermValue::Exact(if f.get(t.fact).is_some() { 0.0 } else { 1.0 })
            }
            Some(Source::Window(w)) => windows.get(*w).copied().unwrap_or(TermValue::Unknown),
            Some(Source::Chain(c)) => chain
                .and_then(|v| v.get(*c).copied())
                .unwrap_or(TermValue::Missing),
            None => TermValue::Unknown,
        }
    }
}

/// How long after an inhibitor last held a rule stays inhibited: the longest counting
/// window of its terms (`rate`/`delta` windows, `forecast` lookbacks), so a count that
/// still holds the outage's samples (failed calls while the node was down) cannot fire
/// the moment the outage ends. Zero for rules on current values.
pub fn refill_time(rule: &Rule) -> std::time::Duration {
    rule.expr
        .terms()
        .map(|t| match t.func {
            Func::Rate | Func::Delta => t.window,
            Func::Forecast => t.lookback,
            _ => std::time::Duration::ZERO,
        })
        .max()
        .unwrap_or_default()
}

fn aggregate(func: Func, v: &[f64]) -> TermValue {
    if func == Func::ChainCount {
        return TermValue::Exact(v.len() as f64);
    }
    if v.is_empty() {
        return TermValue::Missing;
    }
    let sum: f64 = v.iter().sum();
    TermValue::Exact(match func {
        Func::ChainMin => v.iter().copied().fold(f64::INFINITY, f64::min),
        Func::ChainMax => v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        Func::ChainAvg => sum / v.len() as f64,
        _ => sum,
    })
}

/// One node's window states, one per windowed term.
#[derive(Debug, Default)]
pub struct NodeWindows {
    states: Vec<Option<TermState>>,
}

/// History kept for one windowed term on one node.
#[derive(Debug)]
enum TermState {
    /// Spaced samples for rate, delta and forecast.
    Samples {
        spacing_ms: i64,
        keep_ms: i64,
        first_ms: i64,
        points: VecDeque<(i64, f64)>,
    },
    /// Last value and when it changed.
    Age {
        last: f64,
        first_ms: i64,
        changed_ms: Option<i64>,
    },
    /// Robust z-score.
    Anomaly(Detector),
}

impl TermState {
    fn new(t: &Term, now_ms: i64) -> TermState {
        let ms = |d: std::time::Duration| d.as_millis() as i64;
        match t.func {
            Func::Age => TermState::Age {
                last: f64::NAN,
                first_ms: now_ms,
                changed_ms: None,
            },
            Func::Anomaly => {
                TermState::Anomaly(Detector::new(ms(t.window), ANOMALY_BUCKETS, t.daily))
            }
            Func::Forecast => TermState::Samples {
                spacing_ms: (ms(t.lookback) / FORECAST_SAMPLES).max(500),
                keep_ms: ms(t.lookback),
                first_ms: now_ms,
                points: VecDeque::new(),
            },
            _ => TermState::Samples {
                spacing_ms: (ms(t.window) / WINDOW_SAMPLES).max(500),
                keep_ms: ms(t.window) + (ms(t.window) / WINDOW_SAMPLES).max(500),
                first_ms: now_ms,
                points: VecDeque::new(),
            },
        }
    }

    fn observe(&mut self, now_ms: i64, v: f64) {
        match self {
            TermState::Samples {
                spacing_ms,
                keep_ms,
                points,
                ..
            } => {
                if points
                    .back()
                    .is_none_or(|&(t, _)| now_ms - t >= *spacing_ms)
                {
                    points.push_back((now_ms, v));
                }
                while points.front().is_some_and(|&(t, _)| now_ms - t > *keep_ms) {
                    points.pop_front();
                }
            }
            TermState::Age {
                last, changed_ms, ..
            } => {
                if !last.is_nan() && *last != v {
                    *changed_ms = Some(now_ms);
                }
                *last = v;
            }
            TermState::Anomaly(d) => {
                d.observe(now_ms, v);
            }
        }
    }

    fn value(&self, t: &Term, now_ms: i64, current: f64) -> TermValue {
        match self {
            TermState::Age {
                first_ms,
                changed_ms,
                ..
            } => match changed_ms {
                Some(c) => TermValue::Exact((now_ms - c) as f64 / 1000.0),
                // Unchanged since we started watching: at least that old.
                None => TermValue::AtLeast((now_ms - first_ms) as f64 / 1000.0),
            },
            TermState::Anomaly(d) => d.score().map_or(TermValue::Unknown, TermValue::Exact),
            TermState::Samples {
                points, first_ms, ..
            } => {
                let window = t.window.as_millis() as i64;
                match t.func {
                    Func::Forecast => forecast(points, now_ms, current, t),
                    _ => {
                        let Some(&(t0, v0)) = points.iter().find(|(ts, _)| now_ms - ts <= window)
                        else {
                            return TermValue::Unknown;
                        };
                        let filled = now_ms - *first_ms >= window * 9 / 10;
                        let delta = current - v0;
                        match (t.func, filled) {
                            (Func::Delta, true) => TermValue::Exact(delta),
                            // A counter's change over part of the window is a lower bound.
                            (Func::Delta, false) if t.fact.ends_with("_total") => {
                                TermValue::AtLeast(delta)
                            }
                            (Func::Rate, true) if now_ms > t0 => {
                                TermValue::Exact(delta * 1000.0 / (now_ms - t0) as f64)
                            }
                            _ => TermValue::Unknown,
                        }
                    }
                }
            }
        }
    }
}

/// Least-squares line through the samples (and the current value), evaluated at
/// `now + horizon`. Unknown until the samples span half the lookback.
fn forecast(points: &VecDeque<(i64, f64)>, now_ms: i64, current: f64, t: &Term) -> TermValue {
    let lookback = t.lookback.as_millis() as i64;
    let Some(&(oldest, _)) = points.front() else {
        return TermValue::Unknown;
    };
    if points.len() < 5 || now_ms - oldest < lookback / 2 {
        return TermValue::Unknown;
    }
    let pts = points
        .iter()
        .map(|&(ts, v)| ((ts - now_ms) as f64 / 1000.0, v))
        .chain(std::iter::once((0.0, current)));
    let (mut n, mut sx, mut sy, mut sxx, mut sxy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (x, y) in pts {
        n += 1.0;
        sx += x;
        sy += y;
        sxx += x * x;
        sxy += x * y;
    }
    let denom = n * sxx - sx * sx;
    if denom.abs() < f64::EPSILON {
        return TermValue::Unknown;
    }
    let slope = (n * sxy - sx * sy) / denom;
    let at_now = (sy - slope * sx) / n;
    TermValue::Exact(at_now + slope * t.window.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::rule_expr::RuleExpr;

    fn term(text: &str) -> Term {
        RuleExpr::parse(&format!("{text} > 0"))
            .expect("parses")
            .conds[0]
            .lhs
            .clone()
    }

    fn run(t: &Term, series: impl Iterator<Item = (i64, f64)>) -> TermValue {
        let mut st: Option<TermState> = None;
        let mut last = TermValue::Unknown;
        for (ms, v) in series {
            let s = st.get_or_insert_with(|| TermState::new(t, ms));
            s.observe(ms, v);
            last = s.value(t, ms, v);
        }
        last
    }

    #[test]
    fn rate_and_delta_need_a_full_window_except_counter_lower_bounds() {
        let rate = term("rate(height, 1m)");
        let line = |secs: i64| (0..=secs).map(|s| (s * 1000, 2.0 * s as f64));
        assert_eq!(run(&rate, line(30)), TermValue::Unknown);
        assert_eq!(run(&rate, line(120)), TermValue::Exact(2.0));
        let delta = term("delta(rpc_errors_total, 10m)");
        assert_eq!(run(&delta, line(60)), TermValue::AtLeast(120.0));
    }

    #[test]
    fn age_is_a_lower_bound_until_a_change_is_seen() {
        let age = term("age(height)");
        let flat = (0..=10).map(|s| (s * 1000, 5.0));
        assert_eq!(run(&age, flat), TermValue::AtLeast(10.0));
        let moved = (0..=10).map(|s| (s * 1000, if s < 4 { 5.0 } else { 6.0 }));
        assert_eq!(run(&age, moved), TermValue::Exact(6.0));
    }

    #[test]
    fn forecast_extrapolates_a_linear_trend() {
        // Free space falls 1 GB an hour from 30 GB; in 24 h it is at 30 − 1·(6 + 24) = 0.
        let f = term("forecast(datadir_free_bytes, 24h, 6h)");
        let gb = 1e9;
        let series = (0..=360).map(|m| (m * 60_000, 30.0 * gb - gb * m as f64 / 60.0));
        match run(&f, series) {
            TermValue::Exact(v) => assert!((v / gb).abs() < 0.01, "{}", v / gb),
            other => panic!("{other:?}"),
        }
    }
}
