//! Why-not: for a pattern that no tuple of the model matches, which rules could derive it
//! (their head unifies with it) and, for each, the first literal that fails.
//!
//! The body is followed in the order the user wrote it (filters as soon as their variables are
//! bound); among all partial instances, the one that gets furthest names the failing literal:
//! a positive atom with no matching tuple (followed, for a derived relation, by its own
//! why-not, a level or two down), a negated atom that some tuple matches, or a comparison that
//! is false for the values bound.

use super::join::{filter_holds, first_match, pattern, plan, unify, value, var_count, Bindings};
use super::{ExplainError, Explainer};
use crate::ir::{BodyLit, CmpOp, RelId, RelKind, Rule, RuleId, Sym, Term, Value};

/// Why no tuple matches `rel(pattern)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhyNot {
    pub rel: RelId,
    /// The arguments asked about; `None` is any value.
    pub pattern: Vec<Option<Sym>>,
    /// One attempt per rule whose head unifies with the pattern, in program order.
    pub attempts: Vec<Attempt>,
    /// For the instance relation of a statement with no rule: the tuples it does hold (at
    /// most three), i.e. whom the statement is about.
    pub existing: Vec<Vec<Sym>>,
}

/// How far one rule got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub rule: RuleId,
    /// Index of the failing literal in the rule's body.
    pub literal: usize,
    /// The bindings of the first partial instance that failed there.
    pub bindings: Bindings,
    /// How many partial instances failed there.
    pub reached: usize,
    pub blocker: Blocker,
}

/// What stopped a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// No tuple matches this positive atom under the attempt's bindings (`pattern` is the atom
    /// with open arguments as `None`; repeated open variables must also agree); `below`
    /// explains why, for a derived relation, while the depth lasts.
    Missing {
        rel: RelId,
        pattern: Vec<Option<Sym>>,
        below: Option<Box<WhyNot>>,
        /// The same pattern is being explained further up.
        repeated: bool,
    },
    /// This tuple matches a negated atom.
    Present { rel: RelId, tuple: Vec<Sym> },
    /// The comparison is false for these values.
    Compare {
        lhs: Option<Sym>,
        op: CmpOp,
        rhs: Option<Sym>,
    },
    /// The search stopped before finding where the rule fails (too many partial instances).
    Unknown,
}

/// Partial instances visited per rule before giving up.
const BUDGET: usize = 200_000;

struct Deepest {
    step: usize,
    bindings: Option<Bindings>,
    count: usize,
    visits: usize,
}

impl Explainer<'_> {
    /// Why no tuple of the model matches `rel(pattern)`; an error if one does.
    pub fn why_not(&self, rel: RelId, pattern: &[Option<Sym>]) -> Result<WhyNot, ExplainError> {
        if let Some(t) = first_match(self.model.get(rel), pattern) {
            return Err(ExplainError::Holds {
                tuple: self.tuple_text(rel, &t),
            });
        }
        Ok(self.why_not_in(rel, pattern, self.config.why_not_depth, &mut Vec::new()))
    }

    /// `stack` holds the goals being explained above this one: a premise that repeats one of
    /// them is not explained again.
    pub(crate) fn why_not_in(
        &self,
        rel: RelId,
        pat: &[Option<Sym>],
        depth: usize,
        stack: &mut Vec<(RelId, Vec<Option<Sym>>)>,
    ) -> WhyNot {
        stack.push((rel, pat.to_vec()));
        let w = self.why_not_body(rel, pat, depth, stack);
        stack.pop();
        w
    }

    fn why_not_body(
        &self,
        rel: RelId,
        pat: &[Option<Sym>],
        depth: usize,
        stack: &mut Vec<(RelId, Vec<Option<Sym>>)>,
    ) -> WhyNot {
        let program = self.program;
        let extra = self.extra.borrow().clone();
        let mut attempts = Vec::new();
        for &rid in &self.rules_of[rel.index()] {
            let rule = program.rule(rid);
            let mut b: Bindings = vec![None; var_count(rule)];
            if !unify_pattern(&rule.head.args, pat, &mut b) {
                continue;
            }
            let order = plan(rule, b.iter().map(Option::is_some).collect(), None, false);
            let mut d = Deepest {
                step: 0,
                bindings: None,
                count: 0,
                visits: 0,
            };
            self.deepest(&extra, rule, &order, 0, &b, &mut d);
            let (Some(bindings), Some(&literal)) = (d.bindings, order.get(d.step)) else {
                attempts.push(Attempt {
                    rule: rid,
                    literal: 0,
                    bindings: b,
                    reached: 0,
                    blocker: Blocker::Unknown,
                });
                continue;
            };
            let blocker = match &rule.body[literal] {
                BodyLit::Pos(a) => {
                    let p = pattern(&a.args, &bindings);
                    let repeated = stack.iter().any(|(r, q)| *r == a.rel && *q == p);
                    // A pattern cannot say that two open arguments are equal: such an atom is
                    // not explained further (its pattern would be too wide).
                    let mut open = Vec::new();
                    let tied = a.args.iter().any(|t| match t {
                        Term::Var(v) if value(t, &bindings).is_none() => {
                            let seen = open.contains(v);
                            open.push(*v);
                            seen
                        }
                        Term::Var(_) | Term::Const(_) | Term::Wildcard => false,
                    });
                    let below = (depth > 0
                        && !repeated
                        && !tied
                        && !self.rules_of[a.rel.index()].is_empty())
                    .then(|| Box::new(self.why_not_in(a.rel, &p, depth - 1, stack)));
                    Blocker::Missing {
                        rel: a.rel,
                        pattern: p,
                        below,
                        repeated,
                    }
                }
                BodyLit::Neg(a) => {
                    let prefix: Vec<Sym> =
                        a.args.iter().map_while(|t| value(t, &bindings)).collect();
                    let hit = self.model.get(a.rel).with_prefix(&prefix).find(|t| {
                        let mut scratch = bindings.clone();
                        unify(&a.args, t, &mut scratch)
                    });
                    match hit {
                        Some(t) => Blocker::Present {
                            rel: a.rel,
                            tuple: t.to_vec(),
                        },
                        None => Blocker::Unknown,
                    }
                }
                BodyLit::Cmp { lhs, op, rhs, .. } => Blocker::Compare {
                    lhs: value(lhs, &bindings),
                    op: *op,
                    rhs: value(rhs, &bindings),
                },
            };
            attempts.push(Attempt {
                rule: rid,
                literal,
                bindings,
                reached: d.count,
                blocker,
            });
        }
        let existing = if self.rules_of[rel.index()].is_empty()
            && matches!(program.relation(rel).kind, RelKind::Policy(_))
        {
            self.model
                .get(rel)
                .iter()
                .take(3)
                .map(<[Sym]>::to_vec)
                .collect()
        } else {
            Vec::new()
        };
        WhyNot {
            rel,
            pattern: pat.to_vec(),
            attempts,
            existing,
        }
    }

    /// Follows `order` depth-first, recording the furthest step at which a partial instance
    /// fails.
    #[allow(clippy::too_many_arguments)]
    fn deepest(
        &self,
        extra: &[Value],
        rule: &Rule,
        order: &[usize],
        step: usize,
        b: &Bindings,
        d: &mut Deepest,
    ) {
        d.visits += 1;
        if d.visits > BUDGET {
            return;
        }
        let Some(&i) = order.get(step) else {
            // A complete instance: the pattern holds after all (not for a why-not).
            return;
        };
        let fail = |d: &mut Deepest| {
            if d.bindings.is_none() || step > d.step {
                d.step = step;
                d.bindings = Some(b.clone());
                d.count = 1;
            } else if step == d.step {
                d.count += 1;
            }
        };
        match &rule.body[i] {
            BodyLit::Pos(atom) => {
                let prefix: Vec<Sym> = atom.args.iter().map_while(|t| value(t, b)).collect();
                let mut any = false;
                for t in self.model.get(atom.rel).with_prefix(&prefix) {
                    let mut nb = b.clone();
                    if !unify(&atom.args, t, &mut nb) {
                        continue;
                    }
                    any = true;
                    self.deepest(extra, rule, order, step + 1, &nb, d);
                    if d.visits > BUDGET {
                        return;
                    }
                }
                if !any {
                    fail(d);
                }
            }
            lit @ (BodyLit::Neg(_) | BodyLit::Cmp { .. }) => {
                if filter_holds(&self.values_with(extra), self.model, lit, b) {
                    self.deepest(extra, rule, order, step + 1, b, d);
                } else {
                    fail(d);
                }
            }
        }
    }
}

/// Unifies a rule head with a pattern: constants must agree, variables take the pattern's
/// values (`None` leaves them open).
fn unify_pattern(args: &[Term], pat: &[Option<Sym>], b: &mut [Option<Sym>]) -> bool {
    if args.len() != pat.len() {
        return false;
    }
    for (t, p) in args.iter().zip(pat) {
        let Some(v) = p else { continue };
        match t {
            Term::Const(c) => {
                if c != v {
                    return false;
                }
            }
            Term::Var(var) => match b.get_mut(var.0 as usize) {
                Some(Some(x)) if x != v => return false,
                Some(Some(_)) => {}
                Some(slot @ None) => *slot = Some(*v),
                None => return false,
            },
            Term::Wildcard => {}
        }
    }
    true
}
