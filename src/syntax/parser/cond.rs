//! Conditions (`when ...`): `or`, `and`, `not`, comparisons, set tests, lookups, constants.

use super::core::parse_cmp_op;
use super::{lexical, next, unexpected, Ctx, Pair, Rule, MAX_DEPTH};
use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::ast;

/// Enters one more level of condition nesting (a parenthesis, a `not`, one more operand of an
/// `and` / `or` chain). Past [`MAX_DEPTH`] reports the nesting once and returns `false`.
fn deeper(ctx: &mut Ctx, span: Span) -> bool {
    if ctx.depth >= MAX_DEPTH {
        if !ctx.too_deep {
            ctx.too_deep = true;
            ctx.error(
                Diagnostic::error(
                    "ztpol::parse::too-deep",
                    "the condition is nested too deeply",
                )
                .at(span, format!("more than {MAX_DEPTH} levels of nesting"))
                .with_help("split the statement, or move part of it into the `if` body"),
            );
        }
        return false;
    }
    ctx.depth += 1;
    true
}

/// Runs `f` one nesting level deeper; past [`MAX_DEPTH`] the condition reads as `false`.
fn nested(ctx: &mut Ctx, span: Span, f: impl FnOnce(&mut Ctx) -> ast::Cond) -> ast::Cond {
    if !deeper(ctx, span) {
        return ast::Cond::Bool(false, span);
    }
    let cond = f(ctx);
    ctx.depth -= 1;
    cond
}

/// `cond = { cond_and ~ (or_op ~ cond_and)* }`: left-associative `or`.
pub(super) fn parse_cond(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Cond {
    let start = pair.as_span().start();
    let saved = ctx.depth;
    let mut inner = pair.into_inner();
    let mut cond = parse_cond_and(ctx, next(&mut inner));
    while let (Some(op), Some(rhs)) = (inner.next(), inner.next()) {
        parse_bool_op(ctx, op);
        let span = Span::new(ctx.file, ctx.base + start, ctx.base + rhs.as_span().end());
        if !deeper(ctx, span) {
            break;
        }
        let rhs = parse_cond_and(ctx, rhs);
        cond = ast::Cond::Or(Box::new(cond), Box::new(rhs), span);
    }
    ctx.depth = saved;
    cond
}

/// `cond_and = { cond_unary ~ (and_op ~ cond_unary)* }`: left-associative `and`.
fn parse_cond_and(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Cond {
    let start = pair.as_span().start();
    let saved = ctx.depth;
    let mut inner = pair.into_inner();
    let mut cond = parse_cond_unary(ctx, next(&mut inner));
    while let (Some(op), Some(rhs)) = (inner.next(), inner.next()) {
        parse_bool_op(ctx, op);
        let span = Span::new(ctx.file, ctx.base + start, ctx.base + rhs.as_span().end());
        if !deeper(ctx, span) {
            break;
        }
        let rhs = parse_cond_unary(ctx, rhs);
        cond = ast::Cond::And(Box::new(cond), Box::new(rhs), span);
    }
    ctx.depth = saved;
    cond
}

/// `and_op = { kw_and | compat_and }`, `or_op = { kw_or | compat_or }`,
/// `not_op = { kw_not | compat_not }`: reports `&&`, `||` and `!`.
fn parse_bool_op(ctx: &mut Ctx, pair: Pair<'_>) {
    let inner = next(&mut pair.into_inner());
    let word = match inner.as_rule() {
        Rule::kw_and | Rule::kw_or | Rule::kw_not => return,
        Rule::compat_and => "and",
        Rule::compat_or => "or",
        Rule::compat_not => "not",
        _ => unexpected(&inner),
    };
    report_c_operator(ctx, &inner, word);
}

pub(super) fn report_compat_not(ctx: &mut Ctx, pair: &Pair<'_>) {
    report_c_operator(ctx, pair, "not");
}

fn report_c_operator(ctx: &mut Ctx, pair: &Pair<'_>, word: &str) {
    let span = ctx.span(pair.as_span());
    ctx.error(
        Diagnostic::error(
            "ztpol::parse::c-operator",
            format!("`{}` is not an operator in ztpol", pair.as_str()),
        )
        .at(span, format!("did you mean `{word}`?"))
        .with_help("conditions combine with the words `and`, `or` and `not`"),
    );
}

/// `cond_unary = { not_op ~ cond_unary | cond_primary }`
fn parse_cond_unary(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Cond {
    let span = ctx.span(pair.as_span());
    let mut inner = pair.into_inner();
    let first = next(&mut inner);
    match first.as_rule() {
        Rule::not_op => {
            parse_bool_op(ctx, first);
            let operand = next(&mut inner);
            let cond = nested(ctx, span, |ctx| parse_cond_unary(ctx, operand));
            ast::Cond::Not(Box::new(cond), span)
        }
        Rule::cond_primary => parse_cond_primary(ctx, first),
        _ => unexpected(&first),
    }
}

/// `cond_primary = { cond_paren | cond_lookup | cond_in | cond_cmp | boolean }`
fn parse_cond_primary(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Cond {
    let inner = next(&mut pair.into_inner());
    let span = ctx.span(inner.as_span());
    match inner.as_rule() {
        Rule::cond_paren => {
            // `cond_paren = { lparen ~ cond ~ rparen }`
            let mut parts = inner.into_inner();
            let _lparen = next(&mut parts);
            let cond = next(&mut parts);
            nested(ctx, span, |ctx| parse_cond(ctx, cond))
        }
        Rule::cond_lookup => {
            // `cond_lookup = { ident ~ lparen ~ (operand ~ (comma ~ operand)*)? ~ rparen }`
            let mut parts = inner.into_inner();
            let rel = ctx.ident(&next(&mut parts));
            let args = parts
                .filter(|p| p.as_rule() == Rule::operand)
                .map(|p| parse_operand(ctx, p))
                .collect();
            ast::Cond::Lookup { rel, args, span }
        }
        Rule::cond_in => {
            // `cond_in = { operand ~ kw_in ~ (set_literal | compat_set) }`
            let mut parts = inner.into_inner();
            let lhs = parse_operand(ctx, next(&mut parts));
            let _in = next(&mut parts);
            let set = next(&mut parts);
            if set.as_rule() == Rule::compat_set {
                let set_span = ctx.span(set.as_span());
                ctx.error(
                    Diagnostic::error(
                        "ztpol::parse::set-in-parens",
                        "a set is written in square brackets",
                    )
                    .at(set_span, "did you mean `[...]`?")
                    .with_help(format!(
                        "write `in [{}]`",
                        set.as_str().trim_start_matches('(').trim_end_matches(')')
                    )),
                );
            }
            let set = set
                .into_inner()
                .filter(|p| p.as_rule() == Rule::operand)
                .map(|p| parse_operand(ctx, p))
                .collect();
            ast::Cond::In { lhs, set, span }
        }
        Rule::cond_cmp => {
            // `cond_cmp = { operand ~ cmp_op ~ operand }`
            let mut parts = inner.into_inner();
            let lhs = parse_operand(ctx, next(&mut parts));
            let op = parse_cmp_op(ctx, next(&mut parts));
            let rhs = parse_operand(ctx, next(&mut parts));
            ast::Cond::Cmp { lhs, op, rhs, span }
        }
        Rule::boolean => ast::Cond::Bool(inner.as_str() == "true", span),
        _ => unexpected(&inner),
    }
}

/// `operand = { attr_path | wildcard | variable | constant | bare_word }`
fn parse_operand(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Operand {
    let inner = next(&mut pair.into_inner());
    let span = ctx.span(inner.as_span());
    match inner.as_rule() {
        Rule::attr_path => {
            // `attr_path = ${ ident ~ ("." ~ ident)+ }`
            let mut parts = inner.into_inner();
            let root = ctx.ident(&next(&mut parts));
            let fields = parts.map(|p| ctx.ident(&p)).collect();
            ast::Operand::Attr(ast::AttrPath { root, fields, span })
        }
        Rule::wildcard => ast::Operand::Wildcard(span),
        Rule::variable => ast::Operand::Var(ctx.ident(&inner)),
        Rule::constant => ast::Operand::Const(lexical::parse_constant(ctx, inner)),
        Rule::bare_word => ast::Operand::Const(lexical::parse_bare_word(ctx, inner)),
        _ => unexpected(&inner),
    }
}
