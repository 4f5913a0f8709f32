//! Semantics and limits of both engines, on small programs built as IR.
//!
//! Every case runs on the datafrog engine and on the naive engine and requires the same model
//! from both, then checks the relation it is about.

use super::{evaluate, input_model, Engine, EvalConfig, EvalError, Limits, Model};
use crate::ir::{
    Atom, BodyLit, CmpOp, ColumnInfo, Fact, Origin, Program, RelId, RelKind, Relation, Rule,
    RuleId, Stratum, Sym, Term, Type, Value, Var,
};
use crate::source::Span;
use std::time::Duration;

/// A small IR builder.
#[derive(Default)]
struct Build {
    p: Program,
}

fn v(n: u32) -> Term {
    Term::Var(Var(n))
}

const W: Term = Term::Wildcard;

fn atom(rel: RelId, args: Vec<Term>) -> Atom {
    Atom {
        rel,
        args,
        span: Span::default(),
    }
}

fn pos(rel: RelId, args: Vec<Term>) -> BodyLit {
    BodyLit::Pos(atom(rel, args))
}

fn neg(rel: RelId, args: Vec<Term>) -> BodyLit {
    BodyLit::Neg(atom(rel, args))
}

fn cmp(lhs: Term, op: CmpOp, rhs: Term) -> BodyLit {
    BodyLit::Cmp {
        lhs,
        op,
        rhs,
        span: Span::default(),
    }
}

impl Build {
    fn rel(&mut self, name: &str, types: &[Type]) -> RelId {
        self.p.relations.push(Relation {
            name: name.to_string(),
            columns: types
                .iter()
                .map(|&ty| ColumnInfo { name: None, ty })
                .collect(),
            span: Span::default(),
            kind: RelKind::Declared,
        });
        RelId(self.p.relations.len() as u32 - 1)
    }

    fn s(&mut self, text: &str) -> Sym {
        self.p.interner.intern_str(text)
    }

    fn i(&mut self, n: i64) -> Sym {
        self.p.interner.intern(Value::Int(n))
    }

    fn cs(&mut self, text: &str) -> Term {
        Term::Const(self.s(text))
    }

    fn ci(&mut self, n: i64) -> Term {
        Term::Const(self.i(n))
    }

    fn fact(&mut self, rel: RelId, values: Vec<Sym>) {
        self.p.facts.push(Fact {
            rel,
            values,
            origin: Origin::Inline(Span::default()),
        });
    }

    /// Facts of string columns.
    fn facts(&mut self, rel: RelId, rows: &[&[&str]]) {
        for row in rows {
            let values = row.iter().map(|t| self.s(t)).collect();
            self.fact(rel, values);
        }
    }

    fn rule(&mut self, head: Atom, body: Vec<BodyLit>) -> RuleId {
        let mut n = 0;
        let mut see = |t: &Term| {
            if let Term::Var(v) = t {
                n = n.max(v.0 + 1);
            }
        };
        head.args.iter().for_each(&mut see);
        for lit in &body {
            match lit {
                BodyLit::Pos(a) | BodyLit::Neg(a) => a.args.iter().for_each(&mut see),
                BodyLit::Cmp { lhs, rhs, .. } => {
                    see(lhs);
                    see(rhs);
                }
            }
        }
        self.p.rules.push(Rule {
            head,
            body,
            var_names: (0..n).map(|i| format!("V{i}")).collect(),
            span: Span::default(),
        });
        RuleId(self.p.rules.len() as u32 - 1)
    }

    fn stratum(&mut self, relations: &[RelId], rules: &[RuleId]) {
        let recursive = rules.iter().any(|&r| {
            self.p.rule(r).body.iter().any(|lit| match lit {
                BodyLit::Pos(a) | BodyLit::Neg(a) => relations.contains(&a.rel),
                BodyLit::Cmp { .. } => false,
            })
        });
        self.p.strata.push(Stratum {
            relations: relations.to_vec(),
            rules: rules.to_vec(),
            recursive,
        });
    }
}

fn run(p: &Program, engine: Engine, limits: Limits) -> Result<Model, EvalError> {
    evaluate(p, &input_model(p, &[]), &EvalConfig { engine, limits })
}

/// The model, required identical from both engines.
fn model(p: &Program) -> Model {
    let fast = run(p, Engine::Datafrog, Limits::default());
    let slow = run(p, Engine::Naive, Limits::default());
    assert_eq!(fast, slow, "engines disagree");
    match fast {
        Ok(m) => m,
        Err(e) => panic!("evaluation failed: {e}"),
    }
}

/// The tuples of `rel` rendered in source syntax, sorted.
fn show(p: &Program, m: &Model, rel: RelId) -> Vec<String> {
    let mut out: Vec<String> = m
        .get(rel)
        .iter()
        .map(|t| {
            let vals: Vec<String> = t.iter().map(|&s| p.interner.value(s).to_string()).collect();
            format!("({})", vals.join(", "))
        })
        .collect();
    out.sort();
    out
}

/// `edge` over `a -> b -> c -> d` and `path` as its closure: (edge, path, program).
fn closure() -> (RelId, RelId, Build) {
    let mut b = Build::default();
    let edge = b.rel("edge", &[Type::String, Type::String]);
    let path = b.rel("path", &[Type::String, Type::String]);
    b.facts(edge, &[&["a", "b"], &["b", "c"], &["c", "d"]]);
    b.stratum(&[edge], &[]);
    let r1 = b.rule(
        atom(path, vec![v(0), v(1)]),
        vec![pos(edge, vec![v(0), v(1)])],
    );
    let r2 = b.rule(
        atom(path, vec![v(0), v(2)]),
        vec![pos(path, vec![v(0), v(1)]), pos(edge, vec![v(1), v(2)])],
    );
    b.stratum(&[path], &[r1, r2]);
    (edge, path, b)
}

#[test]
fn transitive_closure() {
    let (_, path, b) = closure();
    let m = model(&b.p);
    assert_eq!(
        show(&b.p, &m, path),
        [
            r#"("a", "b")"#,
            r#"("a", "c")"#,
            r#"("a", "d")"#,
            r#"("b", "c")"#,
            r#"("b", "d")"#,
            r#"("c", "d")"#
        ]
    );
}

#[test]
fn doubly_recursive_closure() {
    let mut b = Build::default();
    let edge = b.rel("edge", &[Type::Int, Type::Int]);
    let path = b.rel("path", &[Type::Int, Type::Int]);
    for i in 0..6 {
        let (x, y) = (b.i(i), b.i(i + 1));
        b.fact(edge, vec![x, y]);
    }
    let r1 = b.rule(
        atom(path, vec![v(0), v(1)]),
        vec![pos(edge, vec![v(0), v(1)])],
    );
    // path(X, Z) :- path(X, Y), path(Y, Z).
    let r2 = b.rule(
        atom(path, vec![v(0), v(2)]),
        vec![pos(path, vec![v(0), v(1)]), pos(path, vec![v(1), v(2)])],
    );
    b.stratum(&[path], &[r1, r2]);
    let m = model(&b.p);
    assert_eq!(m.get(path).len(), 21);
}

#[test]
fn mutual_recursion() {
    let mut b = Build::default();
    let succ = b.rel("succ", &[Type::Int, Type::Int]);
    let even = b.rel("even", &[Type::Int]);
    let odd = b.rel("odd", &[Type::Int]);
    for i in 0..7 {
        let (x, y) = (b.i(i), b.i(i + 1));
        b.fact(succ, vec![x, y]);
    }
    let zero = b.i(0);
    b.fact(even, vec![zero]);
    // odd(Y) :- even(X), succ(X, Y).   even(Y) :- odd(X), succ(X, Y).
    let r1 = b.rule(
        atom(odd, vec![v(1)]),
        vec![pos(even, vec![v(0)]), pos(succ, vec![v(0), v(1)])],
    );
    let r2 = b.rule(
        atom(even, vec![v(1)]),
        vec![pos(odd, vec![v(0)]), pos(succ, vec![v(0), v(1)])],
    );
    b.stratum(&[even, odd], &[r1, r2]);
    let m = model(&b.p);
    assert_eq!(show(&b.p, &m, even), ["(0)", "(2)", "(4)", "(6)"]);
    assert_eq!(show(&b.p, &m, odd), ["(1)", "(3)", "(5)", "(7)"]);
}

#[test]
fn stratified_negation_with_wildcard() {
    let (edge, path, mut b) = closure();
    let node = b.rel("node", &[Type::String]);
    let sink = b.rel("sink", &[Type::String]);
    let unreach = b.rel("unreach", &[Type::String, Type::String]);
    b.facts(node, &[&["a"], &["b"], &["c"], &["d"], &["e"]]);
    // sink(N) :- node(N), not edge(N, _).
    let r1 = b.rule(
        atom(sink, vec![v(0)]),
        vec![pos(node, vec![v(0)]), neg(edge, vec![v(0), W])],
    );
    // unreach(X, Y) :- node(X), node(Y), not path(X, Y).
    let r2 = b.rule(
        atom(unreach, vec![v(0), v(1)]),
        vec![
            pos(node, vec![v(0)]),
            pos(node, vec![v(1)]),
            neg(path, vec![v(0), v(1)]),
        ],
    );
    b.stratum(&[sink, unreach], &[r1, r2]);
    let m = model(&b.p);
    assert_eq!(show(&b.p, &m, sink), [r#"("d")"#, r#"("e")"#]);
    assert_eq!(m.get(unreach).len(), 25 - 6);
}

#[test]
fn comparisons_order_ints_numerically_and_strings_by_text() {
    let mut b = Build::default();
    let num = b.rel("num", &[Type::Int]);
    let word = b.rel("word", &[Type::String]);
    let small = b.rel("small", &[Type::Int]);
    let less = b.rel("less", &[Type::Int, Type::Int]);
    let early = b.rel("early", &[Type::String]);
    // Interned out of numeric order, so symbol order is not value order.
    for n in [10, 9, -3, 100, 2] {
        let s = b.i(n);
        b.fact(num, vec![s]);
    }
    b.facts(word, &[&["pear"], &["apple"], &["fig"]]);
    let ten = b.ci(10);
    let r1 = b.rule(
        atom(small, vec![v(0)]),
        vec![pos(num, vec![v(0)]), cmp(v(0), CmpOp::Lt, ten)],
    );
    let r2 = b.rule(
        atom(less, vec![v(0), v(1)]),
        vec![
            pos(num, vec![v(0)]),
            pos(num, vec![v(1)]),
            cmp(v(0), CmpOp::Lt, v(1)),
            cmp(v(1), CmpOp::Le, ten),
        ],
    );
    let g = b.cs("g");
    let r3 = b.rule(
        atom(early, vec![v(0)]),
        vec![pos(word, vec![v(0)]), cmp(g, CmpOp::Gt, v(0))],
    );
    b.stratum(&[small, less, early], &[r1, r2, r3]);
    let m = model(&b.p);
    assert_eq!(show(&b.p, &m, small), ["(-3)", "(2)", "(9)"]);
    assert_eq!(m.get(less).len(), 6);
    assert_eq!(show(&b.p, &m, early), [r#"("apple")"#, r#"("fig")"#]);
}

#[test]
fn every_comparison_operator() {
    let mut b = Build::default();
    let num = b.rel("num", &[Type::Int]);
    for n in 1..=3 {
        let s = b.i(n);
        b.fact(num, vec![s]);
    }
    let mut outs = Vec::new();
    for op in [
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ] {
        let out = b.rel(op.symbol(), &[Type::Int]);
        let two = b.ci(2);
        let r = b.rule(
            atom(out, vec![v(0)]),
            vec![pos(num, vec![v(0)]), cmp(v(0), op, two)],
        );
        b.stratum(&[out], &[r]);
        outs.push(out);
    }
    let m = model(&b.p);
    let got: Vec<Vec<String>> = outs.iter().map(|&r| show(&b.p, &m, r)).collect();
    assert_eq!(
        got,
        [
            vec!["(2)"],
            vec!["(1)", "(3)"],
            vec!["(1)"],
            vec!["(1)", "(2)"],
            vec!["(3)"],
            vec!["(2)", "(3)"]
        ]
    );
}

#[test]
fn constants_in_body_atoms_and_heads() {
    let mut b = Build::default();
    let e = b.rel("e", &[Type::String, Type::String]);
    let from_a = b.rel("from_a", &[Type::String]);
    let tagged = b.rel("tagged", &[Type::String, Type::String]);
    b.facts(e, &[&["a", "x"], &["a", "y"], &["b", "z"]]);
    // from_a(X) :- e("a", X).
    let ca = b.cs("a");
    let r1 = b.rule(atom(from_a, vec![v(0)]), vec![pos(e, vec![ca, v(0)])]);
    // tagged("t", X) :- from_a(X).
    let ct = b.cs("t");
    let r2 = b.rule(atom(tagged, vec![ct, v(0)]), vec![pos(from_a, vec![v(0)])]);
    b.stratum(&[from_a, tagged], &[r1, r2]);
    let m = model(&b.p);
    assert_eq!(show(&b.p, &m, from_a), [r#"("x")"#, r#"("y")"#]);
    assert_eq!(show(&b.p, &m, tagged), [r#"("t", "x")"#, r#"("t", "y")"#]);
}

#[test]
fn repeated_variables() {
    let mut b = Build::default();
    let e = b.rel("e", &[Type::String, Type::String]);
    let self_loop = b.rel("self_loop", &[Type::String]);
    let sym = b.rel("sym", &[Type::String, Type::String]);
    b.facts(e, &[&["a", "a"], &["a", "b"], &["b", "a"], &["c", "c"]]);
    // self_loop(X) :- e(X, X).
    let r1 = b.rule(atom(self_loop, vec![v(0)]), vec![pos(e, vec![v(0), v(0)])]);
    // sym(X, Y) :- e(X, Y), e(Y, X).
    let r2 = b.rule(
        atom(sym, vec![v(0), v(1)]),
        vec![pos(e, vec![v(0), v(1)]), pos(e, vec![v(1), v(0)])],
    );
    b.stratum(&[self_loop, sym], &[r1, r2]);
    let m = model(&b.p);
    assert_eq!(show(&b.p, &m, self_loop), [r#"("a")"#, r#"("c")"#]);
    assert_eq!(m.get(sym).len(), 4);
}

#[test]
fn repeated_variable_in_a_recursive_delta() {
    let mut b = Build::default();
    let e = b.rel("e", &[Type::Int, Type::Int]);
    let reach = b.rel("reach", &[Type::Int, Type::Int]);
    let cyc = b.rel("cyc", &[Type::Int]);
    for (x, y) in [(1, 2), (2, 3), (3, 1), (4, 5)] {
        let (x, y) = (b.i(x), b.i(y));
        b.fact(e, vec![x, y]);
    }
    let r1 = b.rule(
        atom(reach, vec![v(0), v(1)]),
        vec![pos(e, vec![v(0), v(1)])],
    );
    let r2 = b.rule(
        atom(reach, vec![v(0), v(2)]),
        vec![pos(e, vec![v(0), v(1)]), pos(reach, vec![v(1), v(2)])],
    );
    // cyc(X) :- reach(X, X). (same stratum, reads the delta)
    let r3 = b.rule(atom(cyc, vec![v(0)]), vec![pos(reach, vec![v(0), v(0)])]);
    b.stratum(&[reach, cyc], &[r1, r2, r3]);
    let m = model(&b.p);
    assert_eq!(show(&b.p, &m, cyc), ["(1)", "(2)", "(3)"]);
}

#[test]
fn wildcards_in_positive_and_negated_atoms() {
    let mut b = Build::default();
    let p3 = b.rel("p3", &[Type::String, Type::Int, Type::String]);
    let q = b.rel("q", &[Type::String, Type::Int]);
    let firsts = b.rel("firsts", &[Type::String]);
    let lone = b.rel("lone", &[Type::String]);
    for (x, n, y) in [("a", 1, "u"), ("a", 2, "v"), ("b", 1, "u"), ("c", 3, "w")] {
        let vals = vec![b.s(x), b.i(n), b.s(y)];
        b.fact(p3, vals);
    }
    let vals = vec![b.s("a"), b.i(7)];
    b.fact(q, vals);
    // firsts(X) :- p3(X, _, _).
    let r1 = b.rule(atom(firsts, vec![v(0)]), vec![pos(p3, vec![v(0), W, W])]);
    b.stratum(&[firsts], &[r1]);
    // lone(X) :- firsts(X), not q(X, _).
    let r2 = b.rule(
        atom(lone, vec![v(0)]),
        vec![pos(firsts, vec![v(0)]), neg(q, vec![v(0), W])],
    );
    b.stratum(&[lone], &[r2]);
    let m = model(&b.p);
    assert_eq!(show(&b.p, &m, firsts), [r#"("a")"#, r#"("b")"#, r#"("c")"#]);
    assert_eq!(show(&b.p, &m, lone), [r#"("b")"#, r#"("c")"#]);
}

#[test]
fn negation_with_constants_and_repeated_variables() {
    let mut b = Build::default();
    let e = b.rel("e", &[Type::String, Type::String]);
    let n = b.rel("n", &[Type::String]);
    let out = b.rel("out", &[Type::String]);
    b.facts(e, &[&["a", "a"], &["b", "k"], &["c", "c"]]);
    b.facts(n, &[&["a"], &["b"], &["c"], &["d"]]);
    b.stratum(&[e, n], &[]);
    // out(X) :- n(X), not e(X, X), not e(X, "k").
    let k = b.cs("k");
    let r = b.rule(
        atom(out, vec![v(0)]),
        vec![
            pos(n, vec![v(0)]),
            neg(e, vec![v(0), v(0)]),
            neg(e, vec![v(0), k]),
        ],
    );
    b.stratum(&[out], &[r]);
    let m = model(&b.p);
    assert_eq!(show(&b.p, &m, out), [r#"("d")"#]);
}

#[test]
fn zero_arity_relations() {
    let mut b = Build::default();
    let e = b.rel("e", &[Type::String]);
    let some = b.rel("some", &[]);
    let none = b.rel("none", &[]);
    let gated = b.rel("gated", &[Type::String]);
    let empty_gate = b.rel("empty_gate", &[Type::String]);
    let missing = b.rel("missing", &[Type::String]);
    b.facts(e, &[&["a"], &["b"]]);
    // some() :- e(_).   none() :- missing(_).
    let r1 = b.rule(atom(some, vec![]), vec![pos(e, vec![W])]);
    let r2 = b.rule(atom(none, vec![]), vec![pos(missing, vec![W])]);
    b.stratum(&[some, none], &[r1, r2]);
    // gated(X) :- e(X), some().   empty_gate(X) :- e(X), not some().
    let r3 = b.rule(
        atom(gated, vec![v(0)]),
        vec![pos(e, vec![v(0)]), pos(some, vec![])],
    );
    let r4 = b.rule(
        atom(empty_gate, vec![v(0)]),
        vec![pos(e, vec![v(0)]), neg(some, vec![])],
    );
    b.stratum(&[gated, empty_gate], &[r3, r4]);
    let m = model(&b.p);
    assert_eq!(m.get(some).len(), 1);
    assert_eq!(m.get(none).len(), 0);
    assert_eq!(m.get(gated).len(), 2);
    assert_eq!(m.get(empty_gate).len(), 0);
}

#[test]
fn rules_with_only_constant_comparisons() {
    let mut b = Build::default();
    let yes = b.rel("yes", &[Type::String]);
    let no = b.rel("no", &[Type::String]);
    let (one, two, x) = (b.ci(1), b.ci(2), b.cs("x"));
    // yes("x") :- 1 < 2.   no("x") :- 2 < 1.
    let r1 = b.rule(atom(yes, vec![x]), vec![cmp(one, CmpOp::Lt, two)]);
    let r2 = b.rule(atom(no, vec![x]), vec![cmp(two, CmpOp::Lt, one)]);
    b.stratum(&[yes, no], &[r1, r2]);
    let m = model(&b.p);
    assert_eq!(show(&b.p, &m, yes), [r#"("x")"#]);
    assert!(m.get(no).is_empty());
}

#[test]
fn rule_heads_with_given_facts() {
    let (edge, path, mut b) = closure();
    // A given path tuple is kept and extended by the rules.
    let vals = vec![b.s("z"), b.s("a")];
    b.fact(path, vals);
    let m = model(&b.p);
    assert!(show(&b.p, &m, path).contains(&r#"("z", "d")"#.to_string()));
    assert_eq!(m.get(path).len(), 6 + 4);
    assert_eq!(m.get(edge).len(), 3);
}

#[test]
fn relations_outside_every_stratum_keep_their_input() {
    let mut b = Build::default();
    let e = b.rel("e", &[Type::String]);
    b.facts(e, &[&["a"], &["a"], &["b"]]);
    let m = model(&b.p);
    assert_eq!(m.get(e).len(), 2);
}

#[test]
fn cross_products_and_wide_heads() {
    let mut b = Build::default();
    let a = b.rel("a", &[Type::String]);
    let wide = b.rel("wide", &[Type::String; 6]);
    b.facts(a, &[&["x"], &["y"]]);
    let c = b.cs("c");
    // wide(A, B, C, "c", B, A) :- a(A), a(B), a(C).
    let r = b.rule(
        atom(wide, vec![v(0), v(1), v(2), c, v(1), v(0)]),
        vec![pos(a, vec![v(0)]), pos(a, vec![v(1)]), pos(a, vec![v(2)])],
    );
    b.stratum(&[wide], &[r]);
    let m = model(&b.p);
    assert_eq!(m.get(wide).len(), 8);
}

#[test]
fn relations_wider_than_inline_tuples() {
    let mut b = Build::default();
    let n = 20;
    let big = b.rel("big", &vec![Type::Int; n]);
    let copy = b.rel("copy", &vec![Type::Int; n]);
    for k in 0..3 {
        let vals = (0..n as i64).map(|i| b.i(i * k)).collect();
        b.fact(big, vals);
    }
    let vars: Vec<Term> = (0..n as u32).map(v).collect();
    let r1 = b.rule(atom(copy, vars.clone()), vec![pos(big, vars.clone())]);
    let r2 = b.rule(atom(copy, vars.clone()), vec![pos(copy, vars)]);
    b.stratum(&[copy], &[r1, r2]);
    let m = model(&b.p);
    assert_eq!(m.get(copy), m.get(big));
}

fn limits() -> Limits {
    Limits::default()
}

#[test]
fn fact_limit_is_an_error_in_both_engines() {
    let (_, _, b) = closure();
    for engine in [Engine::Datafrog, Engine::Naive] {
        let err = run(
            &b.p,
            engine,
            Limits {
                max_facts: 5,
                ..limits()
            },
        );
        assert!(
            matches!(&err, Err(EvalError::FactLimit { limit: 5, relation }) if relation == "path"),
            "{engine:?}: {err:?}"
        );
        // Exactly at the limit is fine: 3 edges + 6 paths.
        let ok = run(
            &b.p,
            engine,
            Limits {
                max_facts: 9,
                ..limits()
            },
        );
        assert!(ok.is_ok(), "{engine:?}: {ok:?}");
    }
}

#[test]
fn fact_limit_counts_given_facts() {
    let (_, _, b) = closure();
    for engine in [Engine::Datafrog, Engine::Naive] {
        let err = run(
            &b.p,
            engine,
            Limits {
                max_facts: 2,
                ..limits()
            },
        );
        assert!(
            matches!(err, Err(EvalError::FactLimit { limit: 2, .. })),
            "{engine:?}: {err:?}"
        );
    }
}

#[test]
fn fact_limit_stops_a_single_huge_round() {
    // cross(A, B, C) :- n(A), n(B), n(C). over 120 values: 1,728,000 tuples in one round.
    let mut b = Build::default();
    let n = b.rel("n", &[Type::Int]);
    let cross = b.rel("cross", &[Type::Int, Type::Int, Type::Int]);
    for i in 0..120 {
        let s = b.i(i);
        b.fact(n, vec![s]);
    }
    let r = b.rule(
        atom(cross, vec![v(0), v(1), v(2)]),
        vec![pos(n, vec![v(0)]), pos(n, vec![v(1)]), pos(n, vec![v(2)])],
    );
    b.stratum(&[cross], &[r]);
    let err = run(
        &b.p,
        Engine::Datafrog,
        Limits {
            max_facts: 1000,
            ..limits()
        },
    );
    assert!(
        matches!(&err, Err(EvalError::FactLimit { relation, .. }) if relation == "cross"),
        "{err:?}"
    );
}

#[test]
fn iteration_limit_is_an_error_in_both_engines() {
    let (_, _, b) = closure();
    for engine in [Engine::Datafrog, Engine::Naive] {
        let err = run(
            &b.p,
            engine,
            Limits {
                max_iterations: 2,
                ..limits()
            },
        );
        assert!(
            matches!(&err, Err(EvalError::IterationLimit { limit: 2, relation }) if relation == "path"),
            "{engine:?}: {err:?}"
        );
        let ok = run(
            &b.p,
            engine,
            Limits {
                max_iterations: 10,
                ..limits()
            },
        );
        assert!(ok.is_ok(), "{engine:?}: {ok:?}");
    }
}

#[test]
fn time_limit_is_an_error_in_both_engines() {
    let (_, _, b) = closure();
    for engine in [Engine::Datafrog, Engine::Naive] {
        let err = run(
            &b.p,
            engine,
            Limits {
                max_time: Duration::ZERO,
                ..limits()
            },
        );
        assert_eq!(
            err,
            Err(EvalError::TimeLimit {
                limit: Duration::ZERO
            }),
            "{engine:?}"
        );
    }
}

#[test]
fn limit_messages_name_the_limit_and_relation() {
    let e = EvalError::FactLimit {
        limit: 10,
        relation: "path".into(),
    };
    assert_eq!(
        e.to_string(),
        "evaluation stopped: more than 10 facts (while deriving `path`)"
    );
}

#[test]
fn a_stratum_that_runs_once_counts_given_and_derived_tuples_once() {
    // copy(X) :- n(X). over 10 values, with copy also given 5 of them and one more:
    // copy holds 11 tuples, n 10; 21 in all.
    let mut b = Build::default();
    let n = b.rel("n", &[Type::Int]);
    let copy = b.rel("copy", &[Type::Int]);
    for i in 0..10 {
        let s = b.i(i);
        b.fact(n, vec![s]);
    }
    for i in [0, 2, 4, 6, 8, 99] {
        let s = b.i(i);
        b.fact(copy, vec![s]);
    }
    let r = b.rule(atom(copy, vec![v(0)]), vec![pos(n, vec![v(0)])]);
    b.stratum(&[n], &[]);
    b.stratum(&[copy], &[r]);
    for engine in [Engine::Datafrog, Engine::Naive] {
        let model = match run(&b.p, engine, limits()) {
            Ok(m) => m,
            Err(e) => panic!("{engine:?}: {e}"),
        };
        assert_eq!(model.get(copy).len(), 11, "{engine:?}");
        let exact = run(
            &b.p,
            engine,
            Limits {
                max_facts: 21,
                ..limits()
            },
        );
        assert!(exact.is_ok(), "{engine:?}: {exact:?}");
        let over = run(
            &b.p,
            engine,
            Limits {
                max_facts: 20,
                ..limits()
            },
        );
        assert!(
            matches!(&over, Err(EvalError::FactLimit { limit: 20, relation }) if relation == "copy"),
            "{engine:?}: {over:?}"
        );
    }
}
