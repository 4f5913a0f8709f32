//! Proofs: why a tuple is in the model, as a tree of rule instances down to given facts.

use super::join::{bound_mask, pattern, plan, unify, value, var_count, Bindings, Search};
use super::Ranks;
use super::{ExplainError, Explainer};
use crate::ir::{BodyLit, CmpOp, Origin, RelId, RuleId, Sym};
use std::cell::Cell;
use std::collections::HashSet;
use std::ops::ControlFlow;
use std::rc::Rc;

/// A proof that `rel(tuple)` holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub rel: RelId,
    pub tuple: Vec<Sym>,
    pub step: Step,
}

/// How a tuple holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A given fact, with where it was written.
    Fact(Origin),
    /// An instance of a rule: the values of its variables and one premise per body literal,
    /// in body order.
    Rule {
        rule: RuleId,
        bindings: Bindings,
        premises: Vec<Premise>,
    },
    /// Proved earlier in the same proof (the first occurrence, in depth-first order, carries
    /// the proof).
    Above,
    /// In the model, but not expanded: the proof is deeper or larger than the session allows.
    Elided,
}

/// One body literal of a rule instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Premise {
    /// A positive atom: the tuple it matched and that tuple's proof.
    Atom(Proof),
    /// A negated atom: no tuple of the model matches this pattern (`None`: any value).
    Absent {
        rel: RelId,
        pattern: Vec<Option<Sym>>,
    },
    /// A comparison that holds for these values.
    Compare { lhs: Sym, op: CmpOp, rhs: Sym },
}

impl Proof {
    /// Number of steps (facts and rule instances) in the tree.
    pub fn size(&self) -> usize {
        1 + match &self.step {
            Step::Rule { premises, .. } => premises
                .iter()
                .map(|p| match p {
                    Premise::Atom(q) => q.size(),
                    Premise::Absent { .. } | Premise::Compare { .. } => 0,
                })
                .sum(),
            Step::Fact(_) | Step::Above | Step::Elided => 0,
        }
    }

    /// Length of the longest path from this step to a leaf.
    pub fn depth(&self) -> usize {
        match &self.step {
            Step::Rule { premises, .. } => {
                1 + premises
                    .iter()
                    .map(|p| match p {
                        Premise::Atom(q) => q.depth(),
                        Premise::Absent { .. } | Premise::Compare { .. } => 0,
                    })
                    .max()
                    .unwrap_or(0)
            }
            Step::Fact(_) | Step::Above | Step::Elided => 0,
        }
    }
}

struct State {
    done: HashSet<(RelId, Vec<Sym>)>,
    nodes: usize,
}

impl Explainer<'_> {
    /// The proof of `rel(tuple)`, which must be in the model: given facts are leaves; a derived
    /// tuple is proved by the first rule instance (rules in program order, tuples in the
    /// model's order) whose premises of the same recursive stratum have a smaller rank.
    pub fn prove(&self, rel: RelId, tuple: &[Sym]) -> Result<Proof, ExplainError> {
        if !self.model.get(rel).contains(tuple) {
            return Err(ExplainError::NotInModel {
                tuple: self.tuple_text(rel, tuple),
            });
        }
        let mut st = State {
            done: HashSet::new(),
            nodes: 0,
        };
        self.prove_in(rel, tuple, 0, &mut st)
    }

    fn prove_in(
        &self,
        rel: RelId,
        tuple: &[Sym],
        depth: usize,
        st: &mut State,
    ) -> Result<Proof, ExplainError> {
        let leaf = |step| {
            Ok(Proof {
                rel,
                tuple: tuple.to_vec(),
                step,
            })
        };
        let key = (rel, tuple.to_vec());
        if st.done.contains(&key) {
            return leaf(Step::Above);
        }
        if depth >= self.config.max_depth || st.nodes >= self.config.max_nodes {
            return leaf(Step::Elided);
        }
        st.nodes += 1;
        if let Some(origin) = self.origin(rel, tuple) {
            st.done.insert(key);
            return leaf(Step::Fact(origin));
        }
        // In a recursive stratum, premises of the same stratum must rank strictly lower: the
        // rank comes from a bounded search near the tuple when that is cheap, else from the
        // stratum's full rank table.
        let mode = match self.stratum(rel) {
            Some(s) if self.program.strata.get(s).is_some_and(|x| x.recursive) => {
                let bounded = if self.config.bounded_ranks {
                    self.bounded_rank(s, rel, tuple)
                } else {
                    None
                };
                match bounded {
                    Some(k) => Mode::Bounded(s, k),
                    None => self.full_mode(s, rel, tuple)?,
                }
            }
            Some(_) | None => Mode::Free,
        };
        if let Some(step) = self.by_rules(rel, tuple, &mode, depth, st)? {
            st.done.insert(key);
            return leaf(step);
        }
        if let Mode::Bounded(s, _) = mode {
            let full = self.full_mode(s, rel, tuple)?;
            if let Some(step) = self.by_rules(rel, tuple, &full, depth, st)? {
                st.done.insert(key);
                return leaf(step);
            }
        }
        Err(ExplainError::NoDerivation {
            tuple: self.tuple_text(rel, tuple),
        })
    }

    fn full_mode(&self, s: usize, rel: RelId, tuple: &[Sym]) -> Result<Mode, ExplainError> {
        let r = self.ranks(s)?;
        match r.get(rel, tuple) {
            Some(k) => Ok(Mode::Full(s, r, k)),
            None => Err(ExplainError::NoDerivation {
                tuple: self.tuple_text(rel, tuple),
            }),
        }
    }

    /// The step of the first rule instance that `mode` allows, if any.
    fn by_rules(
        &self,
        rel: RelId,
        tuple: &[Sym],
        mode: &Mode,
        depth: usize,
        st: &mut State,
    ) -> Result<Option<Step>, ExplainError> {
        let program = self.program;
        for &rid in &self.rules_of[rel.index()] {
            let rule = program.rule(rid);
            let mut b: Bindings = vec![None; var_count(rule)];
            if !unify(&rule.head.args, tuple, &mut b) {
                continue;
            }
            let order = plan(rule, bound_mask(&b), None, true);
            let budget = Cell::new(BOUNDED_BUDGET);
            let accept = |i: usize, t: &[Sym]| match (&rule.body[i], mode) {
                (BodyLit::Pos(a), Mode::Full(s, r, k)) if self.stratum(a.rel) == Some(*s) => {
                    r.get(a.rel, t).is_some_and(|x| x < *k)
                }
                (BodyLit::Pos(a), Mode::Bounded(s, k)) if self.stratum(a.rel) == Some(*s) => {
                    *k > 0 && self.within(*s, a.rel, t, *k - 1, &budget) == Some(true)
                }
                _ => true,
            };
            let search = Search {
                values: self.values_plain(),
                model: self.model,
                rule,
                order: &order,
                accept: &accept,
            };
            let mut matched = vec![Vec::new(); rule.body.len()];
            let mut instance: Option<(Bindings, Vec<Vec<Sym>>)> = None;
            let _ = search.run(0, &b, &mut matched, &mut |b, m| {
                instance = Some((b.clone(), m.to_vec()));
                ControlFlow::Break(())
            });
            let Some((b, matched)) = instance else {
                continue;
            };
            let mut premises = Vec::with_capacity(rule.body.len());
            for (i, lit) in rule.body.iter().enumerate() {
                premises.push(match lit {
                    BodyLit::Pos(a) => {
                        Premise::Atom(self.prove_in(a.rel, &matched[i], depth + 1, st)?)
                    }
                    BodyLit::Neg(a) => Premise::Absent {
                        rel: a.rel,
                        pattern: pattern(&a.args, &b),
                    },
                    BodyLit::Cmp { lhs, op, rhs, .. } => match (value(lhs, &b), value(rhs, &b)) {
                        (Some(l), Some(r)) => Premise::Compare {
                            lhs: l,
                            op: *op,
                            rhs: r,
                        },
                        _ => {
                            return Err(ExplainError::NoDerivation {
                                tuple: self.tuple_text(rel, tuple),
                            })
                        }
                    },
                });
            }
            return Ok(Some(Step::Rule {
                rule: rid,
                bindings: b,
                premises,
            }));
        }
        Ok(None)
    }

    /// The rank of a tuple of recursive stratum `s` by iterative deepening: the least `d` such
    /// that it has a derivation whose premises of the stratum are derivable within `d - 1`.
    /// `None` when the search grows too large (the caller then computes the full ranks).
    fn bounded_rank(&self, s: usize, rel: RelId, tuple: &[Sym]) -> Option<u32> {
        let budget = Cell::new(BOUNDED_BUDGET);
        for d in 0..=BOUNDED_DEPTH {
            match self.within(s, rel, tuple, d, &budget) {
                Some(true) => return Some(d),
                Some(false) => {}
                None => return None,
            }
        }
        None
    }

    /// Whether `rel(tuple)` has rank at most `d` (`None`: the budget ran out). What is learnt
    /// is kept for the session: a rank is above every `d` that failed and at most every `d`
    /// that succeeded.
    fn within(
        &self,
        s: usize,
        rel: RelId,
        tuple: &[Sym],
        d: u32,
        budget: &Cell<usize>,
    ) -> Option<bool> {
        if !self.model.get(rel).contains(tuple) {
            return Some(false);
        }
        let key = (rel, tuple.to_vec());
        if let Some(&(above, at_most)) = self.bounds.borrow().get(&key) {
            if at_most <= d {
                return Some(true);
            }
            if above.is_some_and(|a| a >= d) {
                return Some(false);
            }
        }
        let learn = |ok: bool| {
            let mut bounds = self.bounds.borrow_mut();
            let e = bounds.entry(key.clone()).or_insert((None, u32::MAX));
            if ok {
                e.1 = e.1.min(d);
            } else {
                e.0 = Some(e.0.map_or(d, |a| a.max(d)));
            }
        };
        if self.is_given(rel, tuple) {
            learn(true);
            return Some(true);
        }
        if d == 0 {
            learn(false);
            return Some(false);
        }
        let left = budget.get();
        if left == 0 {
            return None;
        }
        budget.set(left - 1);
        let program = self.program;
        for &rid in &self.rules_of[rel.index()] {
            let rule = program.rule(rid);
            let mut b: Bindings = vec![None; var_count(rule)];
            if !unify(&rule.head.args, tuple, &mut b) {
                continue;
            }
            let order = plan(rule, bound_mask(&b), None, true);
            let exhausted = Cell::new(false);
            let accept = |i: usize, t: &[Sym]| match &rule.body[i] {
                BodyLit::Pos(a) if self.stratum(a.rel) == Some(s) => {
                    match self.within(s, a.rel, t, d - 1, budget) {
                        Some(ok) => ok,
                        None => {
                            exhausted.set(true);
                            false
                        }
                    }
                }
                BodyLit::Pos(_) | BodyLit::Neg(_) | BodyLit::Cmp { .. } => true,
            };
            let search = Search {
                values: self.values_plain(),
                model: self.model,
                rule,
                order: &order,
                accept: &accept,
            };
            let mut found = false;
            let _ = search.run(0, &b, &mut Vec::new(), &mut |_, _| {
                found = true;
                ControlFlow::Break(())
            });
            if exhausted.get() {
                return None;
            }
            if found {
                learn(true);
                return Some(true);
            }
        }
        learn(false);
        Some(false)
    }
}

/// How premises of the tuple's own stratum are restricted.
enum Mode {
    /// Not a recursive stratum: any premise in the model will do.
    Free,
    /// Ranks from the stratum's table: premises must rank below the tuple's rank.
    Full(usize, Rc<Ranks>, u32),
    /// Rank found by bounded search: premises must be derivable within rank - 1.
    Bounded(usize, u32),
}

/// Bounded searches give up beyond this rank or this many steps.
const BOUNDED_DEPTH: u32 = 12;
const BOUNDED_BUDGET: usize = 5_000;
