//! Alert rule conditions: `<fact> <op> <rhs>` where `rhs` is a number, another fact, or
//! `<number> * <fact>` (thresholds that scale with a node's own parameters), e.g.
//! `head_age_seconds > stall_after_seconds`, `blocks_behind > lag_blocks`, `peers < 3`,
//! `rpc_latency_seconds > 10 * block_time_seconds`.

use crate::facts::{FACT_NAMES, NodeFacts};
use serde::Serialize;
use std::fmt;

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

/// Right-hand side of a condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Rhs {
    /// A constant.
    Number(f64),
    /// `factor * fact` (a bare fact has factor 1).
    Scaled(f64, &'static str),
}

/// A parsed condition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleExpr {
    /// Fact on the left.
    pub fact: &'static str,
    /// Operator.
    pub op: Op,
    /// Threshold.
    pub rhs: Rhs,
}

impl RuleExpr {
    /// Parses `fact op rhs`; the error names the problem and lists the facts.
    pub fn parse(text: &str) -> Result<RuleExpr, String> {
        let tokens: Vec<&str> = text.split_whitespace().collect();
        let fact_of = |t: &str| FACT_NAMES.iter().copied().find(|f| *f == t);
        let unknown = |t: &str| {
            format!(
                "\"{t}\" is not a known fact; use one of: {}",
                FACT_NAMES.join(", ")
            )
        };
        let (lhs, op, rest) = match tokens.as_slice() {
            [lhs, op, rest @ ..] if !rest.is_empty() => (*lhs, *op, rest),
            _ => {
                return Err(format!(
                    "\"{text}\" is not a condition; write e.g. \"head_age_seconds > stall_after_seconds\""
                ));
            }
        };
        let fact = fact_of(lhs).ok_or_else(|| unknown(lhs))?;
        let op = Op::parse(op)
            .ok_or_else(|| format!("\"{op}\" is not an operator; use >, >=, <, <=, == or !="))?;
        let number = |t: &str| t.parse::<f64>().ok().filter(|v| v.is_finite());
        let rhs = match rest {
            [t] => match number(t) {
                Some(v) => Rhs::Number(v),
                None => Rhs::Scaled(1.0, fact_of(t).ok_or_else(|| unknown(t))?),
            },
            [n, "*", f] => Rhs::Scaled(
                number(n).ok_or_else(|| format!("\"{n}\" is not a number"))?,
                fact_of(f).ok_or_else(|| unknown(f))?,
            ),
            _ => {
                return Err(format!(
                    "\"{}\" is not a threshold; use a number, a fact, or NUMBER * fact",
                    rest.join(" ")
                ));
            }
        };
        Ok(RuleExpr { fact, op, rhs })
    }

    /// Evaluates on a node: `Some(lhs value)` when the condition holds, `None` when it does
    /// not or a fact is absent (an absent fact never fires a threshold rule).
    pub fn eval(&self, facts: &NodeFacts) -> Option<f64> {
        let lhs = facts.get(self.fact)?;
        let rhs = match &self.rhs {
            Rhs::Number(v) => *v,
            Rhs::Scaled(k, f) => k * facts.get(f)?,
        };
        self.op.holds(lhs, rhs).then_some(lhs)
    }
}

impl fmt::Display for RuleExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} ", self.fact, self.op.as_str())?;
        match &self.rhs {
            Rhs::Number(v) => write!(f, "{v}"),
            Rhs::Scaled(k, fact) if *k == 1.0 => write!(f, "{fact}"),
            Rhs::Scaled(k, fact) => write!(f, "{k} * {fact}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::NodeKind;

    fn facts(pairs: &[(&'static str, f64)]) -> NodeFacts {
        NodeFacts {
            node: "n".into(),
            chain: "c".into(),
            kind: NodeKind::Evm,
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
        assert_eq!(
            RuleExpr::parse("head_age_seconds > stall_after_seconds")
                .unwrap()
                .eval(&f),
            Some(30.0)
        );
        assert_eq!(
            RuleExpr::parse("head_age_seconds > 3 * block_time_seconds")
                .unwrap()
                .eval(&f),
            None
        );
        assert_eq!(RuleExpr::parse("peers < 3").unwrap().eval(&f), Some(2.0));
        assert_eq!(
            RuleExpr::parse("txpool_pending > 10").unwrap().eval(&f),
            None,
            "absent fact never fires"
        );
        assert_eq!(
            RuleExpr::parse("peers  <  3").unwrap().to_string(),
            "peers < 3"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(
            RuleExpr::parse("hight > 3")
                .unwrap_err()
                .contains("\"hight\" is not a known fact")
        );
        assert!(
            RuleExpr::parse("peers => 3")
                .unwrap_err()
                .contains("not an operator")
        );
        assert!(
            RuleExpr::parse("peers")
                .unwrap_err()
                .contains("not a condition")
        );
        assert!(
            RuleExpr::parse("peers < x * lag_blocks")
                .unwrap_err()
                .contains("not a number")
        );
    }
}
