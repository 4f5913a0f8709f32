//! Items and the core Datalog layer: `use`, `data`, `rel`, facts, rules, atoms, terms.

use super::{cond, lexical, next, policy, unexpected, Ctx, Pair, Rule};
use crate::diag::{did_you_mean, Diagnostic};
use crate::syntax::ast;

/// `item = { use_decl | data_decl | rel_decl | policy | clause }`
pub(super) fn parse_item(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Item {
    let inner = next(&mut pair.into_inner());
    match inner.as_rule() {
        Rule::use_decl => ast::Item::Use(parse_use_decl(ctx, inner)),
        Rule::data_decl => ast::Item::Data(parse_data_decl(ctx, inner)),
        Rule::rel_decl => ast::Item::Rel(parse_rel_decl(ctx, inner)),
        Rule::policy => ast::Item::Policy(policy::parse_policy(ctx, inner)),
        Rule::clause => parse_clause(ctx, inner),
        _ => unexpected(&inner),
    }
}

/// `use_decl = { kw_use ~ module_path ~ semicolon? }`
fn parse_use_decl(ctx: &mut Ctx, pair: Pair<'_>) -> ast::UseDecl {
    let span = ctx.span(pair.as_span());
    let path = pair
        .into_inner()
        .find(|p| p.as_rule() == Rule::module_path)
        .map(|p| parse_module_path(ctx, p))
        .unwrap_or_default();
    ast::UseDecl { path, span }
}

/// `module_path = { ident ~ (path_sep ~ ident)* }`
fn parse_module_path(ctx: &mut Ctx, pair: Pair<'_>) -> Vec<ast::Ident> {
    pair.into_inner()
        .filter(|p| p.as_rule() == Rule::ident)
        .map(|p| ctx.ident(&p))
        .collect()
}

/// `data_decl = { kw_data ~ data_path ~ semicolon? }`
fn parse_data_decl(ctx: &mut Ctx, pair: Pair<'_>) -> ast::DataDecl {
    let span = ctx.span(pair.as_span());
    let mut inner = pair.into_inner();
    let _kw = next(&mut inner);
    let path = next(&mut next(&mut inner).into_inner());
    let path_span = ctx.span(path.as_span());
    let path = lexical::parse_string_like(ctx, path);
    ast::DataDecl {
        path,
        path_span,
        span,
    }
}

/// `rel_decl = { kw_rel ~ ident ~ lparen ~ (column ~ (comma ~ column)*)? ~ rparen ~ ... }`
fn parse_rel_decl(ctx: &mut Ctx, pair: Pair<'_>) -> ast::RelDecl {
    let span = ctx.span(pair.as_span());
    let mut inner = pair.into_inner();
    let _kw = next(&mut inner);
    let name = ctx.ident(&next(&mut inner));
    let columns = inner
        .filter(|p| p.as_rule() == Rule::column)
        .map(|p| parse_column(ctx, p))
        .collect();
    ast::RelDecl {
        name,
        columns,
        span,
    }
}

/// `column = { (ident ~ colon)? ~ col_type }`
fn parse_column(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Column {
    let span = ctx.span(pair.as_span());
    let mut name = None;
    let mut ty = (ast::Type::String, span);
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::ident => name = Some(ctx.ident(&p)),
            Rule::colon => {}
            Rule::col_type => ty = parse_col_type(ctx, p),
            _ => unexpected(&p),
        }
    }
    ast::Column {
        name,
        ty: ty.0,
        ty_span: ty.1,
        span,
    }
}

/// `col_type = { type_name | unknown_type }`
fn parse_col_type(ctx: &mut Ctx, pair: Pair<'_>) -> (ast::Type, crate::source::Span) {
    let inner = next(&mut pair.into_inner());
    let span = ctx.span(inner.as_span());
    let word = inner.as_str();
    let ty = match word {
        "string" => Some(ast::Type::String),
        "int" => Some(ast::Type::Int),
        "bool" => Some(ast::Type::Bool),
        _ => None,
    };
    if let Some(ty) = ty {
        return (ty, span);
    }
    // `unknown_type`: suggest the closest type, also for names other languages use.
    let guess = match word {
        "str" | "String" | "text" => Some("string"),
        "integer" | "number" | "i64" | "i32" | "u64" | "long" => Some("int"),
        "boolean" | "Bool" | "Boolean" => Some("bool"),
        _ => did_you_mean(word, ["string", "int", "bool"]),
    };
    let help = match guess {
        Some(g) => format!("did you mean `{g}`? the types are `string`, `int` and `bool`"),
        None => "the types are `string`, `int` and `bool`".to_string(),
    };
    ctx.error(
        Diagnostic::error(
            "ztpol::parse::unknown-type",
            format!("unknown type `{word}`"),
        )
        .at(span, "not a type")
        .with_help(help),
    );
    let ty = match guess {
        Some("int") => ast::Type::Int,
        Some("bool") => ast::Type::Bool,
        _ => ast::Type::String,
    };
    (ty, span)
}

/// `clause = { head ~ (neck ~ body)? ~ period }`: a fact without a body, a rule with one.
fn parse_clause(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Item {
    let span = ctx.span(pair.as_span());
    let mut inner = pair.into_inner();
    let head = next(&mut inner);
    let head = parse_atom_node(ctx, next(&mut head.into_inner()));
    let mut body = None;
    for p in inner {
        match p.as_rule() {
            Rule::neck => parse_neck(ctx, p),
            Rule::body => body = Some(parse_body(ctx, p)),
            Rule::period => {}
            _ => unexpected(&p),
        }
    }
    match body {
        Some(body) => ast::Item::Rule(ast::Rule { head, body, span }),
        None => ast::Item::Fact(head),
    }
}

/// `neck = { ":-" | compat_neck }`
fn parse_neck(ctx: &mut Ctx, pair: Pair<'_>) {
    if let Some(compat) = pair.into_inner().next() {
        let span = ctx.span(compat.as_span());
        ctx.error(
            Diagnostic::error(
                "ztpol::parse::wrong-neck",
                format!(
                    "`{}` does not separate a rule's head from its body",
                    compat.as_str()
                ),
            )
            .at(span, "did you mean `:-`?")
            .with_help("write a rule as `head(X) :- body(X).`"),
        );
    }
}

/// `body = { literal ~ (comma ~ literal)* }`
pub(super) fn parse_body(ctx: &mut Ctx, pair: Pair<'_>) -> Vec<ast::Literal> {
    pair.into_inner()
        .filter(|p| p.as_rule() == Rule::literal)
        .map(|p| parse_literal(ctx, p))
        .collect()
}

/// `literal = { negation | atom | comparison }`
fn parse_literal(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Literal {
    let inner = next(&mut pair.into_inner());
    match inner.as_rule() {
        Rule::negation => parse_negation(ctx, inner),
        Rule::atom => ast::Literal::Pos(parse_atom_node(ctx, inner)),
        Rule::comparison => ast::Literal::Cmp(parse_comparison(ctx, inner)),
        _ => unexpected(&inner),
    }
}

/// `negation = { (kw_not | compat_not) ~ atom }`
fn parse_negation(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Literal {
    let span = ctx.span(pair.as_span());
    let mut inner = pair.into_inner();
    let not = next(&mut inner);
    if not.as_rule() == Rule::compat_not {
        cond::report_compat_not(ctx, &not);
    }
    ast::Literal::Neg(parse_atom_node(ctx, next(&mut inner)), span)
}

/// `comparison = { term ~ cmp_op ~ term }`
fn parse_comparison(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Comparison {
    let span = ctx.span(pair.as_span());
    let mut inner = pair.into_inner();
    let lhs = parse_term(ctx, next(&mut inner));
    let op = parse_cmp_op(ctx, next(&mut inner));
    let rhs = parse_term(ctx, next(&mut inner));
    ast::Comparison { lhs, op, rhs, span }
}

/// `cmp_op = { "==" | "!=" | "<=" | ">=" | compat_cmp | "<" | ">" | compat_eq }`
pub(super) fn parse_cmp_op(ctx: &mut Ctx, pair: Pair<'_>) -> ast::CmpOp {
    let span = ctx.span(pair.as_span());
    let text = pair.as_str();
    let (op, compat) = match text {
        "==" => (ast::CmpOp::Eq, false),
        "!=" => (ast::CmpOp::Ne, false),
        "<=" => (ast::CmpOp::Le, false),
        ">=" => (ast::CmpOp::Ge, false),
        "<" => (ast::CmpOp::Lt, false),
        ">" => (ast::CmpOp::Gt, false),
        "=<" => (ast::CmpOp::Le, true),
        "=>" => (ast::CmpOp::Ge, true),
        "<>" => (ast::CmpOp::Ne, true),
        "=" => (ast::CmpOp::Eq, true),
        _ => unexpected(&pair),
    };
    if compat {
        let (code, help) = if text == "=" {
            (
                "ztpol::parse::single-equals",
                "`==` compares two values; ztpol has no assignment".to_string(),
            )
        } else {
            (
                "ztpol::parse::unknown-operator",
                "the comparison operators are `==`, `!=`, `<`, `<=`, `>` and `>=`".to_string(),
            )
        };
        ctx.error(
            Diagnostic::error(code, format!("`{text}` is not a comparison operator"))
                .at(span, format!("did you mean `{}`?", op.symbol()))
                .with_help(help),
        );
    }
    op
}

/// `atom = { ident ~ lparen ~ (term ~ (comma ~ term)*)? ~ rparen }`
pub(super) fn parse_atom_node(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Atom {
    let span = ctx.span(pair.as_span());
    let mut inner = pair.into_inner();
    let rel = ctx.ident(&next(&mut inner));
    let args = inner
        .filter(|p| p.as_rule() == Rule::term)
        .map(|p| parse_term(ctx, p))
        .collect();
    ast::Atom { rel, args, span }
}

/// `term = { wildcard | variable | constant | bare_word }`
fn parse_term(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Term {
    let inner = next(&mut pair.into_inner());
    match inner.as_rule() {
        Rule::wildcard => ast::Term::Wildcard(ctx.span(inner.as_span())),
        Rule::variable => ast::Term::Var(ctx.ident(&inner)),
        Rule::constant => ast::Term::Const(lexical::parse_constant(ctx, inner)),
        Rule::bare_word => ast::Term::Const(lexical::parse_bare_word(ctx, inner)),
        _ => unexpected(&inner),
    }
}
