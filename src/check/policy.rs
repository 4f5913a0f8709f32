//! Lowering of `permit` / `forbid` statements (see SYNTAX.md, "Lowering").
//!
//! Each statement gets an instance relation `$policy:<id>` with columns
//! `[principal,] bound vars...` (the `if`-body variables its condition uses, in order of first
//! use), derived by one rule (`$policy:ID(P, vars..) :- has_role(P, "tier1"), BODY.`) or one
//! fact when there is no body, and an [`ir::Policy`] whose condition reads those columns
//! through [`CondTerm::Bound`].

use super::lower::{lower_atom, lower_body};
use super::range::{require_bound, Place};
use super::resolve::resolve;
use super::scope::{const_type, const_value, Position, RelView, Scope};
use super::{Checker, RuleInfo};
use crate::diag::{did_you_mean, Diagnostic};
use crate::ir::{
    self, ActionPat, Attr, AttrRoot, ColumnInfo, Cond, CondTerm, Origin, PrincipalMatch, RelKind,
    Term, Type, Var,
};
use crate::source::Span;
use crate::syntax::ast;
use std::path::Path;

/// The name of the variable that holds the principal in a `role` statement's rule. It is not a
/// valid source variable (those start with an upper-case letter or `_`), so it never clashes.
const PRINCIPAL_VAR: &str = "principal";

const ROOTS: [&str; 5] = ["subject", "action", "resource", "context", "principal"];

/// The stable id of a statement: its `@id`, or `<file stem>:<line>`.
fn statement_id(ck: &Checker<'_>, stmt: &ast::PolicyStmt) -> (String, Span, bool) {
    if let Some((id, span)) = &stmt.id {
        return (id.clone(), *span, true);
    }
    let file = ck.sources.get(stmt.span.file);
    let stem = Path::new(&file.name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file.name.clone());
    let (line, _) = file.line_col(stmt.effect_span.start as usize);
    (format!("{stem}:{line}"), stmt.effect_span, false)
}

/// The principal column of the instance relation, as a head term, and how the chain matches.
struct PrincipalLowering {
    head: Option<Term>,
    /// The principal's variable (`U` in `user U`), which the condition may read as column 0.
    var: Option<String>,
    matching: PrincipalMatch,
}

pub(crate) fn lower_policy(ck: &mut Checker<'_>, stmt: &ast::PolicyStmt) {
    let (id, id_span, explicit_id) = statement_id(ck, stmt);
    if let Some(&first) = ck.policy_ids.get(&id) {
        let help = if explicit_id {
            "give each statement its own `@id`".to_string()
        } else {
            "two statements start on the same line; put them on separate lines or give them `@id`s"
                .to_string()
        };
        ck.diags.push(
            Diagnostic::error(
                "ztpol::check::duplicate-id",
                format!("statement id `{id}` is used twice"),
            )
            .at(id_span, "used again here")
            .also(first, "first used here")
            .with_help(help),
        );
    } else {
        ck.policy_ids.insert(id.clone(), id_span);
    }

    let mut scope = Scope::new();
    let mut body = lower_body(ck, &mut scope, &stmt.guard);
    let principal = lower_principal(ck, &mut scope, stmt, &mut body);

    // The condition, collecting the body variables it reads.
    let offset = usize::from(principal.head.is_some());
    let mut cond_lowering = CondLowering {
        scope: &mut scope,
        principal_var: principal.var.as_deref(),
        has_principal: principal.head.is_some(),
        offset,
        vars: Vec::new(),
    };
    let cond = match &stmt.when {
        Some(c) => cond_lowering.lower(ck, c),
        None => Cond::True,
    };
    let cond_vars = std::mem::take(&mut cond_lowering.vars);

    // The instance relation and its rule or fact.
    let index = ck.policies.len();
    let mut columns = Vec::with_capacity(offset + cond_vars.len());
    let mut head_args = Vec::with_capacity(offset + cond_vars.len());
    if let Some(head) = principal.head {
        columns.push(ColumnInfo {
            name: Some(PRINCIPAL_VAR.to_string()),
            ty: Type::String,
        });
        head_args.push(head);
    }
    for &v in &cond_vars {
        columns.push(ColumnInfo {
            name: Some(scope.var_names[v.0 as usize].clone()),
            ty: scope.ty(v).unwrap_or(Type::String),
        });
        head_args.push(Term::Var(v));
    }
    let column_names = columns
        .iter()
        .map(|c| c.name.clone().unwrap_or_default())
        .collect();
    let rel = ck.add_relation(
        ir::Relation {
            name: format!("$policy:{id}"),
            columns,
            span: stmt.span,
            kind: RelKind::Policy(index),
        },
        Vec::new(),
    );
    if let Some(body) = body {
        let head = ir::Atom {
            rel,
            args: head_args,
            span: stmt.span,
        };
        if body.is_empty() {
            let values: Option<Vec<_>> = head
                .args
                .iter()
                .map(|t| match t {
                    Term::Const(s) => Some(*s),
                    Term::Var(_) | Term::Wildcard => None,
                })
                .collect();
            if let Some(values) = values {
                ck.fact_count[rel.index()] += 1;
                ck.facts.push(ir::Fact {
                    rel,
                    values,
                    origin: Origin::Inline(stmt.span),
                });
            }
        } else {
            ck.add_rule(
                ir::Rule {
                    head,
                    body,
                    var_names: scope.var_names,
                    span: stmt.span,
                },
                RuleInfo {
                    policy: Some(index),
                },
            );
        }
    }
    ck.policies.push(ir::Policy {
        id,
        explicit_id,
        effect: stmt.effect,
        principal: principal.matching,
        actions: stmt.actions.iter().map(lower_action).collect(),
        resources: stmt.resources.iter().map(|r| r.name.clone()).collect(),
        rel,
        columns: column_names,
        cond,
        span: stmt.span,
    });
}

fn lower_action(a: &ast::ActionPat) -> ActionPat {
    match a {
        ast::ActionPat::Exact { name, .. } => ActionPat::Exact(name.clone()),
        ast::ActionPat::Family { prefix, .. } => ActionPat::Family(prefix.clone()),
        ast::ActionPat::Any { .. } => ActionPat::Any,
    }
}

/// Checks the principal selector; for `role`, prepends `has_role(principal, "ROLE")` to the
/// body.
fn lower_principal(
    ck: &mut Checker<'_>,
    scope: &mut Scope,
    stmt: &ast::PolicyStmt,
    body: &mut Option<Vec<ir::BodyLit>>,
) -> PrincipalLowering {
    match &stmt.principal {
        None => {
            if stmt.effect == ast::Effect::Permit {
                ck.diags.push(
                    Diagnostic::error(
                        "ztpol::check::permit-without-principal",
                        "`permit` without a principal",
                    )
                    .at(stmt.effect_span, "whom does this permit?")
                    .with_help(
                        "name the principal: `permit role \"admin\" to ...`, `permit agent \"support-bot\" to ...`, or `permit user U to ... if ...`",
                    ),
                );
            }
            PrincipalLowering {
                head: None,
                var: None,
                matching: PrincipalMatch::Request,
            }
        }
        Some(ast::PrincipalSel::Role { role, span }) => {
            if !ck.by_name.contains_key("has_role") {
                ck.diags.push(
                    Diagnostic::error(
                        "ztpol::check::missing-roles-module",
                        "`role` needs the `has_role` relation, which is not declared",
                    )
                    .at(*span, "grants to a role")
                    .with_help("add `use std::roles`"),
                );
                *body = None;
            } else {
                let atom = ast::Atom {
                    rel: ast::Ident {
                        name: "has_role".to_string(),
                        span: *span,
                    },
                    args: vec![
                        ast::Term::Var(ast::Ident {
                            name: PRINCIPAL_VAR.to_string(),
                            span: *span,
                        }),
                        ast::Term::Const(role.clone()),
                    ],
                    span: *span,
                };
                match lower_atom(ck, scope, &atom, Position::Pos) {
                    Some(lit) => {
                        if let Some(b) = body {
                            b.insert(0, ir::BodyLit::Pos(lit));
                        }
                    }
                    None => *body = None,
                }
            }
            PrincipalLowering {
                head: Some(Term::Var(scope.var(PRINCIPAL_VAR))),
                var: None,
                matching: PrincipalMatch::Chain { ty: None },
            }
        }
        Some(ast::PrincipalSel::Named { ty, id, .. }) => {
            let id_text = match &id.value {
                ast::ConstValue::Str(s) => s.clone(),
                ast::ConstValue::Int(i) => i.to_string(),
                ast::ConstValue::Bool(b) => b.to_string(),
            };
            let sym = ck.interner.intern_str(&format!("{}:{id_text}", ty.name));
            PrincipalLowering {
                head: Some(Term::Const(sym)),
                var: None,
                matching: PrincipalMatch::Chain {
                    ty: Some(ty.name.clone()),
                },
            }
        }
        Some(ast::PrincipalSel::Var { ty, var, .. }) => {
            require_bound(ck, scope, &var.name, var.span, Place::Principal);
            let v = scope.var(&var.name);
            scope.unify(
                v,
                Type::String,
                var.span,
                || "the principal".to_string(),
                &mut ck.diags,
            );
            let ty = (ty.name != "principal").then(|| ty.name.clone());
            PrincipalLowering {
                head: Some(Term::Var(v)),
                var: Some(var.name.clone()),
                matching: PrincipalMatch::Chain { ty },
            }
        }
    }
}

/// Lowers a `when` condition, numbering the body variables it reads as instance columns.
struct CondLowering<'a> {
    scope: &'a mut Scope,
    principal_var: Option<&'a str>,
    has_principal: bool,
    /// Columns before the first bound variable (1 with a principal column).
    offset: usize,
    vars: Vec<Var>,
}

impl CondLowering<'_> {
    fn lower(&mut self, ck: &mut Checker<'_>, cond: &ast::Cond) -> Cond {
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
                let help = match did_you_mean(other, ROOTS) {
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
