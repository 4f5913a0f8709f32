//! Lowering of `permit` / `forbid` statements (see SYNTAX.md, "Lowering").
//!
//! Each statement gets an instance relation `$policy:<id>` with columns
//! `[principal,] bound vars...` (the `if`-body variables its condition uses, in order of first
//! use), derived by one rule (`$policy:ID(P, vars..) :- has_role(P, "tier1"), BODY.`) or one
//! fact when there is no body, and an [`ir::Policy`] whose condition reads those columns
//! through [`CondTerm::Bound`].

use super::lower::{lower_atom, lower_body};
use super::range::{require_bound, Place};
use super::scope::{Position, Scope};
use super::{Checker, RuleInfo};
use crate::diag::Diagnostic;
use crate::ir::{self, ActionPat, ColumnInfo, Cond, Origin, PrincipalMatch, RelKind, Term, Type};
use crate::source::Span;
use crate::syntax::ast;
use std::path::Path;

/// The name of the variable that holds the principal in a `role` statement's rule. It is not a
/// valid source variable (those start with an upper-case letter or `_`), so it never clashes.
const PRINCIPAL_VAR: &str = "principal";

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
    let mut cond_lowering = super::cond::CondLowering {
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
