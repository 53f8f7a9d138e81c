//! Storage hazards of old compilers: uninitialized storage pointers, and dynamic arrays whose
//! length a caller controls (every storage slot becomes writable).

use super::guards::{caller_restricted, condition_of};
use super::{Detector, Sink};
use crate::finding::{Category, Confidence, Info, Severity};
use crate::model::{Unit, stmt_loc};
use crate::walk::{self, root_name};
use solang_parser::pt::{Expression, Statement, StorageLocation};

/// A local struct/array variable declared without a value before 0.5: it points at slot 0.
pub struct UninitializedStorage;

static UNINIT: Info = Info {
    id: "uninitialized-storage-pointer",
    category: Category::Other,
    swc: Some("SWC-109"),
    cwe: Some("CWE-824"),
    severity: Severity::High,
    confidence: Confidence::High,
    description: "A local struct or array variable declared without a value is a storage pointer to slot 0 before Solidity 0.5: writing through it overwrites the first state variables (often the owner).",
    fix: "Declare it `memory`, or point it at real storage (`Game storage g = games[id];`).",
};

impl Detector for UninitializedStorage {
    fn info(&self) -> &'static Info {
        &UNINIT
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        if unit.version.is_some_and(|(minor, _)| minor >= 5) {
            return;
        }
        for c in &unit.contracts {
            for f in &c.functions {
                let Some(body) = f.body() else { continue };
                walk::statements(body, 0, &mut |s, _| {
                    let Statement::VariableDefinition(_, d, None) = s else {
                        return;
                    };
                    if matches!(
                        d.storage,
                        Some(StorageLocation::Memory(_) | StorageLocation::Calldata(_))
                    ) {
                        return;
                    }
                    let complex = match &d.ty {
                        Expression::Variable(t) => unit.structs.contains(&t.name),
                        Expression::ArraySubscript(..) => true,
                        _ => false,
                    };
                    if complex {
                        let name = d.name.as_ref().map_or("?", |n| n.name.as_str());
                        sink.report(c, Some(f), &stmt_loc(s), format!("{name} is an uninitialized storage pointer: writes through it overwrite slot 0 onward"));
                    }
                });
            }
        }
    }
}

/// A dynamic array's length set from input or decremented without a check (before 0.6).
pub struct ArbitraryStorageWrite;

static ARBITRARY_WRITE: Info = Info {
    id: "arbitrary-storage-write",
    category: Category::AccessControl,
    swc: Some("SWC-124"),
    cwe: Some("CWE-123"),
    severity: Severity::High,
    confidence: Confidence::Medium,
    description: "A caller can set a dynamic array's length (from input, or by decrementing an empty array to 2^256-1) and then write at an index they choose: that index reaches every storage slot, the owner included.",
    fix: "Never set .length from input; check the array is non-empty before shrinking it (or use pop() on 0.6+); bound indexes by the real length.",
};

impl Detector for ArbitraryStorageWrite {
    fn info(&self) -> &'static Info {
        &ARBITRARY_WRITE
    }

    fn check(&self, unit: &Unit<'_>, sink: &mut Sink<'_>) {
        if unit.version.is_some_and(|(minor, _)| minor >= 6) {
            return;
        }
        for c in &unit.contracts {
            let arrays: Vec<String> = c
                .state
                .iter()
                .filter(|v| v.is_array())
                .map(|v| v.name.clone())
                .collect();
            if arrays.is_empty() {
                continue;
            }
            // Arrays whose length a public function lets the caller control.
            let mut controlled: Vec<String> = Vec::new();
            for f in c.functions.iter().filter(|f| f.public) {
                let Some(body) = f.body() else { continue };
                if caller_restricted(unit, c, f) {
                    continue;
                }
                let mut checked_nonempty: Vec<String> = Vec::new();
                walk::statements(body, 0, &mut |s, _| {
                    if let Some(cond) = condition_of(s) {
                        walk::expressions(cond, &mut |x| {
                            if let Expression::More(_, a, b) | Expression::Less(_, b, a) = x
                                && let Expression::MemberAccess(_, arr, m) = a.strip_parentheses()
                                && m.name == "length"
                                && matches!(b.strip_parentheses(), Expression::NumberLiteral(_, n, _, _) if n == "0")
                                && let Some(n) = root_name(arr)
                            {
                                checked_nonempty.push(n.to_string());
                            }
                        });
                    }
                    for e in walk::own_expressions(s) {
                        let Some((target, value)) = walk::assignment(e) else {
                            continue;
                        };
                        let Expression::MemberAccess(_, arr, m) = target.strip_parentheses() else {
                            continue;
                        };
                        let Some(n) = root_name(arr)
                            .filter(|n| m.name == "length" && arrays.iter().any(|a| a == n))
                        else {
                            continue;
                        };
                        let shrinks = matches!(
                            e,
                            Expression::PostDecrement(..)
                                | Expression::PreDecrement(..)
                                | Expression::AssignSubtract(..)
                        );
                        let from_input =
                            value.is_some_and(|v| f.params.iter().any(|p| walk::mentions(v, p)));
                        if (shrinks && !checked_nonempty.iter().any(|x| x == n)) || from_input {
                            controlled.push(n.to_string());
                            let m = if shrinks {
                                format!(
                                    "{n}.length can underflow to 2^256-1: then any storage slot is writable"
                                )
                            } else {
                                format!(
                                    "{n}.length is set from input: any storage slot becomes writable"
                                )
                            };
                            sink.report(c, Some(f), &stmt_loc(s), m);
                        }
                    }
                });
            }
            // Writes at caller-chosen indexes of those arrays.
            for f in c.functions.iter().filter(|f| f.public) {
                let Some(body) = f.body() else { continue };
                walk::all_expressions(body, &mut |e, s, _| {
                    if let Expression::Assign(_, l, _) = e
                        && let Expression::ArraySubscript(_, arr, Some(i)) = l.strip_parentheses()
                        && root_name(arr).is_some_and(|n| controlled.iter().any(|x| x == n))
                        && f.params.iter().any(|p| walk::mentions(i, p))
                    {
                        sink.report(c, Some(f), &stmt_loc(s), "a write at a caller-chosen index of an array whose length the caller controls");
                    }
                });
            }
        }
    }
}
