//! Visiting statements and expressions in source order, and recognising the calls detectors
//! care about (low-level calls, ether transfers, `selfdestruct`, block variables).

use solang_parser::pt::{Expression, Statement};

/// Calls every statement under `s` (pre-order, source order) with its loop depth.
pub fn statements<'a>(s: &'a Statement, loops: usize, f: &mut dyn FnMut(&'a Statement, usize)) {
    f(s, loops);
    match s {
        Statement::Block { statements: ss, .. } => {
            for x in ss {
                statements(x, loops, f);
            }
        }
        Statement::If(_, _, a, b) => {
            statements(a, loops, f);
            if let Some(b) = b {
                statements(b, loops, f);
            }
        }
        Statement::While(_, _, b) | Statement::DoWhile(_, b, _) => statements(b, loops + 1, f),
        Statement::For(_, init, _, _, body) => {
            if let Some(i) = init {
                statements(i, loops, f);
            }
            if let Some(b) = body {
                statements(b, loops + 1, f);
            }
        }
        Statement::Try(_, _, ok, catches) => {
            if let Some((_, b)) = ok {
                statements(b, loops, f);
            }
            for c in catches {
                match c {
                    solang_parser::pt::CatchClause::Simple(_, _, b)
                    | solang_parser::pt::CatchClause::Named(_, _, _, b) => statements(b, loops, f),
                }
            }
        }
        _ => {}
    }
}

/// The expressions a statement holds directly (not those of nested statements).
pub fn own_expressions(s: &Statement) -> Vec<&Expression> {
    match s {
        Statement::If(_, c, ..) | Statement::While(_, c, _) | Statement::DoWhile(_, _, c) => {
            vec![c]
        }
        Statement::Expression(_, e) | Statement::Emit(_, e) | Statement::Try(_, e, ..) => vec![e],
        Statement::VariableDefinition(_, _, init) => init.iter().collect(),
        Statement::For(_, _, cond, next, _) => {
            cond.iter().chain(next.iter()).map(|b| b.as_ref()).collect()
        }
        Statement::Return(_, e) => e.iter().collect(),
        Statement::Revert(_, _, args) => args.iter().collect(),
        Statement::Args(_, args) | Statement::RevertNamedArgs(_, _, args) => {
            args.iter().map(|a| &a.expr).collect()
        }
        _ => Vec::new(),
    }
}

/// Calls every expression under `e` (pre-order), `e` included.
pub fn expressions<'a>(e: &'a Expression, f: &mut dyn FnMut(&'a Expression)) {
    f(e);
    match e {
        Expression::MemberAccess(_, x, _) => expressions(x, f),
        Expression::ArraySubscript(_, a, b) => {
            expressions(a, f);
            if let Some(b) = b {
                expressions(b, f);
            }
        }
        Expression::ArraySlice(_, a, b, c) => {
            expressions(a, f);
            for x in [b, c].into_iter().flatten() {
                expressions(x, f);
            }
        }
        Expression::ConditionalOperator(_, a, b, c) => {
            for x in [a, b, c] {
                expressions(x, f);
            }
        }
        Expression::FunctionCall(_, callee, args) => {
            expressions(callee, f);
            for a in args {
                expressions(a, f);
            }
        }
        Expression::FunctionCallBlock(_, callee, block) => {
            expressions(callee, f);
            for x in own_expressions(block) {
                expressions(x, f);
            }
        }
        Expression::NamedFunctionCall(_, callee, args) => {
            expressions(callee, f);
            for a in args {
                expressions(&a.expr, f);
            }
        }
        Expression::ArrayLiteral(_, xs) => {
            for x in xs {
                expressions(x, f);
            }
        }
        Expression::List(_, params) => {
            for (_, p) in params {
                if let Some(p) = p {
                    expressions(&p.ty, f);
                }
            }
        }
        other => {
            let (a, b) = other.components();
            for x in [a, b].into_iter().flatten() {
                expressions(x, f);
            }
        }
    }
}

/// Every expression in a statement tree, with the statement that holds it and loop depth.
pub fn all_expressions<'a>(
    body: &'a Statement,
    f: &mut dyn FnMut(&'a Expression, &'a Statement, usize),
) {
    statements(body, 0, &mut |s, loops| {
        for e in own_expressions(s) {
            expressions(e, &mut |x| f(x, s, loops));
        }
    });
}

/// The `_;` placeholder of a modifier (where the function body runs).
pub fn is_placeholder(s: &Statement) -> bool {
    matches!(s, Statement::Expression(_, Expression::Variable(v)) if v.name == "_")
}

/// Kinds of low-level calls and ether transfers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LowLevel {
    /// `x.call(...)` (with or without value).
    Call,
    /// `x.send(v)`.
    Send,
    /// `x.transfer(v)` (one argument: ether).
    Transfer,
    /// `x.delegatecall(...)`.
    DelegateCall,
    /// `x.callcode(...)`.
    CallCode,
}

/// A recognised low-level call.
#[derive(Debug, Clone, Copy)]
pub struct LowLevelCall<'a> {
    /// Which call.
    pub kind: LowLevel,
    /// The address called.
    pub target: &'a Expression,
    /// Ether sent (`.value(v)`, `{value: v}`, `send(v)`, `transfer(v)`).
    pub value: Option<&'a Expression>,
}

/// Recognises `target.call(...)`, `.call.value(v)(...)`, `.call{value: v}(...)`, `.send(v)`,
/// `.transfer(v)`, `.delegatecall(...)`, `.callcode(...)` (with `.gas(g)` anywhere).
pub fn low_level_call(e: &Expression) -> Option<LowLevelCall<'_>> {
    let Expression::FunctionCall(_, callee, args) = e.strip_parentheses() else {
        return None;
    };
    let mut value = None;
    let mut c: &Expression = callee.strip_parentheses();
    loop {
        match c {
            // `.value(v)` / `.gas(g)` applied to the call member.
            Expression::FunctionCall(_, inner, a) => match inner.strip_parentheses() {
                Expression::MemberAccess(_, base, m) if m.name == "value" || m.name == "gas" => {
                    if m.name == "value" {
                        value = a.first();
                    }
                    c = base.strip_parentheses();
                }
                _ => return None,
            },
            Expression::FunctionCallBlock(_, inner, block) => {
                if let Statement::Args(_, named) = block.as_ref() {
                    value = named
                        .iter()
                        .find(|n| n.name.name == "value")
                        .map(|n| &n.expr);
                }
                c = inner.strip_parentheses();
            }
            Expression::MemberAccess(_, target, m) => {
                let kind = match m.name.as_str() {
                    "call" => LowLevel::Call,
                    "send" => LowLevel::Send,
                    "transfer" if args.len() == 1 => LowLevel::Transfer,
                    "delegatecall" => LowLevel::DelegateCall,
                    "callcode" => LowLevel::CallCode,
                    _ => return None,
                };
                if matches!(kind, LowLevel::Send | LowLevel::Transfer) {
                    value = args.first();
                }
                return Some(LowLevelCall {
                    kind,
                    target: target.strip_parentheses(),
                    value,
                });
            }
            _ => return None,
        }
    }
}

/// `a.b` as ("a", "b") when `a` is a plain name.
pub fn member(e: &Expression) -> Option<(&str, &str)> {
    match e.strip_parentheses() {
        Expression::MemberAccess(_, base, m) => match base.strip_parentheses() {
            Expression::Variable(v) => Some((v.name.as_str(), m.name.as_str())),
            _ => None,
        },
        _ => None,
    }
}

/// The called function's name for `f(...)` or `x.f(...)`.
pub fn called_name(e: &Expression) -> Option<&str> {
    let Expression::FunctionCall(_, callee, _) = e.strip_parentheses() else {
        return None;
    };
    match callee.strip_parentheses() {
        Expression::Variable(v) => Some(&v.name),
        Expression::MemberAccess(_, _, m) => Some(&m.name),
        _ => None,
    }
}

/// The plain variable name at the root of `a`, `a[i]`, `a.b`, `a[i].b[j]`.
pub fn root_name(e: &Expression) -> Option<&str> {
    match e.strip_parentheses() {
        Expression::Variable(v) => Some(&v.name),
        Expression::ArraySubscript(_, a, _) | Expression::MemberAccess(_, a, _) => root_name(a),
        _ => None,
    }
}

/// True when `e` mentions `msg.sender`.
pub fn mentions_sender(e: &Expression) -> bool {
    let mut found = false;
    expressions(e, &mut |x| found |= member(x) == Some(("msg", "sender")));
    found
}

/// True when `e` mentions a variable named `name`.
pub fn mentions(e: &Expression, name: &str) -> bool {
    let mut found = false;
    expressions(e, &mut |x| {
        found |= matches!(x, Expression::Variable(v) if v.name == name);
    });
    found
}

/// Block values a miner influences or everyone can read ahead: the source of weak randomness
/// and timestamp dependence. Returns the name (`block.timestamp`, `now`, `blockhash`…).
pub fn block_value(e: &Expression) -> Option<&'static str> {
    match e.strip_parentheses() {
        Expression::Variable(v) if v.name == "now" => Some("now"),
        Expression::FunctionCall(..) => match called_name(e) {
            Some("blockhash") => Some("blockhash"),
            _ => match e {
                Expression::FunctionCall(_, callee, _) => match member(callee) {
                    Some(("block", "blockhash")) => Some("blockhash"),
                    _ => None,
                },
                _ => None,
            },
        },
        x => match member(x) {
            Some(("block", "timestamp")) => Some("block.timestamp"),
            Some(("block", "number")) => Some("block.number"),
            Some(("block", "difficulty")) => Some("block.difficulty"),
            Some(("block", "prevrandao")) => Some("block.prevrandao"),
            Some(("block", "coinbase")) => Some("block.coinbase"),
            Some(("block", "gaslimit")) => Some("block.gaslimit"),
            _ => None,
        },
    }
}

/// Assignment-like expressions: (target, value) for `=`, `+=`, `-=`…, and `++`/`--`/`delete`.
pub fn assignment(e: &Expression) -> Option<(&Expression, Option<&Expression>)> {
    match e {
        Expression::Assign(_, l, r)
        | Expression::AssignAdd(_, l, r)
        | Expression::AssignSubtract(_, l, r)
        | Expression::AssignMultiply(_, l, r)
        | Expression::AssignDivide(_, l, r)
        | Expression::AssignModulo(_, l, r)
        | Expression::AssignOr(_, l, r)
        | Expression::AssignAnd(_, l, r)
        | Expression::AssignXor(_, l, r)
        | Expression::AssignShiftLeft(_, l, r)
        | Expression::AssignShiftRight(_, l, r) => Some((l, Some(r))),
        Expression::PreIncrement(_, x)
        | Expression::PostIncrement(_, x)
        | Expression::PreDecrement(_, x)
        | Expression::PostDecrement(_, x)
        | Expression::Delete(_, x) => Some((x, None)),
        _ => None,
    }
}

/// True when anything under `body` assigns (`=`, `+=`, `++`, `delete`…) to a variable whose
/// root name is in `names` (`balances[a].x = …` writes `balances`).
pub fn writes_any(body: &Statement, names: &[String]) -> bool {
    let mut w = false;
    all_expressions(body, &mut |e, _, _| {
        if let Some((t, _)) = assignment(e)
            && root_name(t).is_some_and(|n| names.iter().any(|v| v == n))
        {
            w = true;
        }
    });
    w
}
