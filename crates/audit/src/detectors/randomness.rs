//! Block values as randomness or as the clock a decision hangs on.

use super::guards::condition_of;
use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{Unit, stmt_loc};
use crate::walk::{self, block_value, called_name};
use solang_parser::helpers::CodeLocation;
use solang_parser::pt::{Expression, Statement};

/// Randomness from block variables.
pub struct WeakRandomness;

static RANDOMNESS: Info = Info {
    id: "weak-randomness",
    category: Category::BadRandomness,
    swc: Some("SWC-120"),
    cwe: Some("CWE-330"),
    severity: Severity::High,
    confidence: Confidence::Medium,
    description: "A random-looking value is derived from block data (timestamp, number, difficulty, coinbase, blockhash) that miners influence and other contracts can compute in the same block.",
    fix: "Use a commit-reveal scheme or a verifiable randomness oracle (VRF).",
};

fn block_values(e: &Expression) -> Vec<&'static str> {
    let mut out = Vec::new();
    walk::expressions(e, &mut |x| {
        if let Some(v) = block_value(x) {
            out.push(v);
        }
    });
    out
}

/// True when `e` hashes or takes a modulo of block data, or is named like a random value.
fn random_use(e: &Expression) -> Option<&'static str> {
    let mut found = None;
    walk::expressions(e, &mut |x| {
        let hashed = matches!(
            called_name(x),
            Some("keccak256" | "sha3" | "sha256" | "ripemd160")
        ) || matches!(x, Expression::Modulo(..));
        if hashed && found.is_none() {
            found = block_values(x).into_iter().next();
        }
    });
    found
}

/// Block data a miner or a same-block contract knows (not the clock: that is timestamp
/// dependence).
fn miner_value(v: &str) -> bool {
    matches!(
        v,
        "block.number"
            | "block.difficulty"
            | "block.coinbase"
            | "block.prevrandao"
            | "blockhash"
            | "block.gaslimit"
    )
}

fn random_name(n: &str) -> bool {
    let l = n.to_ascii_lowercase();
    [
        "rand", "seed", "lucky", "winner", "entropy", "dice", "lottery", "guess",
    ]
    .iter()
    .any(|k| l.contains(k))
}

impl Detector for WeakRandomness {
    fn info(&self) -> &'static Info {
        &RANDOMNESS
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            // State initialized from block data under a random-looking name.
            for v in &c.state {
                if let Some(init) = &v.def.initializer
                    && (random_use(init).is_some()
                        || (random_name(&v.name) && !block_values(init).is_empty()))
                {
                    sink.report(
                        c,
                        None,
                        &v.def.loc,
                        format!("{} is derived from block data", v.name),
                    );
                }
            }
            let state: Vec<String> = unit.state_names(c);
            for v in &c.state {
                if let Some(init) = &v.def.initializer
                    && block_values(init).iter().any(|b| miner_value(b))
                {
                    sink.report(
                        c,
                        None,
                        &v.def.loc,
                        format!(
                            "{} stores block data other code may use as randomness",
                            v.name
                        ),
                    );
                }
            }
            for f in &c.functions {
                let Some(body) = f.body() else { continue };
                walk::all_expressions(body, &mut |x, s, _| {
                    // Every blockhash: public to anyone in the same block, 0 after 256 blocks.
                    if block_value(x) == Some("blockhash") {
                        sink.report(
                            c,
                            Some(f),
                            &x.loc(),
                            "randomness from blockhash, which anyone can read in the same block",
                        );
                    }
                    // Block data kept in state for later draws.
                    let stored = match x {
                        Expression::Assign(_, l, r) => {
                            walk::root_name(l).is_some_and(|n| state.iter().any(|v| v == n))
                                && block_values(r).iter().any(|b| miner_value(b))
                        }
                        Expression::FunctionCall(_, callee, args) => {
                            matches!(callee.strip_parentheses(), Expression::MemberAccess(_, base, m) if m.name == "push" && walk::root_name(base).is_some_and(|n| state.iter().any(|v| v == n)))
                                && args
                                    .iter()
                                    .any(|a| block_values(a).iter().any(|b| miner_value(b)))
                        }
                        _ => false,
                    };
                    if stored {
                        sink.report(
                            c,
                            Some(f),
                            &stmt_loc(s),
                            "block data stored for a later draw",
                        );
                    }
                });
                walk::statements(body, 0, &mut |s, _| {
                    let named = match s {
                        Statement::VariableDefinition(_, d, Some(_)) => {
                            d.name.as_ref().is_some_and(|n| random_name(&n.name))
                        }
                        Statement::Expression(_, Expression::Assign(_, l, _)) => {
                            walk::root_name(l).is_some_and(random_name)
                        }
                        _ => false,
                    };
                    for e in walk::own_expressions(s) {
                        if let Some(v) = random_use(e) {
                            sink.report(c, Some(f), &stmt_loc(s), format!("randomness from {v}"));
                        } else if named && let Some(v) = block_values(e).first() {
                            sink.report(
                                c,
                                Some(f),
                                &stmt_loc(s),
                                format!("a random value taken from {v}"),
                            );
                        } else if let Some(cond) = condition_of(s)
                            && std::ptr::eq(cond, e)
                        {
                            // A decision on block number/hash/difficulty (a lottery draw).
                            if let Some(v) = block_values(cond).into_iter().find(|v| {
                                matches!(
                                    *v,
                                    "blockhash"
                                        | "block.number"
                                        | "block.difficulty"
                                        | "block.coinbase"
                                        | "block.prevrandao"
                                )
                            }) {
                                sink.report(
                                    c,
                                    Some(f),
                                    &stmt_loc(s),
                                    format!("a decision on {v}, which miners influence"),
                                );
                            }
                        }
                    }
                });
            }
        }
    }
}

/// Decisions and stored values that depend on the block timestamp.
pub struct TimestampDependence;

static TIMESTAMP: Info = Info {
    id: "timestamp-dependence",
    category: Category::TimeManipulation,
    swc: Some("SWC-116"),
    cwe: Some("CWE-829"),
    severity: Severity::Low,
    confidence: Confidence::Medium,
    description: "Control flow or stored state depends on block.timestamp / now, which the block's miner can shift by several seconds.",
    fix: "Do not decide on exact timestamps; tolerate a drift of minutes, or use block numbers for ordering.",
};

fn uses_time(e: &Expression) -> bool {
    block_values(e)
        .iter()
        .any(|v| matches!(*v, "now" | "block.timestamp"))
}

impl Detector for TimestampDependence {
    fn info(&self) -> &'static Info {
        &TIMESTAMP
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for v in &c.state {
                if v.def.initializer.as_ref().is_some_and(uses_time) {
                    sink.report(
                        c,
                        None,
                        &v.def.loc,
                        format!("{} is set from the block timestamp", v.name),
                    );
                }
            }
            for f in &c.functions {
                let Some(body) = f.body() else { continue };
                walk::statements(body, 0, &mut |s, _| {
                    let relevant = match s {
                        Statement::Emit(..) => false,
                        _ => {
                            condition_of(s).is_some_and(uses_time)
                                || matches!(s, Statement::While(_, c, _) if uses_time(c))
                                || matches!(s, Statement::Return(_, Some(e)) if uses_time(e))
                                || matches!(s, Statement::Expression(_, e) if walk::assignment(e).is_some_and(|(_, r)| r.is_some_and(uses_time)))
                                || matches!(s, Statement::VariableDefinition(_, _, Some(e)) if uses_time(e))
                        }
                    };
                    if relevant {
                        sink.report(c, Some(f), &stmt_loc(s), "depends on the block timestamp");
                    }
                });
            }
        }
    }
}
