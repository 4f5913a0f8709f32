//! Range restriction: every variable of a rule's head, of a negated atom and of a comparison
//! must be bound by a positive atom of the same body.

use super::scope::Scope;
use super::Checker;
use crate::diag::Diagnostic;
use crate::source::Span;
use crate::syntax::ast;

/// Where an unbound variable was found, for the message.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place {
    Head,
    Negation,
    Comparison,
    Principal,
    Condition,
}

impl Place {
    fn describe(self) -> &'static str {
        match self {
            Place::Head => "in the head",
            Place::Negation => "in a negated atom",
            Place::Comparison => "in a comparison",
            Place::Principal => "as the statement's principal",
            Place::Condition => "in the `when` condition",
        }
    }
}

/// Reports `name` (at `span`) unless a positive atom binds it. Each variable is reported once
/// per rule.
pub(crate) fn require_bound(
    ck: &mut Checker<'_>,
    scope: &mut Scope,
    name: &str,
    span: Span,
    place: Place,
) {
    let v = scope.var(name);
    if scope.is_bound(v) || !scope.first_report(v) {
        return;
    }
    let (code, message, help) = match place {
        Place::Head => (
            "ztpol::check::unbound-variable",
            format!("variable `{name}` is not bound"),
            format!("bind `{name}` with a positive atom of the body, or replace it with a constant"),
        ),
        Place::Negation => (
            "ztpol::check::unbound-variable",
            format!("variable `{name}` is not bound"),
            format!(
                "bind `{name}` with a positive atom of the body, or write `_` if any value will do"
            ),
        ),
        Place::Comparison => (
            "ztpol::check::unbound-variable",
            format!("variable `{name}` is not bound"),
            format!("bind `{name}` with a positive atom of the body before comparing it"),
        ),
        Place::Principal => (
            "ztpol::check::unbound-principal",
            format!("principal variable `{name}` is not bound by the `if` body"),
            format!("add an `if` body that binds `{name}`, such as `if member({name}, \"admins\")`"),
        ),
        Place::Condition => (
            "ztpol::check::unbound-variable",
            format!("variable `{name}` in the condition is not bound by the `if` body"),
            format!(
                "bind `{name}` with a positive atom of the `if` body, or compare with a request attribute instead"
            ),
        ),
    };
    ck.diags.push(
        Diagnostic::error(code, message)
            .at(
                span,
                format!("`{name}` is used {} but nothing binds it", place.describe()),
            )
            .with_help(help),
    );
}

pub(crate) fn check_head(ck: &mut Checker<'_>, scope: &mut Scope, head: &ast::Atom) {
    for arg in &head.args {
        if let ast::Term::Var(v) = arg {
            require_bound(ck, scope, &v.name, v.span, Place::Head);
        }
    }
}

pub(crate) fn check_body(ck: &mut Checker<'_>, scope: &mut Scope, body: &[ast::Literal]) {
    for lit in body {
        match lit {
            ast::Literal::Pos(_) => {}
            ast::Literal::Neg(atom, _) => {
                for arg in &atom.args {
                    if let ast::Term::Var(v) = arg {
                        require_bound(ck, scope, &v.name, v.span, Place::Negation);
                    }
                }
            }
            ast::Literal::Cmp(cmp) => {
                for side in [&cmp.lhs, &cmp.rhs] {
                    if let ast::Term::Var(v) = side {
                        require_bound(ck, scope, &v.name, v.span, Place::Comparison);
                    }
                }
            }
        }
    }
}
