//! Differential test: random programs, built directly as IR, must get the same model from the
//! datafrog engine and the naive engine.
//!
//! Programs have 2-7 relations of arity 0-3 with int and string columns, spread over up to
//! four strata; rules use recursion (also mutual and non-linear), negation of earlier strata,
//! comparisons, constants in atoms and heads, repeated variables and wildcards, and are
//! range-restricted by construction. Every case is reproducible from its seed.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use ztpol::eval::{evaluate, input_model, Engine, EvalConfig, Limits};
use ztpol::ir::{
    Atom, BodyLit, CmpOp, ColumnInfo, Fact, Origin, Program, RelId, RelKind, Relation, Rule,
    RuleId, Stratum, Sym, Term, Type, Value, Var,
};
use ztpol::source::Span;

const CASES: u64 = 1000;
const GRAPH_CASES: u64 = 300;

/// Values a column of each type can hold: ints interned out of numeric order, so symbol order
/// differs from value order.
struct Pool {
    ints: Vec<Sym>,
    strs: Vec<Sym>,
}

impl Pool {
    fn new(p: &mut Program) -> Pool {
        let ints = [3, -1, 10, 0, 2]
            .into_iter()
            .map(|i| p.interner.intern(Value::Int(i)))
            .collect();
        let strs = ["m", "b", "zz", "a", "c"]
            .into_iter()
            .map(|s| p.interner.intern_str(s))
            .collect();
        Pool { ints, strs }
    }

    fn value(&self, rng: &mut StdRng, ty: Type, spread: usize) -> Sym {
        let vals = match ty {
            Type::Int | Type::Bool => &self.ints,
            Type::String => &self.strs,
        };
        vals[rng.random_range(0..spread.min(vals.len()))]
    }
}

/// A variable of the rule under construction: its type and whether a positive atom binds it.
struct RuleVars {
    types: Vec<Type>,
    /// The positive atom that binds each variable first.
    atom: Vec<usize>,
}

impl RuleVars {
    fn fresh(&mut self, ty: Type, atom: usize) -> Term {
        self.types.push(ty);
        self.atom.push(atom);
        Term::Var(Var(self.types.len() as u32 - 1))
    }

    /// Variables of type `ty` first bound by atoms `before` the given one, or by it.
    fn of_type_from(&self, ty: Type, atom: usize, before: bool) -> Vec<u32> {
        (0..self.types.len() as u32)
            .filter(|&v| self.types[v as usize] == ty && ((self.atom[v as usize] < atom) == before))
            .collect()
    }

    fn of_type(&self, ty: Type) -> Vec<u32> {
        (0..self.types.len() as u32)
            .filter(|&v| self.types[v as usize] == ty)
            .collect()
    }
}

fn pick<T: Copy>(rng: &mut StdRng, xs: &[T]) -> Option<T> {
    if xs.is_empty() {
        None
    } else {
        Some(xs[rng.random_range(0..xs.len())])
    }
}

fn atom(rel: RelId, args: Vec<Term>) -> Atom {
    Atom {
        rel,
        args,
        span: Span::default(),
    }
}

/// A random stratified program with random facts.
fn generate(seed: u64) -> Program {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut p = Program::default();
    let pool = Pool::new(&mut p);
    // Few distinct values keep relations small enough for the naive engine.
    let spread = rng.random_range(3..=5);

    // Given relations (stratum 0, facts only) and derived ones (strata 1.., rules, sometimes
    // facts too).
    let n_strata = rng.random_range(2..=4usize);
    let n_given = rng.random_range(1..=3usize);
    let n_rels = n_given + rng.random_range(1..=5usize);
    let mut stratum_of = Vec::new();
    for i in 0..n_rels {
        let arity = if rng.random_bool(0.05) {
            0
        } else {
            rng.random_range(1..=3)
        };
        let columns = (0..arity)
            .map(|_| ColumnInfo {
                name: None,
                ty: if rng.random_bool(0.5) {
                    Type::Int
                } else {
                    Type::String
                },
            })
            .collect();
        p.relations.push(Relation {
            name: format!("r{i}"),
            columns,
            span: Span::default(),
            kind: RelKind::Declared,
        });
        stratum_of.push(if i < n_given {
            0
        } else {
            rng.random_range(1..n_strata)
        });
    }

    for (i, rel) in p.relations.iter().enumerate() {
        if i >= n_given && !rng.random_bool(0.25) {
            continue;
        }
        for _ in 0..rng.random_range(1..=16) {
            let values = rel
                .columns
                .iter()
                .map(|c| pool.value(&mut rng, c.ty, spread))
                .collect();
            p.facts.push(Fact {
                rel: RelId(i as u32),
                values,
                origin: Origin::Inline(Span::default()),
            });
        }
    }

    let mut rules_of: Vec<Vec<RuleId>> = vec![Vec::new(); n_strata];
    for head in n_given..n_rels {
        let s = stratum_of[head];
        for _ in 0..rng.random_range(1..=4) {
            let rule = random_rule(&mut rng, &p, &pool, spread, &stratum_of, head);
            p.rules.push(rule);
            rules_of[s].push(RuleId(p.rules.len() as u32 - 1));
        }
    }

    for (s, rules) in rules_of.into_iter().enumerate() {
        let relations: Vec<RelId> = (0..n_rels)
            .filter(|&r| stratum_of[r] == s)
            .map(|r| RelId(r as u32))
            .collect();
        let recursive = rules.iter().any(|&r| {
            p.rule(r).body.iter().any(|lit| match lit {
                BodyLit::Pos(a) | BodyLit::Neg(a) => relations.contains(&a.rel),
                BodyLit::Cmp { .. } => false,
            })
        });
        p.strata.push(Stratum {
            relations,
            rules,
            recursive,
        });
    }
    p
}

fn random_rule(
    rng: &mut StdRng,
    p: &Program,
    pool: &Pool,
    spread: usize,
    stratum_of: &[usize],
    head: usize,
) -> Rule {
    let s = stratum_of[head];
    let same_or_lower: Vec<usize> = (0..stratum_of.len())
        .filter(|&r| stratum_of[r] <= s)
        .collect();
    let lower: Vec<usize> = (0..stratum_of.len())
        .filter(|&r| stratum_of[r] < s)
        .collect();
    let mut vars = RuleVars {
        types: Vec::new(),
        atom: Vec::new(),
    };
    let mut body = Vec::new();

    // Positive atoms (none, rarely: then the body is comparisons of constants).
    let n_pos = if rng.random_bool(0.04) {
        0
    } else if rng.random_bool(0.15) {
        3
    } else {
        rng.random_range(1..=2)
    };
    for k in 0..n_pos {
        // Mostly other relations, so that rules derive new tuples; sometimes the head's own.
        let rel = if rng.random_bool(0.2) {
            head
        } else {
            match pick(rng, &same_or_lower) {
                Some(r) => r,
                None => break,
            }
        };
        let mut args = Vec::new();
        for c in &p.relations[rel].columns {
            // Join variables from earlier atoms; rarely repeat one of this atom.
            let joinable = vars.of_type_from(c.ty, k, true);
            let here = vars.of_type_from(c.ty, k, false);
            let roll = rng.random_range(0..10);
            args.push(match roll {
                0..=4 if !joinable.is_empty() => {
                    Term::Var(Var(pick(rng, &joinable).unwrap_or_default()))
                }
                5 if !here.is_empty() => Term::Var(Var(pick(rng, &here).unwrap_or_default())),
                0..=7 => vars.fresh(c.ty, k),
                8 => Term::Const(pool.value(rng, c.ty, spread)),
                _ => Term::Wildcard,
            });
        }
        body.push(BodyLit::Pos(atom(RelId(rel as u32), args)));
    }

    // Negations of earlier strata, on bound variables, constants and wildcards.
    if rng.random_bool(0.35) {
        if let Some(rel) = pick(rng, &lower) {
            let args = p.relations[rel]
                .columns
                .iter()
                .map(|c| {
                    let existing = vars.of_type(c.ty);
                    match rng.random_range(0..10) {
                        0..=5 if !existing.is_empty() => {
                            Term::Var(Var(pick(rng, &existing).unwrap_or_default()))
                        }
                        0..=7 => Term::Const(pool.value(rng, c.ty, spread)),
                        _ => Term::Wildcard,
                    }
                })
                .collect();
            body.push(BodyLit::Neg(atom(RelId(rel as u32), args)));
        }
    }

    // Comparisons between bound variables and constants of one type.
    for _ in 0..rng.random_range(0..=2) {
        if !rng.random_bool(0.5) {
            continue;
        }
        // Mostly on a variable's type: comparisons of constants alone are rare.
        let ty = match pick(rng, &vars.types) {
            Some(ty) if rng.random_bool(0.9) => ty,
            _ if rng.random_bool(0.5) => Type::Int,
            _ => Type::String,
        };
        let existing = vars.of_type(ty);
        let lhs = match pick(rng, &existing) {
            Some(v) if rng.random_bool(0.9) => Term::Var(Var(v)),
            _ => Term::Const(pool.value(rng, ty, spread)),
        };
        let rhs = match pick(rng, &existing) {
            Some(v) if rng.random_bool(0.4) => Term::Var(Var(v)),
            _ => Term::Const(pool.value(rng, ty, spread)),
        };
        let op = [
            CmpOp::Eq,
            CmpOp::Ne,
            CmpOp::Lt,
            CmpOp::Le,
            CmpOp::Gt,
            CmpOp::Ge,
        ][rng.random_range(0..6)];
        body.push(BodyLit::Cmp {
            lhs,
            op,
            rhs,
            span: Span::default(),
        });
    }

    let args = p.relations[head]
        .columns
        .iter()
        .map(|c| {
            let existing = vars.of_type(c.ty);
            match pick(rng, &existing) {
                Some(v) if rng.random_bool(0.95) => Term::Var(Var(v)),
                _ => Term::Const(pool.value(rng, c.ty, spread)),
            }
        })
        .collect();
    // Shuffle the body: the engines must not depend on literal order.
    for i in (1..body.len()).rev() {
        let j = rng.random_range(0..=i);
        body.swap(i, j);
    }
    Rule {
        head: atom(RelId(head as u32), args),
        body,
        var_names: (0..vars.types.len()).map(|i| format!("V{i}")).collect(),
        span: Span::default(),
    }
}

/// A random graph program: closure-like rules over a random `edge` relation with three
/// mutually recursive, sometimes non-linear relations, then negation over them. Bigger models
/// than [`generate`], with long semi-naive runs.
fn generate_graph(seed: u64) -> Program {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut p = Program::default();
    let nodes = rng.random_range(3..=9i64);
    // Interned in a scrambled order, so symbol order differs from numeric order.
    let mut order: Vec<i64> = (0..nodes).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.random_range(0..=i));
    }
    let syms: Vec<Sym> = {
        let mut by_value = vec![Sym(0); nodes as usize];
        for &n in &order {
            by_value[n as usize] = p.interner.intern(Value::Int(n));
        }
        by_value
    };
    let binary = |name: &str| Relation {
        name: name.to_string(),
        columns: vec![
            ColumnInfo {
                name: None,
                ty: Type::Int
            };
            2
        ],
        span: Span::default(),
        kind: RelKind::Declared,
    };
    p.relations = vec![
        binary("edge"),
        binary("p0"),
        binary("p1"),
        binary("p2"),
        binary("q"),
    ];
    let edge = RelId(0);
    let ps = [RelId(1), RelId(2), RelId(3)];
    let q = RelId(4);
    for _ in 0..rng.random_range(nodes..=2 * nodes) {
        let x = syms[rng.random_range(0..nodes) as usize];
        let y = syms[rng.random_range(0..nodes) as usize];
        p.facts.push(Fact {
            rel: edge,
            values: vec![x, y],
            origin: Origin::Inline(Span::default()),
        });
    }
    let v = |n: u32| Term::Var(Var(n));
    let (x, y, z) = (v(0), v(1), v(2));
    let pos = |rel: RelId, a: Term, b: Term| BodyLit::Pos(atom(rel, vec![a, b]));
    let rule = |head: Atom, body: Vec<BodyLit>| Rule {
        head,
        body,
        var_names: vec!["X".into(), "Y".into(), "Z".into()],
        span: Span::default(),
    };
    let mut rules = Vec::new();
    for (i, &head) in ps.iter().enumerate() {
        // Every relation starts from the edges or from another one.
        rules.push(if i == 0 || rng.random_bool(0.5) {
            rule(atom(head, vec![x, y]), vec![pos(edge, x, y)])
        } else {
            rule(atom(head, vec![y, x]), vec![pos(ps[i - 1], x, y)])
        });
        for _ in 0..rng.random_range(1..=3) {
            let pj = ps[rng.random_range(0..3)];
            let pk = ps[rng.random_range(0..3)];
            let lt = BodyLit::Cmp {
                lhs: x,
                op: CmpOp::Lt,
                rhs: z,
                span: Span::default(),
            };
            rules.push(match rng.random_range(0..6) {
                0 => rule(atom(head, vec![x, z]), vec![pos(pj, x, y), pos(edge, y, z)]),
                1 => rule(atom(head, vec![x, z]), vec![pos(edge, x, y), pos(pj, y, z)]),
                2 => rule(atom(head, vec![x, z]), vec![pos(pj, x, y), pos(pk, y, z)]),
                3 => rule(atom(head, vec![x, y]), vec![pos(pj, y, x)]),
                4 => rule(atom(head, vec![x, x]), vec![pos(pj, x, Term::Wildcard)]),
                _ => rule(
                    atom(head, vec![x, z]),
                    vec![pos(pj, x, y), pos(pk, y, z), lt],
                ),
            });
        }
    }
    let n_closure = rules.len() as u32;
    // q(X, Y) :- edge(X, _), edge(_, Y), not pi(X, Y).
    let pi = ps[rng.random_range(0..3)];
    rules.push(rule(
        atom(q, vec![x, y]),
        vec![
            pos(edge, x, Term::Wildcard),
            pos(edge, Term::Wildcard, y),
            BodyLit::Neg(atom(pi, vec![x, y])),
        ],
    ));
    p.rules = rules;
    p.strata = vec![
        Stratum {
            relations: vec![edge],
            rules: vec![],
            recursive: false,
        },
        Stratum {
            relations: ps.to_vec(),
            rules: (0..n_closure).map(RuleId).collect(),
            recursive: true,
        },
        Stratum {
            relations: vec![q],
            rules: vec![RuleId(n_closure)],
            recursive: false,
        },
    ];
    p
}

/// The program in core syntax, for failure messages.
fn render(p: &Program) -> String {
    let term = |t: &Term| match t {
        Term::Var(v) => format!("V{}", v.0),
        Term::Const(c) => p.interner.value(*c).to_string(),
        Term::Wildcard => "_".to_string(),
    };
    let atom = |a: &Atom| {
        let args: Vec<String> = a.args.iter().map(term).collect();
        format!("{}({})", p.relation(a.rel).name, args.join(", "))
    };
    let mut out = String::new();
    for (i, s) in p.strata.iter().enumerate() {
        out.push_str(&format!("// stratum {i}\n"));
        for &r in &s.rules {
            let rule = p.rule(r);
            let body: Vec<String> = rule
                .body
                .iter()
                .map(|lit| match lit {
                    BodyLit::Pos(a) => atom(a),
                    BodyLit::Neg(a) => format!("not {}", atom(a)),
                    BodyLit::Cmp { lhs, op, rhs, .. } => {
                        format!("{} {} {}", term(lhs), op.symbol(), term(rhs))
                    }
                })
                .collect();
            out.push_str(&format!("{} :- {}.\n", atom(&rule.head), body.join(", ")));
        }
    }
    for f in &p.facts {
        let vals: Vec<String> = f
            .values
            .iter()
            .map(|&s| p.interner.value(s).to_string())
            .collect();
        out.push_str(&format!(
            "{}({}).\n",
            p.relation(f.rel).name,
            vals.join(", ")
        ));
    }
    out
}

fn run(p: &Program, engine: Engine) -> Result<ztpol::eval::Model, ztpol::eval::EvalError> {
    let config = EvalConfig {
        engine,
        limits: Limits::default(),
    };
    evaluate(p, &input_model(p, &[]), &config)
}

#[test]
fn engines_agree_on_random_programs() {
    let mut derived = 0usize;
    let mut recursive = 0usize;
    let mut negations = 0usize;
    for seed in 0..CASES {
        let p = generate(seed);
        let fast = run(&p, Engine::Datafrog);
        let slow = run(&p, Engine::Naive);
        assert_eq!(
            fast,
            slow,
            "engines disagree on seed {seed}:\n{}",
            render(&p)
        );
        if let Ok(m) = &fast {
            derived += m.total() - input_model(&p, &[]).total();
        }
        recursive += usize::from(p.strata.iter().any(|s| s.recursive));
        negations += usize::from(
            p.rules
                .iter()
                .any(|r| r.body.iter().any(|l| matches!(l, BodyLit::Neg(_)))),
        );
    }
    eprintln!("{CASES} programs: {derived} derived tuples, {recursive} recursive, {negations} with negation");
    // The generator must actually exercise the engines.
    assert!(
        derived > 3 * CASES as usize,
        "only {derived} derived tuples"
    );
    assert!(recursive > CASES as usize / 3, "only {recursive} recursive");
    assert!(
        negations > CASES as usize / 5,
        "only {negations} with negation"
    );
}

#[test]
fn engines_agree_on_random_graph_programs() {
    let mut derived = 0usize;
    for seed in 0..GRAPH_CASES {
        let p = generate_graph(seed);
        let fast = run(&p, Engine::Datafrog);
        let slow = run(&p, Engine::Naive);
        assert_eq!(
            fast,
            slow,
            "engines disagree on graph seed {seed}:\n{}",
            render(&p)
        );
        if let Ok(m) = &fast {
            derived += m.total() - input_model(&p, &[]).total();
        }
    }
    eprintln!("{GRAPH_CASES} graph programs: {derived} derived tuples");
    assert!(
        derived > 20 * GRAPH_CASES as usize,
        "only {derived} derived tuples"
    );
}

#[test]
fn generated_programs_are_range_restricted_and_stratified() {
    for seed in 0..CASES {
        let p = generate(seed);
        let stratum_of = |rel: RelId| {
            p.strata
                .iter()
                .position(|s| s.relations.contains(&rel))
                .unwrap_or(usize::MAX)
        };
        for (si, s) in p.strata.iter().enumerate() {
            for &r in &s.rules {
                let rule = p.rule(r);
                assert_eq!(stratum_of(rule.head.rel), si);
                let mut bound = std::collections::HashSet::new();
                for lit in &rule.body {
                    if let BodyLit::Pos(a) = lit {
                        assert!(stratum_of(a.rel) <= si);
                        for t in &a.args {
                            if let Term::Var(v) = t {
                                bound.insert(*v);
                            }
                        }
                    }
                }
                let check = |t: &Term| {
                    if let Term::Var(v) = t {
                        assert!(bound.contains(v), "seed {seed}: unbound variable");
                    }
                };
                rule.head.args.iter().for_each(check);
                for lit in &rule.body {
                    match lit {
                        BodyLit::Pos(_) => {}
                        BodyLit::Neg(a) => {
                            assert!(stratum_of(a.rel) < si, "seed {seed}: unstratified");
                            a.args.iter().for_each(check);
                        }
                        BodyLit::Cmp { lhs, rhs, .. } => {
                            check(lhs);
                            check(rhs);
                        }
                    }
                }
            }
        }
    }
}
