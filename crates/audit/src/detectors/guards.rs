//! Who may call a function: access checks in its modifiers and its own conditions.

use crate::model::{Contract, Function, Unit};
use crate::walk::{self, member};
use solang_parser::pt::{Expression, Statement};

/// `msg.sender` or `tx.origin`.
pub fn is_caller(e: &Expression) -> bool {
    matches!(member(e), Some(("msg", "sender") | ("tx", "origin")))
}

/// A condition that restricts the caller: `msg.sender == owner`, `!= owner`,
/// `admins[msg.sender]`, `isOwner(msg.sender)`, combinations with `&&`, `||`, `!`.
pub fn caller_condition(e: &Expression) -> bool {
    match e.strip_parentheses() {
        Expression::Equal(_, a, b) | Expression::NotEqual(_, a, b) => {
            (is_caller(a.strip_parentheses()) && !is_caller(b.strip_parentheses()))
                || (is_caller(b.strip_parentheses()) && !is_caller(a.strip_parentheses()))
        }
        Expression::ArraySubscript(_, _, Some(k)) => is_caller(k.strip_parentheses()),
        Expression::Not(_, x) => caller_condition(x),
        Expression::And(_, a, b) | Expression::Or(_, a, b) => {
            caller_condition(a) || caller_condition(b)
        }
        Expression::FunctionCall(_, _, args) => {
            let name = walk::called_name(e).unwrap_or("").to_ascii_lowercase();
            args.iter().any(|a| is_caller(a.strip_parentheses()))
                && [
                    "owner", "admin", "auth", "role", "allowed", "only", "manager", "operator",
                ]
                .iter()
                .any(|k| name.contains(k))
        }
        _ => false,
    }
}

/// The condition of `require(c)`, `assert(c)`, or an `if (c)` statement.
pub fn condition_of(s: &Statement) -> Option<&Expression> {
    match s {
        Statement::If(_, c, ..) => Some(c),
        Statement::Expression(_, Expression::FunctionCall(_, f, args)) => {
            match f.strip_parentheses() {
                Expression::Variable(v) if v.name == "require" || v.name == "assert" => {
                    args.first()
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// True when a statement tree checks the caller (`require`, `assert`, or an `if` that
/// aborts or wraps the code).
pub fn checks_caller(body: &Statement) -> bool {
    let mut found = false;
    walk::statements(body, 0, &mut |s, _| {
        if let Some(c) = condition_of(s)
            && caller_condition(c)
        {
            found = true;
        }
    });
    found
}

/// True when only some callers may run `f`: one of its modifiers (or the function itself)
/// checks the caller. A modifier defined outside this file counts when its name says so
/// (`onlyOwner`, `isAdmin`…).
pub fn caller_restricted(unit: &Unit<'_>, contract: &Contract<'_>, f: &Function<'_>) -> bool {
    if f.body().is_some_and(checks_caller) {
        return true;
    }
    f.modifiers.iter().any(|m| {
        let def = unit.find_function(contract, m, crate::model::FnKind::Modifier);
        match def.and_then(|d| d.body()) {
            Some(body) => checks_caller(body),
            None => {
                let l = m.to_ascii_lowercase();
                l.starts_with("only")
                    || l.contains("owner")
                    || l.contains("admin")
                    || l.contains("auth")
            }
        }
    })
}
