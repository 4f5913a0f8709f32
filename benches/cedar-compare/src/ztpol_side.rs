//! ztpol's side of the comparison: build, sign, load and decide from a bundle.

use std::time::{Duration, Instant};
use ztpol::bundle::{self, Bundle, Entity, KeySet, Query, SigningKey, Trust, Val};
use ztpol::eval::{self, EvalConfig};

pub const SIGNING_KEY: &str = include_str!("../bench-signing-key.pem");

pub fn signing_key() -> SigningKey {
    SigningKey::from_pem(SIGNING_KEY.as_bytes(), "bench-1").expect("the bench key reads")
}

pub fn key_set() -> KeySet {
    let jwk = signing_key().public_jwk().expect("public key");
    KeySet::from_jwks(&serde_json::json!({ "keys": [jwk] }).to_string()).expect("jwks")
}

pub struct Built {
    pub bytes: Vec<u8>,
    pub input_facts: usize,
    pub time: Duration,
}

/// From source text to a signed bundle written at `out`: parse, check, load data, evaluate,
/// encode, sign, write.
pub fn build(policy: &str, data: &str, out: &std::path::Path) -> Built {
    let t0 = Instant::now();
    let compiled = ztpol::load::compile_str("support_desk.ztp", policy);
    let mut program = compiled.program.expect("the policy compiles");
    let facts = ztpol::data::load_json_str(&mut program, "data.json", data).expect("data loads");
    let input_facts = program.facts.len() + facts.len();
    let input = eval::input_model(&program, &facts);
    let model = eval::evaluate(&program, &input, &EvalConfig::default()).expect("evaluates");
    let hash = ztpol::decide::policy_hash(&program, &[("data.json", data.as_bytes())]);
    let bytes = bundle::build(&program, &model, &hash, input_facts);
    let bytes = bundle::sign(&bytes, &signing_key()).expect("signs");
    std::fs::write(out, &bytes).expect("the bundle is written");
    Built {
        bytes,
        input_facts,
        time: t0.elapsed(),
    }
}

pub fn load(bytes: &[u8], keys: &KeySet) -> Bundle {
    Bundle::load(bytes, Trust::keys(keys)).expect("the bundle loads")
}

/// One request of the mix, as a broker holds it before asking.
pub struct Pre {
    pub agent: String,
    pub user: String,
    pub amount: i64,
    pub region: &'static str,
}

/// The requests of `support_desk::request_mix(users, n)`, without JSON.
pub fn mix(users: usize, n: usize) -> Vec<Pre> {
    (0..n)
        .map(|j| {
            let i = (j * 7919) % users;
            Pre {
                agent: format!("a{i}-0"),
                user: format!("u{i}"),
                amount: [50, 150, 250, 600, 1200][j % 5],
                region: ["US", "EU", "APAC"][j % 3],
            }
        })
        .collect()
}

/// Slots of the three attributes the support-desk bundle reads.
#[derive(Clone, Copy)]
pub struct Slots {
    amount: usize,
    region: usize,
    tainted: usize,
}

impl Slots {
    pub fn of(b: &Bundle) -> Slots {
        let m = b.manifest();
        assert_eq!(
            m.attributes.len(),
            3,
            "the bundle reads {:?}",
            m.attribute_names()
        );
        Slots {
            amount: m.slot("action.amount").expect("slot"),
            region: m.slot("resource.region").expect("slot"),
            tainted: m.slot("context.session.tainted").expect("slot"),
        }
    }
}

/// Decides one request: the query is built on the stack from the broker's fields.
#[inline]
pub fn decide(b: &Bundle, s: Slots, p: &Pre) -> bool {
    with_query(s, p, |q| b.decide(q).allowed())
}

/// Whether the fast path alone answers the request (`None`: the staged decider must).
#[allow(dead_code)] // used by zprof
pub fn fast_only(b: &Bundle, s: Slots, p: &Pre) -> Option<bool> {
    with_query(s, p, |q| b.decide_fast(q).map(|v| v.allowed))
}

#[inline]
fn with_query<T>(s: Slots, p: &Pre, f: impl FnOnce(&Query<'_>) -> T) -> T {
    let mut attrs = [Val::Unknown; 3];
    attrs[s.amount] = Val::Int(p.amount);
    attrs[s.region] = Val::Str(p.region);
    attrs[s.tainted] = Val::Bool(false);
    let chain = [Entity {
        ty: "user",
        id: &p.user,
        attrs: &[],
    }];
    let q = Query {
        subject: Entity {
            ty: "agent",
            id: &p.agent,
            attrs: &[],
        },
        on_behalf_of: &chain,
        action: "orders.refund",
        resource_type: "order",
        resource_id: None,
        attrs: &attrs,
        scope: None,
    };
    f(&q)
}
