//! What detectors see: contracts with their state variables, functions and modifiers, read
//! from the parse tree once per file, plus source helpers (text and line of a node).

use crate::parse::Parsed;
use crate::tolerant::{THROW, pragma_min_version};
use solang_parser::helpers::CodeLocation;
use solang_parser::pt::{
    self, ContractPart, ContractTy, Expression, FunctionAttribute, FunctionDefinition, FunctionTy,
    Loc, Mutability, Statement, VariableAttribute, VariableDefinition, Visibility,
};

/// Byte range of a node.
pub fn span(loc: &Loc) -> (usize, usize) {
    match loc {
        Loc::File(_, s, e) => (*s, *e),
        _ => (0, 0),
    }
}

/// One file with its contracts.
pub struct Unit<'a> {
    /// The parse result.
    pub parsed: &'a Parsed,
    /// Contracts, libraries and interfaces in source order.
    pub contracts: Vec<Contract<'a>>,
    /// Lowest compiler version the pragma allows (0.MINOR.PATCH), if any.
    pub version: Option<(u32, u32)>,
    /// Names of every struct defined in the file (inside contracts or at top level).
    pub structs: Vec<String>,
    /// Struct fields whose type is a named (user-defined) type: (field, type name).
    pub struct_fields: Vec<(String, String)>,
    /// Contracts of imported files: bases and modifiers are looked up there too; nothing
    /// is reported on them.
    pub imported: Vec<Contract<'a>>,
}

impl<'a> Unit<'a> {
    /// Reads the contracts of a parsed file, with the files it imports as context.
    pub fn with_imports(parsed: &'a Parsed, imports: &[&'a Parsed]) -> Self {
        let mut unit = Self::new(parsed);
        for p in imports {
            let other = Self::new(p);
            unit.structs.extend(other.structs);
            unit.struct_fields.extend(other.struct_fields);
            unit.imported.extend(other.contracts);
        }
        unit
    }

    /// Reads the contracts of a parsed file.
    pub fn new(parsed: &'a Parsed) -> Self {
        let contracts = parsed
            .unit
            .0
            .iter()
            .filter_map(|p| match p {
                pt::SourceUnitPart::ContractDefinition(c) => Some(Contract::new(c)),
                _ => None,
            })
            .collect();
        let mut defs: Vec<&pt::StructDefinition> = Vec::new();
        for p in &parsed.unit.0 {
            match p {
                pt::SourceUnitPart::StructDefinition(d) => defs.push(d),
                pt::SourceUnitPart::ContractDefinition(c) => {
                    for part in &c.parts {
                        if let ContractPart::StructDefinition(d) = part {
                            defs.push(d);
                        }
                    }
                }
                _ => {}
            }
        }
        let structs = defs
            .iter()
            .filter_map(|d| d.name.as_ref().map(|n| n.name.clone()))
            .collect();
        let struct_fields = defs
            .iter()
            .flat_map(|d| d.fields.iter())
            .filter_map(|f| match (&f.ty, &f.name) {
                (Expression::Variable(t), Some(n)) => Some((n.name.clone(), t.name.clone())),
                _ => None,
            })
            .collect();
        Unit {
            parsed,
            contracts,
            version: pragma_min_version(&parsed.file.text),
            structs,
            struct_fields,
            imported: Vec::new(),
        }
    }

    /// True when the code compiles with checked arithmetic (0.8+).
    pub fn checked_arithmetic(&self) -> bool {
        self.version.is_some_and(|(minor, _)| minor >= 8)
    }

    /// True for code older than 0.4.22 (no `constructor` keyword).
    pub fn pre_constructor_keyword(&self) -> bool {
        self.version.is_none_or(|v| v < (4, 22))
    }

    /// Source text of a node.
    pub fn text(&self, loc: &Loc) -> &'a str {
        let (s, e) = span(loc);
        self.parsed.file.text.get(s..e).unwrap_or("")
    }

    /// 1-based line where a node starts.
    pub fn line(&self, loc: &Loc) -> usize {
        self.parsed.file.line(span(loc).0)
    }

    /// 1-based line where a node ends.
    pub fn end_line(&self, loc: &Loc) -> usize {
        let (s, e) = span(loc);
        self.parsed.file.line(e.max(s + 1) - 1)
    }

    /// A contract by name (this file first, then imported files).
    pub fn contract(&self, name: &str) -> Option<&Contract<'a>> {
        self.contracts
            .iter()
            .chain(self.imported.iter())
            .find(|c| c.name == name)
    }

    /// Names of the state variables of `c` and its bases.
    pub fn state_names(&self, c: &Contract<'a>) -> Vec<String> {
        self.lineage(c)
            .iter()
            .flat_map(|k| k.state.iter().map(|v| v.name.clone()))
            .collect()
    }

    /// The function (or modifier) of kind `kind` named `name` in `c` or its bases, the most
    /// derived definition first (what a call or a modifier use resolves to).
    pub fn find_function<'b>(
        &'b self,
        c: &'b Contract<'a>,
        name: &str,
        kind: FnKind,
    ) -> Option<&'b Function<'a>> {
        self.lineage(c)
            .into_iter()
            .flat_map(|k| k.functions.iter())
            .find(|f| f.name == name && f.kind == kind)
    }

    /// The contract and its bases (by name, within this file and its imports), most derived first.
    pub fn lineage<'b>(&'b self, c: &'b Contract<'a>) -> Vec<&'b Contract<'a>> {
        let mut out: Vec<&Contract<'a>> = vec![c];
        let mut i = 0;
        while i < out.len() {
            for b in &out[i].bases.clone() {
                if let Some(bc) = self.contract(b)
                    && !out.iter().any(|x| x.name == bc.name)
                {
                    out.push(bc);
                }
            }
            i += 1;
        }
        out
    }
}

/// Contract kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `contract` (or `abstract contract`).
    Contract,
    /// `library`.
    Library,
    /// `interface`.
    Interface,
}

/// A contract.
pub struct Contract<'a> {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: Kind,
    /// Base contract names.
    pub bases: Vec<String>,
    /// State variables.
    pub state: Vec<StateVar<'a>>,
    /// Functions (constructors, fallbacks, modifiers included).
    pub functions: Vec<Function<'a>>,
    /// The definition.
    pub def: &'a pt::ContractDefinition,
}

impl<'a> Contract<'a> {
    fn new(def: &'a pt::ContractDefinition) -> Self {
        let name = def.name.as_ref().map_or(String::new(), |n| n.name.clone());
        let kind = match def.ty {
            ContractTy::Library(_) => Kind::Library,
            ContractTy::Interface(_) => Kind::Interface,
            _ => Kind::Contract,
        };
        let mut state = Vec::new();
        let mut functions = Vec::new();
        for part in &def.parts {
            match part {
                ContractPart::VariableDefinition(v) => state.push(StateVar::new(v)),
                ContractPart::FunctionDefinition(f) => functions.push(Function::new(f, &name)),
                _ => {}
            }
        }
        Contract {
            bases: def
                .base
                .iter()
                .filter_map(|b| b.name.identifiers.last().map(|i| i.name.clone()))
                .collect(),
            name,
            kind,
            state,
            functions,
            def,
        }
    }

    /// A state variable by name.
    pub fn state_var(&self, name: &str) -> Option<&StateVar<'a>> {
        self.state.iter().find(|v| v.name == name)
    }

    /// Modifier definitions.
    pub fn modifiers(&self) -> impl Iterator<Item = &Function<'a>> {
        self.functions.iter().filter(|f| f.kind == FnKind::Modifier)
    }

    /// Ordinary functions anyone can call (public or external; no constructors, fallbacks
    /// or modifiers).
    pub fn public_functions(&self) -> impl Iterator<Item = &Function<'a>> {
        self.functions
            .iter()
            .filter(|f| f.public && f.kind == FnKind::Function)
    }
}

/// A state variable.
pub struct StateVar<'a> {
    /// Name.
    pub name: String,
    /// `constant` or `immutable`.
    pub constant: bool,
    /// The definition.
    pub def: &'a VariableDefinition,
}

impl<'a> StateVar<'a> {
    fn new(def: &'a VariableDefinition) -> Self {
        StateVar {
            name: def.name.as_ref().map_or(String::new(), |n| n.name.clone()),
            constant: def.attrs.iter().any(|a| {
                matches!(
                    a,
                    VariableAttribute::Constant(_) | VariableAttribute::Immutable(_)
                )
            }),
            def,
        }
    }

    /// True for arrays and mappings (growable or keyed storage).
    pub fn is_array(&self) -> bool {
        matches!(self.def.ty, Expression::ArraySubscript(..))
    }

    /// True for mappings.
    pub fn is_mapping(&self) -> bool {
        matches!(self.def.ty, Expression::Type(_, pt::Type::Mapping { .. }))
    }
}

/// What a function definition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FnKind {
    /// `constructor` or (before 0.4.22) a function named like its contract.
    Constructor,
    /// Regular function.
    Function,
    /// `function ()`, `fallback`, `receive`.
    Fallback,
    /// `modifier`.
    Modifier,
}

/// A function, constructor, fallback or modifier.
pub struct Function<'a> {
    /// Name (`""` for fallbacks).
    pub name: String,
    /// Kind.
    pub kind: FnKind,
    /// Callable from outside (public/external; the pre-0.5 default is public).
    pub public: bool,
    /// `payable`.
    pub payable: bool,
    /// `view`, `pure` or `constant`.
    pub read_only: bool,
    /// Names of applied modifiers (base constructor calls included).
    pub modifiers: Vec<String>,
    /// Parameter names.
    pub params: Vec<String>,
    /// The definition.
    pub def: &'a FunctionDefinition,
}

impl<'a> Function<'a> {
    fn new(def: &'a FunctionDefinition, contract: &str) -> Self {
        let name = def.name.as_ref().map_or(String::new(), |n| n.name.clone());
        let kind = match def.ty {
            FunctionTy::Constructor => FnKind::Constructor,
            FunctionTy::Fallback | FunctionTy::Receive => FnKind::Fallback,
            FunctionTy::Modifier => FnKind::Modifier,
            FunctionTy::Function if name == contract => FnKind::Constructor,
            FunctionTy::Function if name.is_empty() => FnKind::Fallback,
            FunctionTy::Function => FnKind::Function,
        };
        let mut public = true;
        let (mut payable, mut read_only) = (false, false);
        let mut modifiers = Vec::new();
        for a in &def.attributes {
            match a {
                FunctionAttribute::Visibility(Visibility::Internal(_) | Visibility::Private(_)) => {
                    public = false;
                }
                FunctionAttribute::Mutability(Mutability::Payable(_)) => payable = true,
                FunctionAttribute::Mutability(_) => read_only = true,
                FunctionAttribute::BaseOrModifier(_, b) => {
                    if let Some(i) = b.name.identifiers.last() {
                        modifiers.push(i.name.clone());
                    }
                }
                _ => {}
            }
        }
        Function {
            params: def
                .params
                .iter()
                .filter_map(|(_, p)| p.as_ref()?.name.as_ref().map(|n| n.name.clone()))
                .collect(),
            name,
            kind,
            public: public && kind != FnKind::Modifier,
            payable,
            read_only,
            modifiers,
            def,
        }
    }

    /// The body, if any.
    pub fn body(&self) -> Option<&'a Statement> {
        self.def.body.as_ref()
    }

    /// The code location of the whole definition.
    pub fn loc(&self) -> Loc {
        self.def.loc
    }

    /// Display name (`fallback` for unnamed ones).
    pub fn display_name(&self) -> String {
        match (self.kind, self.name.is_empty()) {
            (FnKind::Fallback, true) => "fallback".into(),
            (FnKind::Constructor, true) => "constructor".into(),
            _ => self.name.clone(),
        }
    }
}

/// True for `_thr_` (a rewritten `throw`) and `revert(...)`-like calls: the statement aborts.
pub fn is_abort(stmt: &Statement) -> bool {
    match stmt {
        Statement::Revert(..) | Statement::RevertNamedArgs(..) => true,
        Statement::Expression(_, e) => match e.strip_parentheses() {
            Expression::Variable(v) => v.name == THROW,
            Expression::FunctionCall(_, f, _) => {
                matches!(f.strip_parentheses(), Expression::Variable(v) if v.name == "revert")
            }
            _ => false,
        },
        Statement::Block { statements, .. } => statements.iter().any(is_abort),
        _ => false,
    }
}

/// Location of a statement.
pub fn stmt_loc(s: &Statement) -> Loc {
    s.loc()
}
