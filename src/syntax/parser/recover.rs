//! Syntax errors: turning a pest failure into one human diagnostic, and finding where the next
//! item starts so that parsing can go on.
//!
//! A small scanner reads the failed item the way a human would: strings, comments, brackets,
//! and the `.` or `;` that ends a statement. It explains the failure when a common mistake
//! caused it (an unclosed string or comment, unbalanced brackets, a missing final `.` or `;`);
//! otherwise pest's "expected" list is put into words.

use super::expected::expected_list;
use super::Rule;
use crate::diag::{did_you_mean, Diagnostic};
use crate::source::{FileId, Span};

/// A failed item: its diagnostic, and the byte offset where parsing resumes.
pub(super) struct Failure {
    pub diagnostic: Diagnostic,
    pub resume: usize,
}

/// What the scanner saw from the start of the failed item to the point where parsing resumes.
#[derive(Default)]
struct Scan {
    /// Where the next item is likely to start: after the first `.` or `;` ending a statement at
    /// or after the error, or at the first line after the error that starts like an item.
    resync: usize,
    /// The last token that starts before the error (to point at when a `.` or `;` is missing).
    last_token: Option<(usize, usize)>,
    /// Whether `:-` appears before the error (a rule rather than a fact).
    saw_neck: bool,
    unclosed_string: Option<(usize, usize)>,
    unclosed_comment: Option<usize>,
    /// Open brackets with their offsets, innermost last.
    open: Vec<(char, usize)>,
    /// The first closing bracket that matches no opening one (with the opening one it mismatches).
    stray_close: Option<StrayClose>,
    /// Open brackets at the error position, innermost last.
    open_at_error: Vec<(char, usize)>,
}

/// A closing bracket at `at` that closes nothing, or closes the wrong `open` bracket.
struct StrayClose {
    close: char,
    at: usize,
    open: Option<(char, usize)>,
}

/// Explains the pest failure `err` of the item parsed from `text[base..]`.
pub(super) fn diagnose(
    file: FileId,
    text: &str,
    base: usize,
    err: &pest::error::Error<Rule>,
) -> Failure {
    let err_pos = base
        + match err.location {
            pest::error::InputLocation::Pos(p) => p,
            pest::error::InputLocation::Span((s, _)) => s,
        };
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

    // A statement that ends at a line break (or the end of the file) where only its final `.`
    // or `;` could follow: the terminator is missing, and the next line is the next item.
    if let Some((tok_start, tok_end)) = scan.last_token {
        let at_line_break = err_pos >= text.len() || text[tok_end..err_pos].contains('\n');
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
    if let Some(help) = keyword_typo(text, item_start, err_pos) {
        d = d.with_help(help);
    }
    fail(d, scan.resync)
}

/// `did you mean `permit`?` when the item starts with a misspelt keyword (`permt role ...`).
fn keyword_typo(text: &str, item_start: usize, err_pos: usize) -> Option<String> {
    let word_end = ident_end(text, item_start);
    let word = &text[item_start..word_end];
    if word.is_empty() || word_end > err_pos || text[word_end..].trim_start().starts_with('(') {
        return None;
    }
    let keyword = did_you_mean(word, ["rel", "use", "data", "permit", "forbid"])?;
    Some(format!("did you mean `{keyword}`?"))
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

fn closing(open: char) -> char {
    if open == '[' {
        ']'
    } else {
        ')'
    }
}

fn opening(close: char) -> char {
    if close == ']' {
        '['
    } else {
        '('
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

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn ident_end(text: &str, start: usize) -> usize {
    text[start..]
        .char_indices()
        .find(|&(_, c)| !is_ident_char(c))
        .map_or(text.len(), |(i, _)| start + i)
}

/// Skips whitespace and complete comments from `pos`.
fn skip_trivia(text: &str, mut pos: usize) -> usize {
    loop {
        let rest = &text[pos..];
        let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n', '\u{FEFF}']);
        pos += rest.len() - trimmed.len();
        if trimmed.starts_with("//") {
            pos += trimmed.find('\n').unwrap_or(trimmed.len());
        } else if let Some(body) = trimmed.strip_prefix("/*") {
            match body.find("*/") {
                Some(end) => pos += 2 + end + 2,
                None => return pos,
            }
        } else {
            return pos;
        }
    }
}

/// The token at `pos`, as a byte range, for "found `...`".
fn token_at(text: &str, pos: usize) -> (usize, usize) {
    let rest = &text[pos..];
    let Some(c) = rest.chars().next() else {
        return (pos, pos);
    };
    if is_ident_char(c) {
        return (pos, ident_end(text, pos));
    }
    if c == '"' {
        let mut escaped = false;
        for (i, ch) in rest.char_indices().skip(1) {
            match ch {
                '\n' => return (pos, pos + i),
                '"' if !escaped => return (pos, pos + i + 1),
                '\\' => escaped = !escaped,
                _ => escaped = false,
            }
        }
        return (pos, text.len());
    }
    const OPS: [&str; 14] = [
        ":-", "==", "!=", "<=", ">=", "<-", ":=", "::", "&&", "||", "=<", "=>", "<>", "/*",
    ];
    if let Some(op) = OPS.iter().find(|op| rest.starts_with(**op)) {
        return (pos, pos + op.len());
    }
    (pos, pos + c.len_utf8())
}

/// Whether a line starting at `pos` (at column 0) looks like the start of an item: a keyword
/// that starts items, an annotation, or a name followed by `(`.
fn starts_item(text: &str, pos: usize) -> bool {
    let rest = &text[pos..];
    if rest.starts_with('@') {
        return true;
    }
    let end = ident_end(text, pos);
    let word = &text[pos..end];
    match word.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    matches!(word, "rel" | "use" | "data" | "permit" | "forbid")
        || text[end..].trim_start_matches([' ', '\t']).starts_with('(')
}

/// Scans from `start` (the failed item's first token) to the resynchronisation point.
fn scan(text: &str, start: usize, err_pos: usize) -> Scan {
    let bytes = text.as_bytes();
    let mut s = Scan {
        resync: text.len(),
        ..Scan::default()
    };
    let mut i = start;
    let mut recorded_error_state = false;
    while i < bytes.len() {
        if !recorded_error_state && i >= err_pos {
            s.open_at_error = s.open.clone();
            recorded_error_state = true;
        }
        let b = bytes[i];
        let token_start = i;
        match b {
            b' ' | b'\t' | b'\r' => {
                i += 1;
                continue;
            }
            b'\n' => {
                i += 1;
                if i > start && i >= err_pos && i < bytes.len() && starts_item(text, i) {
                    s.resync = i;
                    break;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                i = text[i..].find('\n').map_or(text.len(), |n| i + n);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => match text[i + 2..].find("*/") {
                Some(n) => {
                    i += 2 + n + 2;
                    continue;
                }
                None => {
                    s.unclosed_comment = Some(i);
                    s.resync = text.len();
                    break;
                }
            },
            b'"' => {
                let mut j = i + 1;
                let mut closed = false;
                while j < bytes.len() {
                    match bytes[j] {
                        b'\\' if bytes.get(j + 1).is_some_and(|&n| n != b'\n') => j += 2,
                        b'"' => {
                            closed = true;
                            j += 1;
                            break;
                        }
                        b'\n' => break,
                        _ => j += 1,
                    }
                }
                let j = j.min(bytes.len());
                if !closed && s.unclosed_string.is_none() {
                    let end = if bytes.get(j.saturating_sub(1)) == Some(&b'\r') {
                        j - 1
                    } else {
                        j
                    };
                    s.unclosed_string = Some((i, end.max(i + 1)));
                }
                i = j;
            }
            b'(' | b'[' => {
                s.open.push((b as char, i));
                i += 1;
            }
            b')' | b']' => {
                let close = b as char;
                match s.open.last() {
                    Some(&(open, _)) if closing(open) == close => {
                        s.open.pop();
                    }
                    other => {
                        if s.stray_close.is_none() {
                            s.stray_close = Some(StrayClose {
                                close,
                                at: i,
                                open: other.copied(),
                            });
                        }
                    }
                }
                i += 1;
            }
            b';' => {
                i += 1;
                if token_start >= err_pos {
                    s.resync = i;
                    break;
                }
            }
            b'.' => {
                i += 1;
                let ends = match bytes.get(i) {
                    None => true,
                    Some(&n) => n.is_ascii_whitespace() || n == b'/',
                };
                if ends && token_start >= err_pos {
                    s.resync = i;
                    break;
                }
            }
            b':' if bytes.get(i + 1) == Some(&b'-') => {
                if i < err_pos {
                    s.saw_neck = true;
                }
                i += 2;
            }
            _ => {
                // One token: a name, a number or an operator character.
                let c = text[i..].chars().next().map_or(' ', |c| c);
                if is_ident_char(c) {
                    i = ident_end(text, i);
                } else {
                    i += c.len_utf8().max(1);
                }
            }
        }
        if token_start < err_pos {
            s.last_token = Some((token_start, i.min(err_pos.max(token_start + 1))));
        }
    }
    if !recorded_error_state {
        s.open_at_error = s.open.clone();
    }
    s
}
