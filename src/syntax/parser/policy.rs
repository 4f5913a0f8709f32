//! The policy layer: `permit` / `forbid` statements, principals, actions, kinds and conditions.

use super::core::parse_body;
use super::{cond, lexical, next, unexpected, Ctx, Pair, Rule};
use crate::diag::Diagnostic;
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
                stmt.when = p.into_inner().nth(1).map(|c| cond::parse_cond(ctx, c));
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
