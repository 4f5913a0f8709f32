//! The staged decider against the reference path on generated policies and requests.
//!
//! Every run generates programs (statements with random principals, actions, kinds, bound
//! columns and conditions over ints, strings, booleans, principal properties and lookups; some
//! instance relations derived by rules from data) and, for each, fully-known requests: the
//! staged decision must equal the reference decision (at least 1,000 requests per run). Then
//! it hides some attributes of each request: the staged residual decision, applied to random
//! completions of the request, must agree with the reference decision on each completion.
//!
//! A second test does the same on the examples and the source cases, with requests made from the
//! values their conditions and data mention.
//!
//! `ZTPOL_SEED=<n>` replays one seed; `ZTPOL_CASES=<n>` changes the number of programs.

mod decide_common;

use decide_common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value as Json};
use ztpol::decide::{reference, Decider, Denial, Request};
use ztpol::eval::{self, EvalConfig, Limits, Model};
use ztpol::ir::{
    Atom, BodyLit, CmpOp, Cond, Effect, PrincipalMatch, Program, RelId, Rule, RuleId, Stratum,
    Term, Type, Value, Var,
};
use ztpol::source::Span;

const PRINCIPALS: [&str; 5] = ["user:u0", "user:u1", "user:u2", "agent:a0", "agent:a1"];
const ACTIONS: [&str; 4] = ["x.read", "x.write", "y.run", "y.run.fast"];
const PATTERNS: [&str; 7] = [
    "x.read",
    "x.write",
    "y.run",
    "y.run.fast",
    "x.*",
    "y.*",
    "*",
];
const KINDS: [&str; 2] = ["doc", "box"];
const REGIONS: [&str; 3] = ["US", "EU", "JP"];
const IDS: [&str; 4] = ["r0", "r1", "r2", "r3"];
const OPS: [CmpOp; 6] = [
    CmpOp::Eq,
    CmpOp::Ne,
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Gt,
    CmpOp::Ge,
];

/// What a generated statement's extra column holds.
#[derive(Clone, Copy, PartialEq)]
enum Extra {
    None,
    Int,
    Region,
}

struct Gen {
    rng: StdRng,
    owner: RelId,
    rank: RelId,
    pair: RelId,
}

impl Gen {
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.rng.random_range(0..xs.len())]
    }

    fn int(&mut self) -> i64 {
        self.rng.random_range(-2..9)
    }

    /// A condition of depth at most `depth` for a statement with a principal (`chain`) and an
    /// extra column of kind `extra` (column 1 with a principal, 0 without).
    fn cond(&mut self, b: &mut Builder, depth: u32, chain: bool, extra: Extra) -> Cond {
        let col = usize::from(chain);
        let leaf = depth == 0 || self.rng.random_bool(0.45);
        if !leaf {
            return match self.rng.random_range(0..3) {
                0 => {
                    let n = self.rng.random_range(1..4);
                    and((0..n)
                        .map(|_| self.cond(b, depth - 1, chain, extra))
                        .collect())
                }
                1 => {
                    let n = self.rng.random_range(1..4);
                    or((0..n)
                        .map(|_| self.cond(b, depth - 1, chain, extra))
                        .collect())
                }
                _ => not(self.cond(b, depth - 1, chain, extra)),
            };
        }
        let op = *self.pick(&OPS);
        let eq_op = *self.pick(&[CmpOp::Eq, CmpOp::Ne]);
        match self.rng.random_range(0..13) {
            0 | 12 => Cond::True,
            1 => Cond::False,
            2 | 3 => {
                let c = self.int();
                if self.rng.random_bool(0.5) {
                    b.cmp(a("action.n"), op, T::I(c))
                } else {
                    b.cmp(T::I(c), op, a("action.n"))
                }
            }
            4 => {
                let r = *self.pick(&REGIONS);
                b.cmp(a("resource.region"), eq_op, s(r))
            }
            5 => {
                let n = self.rng.random_range(1..3);
                let set: Vec<T> = (0..n)
                    .map(|_| s(REGIONS[self.rng.random_range(0..REGIONS.len())]))
                    .collect();
                b.is_in(a("resource.region"), &set)
            }
            6 => {
                let v = self.rng.random_bool(0.5);
                b.cmp(a("context.flag"), op, T::B(v))
            }
            7 if chain => {
                let c = self.rng.random_range(0..4);
                b.cmp(a("principal.level"), op, T::I(c))
            }
            8 if extra == Extra::Int => b.cmp(a("action.n"), op, T::Col(col)),
            8 if extra == Extra::Region => b.cmp(a("resource.region"), eq_op, T::Col(col)),
            9 if chain => {
                // owner(resource.id, P): the resource belongs to the matched principal
                let owner = self.owner;
                b.lookup(owner, &[a("resource.id"), T::Col(0)])
            }
            10 if chain => {
                // rank(P, action.n) or rank(P, _)
                let rank = self.rank;
                if self.rng.random_bool(0.5) {
                    b.lookup(rank, &[T::Col(0), a("action.n")])
                } else {
                    b.lookup(rank, &[T::Col(0), T::W])
                }
            }
            11 if self.rng.random_bool(0.5) => {
                // pair(resource.id, action.n): two attributes in one lookup
                let pair = self.pair;
                b.lookup(pair, &[a("resource.id"), a("action.n")])
            }
            11 => {
                let owner = self.owner;
                let who = *self.pick(&PRINCIPALS);
                b.lookup(owner, &[a("resource.id"), s(who)])
            }
            _ => {
                let r = *self.pick(&IDS);
                b.cmp(a("resource.id"), eq_op, s(r))
            }
        }
    }

    fn extra_value(&mut self, extra: Extra) -> Option<Value> {
        match extra {
            Extra::None => None,
            Extra::Int => Some(Value::Int(self.int())),
            Extra::Region => Some(Value::Str(self.pick(&REGIONS).to_string())),
        }
    }

    /// A program: data relations, 1..=7 statements, some instances derived by a rule.
    fn program(&mut self) -> (Program, Model, Model) {
        let mut b = Builder::new();
        self.owner = b.rel("owner", &[Type::String, Type::String]);
        self.rank = b.rel("rank", &[Type::String, Type::Int]);
        let member = b.rel("member", &[Type::String, Type::String]);
        self.pair = b.rel("pair", &[Type::String, Type::Int]);
        for _ in 0..self.rng.random_range(0..6) {
            let id = self.pick(&IDS).to_string();
            let n = self.int();
            b.fact(self.pair, &[Value::Str(id), Value::Int(n)]);
        }
        for id in IDS {
            if self.rng.random_bool(0.7) {
                let who = self.pick(&PRINCIPALS).to_string();
                b.fact(self.owner, &[Value::Str(id.into()), Value::Str(who)]);
            }
        }
        for p in PRINCIPALS {
            for _ in 0..self.rng.random_range(0..3) {
                let lvl = self.int();
                b.fact(self.rank, &[Value::Str(p.into()), Value::Int(lvl)]);
            }
            if self.rng.random_bool(0.5) {
                b.fact(member, &[Value::Str(p.into()), Value::Str("g".into())]);
            }
        }
        let mut rules: Vec<(RelId, Rule)> = Vec::new();
        let n = self.rng.random_range(2..9);
        for k in 0..n {
            let effect = if self.rng.random_bool(0.75) {
                Effect::Permit
            } else {
                Effect::Forbid
            };
            let chain = effect == Effect::Permit || self.rng.random_bool(0.5);
            let principal = if chain {
                let ty = match self.rng.random_range(0..4) {
                    0 => Some("user".to_string()),
                    1 => Some("agent".to_string()),
                    _ => None,
                };
                PrincipalMatch::Chain { ty }
            } else {
                PrincipalMatch::Request
            };
            let extra = *self.pick(&[Extra::None, Extra::None, Extra::Int, Extra::Region]);
            let cols = usize::from(chain) + usize::from(extra != Extra::None);
            let na = self.rng.random_range(1..3);
            let actions: Vec<&str> = (0..na).map(|_| *self.pick(&PATTERNS)).collect();
            let kinds: Vec<&str> = match self.rng.random_range(0..4) {
                0 | 3 => vec![],
                1 => vec![KINDS[0]],
                _ => vec![KINDS[1]],
            };
            let depth = self.rng.random_range(0..4);
            let cond = self.cond(&mut b, depth, chain, extra);
            let id = format!("s{k}");
            let rel = b.policy(&id, effect, principal, &actions, &kinds, cols, cond);
            let by_rule = chain && extra == Extra::None && self.rng.random_bool(0.3);
            if by_rule {
                // $policy:sk(P) :- member(P, "g").
                let g = b.program.interner.intern(Value::Str("g".into()));
                rules.push((
                    rel,
                    Rule {
                        head: Atom {
                            rel,
                            args: vec![Term::Var(Var(0))],
                            span: Span::default(),
                        },
                        body: vec![BodyLit::Pos(Atom {
                            rel: member,
                            args: vec![Term::Var(Var(0)), Term::Const(g)],
                            span: Span::default(),
                        })],
                        var_names: vec!["P".into()],
                        span: Span::default(),
                    },
                ));
                continue;
            }
            let instances = if chain {
                self.rng.random_range(1..6)
            } else {
                1
            };
            for _ in 0..instances {
                let mut row = Vec::new();
                if chain {
                    row.push(Value::Str(self.pick(&PRINCIPALS).to_string()));
                }
                row.extend(self.extra_value(extra));
                b.fact(rel, &row);
            }
        }
        let (mut program, input) = b.finish();
        for (rel, rule) in rules {
            let id = RuleId(program.rules.len() as u32);
            program.rules.push(rule);
            program.strata.push(Stratum {
                relations: vec![rel],
                rules: vec![id],
                recursive: false,
            });
        }
        let input = Model { rows: input.rows };
        let model = eval::evaluate(&program, &input, &EvalConfig::default())
            .unwrap_or_else(|e| panic!("data-time evaluation failed: {e}"));
        (program, input, model)
    }

    fn principal_json(&mut self, r: &str) -> Json {
        let (t, i) = r.split_once(':').unwrap_or(("user", r));
        json!({"type": t, "id": i, "properties": {"level": self.rng.random_range(0..4)}})
    }

    /// A fully-known request.
    fn request(&mut self) -> Json {
        let subject = self.pick(&PRINCIPALS).to_string();
        let subject = self.principal_json(&subject);
        let n = *self.pick(&[0, 0, 1, 1, 2]);
        let chain: Vec<Json> = (0..n)
            .map(|_| {
                let p = self.pick(&PRINCIPALS).to_string();
                self.principal_json(&p)
            })
            .collect();
        json!({
            "subject": subject,
            "action": {"name": self.pick(&ACTIONS), "properties": {"n": self.int()}},
            "resource": {"type": self.pick(&KINDS), "id": self.pick(&IDS),
                         "properties": {"region": self.pick(&REGIONS)}},
            "context": {"flag": self.rng.random_bool(0.5), "on_behalf_of": chain},
        })
    }
}

/// The places in a request document an attribute can be hidden from, with a generator of
/// values for it.
fn hideable(req: &Json) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = vec![
        vec!["action".into(), "properties".into(), "n".into()],
        vec!["resource".into(), "properties".into(), "region".into()],
        vec!["resource".into(), "id".into()],
        vec!["context".into(), "flag".into()],
        vec!["subject".into(), "properties".into(), "level".into()],
    ];
    let n = req["context"]["on_behalf_of"]
        .as_array()
        .map_or(0, Vec::len);
    for i in 0..n {
        out.push(vec![
            "context".into(),
            "on_behalf_of".into(),
            i.to_string(),
            "properties".into(),
            "level".into(),
        ]);
    }
    out
}

fn get_mut<'a>(json: &'a mut Json, path: &[String]) -> Option<&'a mut Json> {
    let mut cur = json;
    for seg in path {
        cur = match cur {
            Json::Object(m) => m.get_mut(seg)?,
            Json::Array(a) => a.get_mut(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn remove(json: &mut Json, path: &[String]) {
    if let Some((last, parent)) = path.split_last() {
        if let Some(Json::Object(m)) = get_mut(json, parent) {
            m.remove(last);
        }
    }
}

fn set(json: &mut Json, path: &[String], v: Json) {
    if let Some((last, parent)) = path.split_last() {
        if let Some(Json::Object(m)) = get_mut(json, parent) {
            m.insert(last.clone(), v);
        }
    }
}

/// A random value of the hidden attribute at `path`.
fn random_value(rng: &mut StdRng, path: &[String]) -> Json {
    match path.last().map(String::as_str) {
        Some("n") => json!(rng.random_range(-4..11)),
        Some("region") => json!(REGIONS[rng.random_range(0..REGIONS.len())]),
        Some("id") => json!(IDS[rng.random_range(0..IDS.len())]),
        Some("flag") => json!(rng.random_bool(0.5)),
        _ => json!(rng.random_range(-1..5)),
    }
}

/// The constraint key of a hideable path (see `Request::attr_key`).
fn key_of(path: &[String]) -> String {
    match path {
        [a, _, n] if a == "action" => format!("action.{n}"),
        [r, p, f] if r == "resource" && p == "properties" => format!("resource.{f}"),
        [r, f] if r == "resource" => format!("resource.{f}"),
        [c, f] if c == "context" => format!("context.{f}"),
        [s, _, f] if s == "subject" => format!("subject.{f}"),
        [_, _, i, _, f] => format!("context.on_behalf_of.{i}.{f}"),
        _ => String::new(),
    }
}

fn scalar(json: &Json) -> Option<Value> {
    match json {
        Json::Bool(b) => Some(Value::Bool(*b)),
        Json::Number(n) => n.as_i64().map(Value::Int),
        Json::String(s) => Some(Value::Str(s.clone())),
        _ => None,
    }
}

fn cases() -> (u64, u64) {
    let n = std::env::var("ZTPOL_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    match std::env::var("ZTPOL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(seed) => (seed, 1),
        None => (0, n),
    }
}

#[test]
fn staged_and_reference_decisions_agree() {
    let (first, n) = cases();
    let limits = Limits::default();
    let mut full = 0;
    let mut allowed = 0;
    let mut partial_checks = 0;
    let mut residual_allows = 0;
    for seed in first..first + n {
        let mut g = Gen {
            rng: StdRng::seed_from_u64(seed),
            owner: RelId(0),
            rank: RelId(0),
            pair: RelId(0),
        };
        let (program, input, model) = g.program();
        let decider = Decider::new(&program, &model);
        for _ in 0..10 {
            let doc = g.request();
            let request = Request::from_json(&doc).expect("generated requests are well formed");
            let staged = decider.decide(&request);
            let oracle = reference::decide(&program, &input, &request, &limits)
                .unwrap_or_else(|e| panic!("seed {seed}: reference failed: {e}\n{doc}"));
            assert_eq!(
                staged.allowed, oracle,
                "seed {seed}: staged {:?} vs reference {oracle}\nrequest {doc}\npolicies {:#?}",
                staged.denial, program.policies
            );
            assert!(
                staged.constraints.is_always(),
                "seed {seed}: a fully-known request left constraints"
            );
            full += 1;
            allowed += usize::from(oracle);

            // Hide some attributes; the residual must predict every completion.
            let places = hideable(&doc);
            let mut partial = doc.clone();
            let mut hidden = Vec::new();
            for p in &places {
                if g.rng.random_bool(0.4) {
                    remove(&mut partial, p);
                    hidden.push(p.clone());
                }
            }
            let preq = Request::from_json(&partial).expect("hiding keeps requests well formed");
            let residual = decider.decide(&preq);
            if matches!(residual.denial, Some(Denial::Error { .. })) {
                continue;
            }
            residual_allows += usize::from(residual.allowed && !residual.constraints.is_always());
            for _ in 0..4 {
                let mut done = partial.clone();
                let mut values = Map::new();
                for p in &hidden {
                    let v = random_value(&mut g.rng, p);
                    set(&mut done, p, v.clone());
                    values.insert(key_of(p), v);
                }
                let dreq = Request::from_json(&done).expect("completions are well formed");
                let truth = reference::decide(&program, &input, &dreq, &limits)
                    .unwrap_or_else(|e| panic!("seed {seed}: reference failed: {e}\n{done}"));
                let predicted = residual.allowed
                    && residual
                        .constraints
                        .holds(|k| values.get(k).and_then(scalar));
                assert_eq!(
                    predicted, truth,
                    "seed {seed}: residual {} ({:?}) predicts {predicted}, reference says {truth}\npartial {partial}\ncompleted {done}\npolicies {:#?}",
                    residual.constraints, residual.denial, program.policies
                );
                partial_checks += 1;
            }
        }
    }
    if n > 1 {
        assert!(full >= 1000, "only {full} fully-known requests");
        // the generator must exercise both outcomes and real residuals
        assert!(
            allowed > full / 20 && allowed < full * 19 / 20,
            "{allowed} of {full} allowed"
        );
        assert!(
            residual_allows > 20,
            "only {residual_allows} allows under constraints"
        );
    }
    eprintln!("{full} fully-known requests ({allowed} allowed), {partial_checks} completions checked, {residual_allows} residual allows");
}

// ---------------------------------------------------------------------------------------------
// The same comparison on real policies: the examples and the source cases, with requests
// generated from the values their conditions and data mention.

use std::collections::BTreeMap;
use ztpol::ir::{ActionPat, AttrRoot, CondTerm};

/// Candidate values of every attribute path the conditions read.
#[derive(Default)]
struct Vocab {
    principals: Vec<String>,
    actions: Vec<String>,
    kinds: Vec<String>,
    attrs: BTreeMap<(AttrRoot, Vec<String>), Vec<Value>>,
}

fn add_value(vocab: &mut Vocab, key: &(AttrRoot, Vec<String>), v: Value) {
    let vals = vocab.attrs.entry(key.clone()).or_default();
    if let Value::Int(i) = v {
        for w in [i - 1, i, i + 1] {
            if !vals.contains(&Value::Int(w)) {
                vals.push(Value::Int(w));
            }
        }
    } else if !vals.contains(&v) {
        vals.push(v);
    }
}

fn collect(program: &Program, model: &Model, policy: RelId, cond: &Cond, vocab: &mut Vocab) {
    let key = |t: &CondTerm| match t {
        CondTerm::Attr(a, _) => Some((a.root, a.path.clone())),
        CondTerm::Bound(..) | CondTerm::Const(..) | CondTerm::Wildcard(_) => None,
    };
    // the values a term can take: a constant, or a column of the instance relation
    let values = |t: &CondTerm| -> Vec<Value> {
        match t {
            CondTerm::Const(s, _) => vec![program.interner.value(*s).clone()],
            CondTerm::Bound(n, _) => model
                .get(policy)
                .iter()
                .filter_map(|row| row.get(*n).map(|s| program.interner.value(*s).clone()))
                .collect(),
            CondTerm::Attr(..) | CondTerm::Wildcard(_) => Vec::new(),
        }
    };
    match cond {
        Cond::True | Cond::False => {}
        Cond::And(cs) | Cond::Or(cs) => cs
            .iter()
            .for_each(|c| collect(program, model, policy, c, vocab)),
        Cond::Not(c) => collect(program, model, policy, c, vocab),
        Cond::Cmp { lhs, rhs, .. } => {
            for (a, b) in [(lhs, rhs), (rhs, lhs)] {
                if let Some(k) = key(a) {
                    vocab.attrs.entry(k.clone()).or_default();
                    for v in values(b) {
                        add_value(vocab, &k, v);
                    }
                }
            }
        }
        Cond::In { lhs, set, .. } => {
            if let Some(k) = key(lhs) {
                vocab.attrs.entry(k.clone()).or_default();
                for t in set {
                    for v in values(t) {
                        add_value(vocab, &k, v);
                    }
                }
            }
        }
        Cond::Lookup { rel, args, .. } => {
            for (i, t) in args.iter().enumerate() {
                if let Some(k) = key(t) {
                    vocab.attrs.entry(k.clone()).or_default();
                    for row in model.get(*rel).iter() {
                        add_value(vocab, &k, program.interner.value(row[i]).clone());
                    }
                }
            }
        }
    }
}

fn vocab(program: &Program, model: &Model) -> Vocab {
    let mut v = Vocab::default();
    for i in 0..program.interner.len() {
        if let Value::Str(s) = program.interner.value(ztpol::ir::Sym(i as u32)) {
            if matches!(s.split_once(':'), Some((t, id)) if !t.is_empty() && !id.is_empty() && !t.contains(['/', ' ']))
            {
                v.principals.push(s.clone());
            }
        }
    }
    v.principals.push("user:nobody".into());
    for p in &program.policies {
        for a in &p.actions {
            v.actions.push(match a {
                ActionPat::Exact(a) => a.clone(),
                ActionPat::Family(f) => format!("{f}.generated"),
                ActionPat::Any => "any.action".into(),
            });
        }
        v.kinds.extend(p.resources.iter().cloned());
        collect(program, model, p.rel, &p.cond, &mut v);
    }
    v.actions.push("no.such.action".into());
    v.kinds.push("other".into());
    v.actions.sort();
    v.actions.dedup();
    v.kinds.sort();
    v.kinds.dedup();
    v
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::Str(s) => json!(s),
        Value::Int(i) => json!(i),
        Value::Bool(b) => json!(b),
    }
}

fn random_request(rng: &mut StdRng, v: &Vocab, drop: f64) -> Json {
    let pick = |rng: &mut StdRng, xs: &[String]| xs[rng.random_range(0..xs.len())].clone();
    let principal = |rng: &mut StdRng| -> Map<String, Json> {
        let r = pick(rng, &v.principals);
        let (t, i) = r.split_once(':').unwrap_or(("user", "x"));
        let mut m = Map::new();
        m.insert("type".into(), json!(t));
        m.insert("id".into(), json!(i));
        m.insert("properties".into(), json!({}));
        m
    };
    let mut subject = principal(rng);
    let mut chain: Vec<Map<String, Json>> =
        (0..*[0, 1, 1, 2].get(rng.random_range(0..4)).unwrap_or(&0))
            .map(|_| principal(rng))
            .collect();
    let mut action = Map::new();
    action.insert("name".into(), json!(pick(rng, &v.actions)));
    let mut resource = Map::new();
    resource.insert("type".into(), json!(pick(rng, &v.kinds)));
    resource.insert("id".into(), json!("generated"));
    let mut context = Map::new();
    for ((root, path), vals) in &v.attrs {
        let mut value = || -> Option<Json> {
            if rng.random_bool(drop) {
                return None;
            }
            Some(match vals.is_empty() {
                true => json!(0),
                false => to_json(&vals[rng.random_range(0..vals.len())]),
            })
        };
        let props = |m: &mut Map<String, Json>| -> Map<String, Json> {
            m.get("properties")
                .and_then(Json::as_object)
                .cloned()
                .unwrap_or_default()
        };
        match root {
            AttrRoot::Action if path.as_slice() != ["name"] => {
                if let Some(x) = value() {
                    let mut p = props(&mut action);
                    put_path(&mut p, path, x);
                    action.insert("properties".into(), Json::Object(p));
                }
            }
            AttrRoot::Resource if path.as_slice() == ["id"] => match value() {
                Some(x) if x.is_string() => {
                    resource.insert("id".into(), x);
                }
                Some(_) => {}
                None => {
                    resource.remove("id");
                }
            },
            AttrRoot::Resource if path.as_slice() != ["type"] => {
                if let Some(x) = value() {
                    let mut p = props(&mut resource);
                    put_path(&mut p, path, x);
                    resource.insert("properties".into(), Json::Object(p));
                }
            }
            AttrRoot::Context => {
                if let Some(x) = value() {
                    put_path(&mut context, path, x);
                }
            }
            AttrRoot::Subject | AttrRoot::Principal if !matches!(path.as_slice(), [f] if f == "type" || f == "id") => {
                for p in std::iter::once(&mut subject).chain(chain.iter_mut()) {
                    if let Some(x) = value() {
                        let mut props = props(p);
                        put_path(&mut props, path, x);
                        p.insert("properties".into(), Json::Object(props));
                    }
                }
            }
            AttrRoot::Action | AttrRoot::Resource | AttrRoot::Subject | AttrRoot::Principal => {}
        }
    }
    context.insert(
        "on_behalf_of".into(),
        Json::Array(chain.into_iter().map(Json::Object).collect()),
    );
    json!({"subject": subject, "action": action, "resource": resource, "context": context})
}

fn load_example(dir: &str) -> (Program, Model, Model) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let compiled = ztpol::load::compile_paths(&[root.join(dir)]).expect("the example is readable");
    let mut program = compiled
        .program
        .unwrap_or_else(|| panic!("`{dir}` does not check: {:#?}", compiled.diagnostics));
    let mut facts = Vec::new();
    for f in program.data_files.clone() {
        facts.extend(ztpol::data::load_json(&mut program, &f).expect("the example's data loads"));
    }
    let input = eval::input_model(&program, &facts);
    let model =
        eval::evaluate(&program, &input, &EvalConfig::default()).expect("the example evaluates");
    (program, input, model)
}

#[test]
fn staged_and_reference_agree_on_the_examples() {
    let limits = Limits::default();
    for dir in [
        "examples/support-desk",
        "examples/authzen-todo",
        "tests/decide/records.ztp",
    ] {
        let (program, input, model) = load_example(dir);
        let v = vocab(&program, &model);
        let decider = Decider::new(&program, &model);
        let mut rng = StdRng::seed_from_u64(11);
        let (mut full, mut allowed, mut residual) = (0, 0, 0);
        for _ in 0..600 {
            let doc = random_request(&mut rng, &v, 0.0);
            let request = Request::from_json(&doc).expect("generated requests are well formed");
            let staged = decider.decide(&request);
            if matches!(staged.denial, Some(Denial::Error { .. })) {
                continue;
            }
            let oracle = reference::decide(&program, &input, &request, &limits)
                .unwrap_or_else(|e| panic!("{dir}: reference failed: {e}\n{doc}"));
            assert_eq!(
                staged.allowed, oracle,
                "{dir}: staged {:?}, reference {oracle}\n{doc}",
                staged.denial
            );
            full += 1;
            allowed += usize::from(oracle);

            // the same request with attributes hidden, against completions
            let partial = random_request(&mut rng, &v, 0.5);
            let preq = Request::from_json(&partial).expect("well formed");
            let pd = decider.decide(&preq);
            if matches!(pd.denial, Some(Denial::Error { .. }))
                || !pd.allowed
                || pd.constraints.is_always()
            {
                continue;
            }
            residual += 1;
            for _ in 0..3 {
                // complete every attribute the constraint names, then check the prediction
                let mut done = partial.clone();
                let mut values = Map::new();
                for key in pd.constraints.attributes() {
                    let (path, vals) = completion(&v, key);
                    let val = if vals.is_empty() {
                        json!(0)
                    } else {
                        to_json(&vals[rng.random_range(0..vals.len())])
                    };
                    if let (Some(p), Json::Object(m)) = (path, &mut done) {
                        put_path(m, &p, val.clone());
                    }
                    values.insert(key.to_string(), val);
                }
                let dreq = Request::from_json(&done).expect("completions are well formed");
                let truth = match reference::decide(&program, &input, &dreq, &limits) {
                    Ok(t) => t,
                    // attributes the constraint does not need are still unknown: the staged
                    // decision on the completion must then be unconditional
                    Err(reference::ReferenceError::Unknown(_)) => {
                        let d = decider.decide(&dreq);
                        assert!(
                            d.constraints.is_always(),
                            "{dir}: a completion left {}",
                            d.constraints
                        );
                        d.allowed
                    }
                    Err(e) => panic!("{dir}: reference failed: {e}"),
                };
                let predicted = pd.constraints.holds(|k| values.get(k).and_then(scalar));
                assert_eq!(
                    predicted, truth,
                    "{dir}: residual {} on {done}",
                    pd.constraints
                );
            }
        }
        eprintln!(
            "{dir}: {full} fully-known requests ({allowed} allowed), {residual} residual allows"
        );
        assert!(
            full >= 500 && allowed > 10,
            "{dir}: {allowed} of {full} allowed"
        );
    }
}

/// Where a constraint key lives in a request document, and its candidate values.
fn completion(v: &Vocab, key: &str) -> (Option<Vec<String>>, Vec<Value>) {
    let parts: Vec<String> = key.split('.').map(str::to_string).collect();
    let (root, doc_path, attr_path): (AttrRoot, Vec<String>, Vec<String>) = match parts.as_slice() {
        [r, f] if r == "resource" && f == "id" => {
            (AttrRoot::Resource, parts.clone(), vec![f.clone()])
        }
        [r, rest @ ..] if r == "action" || r == "resource" || r == "subject" => {
            let root = match r.as_str() {
                "action" => AttrRoot::Action,
                "resource" => AttrRoot::Resource,
                _ => AttrRoot::Subject,
            };
            let mut p = vec![r.clone(), "properties".to_string()];
            p.extend(rest.iter().cloned());
            (root, p, rest.to_vec())
        }
        [c, o, i, rest @ ..] if c == "context" && o == "on_behalf_of" => {
            let mut p = vec![c.clone(), o.clone(), i.clone(), "properties".to_string()];
            p.extend(rest.iter().cloned());
            (AttrRoot::Principal, p, rest.to_vec())
        }
        [c, rest @ ..] if c == "context" => (AttrRoot::Context, parts.clone(), rest.to_vec()),
        _ => return (None, Vec::new()),
    };
    let vals = v
        .attrs
        .get(&(root, attr_path.clone()))
        .or_else(|| match root {
            AttrRoot::Subject => v.attrs.get(&(AttrRoot::Principal, attr_path.clone())),
            AttrRoot::Principal => v.attrs.get(&(AttrRoot::Subject, attr_path.clone())),
            AttrRoot::Action | AttrRoot::Resource | AttrRoot::Context => None,
        })
        .cloned()
        .unwrap_or_default();
    (Some(doc_path), vals)
}

/// Sets `path` (object keys and array indices) under `obj`, creating objects on the way.
fn put_path(obj: &mut Map<String, Json>, path: &[String], value: Json) {
    match path {
        [] => {}
        [last] => {
            obj.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let e = obj.entry(first.clone()).or_insert_with(|| json!({}));
            match e {
                Json::Array(a) => {
                    if let (Some(Json::Object(m)), [_, tail @ ..]) = (
                        rest.first()
                            .and_then(|i| i.parse::<usize>().ok())
                            .and_then(|i| a.get_mut(i)),
                        rest,
                    ) {
                        put_path(m, tail, value);
                    }
                }
                Json::Object(m) => put_path(m, rest, value),
                other => {
                    *other = json!({});
                    if let Json::Object(m) = other {
                        put_path(m, rest, value);
                    }
                }
            }
        }
    }
}
