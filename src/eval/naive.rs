//! The naive reference engine: the oracle for the datafrog engine.
//!
//! Stratum by stratum, every rule is applied to the whole current database (a nested-loop join
//! over the positive atoms, then the negations and comparisons as filters) until a round adds
//! nothing. No indexes, no deltas: slow, and simple enough to be obviously right.

use super::{rel_name, EvalError, Limits, Model, Rows};
use crate::ir::{Atom, BodyLit, CmpOp, Interner, Program, RelId, Rule, Sym, Term};
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::time::Instant;

type Tuple = Vec<Sym>;

/// Computes the model of `program` from `input` by repeated full application of every rule.
pub fn evaluate(program: &Program, input: &Model, limits: &Limits) -> Result<Model, EvalError> {
    let start = Instant::now();
    // A relation missing from the input, or given with another arity, starts empty.
    let mut db: Vec<BTreeSet<Tuple>> = program
        .relations
        .iter()
        .enumerate()
        .map(|(i, rel)| match input.rows.get(i) {
            Some(rows) if rows.arity() == rel.arity() => rows.iter().map(|t| t.to_vec()).collect(),
            Some(_) | None => BTreeSet::new(),
        })
        .collect();
    let mut total: usize = db.iter().map(BTreeSet::len).sum();
    if total > limits.max_facts {
        let relation = db
            .iter()
            .position(|s| !s.is_empty())
            .map(|i| rel_name(program, RelId(i as u32)))
            .unwrap_or_default();
        return Err(EvalError::FactLimit {
            limit: limits.max_facts,
            relation,
        });
    }

    for stratum in &program.strata {
        let mut rounds = 0usize;
        loop {
            if start.elapsed() > limits.max_time {
                return Err(EvalError::TimeLimit {
                    limit: limits.max_time,
                });
            }
            rounds += 1;
            if rounds > limits.max_iterations {
                let relation = stratum
                    .relations
                    .first()
                    .map(|&r| rel_name(program, r))
                    .unwrap_or_default();
                return Err(EvalError::IterationLimit {
                    limit: limits.max_iterations,
                    relation,
                });
            }
            // Derive from a snapshot of the database, so one round sees one state.
            let mut derived: Vec<(RelId, Tuple)> = Vec::new();
            for &rule_id in &stratum.rules {
                // Rounds can be long here: the clock is read before every rule as well.
                if start.elapsed() > limits.max_time {
                    return Err(EvalError::TimeLimit {
                        limit: limits.max_time,
                    });
                }
                let rule = program.rule(rule_id);
                for tuple in apply_rule(&program.interner, rule, &db) {
                    derived.push((rule.head.rel, tuple));
                }
            }
            let mut changed = false;
            for (rel, tuple) in derived {
                if db[rel.index()].insert(tuple) {
                    changed = true;
                    total += 1;
                    if total > limits.max_facts {
                        return Err(EvalError::FactLimit {
                            limit: limits.max_facts,
                            relation: rel_name(program, rel),
                        });
                    }
                }
            }
            if !changed {
                break;
            }
        }
    }

    Ok(Model {
        rows: program
            .relations
            .iter()
            .zip(&db)
            .map(|(rel, set)| Rows::from_tuples(rel.arity(), set.iter().map(Vec::as_slice)))
            .collect(),
    })
}

/// Every head tuple `rule` derives from `db`.
fn apply_rule(interner: &Interner, rule: &Rule, db: &[BTreeSet<Tuple>]) -> Vec<Tuple> {
    let positives: Vec<&Atom> = rule
        .body
        .iter()
        .filter_map(|lit| match lit {
            BodyLit::Pos(atom) => Some(atom),
            BodyLit::Neg(_) | BodyLit::Cmp { .. } => None,
        })
        .collect();
    let mut out = Vec::new();
    let mut bindings: Vec<Option<Sym>> = vec![None; var_count(rule)];
    join(interner, rule, &positives, db, &mut bindings, &mut out);
    out
}

/// The number of variable slots `rule` needs (one more than its highest variable).
fn var_count(rule: &Rule) -> usize {
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

/// Nested loops over the remaining positive atoms; at the bottom, the filters and the head.
fn join(
    interner: &Interner,
    rule: &Rule,
    atoms: &[&Atom],
    db: &[BTreeSet<Tuple>],
    bindings: &mut Vec<Option<Sym>>,
    out: &mut Vec<Tuple>,
) {
    let Some((atom, rest)) = atoms.split_first() else {
        if filters_hold(interner, rule, db, bindings) {
            if let Some(head) = instantiate(&rule.head, bindings) {
                out.push(head);
            }
        }
        return;
    };
    let mut newly_bound = Vec::new();
    // When the first column is known, only tuples starting with it can match: the set is
    // sorted, so they form one range. Otherwise every tuple is tried.
    let set = &db[atom.rel.index()];
    let first = atom.args.first().and_then(|t| value_of(t, bindings));
    let candidates: Box<dyn Iterator<Item = &Tuple>> = match first {
        Some(v) => Box::new(
            set.range(vec![v]..)
                .take_while(move |t| t.first() == Some(&v)),
        ),
        None => Box::new(set.iter()),
    };
    for tuple in candidates {
        if unify(atom, tuple, bindings, &mut newly_bound) {
            join(interner, rule, rest, db, bindings, out);
        }
        // Undo this tuple's bindings before trying the next one.
        for slot in newly_bound.drain(..) {
            bindings[slot] = None;
        }
    }
}

/// Matches `atom` against `tuple`, binding unbound variables (their slots are added to
/// `newly_bound`); false on a mismatch.
fn unify(
    atom: &Atom,
    tuple: &[Sym],
    bindings: &mut [Option<Sym>],
    newly_bound: &mut Vec<usize>,
) -> bool {
    if atom.args.len() != tuple.len() {
        return false;
    }
    for (term, &value) in atom.args.iter().zip(tuple) {
        match term {
            Term::Wildcard => {}
            Term::Const(c) => {
                if *c != value {
                    return false;
                }
            }
            Term::Var(v) => {
                let slot = &mut bindings[v.0 as usize];
                match slot {
                    Some(bound) if *bound != value => return false,
                    Some(_) => {}
                    None => {
                        *slot = Some(value);
                        newly_bound.push(v.0 as usize);
                    }
                }
            }
        }
    }
    true
}

/// Whether every negation and comparison of `rule` holds under `bindings`.
fn filters_hold(
    interner: &Interner,
    rule: &Rule,
    db: &[BTreeSet<Tuple>],
    bindings: &[Option<Sym>],
) -> bool {
    rule.body.iter().all(|lit| match lit {
        BodyLit::Pos(_) => true,
        BodyLit::Neg(atom) => !db[atom.rel.index()].iter().any(|tuple| {
            let mut scratch = bindings.to_vec();
            unify(atom, tuple, &mut scratch, &mut Vec::new())
        }),
        BodyLit::Cmp { lhs, op, rhs, .. } => {
            match (value_of(lhs, bindings), value_of(rhs, bindings)) {
                (Some(a), Some(b)) => compare(interner, a, *op, b),
                // A comparison on an unbound variable or a wildcard never holds.
                _ => false,
            }
        }
    })
}

fn value_of(term: &Term, bindings: &[Option<Sym>]) -> Option<Sym> {
    match term {
        Term::Var(v) => bindings[v.0 as usize],
        Term::Const(c) => Some(*c),
        Term::Wildcard => None,
    }
}

fn compare(interner: &Interner, a: Sym, op: CmpOp, b: Sym) -> bool {
    let ord = interner.compare(a, b);
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// The head tuple under `bindings`; `None` if a head term is unbound (not range-restricted).
fn instantiate(head: &Atom, bindings: &[Option<Sym>]) -> Option<Tuple> {
    head.args
        .iter()
        .map(|term| match term {
            Term::Var(v) => bindings[v.0 as usize],
            Term::Const(c) => Some(*c),
            Term::Wildcard => None,
        })
        .collect()
}
