//! Low-level calls whose failure nobody looks at.

use super::guards::condition_of;
use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{Unit, stmt_loc};
use crate::walk::{self, LowLevel, low_level_call};
use solang_parser::pt::{Expression, Statement};

/// `call`/`send`/`delegatecall` whose boolean result is dropped.
pub struct UncheckedCall;

static UNCHECKED: Info = Info {
    id: "unchecked-call",
    category: Category::UncheckedLowLevelCalls,
    swc: "SWC-104",
    severity: Severity::Medium,
    confidence: Confidence::High,
    description: "The return value of a low-level call (call, send, delegatecall, callcode) is not checked: when the call fails, execution continues as if it had succeeded.",
    fix: "require(success) on the returned boolean, or use transfer / a checked call helper.",
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

impl Detector for UncheckedCall {
    fn info(&self) -> &'static Info {
        &UNCHECKED
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for f in &c.functions {
                let Some(body) = f.body() else { continue };
                // Names of booleans holding a call result, and whether any condition reads them.
                let mut held: Vec<(String, &Statement, &'static str)> = Vec::new();
                let mut read: Vec<String> = Vec::new();
                walk::statements(body, 0, &mut |s, _| {
                    match s {
                        Statement::Expression(_, e) => {
                            if let Some(kind) = unchecked_kind(e) {
                                sink.report(
                                    c,
                                    Some(f),
                                    &stmt_loc(s),
                                    format!("the result of {kind} is ignored"),
                                );
                            }
                            // `ok = x.call(...)` / `(ok, ) = x.call(...)`.
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
                        _ => {}
                    }
                    if let Some(cond) = condition_of(s) {
                        walk::expressions(cond, &mut |x| {
                            if let Expression::Variable(v) = x {
                                read.push(v.name.clone());
                            }
                        });
                    }
                    if let Statement::Return(_, Some(e)) = s {
                        walk::expressions(e, &mut |x| {
                            if let Expression::Variable(v) = x {
                                read.push(v.name.clone());
                            }
                        });
                    }
                });
                // Tuple declarations `(bool ok, ) = x.call(...)` parse as assignments of a List.
                walk::all_expressions(body, &mut |e, s, _| {
                    if let Expression::Assign(_, l, r) = e
                        && matches!(l.as_ref(), Expression::List(..))
                        && let Some(kind) = unchecked_kind(r)
                    {
                        for n in list_names(l) {
                            held.push((n, s, kind));
                        }
                    }
                });
                for (name, s, kind) in held {
                    if !read.contains(&name) {
                        sink.report(
                            c,
                            Some(f),
                            &stmt_loc(s),
                            format!("the result of {kind} is stored in {name} but never checked"),
                        );
                    }
                }
            }
        }
    }
}

fn assigned_names(l: &Expression) -> Vec<String> {
    match l.strip_parentheses() {
        Expression::Variable(v) => vec![v.name.clone()],
        other => list_names(other),
    }
}

fn list_names(l: &Expression) -> Vec<String> {
    match l {
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
