//! Reentrancy: state written after an external call in the same function.

use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{Contract, Unit, stmt_loc};
use crate::walk::{self, LowLevel, low_level_call, root_name};
use solang_parser::pt::{Expression, Loc, Statement};

/// State variables written after a call that hands control to another contract.
pub struct Reentrancy;

static REENTRANCY: Info = Info {
    id: "reentrancy",
    category: Category::Reentrancy,
    swc: Some("SWC-107"),
    cwe: Some("CWE-841"),
    severity: Severity::High,
    confidence: Confidence::Medium,
    description: "State is updated after an external call (call with or without ether, send, or a call to another contract): the callee can re-enter before the update and act on stale state (e.g. withdraw twice).",
    fix: "Checks-effects-interactions: update state before the call; or a reentrancy guard.",
};

/// Names of contract-typed variables (state, parameters, locals) in scope of `c`.
fn contract_typed<'a>(unit: &Unit<'a>, c: &Contract<'a>) -> Vec<(String, String)> {
    let is_contract_type = |ty: &Expression| match ty {
        Expression::Variable(t) => unit.contract(&t.name).is_some() || t.name.starts_with('I'),
        _ => false,
    };
    let type_name = |ty: &Expression| match ty {
        Expression::Variable(t) => t.name.clone(),
        _ => String::new(),
    };
    let mut out = Vec::new();
    for k in unit.lineage(c) {
        for v in &k.state {
            if is_contract_type(&v.def.ty) {
                out.push((v.name.clone(), type_name(&v.def.ty)));
            }
        }
        for f in &k.functions {
            for (_, p) in &f.def.params {
                if let Some(p) = p
                    && is_contract_type(&p.ty)
                    && let Some(n) = &p.name
                {
                    out.push((n.name.clone(), type_name(&p.ty)));
                }
            }
            if let Some(body) = f.body() {
                walk::statements(body, 0, &mut |s, _| {
                    if let Statement::VariableDefinition(_, d, _) = s
                        && is_contract_type(&d.ty)
                        && let Some(n) = &d.name
                    {
                        out.push((n.name.clone(), type_name(&d.ty)));
                    }
                });
            }
        }
    }
    out
}

/// An external call in `e`: a low-level call (not `transfer`), or `X(addr).f()` /
/// `token.f()` on a contract-typed name. Returns a short description.
fn external_call(
    unit: &Unit<'_>,
    typed: &[(String, String)],
    e: &Expression,
    transfer_only: bool,
) -> Option<String> {
    if let Some(call) = low_level_call(e) {
        if transfer_only {
            return (call.kind == LowLevel::Transfer).then(|| "transfer".into());
        }
        return match call.kind {
            LowLevel::Transfer => None,
            LowLevel::Send => Some("send".into()),
            LowLevel::Call if call.value.is_some() => Some("call with ether".into()),
            LowLevel::Call => Some("call".into()),
            LowLevel::DelegateCall | LowLevel::CallCode => None,
        };
    }
    if transfer_only {
        return None;
    }
    let Expression::FunctionCall(_, callee, _) = e else {
        return None;
    };
    let Expression::MemberAccess(_, base, m) = callee.strip_parentheses() else {
        return None;
    };
    let base = base.strip_parentheses();
    // The contract type called: a typed name, or `Token(addr)` (a cast).
    let ty: Option<&str> = match base {
        Expression::Variable(v) => typed
            .iter()
            .find(|(n, _)| *n == v.name)
            .map(|(_, t)| t.as_str()),
        // `channels[id].token.transfer(…)`: a struct field of contract type.
        Expression::MemberAccess(_, _, field) => unit
            .struct_fields
            .iter()
            .find(|(n, t)| {
                *n == field.name
                    && unit
                        .contract(t)
                        .is_some_and(|c| c.kind != crate::model::Kind::Library)
            })
            .map(|(_, t)| t.as_str()),
        Expression::FunctionCall(_, t, args) if args.len() == 1 => match t.strip_parentheses() {
            Expression::Variable(v)
                if unit
                    .contract(&v.name)
                    .is_some_and(|c| c.kind != crate::model::Kind::Library) =>
            {
                Some(v.name.as_str())
            }
            _ => None,
        },
        _ => None,
    };
    let ty = ty?;
    // From 0.5 on a `view`/`pure` function is called with STATICCALL: the callee cannot
    // change state (0.4 compilers still use CALL, so the callee may re-enter).
    let staticcall = unit.version.is_some_and(|(minor, _)| minor >= 5);
    let read_only = staticcall
        && unit.contract(ty).is_some_and(|k| {
            unit.lineage(k)
                .iter()
                .flat_map(|x| x.functions.iter())
                .any(|f| f.name == m.name && f.read_only)
        });
    (!read_only).then(|| format!("external call {}()", m.name))
}

/// Local storage references (`var acc = Acc[msg.sender];`, `Holder storage h = …`) of
/// `f`: writes through them are state writes.
fn storage_aliases(body: &Statement, state: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    walk::statements(body, 0, &mut |s, _| {
        if let Statement::VariableDefinition(_, d, Some(init)) = s
            && let Some(n) = &d.name
            && root_name(init).is_some_and(|r| state.iter().any(|v| v == r))
        {
            let by_ref = matches!(
                d.storage,
                Some(solang_parser::pt::StorageLocation::Storage(_))
            ) || matches!(&d.ty, Expression::Variable(t) if t.name == "var" || t.name.starts_with(char::is_uppercase));
            if by_ref {
                out.push(n.name.clone());
            }
        }
    });
    out
}

/// An external call a modifier of `f` makes before its `_`: it runs before the body.
fn modifier_call(
    unit: &Unit<'_>,
    c: &Contract<'_>,
    f: &crate::model::Function<'_>,
    typed: &[(String, String)],
    transfer_only: bool,
) -> Option<(Loc, String)> {
    for m in &f.modifiers {
        // A modifier defined outside the known files cannot be inspected: try the next one.
        let Some(body) = unit
            .find_function(c, m, crate::model::FnKind::Modifier)
            .and_then(|d| d.body())
        else {
            continue;
        };
        let mut found = None;
        let mut placeholder = false;
        walk::statements(body, 0, &mut |s, _| {
            if walk::is_placeholder(s) {
                placeholder = true;
            }
            if placeholder || found.is_some() {
                return;
            }
            for e in walk::own_expressions(s) {
                walk::expressions(e, &mut |x| {
                    if found.is_none()
                        && let Some(what) = external_call(unit, typed, x, transfer_only)
                    {
                        found = Some(what);
                    }
                });
            }
        });
        if let Some(what) = found {
            return Some((f.def.loc_prototype, format!("{what} in modifier {m}")));
        }
    }
    None
}

/// True when a modifier of `f` is a reentrancy guard: named like one (`nonReentrant`,
/// `noReentrancy`, `lock`, `mutex`…) or shaped like one (a state variable set before `_`
/// and set again after it).
fn reentrancy_guarded(unit: &Unit<'_>, c: &Contract<'_>, f: &crate::model::Function<'_>) -> bool {
    f.modifiers.iter().any(|m| {
        let l = m.to_ascii_lowercase();
        if l.contains("reentran")
            || l == "lock"
            || l == "locked"
            || l == "mutex"
            || l == "noreentry"
        {
            return true;
        }
        let Some(body) = unit
            .find_function(c, m, crate::model::FnKind::Modifier)
            .and_then(|d| d.body())
        else {
            return false;
        };
        let (mut before, mut after, mut placeholder) = (Vec::new(), Vec::new(), false);
        walk::statements(body, 0, &mut |s, _| {
            if walk::is_placeholder(s) {
                placeholder = true;
                return;
            }
            if let Statement::Expression(_, e) = s
                && let Some((t, _)) = walk::assignment(e)
                && let Some(n) = root_name(t)
            {
                if placeholder {
                    after.push(n.to_string())
                } else {
                    before.push(n.to_string())
                }
            }
        });
        before.iter().any(|n| after.contains(n))
    })
}

/// Reports state written after the first call `external_call` recognises, per function.
fn check_writes_after_calls(unit: &Unit<'_>, sink: &mut Sink<'_>, transfer_only: bool) {
    for c in unit
        .contracts
        .iter()
        .filter(|c| c.kind == crate::model::Kind::Contract)
    {
        let typed = contract_typed(unit, c);
        let state: Vec<String> = unit
            .lineage(c)
            .iter()
            .flat_map(|k| {
                k.state
                    .iter()
                    .filter(|v| !v.constant)
                    .map(|v| v.name.clone())
            })
            .collect();
        for f in c.functions.iter().filter(|f| f.public && !f.read_only) {
            let Some(body) = f.body() else { continue };
            if reentrancy_guarded(unit, c, f) {
                continue;
            }
            let mut written = state.clone();
            written.extend(storage_aliases(body, &state));
            let mut call: Option<(Loc, String)> = modifier_call(unit, c, f, &typed, transfer_only);
            let mut reported = false;
            walk::statements(body, 0, &mut |s, _| {
                if reported || matches!(s, Statement::Block { .. }) {
                    return;
                }
                for e in walk::own_expressions(s) {
                    walk::expressions(e, &mut |x| {
                        if let Some((at, what)) = &call
                            && let Some((target, _)) = walk::assignment(x)
                            && let Some(n) = root_name(target)
                            && written.iter().any(|v| v == n)
                            && !reported
                        {
                            reported = true;
                            let m = format!(
                                "{n} is written after the {what}; the callee can re-enter {} first",
                                f.display_name()
                            );
                            sink.report(c, Some(f), at, m);
                        }
                    });
                }
                if call.is_none() {
                    for e in walk::own_expressions(s) {
                        walk::expressions(e, &mut |x| {
                            if call.is_none()
                                && let Some(what) = external_call(unit, &typed, x, transfer_only)
                            {
                                call = Some((stmt_loc(s), what));
                            }
                        });
                    }
                }
            });
        }
    }
}

impl Detector for Reentrancy {
    fn info(&self) -> &'static Info {
        &REENTRANCY
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        check_writes_after_calls(unit, sink, false);
    }
}

/// State written after `transfer`: safe only while the 2300-gas stipend stays too small to
/// re-enter (gas repricings have broken that assumption before).
pub struct ReentrancyTransfer;

static REENTRANCY_TRANSFER: Info = Info {
    id: "reentrancy-transfer",
    category: Category::Reentrancy,
    swc: Some("SWC-107"),
    cwe: Some("CWE-841"),
    severity: Severity::Low,
    confidence: Confidence::Low,
    description: "State is updated after transfer(): the recipient runs code with a 2300-gas stipend first. That stops re-entry only as long as gas costs stay as they are (EIP-1884 already changed them), and the pattern breaks when transfer is later replaced by call.",
    fix: "Update state before sending (checks-effects-interactions).",
};

impl Detector for ReentrancyTransfer {
    fn info(&self) -> &'static Info {
        &REENTRANCY_TRANSFER
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        check_writes_after_calls(unit, sink, true);
    }
}
