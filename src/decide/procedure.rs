//! The steps of one decision: the forbids that apply, and each chain principal's grants.
//!
//! A request is decided without building strings: principals are looked up by their ref
//! written into a stack buffer, statements and grants are handled by index. A principal
//! without a grant is denied by its chain position alone: why each covering condition failed
//! ([`Run::failures`]) is worked out again when the denial is rendered.

use super::cond::{self, CondError, Env, Tri};
use super::index::{covers_kind, ActionIndex, Covering, InstanceIndex, PrincipalRuns};
use super::residual::{Constraint, TooLarge};
use super::{Denial, Failure, Principal, Request};
use crate::eval::Model;
use crate::ir::{Effect, Hashed, Interner, Policy, PrincipalMatch, Program, Sym};
use crate::mem::same;
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
    /// The instance runs of the first chain principals.
    principals: [PrincipalRuns<'a>; INLINE],
    /// The runs of the principals past [`INLINE`].
    more: Vec<PrincipalRuns<'a>>,
    /// Indices into `program.policies` of the statements covering the action (of any
    /// resource kind: [`Run::statements`] filters by kind), and of the forbids among them.
    covering: Cow<'a, Covering>,
}

/// A list whose first [`SMALL`] items are kept inline (the rest spill to the heap).
pub(super) struct Small<T> {
    inline: [T; SMALL],
    len: usize,
    spill: Vec<T>,
}

/// Items a [`Small`] list keeps inline.
const SMALL: usize = 8;

impl<T: Copy + Default> Small<T> {
    pub fn new() -> Self {
        Small {
            inline: [T::default(); SMALL],
            len: 0,
            spill: Vec::new(),
        }
    }

    pub fn push(&mut self, item: T) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = item,
            None => self.spill.push(item),
        }
        self.len += 1;
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.inline[..self.len.min(SMALL)]
            .iter()
            .chain(self.spill.iter())
    }
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
        let mut principals = [PrincipalRuns::default(); INLINE];
        let mut more = Vec::new();
        let short_refs = request.chain_len() <= INLINE
            && request
                .chain()
                .map(|p| p.ty.len() + 1 + p.id.len())
                .sum::<usize>()
                <= REFS;
        if short_refs {
            // The refs written one after another, every ref hashed and the memory its lookup
            // starts with read first, so that those reads (likely uncached) are fetched
            // together rather than one after the other.
            let mut buf = [0u8; REFS];
            let mut ends = [0usize; INLINE];
            let mut at = 0;
            for (end, p) in ends.iter_mut().zip(request.chain()) {
                at = write_ref(&mut buf, at, p);
                *end = at;
            }
            let n = request.chain_len();
            let mut keys: [Option<Hashed<'_>>; INLINE] = [None; INLINE];
            let mut touched = 0;
            let mut start = 0;
            for (key, &end) in keys.iter_mut().zip(&ends[..n]) {
                let k = Interner::hashed(buf.get(start..end).unwrap_or_default());
                start = end;
                touched ^= instances.touch(program, k);
                *key = Some(k);
            }
            std::hint::black_box(touched);
            // The same for the principals' runs, which the slots locate.
            let mut touched = 0;
            for (slot, key) in principals.iter_mut().zip(&keys[..n]) {
                if let Some(key) = key {
                    *slot = instances.principal(program, *key);
                    touched ^= slot.touch();
                }
            }
            std::hint::black_box(touched);
        } else {
            let mut text = RefText::default();
            for (pos, p) in request.chain().enumerate() {
                text.set(p);
                let runs = instances.principal(program, Interner::hashed(text.as_bytes()));
                match principals.get_mut(pos) {
                    Some(slot) => *slot = runs,
                    None => more.push(runs),
                }
            }
        }
        Run {
            program,
            model,
            instances,
            request,
            principals,
            more,
            covering: actions.covering(&request.action.name),
        }
    }

    fn principal(&self, pos: usize) -> Option<&PrincipalRuns<'a>> {
        match self.principals.get(pos) {
            Some(r) => Some(r),
            None => self.more.get(pos - INLINE),
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
        let candidates = match effect {
            Effect::Forbid => &self.covering.forbids,
            Effect::Permit => &self.covering.all,
        };
        candidates
            .iter()
            .filter_map(move |&i| program.policies.get(i).map(|p| (i, p)))
            .filter(move |(i, p)| p.effect == effect && covers_kind(program, *i, kind))
    }

    /// The instances of statement `i` about the principal at chain position `pos` (none when
    /// its type filter excludes that principal).
    fn instances(&self, i: usize, p: &Policy, pos: usize) -> std::slice::ChunksExact<'a, Sym> {
        let found = match (
            &p.principal,
            self.request.chain_at(pos),
            self.principal(pos),
        ) {
            (PrincipalMatch::Chain { ty }, Some(principal), Some(runs))
                if admits(ty.as_deref(), principal) =>
            {
                Some(runs)
            }
            _ => None,
        };
        match found {
            Some(runs) => self.instances.instances(self.program, self.model, i, runs),
            None => [].chunks_exact(1),
        }
    }

    /// Calls `f(statement index, statement, instances)` for each covering permit with
    /// instances about the principal at chain position `pos`, in statement order, stopping at
    /// the first error.
    fn each_permit(
        &self,
        pos: usize,
        mut f: impl FnMut(usize, &'a Policy, std::slice::ChunksExact<'a, Sym>) -> Result<(), Denial>,
    ) -> Result<(), Denial> {
        let (Some(runs), Some(principal)) = (self.principal(pos), self.request.chain_at(pos))
        else {
            return Ok(());
        };
        if self.instances.searches() {
            for (i, p) in self.statements(Effect::Permit) {
                f(i, p, self.instances(i, p, pos))?;
            }
            return Ok(());
        }
        // The principal's runs and the candidates are both in statement order: walk them
        // together. (A permit about the request as a whole grants nothing, and has no runs.)
        let kind = self.request.resource.ty.as_str();
        let mut cands = self.covering.all.iter().copied().peekable();
        for (i, run) in runs.runs() {
            while cands.next_if(|&c| c < i).is_some() {}
            match cands.peek() {
                None => break,
                Some(&c) if c != i => continue,
                Some(_) => {}
            }
            let Some(p) = self.program.policies.get(i) else {
                continue;
            };
            let covers = p.effect == Effect::Permit
                && covers_kind(self.program, i, kind)
                && match &p.principal {
                    PrincipalMatch::Chain { ty } => admits(ty.as_deref(), principal),
                    PrincipalMatch::Request => false,
                };
            if covers {
                f(
                    i,
                    p,
                    self.instances.tuples(self.program, self.model, i, run),
                )?;
            }
        }
        Ok(())
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
                    let searches = self.instances.searches();
                    for pos in 0..self.request.chain_len() {
                        // (most principals have no instance of a forbid: that is found in
                        // their few runs)
                        if !searches && !self.principal(pos).is_some_and(|r| r.has(i)) {
                            continue;
                        }
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
        match self.env(pos, row).evaluate(&p.cond) {
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
    /// `ids` as `(pos, statement)`, each once. A principal with nothing is the denial (why
    /// each covering statement failed is listed when it is rendered: [`Run::failures`]).
    pub fn grants(&self, pos: usize, ids: &mut Small<(usize, usize)>) -> Result<Granted, Denial> {
        let mut always = false;
        let mut residual: Option<Constraint> = None;
        self.each_permit(pos, |i, p, rows| {
            // (each statement comes once: its index is pushed at its first instance that is
            // not false)
            let mut pushed = false;
            for row in rows {
                let env = self.env(Some(pos), row);
                let error = |error| Denial::Error {
                    id: p.id.clone(),
                    principal: Some(self.reference(pos)),
                    error,
                };
                match env.evaluate(&p.cond).map_err(error)? {
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
                if !pushed {
                    ids.push((pos, i));
                    pushed = true;
                }
            }
            Ok(())
        })?;
        if always {
            return Ok(Granted::Always);
        }
        match residual {
            Some(c) if !c.is_never() => Ok(Granted::Under(c)),
            Some(_) | None => Err(Denial::NoGrant {
                position: pos,
                all_false: residual.is_none(),
            }),
        }
    }

    /// Why each covering permit instance of the principal at `pos` whose condition is false
    /// failed; `all_false`: every one of them is known to be (none was residual), and the
    /// conditions are not evaluated again.
    pub fn failures(&self, pos: usize, all_false: bool) -> Vec<Failure> {
        let mut failures = Vec::new();
        let _ = self.each_permit(pos, |_, p, rows| {
            for row in rows {
                let env = self.env(Some(pos), row);
                if all_false || env.is_false(&p.cond) {
                    failures.push(Failure {
                        id: p.id.clone(),
                        detail: env.why_false(&p.cond),
                    });
                }
            }
            Ok(())
        });
        failures
    }
}

/// Whether a statement about principals of type `ty` (`None`: any) is about `principal`.
fn admits(ty: Option<&str>, principal: &Principal) -> bool {
    ty.is_none_or(|t| same(t.as_bytes(), principal.ty.as_bytes()))
}

/// Refs of at most this many bytes are written on the stack for a lookup.
const SHORT: usize = 64;

/// The refs of a chain of at most [`INLINE`] principals are written on the stack, one after
/// another, when they take at most this many bytes together.
const REFS: usize = INLINE * SHORT;

/// Writes the ref `type:id` of `p` into `buf` from `at`, and returns where it ends; `buf` must
/// have room for it (`at` is returned, and nothing written, when it has not).
fn write_ref(buf: &mut [u8], at: usize, p: &Principal) -> usize {
    let (ty, id) = (p.ty.as_bytes(), p.id.as_bytes());
    let end = at + ty.len() + 1 + id.len();
    let Some(out) = buf.get_mut(at..end) else {
        return at;
    };
    let (head, rest) = out.split_at_mut(ty.len());
    head.copy_from_slice(ty);
    if let Some((colon, tail)) = rest.split_first_mut() {
        *colon = b':';
        tail.copy_from_slice(id);
    }
    end
}

/// A principal's ref `type:id`, written out for a lookup.
struct RefText {
    short: [u8; SHORT],
    len: usize,
    /// The ref, when it is longer than [`SHORT`] bytes.
    long: String,
}

impl Default for RefText {
    fn default() -> Self {
        RefText {
            short: [0; SHORT],
            len: 0,
            long: String::new(),
        }
    }
}

impl RefText {
    fn set(&mut self, p: &Principal) {
        // (a ref is never empty: 0 is returned only when it does not fit)
        self.len = write_ref(&mut self.short, 0, p);
        if self.len == 0 {
            self.len = p.ty.len() + 1 + p.id.len();
            self.long.clear();
            self.long.push_str(&p.ty);
            self.long.push(':');
            self.long.push_str(&p.id);
        }
    }

    fn as_bytes(&self) -> &[u8] {
        match self.short.get(..self.len) {
            Some(b) => b,
            None => self.long.as_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::decide::{Decider, Denial, Principal, Request};
    use crate::eval::{self, EvalConfig};
    use serde_json::json;

    /// Decides `work` for `subject` on behalf of `chain` (ids of `user`s), under a policy
    /// where the users `ok` lists may work.
    fn decide(ok: &[String], subject: &str, chain: &[String]) -> Option<Denial> {
        let mut policy = String::from(
            "rel ok(principal: string)\n\
             @id(\"work\") permit principal P to work if ok(P);\n",
        );
        for id in ok {
            policy.push_str(&format!("ok(\"user:{id}\").\n"));
        }
        let compiled = crate::load::compile_str("t.ztp", &policy);
        let program = compiled.program.expect("the test policy checks");
        let input = eval::input_model(&program, &[]);
        let model = eval::evaluate(&program, &input, &EvalConfig::default()).expect("evaluates");
        let decider = Decider::new(&program, &model);
        let request = Request::from_json(&json!({
            "subject": {"type": "user", "id": subject},
            "action": {"name": "work"},
            "resource": {"type": "thing"},
        }))
        .map(|mut r| {
            r.on_behalf_of = chain.iter().map(|id| Principal::new("user", id)).collect();
            r
        })
        .expect("a well-formed request");
        let d = decider.decide(&request);
        assert_eq!(d.allowed, d.denial.is_none());
        d.denial
    }

    #[test]
    fn long_refs_and_long_chains_are_looked_up_like_short_ones() {
        let long = |c: char| c.to_string().repeat(70);
        let ids: Vec<String> = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|s| s.to_string())
            .chain(['p', 'q', 'r', 's', 't'].map(long))
            .collect();
        let (short, longs) = ids.split_at(6);
        // A ref past the stack buffer for one ref, and chains past its total.
        assert_eq!(decide(&ids, &"x".repeat(300), &[]).map(|_| ()), Some(()));
        let mut with_x = ids.clone();
        with_x.push("x".repeat(300));
        assert_eq!(decide(&with_x, &"x".repeat(300), &[]), None);
        assert_eq!(decide(&ids, &longs[0], &longs[1..4]), None);
        assert_eq!(decide(&ids, &longs[0], &longs[1..]), None);
        // Chains longer than the principals looked up together.
        assert_eq!(decide(&ids, "a", &short[1..]), None);
        for missing in 1..short.len() {
            let mut chain = short[1..].to_vec();
            chain[missing - 1] = "nobody".into();
            match decide(&ids, "a", &chain) {
                Some(Denial::NoGrant { position, .. }) => assert_eq!(position, missing),
                other => panic!("{missing}: {other:?}"),
            }
            let mut chain = longs[1..].to_vec();
            let at = missing.min(chain.len());
            chain[at - 1] = "nobody".into();
            match decide(&ids, &longs[0], &chain) {
                Some(Denial::NoGrant { position, .. }) => assert_eq!(position, at),
                other => panic!("{missing}: {other:?}"),
            }
        }
    }
}
