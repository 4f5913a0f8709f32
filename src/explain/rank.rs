//! Ranks: the semi-naive round in which each tuple of a recursive stratum first appears.
//!
//! Given tuples have rank 0; a tuple derived in round `k` from premises of the same stratum
//! that all have rank below `k` has rank `k`. A proof that only uses rule instances whose
//! premises of the same stratum have a strictly smaller rank is well-founded (no cycles), and
//! since a tuple of rank `k` has no derivation from premises of rank below `k - 1` alone, it is
//! of minimal depth. Relations of earlier strata are final, so they are read from the model.

use super::join::{bound_mask, plan, unify, value, Bindings, Search};
use super::{ExplainError, Explainer};
use crate::eval::EvalError;
use crate::ir::{BodyLit, RelId, Sym};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::time::Instant;

/// The ranks of every tuple of one stratum.
#[derive(Debug, Clone, Default)]
pub struct Ranks {
    per_rel: HashMap<RelId, HashMap<Vec<Sym>, u32>>,
}

impl Ranks {
    /// The rank of a tuple, if it is in the stratum's part of the model.
    pub fn get(&self, rel: RelId, tuple: &[Sym]) -> Option<u32> {
        self.per_rel.get(&rel).and_then(|m| m.get(tuple)).copied()
    }

    /// Number of ranked tuples.
    pub fn len(&self) -> usize {
        self.per_rel.values().map(HashMap::len).sum()
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
    let in_s = |rel: RelId| ex.stratum_of.get(rel.index()).copied().flatten() == Some(s);
    let first_rel = || {
        stratum
            .relations
            .first()
            .map(|&r| program.relation(r).name.clone())
            .unwrap_or_default()
    };

    let mut ranks = Ranks::default();
    let mut delta: HashMap<RelId, Vec<Vec<Sym>>> = HashMap::new();
    let mut rels: Vec<RelId> = stratum.relations.clone();
    for &r in &stratum.rules {
        let head = program.rule(r).head.rel;
        if !rels.contains(&head) {
            rels.push(head);
        }
    }
    for &rel in &rels {
        let origins = ex.origins(rel);
        let map = ranks.per_rel.entry(rel).or_default();
        for tuple in origins.keys() {
            map.insert(tuple.clone(), 0);
            delta.entry(rel).or_default().push(tuple.clone());
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
        let n = super::join::var_count(rule);
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
                    if let crate::ir::Term::Var(v) = t {
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

    let mut total = ranks.len();
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
        let mut derived: Vec<(RelId, Vec<Sym>)> = Vec::new();
        for v in &variants {
            let rule = program.rule(stratum.rules[v.rule]);
            let n = super::join::var_count(rule);
            let accept = |i: usize, t: &[Sym]| match &rule.body[i] {
                BodyLit::Pos(a) if in_s(a.rel) => ranks.get(a.rel, t).is_some_and(|r| r < k),
                BodyLit::Pos(_) | BodyLit::Neg(_) | BodyLit::Cmp { .. } => true,
            };
            let search = Search {
                values: ex.values_plain(),
                model: ex.model,
                rule,
                order: &v.order,
                accept: &accept,
            };
            let mut matched: Vec<Vec<Sym>> = vec![Vec::new(); rule.body.len()];
            let mut found = |b: &Bindings, _: &[Vec<Sym>]| {
                let head: Option<Vec<Sym>> = rule.head.args.iter().map(|t| value(t, b)).collect();
                if let Some(h) = head {
                    derived.push((rule.head.rel, h));
                }
                ControlFlow::Continue(())
            };
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
                    let Some(seeds) = delta.get(&atom.rel) else {
                        continue;
                    };
                    for (j, t) in seeds.iter().enumerate() {
                        if j % 4096 == 4095 && start.elapsed() > limits.max_time {
                            return Err(ExplainError::Limit(EvalError::TimeLimit {
                                limit: limits.max_time,
                            }));
                        }
                        let mut b: Bindings = vec![None; n];
                        if !unify(&atom.args, t, &mut b) {
                            continue;
                        }
                        debug_assert_eq!(bound_mask(&b).len(), n);
                        matched[d] = t.clone();
                        let _ = search.run(0, &b, &mut matched, &mut found);
                    }
                }
            }
        }
        let mut next: HashMap<RelId, Vec<Vec<Sym>>> = HashMap::new();
        for (rel, t) in derived {
            let map = ranks.per_rel.entry(rel).or_default();
            if map.contains_key(&t) {
                continue;
            }
            map.insert(t.clone(), k);
            next.entry(rel).or_default().push(t);
            total += 1;
            if total > limits.max_facts {
                return Err(ExplainError::Limit(EvalError::FactLimit {
                    limit: limits.max_facts,
                    relation: program.relation(rel).name.clone(),
                }));
            }
        }
        if next.is_empty() {
            return Ok(ranks);
        }
        delta = next;
    }
}
