//! The datafrog engine: semi-naive evaluation, stratum by stratum.
//!
//! Each stratum keeps one [`datafrog::Variable`] per relation it derives, seeded with the
//! relation's given tuples; datafrog's [`Iteration`] moves each round's derivations into the
//! variables' deltas, deduplicating against everything known. Every rule is planned
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
use crate::ir::{Program, RelId, Sym};
use datafrog::{Iteration, Relation, Variable};
use exec::{Flat, Sink, Stop, Views};
use plan::{IndexKey, Indexes, Locals, RulePlan};
use std::cell::Ref;
use std::collections::HashMap;
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
        let statics: Vec<Flat<'_>> = indexes
            .statics
            .iter()
            .map(|key| {
                let r = if key.is_identity() {
                    &rows[key.rel.index()]
                } else {
                    // Inserted just above for every non-identity key.
                    &permuted[key]
                };
                Flat {
                    arity: r.arity(),
                    len: r.len(),
                    data: r.flat(),
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
        }
    }
    Ok(Model { rows })
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

        let mut iteration = Iteration::new();
        let vars: Vec<Variable<T>> = self
            .locals
            .rels
            .iter()
            .map(|&r| iteration.variable::<T>(&program.relation(r).name))
            .collect();
        for (var, &r) in vars.iter().zip(&self.locals.rels) {
            // Rows are sorted and distinct, and zero padding keeps that order.
            let given: Vec<T> = self.rows[r.index()].iter().map(T::from_cols).collect();
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
        flush(&mut sink, &vars);

        let mut rounds = 0usize;
        while iteration.changed() {
            rounds += 1;
            if rounds > limits.max_iterations {
                return Err(EvalError::IterationLimit {
                    limit: limits.max_iterations,
                    relation: rel_name(program, self.locals.rels[0]),
                });
            }
            if self.start.elapsed() > limits.max_time {
                return Err(EvalError::TimeLimit {
                    limit: limits.max_time,
                });
            }
            let mut total = self.outside;
            let mut grew = (0, 0);
            for (i, var) in vars.iter().enumerate() {
                let recent = var.recent.borrow().len();
                total += recent + var.stable.borrow().iter().map(|b| b.len()).sum::<usize>();
                if recent > grew.1 {
                    grew = (i, recent);
                }
            }
            if total > limits.max_facts {
                return Err(self.error(Stop::Facts(grew.0)));
            }
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
            flush(&mut sink, &vars);
        }

        Ok(vars
            .into_iter()
            .zip(arity)
            .map(|(var, a)| {
                let done = var.complete();
                let mut data = Vec::with_capacity(done.len() * a);
                for t in done.iter() {
                    data.extend_from_slice(&t.cols()[..a]);
                }
                Rows::from_sorted(a, done.len(), data)
            })
            .collect())
    }
}

/// Moves a round's derivations into the variables.
fn flush<T: Tup>(sink: &mut Sink<T>, vars: &[Variable<T>]) {
    for (buf, var) in sink.bufs.iter_mut().zip(vars) {
        if !buf.is_empty() {
            var.insert(Relation::from_vec(std::mem::take(buf)));
        }
    }
}
