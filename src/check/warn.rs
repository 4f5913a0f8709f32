//! Warnings: problems that do not block compilation but probably are mistakes.

use super::Checker;
use crate::diag::Diagnostic;
use crate::ir::{BodyLit, CmpOp, RelKind, Rule, Term};
use crate::source::Span;
use std::collections::HashSet;

/// A relation declared in a user file (not the stdlib) that no fact, rule or condition mentions.
pub(crate) fn unused_relations(ck: &mut Checker<'_>) {
    for (i, rel) in ck.relations.iter().enumerate() {
        if ck.mentions[i] > 0 || rel.kind != RelKind::Declared {
            continue;
        }
        if ck.sources.get(rel.span.file).name.starts_with("<std>/") {
            continue;
        }
        ck.diags.push(
            Diagnostic::warning(
                "ztpol::check::unused-relation",
                format!("relation `{}` is declared but never used", rel.name),
            )
            .at(rel.span, "no fact, rule or condition mentions it")
            .with_help("remove the declaration, or use the relation in a rule or a condition"),
        );
    }
}

/// Why a rule can never fire on its own: a comparison that is always false, or a body that
/// asks for an atom and its negation.
fn intrinsic_reason(ck: &Checker<'_>, rule: &Rule) -> Option<(Span, String)> {
    let mut positive: HashSet<(u32, &[Term])> = HashSet::new();
    for lit in &rule.body {
        if let BodyLit::Pos(a) = lit {
            positive.insert((a.rel.0, &a.args));
        }
    }
    for lit in &rule.body {
        match lit {
            BodyLit::Pos(_) => {}
            BodyLit::Neg(a) => {
                if positive.contains(&(a.rel.0, a.args.as_slice())) {
                    return Some((
                        a.span,
                        format!(
                            "`not {}` contradicts the same atom in the body",
                            ck.sources.snippet(a.span)
                        ),
                    ));
                }
            }
            BodyLit::Cmp { lhs, op, rhs, span } => {
                let always_false = match (lhs, rhs) {
                    (Term::Const(a), Term::Const(b)) => {
                        let ord = ck.interner.compare(*a, *b);
                        !holds(*op, ord)
                    }
                    (Term::Var(a), Term::Var(b)) if a == b => {
                        matches!(op, CmpOp::Ne | CmpOp::Lt | CmpOp::Gt)
                    }
                    (
                        Term::Const(_) | Term::Var(_) | Term::Wildcard,
                        Term::Const(_) | Term::Var(_) | Term::Wildcard,
                    ) => false,
                };
                if always_false {
                    return Some((
                        *span,
                        format!("`{}` is always false", ck.sources.snippet(*span)),
                    ));
                }
            }
        }
    }
    None
}

fn holds(op: CmpOp, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::{Equal, Greater, Less};
    match op {
        CmpOp::Eq => ord == Equal,
        CmpOp::Ne => ord != Equal,
        CmpOp::Lt => ord == Less,
        CmpOp::Le => ord != Greater,
        CmpOp::Gt => ord == Greater,
        CmpOp::Ge => ord != Less,
    }
}

/// Rules that can never fire: intrinsically (see [`intrinsic_reason`]), or because a positive
/// body atom reads a relation that can never hold. A relation can never hold only when it has
/// no source facts and every rule deriving it can never fire (transitively); a relation with
/// no rules may get facts from data files, so it is never assumed empty.
pub(crate) fn dead_rules(ck: &mut Checker<'_>) {
    let n = ck.relations.len();
    let mut reason: Vec<Option<(Span, String)>> =
        ck.rules.iter().map(|r| intrinsic_reason(ck, r)).collect();
    let mut alive = vec![0u32; n];
    let mut readers: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (r, rule) in ck.rules.iter().enumerate() {
        if reason[r].is_none() {
            alive[rule.head.rel.index()] += 1;
        }
        for lit in &rule.body {
            if let BodyLit::Pos(a) = lit {
                readers[a.rel.index()].push(r as u32);
            }
        }
    }
    let has_rules: Vec<bool> = {
        let mut v = vec![false; n];
        for rule in &ck.rules {
            v[rule.head.rel.index()] = true;
        }
        v
    };
    let mut empty = vec![false; n];
    let mut work: Vec<usize> = (0..n)
        .filter(|&i| has_rules[i] && alive[i] == 0 && ck.fact_count[i] == 0)
        .collect();
    for &i in &work {
        empty[i] = true;
    }
    while let Some(rel) = work.pop() {
        for &r in &readers[rel] {
            let r = r as usize;
            if reason[r].is_some() {
                continue;
            }
            let Some(span) = ck.rules[r].body.iter().find_map(|l| match l {
                BodyLit::Pos(a) if a.rel.index() == rel => Some(a.span),
                BodyLit::Pos(_) | BodyLit::Neg(_) | BodyLit::Cmp { .. } => None,
            }) else {
                continue;
            };
            reason[r] = Some((
                span,
                format!(
                    "`{}` never holds: it has no facts and none of its rules can fire",
                    ck.relations[rel].name
                ),
            ));
            let head = ck.rules[r].head.rel.index();
            alive[head] -= 1;
            if alive[head] == 0 && ck.fact_count[head] == 0 && !empty[head] {
                empty[head] = true;
                work.push(head);
            }
        }
    }
    for (r, why) in reason.into_iter().enumerate() {
        let Some((span, why)) = why else { continue };
        let message = match ck.rule_info[r].policy {
            Some(p) => format!("statement `{}` can never apply", ck.policies[p].id),
            None => format!(
                "rule for `{}` can never fire",
                ck.relations[ck.rules[r].head.rel.index()].name
            ),
        };
        ck.diags.push(
            Diagnostic::warning("ztpol::check::dead-rule", message)
                .at(span, why)
                .with_help("remove it, or fix the part of the body that can never hold"),
        );
    }
}
