//! Rule planning: each rule becomes one or more join pipelines over keyed indexes.
//!
//! Semi-naive evaluation of `h :- a1, ..., an` in a recursive stratum runs one *variant* per
//! positive atom `ai` over a relation of the stratum: `ai` reads only the tuples new in the
//! last round (its delta), the stratum atoms before it (in body order) read the tuples known
//! before that round, those after it read everything. The union of the variants is exactly the
//! set of derivations that use at least one new tuple. A rule without stratum atoms (every rule
//! of a non-recursive stratum) has a single variant that runs once.
//!
//! A variant is a pipeline of steps. The first step scans the delta; every later step looks up
//! one atom in an index keyed by the columns already known (bound variables and constants):
//!
//! ```text
//! path(X, Z) :- path(X, Y), edge(Y, Z).
//!   scan   delta path(X, Y)              binds X, Y
//!   lookup edge keyed by (Y)             binds Z
//!   emit   path(X, Z)
//! ```
//!
//! Comparisons and negations run as filters as soon as their variables are bound; a negation
//! is a lookup in the final contents of an earlier stratum that must find nothing.

use crate::ir::{Atom, BodyLit, CmpOp, Program, RelId, Rule, RuleId, Sym, Term};
use std::collections::HashMap;
use std::fmt::Write as _;

/// A value in a pipeline: a variable slot of the rule or a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Operand {
    Slot(u32),
    Const(Sym),
}

/// What a step does with one non-key column of a matched tuple.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ColAction {
    /// First occurrence of a variable: bind it.
    Bind(u32),
    /// A variable bound earlier in the same atom (`e(X, X)`): require equality.
    Check(u32),
    /// A constant the lookup key does not cover (delta scans): require equality.
    Const(Sym),
    /// A wildcard.
    Skip,
}

/// An index: a relation's tuples with columns permuted so the key columns come first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct IndexKey {
    pub rel: RelId,
    /// `perm[i]` is the relation column stored at position `i`.
    pub perm: Vec<u32>,
}

impl IndexKey {
    pub fn is_identity(&self) -> bool {
        self.perm.iter().enumerate().all(|(i, &c)| i == c as usize)
    }
}

/// Where a step reads its tuples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// The delta of stratum relation `rel` (local number), unpermuted.
    Delta(usize),
    /// Dynamic index `index` of the stratum: the tuples before the last round, or all.
    Dynamic { index: usize, full: bool },
    /// Static index `index` (a relation of an earlier stratum, final).
    Static(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Step {
    pub source: Source,
    /// Lookup key, matched against the first `key.len()` stored columns.
    pub key: Vec<Operand>,
    /// Actions for the stored columns after the key.
    pub cols: Vec<ColAction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Filter {
    Cmp(Operand, CmpOp, Operand),
    /// No tuple of static index `index` starts with `key`.
    Absent {
        index: usize,
        key: Vec<Operand>,
    },
    /// Never holds (a comparison or head term on a variable no positive atom binds).
    Never,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Variant {
    pub steps: Vec<Step>,
    /// `filters[i]` run before step `i` (`filters[steps.len()]` before emitting).
    pub filters: Vec<Vec<Filter>>,
    /// The rule and the role of each atom, for diagnostics and tests.
    pub describe: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RulePlan {
    pub rule: RuleId,
    /// Local number of the head relation in the stratum.
    pub head_rel: usize,
    pub head: Vec<Operand>,
    pub slots: usize,
    /// Whether the variants read deltas (false: run once before the first round).
    pub incremental: bool,
    pub variants: Vec<Variant>,
}

/// The indexes a stratum's plans need, deduplicated.
#[derive(Debug, Default)]
pub(super) struct Indexes {
    pub dynamic: Vec<IndexKey>,
    pub statics: Vec<IndexKey>,
    dyn_map: HashMap<IndexKey, usize>,
    static_map: HashMap<IndexKey, usize>,
}

impl Indexes {
    fn dynamic(&mut self, key: IndexKey) -> usize {
        let next = self.dynamic.len();
        *self.dyn_map.entry(key.clone()).or_insert_with(|| {
            self.dynamic.push(key);
            next
        })
    }

    fn statics(&mut self, key: IndexKey) -> usize {
        let next = self.statics.len();
        *self.static_map.entry(key.clone()).or_insert_with(|| {
            self.statics.push(key);
            next
        })
    }
}

/// Local numbering of the relations a stratum derives.
pub(super) struct Locals {
    pub rels: Vec<RelId>,
    pub of: HashMap<RelId, usize>,
}

impl Locals {
    pub fn new(rels: Vec<RelId>) -> Locals {
        let of = rels.iter().enumerate().map(|(i, &r)| (r, i)).collect();
        Locals { rels, of }
    }
}

/// Plans rule `id` of a stratum whose derived relations are `locals`.
pub(super) fn plan_rule(
    program: &Program,
    id: RuleId,
    locals: &Locals,
    indexes: &mut Indexes,
) -> RulePlan {
    let rule = program.rule(id);
    let positives: Vec<&Atom> = rule
        .body
        .iter()
        .filter_map(|lit| match lit {
            BodyLit::Pos(a) => Some(a),
            BodyLit::Neg(_) | BodyLit::Cmp { .. } => None,
        })
        .collect();
    let deltas: Vec<usize> = (0..positives.len())
        .filter(|&i| locals.of.contains_key(&positives[i].rel))
        .collect();
    let slots = slot_count(rule);
    let variants = if deltas.is_empty() {
        vec![plan_variant(
            program, rule, &positives, None, locals, indexes, slots,
        )]
    } else {
        deltas
            .iter()
            .map(|&d| plan_variant(program, rule, &positives, Some(d), locals, indexes, slots))
            .collect()
    };
    // The head relation is one of the stratum's by construction of `locals`.
    let head_rel = locals.of[&rule.head.rel];
    let head = rule
        .head
        .args
        .iter()
        .map(|t| match t {
            Term::Var(v) => Operand::Slot(v.0),
            Term::Const(c) => Operand::Const(*c),
            // Not range-restricted: the variants' `Never` filter stops before emitting.
            Term::Wildcard => Operand::Const(Sym(0)),
        })
        .collect();
    RulePlan {
        rule: id,
        head_rel,
        head,
        slots,
        incremental: !deltas.is_empty(),
        variants,
    }
}

/// The number of variable slots `rule` needs.
fn slot_count(rule: &Rule) -> usize {
    let mut n = rule.var_names.len();
    let mut see = |t: &Term| {
        if let Term::Var(v) = t {
            n = n.max(v.0 as usize + 1);
        }
    };
    rule.head.args.iter().for_each(&mut see);
    for lit in &rule.body {
        match lit {
            BodyLit::Pos(a) | BodyLit::Neg(a) => a.args.iter().for_each(&mut see),
            BodyLit::Cmp { lhs, rhs, .. } => {
                see(lhs);
                see(rhs);
            }
        }
    }
    n
}

fn plan_variant(
    program: &Program,
    rule: &Rule,
    positives: &[&Atom],
    delta: Option<usize>,
    locals: &Locals,
    indexes: &mut Indexes,
    slots: usize,
) -> Variant {
    // bound_at[v] = the number of steps after which variable v is bound.
    let mut bound_at: Vec<Option<usize>> = vec![None; slots];
    let mut steps = Vec::new();
    let mut remaining: Vec<usize> = (0..positives.len()).collect();
    let mut describe = String::new();

    if let Some(d) = delta {
        remaining.retain(|&i| i != d);
        let atom = positives[d];
        let mut cols = Vec::with_capacity(atom.args.len());
        for term in &atom.args {
            cols.push(match term {
                Term::Var(v) => bind_or_check(&mut bound_at, *v, 1),
                Term::Const(c) => ColAction::Const(*c),
                Term::Wildcard => ColAction::Skip,
            });
        }
        steps.push(Step {
            source: Source::Delta(locals.of[&atom.rel]),
            key: Vec::new(),
            cols,
        });
        let _ = write!(describe, "delta {}", atom_text(program, rule, atom));
    }

    while !remaining.is_empty() {
        // Most known columns first; among equals, earlier relations (final, single index)
        // before stratum ones, then body order.
        let pick = remaining
            .iter()
            .enumerate()
            .max_by_key(|&(pos, &i)| {
                let atom = positives[i];
                let known = atom
                    .args
                    .iter()
                    .filter(|t| match t {
                        Term::Var(v) => bound_at[v.0 as usize].is_some(),
                        Term::Const(_) => true,
                        Term::Wildcard => false,
                    })
                    .count();
                let is_static = !locals.of.contains_key(&atom.rel);
                (known, is_static, std::cmp::Reverse(pos))
            })
            .map(|(pos, _)| pos)
            .unwrap_or(0);
        let i = remaining.remove(pick);
        let atom = positives[i];
        let step_no = steps.len() + 1;

        let mut key_cols = Vec::new();
        let mut rest_cols = Vec::new();
        let mut key = Vec::new();
        for (c, term) in atom.args.iter().enumerate() {
            match term {
                Term::Const(s) => {
                    key_cols.push(c as u32);
                    key.push(Operand::Const(*s));
                }
                Term::Var(v) if bound_at[v.0 as usize].is_some() => {
                    key_cols.push(c as u32);
                    key.push(Operand::Slot(v.0));
                }
                Term::Var(_) | Term::Wildcard => rest_cols.push(c as u32),
            }
        }
        let mut cols = Vec::with_capacity(rest_cols.len());
        for &c in &rest_cols {
            cols.push(match atom.args[c as usize] {
                Term::Var(v) => bind_or_check(&mut bound_at, v, step_no),
                Term::Const(s) => ColAction::Const(s),
                Term::Wildcard => ColAction::Skip,
            });
        }
        let mut perm = key_cols;
        perm.extend(rest_cols);
        let index = IndexKey {
            rel: atom.rel,
            perm,
        };
        let (source, role) = if locals.of.contains_key(&atom.rel) {
            // Stratum atoms after the delta (in body order) see the last round's tuples.
            let full = delta.is_some_and(|d| i > d);
            (
                Source::Dynamic {
                    index: indexes.dynamic(index),
                    full,
                },
                if full { "all" } else { "old" },
            )
        } else {
            (Source::Static(indexes.statics(index)), "final")
        };
        if !describe.is_empty() {
            describe.push_str(", ");
        }
        let _ = write!(describe, "{role} {}", atom_text(program, rule, atom));
        steps.push(Step { source, key, cols });
    }

    let mut filters: Vec<Vec<Filter>> = vec![Vec::new(); steps.len() + 1];
    let point = |t: &Term, bound_at: &[Option<usize>]| -> Option<usize> {
        match t {
            Term::Var(v) => bound_at[v.0 as usize],
            Term::Const(_) | Term::Wildcard => Some(0),
        }
    };
    for lit in &rule.body {
        match lit {
            BodyLit::Pos(_) => {}
            BodyLit::Cmp { lhs, op, rhs, .. } => {
                let at = point(lhs, &bound_at).zip(point(rhs, &bound_at));
                match (at, operand(lhs), operand(rhs)) {
                    (Some((a, b)), Some(l), Some(r)) => {
                        filters[a.max(b)].push(Filter::Cmp(l, *op, r));
                    }
                    _ => filters[0].push(Filter::Never),
                }
            }
            BodyLit::Neg(atom) => {
                // Key: constants and bound variables; variables no positive atom binds would
                // break range restriction and act as wildcards.
                let mut key_cols = Vec::new();
                let mut rest_cols = Vec::new();
                let mut key = Vec::new();
                let mut at = 0;
                for (c, term) in atom.args.iter().enumerate() {
                    match term {
                        Term::Const(s) => {
                            key_cols.push(c as u32);
                            key.push(Operand::Const(*s));
                        }
                        Term::Var(v) => match bound_at[v.0 as usize] {
                            Some(b) => {
                                at = at.max(b);
                                key_cols.push(c as u32);
                                key.push(Operand::Slot(v.0));
                            }
                            None => rest_cols.push(c as u32),
                        },
                        Term::Wildcard => rest_cols.push(c as u32),
                    }
                }
                let mut perm = key_cols;
                perm.extend(rest_cols);
                let index = indexes.statics(IndexKey {
                    rel: atom.rel,
                    perm,
                });
                filters[at].push(Filter::Absent { index, key });
            }
        }
    }
    for t in &rule.head.args {
        let unbound = match t {
            Term::Var(v) => bound_at[v.0 as usize].is_none(),
            Term::Const(_) => false,
            Term::Wildcard => true,
        };
        if unbound {
            filters[0].push(Filter::Never);
        }
    }
    Variant {
        steps,
        filters,
        describe: format!("{} :- {describe}", atom_text(program, rule, &rule.head)),
    }
}

fn bind_or_check(bound_at: &mut [Option<usize>], v: crate::ir::Var, step_no: usize) -> ColAction {
    let slot = &mut bound_at[v.0 as usize];
    match slot {
        Some(_) => ColAction::Check(v.0),
        None => {
            *slot = Some(step_no);
            ColAction::Bind(v.0)
        }
    }
}

fn operand(t: &Term) -> Option<Operand> {
    match t {
        Term::Var(v) => Some(Operand::Slot(v.0)),
        Term::Const(c) => Some(Operand::Const(*c)),
        Term::Wildcard => None,
    }
}

/// `name(args)` in source syntax, for plan descriptions.
fn atom_text(program: &Program, rule: &Rule, atom: &Atom) -> String {
    let args: Vec<String> = atom
        .args
        .iter()
        .map(|t| match t {
            Term::Var(v) => rule
                .var_names
                .get(v.0 as usize)
                .cloned()
                .unwrap_or_else(|| format!("V{}", v.0)),
            Term::Const(c) => program.interner.value(*c).to_string(),
            Term::Wildcard => "_".to_string(),
        })
        .collect();
    format!("{}({})", program.relation(atom.rel).name, args.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{ColumnInfo, RelKind, Relation, Type, Var};
    use crate::source::Span;

    fn program(rules: Vec<(Atom, Vec<Atom>)>) -> Program {
        let mut p = Program::default();
        for name in ["edge", "path"] {
            p.relations.push(Relation {
                name: name.into(),
                columns: vec![
                    ColumnInfo {
                        name: None,
                        ty: Type::Int
                    };
                    2
                ],
                span: Span::default(),
                kind: RelKind::Declared,
            });
        }
        for (head, body) in rules {
            p.rules.push(Rule {
                head,
                body: body.into_iter().map(BodyLit::Pos).collect(),
                var_names: vec!["X".into(), "Y".into(), "Z".into()],
                span: Span::default(),
            });
        }
        p
    }

    fn atom(rel: u32, vars: [u32; 2]) -> Atom {
        Atom {
            rel: RelId(rel),
            args: vars.iter().map(|&v| Term::Var(Var(v))).collect(),
            span: Span::default(),
        }
    }

    #[test]
    fn linear_closure_scans_the_delta_and_looks_up_edges() {
        // path(X, Z) :- path(X, Y), edge(Y, Z).
        let p = program(vec![(
            atom(1, [0, 2]),
            vec![atom(1, [0, 1]), atom(0, [1, 2])],
        )]);
        let locals = Locals::new(vec![RelId(1)]);
        let mut indexes = Indexes::default();
        let plan = plan_rule(&p, RuleId(0), &locals, &mut indexes);
        assert!(plan.incremental);
        let described: Vec<&str> = plan.variants.iter().map(|v| v.describe.as_str()).collect();
        assert_eq!(
            described,
            ["path(X, Z) :- delta path(X, Y), final edge(Y, Z)"]
        );
        assert_eq!(
            plan.variants[0].steps[1],
            Step {
                source: Source::Static(0),
                key: vec![Operand::Slot(1)],
                cols: vec![ColAction::Bind(2)],
            }
        );
        assert!(indexes.dynamic.is_empty());
        assert_eq!(indexes.statics[0].perm, [0, 1]);
    }

    #[test]
    fn nonlinear_closure_has_one_variant_per_recursive_atom() {
        // path(X, Z) :- path(X, Y), path(Y, Z).
        let p = program(vec![(
            atom(1, [0, 2]),
            vec![atom(1, [0, 1]), atom(1, [1, 2])],
        )]);
        let locals = Locals::new(vec![RelId(1)]);
        let mut indexes = Indexes::default();
        let plan = plan_rule(&p, RuleId(0), &locals, &mut indexes);
        let described: Vec<&str> = plan.variants.iter().map(|v| v.describe.as_str()).collect();
        assert_eq!(
            described,
            [
                "path(X, Z) :- delta path(X, Y), all path(Y, Z)",
                "path(X, Z) :- delta path(Y, Z), old path(X, Y)"
            ]
        );
        // path keyed by its first column (itself) and by its second (a permuted copy).
        let perms: Vec<&[u32]> = indexes.dynamic.iter().map(|k| k.perm.as_slice()).collect();
        assert_eq!(perms, [&[0, 1][..], &[1, 0][..]]);
    }

    #[test]
    fn rules_over_earlier_strata_run_once() {
        // path(X, Y) :- edge(X, Y).
        let p = program(vec![(atom(1, [0, 1]), vec![atom(0, [0, 1])])]);
        let locals = Locals::new(vec![RelId(1)]);
        let mut indexes = Indexes::default();
        let plan = plan_rule(&p, RuleId(0), &locals, &mut indexes);
        assert!(!plan.incremental);
        assert_eq!(plan.variants.len(), 1);
        assert_eq!(plan.variants[0].describe, "path(X, Y) :- final edge(X, Y)");
    }
}
