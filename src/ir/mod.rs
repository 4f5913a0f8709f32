//! The interned program: what the checker produces and every later stage reads.
//!
//! Relations, rules and facts refer to each other by index; every value is an interned [`Sym`].
//! Policy statements (`permit`/`forbid`) are lowered to a core rule deriving the statement's
//! instance relation plus a request-time [`Cond`] over that relation's columns.

mod interner;

pub use crate::syntax::ast::{CmpOp, Effect, Type};
pub use interner::{Hashed, Interner, Sym, Value};

use crate::source::{SourceMap, Span};
use std::path::PathBuf;
use std::sync::Arc;

/// Index of a relation in [`Program::relations`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelId(pub u32);

impl RelId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Index of a rule in [`Program::rules`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleId(pub u32);

impl RuleId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: Option<String>,
    pub ty: Type,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelKind {
    /// Declared with `rel` in a source file (or in the stdlib).
    Declared,
    /// The instance relation of a policy statement (index into [`Program::policies`]).
    Policy(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    /// The declaration (or, for a policy relation, the statement).
    pub span: Span,
    pub kind: RelKind,
}

impl Relation {
    pub fn arity(&self) -> usize {
        self.columns.len()
    }
}

/// A variable of one rule: an index into [`Rule::var_names`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Var(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Term {
    Var(Var),
    Const(Sym),
    /// `_`: matches anything, binds nothing.
    Wildcard,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Atom {
    pub rel: RelId,
    pub args: Vec<Term>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyLit {
    Pos(Atom),
    /// Negation of a relation of a strictly lower stratum; its variables are bound by a
    /// positive atom of the same body.
    Neg(Atom),
    /// A filter on bound variables and constants. Strings compare by their text, ints
    /// numerically, `false < true`.
    Cmp {
        lhs: Term,
        op: CmpOp,
        rhs: Term,
        span: Span,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub head: Atom,
    pub body: Vec<BodyLit>,
    /// Names of the rule's variables, indexed by [`Var`]; wildcards are not variables.
    pub var_names: Vec<String>,
    pub span: Span,
}

/// Where a fact came from, for explanations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Written in a source file.
    Inline(Span),
    /// Row `row` (0-based) of relation `relation` in a `--data` or `data` JSON file. The
    /// file's name is shared by all its facts.
    DataFile { file: Arc<str>, row: usize },
    /// Line `line` (1-based) of a `--facts` TSV file.
    FactsFile { file: Arc<str>, line: usize },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    pub rel: RelId,
    pub values: Vec<Sym>,
    pub origin: Origin,
}

/// A set of relations evaluated together: the rules whose heads are in `relations`.
/// Strata are in evaluation order; a negated atom always refers to an earlier stratum.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stratum {
    pub relations: Vec<RelId>,
    pub rules: Vec<RuleId>,
    /// Whether some rule of the stratum depends on a relation of the same stratum.
    pub recursive: bool,
}

// ---------------------------------------------------------------------------------------------
// Policies

/// An action pattern of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActionPat {
    Exact(String),
    /// Every action whose name starts with `prefix.`.
    Family(String),
    Any,
}

impl ActionPat {
    pub fn matches(&self, action: &str) -> bool {
        match self {
            ActionPat::Exact(a) => a == action,
            ActionPat::Family(p) => {
                action.len() > p.len() + 1 && action.starts_with(p.as_str()) && {
                    action.as_bytes()[p.len()] == b'.'
                }
            }
            ActionPat::Any => true,
        }
    }
}

/// The root of a request attribute path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttrRoot {
    Subject,
    Action,
    Resource,
    Context,
    /// The principal of the chain the statement matched.
    Principal,
}

impl AttrRoot {
    pub fn name(self) -> &'static str {
        match self {
            AttrRoot::Subject => "subject",
            AttrRoot::Action => "action",
            AttrRoot::Resource => "resource",
            AttrRoot::Context => "context",
            AttrRoot::Principal => "principal",
        }
    }
}

/// A request attribute: `resource.region` is `{root: Resource, path: ["region"]}`.
/// `type`, `id` (and `name` for actions) address the entity itself; other fields its
/// `properties` (for `context`: the context object itself).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Attr {
    pub root: AttrRoot,
    pub path: Vec<String>,
}

impl Attr {
    pub fn dotted(&self) -> String {
        let mut s = self.root.name().to_string();
        for p in &self.path {
            s.push('.');
            s.push_str(p);
        }
        s
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CondTerm {
    Attr(Attr, Span),
    /// Column `n` of the statement's instance relation (a variable bound by the `if` body).
    Bound(usize, Span),
    Const(Sym, Span),
    /// `_` in a lookup.
    Wildcard(Span),
}

/// A request-time condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    True,
    False,
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        lhs: CondTerm,
        op: CmpOp,
        rhs: CondTerm,
        span: Span,
    },
    In {
        lhs: CondTerm,
        set: Vec<CondTerm>,
        span: Span,
    },
    Lookup {
        rel: RelId,
        args: Vec<CondTerm>,
        span: Span,
    },
}

/// Who a statement applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalMatch {
    /// A forbid without a principal: applies to the request as a whole. The instance relation
    /// has no principal column.
    Request,
    /// Every principal of the chain that appears in column 0 of the instance relation and,
    /// when `ty` is given, has that type.
    Chain { ty: Option<String> },
}

/// A lowered `permit` or `forbid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The stable id: explicit `@id("...")`, or derived from the file and line.
    pub id: String,
    pub explicit_id: bool,
    pub effect: Effect,
    pub principal: PrincipalMatch,
    pub actions: Vec<ActionPat>,
    /// Resource kinds; empty means any.
    pub resources: Vec<String>,
    /// The instance relation: `[principal,] bound vars...`. Its tuples are the statement's
    /// instances; the condition reads their columns through [`CondTerm::Bound`].
    pub rel: RelId,
    /// Names of the instance relation's columns (the principal column is `"principal"`).
    pub columns: Vec<String>,
    pub cond: Cond,
    pub span: Span,
}

impl Policy {
    /// Whether this statement can apply to `action` on a resource of kind `kind`.
    pub fn covers(&self, action: &str, kind: &str) -> bool {
        self.actions.iter().any(|p| p.matches(action))
            && (self.resources.is_empty() || self.resources.iter().any(|r| r == kind))
    }
}

/// A checked, lowered program.
#[derive(Debug, Clone, Default)]
pub struct Program {
    pub sources: SourceMap,
    pub interner: Interner,
    pub relations: Vec<Relation>,
    pub rules: Vec<Rule>,
    /// Facts written in source files.
    pub facts: Vec<Fact>,
    pub strata: Vec<Stratum>,
    pub policies: Vec<Policy>,
    /// Data files the policy attaches (`data "file.json";`), resolved against their file.
    pub data_files: Vec<PathBuf>,
}

impl Program {
    /// The id of statement `i` (an index into `policies`; empty for no statement).
    pub fn policy_id(&self, i: usize) -> &str {
        self.policies.get(i).map_or("", |p| p.id.as_str())
    }

    pub fn relation(&self, id: RelId) -> &Relation {
        &self.relations[id.index()]
    }

    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.index()]
    }

    pub fn relation_by_name(&self, name: &str) -> Option<RelId> {
        self.relations
            .iter()
            .position(|r| r.name == name)
            .map(|i| RelId(i as u32))
    }
}
