//! Ranks: the semi-naive round in which each tuple of a recursive stratum first appears.
//!
//! Given tuples have rank 0; a tuple derived in round `k` from premises of the same stratum
//! that all have rank below `k` has rank `k`. A proof that only uses rule instances whose
//! premises of the same stratum have a strictly smaller rank is well-founded (no cycles), and
//! since a tuple of rank `k` has no derivation from premises of rank below `k - 1` alone, it is
//! of minimal depth. Relations of earlier strata are final, so they are read from the model.
//!
//! Ranks are stored beside a sorted copy of each relation's tuples (as the model holds them),
//! so a rank is a binary search away and computing them allocates nothing per tuple.

use super::join::{plan, unify, value, var_count, Bindings, Search};
use super::{ExplainError, Explainer};
use crate::eval::{EvalError, Rows};
use crate::ir::{BodyLit, RelId, Sym, Term};
use std::ops::ControlFlow;
use std::time::Instant;

const UNRANKED: u32 = u32::MAX;

/// The tuples of one relation of the stratum, sorted, with their ranks.
#[derive(Debug, Clone, Default)]
struct Table {
    arity: usize,
    data: Vec<Sym>,
    rank: Vec<u32>,
}

impl Table {
    fn new(rows: &Rows) -> Table {
        let mut data = Vec::with_capacity(rows.len() * rows.arity());
        for t in rows.iter() {
            data.extend_from_slice(t);
        }
        Table {
            arity: rows.arity(),
            data,
            rank: vec![UNRANKED; rows.len()],
        }
    }

    fn tuple(&self, i: usize) -> &[Sym] {
        &self.data[i * self.arity..(i + 1) * self.arity]
    }

    fn index(&self, t: &[Sym]) -> Option<usize> {
        if t.len() != self.arity {
            return None;
        }
        if self.arity == 0 {
            return (!self.rank.is_empty()).then_some(0);
        }
        let (mut lo, mut hi) = (0, self.rank.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.tuple(mid).cmp(t) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    fn get(&self, t: &[Sym]) -> Option<u32> {
        self.index(t)
            .map(|i| self.rank[i])
            .filter(|r| *r != UNRANKED)
    }
}

/// The ranks of every tuple of one stratum.
#[derive(Debug, Clone, Default)]
pub struct Ranks {
    /// Indexed by relation; `None` for relations outside the stratum.
    tables: Vec<Option<Table>>,
}

impl Ranks {
    /// The rank of a tuple, if it is in the stratum's part of the model.
    pub fn get(&self, rel: RelId, tuple: &[Sym]) -> Option<u32> {
        self.tables
            .get(rel.index())
            .and_then(Option::as_ref)
            .and_then(|t| t.get(tuple))
    }

    /// Number of ranked tuples.
    pub fn len(&self) -> usize {
        self.tables
            .iter()
            .flatten()
            .map(|t| t.rank.iter().filter(|r| **r != UNRANKED).count())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Re-runs stratum `s` semi-naively over the final model of the earlier strata, recording the
/// round of each tuple's first derivation. Bounded by the explainer's limits.
pub fn compute(ex: &Explainer<'_>, s: usize) -> Result<Ranks, ExplainError> {
    let program = ex.program;
    let limits = ex.config.limits;
    let start = Instant::now();
    let Some(stratum) = program.strata.get(s) else {
        return Ok(Ranks::default());
    };
    let in_s = |rel: RelId| ex.stratum(rel) == Some(s);
    let first_rel = || {
        stratum
            .relations
            .first()
            .map(|&r| program.relation(r).name.clone())
            .unwrap_or_default()
    };

    let mut ranks = Ranks {
        tables: vec![None; program.relations.len()],
    };
    for (i, slot) in ranks.tables.iter_mut().enumerate() {
        let rel = RelId(i as u32);
        if in_s(rel) {
            *slot = Some(Table::new(ex.model.get(rel)));
        }
    }
    // Deltas: indices into each relation's table.
    let mut delta: Vec<Vec<usize>> = vec![Vec::new(); program.relations.len()];
    let in_stratum = (0..program.relations.len())
        .map(|i| RelId(i as u32))
        .filter(|&r| in_s(r));
    let given = in_stratum.flat_map(|r| ex.facts_of(r).iter().filter_map(|&i| ex.fact(i)));
    for f in given {
        let Some(Some(table)) = ranks.tables.get_mut(f.rel.index()) else {
            continue;
        };
        if let Some(i) = table.index(&f.values) {
            if table.rank[i] == UNRANKED {
                table.rank[i] = 0;
                delta[f.rel.index()].push(i);
            }
        }
    }

    // For each rule and each positive literal of the stratum: the plan of the rest of the body
    // once that literal is matched.
    struct Variant {
        rule: usize,
        seed: Option<usize>,
        order: Vec<usize>,
    }
    let mut variants = Vec::new();
    for (ri, &rid) in stratum.rules.iter().enumerate() {
        let rule = program.rule(rid);
        let n = var_count(rule);
        let same: Vec<usize> = rule
            .body
            .iter()
            .enumerate()
            .filter_map(|(i, lit)| match lit {
                BodyLit::Pos(a) if in_s(a.rel) => Some(i),
                BodyLit::Pos(_) | BodyLit::Neg(_) | BodyLit::Cmp { .. } => None,
            })
            .collect();
        if same.is_empty() {
            variants.push(Variant {
                rule: ri,
                seed: None,
                order: plan(rule, vec![false; n], None, true),
            });
        }
        for d in same {
            let mut bound = vec![false; n];
            if let BodyLit::Pos(a) = &rule.body[d] {
                for t in &a.args {
                    if let Term::Var(v) = t {
                        if let Some(slot) = bound.get_mut(v.0 as usize) {
                            *slot = true;
                        }
                    }
                }
            }
            variants.push(Variant {
                rule: ri,
                seed: Some(d),
                order: plan(rule, bound, Some(d), true),
            });
        }
    }

    let mut total: usize = delta.iter().map(Vec::len).sum();
    let mut k: u32 = 0;
    loop {
        k += 1;
        if k as usize > limits.max_iterations {
            return Err(ExplainError::Limit(EvalError::IterationLimit {
                limit: limits.max_iterations,
                relation: first_rel(),
            }));
        }
        if start.elapsed() > limits.max_time {
            return Err(ExplainError::Limit(EvalError::TimeLimit {
                limit: limits.max_time,
            }));
        }
        // Derivations of this round, as (relation, index); ranks are written after the round,
        // so every premise used has a rank below `k`.
        let mut derived: Vec<(RelId, usize)> = Vec::new();
        for v in &variants {
            let rule = program.rule(stratum.rules[v.rule]);
            let n = var_count(rule);
            let tables = &ranks.tables;
            let accept = |i: usize, t: &[Sym]| match &rule.body[i] {
                BodyLit::Pos(a) => match tables.get(a.rel.index()) {
                    Some(Some(table)) => table.get(t).is_some_and(|r| r < k),
                    Some(None) | None => true,
                },
                BodyLit::Neg(_) | BodyLit::Cmp { .. } => true,
            };
            let search = Search {
                values: ex.values_plain(),
                model: ex.model,
                rule,
                order: &v.order,
                accept: &accept,
            };
            let head_rel = rule.head.rel;
            let mut head: Vec<Sym> = Vec::with_capacity(rule.head.args.len());
            let mut found = |b: &Bindings, _: &[Vec<Sym>]| {
                head.clear();
                for t in &rule.head.args {
                    match value(t, b) {
                        Some(x) => head.push(x),
                        None => return ControlFlow::Continue(()),
                    }
                }
                if let Some(Some(table)) = tables.get(head_rel.index()) {
                    if let Some(i) = table.index(&head) {
                        if table.rank[i] == UNRANKED {
                            derived.push((head_rel, i));
                        }
                    }
                }
                ControlFlow::Continue(())
            };
            let mut matched: Vec<Vec<Sym>> = Vec::new();
            match v.seed {
                None => {
                    if k == 1 {
                        let _ = search.run(0, &vec![None; n], &mut matched, &mut found);
                    }
                }
                Some(d) => {
                    let BodyLit::Pos(atom) = &rule.body[d] else {
                        continue;
                    };
                    let Some(Some(seed_table)) = tables.get(atom.rel.index()) else {
                        continue;
                    };
                    for (j, &ti) in delta[atom.rel.index()].iter().enumerate() {
                        if j % 4096 == 4095 && start.elapsed() > limits.max_time {
                            return Err(ExplainError::Limit(EvalError::TimeLimit {
                                limit: limits.max_time,
                            }));
                        }
                        let mut b: Bindings = vec![None; n];
                        if !unify(&atom.args, seed_table.tuple(ti), &mut b) {
                            continue;
                        }
                        let _ = search.run(0, &b, &mut matched, &mut found);
                    }
                }
            }
        }
        let mut next: Vec<Vec<usize>> = vec![Vec::new(); program.relations.len()];
        let mut any = false;
        for (rel, i) in derived {
            let Some(Some(table)) = ranks.tables.get_mut(rel.index()) else {
                continue;
            };
            if table.rank[i] != UNRANKED {
                continue;
            }
            table.rank[i] = k;
            next[rel.index()].push(i);
            any = true;
            total += 1;
            if total > limits.max_facts {
                return Err(ExplainError::Limit(EvalError::FactLimit {
                    limit: limits.max_facts,
                    relation: program.relation(rel).name.clone(),
                }));
            }
        }
        if !any {
            return Ok(ranks);
        }
        delta = next;
    }
}
