//! The diff against the decider on generated policy pairs and requests.
//!
//! Each case generates a small policy (roles with inheritance, named principals, `user U`
//! statements binding an int from data, forbids about the request, about named principals and
//! about flagged principals; conditions over an int, a string and a boolean attribute and the
//! principal's id) as source text, and a NEW version by mutating it: changed constants, added,
//! removed or flipped statements, changed data, and rewrites that keep the meaning (renamed ids,
//! reordered statements, double negation, swapped operands). Then, for generated requests
//! (chains of 1 to 3 principals, known principals and strangers, named and unnamed actions and
//! kinds, each attribute known or missing):
//! - **complete**: when the decision or its constraints differ between OLD and NEW (by
//!   `ztpol::decide::Decider`, constraints compared by equivalence), the diff reports a change
//!   for a principal of the chain, for that action and kind, whose old and new permissions
//!   differ on requests with the request's known values;
//! - **sound**: for a principal acting alone, such a reported change means the decision
//!   differs; and every reported change has a witness request (a value assignment inside the
//!   difference, the principal acting alone) whose decision differs;
//! - **exact**: the decision of every request equals the AND of its chain principals'
//!   permissions (`ztpol::diff::Permissions`) with the request's known values substituted.
//!
//! `ZTPOL_SEED=<n>` replays one seed; `ZTPOL_CASES=<n>` changes the number of pairs.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeMap;
use ztpol::decide::residual::{Alternative, StrSet};
use ztpol::decide::{Constraint, Decider, Decision, Denial, Domain, Request};
use ztpol::diff::cells::{ActionCell, Cells, KindCell};
use ztpol::diff::{self, Permissions, Version};
use ztpol::eval::Model;
use ztpol::ir::{Program, Value};

const USERS: [&str; 3] = ["u0", "u1", "u2"];
const AGENTS: [&str; 2] = ["a0", "a1"];
const ROLES: [&str; 2] = ["r0", "r1"];
const PATTERNS: [&str; 6] = ["x.read", "x.write", "y.run", "x.*", "y.*", "*"];
const REQ_ACTIONS: [&str; 5] = ["x.read", "x.write", "y.run", "x.other", "z.zap"];
const KINDS: [&str; 2] = ["doc", "box"];
const REQ_KINDS: [&str; 3] = ["doc", "box", "cup"];
const REGIONS: [&str; 3] = ["US", "EU", "JP"];
const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

#[derive(Debug, Clone)]
enum C {
    Int(&'static str, i64),
    Region(bool, Vec<&'static str>),
    Flag(bool),
    PrincipalIs(&'static str),
    /// `action.n OP L` with L bound by the body (only in `user U` statements).
    Bound(&'static str),
    Not(Box<C>),
    And(Box<C>, Box<C>),
    Or(Box<C>, Box<C>),
}

impl C {
    fn text(&self) -> String {
        match self {
            C::Int(op, v) => format!("action.n {op} {v}"),
            C::Region(eq, vals) if vals.len() == 1 => {
                format!(
                    "resource.region {} {:?}",
                    if *eq { "==" } else { "!=" },
                    vals[0]
                )
            }
            C::Region(eq, vals) => {
                let set: Vec<String> = vals.iter().map(|v| format!("{v:?}")).collect();
                let inner = format!("resource.region in [{}]", set.join(", "));
                if *eq {
                    inner
                } else {
                    format!("not ({inner})")
                }
            }
            C::Flag(b) => format!("context.flag == {b}"),
            C::PrincipalIs(id) => format!("principal.id == {id:?}"),
            C::Bound(op) => format!("action.n {op} L"),
            C::Not(c) => format!("not ({})", c.text()),
            C::And(a, b) => format!("({} and {})", a.text(), b.text()),
            C::Or(a, b) => format!("({} or {})", a.text(), b.text()),
        }
    }

    fn uses_bound(&self) -> bool {
        match self {
            C::Bound(_) => true,
            C::Not(c) => c.uses_bound(),
            C::And(a, b) | C::Or(a, b) => a.uses_bound() || b.uses_bound(),
            C::Int(..) | C::Region(..) | C::Flag(_) | C::PrincipalIs(_) => false,
        }
    }
}

#[derive(Debug, Clone)]
enum Who {
    Role(&'static str),
    Named(&'static str, &'static str),
    /// `user U ... if level(U, L)`
    UserVar,
    /// `principal P ... if flagged(P)` (forbids)
    Flagged,
    /// no principal (forbids)
    Request,
}

#[derive(Debug, Clone)]
struct Stmt {
    id: String,
    permit: bool,
    who: Who,
    actions: Vec<&'static str>,
    kinds: Vec<&'static str>,
    cond: Option<C>,
}

#[derive(Debug, Clone)]
struct Pol {
    members: Vec<(String, &'static str)>,
    inherits: bool,
    flagged: Vec<String>,
    levels: Vec<(&'static str, i64)>,
    stmts: Vec<Stmt>,
}

impl Pol {
    fn text(&self) -> String {
        let mut s =
            String::from("use std::roles;\nrel flagged(p: string)\nrel level(p: string, n: int)\n");
        for (p, r) in &self.members {
            s.push_str(&format!("member({p:?}, {r:?}).\n"));
        }
        if self.inherits {
            s.push_str("inherits(\"r1\", \"r0\").\n");
        }
        for p in &self.flagged {
            s.push_str(&format!("flagged({p:?}).\n"));
        }
        for (u, n) in &self.levels {
            s.push_str(&format!("level(\"user:{u}\", {n}).\n"));
        }
        for st in &self.stmts {
            let who = match &st.who {
                Who::Role(r) => format!(" role {r:?}"),
                Who::Named(t, id) => format!(" {t} {id:?}"),
                Who::UserVar => " user U".into(),
                Who::Flagged => " principal P".into(),
                Who::Request => String::new(),
            };
            let on = if st.kinds.is_empty() {
                String::new()
            } else {
                format!(" on {}", st.kinds.join(", "))
            };
            let when = st
                .cond
                .as_ref()
                .map(|c| format!(" when {}", c.text()))
                .unwrap_or_default();
            let body = match &st.who {
                Who::UserVar => {
                    if st.cond.as_ref().is_some_and(C::uses_bound) {
                        " if level(U, L)"
                    } else {
                        " if level(U, _)"
                    }
                }
                Who::Flagged => " if flagged(P)",
                Who::Role(_) | Who::Named(..) | Who::Request => "",
            };
            s.push_str(&format!(
                "@id({:?})\n{}{who} to {}{on}{when}{body};\n",
                st.id,
                if st.permit { "permit" } else { "forbid" },
                st.actions.join(", "),
            ));
        }
        s
    }
}

struct Gen {
    rng: StdRng,
    next_id: usize,
}

impl Gen {
    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.rng.random_range(0..xs.len())].clone()
    }

    fn principal_ref(&mut self) -> String {
        if self.rng.random_bool(0.7) {
            format!("user:{}", self.pick(&USERS))
        } else {
            format!("agent:{}", self.pick(&AGENTS))
        }
    }

    fn cond(&mut self, depth: u32, bound: bool, principal: bool) -> C {
        let leaf = depth == 0 || self.rng.random_bool(0.5);
        if leaf {
            match self.rng.random_range(0..10) {
                0..=3 => C::Int(self.pick(&OPS), self.rng.random_range(0..8)),
                4..=6 => {
                    let n = self.rng.random_range(1..=2);
                    let vals = (0..n).map(|_| self.pick(&REGIONS)).collect();
                    C::Region(self.rng.random_bool(0.7), vals)
                }
                7 => C::Flag(self.rng.random_bool(0.5)),
                8 if principal => C::PrincipalIs(self.pick(&["u0", "u1", "a0"])),
                _ if bound => C::Bound(self.pick(&OPS)),
                _ => C::Int(self.pick(&OPS), self.rng.random_range(0..8)),
            }
        } else {
            let a = Box::new(self.cond(depth - 1, bound, principal));
            match self.rng.random_range(0..3) {
                0 => C::Not(a),
                1 => C::And(a, Box::new(self.cond(depth - 1, bound, principal))),
                _ => C::Or(a, Box::new(self.cond(depth - 1, bound, principal))),
            }
        }
    }

    fn stmt(&mut self) -> Stmt {
        self.next_id += 1;
        let permit = self.rng.random_bool(0.7);
        let who = match self.rng.random_range(0..10) {
            0..=2 => Who::Role(self.pick(&ROLES)),
            3..=5 => {
                if self.rng.random_bool(0.6) {
                    Who::Named("user", self.pick(&USERS))
                } else {
                    Who::Named("agent", self.pick(&AGENTS))
                }
            }
            6 | 7 => Who::UserVar,
            _ if permit => Who::Role(self.pick(&ROLES)),
            8 => Who::Flagged,
            _ => Who::Request,
        };
        let n = self.rng.random_range(1..=2);
        let actions = (0..n).map(|_| self.pick(&PATTERNS)).collect();
        let kinds = if self.rng.random_bool(0.5) {
            vec![]
        } else {
            vec![self.pick(&KINDS)]
        };
        let bound = matches!(who, Who::UserVar);
        let principal = !matches!(who, Who::Request);
        let cond = self
            .rng
            .random_bool(0.7)
            .then(|| self.cond(2, bound, principal));
        Stmt {
            id: format!("s{}", self.next_id),
            permit,
            who,
            actions,
            kinds,
            cond,
        }
    }

    fn policy(&mut self) -> Pol {
        let mut members = Vec::new();
        for u in USERS
            .iter()
            .map(|u| format!("user:{u}"))
            .chain(["agent:a0".to_string()])
        {
            if self.rng.random_bool(0.6) {
                members.push((u, self.pick(&ROLES)));
            }
        }
        let flagged = (0..self.rng.random_range(0..2))
            .map(|_| self.principal_ref())
            .collect();
        let mut levels = Vec::new();
        for u in USERS {
            if self.rng.random_bool(0.6) {
                levels.push((u, self.rng.random_range(0..8)));
            }
        }
        let stmts = (0..self.rng.random_range(1..=6))
            .map(|_| self.stmt())
            .collect();
        Pol {
            members,
            inherits: self.rng.random_bool(0.5),
            flagged,
            levels,
            stmts,
        }
    }

    /// A mutation of `p`: meaning-changing or meaning-preserving.
    fn mutate(&mut self, p: &Pol) -> Pol {
        let mut q = p.clone();
        for _ in 0..self.rng.random_range(1..=2) {
            let n = q.stmts.len();
            match self.rng.random_range(0..11) {
                0 if n > 0 => {
                    q.stmts.remove(self.rng.random_range(0..n));
                }
                1 => {
                    let s = self.stmt();
                    let at = self.rng.random_range(0..=n);
                    q.stmts.insert(at, s);
                }
                2 if n > 0 => {
                    let i = self.rng.random_range(0..n);
                    let bound = matches!(q.stmts[i].who, Who::UserVar);
                    let principal = !matches!(q.stmts[i].who, Who::Request);
                    q.stmts[i].cond = Some(self.cond(2, bound, principal));
                }
                3 if n > 0 => {
                    let i = self.rng.random_range(0..n);
                    let s = &mut q.stmts[i];
                    if !matches!(s.who, Who::Request | Who::Flagged) {
                        s.permit = !s.permit;
                    }
                }
                4 if n > 0 => {
                    let i = self.rng.random_range(0..n);
                    if let Some(c) = &mut q.stmts[i].cond {
                        bump(c, &mut self.rng);
                    }
                }
                5 => {
                    if q.members.is_empty() || self.rng.random_bool(0.5) {
                        let u = self.principal_ref();
                        let r = self.pick(&ROLES);
                        q.members.push((u, r));
                    } else {
                        let i = self.rng.random_range(0..q.members.len());
                        q.members.remove(i);
                    }
                }
                6 => q.inherits = !q.inherits,
                // meaning-preserving rewrites
                7 if n > 1 => {
                    let i = self.rng.random_range(0..n);
                    let j = self.rng.random_range(0..n);
                    q.stmts.swap(i, j);
                }
                8 if n > 0 => {
                    let i = self.rng.random_range(0..n);
                    q.stmts[i].id = format!("{}-renamed", q.stmts[i].id);
                }
                9 if n > 0 => {
                    let i = self.rng.random_range(0..n);
                    if let Some(c) = q.stmts[i].cond.take() {
                        q.stmts[i].cond = Some(equivalent(c));
                    }
                }
                _ => {
                    let u = self.pick(&USERS);
                    let v = self.rng.random_range(0..8);
                    q.levels.retain(|(x, _)| *x != u);
                    q.levels.push((u, v));
                }
            }
        }
        q
    }

    fn request(&mut self) -> Json {
        let chain: Vec<Json> = (0..self.rng.random_range(1..=3))
            .map(|_| {
                let r = if self.rng.random_bool(0.1) {
                    "user:stranger".to_string()
                } else {
                    self.principal_ref()
                };
                let (t, id) = r.split_once(':').unwrap_or(("user", "x"));
                json!({"type": t, "id": id})
            })
            .collect();
        let mut action_props = Map::new();
        if self.rng.random_bool(0.6) {
            action_props.insert("n".into(), json!(self.rng.random_range(-1..9)));
        }
        let mut resource_props = Map::new();
        if self.rng.random_bool(0.6) {
            resource_props.insert("region".into(), json!(self.pick(&["US", "EU", "JP", "BR"])));
        }
        let mut context = Map::new();
        if self.rng.random_bool(0.6) {
            context.insert("flag".into(), json!(self.rng.random_bool(0.5)));
        }
        context.insert("on_behalf_of".into(), Json::Array(chain[1..].to_vec()));
        json!({
            "subject": chain[0],
            "action": {"name": self.pick(&REQ_ACTIONS), "properties": action_props},
            "resource": {"type": self.pick(&REQ_KINDS), "properties": resource_props},
            "context": context,
        })
    }
}

/// Changes one int constant of a condition.
fn bump(c: &mut C, rng: &mut StdRng) {
    match c {
        C::Int(_, v) => *v += if rng.random_bool(0.5) { 1 } else { -1 },
        C::Region(eq, _) => *eq = !*eq,
        C::Flag(b) => *b = !*b,
        C::PrincipalIs(_) | C::Bound(_) => {}
        C::Not(c) => bump(c, rng),
        C::And(a, b) | C::Or(a, b) => {
            if rng.random_bool(0.5) {
                bump(a, rng)
            } else {
                bump(b, rng)
            }
        }
    }
}

/// The same condition, written differently.
fn equivalent(c: C) -> C {
    match c {
        C::And(a, b) => C::And(b, a),
        C::Or(a, b) => C::Not(Box::new(C::And(Box::new(C::Not(a)), Box::new(C::Not(b))))),
        C::Int("<=", v) => C::Not(Box::new(C::Int(">", v))),
        C::Int("<", v) => C::Int("<=", v - 1),
        other => C::Not(Box::new(C::Not(Box::new(other)))),
    }
}

struct Loaded {
    program: Program,
    model: Model,
}

fn load(text: &str) -> Loaded {
    let compiled = ztpol::load::compile_str("gen.ztp", text);
    let program = compiled.program.unwrap_or_else(|| {
        panic!(
            "generated policy does not compile: {:?}\n{text}",
            compiled.diagnostics
        )
    });
    let input = ztpol::eval::input_model(&program, &[]);
    let model =
        ztpol::eval::evaluate(&program, &input, &Default::default()).expect("evaluation succeeds");
    Loaded { program, model }
}

/// The value of a constraint key in a request, when known.
fn known(req: &Request, key: &str) -> Option<Value> {
    let v = match key {
        "action.n" => req.action.properties.get("n"),
        "resource.region" => req.resource.properties.get("region"),
        "context.flag" => req.context.get("flag"),
        _ => None,
    }?;
    match v {
        Json::Number(n) => n.as_i64().map(Value::Int),
        Json::String(s) => Some(Value::Str(s.clone())),
        Json::Bool(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

/// `c` with the request's known values substituted.
fn restrict(c: &Constraint, req: &Request) -> Constraint {
    let alts: Vec<Alternative> = c
        .alternatives()
        .iter()
        .filter_map(|alt| {
            let mut out = Alternative::new();
            for (k, d) in alt {
                match known(req, k) {
                    Some(v) if d.contains(&v) => {}
                    Some(_) => return None,
                    None => {
                        out.insert(k.clone(), d.clone());
                    }
                }
            }
            Some(out)
        })
        .collect();
    Constraint::from_alternatives(alts).expect("a restriction is no larger")
}

/// The decision as a constraint: never for a deny.
fn as_constraint(d: &Decision) -> Constraint {
    assert!(
        !matches!(d.denial, Some(Denial::Error { .. })),
        "generated requests never hit evaluation errors: {:?}",
        d.denial
    );
    if d.allowed {
        d.constraints.clone()
    } else {
        Constraint::never()
    }
}

fn xor(a: &Constraint, b: &Constraint) -> Constraint {
    let left = a.and(&b.not().expect("small")).expect("small");
    let right = b.and(&a.not().expect("small")).expect("small");
    left.or(&right).expect("small")
}

/// A request with `principal` acting alone, with values from the first alternative of `c`.
fn witness(principal: &str, action: &str, kind: &str, c: &Constraint) -> Json {
    let alt = &c.alternatives()[0];
    let mut action_props = Map::new();
    let mut resource_props = Map::new();
    let mut context = Map::new();
    for (k, d) in alt {
        let v = match d {
            Domain::Int(set) => {
                let (lo, hi) = set.intervals()[0];
                json!(if lo == i64::MIN { hi } else { lo })
            }
            Domain::Str(StrSet::In(s)) => json!(s.iter().next().expect("non-empty")),
            Domain::Str(StrSet::NotIn(_)) => json!("nowhere"),
            Domain::Bool(b) => json!(b.allow_true),
        };
        match k.as_str() {
            "action.n" => action_props.insert("n".into(), v),
            "resource.region" => resource_props.insert("region".into(), v),
            "context.flag" => context.insert("flag".into(), v),
            other => panic!("unexpected attribute `{other}`"),
        };
    }
    let (t, id) = principal.split_once(':').expect("a principal ref");
    json!({
        "subject": {"type": t, "id": id},
        "action": {"name": action, "properties": action_props},
        "resource": {"type": kind, "properties": resource_props},
        "context": context,
    })
}

fn cases() -> (u64, u64) {
    let n = std::env::var("ZTPOL_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    match std::env::var("ZTPOL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => (seed, 1),
        None => (0xd1ff, n),
    }
}

#[test]
fn diff_is_sound_and_complete_against_the_decider() {
    let (first, n) = cases();
    let (mut requests, mut differing, mut changes_seen, mut no_change_pairs) = (0, 0, 0, 0);
    for seed in first..first + n {
        let mut g = Gen {
            rng: StdRng::seed_from_u64(seed),
            next_id: 0,
        };
        let old_pol = g.policy();
        let new_pol = g.mutate(&old_pol);
        let (old_text, new_text) = (old_pol.text(), new_pol.text());
        let ctx = || format!("seed {seed}\n--- OLD\n{old_text}\n--- NEW\n{new_text}");
        let (old, new) = (load(&old_text), load(&new_text));
        let vo = Version {
            program: &old.program,
            model: &old.model,
        };
        let vn = Version {
            program: &new.program,
            model: &new.model,
        };
        let d = diff::diff(vo, vn).unwrap_or_else(|e| panic!("{e}\n{}", ctx()));
        let cells = Cells::new(&[(&old.program, &old.model), (&new.program, &new.model)]);
        let mut reported: BTreeMap<(String, ActionCell, KindCell), Constraint> = BTreeMap::new();
        for c in d.changes() {
            let delta = xor(&c.set.old, &c.set.new);
            assert!(
                !delta.is_never(),
                "a reported change differs somewhere\n{}",
                ctx()
            );
            reported.insert(
                (
                    c.principal.to_string(),
                    c.set.action.clone(),
                    c.set.resource.clone(),
                ),
                delta,
            );
        }
        if reported.is_empty() {
            no_change_pairs += 1;
        }
        let (dec_old, dec_new) = (
            Decider::new(&old.program, &old.model),
            Decider::new(&new.program, &new.model),
        );
        let (perm_old, perm_new) = (
            Permissions::new(&old.program, &old.model),
            Permissions::new(&new.program, &new.model),
        );

        // Sound: every reported change has a witness.
        for ((p, a, k), delta) in &reported {
            changes_seen += 1;
            let action = match a {
                ActionCell::Named(n) => n.clone(),
                ActionCell::OtherIn(f) => format!("{f}.unnamed"),
                ActionCell::Other => "unnamed".into(),
            };
            let kind = match k {
                KindCell::Named(n) => n.clone(),
                KindCell::Other => "unnamed-kind".into(),
            };
            let req = Request::from_json(&witness(p, &action, &kind, delta)).expect("valid");
            let (o, n) = (dec_old.decide(&req), dec_new.decide(&req));
            assert!(
                !as_constraint(&o).equivalent(&as_constraint(&n)),
                "no witness for the reported change of {p} on {action} {kind}: {delta}\n{}",
                ctx()
            );
        }

        for _ in 0..40 {
            requests += 1;
            let json = g.request();
            let req = Request::from_json(&json).expect("generated requests are valid");
            let (o, n) = (dec_old.decide(&req), dec_new.decide(&req));
            let (co, cn) = (as_constraint(&o), as_constraint(&n));
            let differs = !co.equivalent(&cn);
            let action = &req.action.name;
            let kind = &req.resource.ty;

            // Exact: the decision is the AND of the chain's permissions.
            for (perms, decided, side) in [(&perm_old, &co, "old"), (&perm_new, &cn, "new")] {
                let mut all = Constraint::always();
                for p in req.chain() {
                    let c = perms
                        .permission_of(&p.reference(), action, kind)
                        .expect("permission");
                    all = all.and(&c).expect("small");
                }
                let all = restrict(&all, &req);
                assert!(
                    all.equivalent(decided),
                    "{side}: permissions give {all}, the decider {decided}\nrequest {json}\n{}",
                    ctx()
                );
            }

            // Complete and (alone) sound: changes covering the request.
            let (ac, kc) = (cells.action_cell(action), cells.kind_cell(kind));
            let covering = req.chain().any(|p| {
                reported
                    .get(&(p.reference(), ac.clone(), kc.clone()))
                    .is_some_and(|delta| !restrict(delta, &req).is_never())
            });
            if differs {
                differing += 1;
                assert!(
                    covering,
                    "the decision differs ({co} -> {cn}) but no change covers it\nrequest {json}\n{}",
                    ctx()
                );
            }
            if req.chain_len() == 1 {
                assert_eq!(
                    covering,
                    differs,
                    "a principal acting alone\nrequest {json}\n{}",
                    ctx()
                );
            }
        }
    }
    eprintln!(
        "{n} pairs ({no_change_pairs} without change), {changes_seen} reported changes, \
         {requests} requests ({differing} differing)"
    );
    assert!(
        differing > n as usize / 10 || n < 20,
        "too few differing requests"
    );
    assert!(no_change_pairs > 0 || n < 20, "no pair without change");
}
