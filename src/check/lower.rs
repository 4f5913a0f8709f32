//! Lowering of facts and rules: atoms are resolved, their arguments typed and interned, and
//! variables numbered per rule.

use super::range;
use super::resolve::resolve;
use super::scope::{Position, RelView, Scope};
use super::{Checker, RuleInfo};
use crate::diag::Diagnostic;
use crate::ir::{self, BodyLit, Origin, Sym, Term};
use crate::syntax::ast;

/// Resolves `atom` and lowers its arguments in `scope`. `None` when the relation is unknown or
/// the arity is wrong (both reported).
pub(crate) fn lower_atom(
    ck: &mut Checker<'_>,
    scope: &mut Scope,
    atom: &ast::Atom,
    pos: Position,
) -> Option<ir::Atom> {
    let id = resolve(ck, &atom.rel, atom.args.len(), atom.span)?;
    let relation = &ck.relations[id.index()];
    let view = RelView {
        name: &relation.name,
        columns: &relation.columns,
        column_spans: &ck.column_spans[id.index()],
    };
    let args = scope.lower_args(&mut ck.interner, &view, atom, pos, &mut ck.diags);
    Some(ir::Atom {
        rel: id,
        args,
        span: atom.span,
    })
}

/// `edge("a", "b").`
pub(crate) fn lower_fact_item(ck: &mut Checker<'_>, atom: &ast::Atom) {
    let mut scope = Scope::new();
    let Some(lowered) = lower_atom(ck, &mut scope, atom, Position::Fact) else {
        return;
    };
    let values: Option<Vec<Sym>> = lowered
        .args
        .iter()
        .map(|t| match t {
            Term::Const(s) => Some(*s),
            Term::Var(_) | Term::Wildcard => None,
        })
        .collect();
    ck.fact_count[lowered.rel.index()] += 1;
    if let Some(values) = values {
        ck.facts.push(ir::Fact {
            rel: lowered.rel,
            values,
            origin: Origin::Inline(atom.span),
        });
    }
}

/// `path(X, Z) :- path(X, Y), edge(Y, Z).`
pub(crate) fn lower_rule_item(ck: &mut Checker<'_>, rule: &ast::Rule) {
    let mut scope = Scope::new();
    let head = lower_atom(ck, &mut scope, &rule.head, Position::Head);
    let body = lower_body(ck, &mut scope, &rule.body);
    range::check_head(ck, &mut scope, &rule.head);
    if let (Some(head), Some(body)) = (head, body) {
        ck.add_rule(
            ir::Rule {
                head,
                body,
                var_names: scope.var_names,
                span: rule.span,
            },
            RuleInfo::default(),
        );
    }
}

/// Lowers a rule body (or a policy's `if` body): atoms first, in order, so that every variable
/// has its type and binding before comparisons and range restriction are checked. `None` when
/// some atom did not resolve.
pub(crate) fn lower_body(
    ck: &mut Checker<'_>,
    scope: &mut Scope,
    body: &[ast::Literal],
) -> Option<Vec<BodyLit>> {
    let mut lits: Vec<Option<BodyLit>> = Vec::with_capacity(body.len());
    let mut ok = true;
    for lit in body {
        let lowered = match lit {
            ast::Literal::Pos(atom) => lower_atom(ck, scope, atom, Position::Pos).map(BodyLit::Pos),
            ast::Literal::Neg(atom, _) => {
                lower_atom(ck, scope, atom, Position::Neg).map(BodyLit::Neg)
            }
            ast::Literal::Cmp(_) => None,
        };
        if lowered.is_none() {
            match lit {
                ast::Literal::Pos(atom) => {
                    // The atom is reported already; count its variables as bound so that the
                    // rest of the rule is not reported for them again.
                    ok = false;
                    for arg in &atom.args {
                        if let ast::Term::Var(v) = arg {
                            let v = scope.var(&v.name);
                            scope.bind(v);
                        }
                    }
                }
                ast::Literal::Neg(..) => ok = false,
                ast::Literal::Cmp(_) => {}
            }
        }
        lits.push(lowered);
    }
    for (slot, lit) in lits.iter_mut().zip(body) {
        if let ast::Literal::Cmp(cmp) = lit {
            *slot = Some(lower_comparison(ck, scope, cmp));
        }
    }
    range::check_body(ck, scope, body);
    if ok {
        Some(lits.into_iter().flatten().collect())
    } else {
        None
    }
}

fn lower_comparison(ck: &mut Checker<'_>, scope: &mut Scope, cmp: &ast::Comparison) -> BodyLit {
    for side in [&cmp.lhs, &cmp.rhs] {
        if let ast::Term::Wildcard(span) = side {
            ck.diags.push(
                Diagnostic::error("ztpol::check::misplaced-wildcard", "`_` cannot be compared")
                    .at(*span, "a comparison needs a value on each side")
                    .with_help(
                        "use a variable that a positive atom of the body binds, or a constant",
                    ),
            );
        }
    }
    if let (Some(l), Some(r)) = (scope.term_type(&cmp.lhs), scope.term_type(&cmp.rhs)) {
        if l != r {
            ck.diags.push(
                Diagnostic::error(
                    "ztpol::check::type-mismatch",
                    format!("cannot compare `{}` with `{}`", l.name(), r.name()),
                )
                .at(cmp.lhs.span(), format!("this is `{}`", l.name()))
                .also(cmp.rhs.span(), format!("this is `{}`", r.name()))
                .with_help("both sides of a comparison must have the same type"),
            );
        }
    }
    BodyLit::Cmp {
        lhs: scope.lower_term(&mut ck.interner, &cmp.lhs),
        op: cmp.op,
        rhs: scope.lower_term(&mut ck.interner, &cmp.rhs),
        span: cmp.span,
    }
}
