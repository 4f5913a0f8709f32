//! A mechanical proof checker: every proof `explain` emits is re-verified step by step, so an
//! explanation cannot be wrong silently.
//!
//! A step is accepted when:
//! - its tuple is in the model;
//! - a fact step names a given fact of that relation with exactly that origin;
//! - a rule step names a rule of the tuple's relation, and under the step's bindings the head
//!   equals the tuple, every positive premise is the body atom instantiated (wildcards match
//!   anything) and is itself proved, every negated premise is the instantiated atom and no
//!   tuple of the model matches it, and every comparison is the instantiated one and holds;
//! - a "proved above" step refers to a tuple proved earlier in the same proof;
//! - in a recursive stratum, the tuple's rank (the round of its first derivation, computed
//!   here independently by a naive re-run) is one more than the largest rank of its premises
//!   of the same stratum: the proof is well-founded and of minimal depth.
//!
//! Why-nots are checked too: each attempt's rule head unifies with the goal, a missing premise
//! matches no tuple, a present one is in the model, a failing comparison is false.
//!
//! Run over every support-desk explanation and over generated programs (seeded).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use ztpol::decide::cond::holds;
use ztpol::decide::Auth;
use ztpol::eval::{self, EvalConfig, Model};
use ztpol::explain::{
    Blocker, CandidateFailure, DenyReason, ExplainConfig, Explainer, Explanation, Premise, Proof,
    Step, WhyNot,
};
use ztpol::ir::{BodyLit, CmpOp, Fact, Origin, Program, RelId, Rule, Sym, Term};

type Key = (RelId, Vec<Sym>);

struct Checker<'a> {
    program: &'a Program,
    model: &'a Model,
    given: HashMap<Key, Vec<Origin>>,
    /// Independent ranks of the tuples of recursive strata.
    ranks: HashMap<Key, u32>,
    stratum_of: HashMap<RelId, usize>,
}

fn value_of(t: &Term, b: &[Option<Sym>]) -> Option<Sym> {
    match t {
        Term::Var(v) => b.get(v.0 as usize).copied().flatten(),
        Term::Const(c) => Some(*c),
        Term::Wildcard => None,
    }
}

fn unify(args: &[Term], tuple: &[Sym], b: &mut [Option<Sym>]) -> bool {
    args.len() == tuple.len()
        && args.iter().zip(tuple).all(|(t, &v)| match t {
            Term::Wildcard => true,
            Term::Const(c) => *c == v,
            Term::Var(x) => {
                let slot = &mut b[x.0 as usize];
                match slot {
                    Some(y) => *y == v,
                    None => {
                        *slot = Some(v);
                        true
                    }
                }
            }
        })
}

fn slots(rule: &Rule) -> usize {
    let mut n = rule.var_names.len();
    let mut see = |t: &Term| {
        if let Term::Var(v) = t {
            n = n.max(v.0 as usize + 1);
        }
    };
    rule.head.args.iter().for_each(&mut see);
    for l in &rule.body {
        match l {
            BodyLit::Pos(a) | BodyLit::Neg(a) => a.args.iter().for_each(&mut see),
            BodyLit::Cmp { lhs, rhs, .. } => {
                see(lhs);
                see(rhs);
            }
        }
    }
    n
}

impl<'a> Checker<'a> {
    fn new(program: &'a Program, model: &'a Model, data: &[Fact]) -> Checker<'a> {
        let mut given: HashMap<Key, Vec<Origin>> = HashMap::new();
        for f in program.facts.iter().chain(data) {
            given
                .entry((f.rel, f.values.clone()))
                .or_default()
                .push(f.origin.clone());
        }
        let mut stratum_of = HashMap::new();
        for (s, st) in program.strata.iter().enumerate() {
            for r in &st.relations {
                stratum_of.insert(*r, s);
            }
            for &rid in &st.rules {
                stratum_of.entry(program.rule(rid).head.rel).or_insert(s);
            }
        }
        let mut c = Checker {
            program,
            model,
            given,
            ranks: HashMap::new(),
            stratum_of,
        };
        for (s, st) in program.strata.iter().enumerate() {
            if st.recursive {
                c.naive_ranks(s);
            }
        }
        c
    }

    fn cmp(&self, a: Sym, op: CmpOp, b: Sym) -> bool {
        holds(op, self.program.interner.compare(a, b))
    }

    fn in_stratum(&self, rel: RelId, s: usize) -> bool {
        self.stratum_of.get(&rel) == Some(&s)
    }

    /// Ranks by a naive re-run of stratum `s`: nested loops over whole relations.
    fn naive_ranks(&mut self, s: usize) {
        let st = &self.program.strata[s];
        for (key, _) in self.given.iter() {
            if self.in_stratum(key.0, s) {
                self.ranks.insert(key.clone(), 0);
            }
        }
        let mut k = 0;
        loop {
            k += 1;
            let mut new: Vec<Key> = Vec::new();
            for &rid in &st.rules {
                let rule = self.program.rule(rid);
                let pos: Vec<&ztpol::ir::Atom> = rule
                    .body
                    .iter()
                    .filter_map(|l| match l {
                        BodyLit::Pos(a) => Some(a),
                        _ => None,
                    })
                    .collect();
                let mut out = Vec::new();
                self.naive_join(rule, &pos, s, k, &vec![None; slots(rule)], &mut out);
                for h in out {
                    let key = (rule.head.rel, h);
                    if !self.ranks.contains_key(&key) {
                        new.push(key);
                    }
                }
            }
            if new.is_empty() {
                break;
            }
            for key in new {
                self.ranks.entry(key).or_insert(k);
            }
        }
        // Every tuple of the stratum has a rank.
        for (key, _) in self.stratum_tuples(s) {
            assert!(
                self.ranks.contains_key(&key),
                "unranked tuple in stratum {s}"
            );
        }
    }

    fn stratum_tuples(&self, s: usize) -> Vec<(Key, ())> {
        let mut out = Vec::new();
        for (i, rows) in self.model.rows.iter().enumerate() {
            let rel = RelId(i as u32);
            if self.in_stratum(rel, s) {
                out.extend(rows.iter().map(|t| ((rel, t.to_vec()), ())));
            }
        }
        out
    }

    fn naive_join(
        &self,
        rule: &Rule,
        atoms: &[&ztpol::ir::Atom],
        s: usize,
        k: u32,
        b: &[Option<Sym>],
        out: &mut Vec<Vec<Sym>>,
    ) {
        let Some((a, rest)) = atoms.split_first() else {
            if self.filters_hold(rule, b) {
                if let Some(h) = rule.head.args.iter().map(|t| value_of(t, b)).collect() {
                    out.push(h);
                }
            }
            return;
        };
        for t in self.model.get(a.rel).iter() {
            if self.in_stratum(a.rel, s)
                && self.ranks.get(&(a.rel, t.to_vec())).is_none_or(|r| *r >= k)
            {
                continue;
            }
            let mut nb = b.to_vec();
            if unify(&a.args, t, &mut nb) {
                self.naive_join(rule, rest, s, k, &nb, out);
            }
        }
    }

    fn filters_hold(&self, rule: &Rule, b: &[Option<Sym>]) -> bool {
        rule.body.iter().all(|l| match l {
            BodyLit::Pos(_) => true,
            BodyLit::Neg(a) => !self.model.get(a.rel).iter().any(|t| {
                let mut nb = b.to_vec();
                unify(&a.args, t, &mut nb)
            }),
            BodyLit::Cmp { lhs, op, rhs, .. } => match (value_of(lhs, b), value_of(rhs, b)) {
                (Some(x), Some(y)) => self.cmp(x, *op, y),
                _ => false,
            },
        })
    }

    fn matches(&self, rel: RelId, pattern: &[Option<Sym>]) -> bool {
        self.model.get(rel).iter().any(|t| {
            pattern
                .iter()
                .zip(t)
                .all(|(p, v)| p.is_none_or(|p| p == *v))
        })
    }

    /// Re-verifies one proof; `done` holds the tuples proved so far in this proof.
    fn check(&self, p: &Proof, done: &mut HashSet<Key>) -> Result<(), String> {
        let key = (p.rel, p.tuple.clone());
        let name = &self.program.relation(p.rel).name;
        if !self.model.get(p.rel).contains(&p.tuple) {
            return Err(format!("{name}{:?} is not in the model", p.tuple));
        }
        match &p.step {
            Step::Fact(origin) => {
                let ok = self.given.get(&key).is_some_and(|os| os.contains(origin));
                if !ok {
                    return Err(format!(
                        "{name}{:?}: no fact with origin {origin:?}",
                        p.tuple
                    ));
                }
            }
            Step::Above => {
                if !done.contains(&key) {
                    return Err(format!(
                        "{name}{:?}: `above` but not proved before",
                        p.tuple
                    ));
                }
            }
            Step::Elided => {}
            Step::Rule {
                rule,
                bindings,
                premises,
            } => {
                let r = self.program.rules.get(rule.index()).ok_or("no such rule")?;
                if r.head.rel != p.rel {
                    return Err(format!("rule {} does not derive {name}", rule.0));
                }
                let head: Option<Vec<Sym>> =
                    r.head.args.iter().map(|t| value_of(t, bindings)).collect();
                if head.as_deref() != Some(p.tuple.as_slice()) {
                    return Err(format!("{name}{:?}: the head is {head:?}", p.tuple));
                }
                if premises.len() != r.body.len() {
                    return Err("one premise per body literal".into());
                }
                let same_stratum = self
                    .stratum_of
                    .get(&p.rel)
                    .filter(|s| self.program.strata[**s].recursive)
                    .copied();
                let mut max_rank: Option<u32> = None;
                for (lit, prem) in r.body.iter().zip(premises) {
                    match (lit, prem) {
                        (BodyLit::Pos(a), Premise::Atom(q)) => {
                            let mut b = bindings.clone();
                            if q.rel != a.rel || !unify(&a.args, &q.tuple, &mut b) || b != *bindings
                            {
                                return Err(format!(
                                    "{name}{:?}: premise {:?} is not the body atom",
                                    p.tuple, q.tuple
                                ));
                            }
                            self.check(q, done)?;
                            if let Some(s) = same_stratum {
                                if self.in_stratum(a.rel, s) {
                                    let qr = self.ranks[&(q.rel, q.tuple.clone())];
                                    max_rank = Some(max_rank.map_or(qr, |m| m.max(qr)));
                                }
                            }
                        }
                        (BodyLit::Neg(a), Premise::Absent { rel, pattern }) => {
                            let expected: Vec<Option<Sym>> =
                                a.args.iter().map(|t| value_of(t, bindings)).collect();
                            if *rel != a.rel || *pattern != expected {
                                return Err("negated premise is not the body atom".into());
                            }
                            let hit = self.model.get(a.rel).iter().any(|t| {
                                let mut nb = bindings.clone();
                                unify(&a.args, t, &mut nb)
                            });
                            if hit {
                                return Err(format!("{name}{:?}: a negated atom matches", p.tuple));
                            }
                        }
                        (
                            BodyLit::Cmp { lhs, op, rhs, .. },
                            Premise::Compare {
                                lhs: l,
                                op: o,
                                rhs: rr,
                            },
                        ) => {
                            if value_of(lhs, bindings) != Some(*l)
                                || value_of(rhs, bindings) != Some(*rr)
                                || op != o
                            {
                                return Err("comparison is not the body literal".into());
                            }
                            if !self.cmp(*l, *o, *rr) {
                                return Err(format!("{name}{:?}: a comparison is false", p.tuple));
                            }
                        }
                        _ => return Err("premise kind does not match the literal".into()),
                    }
                }
                if let Some(_s) = same_stratum {
                    let mine = self.ranks[&key];
                    let expected = max_rank.map_or(1, |m| m + 1);
                    if mine != expected {
                        return Err(format!(
                            "{name}{:?}: rank {mine}, but the premises give {expected}: not minimal or not well-founded",
                            p.tuple
                        ));
                    }
                }
            }
        }
        done.insert(key);
        Ok(())
    }

    fn check_why_not(&self, w: &WhyNot) -> Result<usize, String> {
        if self.matches(w.rel, &w.pattern) {
            return Err("why-not of a pattern that holds".into());
        }
        let mut n = 1;
        for a in &w.attempts {
            let r = self.program.rule(a.rule);
            if r.head.rel != w.rel {
                return Err("attempt with a rule of another relation".into());
            }
            // The head under the attempt's bindings agrees with the goal wherever both are set.
            for (t, p) in r.head.args.iter().zip(&w.pattern) {
                if let (Some(v), Some(p)) = (value_of(t, &a.bindings), p) {
                    if v != *p {
                        return Err("attempt's head does not unify with the goal".into());
                    }
                }
            }
            match &a.blocker {
                Blocker::Missing {
                    rel,
                    pattern,
                    below,
                    ..
                } => {
                    let Some(BodyLit::Pos(atom)) = r.body.get(a.literal) else {
                        return Err("a missing premise that is not a positive literal".into());
                    };
                    let expected: Vec<Option<Sym>> =
                        atom.args.iter().map(|t| value_of(t, &a.bindings)).collect();
                    if atom.rel != *rel || expected != *pattern {
                        return Err("a missing premise that is not the body atom".into());
                    }
                    let hit = self.model.get(*rel).iter().any(|t| {
                        let mut nb = a.bindings.clone();
                        unify(&atom.args, t, &mut nb)
                    });
                    if hit {
                        return Err("a missing premise matches a tuple".into());
                    }
                    if let Some(b) = below {
                        n += self.check_why_not(b)?;
                    }
                }
                Blocker::Present { rel, tuple } => {
                    if !self.model.get(*rel).contains(tuple) {
                        return Err("a present tuple is not in the model".into());
                    }
                }
                Blocker::Compare { lhs, op, rhs } => {
                    if let (Some(l), Some(r)) = (lhs, rhs) {
                        if self.cmp(*l, *op, *r) {
                            return Err("a failing comparison holds".into());
                        }
                    }
                }
                Blocker::Unknown => {}
            }
        }
        Ok(n)
    }
}

fn proofs_of(e: &Explanation) -> (Vec<&Proof>, Vec<&WhyNot>) {
    let mut ps = Vec::new();
    let mut ws = Vec::new();
    for g in &e.grants {
        ps.extend(g.instances.iter().map(|i| &i.proof));
    }
    match &e.deny {
        Some(DenyReason::Forbidden { instance }) => ps.push(&instance.proof),
        Some(DenyReason::NoGrant { candidates, .. }) => {
            for c in candidates {
                match &c.failure {
                    CandidateFailure::Condition(is) => ps.extend(is.iter().map(|i| &i.proof)),
                    CandidateFailure::NoInstance(w) => ws.push(w),
                    CandidateFailure::WrongType { .. } => {}
                }
            }
        }
        Some(DenyReason::Unsatisfiable { grants, .. }) => {
            for g in grants {
                ps.extend(g.instances.iter().map(|i| &i.proof));
            }
        }
        _ => {}
    }
    (ps, ws)
}

#[test]
fn every_support_desk_explanation_checks() {
    let dir = PathBuf::from("examples/support-desk");
    let compiled = ztpol::load::compile_paths(std::slice::from_ref(&dir)).expect("readable");
    let mut program = compiled.program.expect("checks");
    let mut facts = Vec::new();
    for f in program.data_files.clone() {
        facts.extend(ztpol::data::load_json(&mut program, &f).expect("loads"));
    }
    let model = eval::evaluate(
        &program,
        &eval::input_model(&program, &facts),
        &EvalConfig::default(),
    )
    .expect("evaluates");
    let ex = Explainer::new(&program, &model, &facts);
    let checker = Checker::new(&program, &model, &facts);
    let (mut proofs, mut why_nots) = (0, 0);
    let mut reqs: Vec<PathBuf> = std::fs::read_dir(dir.join("requests"))
        .expect("requests")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    reqs.sort();
    for path in reqs {
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("readable")).expect("json");
        let e = ex.explain_document(&json, Auth::None).expect("explained");
        let (ps, ws) = proofs_of(&e);
        for p in ps {
            checker
                .check(p, &mut HashSet::new())
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            proofs += 1;
        }
        for w in ws {
            why_nots += checker
                .check_why_not(w)
                .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        }
    }
    // Every derived tuple of the support desk model, too.
    for (i, rows) in model.rows.iter().enumerate() {
        for t in rows.iter() {
            let p = ex.prove(RelId(i as u32), t).expect("in the model");
            checker.check(&p, &mut HashSet::new()).expect("checks");
            proofs += 1;
        }
    }
    assert!(proofs >= 40, "only {proofs} proofs");
    assert!(why_nots >= 20, "only {why_nots} why-nots");
    let _ = Path::new(".");
}

/// A random, checkable program: base relations with random facts, derived relations with random
/// rules (recursion, negation of lower relations, comparisons).
fn generate(rng: &mut StdRng) -> String {
    const STR: [&str; 5] = ["\"a\"", "\"b\"", "\"c\"", "\"d\"", "\"e\""];
    let mut s = String::from(
        "rel b0(x: string, y: string)\nrel b1(x: string)\nrel b2(x: string, n: int)\n\
         rel d0(x: string, y: string)\nrel d1(x: string)\nrel d2(x: string, y: string)\nrel d3(x: string)\n",
    );
    for _ in 0..rng.random_range(3..10) {
        s += &format!(
            "b0({}, {}).\n",
            STR[rng.random_range(0..5)],
            STR[rng.random_range(0..5)]
        );
    }
    for _ in 0..rng.random_range(1..4) {
        s += &format!("b1({}).\n", STR[rng.random_range(0..5)]);
    }
    for _ in 0..rng.random_range(1..5) {
        s += &format!(
            "b2({}, {}).\n",
            STR[rng.random_range(0..5)],
            rng.random_range(0..6)
        );
    }
    // (name, arity, level): positive atoms may use levels <= own, negations strictly lower.
    let derived = [("d0", 2, 0), ("d1", 1, 1), ("d2", 2, 2), ("d3", 1, 3)];
    let base = [("b0", 2), ("b1", 1)];
    let vars = ["X", "Y", "Z", "W"];
    for &(head, arity, level) in &derived {
        for _ in 0..rng.random_range(1..4) {
            let mut body: Vec<String> = Vec::new();
            let mut bound: Vec<&str> = Vec::new();
            let mut int_bound: Vec<&str> = Vec::new();
            for _ in 0..rng.random_range(1..4) {
                let choice = rng.random_range(0..10);
                let (name, ar, int_col) = if choice < 4 {
                    let (n, a) = base[rng.random_range(0..2)];
                    (n, a, false)
                } else if choice < 5 {
                    ("b2", 2, true)
                } else {
                    let cands: Vec<_> = derived.iter().filter(|d| d.2 <= level).collect();
                    let d = cands[rng.random_range(0..cands.len())];
                    (d.0, d.1, false)
                };
                let mut args = Vec::new();
                for c in 0..ar {
                    if int_col && c == 1 {
                        if rng.random_bool(0.7) {
                            let v = ["N", "M"][rng.random_range(0..2)];
                            int_bound.push(v);
                            args.push(v.to_string());
                        } else {
                            args.push(rng.random_range(0..6).to_string());
                        }
                        continue;
                    }
                    let r = rng.random_range(0..10);
                    if r < 7 {
                        let v = vars[rng.random_range(0..4)];
                        bound.push(v);
                        args.push(v.to_string());
                    } else if r < 9 {
                        args.push(STR[rng.random_range(0..5)].to_string());
                    } else {
                        args.push("_".into());
                    }
                }
                body.push(format!("{name}({})", args.join(", ")));
            }
            bound.sort();
            bound.dedup();
            int_bound.sort();
            int_bound.dedup();
            if bound.is_empty() {
                continue;
            }
            if rng.random_bool(0.3) {
                let lower: Vec<_> = derived.iter().filter(|d| d.2 < level).collect();
                let (n, a) = if !lower.is_empty() && rng.random_bool(0.5) {
                    let d = lower[rng.random_range(0..lower.len())];
                    (d.0, d.1)
                } else {
                    base[rng.random_range(0..2)]
                };
                let args: Vec<String> = (0..a)
                    .map(|_| {
                        if rng.random_bool(0.8) {
                            bound[rng.random_range(0..bound.len())].to_string()
                        } else {
                            "_".into()
                        }
                    })
                    .collect();
                body.push(format!("not {n}({})", args.join(", ")));
            }
            if rng.random_bool(0.3) {
                let ops = ["==", "!=", "<", "<=", ">", ">="];
                let op = ops[rng.random_range(0..6)];
                if !int_bound.is_empty() && rng.random_bool(0.5) {
                    let v = int_bound[rng.random_range(0..int_bound.len())];
                    body.push(format!("{v} {op} {}", rng.random_range(0..6)));
                } else {
                    let a = bound[rng.random_range(0..bound.len())];
                    let b = if rng.random_bool(0.5) {
                        bound[rng.random_range(0..bound.len())].to_string()
                    } else {
                        STR[rng.random_range(0..5)].to_string()
                    };
                    body.push(format!("{a} {op} {b}"));
                }
            }
            let head_args: Vec<&str> = (0..arity)
                .map(|_| bound[rng.random_range(0..bound.len())])
                .collect();
            s += &format!("{head}({}) :- {}.\n", head_args.join(", "), body.join(", "));
        }
    }
    s
}

#[test]
fn generated_programs_explanations_check() {
    let mut rng = StdRng::seed_from_u64(0x5eed_e8a1);
    let (mut programs, mut proofs, mut why_nots, mut recursive) = (0, 0, 0, 0);
    for _ in 0..400 {
        let text = generate(&mut rng);
        let compiled = ztpol::load::compile_str("gen.ztp", &text);
        let Some(program) = compiled.program else {
            continue;
        };
        let model = match eval::evaluate(
            &program,
            &eval::input_model(&program, &[]),
            &EvalConfig::default(),
        ) {
            Ok(m) => m,
            Err(_) => continue,
        };
        programs += 1;
        // Every other program takes the full rank tables instead of the bounded search.
        let config = ExplainConfig {
            bounded_ranks: programs % 2 == 0,
            ..ExplainConfig::default()
        };
        let ex = Explainer::with_config(&program, &model, &[], config);
        let checker = Checker::new(&program, &model, &[]);
        let strs: Vec<Sym> = ["a", "b", "c", "d", "e"]
            .iter()
            .filter_map(|v| program.interner.lookup(&ztpol::ir::Value::Str((*v).into())))
            .collect();
        for name in ["d0", "d1", "d2", "d3"] {
            let Some(rel) = program.relation_by_name(name) else {
                continue;
            };
            for t in model.get(rel).iter().take(12) {
                let p = ex.prove(rel, t).unwrap_or_else(|e| panic!("{e}\n{text}"));
                checker
                    .check(&p, &mut HashSet::new())
                    .unwrap_or_else(|e| panic!("{e}\n{}\n{text}", ex.proof_text(&p)));
                if ex.is_recursive(rel) {
                    recursive += 1;
                }
                proofs += 1;
            }
            // Why-nots of a few ground tuples that do not hold.
            let arity = program.relation(rel).arity();
            for _ in 0..3 {
                if strs.is_empty() {
                    break;
                }
                let t: Vec<Option<Sym>> = (0..arity)
                    .map(|_| Some(strs[rng.random_range(0..strs.len())]))
                    .collect();
                if let Ok(w) = ex.why_not(rel, &t) {
                    why_nots += checker
                        .check_why_not(&w)
                        .unwrap_or_else(|e| panic!("{e}\n{}\n{text}", ex.why_not_text(&w)));
                }
            }
        }
    }
    assert!(
        programs >= 100,
        "only {programs} generated programs compiled"
    );
    assert!(proofs >= 500, "only {proofs} proofs checked");
    assert!(
        recursive >= 50,
        "only {recursive} proofs of recursive relations"
    );
    assert!(why_nots >= 200, "only {why_nots} why-nots checked");
    eprintln!("{programs} programs, {proofs} proofs ({recursive} recursive), {why_nots} why-nots");
}

/// A checker that accepts everything would prove nothing: a corrupted proof must be rejected.
#[test]
fn the_checker_rejects_wrong_proofs() {
    let text = "rel e(a: string, b: string)\nrel p(a: string, b: string)\n\
                e(\"a\", \"b\"). e(\"b\", \"c\").\n\
                p(X, Y) :- e(X, Y).\np(X, Z) :- p(X, Y), e(Y, Z).\n";
    let program = ztpol::load::compile_str("t.ztp", text)
        .program
        .expect("checks");
    let model = eval::evaluate(
        &program,
        &eval::input_model(&program, &[]),
        &EvalConfig::default(),
    )
    .expect("evaluates");
    let ex = Explainer::new(&program, &model, &[]);
    let checker = Checker::new(&program, &model, &[]);
    let sym = |v: &str| {
        program
            .interner
            .lookup(&ztpol::ir::Value::Str(v.into()))
            .expect("sym")
    };
    let p_rel = program.relation_by_name("p").expect("p");
    let good = ex.prove(p_rel, &[sym("a"), sym("c")]).expect("holds");
    checker
        .check(&good, &mut HashSet::new())
        .expect("the real proof checks");

    // Wrong head binding.
    let mut bad = good.clone();
    if let Step::Rule { bindings, .. } = &mut bad.step {
        bindings[0] = Some(sym("b"));
    }
    assert!(checker.check(&bad, &mut HashSet::new()).is_err());
    // A fact that was never given.
    let mut bad = good.clone();
    bad.step = Step::Fact(Origin::Inline(ztpol::source::Span::default()));
    assert!(checker.check(&bad, &mut HashSet::new()).is_err());
    // "Proved above" with nothing above.
    let mut bad = good.clone();
    bad.step = Step::Above;
    assert!(checker.check(&bad, &mut HashSet::new()).is_err());
    // A premise swapped for another tuple.
    let mut bad = good.clone();
    if let Step::Rule { premises, .. } = &mut bad.step {
        if let Some(Premise::Atom(q)) = premises.get_mut(1) {
            q.tuple = vec![sym("a"), sym("b")];
        }
    }
    assert!(checker.check(&bad, &mut HashSet::new()).is_err());
}
