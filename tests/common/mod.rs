//! Helpers shared by the parser tests: an AST printer without spans, and a span checker that
//! slices the source with every node's span.

#![allow(dead_code)]

use std::fmt::Write as _;
use ztpol::source::Span;
use ztpol::syntax::ast;

/// The AST as compact text with the spans stripped: one item per line, conditions as
/// s-expressions so that precedence is visible.
pub fn strip(module: &ast::Module) -> String {
    let mut out = String::new();
    for item in &module.items {
        let line = match item {
            ast::Item::Use(u) => {
                let path: Vec<&str> = u.path.iter().map(|i| i.name.as_str()).collect();
                format!("use {}", path.join("::"))
            }
            ast::Item::Data(d) => format!("data {:?}", d.path),
            ast::Item::Rel(r) => {
                let cols: Vec<String> = r
                    .columns
                    .iter()
                    .map(|c| match &c.name {
                        Some(n) => format!("{}: {}", n.name, c.ty.name()),
                        None => c.ty.name().to_string(),
                    })
                    .collect();
                format!("rel {}({})", r.name.name, cols.join(", "))
            }
            ast::Item::Fact(a) => format!("fact {}", atom(a)),
            ast::Item::Rule(r) => format!("rule {} :- {}", atom(&r.head), body(&r.body)),
            ast::Item::Policy(p) => policy(p),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn policy(p: &ast::PolicyStmt) -> String {
    let mut s = String::new();
    s.push_str(match p.effect {
        ast::Effect::Permit => "permit",
        ast::Effect::Forbid => "forbid",
    });
    if let Some((id, _)) = &p.id {
        let _ = write!(s, " id={id:?}");
    }
    match &p.principal {
        Some(ast::PrincipalSel::Named { ty, id, .. }) => {
            let _ = write!(s, " principal={}({})", ty.name, konst(id));
        }
        Some(ast::PrincipalSel::Role { role, .. }) => {
            let _ = write!(s, " principal=role({})", konst(role));
        }
        Some(ast::PrincipalSel::Var { ty, var, .. }) => {
            let _ = write!(s, " principal={}({})", ty.name, var.name);
        }
        None => s.push_str(" principal=request"),
    }
    let actions: Vec<String> = p
        .actions
        .iter()
        .map(|a| match a {
            ast::ActionPat::Exact { name, .. } => format!("{name:?}"),
            ast::ActionPat::Family { prefix, .. } => format!("{prefix:?}.*"),
            ast::ActionPat::Any { .. } => "*".to_string(),
        })
        .collect();
    let _ = write!(s, " to=[{}]", actions.join(", "));
    if !p.resources.is_empty() {
        let kinds: Vec<String> = p
            .resources
            .iter()
            .map(|k| format!("{:?}", k.name))
            .collect();
        let _ = write!(s, " on=[{}]", kinds.join(", "));
    }
    if let Some(c) = &p.when {
        let _ = write!(s, " when={}", cond(c));
    }
    if !p.guard.is_empty() {
        let _ = write!(s, " if={}", body(&p.guard));
    }
    s
}

fn cond(c: &ast::Cond) -> String {
    match c {
        ast::Cond::And(a, b, _) => format!("(and {} {})", cond(a), cond(b)),
        ast::Cond::Or(a, b, _) => format!("(or {} {})", cond(a), cond(b)),
        ast::Cond::Not(a, _) => format!("(not {})", cond(a)),
        ast::Cond::Cmp { lhs, op, rhs, .. } => {
            format!("({} {} {})", op.symbol(), operand(lhs), operand(rhs))
        }
        ast::Cond::In { lhs, set, .. } => {
            let set: Vec<String> = set.iter().map(operand).collect();
            format!("(in {} [{}])", operand(lhs), set.join(" "))
        }
        ast::Cond::Lookup { rel, args, .. } => {
            let args: Vec<String> = args.iter().map(operand).collect();
            format!("(lookup {} {})", rel.name, args.join(" "))
        }
        ast::Cond::Bool(b, _) => b.to_string(),
    }
}

fn operand(o: &ast::Operand) -> String {
    match o {
        ast::Operand::Attr(a) => a.dotted(),
        ast::Operand::Var(v) => v.name.clone(),
        ast::Operand::Const(c) => konst(c),
        ast::Operand::Wildcard(_) => "_".to_string(),
    }
}

fn body(lits: &[ast::Literal]) -> String {
    let lits: Vec<String> = lits
        .iter()
        .map(|l| match l {
            ast::Literal::Pos(a) => atom(a),
            ast::Literal::Neg(a, _) => format!("not {}", atom(a)),
            ast::Literal::Cmp(c) => format!("{} {} {}", term(&c.lhs), c.op.symbol(), term(&c.rhs)),
        })
        .collect();
    lits.join(", ")
}

fn atom(a: &ast::Atom) -> String {
    let args: Vec<String> = a.args.iter().map(term).collect();
    format!("{}({})", a.rel.name, args.join(", "))
}

fn term(t: &ast::Term) -> String {
    match t {
        ast::Term::Var(v) => v.name.clone(),
        ast::Term::Wildcard(_) => "_".to_string(),
        ast::Term::Const(c) => konst(c),
    }
}

fn konst(c: &ast::Const) -> String {
    match &c.value {
        ast::ConstValue::Str(s) => format!("{s:?}"),
        ast::ConstValue::Int(n) => format!("{n}i"),
        ast::ConstValue::Bool(b) => b.to_string(),
    }
}

/// Checks every span of `module` by slicing `text` with it.
pub fn check_spans(text: &str, module: &ast::Module) {
    let at = |span: Span| -> &str {
        assert_eq!(span.file, module.file, "span in the wrong file");
        assert!(
            span.start <= span.end && span.end as usize <= text.len(),
            "{span:?}"
        );
        &text[span.start as usize..span.end as usize]
    };
    let ident = |i: &ast::Ident| assert_eq!(at(i.span), i.name, "ident span");
    let konst = |c: &ast::Const| {
        let s = at(c.span);
        match &c.value {
            ast::ConstValue::Str(_) => assert!(s.starts_with('"') && s.ends_with('"'), "{s}"),
            ast::ConstValue::Int(n) => assert_eq!(s.parse::<i64>().ok(), Some(*n), "{s}"),
            ast::ConstValue::Bool(b) => assert_eq!(s, b.to_string()),
        }
    };
    let term = |t: &ast::Term| match t {
        ast::Term::Var(v) => ident(v),
        ast::Term::Wildcard(s) => assert_eq!(at(*s), "_"),
        ast::Term::Const(c) => konst(c),
    };
    let atom = |a: &ast::Atom| {
        ident(&a.rel);
        let s = at(a.span);
        assert!(
            s.starts_with(&a.rel.name) && s.ends_with(')'),
            "atom span `{s}`"
        );
        a.args.iter().for_each(term);
    };
    let body = |lits: &[ast::Literal]| {
        for l in lits {
            match l {
                ast::Literal::Pos(a) => atom(a),
                ast::Literal::Neg(a, s) => {
                    assert!(at(*s).starts_with("not") && at(*s).ends_with(at(a.span)));
                    atom(a);
                }
                ast::Literal::Cmp(c) => {
                    let s = at(c.span);
                    assert!(s.starts_with(at(c.lhs.span())) && s.ends_with(at(c.rhs.span())));
                    assert!(s.contains(c.op.symbol()), "{s}");
                    term(&c.lhs);
                    term(&c.rhs);
                }
            }
        }
    };
    let operand = |o: &ast::Operand| match o {
        ast::Operand::Attr(a) => {
            assert_eq!(at(a.span), a.dotted());
            ident(&a.root);
            a.fields.iter().for_each(ident);
        }
        ast::Operand::Var(v) => ident(v),
        ast::Operand::Const(c) => konst(c),
        ast::Operand::Wildcard(s) => assert_eq!(at(*s), "_"),
    };
    fn walk_cond(c: &ast::Cond, check: &mut dyn FnMut(&ast::Cond)) {
        check(c);
        match c {
            ast::Cond::And(a, b, _) | ast::Cond::Or(a, b, _) => {
                walk_cond(a, check);
                walk_cond(b, check);
            }
            ast::Cond::Not(a, _) => walk_cond(a, check),
            ast::Cond::Cmp { .. } | ast::Cond::In { .. } | ast::Cond::Lookup { .. } => {}
            ast::Cond::Bool(..) => {}
        }
    }
    for item in &module.items {
        match item {
            ast::Item::Use(u) => {
                assert!(at(u.span).starts_with("use"));
                u.path.iter().for_each(ident);
            }
            ast::Item::Data(d) => {
                assert!(at(d.span).starts_with("data"));
                assert_eq!(at(d.path_span), format!("\"{}\"", d.path));
            }
            ast::Item::Rel(r) => {
                assert!(at(r.span).starts_with("rel"));
                ident(&r.name);
                for c in &r.columns {
                    assert_eq!(at(c.ty_span), c.ty.name());
                    if let Some(n) = &c.name {
                        ident(n);
                        assert!(at(c.span).starts_with(&n.name));
                    }
                    assert!(at(c.span).ends_with(c.ty.name()));
                }
            }
            ast::Item::Fact(a) => atom(a),
            ast::Item::Rule(r) => {
                let s = at(r.span);
                assert!(
                    s.starts_with(at(r.head.span)) && s.ends_with('.'),
                    "rule `{s}`"
                );
                atom(&r.head);
                body(&r.body);
            }
            ast::Item::Policy(p) => {
                let s = at(p.span);
                assert!(
                    s.starts_with('@') || s.starts_with(at(p.effect_span)),
                    "{s}"
                );
                assert!(s.ends_with(';'), "policy `{s}`");
                assert!(matches!(at(p.effect_span), "permit" | "forbid"));
                if let Some((id, span)) = &p.id {
                    assert_eq!(at(*span), format!("\"{id}\""));
                }
                match &p.principal {
                    Some(ast::PrincipalSel::Named { ty, id, span }) => {
                        ident(ty);
                        konst(id);
                        assert!(at(*span).starts_with(&ty.name));
                    }
                    Some(ast::PrincipalSel::Role { role, span }) => {
                        konst(role);
                        assert!(at(*span).starts_with("role"));
                    }
                    Some(ast::PrincipalSel::Var { ty, var, span }) => {
                        ident(ty);
                        ident(var);
                        assert_eq!(at(*span), format!("{} {}", ty.name, var.name));
                    }
                    None => {}
                }
                for a in &p.actions {
                    let s = at(a.span());
                    match a {
                        ast::ActionPat::Exact { name, .. } => {
                            assert!(s == name || s == format!("{name:?}"), "{s}");
                        }
                        ast::ActionPat::Family { prefix, .. } => {
                            assert_eq!(s, format!("{prefix}.*"));
                        }
                        ast::ActionPat::Any { .. } => assert_eq!(s, "*"),
                    }
                }
                for k in &p.resources {
                    let s = at(k.span);
                    assert!(s == k.name || s == format!("{:?}", k.name), "{s}");
                }
                if let Some(c) = &p.when {
                    walk_cond(c, &mut |c| {
                        let s = at(c.span());
                        match c {
                            ast::Cond::And(a, b, _) | ast::Cond::Or(a, b, _) => {
                                assert!(c.span().start <= a.span().start);
                                assert!(c.span().end >= b.span().end);
                            }
                            ast::Cond::Not(_, _) => assert!(s.starts_with("not"), "{s}"),
                            ast::Cond::Cmp { lhs, op, rhs, .. } => {
                                assert!(s.starts_with(at(lhs.span())), "{s}");
                                assert!(s.ends_with(at(rhs.span())), "{s}");
                                assert!(s.contains(op.symbol()), "{s}");
                                operand(lhs);
                                operand(rhs);
                            }
                            ast::Cond::In { lhs, set, .. } => {
                                assert!(s.starts_with(at(lhs.span())) && s.ends_with(']'));
                                operand(lhs);
                                set.iter().for_each(operand);
                            }
                            ast::Cond::Lookup { rel, args, .. } => {
                                ident(rel);
                                assert!(s.starts_with(&rel.name) && s.ends_with(')'));
                                args.iter().for_each(operand);
                            }
                            ast::Cond::Bool(b, _) => assert_eq!(s, b.to_string()),
                        }
                    });
                }
                body(&p.guard);
            }
        }
    }
}
