//! Alert rule conditions: `<term> <op> <rhs>` where `rhs` is a number, a term, or
//! `<number> * <term>` (thresholds that scale with a node's own parameters).
//!
//! A term is a fact or a function of one:
//! - `fact` — the current value, e.g. `head_age_seconds > stall_after_seconds`;
//! - `rate(fact, 5m)` / `delta(fact, 5m)` — per-second change / change over a window;
//! - `age(fact)` — seconds since the value last changed (staleness);
//! - `absent(fact)` — 1 when a polled node does not report the fact, else 0;
//! - `anomaly(fact[, 1h][, daily])` — robust z-score of the fact against its own history
//!   (EWMA level, MAD scale), optionally against the same time of day;
//! - `forecast(fact, 24h[, 6h])` — the value a linear trend over the lookback reaches after
//!   the horizon, e.g. `forecast(datadir_free_bytes, 24h) < 0`;
//! - `chain_min|chain_max|chain_avg|chain_sum|chain_count(fact)` — across the polled nodes of
//!   the node's chain. A rule made only of chain terms fires once per chain.
//!
//! Evaluation is three-valued: a window still warming up is *unknown*, which keeps an alert
//! in its current state instead of resolving it (so a restart never resolves what still holds).

use chainops_core::duration::{format_duration, parse_duration};
use chainops_core::facts::{FACT_NAMES, NodeFacts};
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            ">" => Op::Gt,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            "<=" => Op::Le,
            "==" => Op::Eq,
            "!=" => Op::Ne,
            _ => return None,
        })
    }

    /// The operator's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// Applies the comparison.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

/// A function applied to a fact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Func {
    /// The fact itself.
    Value,
    /// Per-second change over a window.
    Rate,
    /// Change over a window.
    Delta,
    /// Seconds since the value last changed.
    Age,
    /// 1 when the fact is missing, else 0.
    Absent,
    /// Robust z-score against the fact's history.
    Anomaly,
    /// Linear-trend value after a horizon.
    Forecast,
    /// Minimum across the chain's nodes.
    ChainMin,
    /// Maximum across the chain's nodes.
    ChainMax,
    /// Mean across the chain's nodes.
    ChainAvg,
    /// Sum across the chain's nodes.
    ChainSum,
    /// Number of the chain's nodes reporting the fact.
    ChainCount,
}

const FUNCS: &[(&str, Func)] = &[
    ("rate", Func::Rate),
    ("delta", Func::Delta),
    ("age", Func::Age),
    ("absent", Func::Absent),
    ("anomaly", Func::Anomaly),
    ("forecast", Func::Forecast),
    ("chain_min", Func::ChainMin),
    ("chain_max", Func::ChainMax),
    ("chain_avg", Func::ChainAvg),
    ("chain_sum", Func::ChainSum),
    ("chain_count", Func::ChainCount),
];

impl Func {
    /// Spelling in rules (`value` for a bare fact).
    pub fn as_str(self) -> &'static str {
        FUNCS
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("value", |(s, _)| s)
    }

    /// Whether the function aggregates across a chain's nodes.
    pub fn is_chain(self) -> bool {
        matches!(
            self,
            Func::ChainMin | Func::ChainMax | Func::ChainAvg | Func::ChainSum | Func::ChainCount
        )
    }

    /// Whether evaluation needs the fact's history (state kept per node).
    pub fn is_windowed(self) -> bool {
        matches!(
            self,
            Func::Rate | Func::Delta | Func::Age | Func::Anomaly | Func::Forecast
        )
    }
}

/// A fact, possibly under a function.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Term {
    /// Function.
    pub func: Func,
    /// Fact name.
    pub fact: &'static str,
    /// Window (`rate`, `delta`, `anomaly`), horizon (`forecast`), else zero.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub window: Duration,
    /// Lookback of `forecast`, else zero.
    #[serde(serialize_with = "chainops_core::section::ser_duration")]
    pub lookback: Duration,
    /// Daily seasonality (`anomaly`).
    pub daily: bool,
}

impl Term {
    fn fact(fact: &'static str) -> Term {
        Term {
            func: Func::Value,
            fact,
            window: Duration::ZERO,
            lookback: Duration::ZERO,
            daily: false,
        }
    }
}

/// Right-hand side of a condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Rhs {
    /// A constant.
    Number(f64),
    /// `factor * term` (a bare term has factor 1).
    Scaled(f64, Term),
}

/// One comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cond {
    /// Term on the left.
    pub lhs: Term,
    /// Operator.
    pub op: Op,
    /// Threshold.
    pub rhs: Rhs,
}

/// A parsed condition: one or more comparisons joined by `and`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleExpr {
    /// The comparisons; all must hold. The alert's value is the first one's left side.
    pub conds: Vec<Cond>,
}

/// A term's value as the engine resolves it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TermValue {
    /// Known value.
    Exact(f64),
    /// A lower bound (e.g. `age` before the first change was seen).
    AtLeast(f64),
    /// Not reported by the node: a threshold on it never fires.
    Missing,
    /// Not known yet (a window warming up): keeps the alert's state.
    Unknown,
}

/// Outcome of evaluating a condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Eval {
    /// Holds; carries the left-hand value.
    True(f64),
    /// Does not hold (or a fact is missing).
    False,
    /// Cannot tell yet.
    Unknown,
}

impl Eval {
    /// The left-hand value when the condition holds.
    pub fn value(self) -> Option<f64> {
        match self {
            Eval::True(v) => Some(v),
            _ => None,
        }
    }
}

fn unknown_fact(t: &str) -> String {
    format!(
        "\"{t}\" is not a known fact; use one of: {}",
        FACT_NAMES.join(", ")
    )
}

fn fact_of(t: &str) -> Result<&'static str, String> {
    FACT_NAMES
        .iter()
        .copied()
        .find(|f| *f == t)
        .ok_or_else(|| unknown_fact(t))
}

/// One lexical token of a rule expression, with the 1-based column it starts at.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tok<'a> {
    text: &'a str,
    col: usize,
}

impl Tok<'_> {
    fn is_word(&self) -> bool {
        self.text
            .starts_with(|c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '+'))
    }

    fn is_op(&self) -> bool {
        self.text.starts_with(is_op_char)
    }
}

fn is_op_char(c: char) -> bool {
    matches!(c, '>' | '<' | '=' | '!')
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.')
}

/// Splits `text` into words (facts, functions, numbers, durations, `and`), operator runs
/// and the punctuation `( ) , *`; anything else is an error naming its column.
fn tokenize(text: &str) -> Result<Vec<Tok<'_>>, String> {
    let mut out = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let col = i + 1;
        let signed = matches!(c, '-' | '+')
            && chars
                .get(i + 1)
                .is_some_and(|(_, n)| n.is_ascii_digit() || *n == '.');
        let run = |pred: fn(char) -> bool, from: usize| {
            let mut j = from;
            while j < chars.len() && pred(chars[j].1) {
                j += 1;
            }
            j
        };
        let j = if c.is_whitespace() {
            i += 1;
            continue;
        } else if is_word_char(c) || signed {
            run(is_word_char, i + 1)
        } else if is_op_char(c) {
            run(is_op_char, i + 1)
        } else if matches!(c, '(' | ')' | ',' | '*') {
            i + 1
        } else {
            return Err(format!(
                "unexpected character \"{c}\" at column {col}; a rule is facts, numbers, functions, comparisons and `and`"
            ));
        };
        let end = chars.get(j).map_or(text.len(), |(b, _)| *b);
        out.push(Tok {
            text: &text[at..end],
            col,
        });
        i = j;
    }
    Ok(out)
}

/// Recursive-descent parser over the tokens; every error names a column.
struct Parser<'a> {
    toks: Vec<Tok<'a>>,
    pos: usize,
    /// Column just past the end, for "expected … at the end".
    end_col: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Tok<'a>> {
        self.toks.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<Tok<'a>> {
        let t = self.peek();
        self.pos += usize::from(t.is_some());
        t
    }

    fn eat(&mut self, text: &str) -> bool {
        if self.peek().is_some_and(|t| t.text == text) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn found(&self) -> String {
        match self.peek() {
            Some(t) => format!("found \"{}\" at column {}", t.text, t.col),
            None => format!("found the end at column {}", self.end_col),
        }
    }

    fn expr(&mut self) -> Result<Vec<Cond>, String> {
        let mut conds = vec![self.cond(None)?];
        while let Some(t) = self.peek().filter(|t| t.text == "and") {
            self.pos += 1;
            conds.push(self.cond(Some(t))?);
        }
        match self.peek() {
            None => Ok(conds),
            Some(t) => Err(format!(
                "unexpected \"{}\" at column {}; join comparisons with `and`",
                t.text, t.col
            )),
        }
    }

    /// `term op rhs`; `after_and` is the `and` before it, for the error when nothing follows.
    fn cond(&mut self, after_and: Option<Tok<'a>>) -> Result<Cond, String> {
        const EXAMPLE: &str = "write e.g. \"head_age_seconds > stall_after_seconds\"";
        if self.peek().is_none() {
            return Err(match after_and {
                Some(a) => format!("expected a term after `and` at column {}", a.col),
                None => format!("is empty; {EXAMPLE}"),
            });
        }
        let lhs = self.term()?;
        let op_tok = match self.next() {
            Some(t) if t.is_op() => t,
            Some(t) if t.text == "and" || !t.is_op() => {
                return Err(format!(
                    "expected a comparison (>, >=, <, <=, == or !=) after \"{lhs}\", found \"{}\" at column {}; {EXAMPLE}",
                    t.text, t.col
                ));
            }
            _ => {
                return Err(format!(
                    "\"{lhs}\" is not a condition: a comparison is missing at column {}; {EXAMPLE}",
                    self.end_col
                ));
            }
        };
        let op = Op::parse(op_tok.text).ok_or_else(|| {
            format!(
                "\"{}\" at column {} is not an operator; use >, >=, <, <=, == or !=",
                op_tok.text, op_tok.col
            )
        })?;
        let Some(first) = self.peek().filter(|t| t.is_word() && t.text != "and") else {
            return Err(format!(
                "expected a number or a term after `{}` at column {}; {}",
                op_tok.text,
                op_tok.col,
                self.found()
            ));
        };
        let number = |t: &str| t.parse::<f64>().ok().filter(|v| v.is_finite());
        let is_scaled = self.toks.get(self.pos + 1).is_some_and(|t| t.text == "*");
        let rhs = if is_scaled {
            self.pos += 2;
            let k = number(first.text).ok_or_else(|| {
                format!(
                    "\"{}\" at column {} is not a number; write e.g. \"3 * block_time_seconds\"",
                    first.text, first.col
                )
            })?;
            Rhs::Scaled(k, self.term()?)
        } else if let Some(v) = number(first.text) {
            self.pos += 1;
            Rhs::Number(v)
        } else {
            Rhs::Scaled(1.0, self.term()?)
        };
        let cond = Cond { lhs, op, rhs };
        let chain_terms = cond.terms().filter(|t| t.func.is_chain()).count();
        if chain_terms > 0 && cond.lhs.func.is_chain() != (chain_terms == cond.terms().count()) {
            return Err(
                "mixes chain_* and per-node terms with the chain term on the left; put the per-node term on the left (e.g. \"height < chain_max(height)\") or use only chain terms"
                    .into(),
            );
        }
        Ok(cond)
    }

    /// `fact` or `func(fact, args…)`.
    fn term(&mut self) -> Result<Term, String> {
        let Some(name) = self.next().filter(|t| t.is_word() && t.text != "and") else {
            self.pos = self.pos.saturating_sub(1);
            return Err(format!("expected a fact or a function, {}", self.found()));
        };
        if !self.eat("(") {
            return fact_of(name.text)
                .map(Term::fact)
                .map_err(|m| format!("{m} (column {})", name.col));
        }
        let func = FUNCS
            .iter()
            .find(|(n, _)| *n == name.text)
            .map(|x| x.1)
            .ok_or_else(|| {
                let names: Vec<&str> = FUNCS.iter().map(|x| x.0).collect();
                format!(
                    "\"{}\" at column {} is not a function; use one of: {}",
                    name.text,
                    name.col,
                    names.join(", ")
                )
            })?;
        let mut args: Vec<Tok<'a>> = Vec::new();
        loop {
            match self.next() {
                Some(t) if t.is_word() => args.push(t),
                _ => {
                    self.pos = self.pos.saturating_sub(1);
                    return Err(format!(
                        "{}() at column {}: expected an argument, {}",
                        name.text,
                        name.col,
                        self.found()
                    ));
                }
            }
            if self.eat(")") {
                break;
            }
            if !self.eat(",") {
                return Err(format!(
                    "{}( at column {} is missing a closing parenthesis; {}",
                    name.text,
                    name.col,
                    self.found()
                ));
            }
        }
        apply_args(name, func, &args)
    }
}

/// Checks a function's arguments and builds its term.
fn apply_args(name: Tok<'_>, func: Func, args: &[Tok<'_>]) -> Result<Term, String> {
    let fact = fact_of(args[0].text).map_err(|m| format!("{m} (column {})", args[0].col))?;
    let mut term = Term {
        func,
        ..Term::fact(fact)
    };
    let name = name.text;
    let dur = |t: &Tok<'_>, what: &str| {
        parse_duration(t.text)
            .ok()
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                format!(
                    "{name}(): \"{}\" at column {} is not a {what} like 5m",
                    t.text, t.col
                )
            })
    };
    let written: Vec<&str> = args.iter().map(|t| t.text).collect();
    let usage = |u: &str| {
        Err(format!(
            "{name}() takes {u}; got {name}({})",
            written.join(", ")
        ))
    };
    match (func, &args[1..]) {
        (Func::Rate | Func::Delta, [w]) => term.window = dur(w, "window")?,
        (Func::Rate | Func::Delta, _) => return usage("(fact, window)"),
        (Func::Anomaly, rest) if rest.len() <= 2 => {
            term.window = Duration::from_secs(3600);
            for a in rest {
                if a.text == "daily" {
                    term.daily = true;
                } else {
                    term.window = dur(a, "window")?;
                }
            }
        }
        (Func::Anomaly, _) => return usage("(fact[, window][, daily])"),
        (Func::Forecast, [h]) => {
            term.window = dur(h, "horizon")?;
            term.lookback = (term.window / 4).max(Duration::from_secs(300));
        }
        (Func::Forecast, [h, l]) => {
            term.window = dur(h, "horizon")?;
            term.lookback = dur(l, "lookback")?;
        }
        (Func::Forecast, _) => return usage("(fact, horizon[, lookback])"),
        (_, []) => {}
        _ => return usage("one fact"),
    }
    if term.window > Duration::from_secs(90 * 86_400)
        || term.lookback > Duration::from_secs(30 * 86_400)
    {
        return Err(format!(
            "{name}(): windows are limited to 90d (horizon) and 30d (lookback)"
        ));
    }
    Ok(term)
}

impl RuleExpr {
    /// Parses `cond [and cond…]`; the error names the problem, its column and what to
    /// write instead.
    pub fn parse(text: &str) -> Result<RuleExpr, String> {
        let toks = tokenize(text)?;
        let mut parser = Parser {
            toks,
            pos: 0,
            end_col: text.chars().count() + 1,
        };
        let conds = parser.expr()?;
        let chain = conds.iter().filter(|c| c.is_chain_scoped()).count();
        if chain != 0 && chain != conds.len() {
            return Err(
                "joins a chain-wide comparison (chain_* on the left) with a per-node one; a rule is either per chain or per node"
                    .into(),
            );
        }
        Ok(RuleExpr { conds })
    }

    /// The terms of every comparison, in order.
    pub fn terms(&self) -> impl Iterator<Item = &Term> {
        self.conds.iter().flat_map(Cond::terms)
    }

    /// Whether the rule fires once per chain rather than per node.
    pub fn is_chain_scoped(&self) -> bool {
        self.conds.iter().all(Cond::is_chain_scoped)
    }

    /// Evaluates with `resolve(i, term)` giving the value of the `i`-th term of
    /// [`terms`](Self::terms). False wins over unknown: one comparison known to fail decides.
    pub fn eval_with(&self, resolve: &mut dyn FnMut(usize, &Term) -> TermValue) -> Eval {
        let mut offset = 0;
        let mut out = Eval::Unknown;
        let mut unknown = false;
        for (i, c) in self.conds.iter().enumerate() {
            let n = c.terms().count();
            let e = c.eval_with(&mut |j, t| resolve(offset + j, t));
            offset += n;
            match e {
                Eval::False => return Eval::False,
                Eval::Unknown => unknown = true,
                Eval::True(v) if i == 0 => out = Eval::True(v),
                Eval::True(_) => {}
            }
        }
        if unknown { Eval::Unknown } else { out }
    }

    /// Evaluates plain facts only (functions are unknown): for tests and simple callers.
    pub fn eval(&self, facts: &NodeFacts) -> Eval {
        self.eval_with(&mut |_, t| match (t.func, facts.get(t.fact)) {
            (Func::Value, Some(v)) => TermValue::Exact(v),
            (Func::Value, None) => TermValue::Missing,
            (Func::Absent, v) => TermValue::Exact(if v.is_some() { 0.0 } else { 1.0 }),
            _ => TermValue::Unknown,
        })
    }
}

impl Cond {
    /// The terms of the condition (left first).
    pub fn terms(&self) -> impl Iterator<Item = &Term> {
        std::iter::once(&self.lhs).chain(match &self.rhs {
            Rhs::Scaled(_, t) => Some(t),
            Rhs::Number(_) => None,
        })
    }

    /// Whether the comparison is chain-wide (a chain term on the left).
    pub fn is_chain_scoped(&self) -> bool {
        self.lhs.func.is_chain()
    }

    /// Evaluates with `resolve(i, term)` giving the value of the `i`-th term of
    /// [`terms`](Self::terms).
    pub fn eval_with(&self, resolve: &mut dyn FnMut(usize, &Term) -> TermValue) -> Eval {
        let lhs = resolve(0, &self.lhs);
        let (k, rhs) = match &self.rhs {
            Rhs::Number(v) => (1.0, TermValue::Exact(*v)),
            Rhs::Scaled(k, t) => (*k, resolve(1, t)),
        };
        match (lhs, rhs) {
            (TermValue::Missing, _) | (_, TermValue::Missing) => Eval::False,
            (TermValue::Unknown, _) | (_, TermValue::Unknown) => Eval::Unknown,
            (TermValue::Exact(a), TermValue::Exact(b)) => {
                if self.op.holds(a, k * b) {
                    Eval::True(a)
                } else {
                    Eval::False
                }
            }
            // A lower bound decides `>`/`>=` only when it already exceeds the threshold.
            (TermValue::AtLeast(a), TermValue::Exact(b))
                if matches!(self.op, Op::Gt | Op::Ge) && self.op.holds(a, k * b) =>
            {
                Eval::True(a)
            }
            _ => Eval::Unknown,
        }
    }
}

impl fmt::Display for Term {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.func {
            Func::Value => write!(f, "{}", self.fact),
            Func::Rate | Func::Delta => write!(
                f,
                "{}({}, {})",
                self.func.as_str(),
                self.fact,
                format_duration(self.window)
            ),
            Func::Anomaly => {
                write!(f, "anomaly({}, {}", self.fact, format_duration(self.window))?;
                if self.daily {
                    write!(f, ", daily")?;
                }
                write!(f, ")")
            }
            Func::Forecast => write!(
                f,
                "forecast({}, {}, {})",
                self.fact,
                format_duration(self.window),
                format_duration(self.lookback)
            ),
            _ => write!(f, "{}({})", self.func.as_str(), self.fact),
        }
    }
}

impl fmt::Display for RuleExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.conds.iter().enumerate() {
            if i > 0 {
                write!(f, " and ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Cond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.lhs, self.op.as_str())?;
        match &self.rhs {
            Rhs::Number(v) => write!(f, "{v}"),
            Rhs::Scaled(k, t) if *k == 1.0 => write!(f, "{t}"),
            Rhs::Scaled(k, t) => write!(f, "{k} * {t}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chainops_core::node::NodeKind;

    fn facts(pairs: &[(&'static str, f64)]) -> NodeFacts {
        NodeFacts {
            node: "n".into(),
            chain: "c".into(),
            kind: NodeKind::new("evm"),
            polled: true,
            values: pairs.iter().copied().collect(),
        }
    }

    #[test]
    fn parses_and_evaluates_the_three_threshold_forms() {
        let f = facts(&[
            ("head_age_seconds", 30.0),
            ("stall_after_seconds", 15.0),
            ("block_time_seconds", 12.0),
            ("peers", 2.0),
        ]);
        let e = |s: &str| RuleExpr::parse(s).unwrap().eval(&f);
        assert_eq!(
            e("head_age_seconds > stall_after_seconds"),
            Eval::True(30.0)
        );
        assert_eq!(e("head_age_seconds > 3 * block_time_seconds"), Eval::False);
        assert_eq!(e("peers < 3"), Eval::True(2.0));
        assert_eq!(e("peers<3"), Eval::True(2.0), "spaces are optional");
        assert_eq!(e("txpool_pending > 10"), Eval::False, "missing never fires");
        assert_eq!(e("absent(txpool_pending) > 0"), Eval::True(1.0));
        assert_eq!(e("rate(height, 5m) < 0.1"), Eval::Unknown);
        assert_eq!(
            RuleExpr::parse("peers  <  3").unwrap().to_string(),
            "peers < 3"
        );
    }

    #[test]
    fn functions_parse_with_defaults_and_round_trip() {
        for (text, shown) in [
            ("rate(height,5m) < 0.01", "rate(height, 5m) < 0.01"),
            (
                "anomaly(gas_price_wei) > 4",
                "anomaly(gas_price_wei, 1h) > 4",
            ),
            (
                "anomaly( block_interval_seconds , 2h , daily ) > 4",
                "anomaly(block_interval_seconds, 2h, daily) > 4",
            ),
            (
                "forecast(datadir_free_bytes, 24h) < 0",
                "forecast(datadir_free_bytes, 1d, 6h) < 0",
            ),
            ("chain_max(up) < 1", "chain_max(up) < 1"),
            ("height < chain_max(height)", "height < chain_max(height)"),
            (
                "age(height) >= 2 * stall_after_seconds",
                "age(height) >= 2 * stall_after_seconds",
            ),
        ] {
            let e = RuleExpr::parse(text).unwrap_or_else(|m| panic!("{text}: {m}"));
            assert_eq!(e.to_string(), shown);
            assert_eq!(RuleExpr::parse(shown).as_ref(), Ok(&e));
        }
        assert!(
            RuleExpr::parse("chain_max(up) < 1")
                .unwrap()
                .is_chain_scoped()
        );
        assert!(
            !RuleExpr::parse("height < chain_max(height)")
                .unwrap()
                .is_chain_scoped()
        );
    }

    #[test]
    fn and_joins_comparisons_and_false_beats_unknown() {
        let f = facts(&[("up", 0.0), ("peers", 2.0)]);
        let e = |s: &str| RuleExpr::parse(s).unwrap().eval(&f);
        assert_eq!(e("up < 1 and peers < 3"), Eval::True(0.0));
        assert_eq!(e("up < 1 and peers > 3"), Eval::False);
        assert_eq!(e("rate(height, 1m) > 0 and peers > 3"), Eval::False);
        assert_eq!(e("rate(height, 1m) > 0 and peers < 3"), Eval::Unknown);
        let x = RuleExpr::parse("chain_max(up) < 1 and chain_count(up) >= 2").unwrap();
        assert!(x.is_chain_scoped());
        assert_eq!(x.to_string(), "chain_max(up) < 1 and chain_count(up) >= 2");
        assert!(
            RuleExpr::parse("chain_max(up) < 1 and up < 1")
                .unwrap_err()
                .contains("either per chain or per node")
        );
    }

    #[test]
    fn lower_bounds_decide_only_when_already_past_the_threshold() {
        let e = RuleExpr::parse("age(height) > 10").unwrap();
        assert_eq!(
            e.eval_with(&mut |_, _| TermValue::AtLeast(12.0)),
            Eval::True(12.0)
        );
        assert_eq!(
            e.eval_with(&mut |_, _| TermValue::AtLeast(5.0)),
            Eval::Unknown
        );
        assert_eq!(e.eval_with(&mut |_, _| TermValue::Exact(5.0)), Eval::False);
    }

    #[test]
    fn errors_name_the_problem() {
        let err = |s: &str| RuleExpr::parse(s).unwrap_err();
        assert!(err("hight > 3").contains("\"hight\" is not a known fact"));
        assert!(err("peers => 3").contains("not an operator"));
        assert!(err("peers").contains("not a condition"));
        assert!(err("peers < x * lag_blocks").contains("not a number"));
        assert!(
            err("avg(peers) > 3")
                .contains("\"avg\" at column 1 is not a function; use one of: rate")
        );
        assert!(err("rate(height) > 3").contains("rate() takes (fact, window)"));
        assert!(err("rate(height, soon) > 3").contains("\"soon\" at column 14 is not a window"));
        assert!(err("rate(height, 5m > 3").contains("missing a closing parenthesis"));
        assert!(err("chain_max(height) > height").contains("put the per-node term on the left"));
    }

    /// Issue 15 item 10: a syntax error names its position.
    #[test]
    fn syntax_errors_name_their_column() {
        let err = |s: &str| RuleExpr::parse(s).unwrap_err();
        assert_eq!(
            err("height > 5 and"),
            "expected a term after `and` at column 12"
        );
        assert!(
            err("height >").contains("after `>` at column 8"),
            "{}",
            err("height >")
        );
        assert!(err("peers => 3").contains("at column 7"));
        assert!(err("peers < 3 peers").contains("unexpected \"peers\" at column 11"));
        assert!(err("peers < 3 $").contains("\"$\" at column 11"));
        assert!(err("hight > 3").contains("(column 1)"));
        assert!(err("rate(height, 5m > 3").contains("rate( at column 1"));
        assert!(err("rate(height, soon) > 3").contains("\"soon\" at column 14"));
        assert!(err("").contains("is empty"));
        assert!(err("中文 > 3").contains("column 1"));
        // Multi-byte text before the error counts characters, not bytes.
        assert!(
            err("peers > 3 and 高度 > 1").contains("column 15"),
            "{}",
            err("peers > 3 and 高度 > 1")
        );
        assert_eq!(
            RuleExpr::parse("anomaly(gas_price_wei) > -3.5")
                .unwrap()
                .to_string(),
            "anomaly(gas_price_wei, 1h) > -3.5"
        );
    }
}
