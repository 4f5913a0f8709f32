//! Bundle build, phase by phase, on the support-desk workload (100,000 users).
//!
//! `cargo bench --bench build` first prints one line per phase (median of a few runs, with the
//! process CPU time beside it) and the end-to-end rate in input facts per second, then runs one
//! criterion group per phase. A filter (`cargo bench --bench build -- load_json`) limits both.

#[path = "common/support_desk.rs"]
mod support_desk;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::time::{Duration, Instant};
use ztpol::bundle::{self, SigningKey};
use ztpol::eval::{self, EvalConfig, Model};
use ztpol::ir::{Fact, Program};

const USERS: usize = 100_000;
const SIGNING_KEY: &str = include_str!("cedar-compare/bench-signing-key.pem");

/// Everything the phases produce, from one run.
struct Stages {
    program: Program,
    facts: Vec<Fact>,
    input: Model,
    model: Model,
    hash: String,
    bytes: Vec<u8>,
}

fn compile(policy: &str) -> Program {
    match ztpol::load::compile_str("support_desk.ztp", policy).program {
        Some(p) => p,
        None => panic!("the support-desk policy compiles"),
    }
}

fn load(program: &mut Program, data: &str) -> Vec<Fact> {
    match ztpol::data::load_json_str(program, "data.json", data) {
        Ok(f) => f,
        Err(e) => panic!("the support-desk data loads: {e:?}"),
    }
}

fn evaluate(program: &Program, input: &Model) -> Model {
    match eval::evaluate(program, input, &EvalConfig::default()) {
        Ok(m) => m,
        Err(e) => panic!("the support-desk program evaluates: {e}"),
    }
}

fn key() -> SigningKey {
    match SigningKey::from_pem(SIGNING_KEY.as_bytes(), "bench-1") {
        Ok(k) => k,
        Err(e) => panic!("the bench key reads: {e}"),
    }
}

fn stages(policy: &str, data: &str) -> Stages {
    let mut program = compile(policy);
    let facts = load(&mut program, data);
    let input = eval::input_model(&program, &facts);
    let model = evaluate(&program, &input);
    let hash = ztpol::decide::policy_hash(&program, &[("data.json", data.as_bytes())]);
    let input_facts = program.facts.len() + facts.len();
    let bytes = bundle::build(&program, &model, &hash, input_facts);
    Stages {
        program,
        facts,
        input,
        model,
        hash,
        bytes,
    }
}

/// User + system CPU time of this process (Linux `/proc`, 10 ms resolution).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(11) + tick(12)) / 100.0
}

/// One timed run of every phase, in order; the times in seconds (wall, cpu) per phase.
fn timed_run(policy: &str, data: &str, out: &std::path::Path) -> Vec<(&'static str, f64, f64)> {
    let mut times = Vec::new();
    let mut clock = |name: &'static str, t: Instant, c: f64| {
        times.push((name, t.elapsed().as_secs_f64(), cpu_seconds() - c));
    };
    let (t, c) = (Instant::now(), cpu_seconds());
    let mut program = compile(policy);
    clock("compile_str", t, c);
    let (t, c) = (Instant::now(), cpu_seconds());
    let facts = load(&mut program, data);
    clock("load_json_str", t, c);
    let (t, c) = (Instant::now(), cpu_seconds());
    let input = eval::input_model(&program, &facts);
    clock("input_model", t, c);
    let (t, c) = (Instant::now(), cpu_seconds());
    let model = evaluate(&program, &input);
    clock("evaluate", t, c);
    let (t, c) = (Instant::now(), cpu_seconds());
    let hash = ztpol::decide::policy_hash(&program, &[("data.json", data.as_bytes())]);
    clock("policy_hash", t, c);
    let (t, c) = (Instant::now(), cpu_seconds());
    let bytes = bundle::build(&program, &model, &hash, program.facts.len() + facts.len());
    clock("bundle::build", t, c);
    let (t, c) = (Instant::now(), cpu_seconds());
    let signed = match bundle::sign(&bytes, &key()) {
        Ok(b) => b,
        Err(e) => panic!("the bundle signs: {e}"),
    };
    clock("sign", t, c);
    let (t, c) = (Instant::now(), cpu_seconds());
    if let Err(e) = std::fs::write(out, &signed) {
        panic!("the bundle is written: {e}");
    }
    clock("write", t, c);
    drop((input, model, facts, program));
    times
}

fn report(policy: &str, data: &str, facts: usize) {
    const RUNS: usize = 5;
    let dir = std::env::temp_dir().join(format!("ztpol-build-bench-{}", std::process::id()));
    let runs: Vec<_> = (0..RUNS).map(|_| timed_run(policy, data, &dir)).collect();
    let _ = std::fs::remove_file(&dir);
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut wall_total = 0.0;
    let mut cpu_total = 0.0;
    eprintln!("bundle build, support desk {USERS} users, {facts} input facts, median of {RUNS}:");
    for (i, &(name, _, _)) in runs[0].iter().enumerate() {
        let wall = median(runs.iter().map(|r| r[i].1).collect());
        let cpu = median(runs.iter().map(|r| r[i].2).collect());
        wall_total += wall;
        cpu_total += cpu;
        eprintln!(
            "  {name:<14} {:>8.1} ms (cpu {:>6.0} ms)",
            wall * 1e3,
            cpu * 1e3
        );
    }
    eprintln!(
        "  {:<14} {:>8.1} ms (cpu {:>6.0} ms) = {:.2} M input facts/s",
        "total",
        wall_total * 1e3,
        cpu_total * 1e3,
        facts as f64 / wall_total / 1e6
    );
}

fn bench(c: &mut Criterion) {
    let policy = support_desk::policy();
    let data = support_desk::data(USERS);
    let s = stages(&policy, &data);
    let facts = s.program.facts.len() + s.facts.len();
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |id: &str| filter.as_deref().is_none_or(|f| id.contains(f));
    if wanted("report") {
        report(&policy, &data, facts);
    }

    let mut group = c.benchmark_group("build");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::Elements(facts as u64));
    if wanted("build/compile_str") {
        group.bench_function("compile_str", |b| b.iter(|| compile(&policy)));
    }
    if wanted("build/load_json_str") {
        let base = compile(&policy);
        group.bench_function("load_json_str", |b| {
            b.iter_batched(
                || base.clone(),
                |mut p| load(&mut p, &data),
                BatchSize::LargeInput,
            )
        });
    }
    if wanted("build/input_model") {
        group.bench_function("input_model", |b| {
            b.iter(|| eval::input_model(&s.program, &s.facts))
        });
    }
    if wanted("build/evaluate") {
        group.bench_function("evaluate", |b| b.iter(|| evaluate(&s.program, &s.input)));
    }
    if wanted("build/policy_hash") {
        group.bench_function("policy_hash", |b| {
            b.iter(|| ztpol::decide::policy_hash(&s.program, &[("data.json", data.as_bytes())]))
        });
    }
    if wanted("build/bundle_build") {
        group.bench_function("bundle_build", |b| {
            b.iter(|| bundle::build(&s.program, &s.model, &s.hash, facts))
        });
    }
    if wanted("build/sign") {
        let k = key();
        group.bench_function("sign", |b| b.iter(|| bundle::sign(&s.bytes, &k)));
    }
    if wanted("build/all") {
        group.bench_function("all", |b| b.iter(|| stages(&policy, &data)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
