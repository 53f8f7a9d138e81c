//! More access-control mistakes: constructors that are not, initializers anyone can call,
//! payouts that never debit, and balance checks that point the wrong way.

use super::guards::{caller_restricted, condition_of};
use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{FnKind, Unit, stmt_loc};
use crate::walk::{self, low_level_call, mentions_sender, root_name};
use solang_parser::pt::Expression;

/// True when `body` writes state directly or through a function of the contract it calls
/// (one level deep: initializers delegate to `initOwners`, `initDaylimit`…).
fn writes_state(
    unit: &Unit<'_>,
    c: &crate::model::Contract<'_>,
    body: &solang_parser::pt::Statement,
) -> bool {
    let state: Vec<String> = unit.state_names(c);
    let direct = |b: &solang_parser::pt::Statement| walk::writes_any(b, &state);
    if direct(body) {
        return true;
    }
    let mut via_call = false;
    walk::all_expressions(body, &mut |e, _, _| {
        if let Expression::FunctionCall(_, callee, _) = e
            && let Expression::Variable(name) = callee.strip_parentheses()
            && let Some(g) = unit.find_function(c, &name.name, FnKind::Function)
            && g.body().is_some_and(direct)
        {
            via_call = true;
        }
    });
    via_call
}

/// A function meant as constructor whose name does not make it one.
pub struct MisnamedConstructor;

static MISNAMED: Info = Info {
    id: "misnamed-constructor",
    category: Category::AccessControl,
    swc: Some("SWC-118"),
    cwe: Some("CWE-665"),
    severity: Severity::High,
    confidence: Confidence::High,
    description: "A function named like the contract (in another case) or `Constructor` is an ordinary public function, not a constructor: anyone can call it later and re-run the setup (usually taking ownership).",
    fix: "Use the `constructor` keyword (0.4.22+), or name the function exactly like the contract.",
};

impl Detector for MisnamedConstructor {
    fn info(&self) -> &'static Info {
        &MISNAMED
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for f in c.public_functions() {
                let lower = f.name.to_ascii_lowercase();
                let looks_like = lower == c.name.to_ascii_lowercase() || lower == "constructor";
                if looks_like && f.body().is_some_and(|b| writes_state(unit, c, b)) {
                    let m = format!(
                        "{}() looks like a constructor but is a public function anyone can call",
                        f.name
                    );
                    sink.report(c, Some(f), &f.def.loc_prototype, m);
                }
            }
        }
    }
}

/// `init…`/`initialize…` functions anyone can call (again).
pub struct UnprotectedInitializer;

static INITIALIZER: Info = Info {
    id: "unprotected-initializer",
    category: Category::AccessControl,
    swc: None,
    cwe: Some("CWE-284"),
    severity: Severity::High,
    confidence: Confidence::Medium,
    description: "An initializer (init…, initialize…) is public, does not check the caller, and writes state: anyone can call it first or again and set themselves up as owner (the Parity wallet hack).",
    fix: "Initialize in the constructor, or restrict the initializer and make it callable once (an `initialized` flag checked and set).",
};

impl Detector for UnprotectedInitializer {
    fn info(&self) -> &'static Info {
        &INITIALIZER
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in unit
            .contracts
            .iter()
            .filter(|c| c.kind == crate::model::Kind::Contract)
        {
            if disables_initializers(unit, c) {
                continue;
            }
            for f in c.public_functions() {
                let lower = f.name.to_ascii_lowercase();
                if !(lower.starts_with("init") || lower.starts_with("setup")) {
                    continue;
                }
                let Some(body) = f.body() else { continue };
                if caller_restricted(unit, c, f) || !writes_state(unit, c, body) {
                    continue;
                }
                let m = format!(
                    "{}() can be called by anyone and sets up the contract's state",
                    f.name
                );
                sink.report(c, Some(f), &f.def.loc_prototype, m);
            }
        }
    }
}

/// True when a constructor of the contract (or a base) calls `_disableInitializers()`: the
/// OpenZeppelin pattern that keeps an implementation's initializers from ever being called
/// on it (proxies initialize in the deployment transaction).
fn disables_initializers(unit: &Unit<'_>, c: &crate::model::Contract<'_>) -> bool {
    let mut found = false;
    for k in unit.lineage(c) {
        for f in k.functions.iter().filter(|f| f.kind == FnKind::Constructor) {
            if let Some(body) = f.body() {
                walk::all_expressions(body, &mut |e, _, _| {
                    found |= walk::called_name(e) == Some("_disableInitializers");
                });
            }
        }
    }
    found
}

/// Paying out the caller's balance without ever reducing it.
pub struct PayoutWithoutDebit;

static NO_DEBIT: Info = Info {
    id: "payout-without-debit",
    category: Category::AccessControl,
    swc: Some("SWC-105"),
    cwe: Some("CWE-284"),
    severity: Severity::High,
    confidence: Confidence::Medium,
    description: "The function sends the caller their recorded balance but never reduces that balance: the caller can withdraw again and again until the contract is empty.",
    fix: "Set the balance to 0 (or subtract the amount) before sending.",
};

impl Detector for PayoutWithoutDebit {
    fn info(&self) -> &'static Info {
        &NO_DEBIT
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for f in c.functions.iter().filter(|f| f.public) {
                let Some(body) = f.body() else { continue };
                let mut written: Vec<String> = Vec::new();
                walk::all_expressions(body, &mut |e, _, _| {
                    if let Some((t, _)) = walk::assignment(e)
                        && let Some(n) = root_name(t)
                    {
                        written.push(n.to_string());
                    }
                });
                walk::all_expressions(body, &mut |e, s, _| {
                    let Some(call) = low_level_call(e) else {
                        return;
                    };
                    let Some(v) = call.value else { return };
                    // `balances[msg.sender]` paid to msg.sender.
                    if let Expression::ArraySubscript(_, m, Some(k)) = v.strip_parentheses()
                        && mentions_sender(k)
                        && mentions_sender(call.target)
                        && let Some(map) = root_name(m)
                        && c.state_var(map).is_some()
                        && !written.iter().any(|w| w == map)
                    {
                        sink.report(c, Some(f), &stmt_loc(s), format!("pays {map}[msg.sender] but never reduces it: the caller can repeat the withdrawal"));
                    }
                });
            }
        }
    }
}

/// `require(amount >= balances[msg.sender])`: the check lets through exactly what it should
/// stop.
pub struct InvertedBalanceCheck;

static INVERTED: Info = Info {
    id: "inverted-balance-check",
    category: Category::AccessControl,
    swc: None,
    cwe: Some("CWE-697"),
    severity: Severity::High,
    confidence: Confidence::Medium,
    description: "A check compares the requested amount with the caller's balance the wrong way round (amount >= balance): it accepts withdrawals larger than the balance and rejects the legitimate ones.",
    fix: "require(balances[msg.sender] >= amount).",
};

impl Detector for InvertedBalanceCheck {
    fn info(&self) -> &'static Info {
        &INVERTED
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for f in c.functions.iter().filter(|f| f.public) {
                let Some(body) = f.body() else { continue };
                walk::statements(body, 0, &mut |s, _| {
                    let Some(cond) = condition_of(s) else { return };
                    if matches!(s, solang_parser::pt::Statement::If(..)) {
                        return;
                    }
                    // amount >= bal, amount > bal, bal <= amount, bal < amount
                    let (amount, bal) = match cond.strip_parentheses() {
                        Expression::MoreEqual(_, a, b) | Expression::More(_, a, b) => (a, b),
                        Expression::LessEqual(_, b, a) | Expression::Less(_, b, a) => (a, b),
                        _ => return,
                    };
                    let is_param = matches!(amount.strip_parentheses(), Expression::Variable(v) if f.params.contains(&v.name));
                    let callers_balance = matches!(bal.strip_parentheses(), Expression::ArraySubscript(_, m, Some(k)) if mentions_sender(k) && root_name(m).is_some_and(|n| c.state_var(n).is_some()));
                    if is_param && callers_balance {
                        sink.report(c, Some(f), &stmt_loc(s), "the amount is checked against the caller's balance the wrong way round");
                    }
                });
            }
        }
    }
}
