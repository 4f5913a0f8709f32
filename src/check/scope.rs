//! The variables of one rule (or goal): their numbering, their types and whether a positive
//! atom binds them. Atom arguments are typed against their relation's columns here.

use crate::diag::Diagnostic;
use crate::ir::{ColumnInfo, Interner, Term, Type, Value, Var};
use crate::source::Span;
use crate::syntax::ast;
use std::collections::HashMap;

/// What an argument list is checked against: a relation's name and columns.
pub(crate) struct RelView<'a> {
    pub name: &'a str,
    pub columns: &'a [ColumnInfo],
    /// The span of each column's type in the declaration (may be empty).
    pub column_spans: &'a [Span],
}

impl RelView<'_> {
    pub fn column_label(&self, i: usize) -> String {
        match self.columns.get(i).and_then(|c| c.name.as_deref()) {
            Some(n) => format!("column `{n}` of `{}`", self.name),
            None => format!("column {} of `{}`", i + 1, self.name),
        }
    }
}

/// Where an atom stands, which decides what its arguments may be and whether they bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Position {
    /// The head of a rule: no wildcards; variables must be bound by the body.
    Head,
    /// A positive body atom: binds its variables.
    Pos,
    /// A negated body atom: binds nothing.
    Neg,
    /// A fact: constants only.
    Fact,
    /// A query goal: variables and wildcards are free.
    Goal,
}

pub(crate) fn const_type(c: &ast::ConstValue) -> Type {
    match c {
        ast::ConstValue::Str(_) => Type::String,
        ast::ConstValue::Int(_) => Type::Int,
        ast::ConstValue::Bool(_) => Type::Bool,
    }
}

pub(crate) fn const_value(c: &ast::ConstValue) -> Value {
    match c {
        ast::ConstValue::Str(s) => Value::Str(s.clone()),
        ast::ConstValue::Int(i) => Value::Int(*i),
        ast::ConstValue::Bool(b) => Value::Bool(*b),
    }
}

/// The error for a constant of the wrong type in a column.
pub(crate) fn const_mismatch(
    c: &ast::Const,
    expected: Type,
    column: &str,
    decl: Option<Span>,
) -> Diagnostic {
    let found = const_type(&c.value);
    let d = Diagnostic::error(
        "ztpol::check::type-mismatch",
        format!(
            "mismatched types: expected `{}`, found `{}`",
            expected.name(),
            found.name()
        ),
    )
    .at(c.span, format!("`{}` constant in {column}", found.name()));
    match decl {
        Some(span) => d.also(span, format!("declared `{}` here", expected.name())),
        None => d,
    }
}

/// How a variable got its type: the first use that fixed it.
struct Typed {
    ty: Type,
    span: Span,
    what: String,
}

#[derive(Default)]
pub(crate) struct Scope {
    names: HashMap<String, Var>,
    pub var_names: Vec<String>,
    types: Vec<Option<Typed>>,
    bound: Vec<bool>,
    reported: Vec<bool>,
}

impl Scope {
    pub fn new() -> Self {
        Self::default()
    }

    /// The variable named `name`, created on first use.
    pub fn var(&mut self, name: &str) -> Var {
        if let Some(&v) = self.names.get(name) {
            return v;
        }
        let v = Var(self.var_names.len() as u32);
        self.names.insert(name.to_string(), v);
        self.var_names.push(name.to_string());
        self.types.push(None);
        self.bound.push(false);
        self.reported.push(false);
        v
    }

    pub fn lookup(&self, name: &str) -> Option<Var> {
        self.names.get(name).copied()
    }

    pub fn ty(&self, v: Var) -> Option<Type> {
        self.types[v.0 as usize].as_ref().map(|t| t.ty)
    }

    pub fn is_bound(&self, v: Var) -> bool {
        self.bound[v.0 as usize]
    }

    /// Marks `v` as reported unbound; `true` the first time, so each variable is reported once.
    pub fn first_report(&mut self, v: Var) -> bool {
        !std::mem::replace(&mut self.reported[v.0 as usize], true)
    }

    pub fn bind(&mut self, v: Var) {
        self.bound[v.0 as usize] = true;
    }

    /// Gives `v` the type `ty` (used at `span` as `what`); a different earlier type is an error
    /// that points at both uses.
    pub fn unify(
        &mut self,
        v: Var,
        ty: Type,
        span: Span,
        what: impl FnOnce() -> String,
        diags: &mut Vec<Diagnostic>,
    ) {
        let slot = &mut self.types[v.0 as usize];
        match slot {
            None => {
                *slot = Some(Typed {
                    ty,
                    span,
                    what: what(),
                })
            }
            Some(first) if first.ty == ty => {}
            Some(first) => {
                let name = &self.var_names[v.0 as usize];
                diags.push(
                    Diagnostic::error(
                        "ztpol::check::type-mismatch",
                        format!(
                            "variable `{name}` is used as `{}` and as `{}`",
                            first.ty.name(),
                            ty.name()
                        ),
                    )
                    .at(span, format!("`{}` here, as {}", ty.name(), what()))
                    .also(
                        first.span,
                        format!("`{}` here, as {}", first.ty.name(), first.what),
                    )
                    .with_help(
                        "a variable holds values of one type; use another variable or change a declaration",
                    ),
                );
            }
        }
    }

    /// Types and lowers the arguments of `atom` against `rel` (whose arity was checked).
    pub fn lower_args(
        &mut self,
        interner: &mut Interner,
        rel: &RelView<'_>,
        atom: &ast::Atom,
        pos: Position,
        diags: &mut Vec<Diagnostic>,
    ) -> Vec<Term> {
        let mut terms = Vec::with_capacity(atom.args.len());
        for (i, arg) in atom.args.iter().enumerate() {
            let Some(column) = rel.columns.get(i) else {
                break;
            };
            let term = match arg {
                ast::Term::Var(ident) => {
                    if pos == Position::Fact {
                        diags.push(non_ground(
                            atom,
                            ident.span,
                            &format!("variable `{}`", ident.name),
                        ));
                        Term::Wildcard
                    } else {
                        let v = self.var(&ident.name);
                        self.unify(v, column.ty, ident.span, || rel.column_label(i), diags);
                        if pos == Position::Pos {
                            self.bind(v);
                        }
                        Term::Var(v)
                    }
                }
                ast::Term::Wildcard(span) => {
                    match pos {
                        Position::Head => diags.push(
                            Diagnostic::error(
                                "ztpol::check::wildcard-in-head",
                                format!("`_` in the head of a rule for `{}`", rel.name),
                            )
                            .at(*span, "a head argument must have a value")
                            .with_help(
                                "use a variable that a positive atom of the body binds, or a constant",
                            ),
                        ),
                        Position::Fact => diags.push(non_ground(atom, *span, "`_`")),
                        Position::Pos | Position::Neg | Position::Goal => {}
                    }
                    Term::Wildcard
                }
                ast::Term::Const(c) => {
                    if const_type(&c.value) != column.ty {
                        diags.push(const_mismatch(
                            c,
                            column.ty,
                            &rel.column_label(i),
                            rel.column_spans.get(i).copied(),
                        ));
                    }
                    Term::Const(interner.intern(const_value(&c.value)))
                }
            };
            terms.push(term);
        }
        terms
    }

    /// The type of a comparison operand, when known, with the span that fixes it.
    pub fn term_type(&self, term: &ast::Term) -> Option<Type> {
        match term {
            ast::Term::Var(ident) => self.lookup(&ident.name).and_then(|v| self.ty(v)),
            ast::Term::Wildcard(_) => None,
            ast::Term::Const(c) => Some(const_type(&c.value)),
        }
    }

    /// Lowers a comparison operand (a variable not seen before is created unbound).
    pub fn lower_term(&mut self, interner: &mut Interner, term: &ast::Term) -> Term {
        match term {
            ast::Term::Var(ident) => Term::Var(self.var(&ident.name)),
            ast::Term::Wildcard(_) => Term::Wildcard,
            ast::Term::Const(c) => Term::Const(interner.intern(const_value(&c.value))),
        }
    }
}

fn non_ground(atom: &ast::Atom, span: Span, what: &str) -> Diagnostic {
    Diagnostic::error(
        "ztpol::check::non-ground-fact",
        format!("fact for `{}` has a {what}", atom.rel.name),
    )
    .at(span, "facts hold constants only")
    .with_help("write a constant here, or make this a rule with a body that binds the variable")
}
