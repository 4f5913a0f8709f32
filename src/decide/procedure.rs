//! The steps of one decision: the forbids that apply, and each chain principal's grants.
//!
//! A request is decided without building strings: principals are looked up by their ref
//! written into a stack buffer, statements and grants are handled by index, and the texts of
//! a denial (principal refs, statement ids, why each condition failed) are built only when
//! the request is denied.

use super::cond::{self, CondError, Env, Tri};
use super::index::{covers_kind, ActionIndex, InstanceIndex};
use super::residual::{Constraint, TooLarge};
use super::{Denial, Failure, Principal, Request};
use crate::eval::Model;
use crate::ir::{Effect, Policy, PrincipalMatch, Program, Sym};
use crate::source::Span;
use std::borrow::Cow;

/// Chain positions whose symbols are kept inline (longer chains spill to the heap).
const INLINE: usize = 4;

/// One request being decided: its chain's symbols, and the statements covering its action.
pub(super) struct Run<'a> {
    program: &'a Program,
    model: &'a Model,
    instances: &'a InstanceIndex,
    request: &'a Request,
    /// Symbols of the first chain principals; `None` for a principal no relation mentions.
    syms: [Option<Sym>; INLINE],
    /// Symbols of the principals past [`INLINE`].
    more: Vec<Option<Sym>>,
    /// Indices into `program.policies` of the statements covering the action (of any
    /// resource kind: [`Run::statements`] filters by kind).
    candidates: Cow<'a, [usize]>,
}

/// What a chain principal is granted: everything, or only under a residual constraint.
pub(super) enum Granted {
    Always,
    Under(Constraint),
}

impl<'a> Run<'a> {
    pub fn new(
        program: &'a Program,
        model: &'a Model,
        actions: &'a ActionIndex,
        instances: &'a InstanceIndex,
        request: &'a Request,
    ) -> Run<'a> {
        let mut syms = [None; INLINE];
        let mut more = Vec::new();
        for (pos, p) in request.chain().enumerate() {
            let sym = lookup_principal(program, p);
            match syms.get_mut(pos) {
                Some(slot) => *slot = sym,
                None => more.push(sym),
            }
        }
        Run {
            program,
            model,
            instances,
            request,
            syms,
            more,
            candidates: actions.for_action(&request.action.name),
        }
    }

    fn sym(&self, pos: usize) -> Option<Sym> {
        match self.syms.get(pos) {
            Some(s) => *s,
            None => self.more.get(pos - INLINE).copied().flatten(),
        }
    }

    /// The ref of the principal at chain position `pos`, for messages.
    fn reference(&self, pos: usize) -> String {
        self.request
            .chain_at(pos)
            .map(Principal::reference)
            .unwrap_or_default()
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
        let kind = self.request.resource.ty.as_str();
        self.candidates
            .iter()
            .filter_map(move |&i| program.policies.get(i).map(|p| (i, p)))
            .filter(move |(i, p)| p.effect == effect && covers_kind(program, *i, kind))
    }

    /// The instances of statement `i` about the principal at chain position `pos` (none when
    /// its type filter excludes that principal).
    fn instances(&self, i: usize, p: &Policy, pos: usize) -> std::slice::ChunksExact<'a, Sym> {
        let found = match (&p.principal, self.request.chain_at(pos), self.sym(pos)) {
            (PrincipalMatch::Chain { ty }, Some(principal), Some(sym))
                if ty.as_ref().is_none_or(|t| *t == principal.ty) =>
            {
                Some(sym)
            }
            _ => None,
        };
        match found {
            Some(sym) => self.instances.instances(self.program, self.model, i, sym),
            None => [].chunks_exact(1),
        }
    }

    pub fn too_large(&self, id: Option<&str>, pos: usize, e: TooLarge) -> Denial {
        Denial::Error {
            id: id.unwrap_or_default().to_string(),
            principal: id.is_none().then(|| self.reference(pos)),
            error: CondError::TooLarge(e, Span::default()),
        }
    }

    /// Every forbid instance that could apply: a true one is the denial; the others' residual
    /// conditions are returned with their statements' indices, to be negated into the
    /// constraint.
    pub fn forbids(&self) -> Result<Vec<(usize, Constraint)>, Denial> {
        let mut pending = Vec::new();
        for (i, p) in self.statements(Effect::Forbid) {
            match &p.principal {
                PrincipalMatch::Request => {
                    for row in self.model.get(p.rel).iter() {
                        self.forbid_instance(i, p, None, row, &mut pending)?;
                    }
                }
                PrincipalMatch::Chain { .. } => {
                    for pos in 0..self.request.chain_len() {
                        for row in self.instances(i, p, pos) {
                            self.forbid_instance(i, p, Some(pos), row, &mut pending)?;
                        }
                    }
                }
            }
        }
        Ok(pending)
    }

    /// One forbid instance (`pos`: the chain position it is about, `None`: the request).
    fn forbid_instance(
        &self,
        i: usize,
        p: &Policy,
        pos: Option<usize>,
        row: &[Sym],
        pending: &mut Vec<(usize, Constraint)>,
    ) -> Result<(), Denial> {
        match self.env(pos, row).eval(&p.cond) {
            Ok(Tri::False) => Ok(()),
            Ok(Tri::True) => Err(Denial::Forbidden {
                id: p.id.clone(),
                principal: pos.map(|n| self.reference(n)),
                condition: cond::full_span(&p.cond)
                    .map(|s| cond::snippet(self.program, s).to_string()),
            }),
            Ok(Tri::Residual(c)) => {
                pending.push((i, c));
                Ok(())
            }
            Err(error) => Err(Denial::Error {
                id: p.id.clone(),
                principal: pos.map(|n| self.reference(n)),
                error,
            }),
        }
    }

    /// What the principal at chain position `pos` is granted: the OR of its covering permit
    /// instances' conditions; the indices of the permits that are not false are appended to
    /// `ids` as `(pos, statement)`, each once. A principal with nothing is the denial, with
    /// every covering statement's failure.
    pub fn grants(&self, pos: usize, ids: &mut Vec<(usize, usize)>) -> Result<Granted, Denial> {
        let mut always = false;
        let mut residual: Option<Constraint> = None;
        let from = ids.len();
        for (i, p) in self.statements(Effect::Permit) {
            // A permit about the request as a whole grants nothing (the checker rejects it):
            // `instances` gives it none.
            for row in self.instances(i, p, pos) {
                let env = self.env(Some(pos), row);
                let error = |error| Denial::Error {
                    id: p.id.clone(),
                    principal: Some(self.reference(pos)),
                    error,
                };
                match env.eval(&p.cond).map_err(error)? {
                    Tri::False => continue,
                    Tri::True => always = true,
                    Tri::Residual(_) if always => {}
                    Tri::Residual(c) => {
                        let r = match residual.take() {
                            None => c,
                            Some(a) => a
                                .or(&c)
                                .map_err(|e| error(CondError::TooLarge(e, p.span)))?,
                        };
                        always = r.is_always();
                        residual = Some(r);
                    }
                }
                if !ids[from..].iter().any(|&(_, j)| j == i) {
                    ids.push((pos, i));
                }
            }
        }
        if always {
            return Ok(Granted::Always);
        }
        match residual {
            Some(c) if !c.is_never() => Ok(Granted::Under(c)),
            Some(_) | None => Err(Denial::NoGrant {
                principal: self.reference(pos),
                position: pos,
                failures: self.failures(pos),
            }),
        }
    }

    /// Why each covering permit instance of the principal at `pos` is false (all of them are,
    /// when this is asked).
    fn failures(&self, pos: usize) -> Vec<Failure> {
        let mut failures = Vec::new();
        for (i, p) in self.statements(Effect::Permit) {
            for row in self.instances(i, p, pos) {
                let env = self.env(Some(pos), row);
                if let Ok(Tri::False) = env.eval(&p.cond) {
                    failures.push(Failure {
                        id: p.id.clone(),
                        detail: env.why_false(&p.cond),
                    });
                }
            }
        }
        failures
    }
}

/// The symbol of a principal's ref (`type:id`), written into a stack buffer when it is short.
fn lookup_principal(program: &Program, p: &Principal) -> Option<Sym> {
    const CAP: usize = 128;
    let (ty, id) = (p.ty.as_bytes(), p.id.as_bytes());
    let n = ty.len() + 1 + id.len();
    if n > CAP {
        return program.interner.lookup_str(&p.reference());
    }
    let mut buf = [0u8; CAP];
    buf[..ty.len()].copy_from_slice(ty);
    buf[ty.len()] = b':';
    buf[ty.len() + 1..n].copy_from_slice(id);
    match std::str::from_utf8(&buf[..n]) {
        Ok(r) => program.interner.lookup_str(r),
        // (two strings joined by an ASCII byte are UTF-8; this is not reached)
        Err(_) => program.interner.lookup_str(&p.reference()),
    }
}
