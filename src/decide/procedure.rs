//! The steps of one decision: the forbids that apply, and each chain principal's grants.

use super::cond::{self, CondError, Env, Tri};
use super::index::{ActionIndex, InstanceIndex};
use super::residual::{Constraint, TooLarge};
use super::{Denial, Failure, Request};
use crate::eval::Model;
use crate::ir::{Effect, Policy, PrincipalMatch, Program, Sym, Value};
use crate::source::Span;

/// One request being decided: its chain's refs and symbols, and the statements covering its
/// action and resource kind.
pub(super) struct Run<'a> {
    program: &'a Program,
    model: &'a Model,
    instances: &'a InstanceIndex,
    request: &'a Request,
    /// Principal refs by chain position (0 is the subject).
    refs: Vec<String>,
    /// Their symbols; `None` for a principal no relation mentions.
    syms: Vec<Option<Sym>>,
    /// Indices into `program.policies`.
    candidates: Vec<usize>,
}

impl<'a> Run<'a> {
    pub fn new(
        program: &'a Program,
        model: &'a Model,
        actions: &ActionIndex,
        instances: &'a InstanceIndex,
        request: &'a Request,
    ) -> Run<'a> {
        let mut refs = Vec::with_capacity(request.chain_len());
        let mut syms = Vec::with_capacity(request.chain_len());
        for p in request.chain() {
            let value = Value::Str(p.reference());
            syms.push(program.interner.lookup(&value));
            refs.push(match value {
                Value::Str(r) => r,
                Value::Int(_) | Value::Bool(_) => String::new(),
            });
        }
        Run {
            program,
            model,
            instances,
            request,
            refs,
            syms,
            candidates: actions.candidates(program, &request.action.name, &request.resource.ty),
        }
    }

    fn env<'s>(&'s self, principal: Option<usize>, row: &'s [Sym]) -> Env<'s> {
        Env {
            program: self.program,
            model: self.model,
            request: self.request,
            principal,
            row,
        }
    }

    /// The covering statements of one effect, with their indices.
    fn statements(&self, effect: Effect) -> impl Iterator<Item = (usize, &'a Policy)> + '_ {
        let program = self.program;
        self.candidates
            .iter()
            .map(move |&i| (i, &program.policies[i]))
            .filter(move |(_, p)| p.effect == effect)
    }

    /// The instances of statement `i` about the principal at chain position `pos` (none when
    /// its type filter excludes that principal).
    fn instances(&self, i: usize, p: &Policy, pos: usize) -> impl Iterator<Item = &'a [Sym]> {
        let found = match (&p.principal, self.request.chain_at(pos), self.syms.get(pos)) {
            (PrincipalMatch::Chain { ty }, Some(principal), Some(Some(sym)))
                if ty.as_ref().is_none_or(|t| *t == principal.ty) =>
            {
                Some(*sym)
            }
            _ => None,
        };
        let index = self.instances;
        found
            .into_iter()
            .flat_map(move |sym| index.instances(i, sym))
    }

    pub fn too_large(&self, id: Option<&str>, pos: usize, e: TooLarge) -> Denial {
        Denial::Error {
            id: id.unwrap_or_default().to_string(),
            principal: id.is_none().then(|| self.refs[pos].clone()),
            error: CondError::TooLarge(e, Span::default()),
        }
    }

    /// Every forbid instance that could apply: a true one is the denial; the others' residual
    /// conditions are returned, to be negated into the constraint.
    pub fn forbids(&self) -> Result<Vec<(String, Constraint)>, Denial> {
        let mut pending = Vec::new();
        for (i, p) in self.statements(Effect::Forbid) {
            // (chain position, instance) pairs; `None`: about the request as a whole
            let mut targets: Vec<(Option<usize>, &[Sym])> = Vec::new();
            match &p.principal {
                PrincipalMatch::Request => {
                    targets.extend(self.model.get(p.rel).iter().map(|row| (None, row)));
                }
                PrincipalMatch::Chain { .. } => {
                    for pos in 0..self.request.chain_len() {
                        targets.extend(self.instances(i, p, pos).map(|row| (Some(pos), row)));
                    }
                }
            }
            for (pos, row) in targets {
                let principal = pos.map(|n| self.refs[n].clone());
                match self.env(pos, row).eval(&p.cond) {
                    Ok(Tri::False) => {}
                    Ok(Tri::True) => {
                        return Err(Denial::Forbidden {
                            id: p.id.clone(),
                            principal,
                            condition: cond::full_span(&p.cond)
                                .map(|s| cond::snippet(self.program, s).to_string()),
                        })
                    }
                    Ok(Tri::Residual(c)) => pending.push((p.id.clone(), c)),
                    Err(error) => {
                        return Err(Denial::Error {
                            id: p.id.clone(),
                            principal,
                            error,
                        })
                    }
                }
            }
        }
        Ok(pending)
    }

    /// What the principal at chain position `pos` is granted: the OR of its covering permit
    /// instances' conditions, with the ids of the permits that are not false. A principal with
    /// nothing is the denial, with every covering statement's failure.
    pub fn grants(&self, pos: usize) -> Result<(Constraint, Vec<String>), Denial> {
        let mut any = Constraint::never();
        let mut ids: Vec<String> = Vec::new();
        let mut failures = Vec::new();
        for (i, p) in self.statements(Effect::Permit) {
            // A permit about the request as a whole grants nothing (the checker rejects it):
            // `instances` gives it none.
            for row in self.instances(i, p, pos) {
                let env = self.env(Some(pos), row);
                let error = |error| Denial::Error {
                    id: p.id.clone(),
                    principal: Some(self.refs[pos].clone()),
                    error,
                };
                any = match env.eval(&p.cond).map_err(error)? {
                    Tri::False => {
                        failures.push(Failure {
                            id: p.id.clone(),
                            detail: env.why_false(&p.cond),
                        });
                        continue;
                    }
                    Tri::True => Constraint::always(),
                    Tri::Residual(_) if any.is_always() => any,
                    Tri::Residual(c) => any
                        .or(&c)
                        .map_err(|e| error(CondError::TooLarge(e, p.span)))?,
                };
                if !ids.contains(&p.id) {
                    ids.push(p.id.clone());
                }
            }
        }
        if any.is_never() {
            return Err(Denial::NoGrant {
                principal: self.refs[pos].clone(),
                position: pos,
                failures,
            });
        }
        Ok((any, ids))
    }
}
