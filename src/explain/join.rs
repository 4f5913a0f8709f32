//! Matching rule bodies against a model: the one join routine that proofs, ranks and why-not
//! share.
//!
//! A rule body is visited in a planned order of its literals ([`plan`]): positive atoms, each
//! looked up in the model by the longest prefix of columns already bound (a binary search,
//! [`Rows::with_prefix`]), with every negation and comparison placed right after the atom that
//! binds its last variable.

use crate::decide::cond::{compare_values, holds};
use crate::eval::{Model, Rows};
use crate::ir::{Atom, BodyLit, CmpOp, Interner, Rule, Sym, Term, Value};
use std::ops::ControlFlow;

/// Values of a rule's variables, indexed by [`crate::ir::Var`]; `None` while unbound.
pub type Bindings = Vec<Option<Sym>>;

/// The number of variable slots `rule` needs (one more than its highest variable).
pub fn var_count(rule: &Rule) -> usize {
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

/// Matches `args` against `tuple`, binding unbound variables; false on a mismatch (the
/// bindings may then be partly written: callers match on a copy).
pub fn unify(args: &[Term], tuple: &[Sym], b: &mut [Option<Sym>]) -> bool {
    if args.len() != tuple.len() {
        return false;
    }
    for (term, &value) in args.iter().zip(tuple) {
        match term {
            Term::Wildcard => {}
            Term::Const(c) => {
                if *c != value {
                    return false;
                }
            }
            Term::Var(v) => match b.get_mut(v.0 as usize) {
                Some(Some(bound)) if *bound != value => return false,
                Some(Some(_)) => {}
                Some(slot @ None) => *slot = Some(value),
                None => return false,
            },
        }
    }
    true
}

/// The value of a term under `b`; `None` for a wildcard or an unbound variable.
pub fn value(term: &Term, b: &[Option<Sym>]) -> Option<Sym> {
    match term {
        Term::Var(v) => b.get(v.0 as usize).copied().flatten(),
        Term::Const(c) => Some(*c),
        Term::Wildcard => None,
    }
}

/// The atom's arguments under `b`: a value, or `None` where the argument is still open.
pub fn pattern(args: &[Term], b: &[Option<Sym>]) -> Vec<Option<Sym>> {
    args.iter().map(|t| value(t, b)).collect()
}

/// Whether some tuple of the model matches the pattern (`None` matches anything).
pub fn any_matches(rows: &Rows, pattern: &[Option<Sym>]) -> bool {
    first_match(rows, pattern).is_some()
}

/// The first tuple (in sorted order) that matches the pattern.
pub fn first_match(rows: &Rows, pattern: &[Option<Sym>]) -> Option<Vec<Sym>> {
    let prefix: Vec<Sym> = pattern.iter().map_while(|p| *p).collect();
    let found = rows
        .with_prefix(&prefix)
        .find(|t| {
            pattern
                .iter()
                .zip(t.iter())
                .all(|(p, s)| p.is_none_or(|p| p == *s))
        })
        .map(<[Sym]>::to_vec);
    found
}

/// The values symbols stand for: the program's, plus values an explanation had to name that
/// the program never mentions (a principal that appears in no relation). Such extra symbols
/// are numbered after the interner's, so they equal no symbol of the model.
#[derive(Clone, Copy)]
pub struct Values<'a> {
    pub interner: &'a Interner,
    pub extra: &'a [Value],
}

impl<'a> Values<'a> {
    pub fn get(&self, s: Sym) -> Option<&'a Value> {
        let i = s.0 as usize;
        if i < self.interner.len() {
            Some(self.interner.value(s))
        } else {
            self.extra.get(i - self.interner.len())
        }
    }

    /// Whether `a op b` holds (strings by text, ints numerically, `false < true`); values of
    /// different types, or unknown symbols, never compare.
    pub fn compare(&self, a: Sym, op: CmpOp, b: Sym) -> bool {
        match (self.get(a), self.get(b)) {
            (Some(x), Some(y)) => compare_values(x, y).is_some_and(|o| holds(op, o)),
            _ => false,
        }
    }
}

/// Whether the filter literal `lit` (a negation or a comparison) holds under `b`.
pub fn filter_holds(values: &Values<'_>, model: &Model, lit: &BodyLit, b: &[Option<Sym>]) -> bool {
    match lit {
        BodyLit::Pos(_) => true,
        BodyLit::Neg(atom) => !negated_match(model, atom, b),
        BodyLit::Cmp { lhs, op, rhs, .. } => match (value(lhs, b), value(rhs, b)) {
            (Some(x), Some(y)) => values.compare(x, *op, y),
            // Range restriction binds both sides; an open side never holds.
            _ => false,
        },
    }
}

/// Whether some tuple matches the negated `atom` under `b` (repeated open variables must agree).
pub fn negated_match(model: &Model, atom: &Atom, b: &[Option<Sym>]) -> bool {
    let rows = model.get(atom.rel);
    let prefix: Vec<Sym> = atom.args.iter().map_while(|t| value(t, b)).collect();
    let mut hit = false;
    for t in rows.with_prefix(&prefix) {
        let mut scratch = b.to_vec();
        if unify(&atom.args, t, &mut scratch) {
            hit = true;
            break;
        }
    }
    hit
}

/// The variables a literal reads.
fn vars_of(lit: &BodyLit) -> Vec<usize> {
    let mut out = Vec::new();
    let mut see = |t: &Term| {
        if let Term::Var(v) = t {
            out.push(v.0 as usize);
        }
    };
    match lit {
        BodyLit::Pos(a) | BodyLit::Neg(a) => a.args.iter().for_each(&mut see),
        BodyLit::Cmp { lhs, rhs, .. } => {
            see(lhs);
            see(rhs);
        }
    }
    out
}

/// An order in which to visit the body literals of `rule`, given which variables are bound
/// at the start and which positive literal (`skip`) was matched already.
///
/// With `greedy`, the next positive atom is the one with the most leading bound columns (ties:
/// body order), for fast lookups; without, positive atoms keep their body order, so that "the
/// first literal that fails" reads as the user wrote the rule. Filters follow as soon as every
/// variable they read is bound; a filter whose variables are never bound goes last.
pub fn plan(rule: &Rule, mut bound: Vec<bool>, skip: Option<usize>, greedy: bool) -> Vec<usize> {
    let n = rule.body.len();
    let mut placed = vec![false; n];
    if let Some(s) = skip {
        if let Some(p) = placed.get_mut(s) {
            *p = true;
        }
    }
    let mut order = Vec::with_capacity(n);
    let place_filters = |bound: &[bool], placed: &mut Vec<bool>, order: &mut Vec<usize>| {
        for (i, lit) in rule.body.iter().enumerate() {
            if placed[i] || matches!(lit, BodyLit::Pos(_)) {
                continue;
            }
            if vars_of(lit)
                .iter()
                .all(|&v| bound.get(v).copied().unwrap_or(false))
            {
                placed[i] = true;
                order.push(i);
            }
        }
    };
    place_filters(&bound, &mut placed, &mut order);
    loop {
        let next = rule
            .body
            .iter()
            .enumerate()
            .filter(|(i, lit)| !placed[*i] && matches!(lit, BodyLit::Pos(_)))
            .map(|(i, lit)| {
                let lead = match lit {
                    BodyLit::Pos(a) => a
                        .args
                        .iter()
                        .take_while(|t| match t {
                            Term::Const(_) => true,
                            Term::Var(v) => bound.get(v.0 as usize).copied().unwrap_or(false),
                            Term::Wildcard => false,
                        })
                        .count(),
                    BodyLit::Neg(_) | BodyLit::Cmp { .. } => 0,
                };
                (i, lead)
            })
            .fold(None::<(usize, usize)>, |best, (i, lead)| match best {
                None => Some((i, lead)),
                Some((_, bl)) if greedy && lead > bl => Some((i, lead)),
                Some(b) => Some(b),
            });
        let Some((i, _)) = next else { break };
        placed[i] = true;
        order.push(i);
        for v in vars_of(&rule.body[i]) {
            if let Some(slot) = bound.get_mut(v) {
                *slot = true;
            }
        }
        place_filters(&bound, &mut placed, &mut order);
    }
    for (i, p) in placed.iter().enumerate() {
        if !p {
            order.push(i);
        }
    }
    order
}

/// Which variables `b` binds.
pub fn bound_mask(b: &[Option<Sym>]) -> Vec<bool> {
    b.iter().map(Option::is_some).collect()
}

/// Called with each instance found: its bindings and the tuple each positive literal matched.
pub type Found<'f> = dyn FnMut(&Bindings, &[Vec<Sym>]) -> ControlFlow<()> + 'f;

/// A depth-first search for the instances of one rule body.
pub struct Search<'a> {
    pub values: Values<'a>,
    pub model: &'a Model,
    pub rule: &'a Rule,
    /// The literals to visit, in order (see [`plan`]).
    pub order: &'a [usize],
    /// Whether the positive literal at this body index may use this tuple (ranks restrict it).
    pub accept: &'a dyn Fn(usize, &[Sym]) -> bool,
}

impl Search<'_> {
    /// Calls `found` with the bindings and the tuple each positive literal matched (indexed by
    /// body position, when `matched` is as long as the body; an empty `matched` records
    /// nothing) for every instance, until it breaks.
    pub fn run(
        &self,
        step: usize,
        b: &Bindings,
        matched: &mut Vec<Vec<Sym>>,
        found: &mut Found<'_>,
    ) -> ControlFlow<()> {
        let Some(&i) = self.order.get(step) else {
            return found(b, matched);
        };
        match &self.rule.body[i] {
            BodyLit::Pos(atom) => {
                let rows = self.model.get(atom.rel);
                let prefix: Vec<Sym> = atom.args.iter().map_while(|t| value(t, b)).collect();
                for t in rows.with_prefix(&prefix) {
                    if !(self.accept)(i, t) {
                        continue;
                    }
                    let mut nb = b.clone();
                    if !unify(&atom.args, t, &mut nb) {
                        continue;
                    }
                    // Callers that do not need the matched tuples pass an empty `matched`.
                    if let Some(m) = matched.get_mut(i) {
                        m.clear();
                        m.extend_from_slice(t);
                    }
                    self.run(step + 1, &nb, matched, found)?;
                }
                ControlFlow::Continue(())
            }
            lit @ (BodyLit::Neg(_) | BodyLit::Cmp { .. }) => {
                if filter_holds(&self.values, self.model, lit, b) {
                    self.run(step + 1, b, matched, found)
                } else {
                    ControlFlow::Continue(())
                }
            }
        }
    }
}
