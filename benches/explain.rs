//! `explain` of an allow and of a deny on the support-desk workload with 100,000 users.
//! Target: under 50 ms each.
//!
//! Costs per request: `first` opens a new explanation session and explains (the session looks
//! up the origins of the facts it cites and finds the ranks of recursive `has_role` tuples by a
//! bounded search near them); `first_full_ranks` does the same but computes the full rank table
//! of the role stratum; `steady` explains with a session that has prepared everything (origins
//! and rank tables are computed once per loaded program and reused across explanations).
//!
//! cargo bench --bench explain

#[path = "common/support_desk.rs"]
mod support_desk;

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;
use ztpol::decide::Auth;
use ztpol::eval::{self, EvalConfig};
use ztpol::explain::{ExplainConfig, Explainer};

const USERS: usize = 100_000;

fn bench(c: &mut Criterion) {
    let compiled = ztpol::load::compile_str("support-desk.ztp", &support_desk::policy());
    // The generated policy is valid: compiling it is part of the benchmark's setup.
    let mut program = compiled.program.expect("the support-desk policy checks");
    let facts = ztpol::data::load_json_str(
        &mut program,
        "support-desk.json",
        &support_desk::data(USERS),
    )
    .expect("the generated data loads");
    let input = eval::input_model(&program, &facts);
    let model = eval::evaluate(&program, &input, &EvalConfig::default()).expect("evaluates");

    // u3 is tier2 (refund up to 1000 in US/EU), its agent may refund up to 500: allowed.
    let allow = support_desk::refund_request(3, 150, "US");
    // u4 is tier1 (refund up to 200): denied, with the failed condition and the missing tier2.
    let deny = support_desk::refund_request(4, 250, "US");
    {
        let ex = Explainer::new(&program, &model, &facts);
        let a = ex.explain_document(&allow, Auth::None).expect("explains");
        assert!(a.decision.allowed, "{}", ex.explanation_text(&a));
        let d = ex.explain_document(&deny, Auth::None).expect("explains");
        assert!(!d.decision.allowed, "{}", ex.explanation_text(&d));
    }

    let mut g = c.benchmark_group("explain_100k");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    for (name, req) in [("allow", &allow), ("deny", &deny)] {
        g.bench_function(format!("{name}/first"), |b| {
            b.iter(|| {
                let ex = Explainer::new(&program, &model, &facts);
                let e = ex.explain_document(req, Auth::None).expect("explains");
                black_box(ex.explanation_json(&e))
            })
        });
        // The same, with the stratum's full rank table instead of the bounded search.
        g.bench_function(format!("{name}/first_full_ranks"), |b| {
            b.iter(|| {
                let config = ExplainConfig {
                    bounded_ranks: false,
                    ..ExplainConfig::default()
                };
                let ex = Explainer::with_config(&program, &model, &facts, config);
                let e = ex.explain_document(req, Auth::None).expect("explains");
                black_box(ex.explanation_json(&e))
            })
        });
        let ex = Explainer::new(&program, &model, &facts);
        ex.prepare().expect("ranks compute");
        g.bench_function(format!("{name}/steady"), |b| {
            b.iter(|| {
                let e = ex.explain_document(req, Auth::None).expect("explains");
                black_box(ex.explanation_json(&e))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
