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
#[cfg(test)]
mod cond_tests;
pub mod domain;
pub mod index;
mod procedure;
pub mod reference;
pub mod request;
pub mod residual;
pub mod response;

pub use request::{Principal, Request, RequestError};
pub use residual::{Constraint, Domain};
pub use response::policy_hash;

use crate::eval::Model;
use crate::ir::Program;
use cond::CondError;
use index::{ActionIndex, InstanceIndex};

/// Why a request was denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The request document is malformed.
    Malformed(RequestError),
    /// The identity token was not accepted (the text says why, for administrators).
    Token(String),
    /// A token's scope does not include the action.
    Scope,
    /// A chain principal holds no grant for the request. Its ref and why each covering
    /// statement failed ([`Decider::failures`]) are read from the request when the denial is
    /// rendered, not when it is decided.
    NoGrant {
        /// Chain position (0 is the subject).
        position: usize,
        /// Every covering permit instance's condition was false (none was residual): the
        /// failures are then listed without evaluating the conditions again.
        all_false: bool,
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

/// A covering statement whose condition failed, and why (from [`Decider::failures`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub id: String,
    /// `action.amount <= 200 failed: 350`
    pub detail: String,
}

/// Statements by index into the program's policies, in order; the first few are kept inline.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    inline: [u32; INLINE_GRANTS],
    /// How many of `inline` are used.
    len: u8,
    /// The statements after those inline.
    spill: Vec<usize>,
}

/// Statements a [`Grants`] keeps inline.
const INLINE_GRANTS: usize = 6;

impl Grants {
    pub fn push(&mut self, i: usize) {
        let at = usize::from(self.len);
        match (self.spill.is_empty(), u32::try_from(i)) {
            (true, Ok(n)) if at < INLINE_GRANTS => {
                self.inline[at] = n;
                self.len += 1;
            }
            _ => self.spill.push(i),
        }
    }

    /// Whether `f` holds for some statement.
    pub fn any(&self, f: impl FnMut(usize) -> bool) -> bool {
        self.iter().any(f)
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        let n = usize::from(self.len);
        self.inline
            .get(..n)
            .unwrap_or_default()
            .iter()
            .map(|&i| i as usize)
            .chain(self.spill.iter().copied())
    }

    pub fn len(&self) -> usize {
        usize::from(self.len) + self.spill.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PartialEq for Grants {
    fn eq(&self, other: &Grants) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Grants {}

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// What the enforcement point must still check; `always` for an unconditional allow (and
    /// for a deny).
    pub constraints: Constraint,
    /// The permits that allowed, for each chain principal from the original principal to the
    /// subject (each id once; [`Decider::policy_id`] names them).
    pub grants: Grants,
    /// Ids of the forbids whose negation is part of the constraints.
    pub pending_forbids: Vec<String>,
    /// Set exactly when `allowed` is false.
    pub denial: Option<Denial>,
}

impl Decision {
    pub fn deny(denial: Denial) -> Decision {
        Decision {
            allowed: false,
            constraints: Constraint::always(),
            grants: Grants::default(),
            pending_forbids: Vec::new(),
            denial: Some(denial),
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
    actions: std::sync::Arc<ActionIndex>,
    instances: std::sync::Arc<InstanceIndex>,
    policy_hash: String,
}

/// A [`Decider`]'s indices, kept to make more deciders over the same program and model
/// without indexing them again ([`Decider::indices`], [`Decider::with_indices`]).
#[derive(Clone)]
pub struct DeciderIndices {
    actions: std::sync::Arc<ActionIndex>,
    instances: std::sync::Arc<InstanceIndex>,
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
            actions: std::sync::Arc::new(ActionIndex::new(program)),
            instances: std::sync::Arc::new(InstanceIndex::new(program, model)),
            policy_hash: policy_hash(program, &[]),
        }
    }

    /// A decider over `program` and `model` with the indices another decider built over the
    /// same program and model (from [`Decider::indices`]), so nothing is indexed again.
    pub fn with_indices(
        program: &'a Program,
        model: &'a Model,
        indices: DeciderIndices,
    ) -> Decider<'a> {
        Decider {
            program,
            model,
            actions: indices.actions,
            instances: indices.instances,
            policy_hash: policy_hash(program, &[]),
        }
    }

    /// This decider's indices, shared (not copied).
    pub fn indices(&self) -> DeciderIndices {
        DeciderIndices {
            actions: self.actions.clone(),
            instances: self.instances.clone(),
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
        match self.decide_inner(request) {
            Ok(d) => d,
            Err(denial) => Decision::deny(denial),
        }
    }

    fn decide_inner(&self, request: &Request) -> Result<Decision, Denial> {
        if let Some(scope) = &request.scope {
            if !scope.iter().any(|p| p.matches(&request.action.name)) {
                return Err(Denial::Scope);
            }
        }
        let run = self.run(request);
        // Forbids first: a true one denies whatever the grants say.
        let pending = run.forbids()?;
        // The constraint so far; `None`: always.
        let mut total: Option<Constraint> = None;
        // (chain position, statement) of the permits that granted
        let mut granted: procedure::Small<(usize, usize)> = procedure::Small::new();
        for pos in 0..request.chain_len() {
            if let procedure::Granted::Under(c) = run.grants(pos, &mut granted)? {
                total = and_into(total, c).map_err(|e| run.too_large(None, pos, e))?;
            }
        }
        let mut pending_ids: Vec<String> = Vec::new();
        for (i, c) in &pending {
            let id = self.policy_id(*i);
            total = c
                .not()
                .and_then(|n| and_into(total, n))
                .map_err(|e| run.too_large(Some(id), 0, e))?;
            if !pending_ids.iter().any(|p| p == id) {
                pending_ids.push(id.to_string());
            }
        }
        if total.as_ref().is_some_and(Constraint::is_never) {
            return Err(Denial::Unsatisfiable {
                forbids: pending_ids,
            });
        }
        // Grants from the original principal to the subject, each once.
        let mut grants = Grants::default();
        for pos in (1..request.chain_len()).chain(std::iter::once(0)) {
            for &(_, i) in granted.iter().filter(|(p, _)| *p == pos) {
                if !grants.any(|j| self.actions.same_id(i, j)) {
                    grants.push(i);
                }
            }
        }
        let total = total.filter(|t| !t.is_always());
        Ok(Decision {
            allowed: true,
            pending_forbids: if total.is_none() {
                Vec::new()
            } else {
                pending_ids
            },
            constraints: total.unwrap_or_else(Constraint::always),
            grants,
            denial: None,
        })
    }

    /// The id of statement `i` (an index into the program's policies, as [`Grants`] hold).
    pub fn policy_id(&self, i: usize) -> &str {
        self.program.policy_id(i)
    }

    /// Decides a request given as JSON and renders the response; a malformed request is a deny
    /// whose reason names the field.
    pub fn decide_json(&self, json: &serde_json::Value) -> serde_json::Value {
        self.respond(json, Auth::None)
    }

    /// Decides a request document under an identity token (see [`crate::token`]): a rejected
    /// token denies; a verified one supplies the subject, the chain and the scope, and a body
    /// that contradicts it is denied. The request decided (when it could be read) is returned
    /// with the decision, to render it.
    pub fn decide_document(&self, json: &serde_json::Value, auth: Auth<'_>) -> Decided {
        let parsed = match auth {
            Auth::None => Request::from_json(json),
            Auth::Rejected(e) => {
                return Decided {
                    request: Request::from_json(json).ok(),
                    decision: Decision::deny(Denial::Token(e.to_string())),
                };
            }
            Auth::Identity(id) => {
                let mut bound = json.clone();
                if let Err(e) = crate::token::bind(&mut bound, id) {
                    return Decided {
                        request: None,
                        decision: Decision::deny(Denial::Token(e.to_string())),
                    };
                }
                Request::from_json(&bound).map(|mut r| {
                    r.scope = id.scope.clone();
                    r
                })
            }
        };
        match parsed {
            Ok(r) => Decided {
                decision: self.decide(&r),
                request: Some(r),
            },
            Err(e) => Decided {
                request: None,
                decision: Decision::deny(Denial::Malformed(e)),
            },
        }
    }

    /// [`Decider::decide_document`], rendered as the AuthZEN response.
    pub fn respond(&self, json: &serde_json::Value, auth: Auth<'_>) -> serde_json::Value {
        let decided = self.decide_document(json, auth);
        response::to_json(self, decided.request.as_ref(), &decided.decision)
    }

    /// The response to a document that could not be read at all.
    pub fn malformed(&self, error: RequestError) -> serde_json::Value {
        let decision = Decision::deny(Denial::Malformed(error));
        response::to_json(self, None, &decision)
    }

    /// Why each permit instance covering `request` for the principal at chain position
    /// `position` failed, in statement order: the failures of a [`Denial::NoGrant`] this
    /// decider gave on `request` (with its `position` and `all_false`).
    pub fn failures(&self, request: &Request, position: usize, all_false: bool) -> Vec<Failure> {
        self.run(request).failures(position, all_false)
    }

    /// The steps of deciding `request`, its chain principals looked up.
    #[inline]
    fn run<'r>(&'r self, request: &'r Request) -> procedure::Run<'r> {
        procedure::Run::new(
            self.program,
            self.model,
            &self.actions,
            &self.instances,
            request,
        )
    }
}

/// A decision with the request it was taken on (`None`: the document could not be read as
/// one), which its rendering reads.
#[derive(Debug, Clone)]
pub struct Decided {
    pub request: Option<Request>,
    pub decision: Decision,
}

/// `total and c`, where `None` is the constraint that always holds.
fn and_into(
    total: Option<Constraint>,
    c: Constraint,
) -> Result<Option<Constraint>, residual::TooLarge> {
    if c.is_always() {
        return Ok(total);
    }
    match total {
        None => Ok(Some(c)),
        Some(t) => t.and(&c).map(Some),
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

#[cfg(test)]
mod tests {
    use super::Grants;

    #[test]
    fn grants_keep_their_order_past_those_inline() {
        let mut g = Grants::default();
        assert!(g.is_empty());
        let items = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3];
        for &i in &items {
            g.push(i);
        }
        assert_eq!(g.iter().collect::<Vec<_>>(), items);
        assert_eq!(g.len(), items.len());
        assert!(g.any(|i| i == 6) && !g.any(|i| i == 7));
        // A statement index past `u32` goes after the others, and so do those that follow.
        let big = usize::try_from(u64::from(u32::MAX) + 1).unwrap_or(usize::MAX);
        let mut h = Grants::default();
        for i in [7, big, 8] {
            h.push(i);
        }
        assert_eq!(h.iter().collect::<Vec<_>>(), [7, big, 8]);
        assert_ne!(g, h);
        assert_eq!(h.clone(), h);
    }
}
