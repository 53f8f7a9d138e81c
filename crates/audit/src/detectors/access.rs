//! Access control: `tx.origin` authorization, unprotected `selfdestruct`, owner setters
//! anyone can call, caller-controlled `delegatecall`, ether sent to arbitrary addresses.

use super::guards::{caller_condition, caller_restricted, condition_of, is_caller};
use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{FnKind, Unit};
use crate::walk::{self, LowLevel, low_level_call, member, root_name};
use solang_parser::pt::{Expression, Statement};

/// `tx.origin` used to authorize.
pub struct TxOrigin;

static TX_ORIGIN: Info = Info {
    id: "tx-origin",
    category: Category::AccessControl,
    swc: Some("SWC-115"),
    cwe: Some("CWE-477"),
    severity: Severity::Medium,
    confidence: Confidence::High,
    description: "Authorization by tx.origin: any contract the owner calls can act as the owner (phishing).",
    fix: "Compare msg.sender instead of tx.origin.",
};

impl Detector for TxOrigin {
    fn info(&self) -> &'static Info {
        &TX_ORIGIN
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for f in &c.functions {
                let Some(body) = f.body() else { continue };
                walk::statements(body, 0, &mut |s, _| {
                    let Some(cond) = condition_of(s) else { return };
                    let mut uses = false;
                    walk::expressions(cond, &mut |e| {
                        if let Expression::Equal(_, a, b) | Expression::NotEqual(_, a, b) = e {
                            let (a, b) = (a.strip_parentheses(), b.strip_parentheses());
                            let origin = |x: &Expression| member(x) == Some(("tx", "origin"));
                            // `tx.origin == msg.sender` (no contract in between) is not authorization.
                            if (origin(a) || origin(b)) && !(is_caller(a) && is_caller(b)) {
                                uses = true;
                            }
                        }
                    });
                    if uses {
                        sink.report(
                            c,
                            Some(f),
                            &crate::model::stmt_loc(s),
                            "authorization by tx.origin",
                        );
                    }
                });
            }
        }
    }
}

/// `selfdestruct`/`suicide` anyone can call.
pub struct UnprotectedSelfdestruct;

static SUICIDAL: Info = Info {
    id: "unprotected-selfdestruct",
    category: Category::AccessControl,
    swc: Some("SWC-106"),
    cwe: Some("CWE-284"),
    severity: Severity::High,
    confidence: Confidence::High,
    description: "A public function destroys the contract without checking the caller.",
    fix: "Restrict the function to the owner (a modifier that checks msg.sender) or remove selfdestruct.",
};

impl Detector for UnprotectedSelfdestruct {
    fn info(&self) -> &'static Info {
        &SUICIDAL
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for f in c
                .functions
                .iter()
                .filter(|f| f.public && f.kind != FnKind::Constructor)
            {
                let Some(body) = f.body() else { continue };
                if caller_restricted(unit, c, f) {
                    continue;
                }
                walk::all_expressions(body, &mut |e, s, _| {
                    if matches!(walk::called_name(e), Some("selfdestruct" | "suicide"))
                        && matches!(e, Expression::FunctionCall(_, callee, _) if matches!(callee.strip_parentheses(), Expression::Variable(_)))
                    {
                        sink.report(
                            c,
                            Some(f),
                            &crate::model::stmt_loc(s),
                            format!(
                                "anyone can call {} and destroy the contract",
                                f.display_name()
                            ),
                        );
                    }
                });
            }
        }
    }
}

/// Names of state variables the contract (or its bases in this file) compares the caller with.
fn guard_variables(unit: &Unit<'_>, c: &crate::model::Contract<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for k in unit.lineage(c) {
        for f in &k.functions {
            let Some(body) = f.body() else { continue };
            walk::statements(body, 0, &mut |s, _| {
                let Some(cond) = condition_of(s) else { return };
                walk::expressions(cond, &mut |e| {
                    if caller_condition(e)
                        && let Expression::Equal(_, a, b) | Expression::NotEqual(_, a, b) = e
                    {
                        for side in [a, b] {
                            if !is_caller(side.strip_parentheses())
                                && let Some(n) = root_name(side)
                            {
                                out.push(n.to_string());
                            }
                        }
                    }
                });
            });
        }
    }
    out
}

/// An owner/admin variable anyone can overwrite (a public initializer, or an old constructor
/// whose name no longer matches the contract).
pub struct UnprotectedOwnerSetter;

static OWNER_SETTER: Info = Info {
    id: "unprotected-owner-setter",
    category: Category::AccessControl,
    swc: None,
    cwe: Some("CWE-284"),
    severity: Severity::High,
    confidence: Confidence::Medium,
    description: "A public function sets the variable that authorizes callers (owner, admin) without checking who calls: anyone can take over the contract. Covers initializers left public and pre-0.4.22 constructors whose name no longer matches the contract.",
    fix: "Make it a constructor, or check the caller (onlyOwner) and allow initialization once.",
};

impl Detector for UnprotectedOwnerSetter {
    fn info(&self) -> &'static Info {
        &OWNER_SETTER
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            let guards = guard_variables(unit, c);
            if guards.is_empty() {
                continue;
            }
            for f in c
                .functions
                .iter()
                .filter(|f| f.public && matches!(f.kind, FnKind::Function | FnKind::Fallback))
            {
                let Some(body) = f.body() else { continue };
                if caller_restricted(unit, c, f) {
                    continue;
                }
                walk::all_expressions(body, &mut |e, s, _| {
                    if let Expression::Assign(_, l, r) = e
                        && let Some(n) = root_name(l)
                        && guards.iter().any(|g| g == n)
                        && unit.lineage(c).iter().any(|k| k.state_var(n).is_some())
                        && (walk::mentions_sender(r)
                            || f.params.iter().any(|p| walk::mentions(r, p)))
                    {
                        sink.report(
                            c,
                            Some(f),
                            &crate::model::stmt_loc(s),
                            format!(
                                "anyone can call {} and set {n}, which authorizes callers",
                                f.display_name()
                            ),
                        );
                    }
                });
            }
        }
    }
}

/// `delegatecall` to an address or with data the caller chooses.
pub struct ControlledDelegatecall;

static DELEGATECALL: Info = Info {
    id: "controlled-delegatecall",
    category: Category::AccessControl,
    swc: Some("SWC-112"),
    cwe: Some("CWE-829"),
    severity: Severity::High,
    confidence: Confidence::Medium,
    description: "delegatecall runs code the caller picks (target or call data from the input) in this contract's storage.",
    fix: "Delegate only to fixed, trusted code; never forward msg.data or a caller-given address.",
};

impl Detector for ControlledDelegatecall {
    fn info(&self) -> &'static Info {
        &DELEGATECALL
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for f in c.functions.iter().filter(|f| f.public) {
                let Some(body) = f.body() else { continue };
                if caller_restricted(unit, c, f) {
                    continue;
                }
                walk::all_expressions(body, &mut |e, s, _| {
                    let Some(call) = low_level_call(e) else {
                        return;
                    };
                    if !matches!(call.kind, LowLevel::DelegateCall | LowLevel::CallCode) {
                        return;
                    }
                    let input = |x: &Expression| {
                        f.params.iter().any(|p| walk::mentions(x, p)) || {
                            let mut d = false;
                            walk::expressions(x, &mut |y| d |= member(y) == Some(("msg", "data")));
                            d
                        }
                    };
                    let args_controlled =
                        matches!(e, Expression::FunctionCall(_, _, args) if args.iter().any(input));
                    if input(call.target) || args_controlled {
                        sink.report(
                            c,
                            Some(f),
                            &crate::model::stmt_loc(s),
                            "delegatecall with a caller-controlled target or data",
                        );
                    }
                });
            }
        }
    }
}

/// Ether sent to an address the caller controls, by a function anyone can call, for an amount
/// not tied to the caller's own balance.
pub struct ArbitrarySend;

static ARBITRARY_SEND: Info = Info {
    id: "arbitrary-send",
    category: Category::AccessControl,
    swc: Some("SWC-105"),
    cwe: Some("CWE-284"),
    severity: Severity::High,
    confidence: Confidence::Medium,
    description: "Anyone can make the contract send ether to an address of their choice (the caller or a parameter), and the amount is not the caller's own balance.",
    fix: "Restrict the function to authorized callers, or pay out only what the caller is owed (and zero it first).",
};

impl Detector for ArbitrarySend {
    fn info(&self) -> &'static Info {
        &ARBITRARY_SEND
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for f in c.public_functions() {
                let Some(body) = f.body() else { continue };
                if caller_restricted(unit, c, f) || has_conditions(body) {
                    continue;
                }
                // Locals holding the caller's own entitlement (`uint a = balances[msg.sender];`).
                let mut sender_locals: Vec<String> = Vec::new();
                walk::statements(body, 0, &mut |s, _| {
                    if let Statement::VariableDefinition(_, d, Some(init)) = s
                        && walk::mentions_sender(init)
                        && let Some(n) = &d.name
                    {
                        sender_locals.push(n.name.clone());
                    }
                });
                walk::all_expressions(body, &mut |e, s, _| {
                    let Some(call) = low_level_call(e) else {
                        return;
                    };
                    let Some(value) = call.value else { return };
                    let to_caller = is_caller(call.target)
                        || f.params.iter().any(|p| walk::mentions(call.target, p));
                    let owed = walk::mentions_sender(value)
                        || sender_locals.iter().any(|l| walk::mentions(value, l));
                    if to_caller && !owed && !matches!(call.kind, LowLevel::DelegateCall) {
                        sink.report(
                            c,
                            Some(f),
                            &crate::model::stmt_loc(s),
                            format!(
                                "anyone can call {} to send ether to an address they choose",
                                f.display_name()
                            ),
                        );
                    }
                });
            }
        }
    }
}

/// True when the body has any `require`/`assert`/`if` (some condition gates the payout).
fn has_conditions(body: &Statement) -> bool {
    let mut found = false;
    walk::statements(body, 0, &mut |s, _| found |= condition_of(s).is_some());
    found
}
