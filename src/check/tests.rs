//! Unit tests over hand-built ASTs (the text-based tests live in `tests/check.rs` and
//! `tests/ui/`).

use super::{check, CheckOutput};
use crate::ir::{
    self, ActionPat, AttrRoot, BodyLit, Cond, CondTerm, PrincipalMatch, RelKind, Term, Value,
};
use crate::source::{FileId, SourceFile, SourceMap, Span};
use crate::syntax::ast::{self, CmpOp, Type};

fn sp() -> Span {
    Span::new(FileId(0), 0, 0)
}

fn ident(name: &str) -> ast::Ident {
    ast::Ident {
        name: name.to_string(),
        span: sp(),
    }
}

fn rel(name: &str, cols: &[Type]) -> ast::Item {
    ast::Item::Rel(ast::RelDecl {
        name: ident(name),
        columns: cols
            .iter()
            .map(|&ty| ast::Column {
                name: None,
                ty,
                ty_span: sp(),
                span: sp(),
            })
            .collect(),
        span: sp(),
    })
}

fn v(name: &str) -> ast::Term {
    if name == "_" {
        ast::Term::Wildcard(sp())
    } else {
        ast::Term::Var(ident(name))
    }
}

fn c(value: ast::ConstValue) -> ast::Const {
    ast::Const { value, span: sp() }
}

fn s(text: &str) -> ast::Term {
    ast::Term::Const(c(ast::ConstValue::Str(text.to_string())))
}

fn int(i: i64) -> ast::Term {
    ast::Term::Const(c(ast::ConstValue::Int(i)))
}

fn atom(name: &str, args: Vec<ast::Term>) -> ast::Atom {
    ast::Atom {
        rel: ident(name),
        args,
        span: sp(),
    }
}

fn fact(name: &str, args: Vec<ast::Term>) -> ast::Item {
    ast::Item::Fact(atom(name, args))
}

fn pos(a: ast::Atom) -> ast::Literal {
    ast::Literal::Pos(a)
}

fn neg(a: ast::Atom) -> ast::Literal {
    ast::Literal::Neg(a, sp())
}

fn cmp(lhs: ast::Term, op: CmpOp, rhs: ast::Term) -> ast::Literal {
    ast::Literal::Cmp(ast::Comparison {
        lhs,
        op,
        rhs,
        span: sp(),
    })
}

fn rule(head: ast::Atom, body: Vec<ast::Literal>) -> ast::Item {
    ast::Item::Rule(ast::Rule {
        head,
        body,
        span: sp(),
    })
}

fn run(items: Vec<ast::Item>) -> CheckOutput {
    let mut sources = SourceMap::new();
    let file = sources.add(SourceFile::new("test.ztp", None, "\n".repeat(10)));
    check(sources, &[ast::Module { file, items }])
}

fn codes(out: &CheckOutput) -> Vec<&'static str> {
    out.diagnostics.iter().map(|d| d.code).collect()
}

fn edge_path() -> Vec<ast::Item> {
    vec![
        rel("edge", &[Type::String, Type::String]),
        rel("path", &[Type::String, Type::String]),
        fact("edge", vec![s("a"), s("b")]),
        rule(
            atom("path", vec![v("X"), v("Y")]),
            vec![pos(atom("edge", vec![v("X"), v("Y")]))],
        ),
        rule(
            atom("path", vec![v("X"), v("Z")]),
            vec![
                pos(atom("path", vec![v("X"), v("Y")])),
                pos(atom("edge", vec![v("Y"), v("Z")])),
            ],
        ),
    ]
}

#[test]
fn transitive_closure_lowers() {
    let out = run(edge_path());
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let p = out.program.expect("no errors, so a program");
    assert_eq!(p.relations.len(), 2);
    assert_eq!(p.facts.len(), 1);
    assert_eq!(p.rules.len(), 2);
    assert_eq!(p.rules[1].var_names, ["X", "Z", "Y"]);
    assert_eq!(
        p.rules[1].head.args,
        [Term::Var(ir::Var(0)), Term::Var(ir::Var(1))]
    );
    assert_eq!(p.strata.len(), 1);
    assert!(p.strata[0].recursive);
    assert_eq!(p.strata[0].rules.len(), 2);
    let a = p.facts[0].values[0];
    assert_eq!(p.interner.value(a), &Value::Str("a".into()));
}

#[test]
fn strata_come_in_dependency_order() {
    let mut items = edge_path();
    items.push(rel("node", &[Type::String]));
    items.push(rel("lonely", &[Type::String]));
    items.push(rule(
        atom("node", vec![v("X")]),
        vec![pos(atom("edge", vec![v("X"), v("_")]))],
    ));
    items.push(rule(
        atom("lonely", vec![v("X")]),
        vec![
            pos(atom("node", vec![v("X")])),
            neg(atom("path", vec![v("X"), v("X")])),
        ],
    ));
    let out = run(items);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let p = out.program.expect("no errors");
    let order: Vec<&str> = p
        .strata
        .iter()
        .flat_map(|s| s.relations.iter().map(|r| p.relation(*r).name.as_str()))
        .collect();
    let at = |n: &str| {
        order
            .iter()
            .position(|x| *x == n)
            .expect("relation has a stratum")
    };
    assert!(at("path") < at("lonely"));
    assert!(at("node") < at("lonely"));
    assert!(
        !order.contains(&"edge"),
        "relations without rules have no stratum"
    );
}

#[test]
fn negation_cycle_names_the_cycle() {
    let items = vec![
        rel("d", &[Type::String]),
        rel("a", &[Type::String]),
        rel("b", &[Type::String]),
        fact("d", vec![s("x")]),
        rule(
            atom("a", vec![v("X")]),
            vec![pos(atom("d", vec![v("X")])), neg(atom("b", vec![v("X")]))],
        ),
        rule(atom("b", vec![v("X")]), vec![pos(atom("a", vec![v("X")]))]),
    ];
    let out = run(items);
    assert!(out.program.is_none());
    assert_eq!(codes(&out), ["ztpol::check::negation-cycle"]);
    assert_eq!(
        out.diagnostics[0].message,
        "negation through recursion: `a` -> `b` -> `a`"
    );
    assert_eq!(out.diagnostics[0].labels.len(), 2);
}

#[test]
fn self_negation_is_a_cycle() {
    let items = vec![
        rel("d", &[Type::String]),
        rel("p", &[Type::String]),
        rule(
            atom("p", vec![v("X")]),
            vec![pos(atom("d", vec![v("X")])), neg(atom("p", vec![v("X")]))],
        ),
    ];
    let out = run(items);
    assert_eq!(
        out.diagnostics[0].message,
        "negation through recursion: `p` -> `p`"
    );
}

#[test]
fn unknown_relation_suggests() {
    let items = vec![
        rel("member", &[Type::String, Type::String]),
        fact("memebr", vec![s("a"), s("b")]),
        fact("member", vec![s("a"), s("b")]),
    ];
    let out = run(items);
    assert_eq!(codes(&out), ["ztpol::check::unknown-relation"]);
    assert_eq!(out.diagnostics[0].message, "unknown relation `memebr`");
    assert_eq!(
        out.diagnostics[0].help.as_deref(),
        Some("did you mean `member`?")
    );
}

#[test]
fn every_problem_is_reported() {
    let items = vec![
        rel("p", &[Type::String]),
        rel("p", &[Type::String]),
        fact("p", vec![s("a"), s("b")]),
        fact("p", vec![int(3)]),
        fact("q", vec![s("a")]),
        rule(atom("p", vec![v("Y")]), vec![pos(atom("p", vec![v("X")]))]),
    ];
    let out = run(items);
    let mut got = codes(&out);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "ztpol::check::arity-mismatch",
            "ztpol::check::duplicate-relation",
            "ztpol::check::type-mismatch",
            "ztpol::check::unbound-variable",
            "ztpol::check::unknown-relation",
        ]
    );
}

#[test]
fn variable_type_conflict_points_at_both_uses() {
    let items = vec![
        rel("s", &[Type::String]),
        rel("n", &[Type::Int]),
        rel("both", &[Type::String]),
        fact("s", vec![s("a")]),
        fact("n", vec![int(1)]),
        rule(
            atom("both", vec![v("X")]),
            vec![pos(atom("s", vec![v("X")])), pos(atom("n", vec![v("X")]))],
        ),
    ];
    let out = run(items);
    assert_eq!(codes(&out), ["ztpol::check::type-mismatch"]);
    assert_eq!(
        out.diagnostics[0].message,
        "variable `X` is used as `string` and as `int`"
    );
    assert_eq!(out.diagnostics[0].labels.len(), 2);
}

#[test]
fn comparison_types_must_agree() {
    let items = vec![
        rel("s", &[Type::String]),
        rel("t", &[Type::String]),
        fact("s", vec![s("a")]),
        rule(
            atom("t", vec![v("X")]),
            vec![pos(atom("s", vec![v("X")])), cmp(v("X"), CmpOp::Lt, int(3))],
        ),
    ];
    let out = run(items);
    assert_eq!(
        out.diagnostics[0].message,
        "cannot compare `string` with `int`"
    );
}

#[test]
fn range_restriction() {
    let items = vec![
        rel("s", &[Type::String]),
        rel("t", &[Type::String, Type::String]),
        fact("s", vec![s("a")]),
        // Y only in the head; Z only negated; W only compared; `_` in the head.
        rule(
            atom("t", vec![v("X"), v("Y")]),
            vec![pos(atom("s", vec![v("X")]))],
        ),
        rule(
            atom("t", vec![v("X"), v("X")]),
            vec![pos(atom("s", vec![v("X")])), neg(atom("s", vec![v("Z")]))],
        ),
        rule(
            atom("t", vec![v("X"), v("X")]),
            vec![pos(atom("s", vec![v("X")])), cmp(v("W"), CmpOp::Ne, v("X"))],
        ),
        rule(
            atom("t", vec![v("X"), v("_")]),
            vec![pos(atom("s", vec![v("X")]))],
        ),
    ];
    let out = run(items);
    let got = codes(&out);
    assert_eq!(
        got.iter()
            .filter(|c| **c == "ztpol::check::unbound-variable")
            .count(),
        3
    );
    assert!(got.contains(&"ztpol::check::wildcard-in-head"));
    for name in ["`Y`", "`Z`", "`W`"] {
        assert!(
            out.diagnostics.iter().any(|d| d.message.contains(name)),
            "{name}"
        );
    }
}

#[test]
fn facts_hold_constants_only() {
    let items = vec![rel("s", &[Type::String]), fact("s", vec![v("X")])];
    assert_eq!(codes(&run(items)), ["ztpol::check::non-ground-fact"]);
}

#[test]
fn dead_rules_are_warned_transitively() {
    let items = vec![
        rel("s", &[Type::String]),
        rel("a", &[Type::String]),
        rel("b", &[Type::String]),
        rel("c", &[Type::String]),
        fact("s", vec![s("x")]),
        rule(
            atom("a", vec![v("X")]),
            vec![pos(atom("s", vec![v("X")])), cmp(v("X"), CmpOp::Ne, v("X"))],
        ),
        rule(atom("b", vec![v("X")]), vec![pos(atom("a", vec![v("X")]))]),
        rule(
            atom("c", vec![v("X")]),
            vec![pos(atom("b", vec![v("X")])), pos(atom("s", vec![v("X")]))],
        ),
        rule(
            atom("c", vec![v("X")]),
            vec![pos(atom("s", vec![v("X")])), neg(atom("s", vec![v("X")]))],
        ),
        rule(
            atom("c", vec![v("X")]),
            vec![pos(atom("s", vec![v("X")])), cmp(int(1), CmpOp::Gt, int(2))],
        ),
        // s has no rules, so a read of it is never assumed empty
        rule(
            atom("c", vec![v("X")]),
            vec![pos(atom("s", vec![v("X")])), cmp(int(2), CmpOp::Gt, int(1))],
        ),
    ];
    let out = run(items);
    assert!(out.program.is_some(), "warnings do not block");
    assert_eq!(
        codes(&out)
            .iter()
            .filter(|c| **c == "ztpol::check::dead-rule")
            .count(),
        5
    );
}

#[test]
fn unused_relation_is_warned_outside_the_stdlib() {
    let mut sources = SourceMap::new();
    let user = sources.add(SourceFile::new("a.ztp", None, ""));
    let std = sources.add(SourceFile::new("<std>/x.ztp", None, ""));
    let mut std_rel = rel("quiet", &[Type::String]);
    if let ast::Item::Rel(r) = &mut std_rel {
        r.name.span.file = std;
    }
    let out = check(
        sources,
        &[
            ast::Module {
                file: user,
                items: vec![rel("lonely", &[Type::Int])],
            },
            ast::Module {
                file: std,
                items: vec![std_rel],
            },
        ],
    );
    assert_eq!(codes(&out), ["ztpol::check::unused-relation"]);
    assert!(out.diagnostics[0].message.contains("`lonely`"));
}

fn stmt(effect: ast::Effect, principal: Option<ast::PrincipalSel>) -> ast::PolicyStmt {
    ast::PolicyStmt {
        effect,
        effect_span: sp(),
        id: None,
        principal,
        actions: vec![ast::ActionPat::Exact {
            name: "orders.refund".into(),
            span: sp(),
        }],
        resources: vec![ident("order")],
        when: None,
        guard: Vec::new(),
        span: sp(),
    }
}

fn roles() -> Vec<ast::Item> {
    vec![
        rel("member", &[Type::String, Type::String]),
        rel("has_role", &[Type::String, Type::String]),
        rule(
            atom("has_role", vec![v("P"), v("R")]),
            vec![pos(atom("member", vec![v("P"), v("R")]))],
        ),
    ]
}

fn attr(root: &str, field: &str) -> ast::Operand {
    ast::Operand::Attr(ast::AttrPath {
        root: ident(root),
        fields: vec![ident(field)],
        span: sp(),
    })
}

#[test]
fn role_statement_lowers_to_a_has_role_rule() {
    let mut items = roles();
    let mut st = stmt(
        ast::Effect::Permit,
        Some(ast::PrincipalSel::Role {
            role: c(ast::ConstValue::Str("tier1".into())),
            span: sp(),
        }),
    );
    st.id = Some(("tier1-refund".into(), sp()));
    st.when = Some(ast::Cond::Cmp {
        lhs: attr("action", "amount"),
        op: CmpOp::Le,
        rhs: ast::Operand::Const(c(ast::ConstValue::Int(200))),
        span: sp(),
    });
    items.push(ast::Item::Policy(st));
    let out = run(items);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let p = out.program.expect("no errors");
    let pol = &p.policies[0];
    assert_eq!(pol.id, "tier1-refund");
    assert!(pol.explicit_id);
    assert_eq!(pol.principal, PrincipalMatch::Chain { ty: None });
    assert_eq!(pol.actions, [ActionPat::Exact("orders.refund".into())]);
    assert_eq!(pol.resources, ["order"]);
    assert_eq!(pol.columns, ["principal"]);
    let r = p.relation(pol.rel);
    assert_eq!(r.name, "$policy:tier1-refund");
    assert_eq!(r.kind, RelKind::Policy(0));
    let rule = p
        .rules
        .iter()
        .find(|r| r.head.rel == pol.rel)
        .expect("instance rule");
    assert_eq!(rule.body.len(), 1);
    let BodyLit::Pos(has_role) = &rule.body[0] else {
        panic!("has_role atom first")
    };
    assert_eq!(p.relation(has_role.rel).name, "has_role");
    let Cond::Cmp {
        lhs: CondTerm::Attr(a, _),
        op: CmpOp::Le,
        ..
    } = &pol.cond
    else {
        panic!("a comparison: {:?}", pol.cond)
    };
    assert_eq!(a.root, AttrRoot::Action);
    assert_eq!(a.path, ["amount"]);
}

#[test]
fn var_statement_binds_condition_columns() {
    let mut items = vec![rel("dept", &[Type::String, Type::String])];
    let mut st = stmt(
        ast::Effect::Permit,
        Some(ast::PrincipalSel::Var {
            ty: ident("user"),
            var: ident("U"),
            span: sp(),
        }),
    );
    st.guard = vec![pos(atom("dept", vec![v("U"), v("D")]))];
    st.when = Some(ast::Cond::Cmp {
        lhs: attr("resource", "dept"),
        op: CmpOp::Eq,
        rhs: ast::Operand::Var(ident("D")),
        span: sp(),
    });
    items.push(ast::Item::Policy(st));
    let out = run(items);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let p = out.program.expect("no errors");
    let pol = &p.policies[0];
    assert_eq!(pol.id, "test:1");
    assert_eq!(pol.columns, ["principal", "D"]);
    assert_eq!(
        pol.principal,
        PrincipalMatch::Chain {
            ty: Some("user".into())
        }
    );
    let Cond::Cmp {
        rhs: CondTerm::Bound(1, _),
        ..
    } = &pol.cond
    else {
        panic!("D is column 1: {:?}", pol.cond)
    };
}

#[test]
fn named_and_request_statements_are_facts() {
    let mut named = stmt(
        ast::Effect::Permit,
        Some(ast::PrincipalSel::Named {
            ty: ident("agent"),
            id: c(ast::ConstValue::Str("support-bot".into())),
            span: sp(),
        }),
    );
    named.id = Some(("bot".into(), sp()));
    let mut forbid = stmt(ast::Effect::Forbid, None);
    forbid.id = Some(("no-refunds".into(), sp()));
    let out = run(vec![ast::Item::Policy(named), ast::Item::Policy(forbid)]);
    assert!(out.diagnostics.is_empty(), "{:?}", out.diagnostics);
    let p = out.program.expect("no errors");
    assert!(p.rules.is_empty());
    assert_eq!(p.facts.len(), 2);
    assert_eq!(
        p.interner.value(p.facts[0].values[0]),
        &Value::Str("agent:support-bot".into())
    );
    assert!(p.facts[1].values.is_empty());
    assert_eq!(p.policies[1].principal, PrincipalMatch::Request);
}

#[test]
fn policy_errors() {
    let mut no_principal = stmt(ast::Effect::Permit, None);
    no_principal.id = Some(("x".into(), sp()));
    let mut dup = stmt(ast::Effect::Forbid, None);
    dup.id = Some(("x".into(), sp()));
    let role = stmt(
        ast::Effect::Permit,
        Some(ast::PrincipalSel::Role {
            role: c(ast::ConstValue::Str("a".into())),
            span: sp(),
        }),
    );
    let mut unbound = stmt(
        ast::Effect::Permit,
        Some(ast::PrincipalSel::Var {
            ty: ident("user"),
            var: ident("U"),
            span: sp(),
        }),
    );
    unbound.id = Some(("y".into(), sp()));
    unbound.when = Some(ast::Cond::Cmp {
        lhs: attr("resourse", "dept"),
        op: CmpOp::Eq,
        rhs: ast::Operand::Var(ident("D")),
        span: sp(),
    });
    let out = run(vec![
        ast::Item::Policy(no_principal),
        ast::Item::Policy(dup),
        ast::Item::Policy(role),
        ast::Item::Policy(unbound),
    ]);
    let mut got = codes(&out);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "ztpol::check::duplicate-id",
            "ztpol::check::missing-roles-module",
            "ztpol::check::permit-without-principal",
            "ztpol::check::unbound-principal",
            "ztpol::check::unbound-variable",
            "ztpol::check::unknown-attribute",
        ]
    );
    let attr = out
        .diagnostics
        .iter()
        .find(|d| d.code == "ztpol::check::unknown-attribute")
        .expect("reported");
    assert_eq!(attr.help.as_deref(), Some("did you mean `resource`?"));
}

#[test]
fn lookups_resolve_but_add_no_edges() {
    let mut items = roles();
    items.push(rel("owner", &[Type::String, Type::String]));
    let mut st = stmt(
        ast::Effect::Permit,
        Some(ast::PrincipalSel::Role {
            role: c(ast::ConstValue::Str("a".into())),
            span: sp(),
        }),
    );
    st.when = Some(ast::Cond::And(
        Box::new(ast::Cond::Lookup {
            rel: ident("owner"),
            args: vec![attr("resource", "id"), ast::Operand::Wildcard(sp())],
            span: sp(),
        }),
        Box::new(ast::Cond::Lookup {
            rel: ident("ownr"),
            args: vec![],
            span: sp(),
        }),
        sp(),
    ));
    items.push(ast::Item::Policy(st));
    let out = run(items);
    assert_eq!(codes(&out), ["ztpol::check::unknown-relation"]);
}

#[test]
fn deep_rule_chains_do_not_overflow() {
    // r0(X) :- base(X).  r{i}(X) :- r{i-1}(X).  for 10,000 relations
    let n = 10_000;
    let mut items = vec![rel("base", &[Type::String]), fact("base", vec![s("a")])];
    for i in 0..n {
        items.push(rel(&format!("r{i}"), &[Type::String]));
        let prev = if i == 0 {
            "base".to_string()
        } else {
            format!("r{}", i - 1)
        };
        items.push(rule(
            atom(&format!("r{i}"), vec![v("X")]),
            vec![pos(atom(&prev, vec![v("X")]))],
        ));
    }
    // close the chain into one big recursive component
    items.push(rule(
        atom("r0", vec![v("X")]),
        vec![pos(atom(&format!("r{}", n - 1), vec![v("X")]))],
    ));
    let out = run(items);
    assert!(out.diagnostics.is_empty(), "{:?}", &out.diagnostics[..1]);
    let p = out.program.expect("no errors");
    assert_eq!(p.strata.len(), 1);
    assert_eq!(p.strata[0].relations.len(), n);
    assert!(p.strata[0].recursive);
}
