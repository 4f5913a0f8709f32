//! The decision procedure: request -> applicable statements -> conditions -> decision.
//!
//! [`Decider::new`] indexes a program and its data-time model once; [`Decider::decide`] then
//! answers a [`Request`] with lookups and condition checks only (no fixpoint). The semantics
//! (`/work/shared/DESIGN.md` section 1):
//! - default deny;
//! - every principal of the chain (`[subject] + on_behalf_of`) needs a permit instance that
//!   covers the action and resource kind, names that principal (and its type, for `user U`),
//!   and whose condition is not false; a token's scope must also cover the action;
//! - a forbid instance about any chain principal, or about the request as a whole, whose
//!   condition is true denies;
//! - conditions on attributes the request does not give become a residual [`Constraint`]: the
//!   OR over a principal's permit instances, ANDed across the chain and with the negation of
//!   every forbid that could still apply; unsatisfiable is a deny, always-true an unconditional
//!   allow;
//! - any evaluation error denies.

pub mod batch;
pub mod cond;
pub mod index;
pub mod reference;
pub mod request;
pub mod residual;
pub mod response;

pub use request::{Principal, Request, RequestError};
pub use residual::{Constraint, Domain};
pub use response::policy_hash;

use crate::eval::Model;
use crate::ir::{Effect, PrincipalMatch, Program, Sym, Value};
use cond::{CondError, Env, Tri};
use index::ActionIndex;

/// Why a request was denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The request document is malformed.
    Malformed(RequestError),
    /// The identity token was not accepted (the text says why, for administrators).
    Token(String),
    /// A token's scope does not include the action.
    Scope,
    /// A chain principal holds no grant for the request.
    NoGrant {
        /// Principal ref.
        principal: String,
        /// Chain position (0 is the subject).
        position: usize,
        /// The statements that cover the request for this principal and why each failed.
        failures: Vec<Failure>,
    },
    /// A forbid applies.
    Forbidden {
        id: String,
        /// The chain principal it matched (`None`: about the request as a whole).
        principal: Option<String>,
        /// The condition's text, when it has one.
        condition: Option<String>,
    },
    /// Every principal holds a grant, but no value of the unknown attributes satisfies them
    /// all and the forbids together.
    Unsatisfiable { forbids: Vec<String> },
    /// A condition could not be evaluated.
    Error {
        id: String,
        principal: Option<String>,
        error: CondError,
    },
}

/// A covering statement whose condition failed, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub id: String,
    /// `action.amount <= 200 failed: 350`
    pub detail: String,
}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// What the enforcement point must still check; `always` for an unconditional allow (and
    /// for a deny).
    pub constraints: Constraint,
    /// Ids of the permits that allowed, for each chain principal from the original principal
    /// to the subject (each id once).
    pub grants: Vec<String>,
    /// Ids of the forbids whose negation is part of the constraints.
    pub pending_forbids: Vec<String>,
    /// Set exactly when `allowed` is false.
    pub denial: Option<Denial>,
    /// The action and resource kind of the request, for messages.
    pub action: String,
    pub resource_type: String,
    /// The subject's principal ref, for messages.
    pub subject: String,
}

impl Decision {
    pub fn deny(request: Option<&Request>, denial: Denial) -> Decision {
        Decision {
            allowed: false,
            constraints: Constraint::always(),
            grants: Vec::new(),
            pending_forbids: Vec::new(),
            denial: Some(denial),
            action: request.map(|r| r.action.name.clone()).unwrap_or_default(),
            resource_type: request.map(|r| r.resource.ty.clone()).unwrap_or_default(),
            subject: request.map(|r| r.subject.reference()).unwrap_or_default(),
        }
    }

    /// Allowed with no constraints left.
    pub fn is_unconditional(&self) -> bool {
        self.allowed && self.constraints.is_always()
    }
}

/// A program and its data-time model, indexed for deciding.
pub struct Decider<'a> {
    program: &'a Program,
    model: &'a Model,
    actions: ActionIndex,
    policy_hash: String,
}

impl<'a> Decider<'a> {
    /// Indexes `program` and its evaluated `model` (which must be the model of `program`: one
    /// [`Rows`](crate::eval::Rows) per relation, as [`eval::evaluate`](crate::eval::evaluate)
    /// returns it). The policy hash defaults to the hash of the
    /// source texts alone; [`Decider::with_policy_hash`] sets one that covers the data too.
    pub fn new(program: &'a Program, model: &'a Model) -> Decider<'a> {
        Decider {
            program,
            model,
            actions: ActionIndex::new(program),
            policy_hash: policy_hash(program, &[]),
        }
    }

    pub fn with_policy_hash(mut self, hash: String) -> Decider<'a> {
        self.policy_hash = hash;
        self
    }

    pub fn policy_hash(&self) -> &str {
        &self.policy_hash
    }

    pub fn program(&self) -> &'a Program {
        self.program
    }

    pub fn model(&self) -> &'a Model {
        self.model
    }

    /// Decides one request.
    pub fn decide(&self, request: &Request) -> Decision {
        let deny = |d| Decision::deny(Some(request), d);
        if let Some(scope) = &request.scope {
            if !scope.iter().any(|p| p.matches(&request.action.name)) {
                return deny(Denial::Scope);
            }
        }
        let program = self.program;
        let refs: Vec<String> = request.chain().map(Principal::reference).collect();
        let syms: Vec<Option<Sym>> = refs
            .iter()
            .map(|r| program.interner.lookup(&Value::Str(r.clone())))
            .collect();
        let candidates =
            self.actions
                .candidates(program, &request.action.name, &request.resource.ty);
        let model = self.model;
        fn env<'e>(
            program: &'e Program,
            model: &'e Model,
            request: &'e Request,
            principal: Option<usize>,
            row: &'e [Sym],
        ) -> Env<'e> {
            Env {
                program,
                model,
                request,
                principal,
                row,
            }
        }

        // Forbids: a true condition denies; a residual one is negated into the constraint.
        let mut pending: Vec<(String, Constraint)> = Vec::new();
        for &i in &candidates {
            let p = &program.policies[i];
            if p.effect != Effect::Forbid {
                continue;
            }
            let rows = self.model.get(p.rel);
            let mut check = |pos: Option<usize>, row: &[Sym]| -> Option<Decision> {
                let principal = pos.map(|n| refs[n].clone());
                match env(program, model, request, pos, row).eval(&p.cond) {
                    Ok(Tri::False) => None,
                    Ok(Tri::True) => Some(deny(Denial::Forbidden {
                        id: p.id.clone(),
                        principal,
                        condition: cond::full_span(&p.cond)
                            .map(|s| cond::snippet(program, s).to_string()),
                    })),
                    Ok(Tri::Residual(c)) => {
                        pending.push((p.id.clone(), c));
                        None
                    }
                    Err(error) => Some(deny(Denial::Error {
                        id: p.id.clone(),
                        principal,
                        error,
                    })),
                }
            };
            match &p.principal {
                PrincipalMatch::Request => {
                    for row in rows.iter() {
                        if let Some(d) = check(None, row) {
                            return d;
                        }
                    }
                }
                PrincipalMatch::Chain { ty } => {
                    for (pos, principal) in request.chain().enumerate() {
                        if ty.as_ref().is_some_and(|t| *t != principal.ty) {
                            continue;
                        }
                        let Some(sym) = syms[pos] else { continue };
                        let key = [sym];
                        for row in rows.with_prefix(&key) {
                            if let Some(d) = check(Some(pos), row) {
                                return d;
                            }
                        }
                    }
                }
            }
        }

        // Permits: every chain principal needs one whose condition is not false.
        let mut total = Constraint::always();
        let mut grants_by_pos: Vec<Vec<String>> = vec![Vec::new(); refs.len()];
        for (pos, principal) in request.chain().enumerate() {
            let mut any = Constraint::never();
            let mut failures = Vec::new();
            for &i in &candidates {
                let p = &program.policies[i];
                if p.effect != Effect::Permit {
                    continue;
                }
                match &p.principal {
                    // A permit names its principals; one about the request as a whole grants
                    // nothing (the checker rejects it).
                    PrincipalMatch::Request => continue,
                    PrincipalMatch::Chain { ty } => {
                        if ty.as_ref().is_some_and(|t| *t != principal.ty) {
                            continue;
                        }
                    }
                }
                let Some(sym) = syms[pos] else { continue };
                let key = [sym];
                for row in self.model.get(p.rel).with_prefix(&key) {
                    let e = env(program, model, request, Some(pos), row);
                    match e.eval(&p.cond) {
                        Ok(Tri::False) => failures.push(Failure {
                            id: p.id.clone(),
                            detail: e.why_false(&p.cond),
                        }),
                        Ok(t) => {
                            if !grants_by_pos[pos].contains(&p.id) {
                                grants_by_pos[pos].push(p.id.clone());
                            }
                            if !any.is_always() {
                                match any.or(&t.into_constraint()) {
                                    Ok(c) => any = c,
                                    Err(e) => {
                                        return deny(Denial::Error {
                                            id: p.id.clone(),
                                            principal: Some(refs[pos].clone()),
                                            error: CondError::TooLarge(e, p.span),
                                        })
                                    }
                                }
                            }
                        }
                        Err(error) => {
                            return deny(Denial::Error {
                                id: p.id.clone(),
                                principal: Some(refs[pos].clone()),
                                error,
                            })
                        }
                    }
                }
            }
            if any.is_never() {
                return deny(Denial::NoGrant {
                    principal: refs[pos].clone(),
                    position: pos,
                    failures,
                });
            }
            total = match total.and(&any) {
                Ok(c) => c,
                Err(e) => {
                    return deny(Denial::Error {
                        id: String::new(),
                        principal: Some(refs[pos].clone()),
                        error: CondError::TooLarge(e, crate::source::Span::default()),
                    })
                }
            };
        }

        let mut pending_ids = Vec::new();
        for (id, c) in &pending {
            let step = c.not().and_then(|n| total.and(&n));
            match step {
                Ok(t) => total = t,
                Err(e) => {
                    return deny(Denial::Error {
                        id: id.clone(),
                        principal: None,
                        error: CondError::TooLarge(e, crate::source::Span::default()),
                    })
                }
            }
            if !pending_ids.contains(id) {
                pending_ids.push(id.clone());
            }
        }
        if total.is_never() {
            return deny(Denial::Unsatisfiable {
                forbids: pending_ids,
            });
        }

        // Grants from the original principal to the subject.
        let mut grants: Vec<String> = Vec::new();
        let order = (1..refs.len()).chain(std::iter::once(0));
        for pos in order {
            for id in &grants_by_pos[pos] {
                if !grants.contains(id) {
                    grants.push(id.clone());
                }
            }
        }
        Decision {
            allowed: true,
            pending_forbids: if total.is_always() {
                Vec::new()
            } else {
                pending_ids
            },
            constraints: total,
            grants,
            denial: None,
            action: request.action.name.clone(),
            resource_type: request.resource.ty.clone(),
            subject: request.subject.reference(),
        }
    }

    /// Decides a request given as JSON and renders the response; a malformed request is a deny
    /// whose reason names the field.
    pub fn decide_json(&self, json: &serde_json::Value) -> serde_json::Value {
        self.respond(json, Auth::None)
    }

    /// Decides a request document under an identity token (see [`crate::token`]): a rejected
    /// token denies; a verified one supplies the subject, the chain and the scope, and a body
    /// that contradicts it is denied.
    pub fn decide_document(&self, json: &serde_json::Value, auth: Auth<'_>) -> Decision {
        let parsed = match auth {
            Auth::None => Request::from_json(json),
            Auth::Rejected(e) => {
                let request = Request::from_json(json).ok();
                return Decision::deny(request.as_ref(), Denial::Token(e.to_string()));
            }
            Auth::Identity(id) => {
                let mut bound = json.clone();
                if let Err(e) = crate::token::bind(&mut bound, id) {
                    return Decision::deny(None, Denial::Token(e.to_string()));
                }
                Request::from_json(&bound).map(|mut r| {
                    r.scope = id.scope.clone();
                    r
                })
            }
        };
        match parsed {
            Ok(r) => self.decide(&r),
            Err(e) => Decision::deny(None, Denial::Malformed(e)),
        }
    }

    /// [`Decider::decide_document`], rendered as the AuthZEN response.
    pub fn respond(&self, json: &serde_json::Value, auth: Auth<'_>) -> serde_json::Value {
        let decision = self.decide_document(json, auth);
        response::to_json(self.program, &decision, &self.policy_hash)
    }

    /// The response to a document that could not be read at all.
    pub fn malformed(&self, error: RequestError) -> serde_json::Value {
        let decision = Decision::deny(None, Denial::Malformed(error));
        response::to_json(self.program, &decision, &self.policy_hash)
    }
}

/// The identity token accompanying requests, if any.
#[derive(Debug, Clone, Copy)]
pub enum Auth<'t> {
    /// No token: the request body names the subject and chain.
    None,
    /// A verified token.
    Identity(&'t crate::token::Identity),
    /// A token that was not accepted: every request is denied.
    Rejected(&'t crate::token::TokenError),
}
