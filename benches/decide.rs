//! Decision latency of the staged path on the support-desk policy with 100,000 users, and
//! `decide --requests`-style throughput over 100,000 JSON lines.
//!
//! cargo bench --bench decide

#[path = "common/support_desk.rs"]
mod support_desk;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use ztpol::decide::{Decider, Request};
use ztpol::eval::{self, EvalConfig};

const USERS: usize = 100_000;

fn bench(c: &mut Criterion) {
    let compiled = ztpol::load::compile_str("support-desk.ztp", &support_desk::policy());
    let mut program = compiled.program.expect("the support-desk policy checks");
    let facts = ztpol::data::load_json_str(&mut program, "data.json", &support_desk::data(USERS))
        .expect("the generated data loads");
    let input = eval::input_model(&program, &facts);
    let model = eval::evaluate(&program, &input, &EvalConfig::default()).expect("evaluates");
    let decider = Decider::new(&program, &model);

    let mix = support_desk::request_mix(USERS, 1_000);
    let requests: Vec<Request> = mix
        .iter()
        .map(|j| Request::from_json(j).expect("well-formed request"))
        .collect();
    // The mix must exercise both answers, or the benchmark measures one path only.
    let allowed = requests
        .iter()
        .filter(|r| decider.decide(r).allowed)
        .count();
    assert!(
        allowed > 0 && allowed < requests.len(),
        "allowed {allowed} of {}",
        requests.len()
    );

    let mut group = c.benchmark_group("decide");
    let allow = Request::from_json(&support_desk::refund_request(4_242, 150, "US")).expect("ok");
    assert!(decider.decide(&allow).allowed);
    group.bench_function("staged_allow_two_principals", |b| {
        b.iter(|| black_box(decider.decide(black_box(&allow))))
    });
    let deny = Request::from_json(&support_desk::refund_request(4_242, 600, "US")).expect("ok");
    assert!(!decider.decide(&deny).allowed);
    group.bench_function("staged_deny_over_cap", |b| {
        b.iter(|| black_box(decider.decide(black_box(&deny))))
    });
    let mut i = 0;
    group.bench_function("staged_mix", |b| {
        b.iter(|| {
            i = (i + 1) % requests.len();
            black_box(decider.decide(&requests[i]))
        })
    });
    group.bench_function("json_in_json_out", |b| {
        b.iter(|| {
            i = (i + 1) % mix.len();
            black_box(decider.decide_json(&mix[i]))
        })
    });
    group.finish();

    // Throughput of JSON lines, as `ztpol decide --requests` runs them.
    let lines: String = support_desk::request_mix(USERS, 100_000)
        .iter()
        .map(|r| r.to_string() + "\n")
        .collect();
    let mut group = c.benchmark_group("decide_lines");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("100k_json_lines", |b| {
        b.iter_batched(
            || Vec::with_capacity(lines.len() * 3),
            |mut out| {
                ztpol::decide::batch::run_lines(
                    lines.as_bytes(),
                    &mut out,
                    |j| decider.decide_json(j),
                    |e| decider.malformed(e),
                )
                .expect("writes to memory");
                out
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
