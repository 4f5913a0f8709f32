//! Constants: strings (with escapes), integers, booleans, and the lowercase bare word that is
//! reported as a mistake.

use super::{next, unexpected, Ctx, Pair, Rule};
use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::ast;

/// `constant = { string | integer | boolean | unclosed_string }`
pub(super) fn parse_constant(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Const {
    let inner = next(&mut pair.into_inner());
    let span = ctx.span(inner.as_span());
    let value = match inner.as_rule() {
        Rule::string | Rule::unclosed_string => ast::ConstValue::Str(parse_string_like(ctx, inner)),
        Rule::integer => ast::ConstValue::Int(parse_integer(ctx, &inner)),
        Rule::boolean => ast::ConstValue::Bool(inner.as_str() == "true"),
        _ => unexpected(&inner),
    };
    ast::Const { value, span }
}

/// A `string` or an `unclosed_string` (reported), unescaped.
pub(super) fn parse_string_like(ctx: &mut Ctx, pair: Pair<'_>) -> String {
    let span = ctx.span(pair.as_span());
    match pair.as_rule() {
        Rule::string => {}
        Rule::unclosed_string => report_unclosed_string(ctx, span),
        _ => unexpected(&pair),
    }
    match pair
        .into_inner()
        .find(|p| p.as_rule() == Rule::string_inner)
    {
        Some(inner) => {
            let start = ctx.base + inner.as_span().start();
            unescape(ctx, inner.as_str(), start)
        }
        None => String::new(),
    }
}

pub(super) fn report_unclosed_string(ctx: &mut Ctx, span: Span) {
    ctx.error(
        Diagnostic::error("ztpol::parse::unclosed-string", "unclosed string")
            .at(span, "this string has no closing `\"` on its line")
            .with_help("close the string with `\"`; write a line break inside a string as `\\n`"),
    );
}

/// Resolves the escapes `\"` `\\` `\n` `\t`; any other escape is reported and kept as written.
/// `start` is the byte offset of `raw` in the file.
fn unescape(ctx: &mut Ctx, raw: &str, start: usize) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((j, other)) => {
                let span = Span::new(ctx.file, start + i, start + j + other.len_utf8());
                ctx.error(
                    Diagnostic::error(
                        "ztpol::parse::unknown-escape",
                        format!("unknown escape `\\{other}` in a string"),
                    )
                    .at(span, "not an escape")
                    .with_help("the escapes are `\\\"`, `\\\\`, `\\n` and `\\t`"),
                );
                out.push('\\');
                out.push(other);
            }
            None => {
                // A lone `\` at the end: only in an unclosed string, already reported.
                out.push('\\');
            }
        }
    }
    out
}

/// `integer = @{ "-"? ~ ASCII_DIGIT+ }`: leading zeros are allowed (`049` is 49).
fn parse_integer(ctx: &mut Ctx, pair: &Pair<'_>) -> i64 {
    let text = pair.as_str();
    match text.parse::<i64>() {
        Ok(n) => n,
        Err(_) => {
            let span = ctx.span(pair.as_span());
            ctx.error(
                Diagnostic::error(
                    "ztpol::parse::int-out-of-range",
                    format!("integer `{text}` is out of range"),
                )
                .at(span, "does not fit in 64 bits")
                .with_help(format!(
                    "integers range from {} to {}; quote the value to use it as a string",
                    i64::MIN,
                    i64::MAX
                )),
            );
            0
        }
    }
}

/// `bare_word`: a lowercase word where a variable or a constant was expected. Reported, and
/// read as the string constant the author most likely meant.
pub(super) fn parse_bare_word(ctx: &mut Ctx, pair: Pair<'_>) -> ast::Const {
    let span = ctx.span(pair.as_span());
    let word = pair.as_str();
    ctx.error(
        Diagnostic::error(
            "ztpol::parse::lowercase-term",
            format!("`{word}` is neither a variable nor a constant"),
        )
        .at(span, "expected a variable or a constant")
        .with_help(format!(
            "variables start with an upper-case letter; quote a constant: `\"{word}\"`"
        )),
    );
    ast::Const {
        value: ast::ConstValue::Str(word.to_string()),
        span,
    }
}
