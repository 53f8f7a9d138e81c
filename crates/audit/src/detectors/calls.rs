//! Low-level calls whose failure nobody handles.

use super::guards::condition_of;
use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{Unit, is_abort, stmt_loc};
use crate::walk::{self, LowLevel, low_level_call};
use solang_parser::pt::{Expression, Statement};

/// `call`/`send`/`delegatecall` whose boolean result is dropped or not acted on.
pub struct UncheckedCall;

static UNCHECKED: Info = Info {
    id: "unchecked-call",
    category: Category::UncheckedLowLevelCalls,
    swc: Some("SWC-104"),
    cwe: Some("CWE-252"),
    severity: Severity::Medium,
    confidence: Confidence::High,
    description: "The result of a low-level call (call, send, delegatecall, callcode) is not acted on: it is ignored, stored and never read, tested by a branch that neither reverts nor records the failure, or tested by a condition a constant decides. When the call fails, execution continues as if it had succeeded.",
    fix: "require(success) on the returned boolean (or revert in the failure branch), or use transfer / a checked call helper.",
};

fn unchecked_kind(e: &Expression) -> Option<&'static str> {
    let call = low_level_call(e)?;
    Some(match call.kind {
        LowLevel::Call => "call",
        LowLevel::Send => "send",
        LowLevel::DelegateCall => "delegatecall",
        LowLevel::CallCode => "callcode",
        LowLevel::Transfer => return None,
    })
}

/// `x.call.value(v)` / `x.call.gas(g)` never invoked: the call does not happen at all.
fn incomplete_call(e: &Expression) -> bool {
    let Expression::FunctionCall(_, callee, _) = e.strip_parentheses() else {
        return false;
    };
    match callee.strip_parentheses() {
        Expression::MemberAccess(_, base, m) if m.name == "value" || m.name == "gas" => {
            matches!(base.strip_parentheses(), Expression::MemberAccess(_, _, c) if c.name == "call")
        }
        _ => false,
    }
}

/// True when `e` is made of literals only (`1 == 1`, `true`).
fn constant(e: &Expression) -> bool {
    let mut only = true;
    walk::expressions(e, &mut |x| {
        if matches!(
            x,
            Expression::Variable(_) | Expression::MemberAccess(..) | Expression::FunctionCall(..)
        ) {
            only = false;
        }
    });
    only
}

/// Where an `if` condition sends a failed call.
enum Polarity {
    /// `if (!call) { failure }`.
    FailureInThen,
    /// `if (call) { … } else { failure }`.
    FailureInElse,
    /// `if (!call || 1 == 1)`: a constant decides the branch anyway.
    Defeated,
}

fn polarity(cond: &Expression) -> Option<(Polarity, &'static str)> {
    match cond.strip_parentheses() {
        Expression::Not(_, x) => unchecked_kind(x).map(|k| (Polarity::FailureInThen, k)),
        Expression::Or(_, a, b) | Expression::And(_, a, b) => {
            let (call, other) = if polarity(a).is_some() {
                (a, b)
            } else {
                (b, a)
            };
            let (_, k) = polarity(call)?;
            constant(other).then_some((Polarity::Defeated, k))
        }
        x => unchecked_kind(x).map(|k| (Polarity::FailureInElse, k)),
    }
}

/// A failure branch handles the failure when it aborts, returns, or records it in state.
fn handles(branch: &Statement, state: &[String]) -> bool {
    let mut handled = walk::writes_any(branch, state);
    walk::statements(branch, 0, &mut |s, _| {
        handled |= matches!(s, Statement::Return(..)) || is_abort(s);
    });
    handled
}

/// Whether an `if` on a call result handles the failure (see [`Polarity`]). `if (call) {…}`
/// without `else` is fine: the failure skips the follow-up work.
fn if_handles(
    cond: &Expression,
    then: &Statement,
    els: Option<&Statement>,
    state: &[String],
) -> Option<(&'static str, &'static str)> {
    let (p, kind) = polarity(cond)?;
    let unhandled = match p {
        Polarity::Defeated => Some("a constant in the condition decides the branch anyway"),
        Polarity::FailureInThen => {
            (!handles(then, state)).then_some("the failure branch neither reverts nor records it")
        }
        Polarity::FailureInElse => match els {
            Some(e) if !handles(e, state) => {
                Some("the failure branch neither reverts nor records it")
            }
            None if then.is_empty() => Some("neither branch does anything"),
            _ => None,
        },
    };
    unhandled.map(|why| (kind, why))
}

fn names_in(e: &Expression, out: &mut Vec<String>) {
    walk::expressions(e, &mut |x| {
        if let Expression::Variable(v) = x {
            out.push(v.name.clone());
        }
    });
}

/// Names bound by `ok = …`, `(ok, ) = …`, `(bool ok, bytes memory d) = …`.
fn assigned_names(l: &Expression) -> Vec<String> {
    match l.strip_parentheses() {
        Expression::Variable(v) => vec![v.name.clone()],
        Expression::List(_, params) => params
            .iter()
            .filter_map(|(_, p)| {
                let p = p.as_ref()?;
                match (&p.name, &p.ty) {
                    (Some(n), _) => Some(n.name.clone()),
                    (None, Expression::Variable(v)) => Some(v.name.clone()),
                    _ => None,
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl Detector for UncheckedCall {
    fn info(&self) -> &'static Info {
        &UNCHECKED
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            let state: Vec<String> = unit.state_names(c);
            for f in &c.functions {
                let Some(body) = f.body() else { continue };
                // Variables holding a call result, and the names conditions and returns read.
                let mut held: Vec<(String, &Statement, &'static str)> = Vec::new();
                let mut read: Vec<String> = Vec::new();
                walk::statements(body, 0, &mut |s, _| {
                    match s {
                        Statement::If(_, cond, then, els) => {
                            if let Some((kind, why)) =
                                if_handles(cond, then, els.as_deref(), &state)
                            {
                                let m = format!("the failure of {kind} is not handled: {why}");
                                sink.report(c, Some(f), &stmt_loc(s), m);
                            }
                        }
                        Statement::Expression(_, e) => {
                            if let Some(kind) = unchecked_kind(e) {
                                let m = format!("the result of {kind} is ignored");
                                sink.report(c, Some(f), &stmt_loc(s), m);
                            } else if incomplete_call(e) {
                                let m = "call.value(...) is never invoked (missing `()`) and nothing checks it";
                                sink.report(c, Some(f), &stmt_loc(s), m);
                            }
                            if let Expression::Assign(_, l, r) = e
                                && let Some(kind) = unchecked_kind(r)
                            {
                                for n in assigned_names(l) {
                                    held.push((n, s, kind));
                                }
                            }
                        }
                        Statement::VariableDefinition(_, decl, Some(init)) => {
                            if let Some(kind) = unchecked_kind(init)
                                && let Some(n) = &decl.name
                            {
                                held.push((n.name.clone(), s, kind));
                            }
                        }
                        Statement::Return(_, Some(e)) => names_in(e, &mut read),
                        _ => {}
                    }
                    if let Some(cond) = condition_of(s) {
                        names_in(cond, &mut read);
                    }
                });
                for (name, s, kind) in held {
                    if !read.contains(&name) {
                        let m =
                            format!("the result of {kind} is stored in {name} but never checked");
                        sink.report(c, Some(f), &stmt_loc(s), m);
                    }
                }
            }
        }
    }
}
