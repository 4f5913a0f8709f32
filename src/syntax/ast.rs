//! The abstract syntax tree of a `.ztp` file. Every node carries its [`Span`].
//!
//! Two layers share one file: the core Datalog layer (`rel`, facts, rules) and the policy layer
//! (`permit`, `forbid`), which the checker lowers to core rules plus conditions. Names are not
//! resolved here.

use crate::source::{FileId, Span};

/// A name with its span: relation names, variables, module path segments, attribute segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

/// One parsed source file.
#[derive(Debug, Clone, PartialEq)]
pub struct Module {
    pub file: FileId,
    pub items: Vec<Item>,
}

// Items are built once per source item and walked by reference; boxing the policy variant would
// only add an indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// `use std::roles;`
    Use(UseDecl),
    /// `data "users.json";`: a data file the policy attaches, relative to the policy file.
    Data(DataDecl),
    /// `rel edge(src: string, dst: string)`
    Rel(RelDecl),
    /// `edge("a", "b").`
    Fact(Atom),
    /// `path(X, Y) :- edge(X, Y).`
    Rule(Rule),
    /// `permit ...;` / `forbid ...;`
    Policy(PolicyStmt),
}

#[derive(Debug, Clone, PartialEq)]
pub struct UseDecl {
    /// `["std", "roles"]`
    pub path: Vec<Ident>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DataDecl {
    pub path: String,
    pub path_span: Span,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Type {
    String,
    Int,
    Bool,
}

impl Type {
    pub fn name(self) -> &'static str {
        match self {
            Type::String => "string",
            Type::Int => "int",
            Type::Bool => "bool",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: Option<Ident>,
    pub ty: Type,
    pub ty_span: Span,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RelDecl {
    pub name: Ident,
    pub columns: Vec<Column>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub head: Atom,
    pub body: Vec<Literal>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Pos(Atom),
    /// `not edge(N, _)`; the span covers `not` and the atom.
    Neg(Atom, Span),
    Cmp(Comparison),
}

impl Literal {
    pub fn span(&self) -> Span {
        match self {
            Literal::Pos(a) => a.span,
            Literal::Neg(_, s) => *s,
            Literal::Cmp(c) => c.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Atom {
    pub rel: Ident,
    pub args: Vec<Term>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    Var(Ident),
    /// `_`: a fresh variable.
    Wildcard(Span),
    Const(Const),
}

impl Term {
    pub fn span(&self) -> Span {
        match self {
            Term::Var(v) => v.span,
            Term::Wildcard(s) => *s,
            Term::Const(c) => c.span,
        }
    }
}

/// A constant as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Const {
    pub value: ConstValue,
    pub span: Span,
}

/// The value of a constant literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ConstValue {
    Str(String),
    Int(i64),
    Bool(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The operator that holds exactly when `self` does not.
    pub fn negate(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Ne,
            CmpOp::Ne => CmpOp::Eq,
            CmpOp::Lt => CmpOp::Ge,
            CmpOp::Le => CmpOp::Gt,
            CmpOp::Gt => CmpOp::Le,
            CmpOp::Ge => CmpOp::Lt,
        }
    }

    /// The operator with its operands swapped: `a < b` iff `b > a`.
    pub fn flip(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::Ne => CmpOp::Ne,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
        }
    }
}

/// `X < Y` in a rule body.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub lhs: Term,
    pub op: CmpOp,
    pub rhs: Term,
    pub span: Span,
}

// ---------------------------------------------------------------------------------------------
// Policy layer

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Permit,
    Forbid,
}

/// `[@id("...")] permit|forbid [PRINCIPAL] to ACTIONS [on KINDS] [when COND] [if BODY];`
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyStmt {
    pub effect: Effect,
    pub effect_span: Span,
    /// `@id("tier1-refund")`: the explicit stable id, if given.
    pub id: Option<(String, Span)>,
    /// Who the statement is about. `None` on a forbid: it applies to the request as a whole
    /// (a permit always names its principals).
    pub principal: Option<PrincipalSel>,
    pub actions: Vec<ActionPat>,
    /// Resource kinds (`on order, ticket`); empty means any kind.
    pub resources: Vec<Ident>,
    pub when: Option<Cond>,
    /// `if BODY`: a Datalog body over data-time relations; its variables may appear in `when`.
    pub guard: Vec<Literal>,
    pub span: Span,
}

/// The principals a statement applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum PrincipalSel {
    /// `agent "support-bot"`, `user "alice"`: one principal, `type:id`.
    Named { ty: Ident, id: Const, span: Span },
    /// `role "tier1"`: every principal that has the role (through `std::roles`' `has_role`).
    Role { role: Const, span: Span },
    /// `user U`, `agent A`, `principal P`: the principals (of that type, or any type for
    /// `principal`) that the `if` body binds `var` to. `var` is bound to the `type:id` reference.
    Var { ty: Ident, var: Ident, span: Span },
}

impl PrincipalSel {
    pub fn span(&self) -> Span {
        match self {
            PrincipalSel::Named { span, .. }
            | PrincipalSel::Role { span, .. }
            | PrincipalSel::Var { span, .. } => *span,
        }
    }
}

/// An action pattern: `orders.refund`, `orders.*`, or `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionPat {
    Exact {
        name: String,
        span: Span,
    },
    /// `orders.*`: every action whose name starts with `orders.`; `prefix` is `orders`.
    Family {
        prefix: String,
        span: Span,
    },
    Any {
        span: Span,
    },
}

impl ActionPat {
    pub fn span(&self) -> Span {
        match self {
            ActionPat::Exact { span, .. }
            | ActionPat::Family { span, .. }
            | ActionPat::Any { span } => *span,
        }
    }
}

/// A request attribute: `resource.region`, `context.session.tainted`, `principal.id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    /// `subject`, `action`, `resource`, `context` or `principal` (checked later).
    pub root: Ident,
    pub fields: Vec<Ident>,
    pub span: Span,
}

impl AttrPath {
    /// The dotted text: `resource.region`.
    pub fn dotted(&self) -> String {
        let mut s = self.root.name.clone();
        for f in &self.fields {
            s.push('.');
            s.push_str(&f.name);
        }
        s
    }
}

/// An operand of a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Attr(AttrPath),
    Var(Ident),
    Const(Const),
    /// `_` (only as an argument of a lookup atom).
    Wildcard(Span),
}

impl Operand {
    pub fn span(&self) -> Span {
        match self {
            Operand::Attr(a) => a.span,
            Operand::Var(v) => v.span,
            Operand::Const(c) => c.span,
            Operand::Wildcard(s) => *s,
        }
    }
}

/// A request-time condition (`when ...`).
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Box<Cond>, Box<Cond>, Span),
    Or(Box<Cond>, Box<Cond>, Span),
    Not(Box<Cond>, Span),
    Cmp {
        lhs: Operand,
        op: CmpOp,
        rhs: Operand,
        span: Span,
    },
    /// `resource.region in ["US", "EU"]`
    In {
        lhs: Operand,
        set: Vec<Operand>,
        span: Span,
    },
    /// `record_dept(resource.id, D)`: a lookup of request values in a data-time relation.
    Lookup {
        rel: Ident,
        args: Vec<Operand>,
        span: Span,
    },
    /// `true` / `false`
    Bool(bool, Span),
}

impl Cond {
    pub fn span(&self) -> Span {
        match self {
            Cond::And(_, _, s) | Cond::Or(_, _, s) | Cond::Not(_, s) | Cond::Bool(_, s) => *s,
            Cond::Cmp { span, .. } | Cond::In { span, .. } | Cond::Lookup { span, .. } => *span,
        }
    }
}
