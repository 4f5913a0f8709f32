//! Goals and facts given outside source files: `ztpol query GOAL`, the REPL.

use super::resolve::{arity_mismatch, plural, suggest};
use super::scope::{Position, RelView, Scope};
use crate::diag::Diagnostic;
use crate::ir::{self, Origin, Program, RelId, RelKind, Sym, Term};
use crate::syntax::ast;

/// A lowered query goal: `path("a", X)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub rel: RelId,
    /// Constants (interned into the program), variables (numbered in order of first use) and
    /// wildcards.
    pub args: Vec<ir::Term>,
    /// Names of the goal's variables, indexed by [`ir::Var`].
    pub var_names: Vec<String>,
}

impl Goal {
    /// Whether `tuple` matches the goal's constants and repeated variables.
    pub fn matches(&self, tuple: &[Sym]) -> bool {
        let mut bound: Vec<Option<Sym>> = vec![None; self.var_names.len()];
        self.args.len() == tuple.len()
            && self.args.iter().zip(tuple).all(|(t, v)| match t {
                Term::Const(c) => c == v,
                Term::Wildcard => true,
                Term::Var(var) => match bound.get_mut(var.0 as usize) {
                    Some(Some(b)) => b == v,
                    Some(slot) => {
                        *slot = Some(*v);
                        true
                    }
                    None => true,
                },
            })
    }

    /// The tuples of the goal's relation in `model` that match it, in value order.
    pub fn matching(&self, program: &Program, model: &crate::eval::Model) -> Vec<Vec<Sym>> {
        let mut rows: Vec<Vec<Sym>> = model
            .get(self.rel)
            .iter()
            .filter(|t| self.matches(t))
            .map(<[Sym]>::to_vec)
            .collect();
        rows.sort_by(|a, b| program.interner.compare_rows(a, b));
        rows
    }

    /// The goal's constants by column (`None` for a variable or a wildcard).
    pub fn pattern(&self) -> Vec<Option<Sym>> {
        self.args
            .iter()
            .map(|t| match t {
                Term::Const(c) => Some(*c),
                Term::Var(_) | Term::Wildcard => None,
            })
            .collect()
    }
}

/// Resolves an atom against the program's declared relations and lowers its arguments.
fn lower_atom(
    program: &mut Program,
    atom: &ast::Atom,
    pos: Position,
) -> Result<(RelId, Vec<Term>, Vec<String>), Vec<Diagnostic>> {
    let found = program
        .relations
        .iter()
        .position(|r| r.name == atom.rel.name && r.kind == RelKind::Declared);
    let Some(index) = found else {
        let names = program
            .relations
            .iter()
            .filter(|r| r.kind == RelKind::Declared)
            .map(|r| r.name.as_str());
        let help = match suggest(&atom.rel.name, names) {
            Some(s) => format!("did you mean `{s}`?"),
            None => "the goal must name a relation the policy declares".to_string(),
        };
        return Err(vec![Diagnostic::error(
            "ztpol::check::unknown-relation",
            format!("unknown relation `{}`", atom.rel.name),
        )
        .at(atom.rel.span, "not declared")
        .with_help(help)]);
    };
    let relation = &program.relations[index];
    if relation.arity() != atom.args.len() {
        return Err(vec![arity_mismatch(
            &relation.name,
            relation.arity(),
            relation.span,
            atom.args.len(),
            atom.span,
        )
        .with_help(format!(
            "`{}` has {} {}",
            relation.name,
            relation.arity(),
            plural(relation.arity(), "column")
        ))]);
    }
    let view = RelView {
        name: &relation.name,
        columns: &relation.columns,
        column_spans: &[],
    };
    let mut scope = Scope::new();
    let mut diags = Vec::new();
    let args = scope.lower_args(&mut program.interner, &view, atom, pos, &mut diags);
    if diags.is_empty() {
        Ok((RelId(index as u32), args, scope.var_names))
    } else {
        Err(diags)
    }
}

/// Lowers a query goal. Constants are interned into the program's interner; an unknown
/// relation, a wrong arity or a constant of the wrong type is an error.
pub fn lower_goal(program: &mut Program, atom: &ast::Atom) -> Result<Goal, Vec<Diagnostic>> {
    let (rel, args, var_names) = lower_atom(program, atom, Position::Goal)?;
    Ok(Goal {
        rel,
        args,
        var_names,
    })
}

/// Lowers a fact given at the prompt (constants only); its origin is the atom's span.
pub fn lower_fact(program: &mut Program, atom: &ast::Atom) -> Result<ir::Fact, Vec<Diagnostic>> {
    let (rel, args, _) = lower_atom(program, atom, Position::Fact)?;
    let values: Option<Vec<Sym>> = args
        .iter()
        .map(|t| match t {
            Term::Const(s) => Some(*s),
            Term::Var(_) | Term::Wildcard => None,
        })
        .collect();
    match values {
        Some(values) => Ok(ir::Fact {
            rel,
            values,
            origin: Origin::Inline(atom.span),
        }),
        // `lower_args` reports every non-constant argument of a fact, so this is unreachable
        // in practice; it still fails closed with an error rather than panicking.
        None => Err(vec![Diagnostic::error(
            "ztpol::check::non-ground-fact",
            format!("fact for `{}` is not ground", atom.rel.name),
        )
        .at(atom.span, "facts hold constants only")]),
    }
}
