//! Bundles decide exactly as their sources do.
//!
//! - Every shipped example request, every AuthZEN Todo vector (single and batch) and a
//!   generated corpus of 3,000 requests get byte-identical responses from source and from
//!   the bundle; the fast path's verdicts agree with the source decisions wherever it answers,
//!   and `Bundle::decide` (fast path, or the staged fallback from the query) always does.
//! - Builds are deterministic; signatures verify by `kid` with EdDSA, ES256 and RS256.
//! - The fast path allocates nothing per decision (a counting allocator).

mod bundle_common;

use bundle_common::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value as Json};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use ztpol::bundle::{self, Answer, Bundle, Entity, Query, QueryBuf, Trust, Val, VerdictDenial};
use ztpol::decide::{batch, Auth, Decider, Decision, Denial, Request};
use ztpol::token::action_pattern;

// ---- a counting allocator, per thread --------------------------------------------------------

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

// ---- comparing ---------------------------------------------------------------------------------

/// Checks one request on every path; returns whether the fast path answered.
fn check_request(
    source: &Decider<'_>,
    bundle: &Bundle,
    request: &Json,
    scope: Option<&str>,
    label: &str,
) -> bool {
    if scope.is_none() {
        let want = source.respond(request, Auth::None);
        let got = bundle.respond(request, Auth::None);
        assert_eq!(got, want, "{label}: responses differ for {request}");
    }
    let Ok(mut parsed) = Request::from_json(request) else {
        return false;
    };
    if let Some(s) = scope {
        parsed.scope = Some(s.split_whitespace().map(action_pattern).collect());
    }
    let want = source.decide(&parsed);
    let staged = bundle.decide_request(&parsed);
    assert_eq!(
        staged, want,
        "{label}: staged decisions differ for {request}"
    );

    let mut buf = QueryBuf::default();
    let query = bundle.query_of(&parsed, &mut buf);
    match bundle.decide(&query) {
        Answer::Fast(v) => {
            assert_eq!(
                v.allowed, want.allowed,
                "{label}: fast verdict differs for {request}"
            );
            let grants: Vec<&str> = v.grants().iter().map(|&i| bundle.policy_id(i)).collect();
            let want_grants: Vec<&str> = want.grants.iter().map(|i| source.policy_id(i)).collect();
            assert_eq!(
                grants, want_grants,
                "{label}: fast grants differ for {request}"
            );
            assert!(
                want.constraints.is_always(),
                "{label}: fast answer for a constrained allow"
            );
            match (v.denial, &want.denial) {
                (None, None) | (Some(VerdictDenial::Scope), Some(Denial::Scope)) => {}
                (
                    Some(VerdictDenial::NoGrant { position }),
                    Some(Denial::NoGrant { position: p, .. }),
                ) => {
                    assert_eq!(usize::from(position), *p, "{label}: {request}")
                }
                (
                    Some(VerdictDenial::Forbidden { policy, position }),
                    Some(Denial::Forbidden { id, principal, .. }),
                ) => {
                    assert_eq!(bundle.policy_id(policy), id, "{label}: {request}");
                    let who = position
                        .and_then(|p| parsed.chain_at(usize::from(p)))
                        .map(|p| p.reference());
                    assert_eq!(&who, principal, "{label}: {request}");
                }
                (got, want) => {
                    panic!("{label}: fast denial {got:?}, source {want:?} for {request}")
                }
            }
            true
        }
        Answer::Full(d) => {
            assert_eq!(*d, want, "{label}: fallback decision differs for {request}");
            false
        }
    }
}

fn read_json(path: &Path) -> Json {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_example_request_decides_the_same_from_the_bundle() {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(crate_root().join("examples"))
        .expect("examples/")
        .filter_map(Result::ok)
        .map(|e| PathBuf::from("examples").join(e.file_name()))
        .filter(|p| crate_root().join(p).join("requests").is_dir())
        .collect();
    dirs.sort();
    let mut n = 0;
    let mut fast = 0;
    for dir in &dirs {
        let c = compile_dir(dir);
        let decider = Decider::new(&c.program, &c.model).with_policy_hash(c.hash.clone());
        let bundle = c.bundle();
        let mut files: Vec<PathBuf> = std::fs::read_dir(crate_root().join(dir).join("requests"))
            .expect("requests/")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).expect("request reads");
            // Malformed examples may not even be JSON: the staged paths answer those alike.
            let request: Json = match serde_json::from_str(&text) {
                Ok(j) => j,
                Err(_) => continue,
            };
            fast += usize::from(check_request(
                &decider,
                &bundle,
                &request,
                None,
                &f.display().to_string(),
            ));
            n += 1;
        }
    }
    assert!(n >= 30, "only {n} example requests found");
    assert!(
        fast * 2 >= n,
        "the fast path answered only {fast} of {n} example requests"
    );
}

#[test]
fn authzen_vectors_decide_the_same_from_the_bundle() {
    let shared = crate_root().join("../shared/conformance/authzen-todo");
    if !shared.is_dir() {
        if std::env::var_os("CI").is_some() {
            panic!("`{}` not found (required under CI)", shared.display());
        }
        println!("skipped: ../shared/conformance not found");
        return;
    }
    let c = compile_dir(Path::new("examples/authzen-todo"));
    let decider = Decider::new(&c.program, &c.model).with_policy_hash(c.hash.clone());
    let bundle = c.bundle();
    let (mut singles, mut batches, mut fast) = (0, 0, 0);
    for file in [
        "decisions-authorization-api-1_0-02.json",
        "route_decisions.json",
    ] {
        let doc = read_json(&shared.join(file));
        for v in doc["evaluation"].as_array().into_iter().flatten() {
            let request = &v["request"];
            fast += usize::from(check_request(&decider, &bundle, request, None, file));
            let decision = bundle.respond(request, Auth::None)["decision"].as_bool();
            assert_eq!(decision, v["expected"].as_bool(), "{file}: {request}");
            singles += 1;
        }
        for v in doc["evaluations"].as_array().into_iter().flatten() {
            let request = &v["request"];
            let want = batch::run_batch(request, |r| decider.respond(r, Auth::None));
            let got = batch::run_batch(request, |r| bundle.respond(r, Auth::None));
            assert_eq!(got, want, "{file}: batch {request}");
            batches += 1;
        }
    }
    assert!(
        singles >= 40 && batches >= 1,
        "{singles} single and {batches} batch vectors"
    );
    assert!(
        fast * 2 >= singles,
        "the fast path answered only {fast} of {singles} vectors"
    );
}

/// A random request over the corpus policy: known and unknown principals (of unknown types,
/// with refs too long to be kept inline, with a `:` in the type), chains of up to three,
/// actions named exactly, by family only or not at all, and attributes present, absent, or of
/// the wrong type.
fn random_request(rng: &mut StdRng, users: usize) -> Json {
    let principal = |rng: &mut StdRng| -> Json {
        let i = rng.random_range(0..users + 3);
        match rng.random_range(0..40) {
            0..=19 => {
                json!({"type": "user", "id": format!("u{i}"), "properties": {"level": rng.random_range(0..5)}})
            }
            20..=34 => json!({"type": "agent", "id": format!("a{i}")}),
            35 => json!({"type": "agent", "id": "a-special"}),
            36 => json!({"type": "robot", "id": format!("u{i}")}),
            37 => json!({"type": "user", "id": format!("u{i}-of-the-night-shift")}),
            38 => json!({"type": "user:u", "id": format!("{i}")}),
            _ => json!({"type": "us", "id": format!("er:u{i}")}),
        }
    };
    let subject = principal(rng);
    let chain: Vec<Json> = (0..rng.random_range(0..3))
        .map(|_| principal(rng))
        .collect();
    let actions = [
        "orders.read",
        "orders.refund",
        "orders.cancel",
        "records.view",
        "records.edit",
        "records.purge",
        "docs.read",
        "email.send",
        "shell.exec",
        "debug.dump",
        "misc.other",
    ];
    let action = actions[rng.random_range(0..actions.len())];
    let kinds = ["order", "record", "doc", "ticket"];
    let kind = kinds[rng.random_range(0..kinds.len())];
    let mut props = serde_json::Map::new();
    let mut maybe = |rng: &mut StdRng, key: &str, v: Json| {
        if rng.random_range(0..10) < 8 {
            props.insert(key.to_string(), v);
        }
    };
    let regions = ["US", "EU", "APAC"];
    let v = json!(regions[rng.random_range(0..3)]);
    maybe(rng, "region", v);
    let depts = ["sales", "legal", "security", "ops"];
    let v = json!(depts[rng.random_range(0..4)]);
    maybe(rng, "dept", v);
    let v = json!(rng.random_range(0..4));
    maybe(rng, "level", v);
    let mut aprops = serde_json::Map::new();
    match rng.random_range(0..10) {
        0 => {}
        1 => {
            aprops.insert("amount".into(), json!("lots"));
        }
        2 => {
            aprops.insert("amount".into(), json!(1.5));
        }
        _ => {
            aprops.insert(
                "amount".into(),
                json!([50, 150, 200, 201, 499, 501, 1000, 1001][rng.random_range(0..8)]),
            );
        }
    }
    let mut resource = json!({"type": kind, "properties": props});
    if rng.random_range(0..10) < 9 {
        let ids = ["o-1", "o-13", "r0", "r1", "r2", "r9", "d-1"];
        resource["id"] = json!(ids[rng.random_range(0..ids.len())]);
    }
    let mut context = json!({"on_behalf_of": chain});
    match rng.random_range(0..4) {
        0 => {}
        1 => context["session"] = json!({"tainted": rng.random_bool(0.5)}),
        2 => context["session"] = json!({"tainted": "yes"}),
        _ => {
            context["session"] = json!({"tainted": false});
            context["risk"] = json!(rng.random_range(0..12));
        }
    }
    json!({"subject": subject, "action": {"name": action, "properties": aprops},
           "resource": resource, "context": context})
}

/// Principals of a type no statement names, with refs too long to keep inline, or whose
/// type holds `:`, as subjects and in chains: the bundle decides as the source does, and the
/// fast path answers those it can find.
#[test]
fn unusual_principals_decide_the_same_from_the_bundle() {
    let c = compile_text(CORPUS_POLICY, &corpus_data(12));
    let decider = Decider::new(&c.program, &c.model).with_policy_hash(c.hash.clone());
    let bundle = c.bundle();
    let p = |ty: &str, id: &str| json!({"type": ty, "id": id});
    let read = |subject: Json, chain: Vec<Json>| {
        json!({"subject": subject, "action": {"name": "orders.read", "properties": {"amount": 10}},
               "resource": {"type": "order", "id": "o-1", "properties": {"region": "EU"}},
               "context": {"on_behalf_of": chain, "risk": 1}})
    };
    let cases = [
        // `robot:u1` is a tier1 member; `robot:u5` is suspended; `robot:u2` is no member.
        (read(p("robot", "u1"), vec![]), true),
        (read(p("robot", "u5"), vec![]), false),
        (read(p("robot", "u2"), vec![]), false),
        (read(p("agent", "a1"), vec![p("robot", "u1")]), true),
        (
            read(p("robot", "u1"), vec![p("user", "u0-of-the-night-shift")]),
            true,
        ),
        // A tier2 member with a ref longer than a slot holds inline.
        (read(p("user", "u6-of-the-night-shift"), vec![]), true),
        (read(p("user", "u7-of-the-night-shift"), vec![]), false),
        // `user:u:1` and `us:er:u1` are no principal of the data (`user:u1` is).
        (read(p("user:u", "1"), vec![]), false),
        (read(p("us", "er:u1"), vec![]), false),
        (read(p("user", "u1"), vec![p("user:u", "1")]), false),
    ];
    let mut fast = 0;
    for (k, (request, allow)) in cases.iter().enumerate() {
        fast += usize::from(check_request(
            &decider,
            &bundle,
            request,
            None,
            &format!("unusual[{k}]"),
        ));
        let d = decider.decide_json(request);
        assert_eq!(
            d["decision"],
            json!(allow),
            "unusual[{k}]: {request} -> {d}"
        );
    }
    assert!(
        fast >= 8,
        "the fast path answered only {fast} of {}",
        cases.len()
    );
}

#[test]
fn a_generated_corpus_decides_the_same_from_the_bundle() {
    let users = 40;
    let c = compile_text(CORPUS_POLICY, &corpus_data(users));
    let decider = Decider::new(&c.program, &c.model).with_policy_hash(c.hash.clone());
    let bundle = c.bundle();
    // Without plans, a bundle merges each action's candidates with the profile's entries.
    let unplanned = c.bundle().without_plans();
    let mut rng = StdRng::seed_from_u64(0x7a70_6c62);
    let scopes = ["orders.*", "email.send docs.read", "*", "records.view"];
    let (mut n, mut fast, mut allowed, mut constrained) = (0, 0, 0, 0);
    for i in 0..3000 {
        let request = random_request(&mut rng, users);
        if let Ok(parsed) = Request::from_json(&request) {
            let mut buf = QueryBuf::default();
            let query = bundle.query_of(&parsed, &mut buf);
            assert_eq!(
                unplanned.decide_fast(&query),
                bundle.decide_fast(&query),
                "corpus[{i}]: with and without plans for {request}"
            );
        }
        let scope = (i % 7 == 0).then(|| scopes[i % scopes.len()]);
        fast += usize::from(check_request(
            &decider,
            &bundle,
            &request,
            scope,
            &format!("corpus[{i}]"),
        ));
        let d = decider.decide_json(&request);
        allowed += usize::from(d["decision"] == json!(true));
        constrained += usize::from(d["context"].get("constraints").is_some());
        n += 1;
    }
    println!("corpus: {n} requests, {fast} fast, {allowed} allowed, {constrained} constrained");
    assert_eq!(n, 3000);
    // The corpus must exercise every path, not only denials.
    assert!(allowed >= 300, "only {allowed} allows");
    assert!(constrained >= 50, "only {constrained} constrained allows");
    assert!(fast >= 1000, "the fast path answered only {fast} of {n}");
}

#[test]
fn a_large_bundle_decides_the_same_from_the_bundle() {
    // Large enough that loading decodes the body on a second thread beside the checks.
    let users = 13_000;
    let c = compile_text(CORPUS_POLICY, &corpus_data(users));
    let bytes = c.bundle_bytes();
    assert!(
        bytes.len() > 300 << 10,
        "a bundle of {} bytes is decoded on one thread",
        bytes.len()
    );
    let decider = Decider::new(&c.program, &c.model).with_policy_hash(c.hash.clone());
    let bundle = Bundle::load(&bytes, Trust::allow_unsigned()).expect("loads");
    let mut rng = StdRng::seed_from_u64(0x6c61_7267);
    let mut fast = 0;
    for i in 0..400 {
        let request = random_request(&mut rng, users);
        fast += usize::from(check_request(
            &decider,
            &bundle,
            &request,
            None,
            &format!("large[{i}]"),
        ));
    }
    assert!(fast >= 100, "the fast path answered only {fast} of 400");
}

#[test]
fn builds_are_deterministic() {
    let a = compile_dir(Path::new("examples/support-desk"));
    let b = compile_dir(Path::new("examples/support-desk"));
    assert_eq!(a.bundle_bytes(), b.bundle_bytes());
    let big_a = compile_text(CORPUS_POLICY, &corpus_data(200));
    let big_b = compile_text(CORPUS_POLICY, &corpus_data(200));
    assert_eq!(big_a.bundle_bytes(), big_b.bundle_bytes());
    assert_ne!(a.bundle_bytes(), big_a.bundle_bytes());
    for pem in [ED_PEM, EC_PEM, RSA_PEM] {
        let k = key(pem, "k");
        let s1 = bundle::sign(&a.bundle_bytes(), &k).expect("signs");
        let s2 = bundle::sign(&b.bundle_bytes(), &k).expect("signs");
        assert_eq!(s1, s2, "{:?} signatures differ", k.algorithm());
    }
}

#[test]
fn signatures_verify_by_kid_with_every_algorithm() {
    let c = compile_dir(Path::new("examples/support-desk"));
    let bytes = c.bundle_bytes();
    let keys = [
        key(ED_PEM, "ed-2026"),
        key(EC_PEM, "ec-2026"),
        key(RSA_PEM, "rsa-2026"),
    ];
    let refs: Vec<&_> = keys.iter().collect();
    let set = key_set(&refs);
    for (k, alg) in keys.iter().zip(["EdDSA", "ES256", "RS256"]) {
        let signed = bundle::sign(&bytes, k).expect("signs");
        let b = Bundle::load(&signed, Trust::keys(&set)).expect("verifies");
        let signer = b.signer().expect("signed");
        assert_eq!((signer.kid.as_str(), signer.alg.as_str()), (k.kid(), alg));
        // Re-signing replaces the signature.
        let resigned = bundle::sign(&signed, &keys[0]).expect("signs");
        assert_eq!(
            Bundle::load(&resigned, Trust::keys(&set))
                .expect("verifies")
                .signer()
                .map(|s| s.kid.clone()),
            Some("ed-2026".into())
        );
    }
    // Rotation: a key set with only the new key refuses the old signature by its kid.
    let new = key(ED_OTHER_PEM, "ed-2027");
    let only_new = key_set(&[&new]);
    let old_signed = bundle::sign(&bytes, &keys[0]).expect("signs");
    assert!(matches!(
        Bundle::load(&old_signed, Trust::keys(&only_new)),
        Err(bundle::BundleError::UnknownKid(k)) if k == "ed-2026"
    ));
    let both = key_set(&[&keys[0], &new]);
    assert!(Bundle::load(&old_signed, Trust::keys(&both)).is_ok());
    assert!(Bundle::load(
        &bundle::sign(&bytes, &new).expect("signs"),
        Trust::keys(&both)
    )
    .is_ok());
}

#[test]
fn the_manifest_lists_what_requests_must_carry() {
    let c = compile_text(CORPUS_POLICY, &corpus_data(5));
    let b = c.bundle();
    let m = b.manifest();
    assert_eq!(
        m.attribute_names(),
        [
            "action.amount",
            "resource.dept",
            "resource.level",
            "resource.region",
            "context.risk",
            "context.session.tainted"
        ]
    );
    assert_eq!(m.principal_attributes, [vec!["level".to_string()]]);
    assert_eq!(m.claims, ["sub", "act", "scope"]);
    assert_eq!(m.slot("resource.region"), Some(3));
}

/// The support-desk bundle, a refund query over it, and the slots it fills.
fn refund_query<'a>(
    b: &Bundle,
    attrs: &'a mut Vec<Val<'a>>,
    chain: &'a [Entity<'a>],
    amount: i64,
) -> Query<'a> {
    let m = b.manifest();
    attrs.clear();
    attrs.resize(m.attributes.len(), Val::Unknown);
    attrs[m.slot("action.amount").expect("slot")] = Val::Int(amount);
    attrs[m.slot("resource.region").expect("slot")] = Val::Str("US");
    attrs[m.slot("context.session.tainted").expect("slot")] = Val::Bool(false);
    Query {
        subject: Entity {
            ty: "agent",
            id: "support-bot",
            attrs: &[],
        },
        on_behalf_of: chain,
        action: "orders.refund",
        resource_type: "order",
        resource_id: Some("o-17"),
        attrs,
        scope: None,
    }
}

#[test]
fn the_fast_path_allocates_nothing() {
    let c = compile_dir(Path::new("examples/support-desk"));
    let b = c.bundle();
    let chain = [Entity {
        ty: "user",
        id: "alice",
        attrs: &[],
    }];
    let mut attrs = Vec::new();
    let q = refund_query(&b, &mut attrs, &chain, 150);
    // Warm up (lazy statics, if any), then count.
    assert!(b.decide(&q).allowed());
    let before = allocations();
    let mut allowed = 0;
    for _ in 0..1000 {
        if let Answer::Fast(v) = b.decide(&q) {
            allowed += usize::from(v.allowed);
        }
    }
    let after = allocations();
    assert_eq!(
        allowed, 1000,
        "the query is an unconditional allow on the fast path"
    );
    assert_eq!(
        after - before,
        0,
        "{} allocations in 1,000 decisions",
        after - before
    );

    // Denials too: over the cap, and an unknown principal.
    let mut attrs2 = Vec::new();
    let q2 = refund_query(&b, &mut attrs2, &chain, 201);
    let chain3 = [Entity {
        ty: "user",
        id: "mallory",
        attrs: &[],
    }];
    let mut attrs3 = Vec::new();
    let q3 = refund_query(&b, &mut attrs3, &chain3, 10);
    let before = allocations();
    for _ in 0..1000 {
        assert!(matches!(b.decide(&q2), Answer::Fast(v) if !v.allowed));
        assert!(matches!(b.decide(&q3), Answer::Fast(v) if !v.allowed));
    }
    assert_eq!(allocations() - before, 0);

    // The counter does count: a residual decision allocates.
    let mut attrs4 = Vec::new();
    let mut q4 = refund_query(&b, &mut attrs4, &chain, 10);
    let unknown = vec![Val::Unknown; q4.attrs.len()];
    q4.attrs = &unknown;
    let before = allocations();
    let a = b.decide(&q4);
    assert!(allocations() > before);
    assert!(a.allowed() && a.constraints().is_some(), "{a:?}");
}

#[test]
fn decide_answers_from_the_query_alone() {
    let c = compile_dir(Path::new("examples/support-desk"));
    let b = c.bundle();
    let decider = Decider::new(&c.program, &c.model);
    let chain = [Entity {
        ty: "user",
        id: "bob",
        attrs: &[],
    }];
    for amount in [100, 500, 501, 1000] {
        let mut attrs = Vec::new();
        let q = refund_query(&b, &mut attrs, &chain, amount);
        let request = json!({
            "subject": {"type": "agent", "id": "support-bot"},
            "action": {"name": "orders.refund", "properties": {"amount": amount}},
            "resource": {"type": "order", "id": "o-17", "properties": {"region": "US"}},
            "context": {"on_behalf_of": [{"type": "user", "id": "bob"}], "session": {"tainted": false}}
        });
        let want: Decision = decider.decide(&Request::from_json(&request).expect("valid"));
        assert_eq!(b.decide(&q).allowed(), want.allowed, "amount {amount}");
    }
}

// ---- the command line ----------------------------------------------------------------------

fn ztpol(args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ztpol"))
        .args(args)
        .current_dir(crate_root())
        .output()
        .expect("ztpol runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_builds_verifies_inspects_and_decides_from_bundles() {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(p("key.pem"), ED_PEM).expect("write");
    std::fs::write(p("other.pem"), ED_OTHER_PEM).expect("write");
    let (code, jwks, err) = ztpol(&["bundle", "jwks", "--sign-key", &p("key.pem"), "--kid", "k1"]);
    assert_eq!(code, Some(0), "{err}");
    std::fs::write(p("jwks.json"), jwks).expect("write");

    let (code, _, err) = ztpol(&[
        "bundle",
        "build",
        "examples/support-desk",
        "-o",
        &p("desk.ztpb"),
        "--sign-key",
        &p("key.pem"),
        "--kid",
        "k1",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = ztpol(&[
        "bundle",
        "build",
        "examples/support-desk",
        "-o",
        &p("plain.ztpb"),
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let (code, _, err) = ztpol(&[
        "bundle",
        "build",
        "examples/support-desk",
        "-o",
        &p("forged.ztpb"),
        "--sign-key",
        &p("other.pem"),
        "--kid",
        "k1",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");

    let (code, out, _) = ztpol(&[
        "bundle",
        "verify",
        &p("desk.ztpb"),
        "--jwks",
        &p("jwks.json"),
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0));
    let v: Json = serde_json::from_str(&out).expect("json");
    assert_eq!(
        (v["valid"].as_bool(), v["kid"].as_str(), v["alg"].as_str()),
        (Some(true), Some("k1"), Some("EdDSA"))
    );
    for bad in ["plain.ztpb", "forged.ztpb"] {
        let (code, out, _) = ztpol(&[
            "bundle",
            "verify",
            &p(bad),
            "--jwks",
            &p("jwks.json"),
            "--format",
            "json",
        ]);
        assert_eq!(code, Some(1), "{bad}: {out}");
        assert!(out.contains("\"valid\":false"), "{bad}: {out}");
    }

    let (code, out, _) = ztpol(&["bundle", "inspect", &p("desk.ztpb"), "--format", "json"]);
    assert_eq!(code, Some(0));
    let info: Json = serde_json::from_str(&out).expect("json");
    assert_eq!(
        info["manifest"]["attributes"],
        json!([
            "action.amount",
            "resource.region",
            "context.session.tainted"
        ])
    );
    assert_eq!(info["signature"]["kid"], json!("k1"));
    let rules = info["rules"].as_array().expect("rules");
    assert!(
        rules.iter().any(|r| r["id"] == json!("tier1-refund")
            && r["location"]
                .as_str()
                .is_some_and(|l| l.ends_with("policy.ztp:20:1"))),
        "{rules:?}"
    );
    assert!(info["sections"]["profiles"].as_u64().is_some());

    // decide --bundle: the same response as from source, in every mode.
    let request = "examples/support-desk/requests/02-alice-bot-refund-150.json";
    let (code, want, _) = ztpol(&[
        "decide",
        "examples/support-desk",
        "--request",
        request,
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0));
    let (code, got, err) = ztpol(&[
        "decide",
        "--bundle",
        &p("desk.ztpb"),
        "--jwks",
        &p("jwks.json"),
        "--request",
        request,
        "--format",
        "json",
    ]);
    assert_eq!((code, got.as_str()), (Some(0), want.as_str()), "{err}");
    let (code, got, _) = ztpol(&[
        "decide",
        "--bundle",
        &p("desk.ztpb"),
        "--bundle-jwks",
        &p("jwks.json"),
        "--request",
        "examples/support-desk/requests/04-alice-bot-refund-201.json",
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(2), "{got}");
    let lines = dir.path().join("lines.jsonl");
    let texts: Vec<String> = [
        "02-alice-bot-refund-150",
        "09-bob-refund-1001",
        "26-refund-amount-unknown",
    ]
    .iter()
    .map(|n| {
        serde_json::from_str::<Json>(
            &std::fs::read_to_string(
                crate_root().join(format!("examples/support-desk/requests/{n}.json")),
            )
            .expect("reads"),
        )
        .expect("json")
        .to_string()
    })
    .collect();
    std::fs::write(&lines, texts.join("\n")).expect("write");
    let lines = lines.display().to_string();
    let (_, want, _) = ztpol(&["decide", "examples/support-desk", "--requests", &lines]);
    let (code, got, _) = ztpol(&[
        "decide",
        "--bundle",
        &p("desk.ztpb"),
        "--jwks",
        &p("jwks.json"),
        "--requests",
        &lines,
    ]);
    assert_eq!((code, got.lines().count()), (Some(0), 3));
    assert_eq!(got, want);

    // Unsigned: refused, unless allowed; a forged signature: refused either way.
    let (code, _, err) = ztpol(&["decide", "--bundle", &p("plain.ztpb"), "--request", request]);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("not signed") && err.contains("--allow-unsigned"),
        "{err}"
    );
    let (code, _, err) = ztpol(&[
        "decide",
        "--bundle",
        &p("plain.ztpb"),
        "--allow-unsigned",
        "--request",
        request,
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("warning"), "{err}");
    let forged = p("forged.ztpb");
    for extra in [&[][..], &["--allow-unsigned"][..]] {
        let mut args = vec!["decide", "--bundle", forged.as_str()];
        let jw = p("jwks.json");
        args.extend(["--jwks", jw.as_str()]);
        args.extend(extra);
        args.extend(["--request", request]);
        let (code, _, err) = ztpol(&args);
        assert_eq!(code, Some(1), "{extra:?}: {err}");
        assert!(err.contains("signature"), "{err}");
    }
}
