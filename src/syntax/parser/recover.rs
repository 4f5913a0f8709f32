//! Syntax errors: turning a pest failure into one human diagnostic, and finding where the next
//! item starts so that parsing can go on.
//!
//! A small scanner reads the failed item the way a human would: strings, comments, brackets,
//! and the `.` or `;` that ends a statement. It explains the failure when a common mistake
//! caused it (an unclosed string or comment, unbalanced brackets, a missing final `.` or `;`);
//! otherwise pest's "expected" list is put into words.

use super::expected::expected_list;
use super::scan::{closing, ident_end, opening, scan, skip_trivia, token_at, StrayClose};
use super::Rule;
use crate::diag::{did_you_mean, Diagnostic};
use crate::source::{FileId, Span};

/// A failed item: its diagnostic, and the byte offset where parsing resumes.
pub(super) struct Failure {
    pub diagnostic: Diagnostic,
    pub resume: usize,
}

/// The offset of a pest error, relative to the parsed text.
pub(super) fn error_offset(err: &pest::error::Error<Rule>) -> usize {
    match err.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    }
}

/// Explains the pest failure `err` of the item parsed from `text[base..]`.
pub(super) fn diagnose(
    file: FileId,
    text: &str,
    base: usize,
    err: &pest::error::Error<Rule>,
) -> Failure {
    let err_pos = base + error_offset(err);
    let err_pos = err_pos.min(text.len());
    let item_start = skip_trivia(text, base).min(err_pos);
    let scan = scan(text, item_start, err_pos);
    let span = |s: usize, e: usize| Span::new(file, s, e);
    let fail = |diagnostic: Diagnostic, resume: usize| Failure { diagnostic, resume };

    let positives = match &err.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => positives.as_slice(),
        pest::error::ErrorVariant::CustomError { .. } => {
            // pest stops on its call and stack limits: only pathological nesting gets there.
            let d = Diagnostic::error("ztpol::parse::too-deep", "the input is nested too deeply")
                .at(span(item_start, err_pos), "too deeply nested")
                .with_help("split the statement, or move part of it into the `if` body");
            return fail(d, scan.resync);
        }
    };

    if let Some(start) = scan.unclosed_comment {
        let d = Diagnostic::error("ztpol::parse::unclosed-comment", "unclosed block comment")
            .at(span(start, start + 2), "this `/*` has no closing `*/`")
            .with_help("close the comment with `*/`");
        return fail(d, text.len());
    }
    if let Some((s, e)) = scan.unclosed_string {
        let d = Diagnostic::error("ztpol::parse::unclosed-string", "unclosed string")
            .at(span(s, e), "this string has no closing `\"` on its line")
            .with_help("close the string with `\"`; write a line break inside a string as `\\n`");
        return fail(d, scan.resync);
    }

    // A statement that ends at a line break (or the end of the file) where its final `.` or `;`
    // could follow: the terminator is missing, and the next line is the next item. Unless the
    // next line is indented and the statement could go on (with `,`, `and`, `or`): then it is
    // more likely a continuation line with a missing separator, reported as such below.
    if let Some((tok_start, tok_end)) = scan.last_token {
        let continuation = text[..err_pos].ends_with([' ', '\t'])
            && positives
                .iter()
                .any(|r| matches!(r, Rule::comma | Rule::and_op | Rule::or_op));
        let at_line_break =
            err_pos >= text.len() || (text[tok_end..err_pos].contains('\n') && !continuation);
        let balanced = scan.open_at_error.is_empty();
        if at_line_break && balanced && positives.contains(&Rule::period) {
            let what = if scan.saw_neck { "rule" } else { "fact" };
            let d = Diagnostic::error(
                "ztpol::parse::missing-period",
                format!("missing `.` at the end of the {what}"),
            )
            .at(span(tok_start, tok_end), "expected `.` after this")
            .with_help("every fact and rule ends with `.`");
            return fail(d, err_pos);
        }
        if at_line_break && balanced && positives.contains(&Rule::semicolon) {
            let what = statement_word(text, item_start, err_pos);
            let d = Diagnostic::error(
                "ztpol::parse::missing-semicolon",
                format!("missing `;` at the end of the {what}"),
            )
            .at(span(tok_start, tok_end), "expected `;` after this")
            .with_help("every `permit` and `forbid` statement ends with `;`");
            return fail(d, err_pos);
        }
    }

    if let Some(StrayClose { close, at, open }) = scan.stray_close {
        let d = match open {
            Some((open, open_at)) => Diagnostic::error(
                "ztpol::parse::unbalanced-parens",
                format!("mismatched `{close}`"),
            )
            .at(span(at, at + 1), format!("expected `{}`", closing(open)))
            .also(span(open_at, open_at + 1), format!("`{open}` opened here")),
            None => Diagnostic::error(
                "ztpol::parse::unbalanced-parens",
                format!("unmatched `{close}`"),
            )
            .at(
                span(at, at + 1),
                format!("no `{}` before it", opening(close)),
            ),
        };
        return fail(
            d.with_help("every `(` needs a `)` and every `[` a `]`"),
            scan.resync,
        );
    }
    if let Some(&(open, at)) = scan.open.last() {
        let d = Diagnostic::error(
            "ztpol::parse::unbalanced-parens",
            format!("unclosed `{open}`"),
        )
        .at(span(at, at + 1), format!("this `{open}` is never closed"))
        .with_help(format!("add `{}` where the list ends", closing(open)));
        return fail(d, scan.resync);
    }

    // An item that starts with a misspelt keyword: `permt role "tier1" to ...`.
    if let Some((word_end, keyword)) = keyword_typo(text, item_start, err_pos) {
        let word = &text[item_start..word_end];
        let d = Diagnostic::error(
            "ztpol::parse::unknown-keyword",
            format!("unknown keyword `{word}`"),
        )
        .at(
            span(item_start, word_end),
            format!("did you mean `{keyword}`?"),
        )
        .with_help("an item starts with `rel`, `use`, `data`, `permit`, `forbid`, or an atom");
        return fail(d, scan.resync);
    }

    let (tok_start, tok_end) = token_at(text, err_pos);
    let found = if tok_start >= text.len() {
        "the end of the input".to_string()
    } else {
        format!("`{}`", shorten(&text[tok_start..tok_end]))
    };
    let (message, label) = match expected_list(positives) {
        Some(list) => (
            format!("expected {list}, found {found}"),
            format!("expected {list}"),
        ),
        None => (format!("unexpected {found}"), "unexpected here".to_string()),
    };
    let mut d =
        Diagnostic::error("ztpol::parse::expected", message).at(span(tok_start, tok_end), label);
    if let Some(keyword) = keyword_as_relation(text, item_start, err_pos) {
        d = d.with_help(format!(
            "`{keyword}` is a keyword: it cannot name the relation of a fact or a rule head"
        ));
    }
    fail(d, scan.resync)
}

/// The end of the item's first word and the keyword it misspells, when the item starts with a
/// word that is not a relation name (no `(` follows) and is close to an item keyword.
fn keyword_typo(text: &str, item_start: usize, err_pos: usize) -> Option<(usize, &'static str)> {
    let word_end = ident_end(text, item_start);
    let word = &text[item_start..word_end];
    if word.is_empty() || word_end > err_pos || text[word_end..].trim_start().starts_with('(') {
        return None;
    }
    let keyword = did_you_mean(word, ["rel", "use", "data", "permit", "forbid"])?;
    Some((word_end, keyword))
}

/// The keyword an item starts with when it is used as a relation name: `data("x").`
fn keyword_as_relation(text: &str, item_start: usize, err_pos: usize) -> Option<&str> {
    let word_end = ident_end(text, item_start);
    let word = &text[item_start..word_end];
    let rest = &text[word_end..];
    let paren_at = word_end + (rest.len() - rest.trim_start().len());
    let is_keyword = matches!(word, "rel" | "use" | "data" | "permit" | "forbid");
    (is_keyword && text[paren_at..].starts_with('(') && err_pos == paren_at).then_some(word)
}

/// `permit statement` or `forbid statement`, from the first such word of the item.
fn statement_word(text: &str, item_start: usize, err_pos: usize) -> &'static str {
    let head = &text[item_start..err_pos];
    let permit = head.find("permit");
    let forbid = head.find("forbid");
    match (permit, forbid) {
        (Some(p), Some(f)) if f < p => "`forbid` statement",
        (Some(_), _) => "`permit` statement",
        (None, Some(_)) => "`forbid` statement",
        (None, None) => "statement",
    }
}

fn shorten(s: &str) -> String {
    const MAX: usize = 30;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let cut: String = s.chars().take(MAX).collect();
        format!("{cut}...")
    }
}
