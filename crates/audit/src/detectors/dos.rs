//! Denial of service: payments whose failure blocks everyone, external calls in loops, and
//! work that grows with arrays anyone can grow.

use super::guards::{caller_restricted, condition_of, is_caller};
use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{Contract, FnKind, Unit, stmt_loc};
use crate::walk::{self, LowLevel, low_level_call, root_name};
use solang_parser::pt::{Expression, Statement};

/// State arrays a public function grows (`push`, `length++`, `length += n`).
fn growable_arrays(unit: &Unit<'_>, c: &Contract<'_>) -> Vec<String> {
    let arrays: Vec<String> = unit
        .lineage(c)
        .iter()
        .flat_map(|k| {
            k.state
                .iter()
                .filter(|v| v.is_array())
                .map(|v| v.name.clone())
        })
        .collect();
    let mut out = Vec::new();
    for k in unit.lineage(c) {
        for f in k.functions.iter().filter(|f| f.public) {
            let Some(body) = f.body() else { continue };
            walk::all_expressions(body, &mut |e, _, _| {
                let grown = match e {
                    Expression::FunctionCall(_, callee, _) => match callee.strip_parentheses() {
                        Expression::MemberAccess(_, base, m) if m.name == "push" => root_name(base),
                        _ => None,
                    },
                    _ => walk::assignment(e).and_then(|(t, _)| match t.strip_parentheses() {
                        Expression::MemberAccess(_, base, m) if m.name == "length" => {
                            root_name(base)
                        }
                        _ => None,
                    }),
                };
                if let Some(n) = grown
                    && arrays.iter().any(|a| a == n)
                {
                    out.push(n.to_string());
                }
            });
        }
    }
    out
}

/// A payment to a stored address that reverts the whole function when it fails.
pub struct PushPayment;

static PUSH_PAYMENT: Info = Info {
    id: "dos-push-payment",
    category: Category::DenialOfService,
    swc: Some("SWC-113"),
    cwe: Some("CWE-703"),
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    description: "The function pays a stored address (a previous bidder, a list of creditors) and reverts if that payment fails, or pays inside a loop: one recipient that rejects ether (a contract without a payable fallback) blocks the function for everyone.",
    fix: "Pull payments: record what each address is owed and let it withdraw.",
};

impl Detector for PushPayment {
    fn info(&self) -> &'static Info {
        &PUSH_PAYMENT
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in unit
            .contracts
            .iter()
            .filter(|c| c.kind == crate::model::Kind::Contract)
        {
            let state: Vec<String> = unit.state_names(c);
            for f in c
                .functions
                .iter()
                .filter(|f| f.public && f.kind != FnKind::Constructor)
            {
                let Some(body) = f.body() else { continue };
                if caller_restricted(unit, c, f) {
                    continue;
                }
                walk::statements(body, 0, &mut |s, loops| {
                    // A payment whose failure reverts: `x.transfer(v)`, `require(x.send(v))`.
                    let mut paid: Vec<&Expression> = Vec::new();
                    if let Statement::Expression(_, e) = s
                        && let Some(call) = low_level_call(e)
                        && call.kind == LowLevel::Transfer
                    {
                        paid.push(call.target);
                    }
                    if !matches!(s, Statement::If(..))
                        && let Some(cond) = condition_of(s)
                        && let Some(call) = low_level_call(cond)
                        && matches!(call.kind, LowLevel::Send | LowLevel::Call)
                    {
                        paid.push(call.target);
                    }
                    for target in paid {
                        let stored = !is_caller(target)
                            && root_name(target).is_some_and(|n| state.iter().any(|v| v == n));
                        if stored {
                            let m = if loops > 0 {
                                "a payment in a loop reverts the whole loop when one recipient rejects it"
                            } else {
                                "a failing payment to a stored address reverts the function for everyone"
                            };
                            sink.report(c, Some(f), &stmt_loc(s), m);
                        }
                    }
                });
            }
        }
    }
}

/// External calls or payments inside loops.
pub struct CallsInLoop;

static CALLS_IN_LOOP: Info = Info {
    id: "dos-calls-in-loop",
    category: Category::DenialOfService,
    swc: Some("SWC-113"),
    cwe: Some("CWE-703"),
    severity: Severity::Low,
    confidence: Confidence::Medium,
    description: "An external call or ether payment runs inside a loop: one failing or gas-hungry callee stops the loop, and the loop's gas grows with the number of callees.",
    fix: "Pay or call one recipient per transaction (pull payments), or skip failures explicitly.",
};

impl Detector for CallsInLoop {
    fn info(&self) -> &'static Info {
        &CALLS_IN_LOOP
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in unit
            .contracts
            .iter()
            .filter(|c| c.kind == crate::model::Kind::Contract)
        {
            for f in c.functions.iter().filter(|f| f.public) {
                let Some(body) = f.body() else { continue };
                walk::all_expressions(body, &mut |e, s, loops| {
                    if loops > 0 && low_level_call(e).is_some() {
                        sink.report(
                            c,
                            Some(f),
                            &stmt_loc(s),
                            "an external call or payment inside a loop",
                        );
                    }
                });
            }
        }
    }
}

/// Loops (and array clears) whose work grows with input or with arrays anyone can grow.
pub struct UnboundedLoop;

static UNBOUNDED: Info = Info {
    id: "dos-unbounded-operation",
    category: Category::DenialOfService,
    swc: Some("SWC-128"),
    cwe: Some("CWE-400"),
    severity: Severity::Medium,
    confidence: Confidence::Low,
    description: "A loop runs over an array that any caller can grow, or as many times as the caller asks, and writes state (or the whole array is cleared at once): past the block gas limit the function can never succeed again.",
    fix: "Bound the work per transaction (pagination), or keep counters instead of iterating.",
};

/// Names a loop condition compares against: `i < arr.length` → `arr` (length), `i < n` → `n`.
fn loop_bound(cond: &Expression) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    if let Expression::Less(_, _, b)
    | Expression::LessEqual(_, _, b)
    | Expression::More(_, b, _)
    | Expression::MoreEqual(_, b, _) = cond.strip_parentheses()
    {
        match b.strip_parentheses() {
            Expression::MemberAccess(_, base, m) if m.name == "length" => {
                if let Some(n) = root_name(base) {
                    out.push((n.to_string(), true));
                }
            }
            Expression::Variable(v) => out.push((v.name.clone(), false)),
            _ => {}
        }
    }
    out
}

/// `new T[](n)` in either shape the parser produces.
fn is_new_array(e: &Expression) -> bool {
    match e.strip_parentheses() {
        Expression::New(..) => true,
        Expression::FunctionCall(_, n, _) => matches!(n.strip_parentheses(), Expression::New(..)),
        _ => false,
    }
}

impl Detector for UnboundedLoop {
    fn info(&self) -> &'static Info {
        &UNBOUNDED
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in unit
            .contracts
            .iter()
            .filter(|c| c.kind == crate::model::Kind::Contract)
        {
            let growable = growable_arrays(unit, c);
            let state: Vec<String> = unit.state_names(c);
            for f in c.functions.iter().filter(|f| f.public && !f.read_only) {
                let Some(body) = f.body() else { continue };
                walk::statements(body, 0, &mut |s, _| {
                    let (cond, inner) = match s {
                        Statement::For(_, _, Some(cond), _, Some(b)) => (cond.as_ref(), b.as_ref()),
                        Statement::While(_, cond, b) => (cond, b.as_ref()),
                        _ => return,
                    };
                    if !walk::writes_any(inner, &state) {
                        return;
                    }
                    for (name, is_length) in loop_bound(cond) {
                        let why = if is_length && growable.contains(&name) {
                            format!("loops over {name}, which any caller can grow")
                        } else if !is_length && f.params.contains(&name) {
                            format!("loops {name} times, as many as the caller asks")
                        } else {
                            continue;
                        };
                        sink.report(c, Some(f), &stmt_loc(s), why);
                    }
                });
                // Clearing a growable array at once: `arr = new T[](0)`, `delete arr`.
                walk::all_expressions(body, &mut |e, s, _| {
                    let cleared = match e {
                        Expression::Assign(_, l, r) => {
                            is_new_array(r).then(|| root_name(l)).flatten()
                        }
                        Expression::Delete(_, x) => root_name(x),
                        _ => None,
                    };
                    if let Some(n) = cleared
                        && growable.iter().any(|g| g == n)
                    {
                        sink.report(c, Some(f), &stmt_loc(s), format!("clears {n}, which any caller can grow: the cost grows with its length"));
                    }
                });
            }
        }
    }
}
