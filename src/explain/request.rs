//! Explaining a decision on a request: for an allow, the grant that covered each principal of
//! the chain with its proof and the values its condition was checked against; for a deny, the
//! reason class and, for a missing grant, the statements that came closest and exactly what
//! failed in each.

use super::{ExplainError, Explainer, Proof, WhyNot};
use crate::decide::cond::{full_span, Env, Tri};
use crate::decide::index::ActionIndex;
use crate::decide::request::AttrValue;
use crate::decide::response::reason_admin;
use crate::decide::{Auth, Decision, Denial, Request};
use crate::ir::{Cond, CondTerm, Effect, PrincipalMatch, RelId, Sym, Value};

/// At most this many instances of one statement are shown for one principal.
const MAX_INSTANCES: usize = 5;

/// What a condition (or one of its parts) evaluated to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    True,
    False,
    /// Neither: it depends on attributes the request does not give (the residual constraint).
    Open(String),
    /// It could not be evaluated.
    Error(String),
}

/// A condition checked against a request, part by part.
#[derive(Debug, Clone, PartialEq)]
pub struct CondCheck {
    /// `and`, `or`, `not`, `compare`, `in`, `lookup`, `true` or `false`.
    pub kind: &'static str,
    /// The source text.
    pub text: String,
    /// `file:line:col`, when the condition has source text.
    pub location: Option<String>,
    pub outcome: Outcome,
    /// The request attributes and bound variables it read, with their values.
    pub values: Vec<(String, AttrValue)>,
    pub parts: Vec<CondCheck>,
}

/// One instance of a statement: the instance tuple, its proof, and its condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    /// Index in `program.policies`.
    pub policy: usize,
    pub id: String,
    pub effect: Effect,
    pub location: String,
    /// The statement's source text on one line.
    pub source: String,
    /// The chain principal it matched (`None`: about the request as a whole).
    pub principal: Option<String>,
    pub rel: RelId,
    pub tuple: Vec<Sym>,
    pub proof: Proof,
    /// `None` when the statement has no condition.
    pub condition: Option<CondCheck>,
    /// For a false condition: the failing part and the value that broke it.
    pub failed: Option<String>,
}

/// The instances that gave one chain principal its grant.
#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalGrants {
    pub position: usize,
    pub principal: String,
    pub instances: Vec<Instance>,
}

/// A statement that covers the request's action and resource kind but grants nothing to the
/// principal, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub policy: usize,
    pub id: String,
    pub location: String,
    pub source: String,
    pub failure: CandidateFailure,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CandidateFailure {
    /// Instances exist for the principal, and every condition is false (or an error).
    Condition(Vec<Instance>),
    /// No instance names the principal: why the instance tuple does not hold.
    NoInstance(WhyNot),
    /// The statement is about principals of another type.
    WrongType { expected: String, found: String },
}

/// Why a request was denied, with the evidence.
#[derive(Debug, Clone, PartialEq)]
pub enum DenyReason {
    Malformed {
        message: String,
    },
    Token {
        message: String,
    },
    Scope {
        action: String,
    },
    Forbidden {
        instance: Box<Instance>,
    },
    NoGrant {
        principal: String,
        position: usize,
        /// Closest first: failed conditions, then missing instances, then other types.
        candidates: Vec<Candidate>,
    },
    Unsatisfiable {
        forbids: Vec<String>,
        grants: Vec<PrincipalGrants>,
    },
    Error {
        id: String,
        principal: Option<String>,
        message: String,
        location: Option<String>,
    },
}

/// A decision with its explanation.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub decision: Decision,
    /// The request's action and resource kind (empty when the request could not be read).
    pub action: String,
    pub resource_type: String,
    /// `allow`, `allow under constraints` or `deny`.
    pub verdict: &'static str,
    /// Principal refs, subject first (empty when the request could not be read).
    pub chain: Vec<String>,
    /// On an allow: for each chain principal, the instances that granted the request.
    pub grants: Vec<PrincipalGrants>,
    /// On an allow under constraints: the constraints left open.
    pub constraints: Option<String>,
    pub deny: Option<DenyReason>,
    /// The administrator's one-line reason, as `decide` gives it.
    pub reason: String,
}

impl Explainer<'_> {
    /// Explains the decision on a request document, under an identity token as `decide` does.
    pub fn explain_document(
        &self,
        json: &serde_json::Value,
        auth: Auth<'_>,
    ) -> Result<Explanation, ExplainError> {
        let decided = self.decider().decide_document(json, auth);
        self.explain_decision(decided.request.as_ref(), decided.decision)
    }

    /// Decides `request` and explains the decision.
    pub fn explain_request(&self, request: &Request) -> Result<Explanation, ExplainError> {
        let decision = self.decider().decide(request);
        self.explain_decision(Some(request), decision)
    }

    /// Explains a decision already taken on `request` (`None` when it could not be read).
    pub fn explain_decision(
        &self,
        request: Option<&Request>,
        decision: Decision,
    ) -> Result<Explanation, ExplainError> {
        let chain: Vec<String> = request
            .map(|r| r.chain().map(|p| p.reference()).collect())
            .unwrap_or_default();
        let verdict = match (decision.allowed, decision.constraints.is_always()) {
            (true, true) => "allow",
            (true, false) => "allow under constraints",
            (false, _) => "deny",
        };
        let mut grants = Vec::new();
        let mut deny = None;
        match (request, &decision.denial) {
            (Some(r), None) => {
                for (pos, principal) in chain.iter().enumerate() {
                    grants.push(PrincipalGrants {
                        position: pos,
                        principal: principal.clone(),
                        instances: self.covering(r, pos)?,
                    });
                }
            }
            (None, None) => {}
            (_, Some(d)) => deny = Some(self.deny_reason(request, d, &chain)?),
        }
        let constraints = (decision.allowed && !decision.constraints.is_always())
            .then(|| decision.constraints.to_string());
        let reason = reason_admin(&self.decider, request, &decision);
        Ok(Explanation {
            decision,
            action: request.map(|r| r.action.name.clone()).unwrap_or_default(),
            resource_type: request.map(|r| r.resource.ty.clone()).unwrap_or_default(),
            verdict,
            chain,
            grants,
            constraints,
            deny,
            reason,
        })
    }

    fn deny_reason(
        &self,
        request: Option<&Request>,
        denial: &Denial,
        chain: &[String],
    ) -> Result<DenyReason, ExplainError> {
        let program = self.program;
        Ok(match denial {
            Denial::Malformed(e) => DenyReason::Malformed {
                message: e.to_string(),
            },
            Denial::Token(m) => DenyReason::Token { message: m.clone() },
            Denial::Scope => DenyReason::Scope {
                action: request.map(|r| r.action.name.clone()).unwrap_or_default(),
            },
            Denial::Forbidden { id, principal, .. } => {
                let found = match request {
                    Some(r) => self.forbid_instance(r, id, principal.as_deref())?,
                    None => None,
                };
                match found {
                    Some(instance) => DenyReason::Forbidden {
                        instance: Box::new(instance),
                    },
                    None => DenyReason::Error {
                        id: id.clone(),
                        principal: principal.clone(),
                        message: "the forbid that matched could not be found again".into(),
                        location: None,
                    },
                }
            }
            Denial::NoGrant { position, .. } => DenyReason::NoGrant {
                principal: chain.get(*position).cloned().unwrap_or_default(),
                position: *position,
                candidates: match request {
                    Some(r) => self.candidates(r, *position)?,
                    None => Vec::new(),
                },
            },
            Denial::Unsatisfiable { forbids } => {
                let mut grants = Vec::new();
                if let Some(r) = request {
                    for (pos, principal) in chain.iter().enumerate() {
                        grants.push(PrincipalGrants {
                            position: pos,
                            principal: principal.clone(),
                            instances: self.covering(r, pos)?,
                        });
                    }
                }
                DenyReason::Unsatisfiable {
                    forbids: forbids.clone(),
                    grants,
                }
            }
            Denial::Error {
                id,
                principal,
                error,
            } => DenyReason::Error {
                id: id.clone(),
                principal: principal.clone(),
                message: error.to_string(),
                location: (!error.span().is_empty())
                    .then(|| program.sources.location(error.span())),
            },
        })
    }

    /// The statements covering the request's action and kind, in program order.
    fn statements(&self, request: &Request) -> Vec<usize> {
        ActionIndex::new(self.program).candidates(
            self.program,
            &request.action.name,
            &request.resource.ty,
        )
    }

    /// The permit instances whose condition is not false for the principal at `pos`.
    fn covering(&self, request: &Request, pos: usize) -> Result<Vec<Instance>, ExplainError> {
        let program = self.program;
        let mut out = Vec::new();
        let Some(principal) = request.chain_at(pos) else {
            return Ok(out);
        };
        let Some(sym) = program.interner.lookup(&Value::Str(principal.reference())) else {
            return Ok(out);
        };
        for i in self.statements(request) {
            let p = &program.policies[i];
            if p.effect != Effect::Permit {
                continue;
            }
            match &p.principal {
                PrincipalMatch::Request => continue,
                PrincipalMatch::Chain { ty } => {
                    if ty.as_ref().is_some_and(|t| *t != principal.ty) {
                        continue;
                    }
                }
            }
            let key = [sym];
            let mut n = 0;
            for row in self.model.get(p.rel).with_prefix(&key) {
                let env = self.env(request, Some(pos), row);
                match env.eval(&p.cond) {
                    Ok(Tri::True) | Ok(Tri::Residual(_)) => {
                        out.push(self.instance(request, i, Some(pos), row)?);
                        n += 1;
                        if n >= MAX_INSTANCES {
                            break;
                        }
                    }
                    Ok(Tri::False) | Err(_) => {}
                }
            }
        }
        Ok(out)
    }

    /// The instance of forbid `id` whose condition holds for `principal` (or for the request).
    fn forbid_instance(
        &self,
        request: &Request,
        id: &str,
        principal: Option<&str>,
    ) -> Result<Option<Instance>, ExplainError> {
        let program = self.program;
        let Some(i) = program.policies.iter().position(|p| p.id == id) else {
            return Ok(None);
        };
        let p = &program.policies[i];
        let rows = self.model.get(p.rel);
        match principal {
            None => {
                for row in rows.iter() {
                    if matches!(self.env(request, None, row).eval(&p.cond), Ok(Tri::True)) {
                        return self.instance(request, i, None, row).map(Some);
                    }
                }
            }
            Some(pr) => {
                let Some(sym) = program.interner.lookup(&Value::Str(pr.to_string())) else {
                    return Ok(None);
                };
                for (pos, c) in request.chain().enumerate() {
                    if c.reference() != pr {
                        continue;
                    }
                    let key = [sym];
                    for row in rows.with_prefix(&key) {
                        let env = self.env(request, Some(pos), row);
                        if matches!(env.eval(&p.cond), Ok(Tri::True)) {
                            return self.instance(request, i, Some(pos), row).map(Some);
                        }
                    }
                }
            }
        }
        Ok(None)
    }

    /// Every permit covering the request, for the principal at `pos`, with why it grants
    /// nothing; closest first.
    fn candidates(&self, request: &Request, pos: usize) -> Result<Vec<Candidate>, ExplainError> {
        let program = self.program;
        let Some(principal) = request.chain_at(pos) else {
            return Ok(Vec::new());
        };
        let reference = principal.reference();
        let sym = self.sym_for(&Value::Str(reference.clone()));
        let mut out: Vec<(u8, Candidate)> = Vec::new();
        for i in self.statements(request) {
            let p = &program.policies[i];
            if p.effect != Effect::Permit {
                continue;
            }
            let (rank, failure) = match &p.principal {
                PrincipalMatch::Request => continue,
                PrincipalMatch::Chain { ty: Some(t) } if *t != principal.ty => (
                    2,
                    CandidateFailure::WrongType {
                        expected: t.clone(),
                        found: principal.ty.clone(),
                    },
                ),
                PrincipalMatch::Chain { .. } => {
                    let key = [sym];
                    let rows: Vec<&[Sym]> = self.model.get(p.rel).with_prefix(&key).collect();
                    if rows.is_empty() {
                        let mut pattern = vec![None; program.relation(p.rel).arity()];
                        if let Some(first) = pattern.first_mut() {
                            *first = Some(sym);
                        }
                        (
                            1,
                            CandidateFailure::NoInstance(self.why_not_in(
                                p.rel,
                                &pattern,
                                self.config.why_not_depth,
                                &mut Vec::new(),
                            )),
                        )
                    } else {
                        let mut instances = Vec::new();
                        for row in rows.into_iter().take(MAX_INSTANCES) {
                            instances.push(self.instance(request, i, Some(pos), row)?);
                        }
                        (0, CandidateFailure::Condition(instances))
                    }
                }
            };
            out.push((
                rank,
                Candidate {
                    policy: i,
                    id: p.id.clone(),
                    location: program.sources.location(p.span),
                    source: one_line(program.sources.snippet(p.span)),
                    failure,
                },
            ));
        }
        out.sort_by_key(|(rank, c)| (*rank, c.policy));
        Ok(out.into_iter().map(|(_, c)| c).collect())
    }

    fn env<'e>(&'e self, request: &'e Request, pos: Option<usize>, row: &'e [Sym]) -> Env<'e> {
        Env {
            program: self.program,
            model: self.model,
            request,
            principal: pos,
            row,
        }
    }

    /// An instance of statement `i` with its proof and its condition checked.
    fn instance(
        &self,
        request: &Request,
        i: usize,
        pos: Option<usize>,
        row: &[Sym],
    ) -> Result<Instance, ExplainError> {
        let program = self.program;
        let p = &program.policies[i];
        let proof = self.prove(p.rel, row)?;
        let env = self.env(request, pos, row);
        let condition = match &p.cond {
            Cond::True => None,
            c => Some(self.check(&env, p.columns.as_slice(), c)),
        };
        let failed = matches!(env.eval(&p.cond), Ok(Tri::False)).then(|| env.why_false(&p.cond));
        Ok(Instance {
            policy: i,
            id: p.id.clone(),
            effect: p.effect,
            location: program.sources.location(p.span),
            source: one_line(program.sources.snippet(p.span)),
            principal: pos.and_then(|n| request.chain_at(n)).map(|x| x.reference()),
            rel: p.rel,
            tuple: row.to_vec(),
            proof,
            condition,
            failed,
        })
    }

    /// A condition evaluated part by part, with the values each part read.
    fn check(&self, env: &Env<'_>, columns: &[String], cond: &Cond) -> CondCheck {
        let program = self.program;
        let outcome = match env.eval(cond) {
            Ok(Tri::True) => Outcome::True,
            Ok(Tri::False) => Outcome::False,
            Ok(Tri::Residual(c)) => Outcome::Open(c.to_string()),
            Err(e) => Outcome::Error(e.to_string()),
        };
        let span = full_span(cond);
        let text = match (cond, span) {
            (Cond::True, _) => "true".to_string(),
            (Cond::False, _) => "false".to_string(),
            (_, Some(s)) => one_line(program.sources.snippet(s)),
            (_, None) => String::new(),
        };
        let location = span.map(|s| program.sources.location(s));
        let (kind, parts, terms): (&'static str, Vec<CondCheck>, Vec<&CondTerm>) = match cond {
            Cond::True => ("true", Vec::new(), Vec::new()),
            Cond::False => ("false", Vec::new(), Vec::new()),
            Cond::And(cs) => (
                "and",
                cs.iter().map(|c| self.check(env, columns, c)).collect(),
                Vec::new(),
            ),
            Cond::Or(cs) => (
                "or",
                cs.iter().map(|c| self.check(env, columns, c)).collect(),
                Vec::new(),
            ),
            Cond::Not(c) => ("not", vec![self.check(env, columns, c)], Vec::new()),
            Cond::Cmp { lhs, rhs, .. } => ("compare", Vec::new(), vec![lhs, rhs]),
            Cond::In { lhs, set, .. } => {
                let mut t = vec![lhs];
                t.extend(set);
                ("in", Vec::new(), t)
            }
            Cond::Lookup { args, .. } => ("lookup", Vec::new(), args.iter().collect()),
        };
        let mut values: Vec<(String, AttrValue)> = Vec::new();
        for t in terms {
            let (name, v) = match t {
                CondTerm::Attr(a, _) => (a.dotted(), env.request.attr(a, env.principal)),
                CondTerm::Bound(n, _) => (
                    columns.get(*n).cloned().unwrap_or_else(|| format!("${n}")),
                    match env.row.get(*n) {
                        Some(s) => AttrValue::Known(program.interner.value(*s).clone()),
                        None => AttrValue::Invalid("not bound"),
                    },
                ),
                CondTerm::Const(..) | CondTerm::Wildcard(_) => continue,
            };
            if !values.iter().any(|(n, _)| *n == name) {
                values.push((name, v));
            }
        }
        CondCheck {
            kind,
            text,
            location,
            outcome,
            values,
            parts,
        }
    }
}

/// Source text on one line: runs of whitespace become one space.
pub fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
