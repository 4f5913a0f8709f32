//! The pest parser: source text to AST, one `parse_*` function per grammar rule
//! (`grammar/ztpol.pest`). Names are not resolved here.
//!
//! A file is parsed one item at a time. After a syntax error the parser resynchronises at the
//! next item boundary (see [`recover`]), so every syntax error of a file is reported. Grammar
//! rules named `compat_*` accept common mistakes; their `parse_*` functions report them with a
//! "did you mean" and build the AST the author most likely meant, so that later items still parse.

mod cond;
mod core;
mod expected;
mod lexical;
mod policy;
mod recover;
mod scan;
#[cfg(test)]
mod tests;

use super::ast;
use crate::diag::Diagnostic;
use crate::source::{FileId, Span};
use pest::Parser as _;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/ztpol.pest"]
struct ZtpolParser;

type Pair<'i> = pest::iterators::Pair<'i, Rule>;
type Pairs<'i> = pest::iterators::Pairs<'i, Rule>;

/// How deeply conditions and bodies may nest before the parser gives up on an item. Keeps every
/// later recursive pass over the AST far from the stack limit.
const MAX_DEPTH: usize = 256;

/// State shared by the `parse_*` functions of one item: where the parsed text sits in the file,
/// and the diagnostics of accepted mistakes.
struct Ctx {
    file: FileId,
    /// Byte offset of the parsed text in the file (items are parsed from a suffix of it).
    base: usize,
    diags: Vec<Diagnostic>,
    depth: usize,
    /// Whether the nesting limit was already reported for this item.
    too_deep: bool,
}

impl Ctx {
    fn new(file: FileId, base: usize) -> Ctx {
        Ctx {
            file,
            base,
            diags: Vec::new(),
            depth: 0,
            too_deep: false,
        }
    }

    fn span(&self, span: pest::Span<'_>) -> Span {
        Span::new(self.file, self.base + span.start(), self.base + span.end())
    }

    fn ident(&self, pair: &Pair<'_>) -> ast::Ident {
        ast::Ident {
            name: pair.as_str().to_string(),
            span: self.span(pair.as_span()),
        }
    }

    fn error(&mut self, diag: Diagnostic) {
        self.diags.push(diag);
    }
}

/// The next child of a pair whose grammar rule always produces it.
fn next<'i>(pairs: &mut Pairs<'i>) -> Pair<'i> {
    // Invariant: callers only take children that their grammar rule always has; a successful
    // pest parse guarantees the shape.
    pairs.next().expect("grammar guarantees this child")
}

/// Reports a rule in a position the grammar does not allow it: a bug in this file.
fn unexpected(pair: &Pair<'_>) -> ! {
    unreachable!(
        "grammar does not produce {:?} here (`{}`)",
        pair.as_rule(),
        pair.as_str()
    )
}

/// Parses one source file. Returns the items that parsed and every syntax error found; an item
/// with an accepted mistake (such as `=` for `==`) is returned as the author meant it, with its
/// error in the diagnostics.
pub fn parse_module(file: FileId, text: &str) -> (ast::Module, Vec<Diagnostic>) {
    parse_module_sliced(file, text, true)
}

/// [`parse_module`]; with `sliced` false, every item is parsed from the whole rest of the text
/// (quadratic, and kept only to test that slicing never changes the result).
fn parse_module_sliced(file: FileId, text: &str, sliced: bool) -> (ast::Module, Vec<Diagnostic>) {
    let mut items = Vec::new();
    let mut diags = Vec::new();
    let ends = if sliced {
        scan::statement_ends(text)
    } else {
        Vec::new()
    };
    let mut pos = 0;
    while pos < text.len() {
        // Parse from a slice that stops at a likely item boundary, so that pest's work (including
        // building its error) is proportional to the item. An error at the very end of the slice
        // means the item needed more text: try again with twice as many boundaries.
        let item_start = scan::skip_trivia(text, pos);
        let first = ends.partition_point(|&e| e <= item_start);
        let mut span_count = 1;
        let parsed = loop {
            let slice_end = ends
                .get(first + span_count - 1)
                .copied()
                .unwrap_or(text.len());
            let parsed = ZtpolParser::parse(Rule::item_entry, &text[pos..slice_end]);
            match &parsed {
                Err(err)
                    if slice_end < text.len() && recover::error_offset(err) >= slice_end - pos =>
                {
                    span_count *= 2;
                }
                Ok(_) | Err(_) => break parsed.map(|pairs| (pairs, slice_end)),
            }
        };
        match parsed {
            Ok((mut pairs, slice_end)) => {
                let entry = next(&mut pairs);
                let Some(item) = entry.into_inner().find(|p| p.as_rule() == Rule::item) else {
                    // Only whitespace and comments up to the end of the slice.
                    pos = slice_end;
                    continue;
                };
                let mut ctx = Ctx::new(file, pos);
                let end = pos + item.as_span().end();
                items.push(core::parse_item(&mut ctx, item));
                diags.append(&mut ctx.diags);
                pos = end;
            }
            Err(err) => {
                let failure = recover::diagnose(file, text, pos, &err);
                diags.push(failure.diagnostic);
                pos = failure.resume.max(pos + 1).min(text.len());
                while !text.is_char_boundary(pos) {
                    pos += 1;
                }
            }
        }
    }
    (ast::Module { file, items }, diags)
}

/// Parses a goal or a fact such as `path("a", X)`; a trailing `.` or `?` is allowed.
pub fn parse_atom(file: FileId, text: &str) -> Result<ast::Atom, Vec<Diagnostic>> {
    match ZtpolParser::parse(Rule::goal, text) {
        Ok(mut pairs) => {
            let goal = next(&mut pairs);
            let mut ctx = Ctx::new(file, 0);
            let atom = core::parse_atom_node(&mut ctx, next(&mut goal.into_inner()));
            if ctx.diags.is_empty() {
                Ok(atom)
            } else {
                Err(ctx.diags)
            }
        }
        Err(err) => Err(vec![recover::diagnose(file, text, 0, &err).diagnostic]),
    }
}
