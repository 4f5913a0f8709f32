//! ztpol's side alone, with the build and load broken into their parts (no Cedar, no
//! agreement loops), for profiling.
//!
//! zprof [--users N] [--requests N] [--rounds N] [--alone N] [--only decide|load|build]
//!
//! `--alone N` times the first N requests of the mix each on its own (default 5).

#[path = "../../../common/support_desk.rs"]
#[allow(dead_code)]
mod support_desk;
#[path = "../ztpol_side.rs"]
#[allow(dead_code)]
mod ztpol_side;

use std::hint::black_box;
use std::time::Instant;
use ztpol::bundle::{self, format, read, Bundle, Trust};
use ztpol::eval::{self, EvalConfig};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn only() -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// CPU time of this thread so far (ns), from the scheduler's accounting: unlike wall time,
/// it does not grow while other processes hold the cores.
fn cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn main() {
    let users = arg("--users", 100_000);
    let nreq = arg("--requests", 10_000);
    let rounds = arg("--rounds", 300);
    let only = only();
    let want = |w: &str| only.as_deref().is_none_or(|o| o == w);
    let policy = support_desk::policy();
    let data = support_desk::data(users);

    // Build, by part (best of three).
    let mut parts = vec![0f64; 8];
    let mut bytes = Vec::new();
    let mut facts = 0;
    for round in 0..3 {
        let mut t = Instant::now();
        let mut lap = |k: usize, t: &mut Instant| {
            let v = ms(*t);
            if round == 0 || v < parts[k] {
                parts[k] = v;
            }
            *t = Instant::now();
        };
        let compiled = ztpol::load::compile_str("support_desk.ztp", &policy);
        let mut program = compiled.program.expect("compiles");
        lap(0, &mut t);
        let f = ztpol::data::load_json_str(&mut program, "data.json", &data).expect("data");
        facts = program.facts.len() + f.len();
        lap(1, &mut t);
        let input = eval::input_model(&program, &f);
        lap(2, &mut t);
        let model = eval::evaluate(&program, &input, &EvalConfig::default()).expect("evaluates");
        lap(3, &mut t);
        let hash = ztpol::decide::policy_hash(&program, &[("data.json", data.as_bytes())]);
        lap(4, &mut t);
        let b = bundle::build(&program, &model, &hash, facts);
        lap(5, &mut t);
        let b = bundle::sign(&b, &ztpol_side::signing_key()).expect("signs");
        lap(6, &mut t);
        std::fs::write("/tmp/zprof.ztpb", &b).expect("write");
        lap(7, &mut t);
        bytes = b;
        if !want("build") {
            break;
        }
    }
    let names = [
        "compile_str",
        "load_json_str",
        "input_model",
        "evaluate",
        "policy_hash",
        "bundle::build",
        "sign",
        "write",
    ];
    let total: f64 = parts.iter().sum();
    println!(
        "build: {facts} facts, {:.1} ms, {:.2}M facts/s; {} bytes ({:.1}/user)",
        total,
        facts as f64 / total / 1e3,
        bytes.len(),
        bytes.len() as f64 / users as f64
    );
    for (n, v) in names.iter().zip(&parts) {
        println!("  {n:14} {v:8.2} ms");
    }

    let keys = ztpol_side::key_set();
    if want("load") {
        let mut best = [f64::MAX; 6];
        for _ in 0..15 {
            let t = Instant::now();
            let env = format::open(&bytes).expect("open");
            let a = ms(t);
            let t = Instant::now();
            bundle::verify(&bytes, Trust::keys(&keys)).expect("verify");
            let b = ms(t);
            let t = Instant::now();
            let c = read::decode(env.body).expect("decode");
            let d = ms(t);
            let t = Instant::now();
            let f = bundle::fast::Fast::new(&c).expect("fast");
            let e = ms(t);
            black_box(&f);
            let t = Instant::now();
            let c0 = cpu_ns();
            let whole = Bundle::load(&bytes, Trust::keys(&keys)).expect("load");
            let cpu = (cpu_ns() - c0) as f64 / 1e6;
            let w = ms(t);
            drop(black_box(whole));
            for (k, v) in [a, b, d, e, w, cpu].into_iter().enumerate() {
                best[k] = best[k].min(v);
            }
        }
        println!(
            "load (best of 15): open+digest {:.2} ms, verify (open+digest+sig) {:.2} ms, decode {:.2} ms, fast tables {:.2} ms; Bundle::load {:.2} ms (CPU {:.2} ms)",
            best[0], best[1], best[2], best[3], best[4], best[5]
        );
    }

    if want("decide") {
        let b = ztpol_side::load(&bytes, &keys);
        let slots = ztpol_side::Slots::of(&b);
        let mix = ztpol_side::mix(users, nreq);
        let staged = mix
            .iter()
            .filter(|p| ztpol_side::fast_only(&b, slots, p).is_none())
            .count();
        println!(
            "decide: {staged} of {} requests take the staged decider",
            mix.len()
        );
        let mut allowed = 0usize;
        let t = Instant::now();
        let c0 = cpu_ns();
        let mut k = 0;
        for _ in 0..rounds {
            for _ in 0..1000 {
                allowed += usize::from(ztpol_side::decide(
                    &b,
                    slots,
                    black_box(&mix[k % mix.len()]),
                ));
                k += 1;
            }
        }
        let ns = t.elapsed().as_nanos() as f64 / k as f64;
        let cpu = (cpu_ns() - c0) as f64 / k as f64;
        println!("decide: {k} decisions, mean {ns:.1} ns (CPU {cpu:.1} ns), {allowed} allowed");
        for j in 0..arg("--alone", 5) {
            let p = &mix[j];
            let c0 = cpu_ns();
            let mut hits = 0usize;
            for _ in 0..rounds * 1000 {
                hits += usize::from(ztpol_side::fast_only(&b, slots, black_box(p)) == Some(true));
            }
            let cpu = (cpu_ns() - c0) as f64 / (rounds * 1000) as f64;
            println!("  request {j} alone: CPU {cpu:.1} ns ({hits} allowed)");
        }
    }
}
