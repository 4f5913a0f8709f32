//! The checker on good programs: they check cleanly and lower to the expected IR shape (a
//! span-free text dump, snapshot-tested), plus goals, facts, data paths and a 10,000-rule
//! policy.

use std::fmt::Write as _;
use std::time::{Duration, Instant};
use ztpol::check::{lower_fact, lower_goal};
use ztpol::ir::{
    ActionPat, BodyLit, Cond, CondTerm, PrincipalMatch, Program, RelKind, Term, Value,
};
use ztpol::load::{compile_files, compile_str, Compiled};
use ztpol::source::{FileId, SourceFile};
use ztpol::syntax::parse_atom;

fn clean(name: &str, text: &str) -> Program {
    let c = compile_str(name, text);
    assert!(
        c.diagnostics.is_empty(),
        "{}",
        ztpol::render::render_human(&c.diagnostics, &c.sources)
    );
    c.program.expect("no errors, so a program")
}

fn codes(c: &Compiled) -> Vec<&'static str> {
    c.diagnostics.iter().map(|d| d.code).collect()
}

fn term(p: &Program, names: &[String], t: &Term) -> String {
    match t {
        Term::Var(v) => names[v.0 as usize].clone(),
        Term::Const(s) => p.interner.value(*s).to_string(),
        Term::Wildcard => "_".to_string(),
    }
}

fn atom(p: &Program, names: &[String], a: &ztpol::ir::Atom) -> String {
    let args: Vec<String> = a.args.iter().map(|t| term(p, names, t)).collect();
    format!("{}({})", p.relation(a.rel).name, args.join(", "))
}

fn cond_term(p: &Program, t: &CondTerm) -> String {
    match t {
        CondTerm::Attr(a, _) => a.dotted(),
        CondTerm::Bound(n, _) => format!("${n}"),
        CondTerm::Const(s, _) => p.interner.value(*s).to_string(),
        CondTerm::Wildcard(_) => "_".to_string(),
    }
}

fn cond(p: &Program, c: &Cond) -> String {
    let join = |cs: &[Cond], sep: &str| {
        let parts: Vec<String> = cs.iter().map(|c| cond(p, c)).collect();
        format!("({})", parts.join(sep))
    };
    match c {
        Cond::True => "true".into(),
        Cond::False => "false".into(),
        Cond::And(cs) => join(cs, " and "),
        Cond::Or(cs) => join(cs, " or "),
        Cond::Not(c) => format!("not {}", cond(p, c)),
        Cond::Cmp { lhs, op, rhs, .. } => {
            format!(
                "{} {} {}",
                cond_term(p, lhs),
                op.symbol(),
                cond_term(p, rhs)
            )
        }
        Cond::In { lhs, set, .. } => {
            let set: Vec<String> = set.iter().map(|t| cond_term(p, t)).collect();
            format!("{} in [{}]", cond_term(p, lhs), set.join(", "))
        }
        Cond::Lookup { rel, args, .. } => {
            let args: Vec<String> = args.iter().map(|t| cond_term(p, t)).collect();
            format!("{}({})", p.relation(*rel).name, args.join(", "))
        }
    }
}

/// The program as text, without spans: relations, facts, rules, strata, policies.
fn dump(p: &Program) -> String {
    let mut s = String::new();
    for r in &p.relations {
        let cols: Vec<String> = r
            .columns
            .iter()
            .map(|c| match &c.name {
                Some(n) => format!("{n}: {}", c.ty.name()),
                None => c.ty.name().to_string(),
            })
            .collect();
        let kind = match r.kind {
            RelKind::Declared => String::new(),
            RelKind::Policy(i) => format!("  // policy {i}"),
        };
        writeln!(s, "rel {}({}){kind}", r.name, cols.join(", ")).ok();
    }
    for f in &p.facts {
        let vals: Vec<String> = f
            .values
            .iter()
            .map(|v| p.interner.value(*v).to_string())
            .collect();
        writeln!(s, "{}({}).", p.relation(f.rel).name, vals.join(", ")).ok();
    }
    for r in &p.rules {
        let body: Vec<String> = r
            .body
            .iter()
            .map(|l| match l {
                BodyLit::Pos(a) => atom(p, &r.var_names, a),
                BodyLit::Neg(a) => format!("not {}", atom(p, &r.var_names, a)),
                BodyLit::Cmp { lhs, op, rhs, .. } => format!(
                    "{} {} {}",
                    term(p, &r.var_names, lhs),
                    op.symbol(),
                    term(p, &r.var_names, rhs)
                ),
            })
            .collect();
        writeln!(
            s,
            "{} :- {}.",
            atom(p, &r.var_names, &r.head),
            body.join(", ")
        )
        .ok();
    }
    for (i, st) in p.strata.iter().enumerate() {
        let rels: Vec<&str> = st
            .relations
            .iter()
            .map(|r| p.relation(*r).name.as_str())
            .collect();
        let rec = if st.recursive { " (recursive)" } else { "" };
        writeln!(
            s,
            "stratum {i}: {}{rec}, {} rules",
            rels.join(" "),
            st.rules.len()
        )
        .ok();
    }
    for pol in &p.policies {
        let principal = match &pol.principal {
            PrincipalMatch::Request => "request".to_string(),
            PrincipalMatch::Chain { ty: None } => "chain".to_string(),
            PrincipalMatch::Chain { ty: Some(t) } => format!("chain of type {t}"),
        };
        let actions: Vec<String> = pol
            .actions
            .iter()
            .map(|a| match a {
                ActionPat::Exact(n) => n.clone(),
                ActionPat::Family(f) => format!("{f}.*"),
                ActionPat::Any => "*".to_string(),
            })
            .collect();
        writeln!(
            s,
            "{:?} {}{} [{principal}] to {} on [{}] over {}({}) when {}",
            pol.effect,
            pol.id,
            if pol.explicit_id { " (explicit)" } else { "" },
            actions.join(", "),
            pol.resources.join(", "),
            p.relation(pol.rel).name,
            pol.columns.join(", "),
            cond(p, &pol.cond)
        )
        .ok();
    }
    s
}

/// Every rule reads only relations of earlier strata or, positively, of its own.
fn assert_strata_valid(p: &Program) {
    let mut stratum_of = vec![None; p.relations.len()];
    for (i, st) in p.strata.iter().enumerate() {
        for r in &st.relations {
            stratum_of[r.index()] = Some(i);
        }
        for rule in &st.rules {
            assert!(st.relations.contains(&p.rule(*rule).head.rel));
        }
    }
    let in_strata: usize = p.strata.iter().map(|s| s.rules.len()).sum();
    assert_eq!(
        in_strata,
        p.rules.len(),
        "every rule is in exactly one stratum"
    );
    for rule in &p.rules {
        let head = stratum_of[rule.head.rel.index()].expect("a head has a stratum");
        for lit in &rule.body {
            match lit {
                BodyLit::Pos(a) => {
                    assert!(stratum_of[a.rel.index()].is_none_or(|s| s <= head))
                }
                BodyLit::Neg(a) => assert!(stratum_of[a.rel.index()].is_none_or(|s| s < head)),
                BodyLit::Cmp { .. } => {}
            }
        }
    }
}

const CORE: &str = r#"
rel edge(src: string, dst: string)
rel weight(string, int)
rel path(src: string, dst: string)
rel node(n: string)
rel lonely(n: string)
rel up(src: string, dst: string)
rel light(n: string)
edge("a", "b").
edge("b", "c").
node("d").
weight("a", 049).
path(X, Y) :- edge(X, Y).
path(X, Z) :- path(X, Y), edge(Y, Z).
lonely(N) :- node(N), not edge(N, _).
up(X, Y) :- edge(X, Y), X < Y.
light(X) :- weight(X, W), W <= 50, not lonely(X).
"#;

const POLICY: &str = r#"
use std::roles;
rel dept(principal: string, dept: string)
rel suspended(principal: string)
member("user:alice", "tier1").
inherits("tier2", "tier1").

@id("tier1-refund")
permit role "tier1" to orders.refund on order
  when resource.region == "US" and action.amount <= 200;
permit role "tier2" to orders.refund, orders.read on order
  when resource.region in ["US", "EU"] and action.amount <= 1000;
permit agent "support-bot" to orders.read, orders.refund, email.send;
permit user U to records.view on record when resource.dept == D if dept(U, D);
forbid to shell.exec;
forbid to email.send when context.session.tainted == true;
forbid principal P to * if suspended(P);
permit role "admin" to orders.*;
"#;

#[test]
fn core_example_lowers() {
    let p = clean("core.ztp", CORE);
    assert_strata_valid(&p);
    insta::assert_snapshot!(dump(&p));
}

#[test]
fn policy_example_lowers() {
    let p = clean("policy.ztp", POLICY);
    assert_strata_valid(&p);
    insta::assert_snapshot!(dump(&p));
}

#[test]
fn stdlib_modules_check_cleanly() {
    for (name, _) in ztpol::stdlib::MODULES {
        let p = clean("use.ztp", &format!("use std::{name};"));
        assert_strata_valid(&p);
        assert!(
            p.strata.iter().any(|s| s.recursive),
            "std::{name} is recursive"
        );
    }
}

#[test]
fn support_desk_example_checks_cleanly() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/support-desk");
    let c =
        ztpol::load::compile_paths(std::slice::from_ref(&dir)).expect("the example is readable");
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    let p = c.program.expect("no errors");
    assert_eq!(p.data_files, [dir.join("data.json")]);
    assert!(p.policies.iter().all(|pol| pol.explicit_id));
}

#[test]
fn derived_ids_are_file_stem_and_line() {
    let p = clean(
        "dir/desk.ztp",
        "rel x(a: string)\nx(\"a\").\n\nforbid to a.b if x(\"a\");\npermit agent \"b\" to c;\n",
    );
    let ids: Vec<&str> = p.policies.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["desk:4", "desk:5"]);
}

#[test]
fn data_paths_resolve_against_their_file() {
    let c = compile_files(vec![SourceFile::new(
        "p/policy.ztp",
        Some("p/policy.ztp".into()),
        "data \"users.json\";\ndata \"../shared/roles.json\";\n",
    )]);
    let p = c.program.expect("no errors");
    let paths: Vec<String> = p
        .data_files
        .iter()
        .map(|d| d.display().to_string())
        .collect();
    assert_eq!(paths, ["p/users.json", "p/../shared/roles.json"]);
}

#[test]
fn goals_lower_against_the_program() {
    let mut p = clean("core.ztp", CORE);
    let atom = parse_atom(FileId(0), "path(\"a\", X)").expect("a goal");
    let goal = lower_goal(&mut p, &atom).expect("a valid goal");
    assert_eq!(p.relation(goal.rel).name, "path");
    assert_eq!(goal.var_names, ["X"]);
    let Term::Const(a) = goal.args[0] else {
        panic!("a constant: {:?}", goal.args)
    };
    assert_eq!(p.interner.value(a), &Value::Str("a".into()));
    assert!(matches!(goal.args[1], Term::Var(_)));

    // a constant the program never mentions is interned
    let atom = parse_atom(FileId(0), "edge(\"zz\", _)").expect("a goal");
    let goal = lower_goal(&mut p, &atom).expect("a valid goal");
    assert_eq!(goal.args[1], Term::Wildcard);
    assert!(p.interner.lookup(&Value::Str("zz".into())).is_some());

    for (text, code) in [
        ("paht(X, Y)", "ztpol::check::unknown-relation"),
        ("path(X)", "ztpol::check::arity-mismatch"),
        ("path(1, X)", "ztpol::check::type-mismatch"),
        ("weight(X, X)", "ztpol::check::type-mismatch"),
    ] {
        let atom = parse_atom(FileId(0), text).expect("parses");
        let err = lower_goal(&mut p, &atom).expect_err(text);
        assert_eq!(err[0].code, code, "{text}");
    }
    let atom = parse_atom(FileId(0), "paht(X, Y)").expect("parses");
    let err = lower_goal(&mut p, &atom).expect_err("unknown");
    assert_eq!(err[0].help.as_deref(), Some("did you mean `path`?"));
}

#[test]
fn facts_lower_against_the_program() {
    let mut p = clean("core.ztp", CORE);
    let atom = parse_atom(FileId(0), "edge(\"x\", \"y\")").expect("a fact");
    let fact = lower_fact(&mut p, &atom).expect("a valid fact");
    assert_eq!(p.relation(fact.rel).name, "edge");
    assert_eq!(fact.values.len(), 2);
    let atom = parse_atom(FileId(0), "edge(\"x\", Y)").expect("parses");
    let err = lower_fact(&mut p, &atom).expect_err("not ground");
    assert_eq!(err[0].code, "ztpol::check::non-ground-fact");
}

#[test]
fn policy_relations_are_not_goals() {
    let mut p = clean("policy.ztp", POLICY);
    assert!(p.relations.iter().any(|r| r.name.starts_with("$policy:")));
    let atom = parse_atom(FileId(0), "has_role(P, R)").expect("parses");
    assert!(lower_goal(&mut p, &atom).is_ok());
}

#[test]
fn long_negation_cycle_is_named() {
    let c = compile_str(
        "cycle.ztp",
        "rel d(x: string)\nrel a(x: string)\nrel b(x: string)\nrel c(x: string)\nd(\"x\").\n\
         a(X) :- d(X), not c(X).\nb(X) :- a(X).\nc(X) :- b(X).\n",
    );
    assert_eq!(codes(&c), ["ztpol::check::negation-cycle"]);
    assert_eq!(
        c.diagnostics[0].message,
        "negation through recursion: `a` -> `c` -> `b` -> `a`"
    );
    assert_eq!(c.diagnostics[0].labels.len(), 3);
}

#[test]
fn warnings_do_not_block() {
    let c = compile_str(
        "w.ztp",
        "rel a(x: string)\nrel b(x: string)\nb(X) :- a(X), X != X.\n",
    );
    assert_eq!(codes(&c), ["ztpol::check::dead-rule"]);
    assert!(c.program.is_some());
}

/// A policy of `n` rules over `n / 10` relations (joins, recursion, negation of earlier
/// relations, comparisons, and policy statements).
fn generate(n: usize) -> String {
    let rels = (n / 10).max(2);
    let mut s = String::from(
        "use std::roles;\nrel edge(src: string, dst: string)\nrel level(name: string, n: int)\n",
    );
    for r in 0..rels {
        s.push_str(&format!("rel r{r}(a: string, b: string)\n"));
    }
    s.push_str("edge(\"a\", \"b\").\nlevel(\"a\", 3).\n");
    for i in 0..n {
        let r = i % rels;
        match i % 5 {
            0 => s.push_str(&format!("r{r}(X, Y) :- edge(X, Y).\n")),
            1 => s.push_str(&format!("r{r}(X, Z) :- r{r}(X, Y), edge(Y, Z).\n")),
            2 if r > 0 => s.push_str(&format!(
                "r{r}(X, Y) :- r{}(X, Y), not r{}(Y, X).\n",
                r - 1,
                r - 1
            )),
            3 => s.push_str(&format!(
                "r{r}(X, Y) :- edge(X, Y), level(X, N), N > {}.\n",
                i % 7
            )),
            _ => s.push_str(&format!(
                "@id(\"p{i}\")\npermit role \"role{r}\" to svc{r}.act{i} on kind{r} when action.amount <= {i} and resource.region in [\"US\", \"EU\"] if r{r}(\"a\", B);\n"
            )),
        }
    }
    s
}

#[test]
fn ten_thousand_rules_check_quickly() {
    let text = generate(10_000);
    let parsed = {
        let mut sources = ztpol::source::SourceMap::new();
        let file = sources.add(SourceFile::new("gen.ztp", None, text.clone()));
        let (module, diags) = ztpol::syntax::parse_module(file, &text);
        assert!(diags.is_empty());
        let std = sources.add(SourceFile::new(
            "<std>/roles.ztp",
            None,
            ztpol::stdlib::module("roles").expect("std::roles exists"),
        ));
        let (roles, _) = ztpol::syntax::parse_module(
            std,
            ztpol::stdlib::module("roles").expect("std::roles exists"),
        );
        (sources, vec![module, roles])
    };
    let start = Instant::now();
    let out = ztpol::check::check(parsed.0, &parsed.1);
    let elapsed = start.elapsed();
    eprintln!("check of 10,000 rules: {elapsed:?}");
    assert!(
        !out.diagnostics.iter().any(|d| d.is_error()),
        "{:?}",
        out.diagnostics.first()
    );
    let p = out.program.expect("no errors");
    assert_strata_valid(&p);
    assert_eq!(p.policies.len(), 2_000);
    // Generous for unoptimised builds on a shared machine; release is far below 1 s.
    assert!(elapsed < Duration::from_secs(5), "check took {elapsed:?}");
}

mod random {
    //! Random core programs: checking never panics, and a program that checks has valid
    //! strata and range-restricted rules.

    use super::assert_strata_valid;
    use proptest::prelude::*;
    use ztpol::ir::{BodyLit, Program, Term};

    const TYPES: [&str; 3] = ["string", "int", "bool"];

    fn value(ty: usize, k: u8) -> String {
        match ty {
            0 => format!("\"v{}\"", k % 3),
            1 => format!("{}", k % 3),
            _ => if k.is_multiple_of(2) { "true" } else { "false" }.to_string(),
        }
    }

    /// A program as text: relations of one or two columns (of one type in most programs),
    /// facts, and rules whose first body literal is a positive atom of variables `X, Y`.
    fn program() -> impl Strategy<Value = String> {
        let rels = prop::collection::vec(prop::collection::vec(0usize..3, 1..3), 2..5);
        let lits =
            prop::collection::vec((0u8..4, 0usize..5, prop::collection::vec(0u8..8, 3)), 0..3);
        let rules = prop::collection::vec(
            (0usize..5, 0usize..5, prop::collection::vec(0u8..3, 3), lits),
            0..8,
        );
        let facts = prop::collection::vec((0usize..5, prop::collection::vec(0u8..8, 3)), 0..6);
        let uniform = prop::option::weighted(0.75, 0usize..3);
        (rels, rules, facts, uniform).prop_map(|(mut rels, rules, facts, uniform)| {
            if let Some(ty) = uniform {
                rels.iter_mut().flatten().for_each(|t| *t = ty);
            }
            let mut s = String::new();
            for (i, cols) in rels.iter().enumerate() {
                let cols: Vec<&str> = cols.iter().map(|&t| TYPES[t]).collect();
                s.push_str(&format!("rel r{i}({})\n", cols.join(", ")));
            }
            let term = |k: u8, ty: usize| match k {
                0..=2 => ["X", "Y", "Z"][k as usize].to_string(),
                3 => "_".to_string(),
                _ => value(ty, k),
            };
            let atom = |r: usize, ks: &[u8]| {
                let r = r % rels.len();
                let args: Vec<String> = rels[r]
                    .iter()
                    .zip(ks)
                    .map(|(&ty, &k)| term(k, ty))
                    .collect();
                format!("r{r}({})", args.join(", "))
            };
            for (r, ks) in facts {
                let r = r % rels.len();
                let args: Vec<String> = rels[r]
                    .iter()
                    .zip(&ks)
                    .map(|(&ty, &k)| value(ty, k))
                    .collect();
                s.push_str(&format!("r{r}({}).\n", args.join(", ")));
            }
            for (head, first, hks, body) in rules {
                let mut lits = vec![atom(first, &[0, 1])];
                lits.extend(body.iter().map(|(kind, r, ks)| match kind {
                    0 | 1 => atom(*r, ks),
                    2 => format!("not {}", atom(*r, ks)),
                    _ => {
                        let ty = rels[first % rels.len()][0];
                        let rhs = if ks[1] == 3 { 6 } else { ks[1] };
                        format!("X {} {}", ["<", "!="][ks[2] as usize % 2], term(rhs, ty))
                    }
                }));
                // head arguments: `X`, `Y` or a constant
                let hks: Vec<u8> = hks.iter().map(|&k| if k == 2 { 5 } else { k }).collect();
                s.push_str(&format!("{} :- {}.\n", atom(head, &hks), lits.join(", ")));
            }
            s
        })
    }

    fn assert_range_restricted(p: &Program) {
        for rule in &p.rules {
            let mut bound = vec![false; rule.var_names.len()];
            for lit in &rule.body {
                if let BodyLit::Pos(a) = lit {
                    for t in &a.args {
                        if let Term::Var(v) = t {
                            bound[v.0 as usize] = true;
                        }
                    }
                }
            }
            let check = |t: &Term| match t {
                Term::Var(v) => assert!(bound[v.0 as usize], "unbound variable in {rule:?}"),
                Term::Const(_) => {}
                Term::Wildcard => {}
            };
            rule.head.args.iter().for_each(check);
            assert!(!rule.head.args.contains(&Term::Wildcard));
            for lit in &rule.body {
                match lit {
                    BodyLit::Pos(_) => {}
                    BodyLit::Neg(a) => a.args.iter().for_each(check),
                    BodyLit::Cmp { lhs, rhs, .. } => {
                        check(lhs);
                        check(rhs);
                    }
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn checking_random_programs(text in program()) {
            let c = ztpol::load::compile_str("random.ztp", &text);
            prop_assert_eq!(c.program.is_some(), !c.has_errors());
            if let Some(p) = &c.program {
                assert_strata_valid(p);
                assert_range_restricted(p);
            }
            // every diagnostic renders
            let _ = ztpol::render::render_human(&c.diagnostics, &c.sources);
        }
    }
}

#[test]
fn principal_variable_in_the_condition_is_column_zero() {
    let p = clean(
        "own.ztp",
        "rel staff(p: string, team: string)\n\
         permit user U to records.edit when resource.owner == U and resource.team == T if staff(U, T);\n",
    );
    let pol = &p.policies[0];
    assert_eq!(pol.columns, ["principal", "T"]);
    assert_eq!(
        cond(&p, &pol.cond),
        "(resource.owner == $0 and resource.team == $1)"
    );
}
