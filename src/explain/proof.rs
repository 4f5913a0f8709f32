//! Proofs: why a tuple is in the model, as a tree of rule instances down to given facts.

use super::join::{bound_mask, pattern, plan, unify, value, var_count, Bindings, Search};
use super::{ExplainError, Explainer};
use crate::ir::{BodyLit, CmpOp, Origin, RelId, RuleId, Sym};
use std::collections::HashSet;
use std::ops::ControlFlow;

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
        let program = self.program;
        // In a recursive stratum, premises of the same stratum must rank strictly lower.
        let stratum = self.stratum(rel);
        let ranks = match stratum {
            Some(s) if program.strata.get(s).is_some_and(|x| x.recursive) => {
                Some((s, self.ranks(s)?))
            }
            Some(_) | None => None,
        };
        let my_rank = match &ranks {
            Some((_, r)) => match r.get(rel, tuple) {
                Some(k) => Some(k),
                None => {
                    return Err(ExplainError::NoDerivation {
                        tuple: self.tuple_text(rel, tuple),
                    })
                }
            },
            None => None,
        };
        for &rid in &self.rules_of[rel.index()] {
            let rule = program.rule(rid);
            let mut b: Bindings = vec![None; var_count(rule)];
            if !unify(&rule.head.args, tuple, &mut b) {
                continue;
            }
            let order = plan(rule, bound_mask(&b), None, true);
            let accept = |i: usize, t: &[Sym]| match (&rule.body[i], &ranks, my_rank) {
                (BodyLit::Pos(a), Some((s, r)), Some(k)) if self.stratum(a.rel) == Some(*s) => {
                    r.get(a.rel, t).is_some_and(|x| x < k)
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
            st.done.insert(key);
            return leaf(Step::Rule {
                rule: rid,
                bindings: b,
                premises,
            });
        }
        Err(ExplainError::NoDerivation {
            tuple: self.tuple_text(rel, tuple),
        })
    }
}
