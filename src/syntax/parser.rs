//! The pest parser: one `parse_*` function per grammar rule.

use super::ast;
use crate::diag::Diagnostic;
use crate::source::FileId;

/// Parses one source file. Returns the items that parsed and every syntax error found.
pub fn parse_module(file: FileId, _text: &str) -> (ast::Module, Vec<Diagnostic>) {
    (
        ast::Module {
            file,
            items: Vec::new(),
        },
        Vec::new(),
    )
}

/// Parses a goal or a fact such as `path("a", X)` (a trailing `.` is allowed).
pub fn parse_atom(_file: FileId, _text: &str) -> Result<ast::Atom, Vec<Diagnostic>> {
    Err(Vec::new())
}
