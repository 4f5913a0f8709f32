//! Lowering of `when` conditions: attributes, bound variables (which become columns of the
//! statement's instance relation), constants, comparisons, set membership and lookups.

use super::range::{require_bound, Place};
use super::resolve::{resolve, suggest};
use super::scope::{const_type, const_value, RelView, Scope};
use super::Checker;
use crate::diag::Diagnostic;
use crate::ir::{Attr, AttrRoot, Cond, CondTerm, Type, Var};
use crate::source::Span;
use crate::syntax::ast;

const ROOTS: [&str; 5] = ["subject", "action", "resource", "context", "principal"];

/// Lowers a `when` condition, numbering the body variables it reads as instance columns.
pub(crate) struct CondLowering<'a> {
    pub scope: &'a mut Scope,
    /// The principal's variable (`U` in `user U`), read as column 0.
    pub principal_var: Option<&'a str>,
    /// Whether the statement matches a principal (so `principal.*` has a meaning).
    pub has_principal: bool,
    /// Columns before the first bound variable (1 with a principal column).
    pub offset: usize,
    /// The body variables the condition reads, in order of first use.
    pub vars: Vec<Var>,
}

impl CondLowering<'_> {
    pub fn lower(&mut self, ck: &mut Checker<'_>, cond: &ast::Cond) -> Cond {
        match cond {
            ast::Cond::And(a, b, _) => {
                let mut parts = Vec::new();
                self.flatten(ck, a, true, &mut parts);
                self.flatten(ck, b, true, &mut parts);
                Cond::And(parts)
            }
            ast::Cond::Or(a, b, _) => {
                let mut parts = Vec::new();
                self.flatten(ck, a, false, &mut parts);
                self.flatten(ck, b, false, &mut parts);
                Cond::Or(parts)
            }
            ast::Cond::Not(c, _) => Cond::Not(Box::new(self.lower(ck, c))),
            ast::Cond::Bool(true, _) => Cond::True,
            ast::Cond::Bool(false, _) => Cond::False,
            ast::Cond::Cmp { lhs, op, rhs, span } => {
                let (l, lt) = self.operand(ck, lhs, false);
                let (r, rt) = self.operand(ck, rhs, false);
                if let (Some(lt), Some(rt)) = (lt, rt) {
                    if lt != rt {
                        ck.diags
                            .push(cannot_compare(lhs.span(), lt, rhs.span(), rt));
                    }
                }
                Cond::Cmp {
                    lhs: l,
                    op: *op,
                    rhs: r,
                    span: *span,
                }
            }
            ast::Cond::In { lhs, set, span } => {
                let (l, lt) = self.operand(ck, lhs, false);
                let mut terms = Vec::with_capacity(set.len());
                for elem in set {
                    let (t, et) = self.operand(ck, elem, false);
                    if let (Some(lt), Some(et)) = (lt, et) {
                        if lt != et {
                            ck.diags
                                .push(cannot_compare(lhs.span(), lt, elem.span(), et));
                        }
                    }
                    terms.push(t);
                }
                Cond::In {
                    lhs: l,
                    set: terms,
                    span: *span,
                }
            }
            ast::Cond::Lookup { rel, args, span } => {
                let id = resolve(ck, rel, args.len(), *span);
                let mut terms = Vec::with_capacity(args.len());
                for (i, arg) in args.iter().enumerate() {
                    let (t, ty) = self.operand(ck, arg, true);
                    if let (Some(id), Some(ty)) = (id, ty) {
                        let relation = &ck.relations[id.index()];
                        let view = RelView {
                            name: &relation.name,
                            columns: &relation.columns,
                            column_spans: &ck.column_spans[id.index()],
                        };
                        let expected = relation.columns[i].ty;
                        if expected != ty {
                            let mut d = Diagnostic::error(
                                "ztpol::check::type-mismatch",
                                format!(
                                    "mismatched types: expected `{}`, found `{}`",
                                    expected.name(),
                                    ty.name()
                                ),
                            )
                            .at(
                                arg.span(),
                                format!("`{}` in {}", ty.name(), view.column_label(i)),
                            );
                            if let Some(&s) = view.column_spans.get(i) {
                                d = d.also(s, format!("declared `{}` here", expected.name()));
                            }
                            ck.diags.push(d);
                        }
                    }
                    terms.push(t);
                }
                match id {
                    Some(rel) => Cond::Lookup {
                        rel,
                        args: terms,
                        span: *span,
                    },
                    None => Cond::False,
                }
            }
        }
    }

    /// Collects the operands of nested `and`s (or `or`s) into one list.
    fn flatten(&mut self, ck: &mut Checker<'_>, c: &ast::Cond, and: bool, out: &mut Vec<Cond>) {
        if let (ast::Cond::And(a, b, _), true) | (ast::Cond::Or(a, b, _), false) = (c, and) {
            self.flatten(ck, a, and, out);
            self.flatten(ck, b, and, out);
        } else {
            out.push(self.lower(ck, c));
        }
    }

    /// Lowers an operand; returns its type when known (constants and bound variables).
    fn operand(
        &mut self,
        ck: &mut Checker<'_>,
        op: &ast::Operand,
        in_lookup: bool,
    ) -> (CondTerm, Option<Type>) {
        match op {
            ast::Operand::Const(c) => (
                CondTerm::Const(ck.interner.intern(const_value(&c.value)), c.span),
                Some(const_type(&c.value)),
            ),
            ast::Operand::Wildcard(span) => {
                if !in_lookup {
                    ck.diags.push(
                        Diagnostic::error(
                            "ztpol::check::misplaced-wildcard",
                            "`_` is only allowed as an argument of a lookup",
                        )
                        .at(*span, "`_` has no value here")
                        .with_help(
                            "use an attribute, a variable bound by the `if` body, or a constant",
                        ),
                    );
                }
                (CondTerm::Wildcard(*span), None)
            }
            ast::Operand::Var(ident) => {
                if self.principal_var == Some(ident.name.as_str()) {
                    let v = self.scope.var(&ident.name);
                    return (CondTerm::Bound(0, ident.span), self.scope.ty(v));
                }
                let bound = self
                    .scope
                    .lookup(&ident.name)
                    .filter(|&v| self.scope.is_bound(v));
                let Some(v) = bound else {
                    require_bound(ck, self.scope, &ident.name, ident.span, Place::Condition);
                    return (CondTerm::Wildcard(ident.span), None);
                };
                let index = match self.vars.iter().position(|&w| w == v) {
                    Some(i) => i,
                    None => {
                        self.vars.push(v);
                        self.vars.len() - 1
                    }
                };
                (
                    CondTerm::Bound(self.offset + index, ident.span),
                    self.scope.ty(v),
                )
            }
            ast::Operand::Attr(path) => (self.attribute(ck, path), None),
        }
    }

    fn attribute(&mut self, ck: &mut Checker<'_>, path: &ast::AttrPath) -> CondTerm {
        let root = match path.root.name.as_str() {
            "subject" => AttrRoot::Subject,
            "action" => AttrRoot::Action,
            "resource" => AttrRoot::Resource,
            "context" => AttrRoot::Context,
            "principal" => AttrRoot::Principal,
            other => {
                let help = match suggest(other, ROOTS) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "attribute paths start with `subject`, `action`, `resource`, `context` or `principal`".to_string(),
                };
                ck.diags.push(
                    Diagnostic::error(
                        "ztpol::check::unknown-attribute",
                        format!("unknown attribute root `{other}`"),
                    )
                    .at(path.root.span, "not an attribute root")
                    .with_help(help),
                );
                return CondTerm::Wildcard(path.span);
            }
        };
        if root == AttrRoot::Principal && !self.has_principal {
            ck.diags.push(
                Diagnostic::error(
                    "ztpol::check::no-principal",
                    format!("`{}` in a statement without a principal", path.dotted()),
                )
                .at(path.span, "no principal is matched here")
                .with_help(
                    "name a principal after `forbid`, or use `subject` for the acting principal",
                ),
            );
        }
        if path.fields.is_empty() {
            ck.diags.push(
                Diagnostic::error(
                    "ztpol::check::unknown-attribute",
                    format!("attribute `{}` names no field", path.root.name),
                )
                .at(path.span, "a field is missing")
                .with_help(format!("name a field, such as `{}.id`", path.root.name)),
            );
        }
        CondTerm::Attr(
            Attr {
                root,
                path: path.fields.iter().map(|f| f.name.clone()).collect(),
            },
            path.span,
        )
    }
}

fn cannot_compare(lspan: Span, lt: Type, rspan: Span, rt: Type) -> Diagnostic {
    Diagnostic::error(
        "ztpol::check::type-mismatch",
        format!("cannot compare `{}` with `{}`", lt.name(), rt.name()),
    )
    .at(lspan, format!("this is `{}`", lt.name()))
    .also(rspan, format!("this is `{}`", rt.name()))
    .with_help("both sides of a comparison must have the same type")
}
