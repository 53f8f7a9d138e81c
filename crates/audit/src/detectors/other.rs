//! Everything else the checklist covers: locked ether, shadowed state, deprecated constructs,
//! and the short-address attack on token transfers.

use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{FnKind, Kind, Unit, stmt_loc};
use crate::tolerant::THROW;
use crate::walk::{self, called_name, low_level_call, member};
use solang_parser::pt::{Expression, FunctionAttribute, Mutability, Statement};

/// A contract that accepts ether and has no way to send it out.
pub struct LockedEther;

static LOCKED: Info = Info {
    id: "locked-ether",
    category: Category::Other,
    swc: None,
    cwe: None,
    severity: Severity::Medium,
    confidence: Confidence::High,
    description: "The contract has payable functions but no way to send ether (no transfer, send, call with value or selfdestruct): every wei sent to it is locked forever.",
    fix: "Add a (restricted) withdrawal, or remove `payable`.",
};

impl Detector for LockedEther {
    fn info(&self) -> &'static Info {
        &LOCKED
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in unit.contracts.iter().filter(|c| c.kind == Kind::Contract) {
            let lineage = unit.lineage(c);
            // Bases defined elsewhere may send: only judge fully known contracts.
            if c.bases.iter().any(|b| unit.contract(b).is_none()) {
                continue;
            }
            let payable = lineage
                .iter()
                .flat_map(|k| k.functions.iter())
                .find(|f| f.payable);
            let Some(payable) = payable else { continue };
            let mut sends = false;
            for f in lineage.iter().flat_map(|k| k.functions.iter()) {
                let Some(body) = f.body() else { continue };
                walk::all_expressions(body, &mut |e, _, _| {
                    sends |= low_level_call(e).is_some_and(|c| {
                        c.value.is_some() || c.kind == walk::LowLevel::DelegateCall
                    }) || matches!(called_name(e), Some("selfdestruct" | "suicide"))
                        || matches!(e, Expression::FunctionCallBlock(..));
                });
                // Assembly can do anything.
                walk::statements(body, 0, &mut |s, _| {
                    sends |= matches!(s, Statement::Assembly { .. })
                });
            }
            if !sends {
                let m = format!(
                    "{} accepts ether ({}) but can never send it",
                    c.name,
                    payable.display_name()
                );
                sink.report(c, None, &c.def.loc, m);
            }
        }
    }
}

/// A state variable redeclared in a derived contract, or a local/parameter named like one.
pub struct Shadowing;

static SHADOWING: Info = Info {
    id: "shadowing-state",
    category: Category::Other,
    swc: Some("SWC-119"),
    cwe: Some("CWE-710"),
    severity: Severity::Medium,
    confidence: Confidence::High,
    description: "A state variable is declared again in a derived contract (two separate slots: code in the base reads the other one), or a local variable or parameter hides a state variable.",
    fix: "Remove the redeclaration (set the base's variable in the constructor) or rename the local.",
};

impl Detector for Shadowing {
    fn info(&self) -> &'static Info {
        &SHADOWING
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            let bases = unit.lineage(c);
            for v in &c.state {
                if let Some(b) = bases
                    .iter()
                    .skip(1)
                    .find(|b| b.state_var(&v.name).is_some())
                {
                    let m = format!(
                        "{} redeclares {}.{}: they are separate variables",
                        v.name, b.name, v.name
                    );
                    sink.report(c, None, &v.def.loc, m);
                }
            }
            let state: Vec<&str> = bases
                .iter()
                .flat_map(|k| k.state.iter().map(|v| v.name.as_str()))
                .collect();
            for f in c.functions.iter().filter(|f| f.kind != FnKind::Modifier) {
                let Some(body) = f.body() else { continue };
                walk::statements(body, 0, &mut |s, _| {
                    if let Statement::VariableDefinition(_, d, _) = s
                        && let Some(n) = &d.name
                        && state.contains(&n.name.as_str())
                    {
                        sink.report(
                            c,
                            Some(f),
                            &stmt_loc(s),
                            format!("local {} hides the state variable of the same name", n.name),
                        );
                    }
                });
            }
        }
    }
}

/// Constructs removed or deprecated in later compilers.
pub struct Deprecated;

static DEPRECATED: Info = Info {
    id: "deprecated-construct",
    category: Category::Other,
    swc: Some("SWC-111"),
    cwe: Some("CWE-477"),
    severity: Severity::Info,
    confidence: Confidence::High,
    description: "A deprecated construct (suicide, sha3, throw, block.blockhash, msg.gas, callcode, constant functions, var) is used: later compilers reject it, and some have different semantics.",
    fix: "selfdestruct, keccak256, revert(), blockhash(), gasleft(), delegatecall, view/pure, explicit types.",
};

impl Detector for Deprecated {
    fn info(&self) -> &'static Info {
        &DEPRECATED
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        for c in &unit.contracts {
            for f in &c.functions {
                if f.def
                    .attributes
                    .iter()
                    .any(|a| matches!(a, FunctionAttribute::Mutability(Mutability::Constant(_))))
                {
                    sink.report(
                        c,
                        Some(f),
                        &f.def.loc_prototype,
                        "`constant` on a function: use view or pure",
                    );
                }
                let Some(body) = f.body() else { continue };
                walk::all_expressions(body, &mut |e, s, _| {
                    let what = match e {
                        Expression::Variable(v) if v.name == THROW => Some("throw: use revert()"),
                        Expression::FunctionCall(..) => match called_name(e) {
                            Some("suicide") => Some("suicide(): use selfdestruct()"),
                            Some("sha3") => Some("sha3(): use keccak256()"),
                            Some("callcode") => Some("callcode: use delegatecall"),
                            _ => None,
                        },
                        x if member(x) == Some(("msg", "gas")) => Some("msg.gas: use gasleft()"),
                        x if member(x) == Some(("block", "blockhash")) => {
                            Some("block.blockhash(): use blockhash()")
                        }
                        _ => None,
                    };
                    if let Some(w) = what {
                        sink.report(c, Some(f), &stmt_loc(s), format!("deprecated {w}"));
                    }
                });
                // `var x = …` parses as a variable of type `var`; `var (a, , b) = …` was
                // rewritten and its offset recorded.
                let var_here = |off: usize| {
                    let (start, end) = crate::model::span(&f.def.loc);
                    (start..end).contains(&off)
                };
                walk::statements(body, 0, &mut |s, _| {
                    if let Statement::VariableDefinition(_, d, _) = s
                        && matches!(&d.ty, Expression::Variable(t) if t.name == "var")
                    {
                        sink.report(
                            c,
                            Some(f),
                            &stmt_loc(s),
                            "deprecated var: declare explicit types",
                        );
                    }
                });
                for off in unit.parsed.rewritten.iter().flat_map(|r| &r.var_tuples) {
                    if var_here(*off) {
                        let loc = solang_parser::pt::Loc::File(0, *off, off + 3);
                        sink.report(c, Some(f), &loc, "deprecated var: declare explicit types");
                    }
                }
            }
        }
    }
}

/// ERC-20 style transfers that do not check the call data length (pre-0.5 compilers pad
/// short addresses with the amount's bytes).
pub struct ShortAddress;

static SHORT_ADDRESS: Info = Info {
    id: "short-address",
    category: Category::ShortAddresses,
    swc: None,
    cwe: Some("CWE-20"),
    severity: Severity::Low,
    confidence: Confidence::Low,
    description: "A token transfer takes (address, uint) without checking msg.data.length: with a compiler before 0.5, a client that sends a short address makes the amount shift left (multiplied by 256 per missing byte).",
    fix: "Use a compiler ≥ 0.5 (it rejects short call data), or require(msg.data.length >= 68) in transfer functions.",
};

impl Detector for ShortAddress {
    fn info(&self) -> &'static Info {
        &SHORT_ADDRESS
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        if unit.version.is_some_and(|(minor, _)| minor >= 5) {
            return;
        }
        for c in &unit.contracts {
            for f in c.public_functions() {
                let lower = f.name.to_ascii_lowercase();
                let address_then_amount = f.def.params.len() >= 2
                    && matches!(&f.def.params[f.def.params.len() - 2].1, Some(p) if matches!(p.ty, Expression::Type(_, solang_parser::pt::Type::Address | solang_parser::pt::Type::AddressPayable)))
                    && matches!(&f.def.params[f.def.params.len() - 1].1, Some(p) if matches!(p.ty, Expression::Type(_, solang_parser::pt::Type::Uint(_))));
                if !(address_then_amount && (lower.contains("transfer") || lower.contains("send")))
                {
                    continue;
                }
                let Some(body) = f.body() else { continue };
                let mut checks_length = false;
                walk::all_expressions(body, &mut |e, _, _| {
                    checks_length |= matches!(e, Expression::MemberAccess(_, b, m) if m.name == "length" && member(b) == Some(("msg", "data")));
                });
                // Modifiers such as onlyPayloadSize(2 * 32) do the same.
                checks_length |= f
                    .modifiers
                    .iter()
                    .any(|m| m.to_ascii_lowercase().contains("payload"));
                if !checks_length {
                    let m = format!(
                        "{}() does not check msg.data.length (short address attack)",
                        f.name
                    );
                    sink.report(c, Some(f), &f.def.loc_prototype, m);
                }
            }
        }
    }
}
