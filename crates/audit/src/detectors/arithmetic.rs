//! Integer overflow and underflow before Solidity 0.8 (no checked arithmetic).

use super::guards::condition_of;
use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{Unit, stmt_loc};
use crate::walk::{self, root_name};
use solang_parser::helpers::CodeLocation;
use solang_parser::pt::{Expression, Statement};

/// `+`, `-`, `*` (and `+=`, `-=`, `*=`) stored without a bounds check, before 0.8.
pub struct IntegerOverflow;

static OVERFLOW: Info = Info {
    id: "integer-overflow",
    category: Category::Arithmetic,
    swc: Some("SWC-101"),
    cwe: Some("CWE-682"),
    severity: Severity::High,
    confidence: Confidence::Medium,
    description: "Arithmetic on values from the input or from state is stored without a bounds check; before Solidity 0.8 it wraps around silently (balances that underflow to huge numbers, lock times that overflow to the past).",
    fix: "Check the bounds first (require(a >= b) before a - b), use SafeMath, or compile with 0.8+.",
};

/// The operator and operands of an arithmetic expression that can wrap.
fn wrapping(e: &Expression) -> Option<(&'static str, &Expression, &Expression)> {
    match e.strip_parentheses() {
        Expression::Add(_, a, b) => Some(("+", a, b)),
        Expression::Subtract(_, a, b) => Some(("-", a, b)),
        Expression::Multiply(_, a, b) => Some(("*", a, b)),
        Expression::Power(_, a, b) => Some(("**", a, b)),
        _ => None,
    }
}

fn is_zero(e: &Expression) -> bool {
    matches!(e.strip_parentheses(), Expression::NumberLiteral(_, n, _, _) if n == "0")
}

fn is_literal(e: &Expression) -> bool {
    match e.strip_parentheses() {
        x if x.is_literal() => true,
        x => wrapping(x).is_some_and(|(_, a, b)| is_literal(a) && is_literal(b)),
    }
}

/// Names a check could compare: roots of both operands.
fn names(e: &Expression) -> Vec<String> {
    let mut out = Vec::new();
    walk::expressions(e, &mut |x| {
        if let Some(n) = root_name(x)
            && !["msg", "block", "tx", "now", "this"].contains(&n)
        {
            out.push(n.to_string());
        }
    });
    out
}

impl Detector for IntegerOverflow {
    fn info(&self) -> &'static Info {
        &OVERFLOW
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        if unit.checked_arithmetic() {
            return;
        }
        for c in unit
            .contracts
            .iter()
            .filter(|c| c.kind != crate::model::Kind::Interface)
        {
            for f in &c.functions {
                let Some(body) = f.body() else { continue };
                // Every name any condition of the function mentions: a bounds check on them.
                let mut checked: Vec<String> = Vec::new();
                walk::statements(body, 0, &mut |s, _| {
                    if let Some(cond) = condition_of(s) {
                        checked.extend(names(cond));
                    }
                });
                walk::statements(body, 0, &mut |s, _| {
                    // `require(a - b >= 0)`: always true for unsigned values, and `a - b`
                    // underflows instead of failing the check.
                    if let Some(cond) = condition_of(s) {
                        walk::expressions(cond, &mut |x| {
                            let tautology = match x {
                                Expression::MoreEqual(_, a, z) | Expression::LessEqual(_, z, a) => {
                                    matches!(a.strip_parentheses(), Expression::Subtract(..))
                                        && is_zero(z)
                                }
                                _ => false,
                            };
                            if tautology {
                                sink.report(c, Some(f), &stmt_loc(s), "`a - b >= 0` is always true for unsigned integers; the subtraction underflows instead of failing the check");
                            }
                        });
                    }
                    // Ether amounts computed without a check.
                    for e in walk::own_expressions(s) {
                        walk::expressions(e, &mut |x| {
                            if let Some(v) = walk::low_level_call(x).and_then(|c| c.value)
                                && let Some((op, a, b)) = wrapping(v)
                                && !(is_literal(a) && is_literal(b))
                                && !names(v).iter().all(|n| checked.contains(n))
                            {
                                sink.report(c, Some(f), &stmt_loc(s), format!("the ether amount `{}` can {} without a check (Solidity < 0.8)", unit.text(&v.loc()), if op == "-" { "underflow" } else { "overflow" }));
                            }
                        });
                    }
                    let found: Option<(&str, &Expression, &Expression)> = match s {
                        Statement::Expression(_, e) => match e {
                            Expression::AssignAdd(_, l, r) => Some(("+=", l, r)),
                            Expression::AssignSubtract(_, l, r) => Some(("-=", l, r)),
                            Expression::AssignMultiply(_, l, r) => Some(("*=", l, r)),
                            Expression::Assign(_, _, r) => wrapping(r),
                            _ => None,
                        },
                        Statement::VariableDefinition(_, _, Some(init)) => wrapping(init),
                        Statement::Return(_, Some(e)) => wrapping(e),
                        _ => None,
                    };
                    let Some((op, a, b)) = found else { return };
                    if is_literal(a) && is_literal(b) {
                        return;
                    }
                    // A check that mentions both sides (or the only variable side) guards it.
                    let sides: Vec<String> = names(a).into_iter().chain(names(b)).collect();
                    let guarded = !sides.is_empty() && sides.iter().all(|n| checked.contains(n));
                    if guarded {
                        return;
                    }
                    let text = unit
                        .text(&stmt_loc(s))
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim()
                        .to_string();
                    sink.report(
                        c,
                        Some(f),
                        &stmt_loc(s),
                        format!(
                            "`{text}` can {} without a check (Solidity < 0.8)",
                            if op.starts_with('-') {
                                "underflow"
                            } else {
                                "overflow"
                            }
                        ),
                    );
                });
            }
        }
    }
}
