//! Rendering explanations: an indented text tree for people, JSON for machines
//! (docs/EXPLAIN.md documents the JSON form). Both are deterministic: the same program, model
//! and request always render the same bytes.

use super::request::{
    Candidate, CandidateFailure, CondCheck, DenyReason, Explanation, Instance, Outcome,
    PrincipalGrants,
};
use super::{Attempt, Blocker, Explainer, Premise, Proof, Step, WhyNot};
use crate::decide::request::AttrValue;
use crate::ir::{BodyLit, CmpOp, Effect, Origin, RelId, RelKind, RuleId, Sym, Term, Value};
use serde_json::{json, Map, Value as Json};
use std::fmt::Write as _;

fn op_text(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "==",
        CmpOp::Ne => "!=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
    }
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Str(s) => json!(s),
        Value::Int(i) => json!(i),
        Value::Bool(b) => json!(b),
    }
}

fn effect_text(e: Effect) -> &'static str {
    match e {
        Effect::Permit => "permit",
        Effect::Forbid => "forbid",
    }
}

fn attr_text(v: &AttrValue) -> String {
    match v {
        AttrValue::Known(v) => v.to_string(),
        AttrValue::Unknown => "unknown".into(),
        AttrValue::Invalid(what) => (*what).to_string(),
    }
}

fn attr_json(v: &AttrValue) -> Json {
    match v {
        AttrValue::Known(v) => json!({ "value": value_json(v) }),
        AttrValue::Unknown => json!({ "unknown": true }),
        AttrValue::Invalid(what) => json!({ "invalid": what }),
    }
}

fn position_text(pos: usize) -> String {
    if pos == 0 {
        "subject".into()
    } else {
        format!("on_behalf_of[{}]", pos - 1)
    }
}

/// An indented text tree.
struct Tree {
    out: String,
}

impl Tree {
    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }
}

impl Explainer<'_> {
    fn rule_location(&self, rule: RuleId) -> String {
        self.program.sources.location(self.program.rule(rule).span)
    }

    fn rule_source(&self, rule: RuleId) -> String {
        super::request::one_line(self.program.sources.snippet(self.program.rule(rule).span))
    }

    fn bindings_list(&self, rule: RuleId, b: &[Option<Sym>]) -> Vec<(String, Value)> {
        let names = &self.program.rule(rule).var_names;
        b.iter()
            .enumerate()
            .filter_map(|(i, v)| Some((names.get(i)?.clone(), self.value((*v)?))))
            .collect()
    }

    fn bindings_text(&self, rule: RuleId, b: &[Option<Sym>]) -> String {
        self.bindings_list(rule, b)
            .iter()
            .map(|(n, v)| format!("{n} = {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn bindings_json(&self, rule: RuleId, b: &[Option<Sym>]) -> Json {
        let mut m = Map::new();
        for (n, v) in self.bindings_list(rule, b) {
            m.insert(n, value_json(&v));
        }
        Json::Object(m)
    }

    fn origin_text(&self, rel: RelId, o: &Origin) -> String {
        match o {
            Origin::Inline(span) => format!("fact at {}", self.program.sources.location(*span)),
            Origin::DataFile { file, row } => format!(
                "data file {file}, `{}` row {row}",
                self.program.relation(rel).name
            ),
            Origin::FactsFile { file, line } => format!("facts file {file}:{line}"),
        }
    }

    fn origin_json(&self, rel: RelId, o: &Origin) -> Json {
        match o {
            Origin::Inline(span) => json!({
                "kind": "inline",
                "location": self.program.sources.location(*span),
                "source": super::request::one_line(self.program.sources.snippet(*span)),
            }),
            Origin::DataFile { file, row } => json!({
                "kind": "data",
                "file": &**file,
                "relation": self.program.relation(rel).name,
                "row": row,
            }),
            Origin::FactsFile { file, line } => {
                json!({"kind": "facts", "file": &**file, "line": line})
            }
        }
    }

    fn values_json(&self, tuple: &[Sym]) -> Json {
        Json::Array(tuple.iter().map(|s| value_json(&self.value(*s))).collect())
    }

    fn pattern_json(&self, pattern: &[Option<Sym>]) -> Json {
        Json::Array(
            pattern
                .iter()
                .map(|s| match s {
                    Some(s) => value_json(&self.value(*s)),
                    None => Json::Null,
                })
                .collect(),
        )
    }

    // -----------------------------------------------------------------------------------------
    // Proofs

    /// A proof as an indented text tree.
    pub fn proof_text(&self, proof: &Proof) -> String {
        let mut t = Tree { out: String::new() };
        self.proof_tree(&mut t, 0, proof);
        t.out
    }

    fn proof_tree(&self, t: &mut Tree, d: usize, proof: &Proof) {
        let head = self.tuple_text(proof.rel, &proof.tuple);
        match &proof.step {
            Step::Fact(o) => t.line(d, &format!("{head}: {}", self.origin_text(proof.rel, o))),
            Step::Above => t.line(d, &format!("{head}: proved above")),
            Step::Elided => t.line(d, &format!("{head}: holds (proof not expanded)")),
            Step::Rule {
                rule,
                bindings,
                premises,
            } => {
                let with = self.bindings_text(*rule, bindings);
                let with = if with.is_empty() {
                    String::new()
                } else {
                    format!(" with {with}")
                };
                t.line(
                    d,
                    &format!("{head}: by rule at {}{with}", self.rule_location(*rule)),
                );
                // A statement's own rule is its source, shown with the statement.
                if !matches!(self.program.relation(proof.rel).kind, RelKind::Policy(_)) {
                    t.line(d + 1, &format!("| {}", self.rule_source(*rule)));
                }
                let body = &self.program.rule(*rule).body;
                for (lit, p) in body.iter().zip(premises) {
                    match p {
                        Premise::Atom(q) => self.proof_tree(t, d + 1, q),
                        Premise::Absent { rel, pattern } => t.line(
                            d + 1,
                            &format!("not {}: no tuple matches", self.pattern_text(*rel, pattern)),
                        ),
                        Premise::Compare { lhs, op, rhs } => {
                            let src = match lit {
                                BodyLit::Cmp { span, .. } => {
                                    self.program.sources.snippet(*span).to_string()
                                }
                                BodyLit::Pos(_) | BodyLit::Neg(_) => String::new(),
                            };
                            t.line(
                                d + 1,
                                &format!(
                                    "{src}: {} {} {} holds",
                                    self.value(*lhs),
                                    op_text(*op),
                                    self.value(*rhs)
                                ),
                            );
                        }
                    }
                }
            }
        }
    }

    /// A proof as JSON.
    pub fn proof_json(&self, proof: &Proof) -> Json {
        let mut m = Map::new();
        m.insert(
            "tuple".into(),
            json!(self.tuple_text(proof.rel, &proof.tuple)),
        );
        m.insert(
            "relation".into(),
            json!(self.program.relation(proof.rel).name),
        );
        m.insert("values".into(), self.values_json(&proof.tuple));
        match &proof.step {
            Step::Fact(o) => {
                m.insert("by".into(), json!("fact"));
                m.insert("origin".into(), self.origin_json(proof.rel, o));
            }
            Step::Above => {
                m.insert("by".into(), json!("above"));
            }
            Step::Elided => {
                m.insert("by".into(), json!("elided"));
            }
            Step::Rule {
                rule,
                bindings,
                premises,
            } => {
                m.insert("by".into(), json!("rule"));
                m.insert("rule".into(), self.rule_json(*rule));
                m.insert("bindings".into(), self.bindings_json(*rule, bindings));
                let body = &self.program.rule(*rule).body;
                let ps: Vec<Json> = body
                    .iter()
                    .zip(premises)
                    .map(|(lit, p)| match p {
                        Premise::Atom(q) => json!({"kind": "atom", "proof": self.proof_json(q)}),
                        Premise::Absent { rel, pattern } => json!({
                            "kind": "absent",
                            "atom": self.pattern_text(*rel, pattern),
                        }),
                        Premise::Compare { lhs, op, rhs } => json!({
                            "kind": "compare",
                            "text": match lit {
                                BodyLit::Cmp { span, .. } => self.program.sources.snippet(*span),
                                BodyLit::Pos(_) | BodyLit::Neg(_) => "",
                            },
                            "lhs": value_json(&self.value(*lhs)),
                            "op": op_text(*op),
                            "rhs": value_json(&self.value(*rhs)),
                        }),
                    })
                    .collect();
                m.insert("premises".into(), Json::Array(ps));
            }
        }
        Json::Object(m)
    }

    fn rule_json(&self, rule: RuleId) -> Json {
        json!({
            "index": rule.0,
            "location": self.rule_location(rule),
            "source": self.rule_source(rule),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Why-not

    /// A why-not as an indented text tree.
    pub fn why_not_text(&self, w: &WhyNot) -> String {
        let mut t = Tree { out: String::new() };
        t.line(
            0,
            &format!("{} does not hold", self.pattern_text(w.rel, &w.pattern)),
        );
        self.why_not_tree(&mut t, 1, w);
        t.out
    }

    fn why_not_tree(&self, t: &mut Tree, d: usize, w: &WhyNot) {
        if w.attempts.is_empty() {
            if self.rules_of[w.rel.index()].is_empty() {
                t.line(d, "no such fact, and no rule derives it");
            } else {
                t.line(d, "no rule has a head that matches it");
            }
        }
        if !w.existing.is_empty() {
            let list: Vec<String> = w
                .existing
                .iter()
                .map(|x| self.tuple_text(w.rel, x))
                .collect();
            t.line(
                d,
                &format!("the statement's instances are: {}", list.join(", ")),
            );
        }
        for a in &w.attempts {
            self.attempt_tree(t, d, a);
        }
    }

    fn literal_text(&self, rule: RuleId, i: usize) -> String {
        match self.program.rule(rule).body.get(i) {
            Some(BodyLit::Pos(a)) => self.program.sources.snippet(a.span).to_string(),
            Some(BodyLit::Neg(a)) => format!("not {}", self.program.sources.snippet(a.span)),
            Some(BodyLit::Cmp { span, .. }) => self.program.sources.snippet(*span).to_string(),
            None => String::new(),
        }
    }

    /// The failing literal's atom under the attempt's bindings, open variables by name.
    fn open_atom_text(&self, a: &Attempt) -> String {
        let rule = self.program.rule(a.rule);
        let atom = match rule.body.get(a.literal) {
            Some(BodyLit::Pos(x)) | Some(BodyLit::Neg(x)) => x,
            Some(BodyLit::Cmp { .. }) | None => return String::new(),
        };
        let args: Vec<String> = atom
            .args
            .iter()
            .map(|t| match t {
                Term::Const(c) => self.value(*c).to_string(),
                Term::Wildcard => "_".into(),
                Term::Var(v) => match a.bindings.get(v.0 as usize).copied().flatten() {
                    Some(s) => self.value(s).to_string(),
                    None => rule
                        .var_names
                        .get(v.0 as usize)
                        .cloned()
                        .unwrap_or_else(|| "_".into()),
                },
            })
            .collect();
        format!(
            "{}({})",
            self.program.relation(atom.rel).name,
            args.join(", ")
        )
    }

    fn attempt_tree(&self, t: &mut Tree, d: usize, a: &Attempt) {
        t.line(
            d,
            &format!(
                "rule at {}: {}",
                self.rule_location(a.rule),
                self.rule_source(a.rule)
            ),
        );
        let with = self.bindings_text(a.rule, &a.bindings);
        if !with.is_empty() {
            t.line(d + 1, &format!("with {with}"));
        }
        let lit = self.literal_text(a.rule, a.literal);
        let times = if a.reached > 1 {
            format!(" (for each of {} partial matches)", a.reached)
        } else {
            String::new()
        };
        match &a.blocker {
            Blocker::Missing {
                rel,
                pattern: _,
                below,
                repeated,
            } => {
                let times = if *repeated {
                    format!("{times} (the goal above)")
                } else {
                    times
                };
                let what = if self.rules_of[rel.index()].is_empty() {
                    "no such fact"
                } else {
                    "no such tuple"
                };
                t.line(
                    d + 1,
                    &format!(
                        "fails at `{lit}`: {what}: {}{times}",
                        self.open_atom_text(a)
                    ),
                );
                if let Some(w) = below {
                    self.why_not_tree(t, d + 2, w);
                }
            }
            Blocker::Present { rel, tuple } => t.line(
                d + 1,
                &format!(
                    "fails at `{lit}`: {} holds{times}",
                    self.tuple_text(*rel, tuple)
                ),
            ),
            Blocker::Compare { lhs, op, rhs } => {
                let v = |s: &Option<Sym>| match s {
                    Some(s) => self.value(*s).to_string(),
                    None => "_".into(),
                };
                t.line(
                    d + 1,
                    &format!(
                        "fails at `{lit}`: {} {} {} is false{times}",
                        v(lhs),
                        op_text(*op),
                        v(rhs)
                    ),
                );
            }
            Blocker::Unknown => t.line(d + 1, "fails somewhere: too many partial matches to tell"),
        }
    }

    /// A why-not as JSON.
    pub fn why_not_json(&self, w: &WhyNot) -> Json {
        json!({
            "tuple": self.pattern_text(w.rel, &w.pattern),
            "relation": self.program.relation(w.rel).name,
            "values": self.pattern_json(&w.pattern),
            "derivable": !self.rules_of[w.rel.index()].is_empty(),
            "existing": w.existing.iter().map(|x| self.tuple_text(w.rel, x)).collect::<Vec<_>>(),
            "attempts": w.attempts.iter().map(|a| self.attempt_json(a)).collect::<Vec<_>>(),
        })
    }

    fn attempt_json(&self, a: &Attempt) -> Json {
        let blocker = match &a.blocker {
            Blocker::Missing {
                rel,
                pattern,
                below,
                repeated,
            } => json!({
                "kind": "missing",
                "repeated": repeated,
                "atom": self.open_atom_text(a),
                "values": self.pattern_json(pattern),
                "derivable": !self.rules_of[rel.index()].is_empty(),
                "below": below.as_ref().map(|w| self.why_not_json(w)),
            }),
            Blocker::Present { rel, tuple } => json!({
                "kind": "present",
                "tuple": self.tuple_text(*rel, tuple),
            }),
            Blocker::Compare { lhs, op, rhs } => json!({
                "kind": "compare",
                "lhs": lhs.map(|s| value_json(&self.value(s))),
                "op": op_text(*op),
                "rhs": rhs.map(|s| value_json(&self.value(s))),
            }),
            Blocker::Unknown => json!({"kind": "unknown"}),
        };
        json!({
            "rule": self.rule_json(a.rule),
            "bindings": self.bindings_json(a.rule, &a.bindings),
            "literal": {"index": a.literal, "text": self.literal_text(a.rule, a.literal)},
            "reached": a.reached,
            "blocker": blocker,
        })
    }

    // -----------------------------------------------------------------------------------------
    // Decisions

    /// An explained decision as an indented text tree.
    pub fn explanation_text(&self, e: &Explanation) -> String {
        let mut t = Tree { out: String::new() };
        let d = &e.decision;
        let what = if e.action.is_empty() {
            String::new()
        } else {
            format!(": `{}` on `{}`", e.action, e.resource_type)
        };
        t.line(0, &format!("{}{what}", e.verdict));
        if !e.chain.is_empty() {
            t.line(1, &format!("chain: {}", e.chain.join(" <- ")));
        }
        t.line(1, &format!("reason: {}", e.reason));
        if let Some(c) = &e.constraints {
            t.line(1, &format!("constraints left open: {c}"));
            if !d.pending_forbids.is_empty() {
                t.line(
                    2,
                    &format!("including the negation of {}", d.pending_forbids.join(", ")),
                );
            }
        }
        for g in &e.grants {
            self.grants_tree(&mut t, 1, g);
        }
        if let Some(r) = &e.deny {
            self.deny_tree(&mut t, 1, r);
        }
        t.out
    }

    fn grants_tree(&self, t: &mut Tree, d: usize, g: &PrincipalGrants) {
        t.line(
            d,
            &format!(
                "{} ({}) is granted by:",
                g.principal,
                position_text(g.position)
            ),
        );
        for i in &g.instances {
            self.instance_tree(t, d + 1, i);
        }
    }

    fn instance_tree(&self, t: &mut Tree, d: usize, i: &Instance) {
        t.line(
            d,
            &format!("{} {} at {}", effect_text(i.effect), i.id, i.location),
        );
        t.line(d + 1, &format!("| {}", i.source));
        t.line(d + 1, "instance:");
        self.proof_tree(t, d + 2, &i.proof);
        if let Some(c) = &i.condition {
            t.line(d + 1, "condition:");
            self.cond_tree(t, d + 2, c);
        }
        if let Some(f) = &i.failed {
            t.line(d + 1, &format!("failed: {f}"));
        }
    }

    fn cond_tree(&self, t: &mut Tree, d: usize, c: &CondCheck) {
        let outcome = match &c.outcome {
            Outcome::True => "true".to_string(),
            Outcome::False => "false".to_string(),
            Outcome::Open(k) => format!("open: {k}"),
            Outcome::Error(e) => format!("error: {e}"),
        };
        let values = if c.values.is_empty() {
            String::new()
        } else {
            let vs: Vec<String> = c
                .values
                .iter()
                .map(|(n, v)| format!("{n} = {}", attr_text(v)))
                .collect();
            format!(" ({})", vs.join(", "))
        };
        let text = if c.parts.is_empty() {
            c.text.clone()
        } else {
            format!("{}: {}", c.kind, c.text)
        };
        t.line(d, &format!("{text}: {outcome}{values}"));
        for p in &c.parts {
            self.cond_tree(t, d + 1, p);
        }
    }

    fn deny_tree(&self, t: &mut Tree, d: usize, r: &DenyReason) {
        match r {
            DenyReason::Malformed { message } => {
                t.line(d, &format!("the request is malformed: {message}"))
            }
            DenyReason::Token { message } => t.line(
                d,
                &format!("the identity token was not accepted: {message}"),
            ),
            DenyReason::Scope { action } => {
                t.line(d, &format!("the token's scope does not include `{action}`"))
            }
            DenyReason::Forbidden { instance } => {
                let who = match &instance.principal {
                    Some(p) => format!(" for {p}"),
                    None => String::new(),
                };
                t.line(d, &format!("forbidden{who} by:"));
                self.instance_tree(t, d + 1, instance);
            }
            DenyReason::NoGrant {
                principal,
                position,
                candidates,
            } => {
                t.line(
                    d,
                    &format!(
                        "{principal} ({}) holds no covering grant",
                        position_text(*position)
                    ),
                );
                if candidates.is_empty() {
                    t.line(d + 1, "no permit covers this action and resource kind");
                }
                for c in candidates {
                    self.candidate_tree(t, d + 1, c);
                }
            }
            DenyReason::Unsatisfiable { forbids, grants } => {
                if forbids.is_empty() {
                    t.line(d, "the grants of the chain have no common allowed values");
                } else {
                    t.line(
                        d,
                        &format!(
                            "the grants of the chain leave no values that {} do not forbid",
                            forbids.join(", ")
                        ),
                    );
                }
                for g in grants {
                    self.grants_tree(t, d + 1, g);
                }
            }
            DenyReason::Error {
                id,
                principal,
                message,
                location,
            } => {
                let mut s = format!("evaluation error in {id}");
                if let Some(p) = principal {
                    let _ = write!(s, " for {p}");
                }
                if let Some(l) = location {
                    let _ = write!(s, " at {l}");
                }
                let _ = write!(s, ": {message}");
                t.line(d, &s);
            }
        }
    }

    fn candidate_tree(&self, t: &mut Tree, d: usize, c: &Candidate) {
        t.line(d, &format!("permit {} at {}", c.id, c.location));
        t.line(d + 1, &format!("| {}", c.source));
        match &c.failure {
            CandidateFailure::WrongType { expected, found } => t.line(
                d + 1,
                &format!("applies to `{expected}` principals, not `{found}`"),
            ),
            CandidateFailure::NoInstance(w) => {
                t.line(
                    d + 1,
                    &format!(
                        "no instance: {} does not hold",
                        self.pattern_text(w.rel, &w.pattern)
                    ),
                );
                self.why_not_tree(t, d + 2, w);
            }
            CandidateFailure::Condition(instances) => {
                for i in instances {
                    t.line(d + 1, "instance:");
                    self.proof_tree(t, d + 2, &i.proof);
                    if let Some(c) = &i.condition {
                        t.line(d + 1, "condition:");
                        self.cond_tree(t, d + 2, c);
                    }
                    if let Some(f) = &i.failed {
                        t.line(d + 1, &format!("failed: {f}"));
                    }
                }
            }
        }
    }

    /// An explained decision as JSON.
    pub fn explanation_json(&self, e: &Explanation) -> Json {
        let d = &e.decision;
        let mut m = Map::new();
        m.insert("decision".into(), json!(d.allowed));
        m.insert("verdict".into(), json!(e.verdict));
        m.insert("action".into(), json!(e.action));
        m.insert("resource_type".into(), json!(e.resource_type));
        m.insert("chain".into(), json!(e.chain));
        m.insert("reason".into(), json!(e.reason));
        if d.allowed {
            let ids = d
                .grants
                .iter()
                .map(|i| Json::from(self.program.policy_id(i)));
            m.insert("grants".into(), Json::Array(ids.collect()));
            m.insert(
                "principals".into(),
                Json::Array(e.grants.iter().map(|g| self.grants_json(g)).collect()),
            );
            if !d.constraints.is_always() {
                m.insert("constraints".into(), d.constraints.to_json());
                m.insert("pending_forbids".into(), json!(d.pending_forbids));
            }
        }
        if let Some(r) = &e.deny {
            m.insert("deny".into(), self.deny_json(r));
        }
        Json::Object(m)
    }

    fn grants_json(&self, g: &PrincipalGrants) -> Json {
        json!({
            "principal": g.principal,
            "position": g.position,
            "instances": g.instances.iter().map(|i| self.instance_json(i)).collect::<Vec<_>>(),
        })
    }

    fn instance_json(&self, i: &Instance) -> Json {
        json!({
            "id": i.id,
            "effect": effect_text(i.effect),
            "location": i.location,
            "source": i.source,
            "principal": i.principal,
            "proof": self.proof_json(&i.proof),
            "condition": i.condition.as_ref().map(cond_json),
            "failed": i.failed,
        })
    }

    fn deny_json(&self, r: &DenyReason) -> Json {
        match r {
            DenyReason::Malformed { message } => json!({"class": "malformed", "message": message}),
            DenyReason::Token { message } => json!({"class": "token", "message": message}),
            DenyReason::Scope { action } => json!({"class": "scope", "action": action}),
            DenyReason::Forbidden { instance } => json!({
                "class": "forbidden",
                "forbid": self.instance_json(instance),
            }),
            DenyReason::NoGrant {
                principal,
                position,
                candidates,
            } => json!({
                "class": "no_grant",
                "principal": principal,
                "position": position,
                "candidates": candidates.iter().map(|c| self.candidate_json(c)).collect::<Vec<_>>(),
            }),
            DenyReason::Unsatisfiable { forbids, grants } => json!({
                "class": "unsatisfiable",
                "forbids": forbids,
                "principals": grants.iter().map(|g| self.grants_json(g)).collect::<Vec<_>>(),
            }),
            DenyReason::Error {
                id,
                principal,
                message,
                location,
            } => json!({
                "class": "error",
                "id": id,
                "principal": principal,
                "message": message,
                "location": location,
            }),
        }
    }

    fn candidate_json(&self, c: &Candidate) -> Json {
        let failure = match &c.failure {
            CandidateFailure::WrongType { expected, found } => {
                json!({"kind": "wrong_type", "expected": expected, "found": found})
            }
            CandidateFailure::NoInstance(w) => {
                json!({"kind": "no_instance", "why_not": self.why_not_json(w)})
            }
            CandidateFailure::Condition(is) => json!({
                "kind": "condition",
                "instances": is.iter().map(|i| self.instance_json(i)).collect::<Vec<_>>(),
            }),
        };
        json!({
            "id": c.id,
            "location": c.location,
            "source": c.source,
            "failure": failure,
        })
    }
}

fn cond_json(c: &CondCheck) -> Json {
    let (outcome, detail) = match &c.outcome {
        Outcome::True => ("true", None),
        Outcome::False => ("false", None),
        Outcome::Open(k) => ("open", Some(k.clone())),
        Outcome::Error(e) => ("error", Some(e.clone())),
    };
    let mut values = Map::new();
    for (n, v) in &c.values {
        values.insert(n.clone(), attr_json(v));
    }
    let mut m = Map::new();
    m.insert("kind".into(), json!(c.kind));
    m.insert("text".into(), json!(c.text));
    m.insert("location".into(), json!(c.location));
    m.insert("outcome".into(), json!(outcome));
    if let Some(d) = detail {
        m.insert(
            if outcome == "open" {
                "constraint"
            } else {
                "error"
            }
            .into(),
            json!(d),
        );
    }
    m.insert("values".into(), Json::Object(values));
    if !c.parts.is_empty() {
        m.insert(
            "parts".into(),
            Json::Array(c.parts.iter().map(cond_json).collect()),
        );
    }
    Json::Object(m)
}
