//! The datafrog engine: semi-naive evaluation, stratum by stratum.
//!
//! Each stratum keeps one [`datafrog::Variable`] per relation it derives, seeded with the
//! relation's given tuples; a round's derivations that are new (checked against a per-relation
//! set, see [`flush`]) go into the variables, and datafrog's [`Iteration`] turns them into the
//! next round's deltas and folds the old deltas into sorted batches. Every rule is planned
//! ([`plan`]) into variants that start from a delta and look the other atoms up in sorted
//! indexes ([`exec`]): relations of earlier strata are final and indexed once; relations of
//! the stratum are indexed incrementally, batch by batch, in step with their variables. A
//! stratum whose rules read only earlier strata runs its rules once.
//!
//! Tuples are fixed-width inline arrays chosen per stratum ([`tuple`]).

mod exec;
mod plan;
mod tuple;

use super::{rel_name, EvalError, Limits, Model, Rows};
use crate::hash::FastSet;
use crate::ir::{Program, RelId, Sym};
use datafrog::{Iteration, Relation, Variable};
use exec::{Flat, Sink, Stop, Views};
use plan::{IndexKey, Indexes, Locals, RulePlan};
use std::cell::Ref;
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use tuple::Tup;

/// Computes the model of `program` from `input`, semi-naively.
pub fn evaluate(program: &Program, input: &Model, limits: &Limits) -> Result<Model, EvalError> {
    let start = Instant::now();
    let mut rows: Vec<Rows> = program
        .relations
        .iter()
        .enumerate()
        .map(|(i, rel)| match input.rows.get(i) {
            Some(r) if r.arity() == rel.arity() => r.clone(),
            // A relation missing from the input, or given with another arity, starts empty.
            Some(_) | None => Rows::empty(rel.arity()),
        })
        .collect();
    let total: usize = rows.iter().map(Rows::len).sum();
    if total > limits.max_facts {
        let biggest = (0..rows.len()).max_by_key(|&i| rows[i].len()).unwrap_or(0);
        return Err(EvalError::FactLimit {
            limit: limits.max_facts,
            relation: rel_name(program, RelId(biggest as u32)),
        });
    }

    // Permuted copies of final relations, shared by every later stratum.
    let mut permuted: HashMap<IndexKey, Rows> = HashMap::new();
    let mut offsets: HashMap<IndexKey, Option<Vec<u32>>> = HashMap::new();
    for stratum in &program.strata {
        let mut rels = stratum.relations.clone();
        for &r in &stratum.rules {
            let head = program.rule(r).head.rel;
            if !rels.contains(&head) {
                rels.push(head);
            }
        }
        let locals = Locals::new(rels);
        let mut indexes = Indexes::default();
        let plans: Vec<RulePlan> = stratum
            .rules
            .iter()
            .map(|&r| plan::plan_rule(program, r, &locals, &mut indexes))
            .collect();

        for key in &indexes.statics {
            if !key.is_identity() && !permuted.contains_key(key) {
                let src = &rows[key.rel.index()];
                let arity = src.arity();
                let mut data = Vec::with_capacity(src.flat().len());
                for t in src.iter() {
                    data.extend(key.perm.iter().map(|&c| t[c as usize]));
                }
                permuted.insert(key.clone(), Rows::from_unsorted(arity, src.len(), data));
            }
        }
        for key in &indexes.statics {
            if !offsets.contains_key(key) {
                let r = static_rows(key, &rows, &permuted);
                let table = exec::first_column_offsets(r.arity(), r.flat(), program.interner.len());
                offsets.insert(key.clone(), table);
            }
        }
        let statics: Vec<Flat<'_>> = indexes
            .statics
            .iter()
            .map(|key| {
                let r = static_rows(key, &rows, &permuted);
                Flat {
                    arity: r.arity(),
                    len: r.len(),
                    data: r.flat(),
                    first: offsets.get(key).and_then(|o| o.as_deref()),
                }
            })
            .collect();

        let outside: usize = rows.iter().map(Rows::len).sum::<usize>()
            - locals
                .rels
                .iter()
                .map(|r| rows[r.index()].len())
                .sum::<usize>();
        let width = locals
            .rels
            .iter()
            .map(|&r| program.relation(r).arity())
            .max()
            .unwrap_or(0);
        let run = StratumRun {
            program,
            locals: &locals,
            plans: &plans,
            indexes: &indexes,
            statics: &statics,
            rows: &rows,
            outside,
            limits,
            start,
        };
        let derived = match tuple::width_class(width) {
            1 => run.run::<[Sym; 1]>(),
            2 => run.run::<[Sym; 2]>(),
            3 => run.run::<[Sym; 3]>(),
            4 => run.run::<[Sym; 4]>(),
            6 => run.run::<[Sym; 6]>(),
            8 => run.run::<[Sym; 8]>(),
            12 => run.run::<[Sym; 12]>(),
            16 => run.run::<[Sym; 16]>(),
            _ => run.run::<Box<[Sym]>>(),
        }?;
        drop(statics);
        for (&r, result) in locals.rels.iter().zip(derived) {
            rows[r.index()] = result;
            permuted.retain(|k, _| k.rel != r);
            offsets.retain(|k, _| k.rel != r);
        }
    }
    Ok(Model { rows })
}

/// The contents of a static index: the relation itself, or its permuted copy.
fn static_rows<'r>(
    key: &IndexKey,
    rows: &'r [Rows],
    permuted: &'r HashMap<IndexKey, Rows>,
) -> &'r Rows {
    if key.is_identity() {
        &rows[key.rel.index()]
    } else {
        // Every non-identity key of a stratum is inserted before its indexes are read.
        &permuted[key]
    }
}

/// One stratum's evaluation, generic over the tuple representation.
struct StratumRun<'a> {
    program: &'a Program,
    locals: &'a Locals,
    plans: &'a [RulePlan],
    indexes: &'a Indexes,
    statics: &'a [Flat<'a>],
    rows: &'a [Rows],
    /// Tuples of the relations outside the stratum.
    outside: usize,
    limits: &'a Limits,
    start: Instant,
}

/// A stratum relation stored with permuted columns, grown in step with its variable.
struct PermIndex<T: Ord> {
    perm: Vec<u32>,
    rel: usize,
    stable: Vec<Relation<T>>,
    recent: Relation<T>,
}

impl<T: Tup> PermIndex<T> {
    /// Folds the previous round's tuples into the stable batches and takes `recent`'s.
    fn advance(&mut self, recent: &[T]) {
        let old = std::mem::replace(&mut self.recent, Relation::from_vec(Vec::new()));
        if !old.is_empty() {
            let mut merged = old;
            while self
                .stable
                .last()
                .is_some_and(|last| last.len() <= 2 * merged.len())
            {
                if let Some(last) = self.stable.pop() {
                    merged = merged.merge(last);
                }
            }
            self.stable.push(merged);
        }
        let mut cols = Vec::with_capacity(self.perm.len());
        let permuted: Vec<T> = recent
            .iter()
            .map(|t| {
                cols.clear();
                cols.extend(self.perm.iter().map(|&c| t.cols()[c as usize]));
                T::from_cols(&cols)
            })
            .collect();
        self.recent = Relation::from_vec(permuted);
    }
}

impl StratumRun<'_> {
    /// The limits checked before round `round` (from 1): the iteration and time limits, and
    /// the fact limit over `sizes`, one `(tuples added by the last round, tuples held)` per
    /// stratum relation; a fact limit names the relation that grew most.
    fn check_round(
        &self,
        round: usize,
        sizes: impl Iterator<Item = (usize, usize)>,
    ) -> Result<(), EvalError> {
        let limits = self.limits;
        if round > limits.max_iterations {
            return Err(EvalError::IterationLimit {
                limit: limits.max_iterations,
                relation: rel_name(self.program, self.locals.rels[0]),
            });
        }
        if self.start.elapsed() > limits.max_time {
            return Err(EvalError::TimeLimit {
                limit: limits.max_time,
            });
        }
        let mut total = self.outside;
        let mut grew = (0, 0);
        for (i, (added, held)) in sizes.enumerate() {
            total += held;
            if added > grew.1 {
                grew = (i, added);
            }
        }
        if total > limits.max_facts {
            return Err(self.error(Stop::Facts(grew.0)));
        }
        Ok(())
    }

    fn error(&self, stop: Stop) -> EvalError {
        match stop {
            Stop::Facts(local) => EvalError::FactLimit {
                limit: self.limits.max_facts,
                relation: rel_name(self.program, self.locals.rels[local]),
            },
            Stop::Time => EvalError::TimeLimit {
                limit: self.limits.max_time,
            },
        }
    }

    fn run<T: Tup>(&self) -> Result<Vec<Rows>, EvalError> {
        let program = self.program;
        let limits = self.limits;
        let n = self.locals.rels.len();
        let arity: Vec<usize> = self
            .locals
            .rels
            .iter()
            .map(|&r| program.relation(r).arity())
            .collect();
        if !self.plans.iter().any(|p| p.incremental) {
            return self.run_once::<T>(&arity);
        }

        let mut iteration = Iteration::new();
        let vars: Vec<Variable<T>> = self
            .locals
            .rels
            .iter()
            .map(|&r| iteration.variable_indistinct::<T>(&program.relation(r).name))
            .collect();
        let mut seen: Vec<Seen<T>> = Vec::with_capacity(n);
        for (var, &r) in vars.iter().zip(&self.locals.rels) {
            // Rows are sorted and distinct, and zero padding keeps that order.
            let given: Vec<T> = self.rows[r.index()].iter().map(T::from_cols).collect();
            let mut set = Seen::new(program.relation(r).arity(), program.interner.len());
            for t in &given {
                set.insert(t);
            }
            seen.push(set);
            var.insert(Relation { elements: given });
        }

        let dyn_arity: Vec<usize> = self
            .indexes
            .dynamic
            .iter()
            .map(|k| program.relation(k.rel).arity())
            .collect();
        let mut perms: Vec<Option<PermIndex<T>>> = self
            .indexes
            .dynamic
            .iter()
            .map(|k| {
                (!k.is_identity()).then(|| PermIndex {
                    perm: k.perm.clone(),
                    rel: self.locals.of[&k.rel],
                    stable: Vec::new(),
                    recent: Relation::from_vec(Vec::new()),
                })
            })
            .collect();

        // Rules that read no stratum relation run once, before the first round.
        let mut sink: Sink<T> = Sink::new(n, limits.max_facts, self.start, limits.max_time);
        {
            let nd = self.indexes.dynamic.len();
            let views = Views {
                interner: &program.interner,
                local_arity: &arity,
                delta: vec![&[][..]; n],
                dyn_arity: dyn_arity.clone(),
                dyn_old: vec![Vec::new(); nd],
                dyn_new: vec![&[][..]; nd],
                statics: self.statics,
            };
            for plan in self.plans.iter().filter(|p| !p.incremental) {
                exec::run_plan(&views, plan, &mut sink).map_err(|s| self.error(s))?;
            }
        }
        flush(&mut sink, &vars, &mut seen);

        let mut rounds = 0usize;
        while iteration.changed() {
            rounds += 1;
            self.check_round(
                rounds,
                vars.iter().map(|var| {
                    let recent = var.recent.borrow().len();
                    let stable = var.stable.borrow().iter().map(|b| b.len()).sum::<usize>();
                    (recent, recent + stable)
                }),
            )?;
            if !self.plans.iter().any(|p| p.incremental) {
                continue;
            }
            for p in perms.iter_mut().flatten() {
                let recent = vars[p.rel].recent.borrow();
                p.advance(&recent);
            }

            {
                let stables: Vec<Ref<'_, Vec<Relation<T>>>> =
                    vars.iter().map(|v| v.stable.borrow()).collect();
                let recents: Vec<Ref<'_, Relation<T>>> =
                    vars.iter().map(|v| v.recent.borrow()).collect();
                let mut dyn_old = Vec::with_capacity(perms.len());
                let mut dyn_new = Vec::with_capacity(perms.len());
                for (key, p) in self.indexes.dynamic.iter().zip(&perms) {
                    match p {
                        Some(p) => {
                            dyn_old.push(p.stable.iter().map(|b| &b.elements[..]).collect());
                            dyn_new.push(&p.recent.elements[..]);
                        }
                        None => {
                            let rel = self.locals.of[&key.rel];
                            dyn_old.push(stables[rel].iter().map(|b| &b.elements[..]).collect());
                            dyn_new.push(&recents[rel].elements[..]);
                        }
                    }
                }
                let views = Views {
                    interner: &program.interner,
                    local_arity: &arity,
                    delta: recents.iter().map(|r| &r.elements[..]).collect(),
                    dyn_arity: dyn_arity.clone(),
                    dyn_old,
                    dyn_new,
                    statics: self.statics,
                };
                for plan in self.plans.iter().filter(|p| p.incremental) {
                    exec::run_plan(&views, plan, &mut sink).map_err(|s| self.error(s))?;
                }
            }
            flush(&mut sink, &vars, &mut seen);
        }

        Ok(vars
            .into_iter()
            .zip(arity)
            .map(|(var, a)| {
                let done = var.complete();
                let mut data = Vec::with_capacity(done.len() * a);
                for t in done.iter() {
                    t.push_cols(a, &mut data);
                }
                Rows::from_sorted(a, done.len(), data)
            })
            .collect())
    }
}

impl StratumRun<'_> {
    /// A stratum whose rules read only earlier strata: its rules run once, and each relation
    /// is its given tuples and its derivations, sorted and deduplicated in one go (no set of
    /// seen tuples, no rounds). Limits are checked as the one round of [`StratumRun::run`]
    /// would check them.
    fn run_once<T: Tup>(&self, arity: &[usize]) -> Result<Vec<Rows>, EvalError> {
        let program = self.program;
        let limits = self.limits;
        let n = self.locals.rels.len();
        let mut sink: Sink<T> = Sink::new(n, limits.max_facts, self.start, limits.max_time);
        let nd = self.indexes.dynamic.len();
        let views = Views {
            interner: &program.interner,
            local_arity: arity,
            delta: vec![&[][..]; n],
            dyn_arity: self
                .indexes
                .dynamic
                .iter()
                .map(|k| program.relation(k.rel).arity())
                .collect(),
            dyn_old: vec![Vec::new(); nd],
            dyn_new: vec![&[][..]; nd],
            statics: self.statics,
        };
        for plan in self.plans {
            exec::run_plan(&views, plan, &mut sink).map_err(|s| self.error(s))?;
        }
        let mut done: Vec<Vec<T>> = Vec::with_capacity(n);
        for (buf, &r) in sink.bufs.iter_mut().zip(&self.locals.rels) {
            let mut tuples = std::mem::take(buf);
            tuples.extend(self.rows[r.index()].iter().map(T::from_cols));
            tuples.sort_unstable();
            tuples.dedup();
            done.push(tuples);
        }
        // The checks of the round that would have added these tuples, if any.
        if done.iter().any(|d| !d.is_empty()) {
            self.check_round(1, done.iter().map(|d| (d.len(), d.len())))?;
        }
        Ok(done
            .into_iter()
            .zip(arity)
            .map(|(tuples, &a)| {
                let mut data = Vec::with_capacity(tuples.len() * a);
                for t in &tuples {
                    t.push_cols(a, &mut data);
                }
                Rows::from_sorted(a, tuples.len(), data)
            })
            .collect())
    }
}

/// Every tuple a stratum relation holds, for deduplication: a hash set, replaced by a bitmap
/// over all possible tuples (`symbols ^ arity` bits) once the bitmap is no bigger than the set.
/// Small domains (graphs over a few thousand nodes) then dedup with one cached bit test each.
struct Seen<T> {
    arity: usize,
    symbols: u64,
    /// Bits of the dense bitmap; 0 when it would be too large ever to pay off.
    bits: u64,
    dense: Option<Vec<u64>>,
    hashed: FastSet<T>,
}

/// The largest bitmap a relation may switch to (2^30 bits, 128 MiB), reached only when the
/// hash set it replaces is as large.
const DENSE_MAX_BITS: u64 = 1 << 30;

impl<T: Tup> Seen<T> {
    fn new(arity: usize, symbols: usize) -> Seen<T> {
        let symbols = symbols as u64;
        let bits = u32::try_from(arity)
            .ok()
            .and_then(|a| symbols.checked_pow(a))
            .filter(|&b| arity > 0 && b <= DENSE_MAX_BITS)
            .unwrap_or(0);
        Seen {
            arity,
            symbols,
            bits,
            dense: None,
            hashed: HashSet::default(),
        }
    }

    /// The bit of `t` in the dense bitmap (`None` for a symbol outside the interner, which a
    /// checked program never has; such tuples stay in the hash set).
    #[inline]
    fn bit(&self, t: &T) -> Option<u64> {
        let mut i = 0u64;
        for s in &t.cols()[..self.arity] {
            let s = u64::from(s.0);
            if s >= self.symbols {
                return None;
            }
            i = i * self.symbols + s;
        }
        Some(i)
    }

    /// Makes room for up to `additional` new tuples in the hash set of a relation that never
    /// switches to a bitmap, so that a round's derivations grow it at most once.
    fn reserve(&mut self, additional: usize) {
        if self.bits == 0 {
            self.hashed.reserve(additional);
        }
    }

    /// Adds `t`; whether it was new.
    #[inline]
    fn insert(&mut self, t: &T) -> bool {
        if self.dense.is_some() {
            if let Some(i) = self.bit(t) {
                if let Some(word) = self
                    .dense
                    .as_mut()
                    .and_then(|d| d.get_mut((i / 64) as usize))
                {
                    let mask = 1u64 << (i % 64);
                    let new = *word & mask == 0;
                    *word |= mask;
                    return new;
                }
            }
        }
        let new = self.hashed.insert(t.clone());
        if new
            && self.dense.is_none()
            && self.bits > 0
            && self.hashed.len() as u64 * 128 >= self.bits
        {
            self.densify();
        }
        new
    }

    fn densify(&mut self) {
        let mut dense = vec![0u64; self.bits.div_ceil(64) as usize];
        let mut keep = HashSet::default();
        for t in std::mem::take(&mut self.hashed) {
            match self.bit(&t) {
                Some(i) => dense[(i / 64) as usize] |= 1 << (i % 64),
                None => {
                    keep.insert(t);
                }
            }
        }
        self.hashed = keep;
        self.dense = Some(dense);
    }
}

/// Moves a round's derivations that are new into the variables.
///
/// The variables are datafrog's *indistinct* ones: deduplication against everything known
/// happens here, with one hash probe per derived tuple, instead of in
/// [`Iteration::changed`], which gallops through every sorted batch of the relation once per
/// derived tuple (a cache miss per step on large relations).
fn flush<T: Tup>(sink: &mut Sink<T>, vars: &[Variable<T>], seen: &mut [Seen<T>]) {
    for ((buf, var), seen) in sink.bufs.iter_mut().zip(vars).zip(seen) {
        seen.reserve(buf.len());
        buf.retain(|t| seen.insert(t));
        if !buf.is_empty() {
            var.insert(Relation::from_vec(std::mem::take(buf)));
        }
    }
}
