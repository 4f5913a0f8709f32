//! The policy layer: `permit` / `forbid` statements, principals, actions, kinds and conditions.

use super::core::{parse_body, parse_cmp_op};
use super::{lexical, next, unexpected, Ctx, Pair, Rule, MAX_DEPTH};
use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::ast;

/// `policy = { annotation* ~ effect ~ principal? ~ to_clause ~ on_clause? ~ when_clause?
///             ~ if_clause? ~ semicolon }`
pub(super) fn parse_policy(ctx: &mut Ctx, pair: Pair<'_>) -> ast::PolicyStmt {
    let span = ctx.span(pair.as_span());
    let mut stmt = ast::PolicyStmt {
        effect: ast::Effect::Permit,
        effect_span: span,
        id: None,
        principal: None,
        actions: Vec::new(),
        resources: Vec::new(),
        when: None,
        guard: Vec::new(),
        span,
    };
    let mut principal_written = false;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::annotation => parse_annotation(ctx, p, &mut stmt),
            Rule::effect => {
                stmt.effect_span = ctx.span(p.as_span());
                stmt.effect = match p.as_str() {
                    "permit" => ast::Effect::Permit,
                    "forbid" => ast::Effect::Forbid,
                    _ => unexpected(&p),
                };
            }
            Rule::principal => {
                principal_written = true;
                stmt.principal = parse_principal(ctx, p);
            }
            Rule::to_clause => {
                let list = p.into_inner().nth(1);
                stmt.actions = list.map(|l| parse_action_list(ctx, l)).unwrap_or_default();
            }
            Rule::on_clause => {
                let list = p.into_inner().nth(1);
                stmt.resources = list.map(|l| parse_kind_list(ctx, l)).unwrap_or_default();
            }
            Rule::when_clause => {
                stmt.when = p.into_inner().nth(1).map(|c| parse_cond(ctx, c));
            }
            Rule::if_clause => {
                stmt.guard = p
                    .into_inner()
                    .nth(1)
                    .map(|b| parse_body(ctx, b))
                    .unwrap_or_default();
            }
            Rule::semicolon => {}
            _ => unexpected(&p),
        }
    }
    if stmt.effect == ast::Effect::Permit && !principal_written {
        ctx.error(
            Diagnostic::error(
                "ztpol::parse::permit-without-principal",
                "a `permit` must name who it grants to",
            )
            .at(stmt.effect_span, "no principal after `permit`")
            .with_help(
                "name the principal: `permit role \"tier1\" to ...`, `permit agent \"bot\" to ...` \
                 or `permit user U to ... if member(U, \"staff\")`",
            ),
        );
    }
    stmt
}

/// `annotation = { at ~ ident ~ lparen ~ (string | unclosed_string) ~ rparen }`: only `@id`.
fn parse_annotation(ctx: &mut Ctx, pair: Pair<'_>, stmt: &mut ast::PolicyStmt) {
    let span = ctx.span(pair.as_span());
    let mut inner = pair.into_inner();
    let _at = next(&mut inner);
    let name = next(&mut inner);
    let _lparen = next(&mut inner);
    let value = next(&mut inner);
    let value_span = ctx.span(value.as_span());
    let value = lexical::parse_string_like(ctx, value);
    if name.as_str() != "id" {
        let name_span = ctx.span(name.as_span());
        ctx.error(
            Diagnostic::error(
                "ztpol::parse::unknown-annotation",
                format!("unknown annotation `@{}`", name.as_str()),
            )
            .at(name_span, "not an annotation")
            .with_help("the only annotation is `@id(\"...\")`, the statement's stable id"),
        );
        return;
    }
    if value.is_empty() {
        ctx.error(
            Diagnostic::error("ztpol::parse::empty-id", "a statement id cannot be empty")
                .at(value_span, "empty id"),
        );
    }
    match &stmt.id {
        Some((_, first)) => ctx.error(
            Diagnostic::error("ztpol::parse::duplicate-id", "the statement has two `@id`s")
                .at(span, "second `@id`")
                .also(*first, "first `@id`")
                .with_help("keep one `@id` per statement"),
        ),
        None => stmt.id = Some((value, value_span)),
    }
}

/// `principal = { role_principal | typed_principal }`
fn parse_principal(ctx: &mut Ctx, pair: Pair<'_>) -> Option<ast::PrincipalSel> {
    let inner = next(&mut pair.into_inner());
    let span = ctx.span(inner.as_span());
    let is_role = match inner.as_rule() {
        Rule::role_principal => true,
        Rule::typed_principal => false,
        _ => unexpected(&inner),
    };
    let mut parts = inner.into_inner();
    let ty = ctx.ident(&next(&mut parts));
    let arg = next(&mut next(&mut parts).into_inner());
    let arg_span = ctx.span(arg.as_span());
    match arg.as_rule() {
        Rule::string | Rule::unclosed_string | Rule::bare_word => {
            let id = if arg.as_rule() == Rule::bare_word {
                lexical::parse_bare_word(ctx, arg)
            } else {
                ast::Const {
                    value: ast::ConstValue::Str(lexical::parse_string_like(ctx, arg)),
                    span: arg_span,
                }
            };
            Some(if is_role {
                ast::PrincipalSel::Role { role: id, span }
            } else {
                ast::PrincipalSel::Named { ty, id, span }
            })
        }
        Rule::variable if !is_role => Some(ast::PrincipalSel::Var {
            ty,
            var: ctx.ident(&arg),
            span,
        }),
        Rule::variable | Rule::wildcard => {
            let (message, help) = if is_role {
                (
                    "`role` takes a quoted role name",
                    "write `role \"tier1\"`; to grant to principals a body selects, write \
                     `principal P` with `if has_role(P, R), ...`",
                )
            } else {
                (
                    "`_` cannot name the principals of a statement",
                    "name them with a variable that the `if` body binds: `principal P ... if ...`",
                )
            };
            ctx.error(
                Diagnostic::error("ztpol::parse::bad-principal", message)
                    .at(arg_span, "expected a quoted name")
                    .with_help(help),
            );
            None
        }
        _ => unexpected(&arg),
    }
}

/// `action_list = { action ~ (comma ~ action)* }`
fn parse_action_list(ctx: &mut Ctx, pair: Pair<'_>) -> Vec<ast::ActionPat> {
    pair.into_inner()
        .filter(|p| p.as_rule() == Rule::action)
        .map(|p| parse_action(ctx, p))
        .collect()
}

/// `action = { action_any | action_family | action_name | string | unclosed_string }`
fn parse_action(ctx: &mut Ctx, pair: Pair<'_>) -> ast::ActionPat {
    let inner = next(&mut pair.into_inner());
    let span = ctx.span(inner.as_span());
    match inner.as_rule() {
        Rule::action_any => ast::ActionPat::Any { span },
        Rule::action_family => {
            let text = inner.as_str();
            let prefix = text.strip_suffix(".*").unwrap_or(text).to_string();
            ast::ActionPat::Family { prefix, span }
        }
        Rule::action_name => ast::ActionPat::Exact {
            name: inner.as_str().to_string(),
            span,
        },
        Rule::string | Rule::unclosed_string => ast::ActionPat::Exact {
            name: lexical::parse_string_like(ctx, inner),
            span,
        },
        _ => unexpected(&inner),
    }
}

/// `kind_list = { kind ~ (comma ~ kind)* }`
fn parse_kind_list(ctx: &mut Ctx, pair: Pair<'_>) -> Vec<ast::Ident> {
    pair.into_inner()
        .filter(|p| p.as_rule() == Rule::kind)
        .map(|p| parse_kind(ctx, p))
        .collect()
}

/// `kind = { kind_name | string | unclosed_string }`
fn parse_kind(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Ident {
    let inner = next(&mut pair.into_inner());
    let span = ctx.span(inner.as_span());
    let name = match inner.as_rule() {
        Rule::kind_name => inner.as_str().to_string(),
        Rule::string | Rule::unclosed_string => lexical::parse_string_like(ctx, inner),
        _ => unexpected(&inner),
    };
    ast::Ident { name, span }
}

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
fn parse_cond(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Cond {
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
            // `cond_in = { operand ~ kw_in ~ lbracket ~ (operand ~ (comma ~ operand)*)? ~ rbracket }`
            let mut parts = inner.into_inner();
            let lhs = parse_operand(ctx, next(&mut parts));
            let set = parts
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
