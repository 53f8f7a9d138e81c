//! Transaction-order dependence: outcomes that whoever gets their transaction mined first
//! decides (payouts read from state another transaction can change; the ERC-20 approve race).

use super::guards::caller_restricted;
use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{Contract, FnKind, Unit, stmt_loc};
use crate::walk::{self, low_level_call, mentions_sender, root_name};
use solang_parser::pt::Expression;

/// State variables written by public functions: (variable, function name, caller-restricted).
fn public_writes(unit: &Unit<'_>, c: &Contract<'_>) -> Vec<(String, String, bool)> {
    let state: Vec<String> = unit.state_names(c);
    let mut out = Vec::new();
    for k in unit.lineage(c) {
        for f in k
            .functions
            .iter()
            .filter(|f| f.public && matches!(f.kind, FnKind::Function | FnKind::Fallback))
        {
            let Some(body) = f.body() else { continue };
            let restricted = caller_restricted(unit, k, f);
            walk::all_expressions(body, &mut |e, _, _| {
                if let Some((t, _)) = walk::assignment(e)
                    && let Some(n) = root_name(t)
                    && state.iter().any(|v| v == n)
                {
                    out.push((n.to_string(), f.name.clone(), restricted));
                }
            });
        }
    }
    out
}

/// Ether paid out by an amount or to a recipient another transaction can change first.
pub struct TodEther;

static TOD: Info = Info {
    id: "tod-ether",
    category: Category::FrontRunning,
    swc: Some("SWC-114"),
    cwe: Some("CWE-362"),
    severity: Severity::Medium,
    confidence: Confidence::Medium,
    description: "Ether is sent with an amount or to a recipient read from state that another public function sets: whoever gets a transaction mined first (a front-runner paying more gas, or the owner changing the reward) decides the outcome.",
    fix: "Commit-reveal, or bind the expected amount/recipient into the call (e.g. claim(expectedReward)) and check it.",
};

impl Detector for TodEther {
    fn info(&self) -> &'static Info {
        &TOD
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in unit
            .contracts
            .iter()
            .filter(|c| c.kind == crate::model::Kind::Contract)
        {
            let writes = public_writes(unit, c);
            if writes.is_empty() {
                continue;
            }
            // (state amount, paying function) of every payment.
            let mut paid: Vec<(String, String)> = Vec::new();
            for f in c.functions.iter().filter(|f| f.public) {
                let Some(body) = f.body() else { continue };
                walk::all_expressions(body, &mut |e, _, _| {
                    if let Some(v) = low_level_call(e).and_then(|c| c.value)
                        && !mentions_sender(v)
                        && let Some(n) = root_name(v)
                    {
                        paid.push((n.to_string(), f.name.clone()));
                    }
                });
            }
            for f in c
                .functions
                .iter()
                .filter(|f| f.public && f.kind != FnKind::Constructor)
            {
                let Some(body) = f.body() else { continue };
                walk::all_expressions(body, &mut |e, s, _| {
                    let Some(call) = low_level_call(e) else {
                        return;
                    };
                    let Some(value) = call.value else { return };
                    let written_elsewhere = |name: &str, unrestricted_only: bool| {
                        writes
                            .iter()
                            .find(|(v, by, restricted)| {
                                v == name && *by != f.name && !(unrestricted_only && *restricted)
                            })
                            .map(|(_, by, _)| by.clone())
                    };
                    // The amount: a state value (not the caller's own balance) another
                    // function sets, or this one sets while another pays it too.
                    let set_here_paid_there = |n: &str| {
                        writes.iter().any(|(v, by, _)| v == n && *by == f.name)
                            && paid.iter().any(|(v, by)| v == n && *by != f.name)
                    };
                    if !mentions_sender(value)
                        && let Some(n) = root_name(value)
                        && let Some(by) = written_elsewhere(n, false)
                            .or_else(|| set_here_paid_there(n).then(|| f.name.clone()))
                    {
                        let m = format!(
                            "pays {n}, which {by}() can change in a transaction mined first"
                        );
                        sink.report(c, Some(f), &stmt_loc(s), m);
                        return;
                    }
                    // The recipient: a state address anyone can overwrite.
                    if let Some(n) = root_name(call.target)
                        && let Some(by) = written_elsewhere(n, true)
                    {
                        let m = format!(
                            "pays {n}, which anyone can set through {by}() in a transaction mined first"
                        );
                        sink.report(c, Some(f), &stmt_loc(s), m);
                    }
                });
            }
        }
    }
}

/// `approve` that overwrites a non-zero allowance.
pub struct ApproveRace;

static APPROVE: Info = Info {
    id: "erc20-approve-race",
    category: Category::FrontRunning,
    swc: Some("SWC-114"),
    cwe: Some("CWE-362"),
    severity: Severity::Low,
    confidence: Confidence::Medium,
    description: "approve() overwrites an existing allowance: a spender who sees the change coming can spend the old allowance first and the new one after (the ERC-20 approve race).",
    fix: "Require the allowance to be 0 first (or the new value to be 0), or offer increaseAllowance/decreaseAllowance.",
};

impl Detector for ApproveRace {
    fn info(&self) -> &'static Info {
        &APPROVE
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for f in c.functions.iter().filter(|f| {
                f.public && f.name.eq_ignore_ascii_case("approve") && f.params.len() == 2
            }) {
                let Some(body) = f.body() else { continue };
                let value = &f.params[1];
                // A check that the old or the new allowance is zero defuses the race.
                let mut zero_check = false;
                walk::statements(body, 0, &mut |s, _| {
                    if let Some(cond) = super::guards::condition_of(s) {
                        walk::expressions(cond, &mut |x| {
                            if let Expression::Equal(_, a, b) = x
                                && [a, b].iter().any(|y| matches!(y.strip_parentheses(), Expression::NumberLiteral(_, n, _, _) if n == "0"))
                            {
                                zero_check = true;
                            }
                        });
                    }
                });
                if zero_check {
                    continue;
                }
                let mut at = None;
                walk::all_expressions(body, &mut |e, s, _| {
                    if at.is_none()
                        && let Expression::Assign(_, l, r) = e
                        && matches!(l.strip_parentheses(), Expression::ArraySubscript(..))
                        && walk::mentions(r, value)
                    {
                        at = Some(stmt_loc(s));
                    }
                });
                if let Some(loc) = at {
                    sink.report(c, Some(f), &f.def.loc_prototype, "approve() can be front-run: it overwrites the allowance without requiring it to be 0 first");
                    sink.report(c, Some(f), &loc, "the allowance is overwritten here; the spender can use the old and the new one");
                }
            }
        }
    }
}
