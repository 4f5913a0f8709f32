//! Transitive closure benchmarks for both engines, with a peak-memory report.
//!
//! `cargo bench --bench closure` runs the criterion groups and, before them, prints one line
//! per workload with the derived tuples, one timed run, and the peak heap in use during it
//! (a counting global allocator) per derived tuple.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use ztpol::eval::{evaluate, input_model, Engine, EvalConfig, Limits};
use ztpol::ir::{
    Atom, BodyLit, ColumnInfo, Fact, Origin, Program, RelId, RelKind, Relation, Rule, RuleId,
    Stratum, Term, Type, Value, Var,
};
use ztpol::source::Span;

/// The system allocator, counting the bytes in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn add(bytes: usize) {
    let now = IN_USE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            add(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
            add(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn atom(rel: RelId, vars: &[u32]) -> Atom {
    Atom {
        rel,
        args: vars.iter().map(|&v| Term::Var(Var(v))).collect(),
        span: Span::default(),
    }
}

/// `path(X, Y) :- edge(X, Y).  path(X, Z) :- path(X, Y), edge(Y, Z).` over int `edges`.
fn closure_program(edges: &[(i64, i64)]) -> Program {
    let mut p = Program::default();
    let binary = |name: &str| Relation {
        name: name.to_string(),
        columns: vec![
            ColumnInfo {
                name: None,
                ty: Type::Int
            };
            2
        ],
        span: Span::default(),
        kind: RelKind::Declared,
    };
    p.relations = vec![binary("edge"), binary("path")];
    let (edge, path) = (RelId(0), RelId(1));
    for &(x, y) in edges {
        let values = vec![
            p.interner.intern(Value::Int(x)),
            p.interner.intern(Value::Int(y)),
        ];
        p.facts.push(Fact {
            rel: edge,
            values,
            origin: Origin::Inline(Span::default()),
        });
    }
    let rule = |head: Atom, body: Vec<Atom>| Rule {
        head,
        body: body.into_iter().map(BodyLit::Pos).collect(),
        var_names: vec!["X".into(), "Y".into(), "Z".into()],
        span: Span::default(),
    };
    p.rules = vec![
        rule(atom(path, &[0, 1]), vec![atom(edge, &[0, 1])]),
        rule(
            atom(path, &[0, 2]),
            vec![atom(path, &[0, 1]), atom(edge, &[1, 2])],
        ),
    ];
    p.strata = vec![
        Stratum {
            relations: vec![edge],
            rules: vec![],
            recursive: false,
        },
        Stratum {
            relations: vec![path],
            rules: vec![RuleId(0), RuleId(1)],
            recursive: true,
        },
    ];
    p
}

fn chain(n: i64) -> Program {
    let edges: Vec<(i64, i64)> = (0..n - 1).map(|i| (i, i + 1)).collect();
    closure_program(&edges)
}

/// `m` distinct random edges over `n` nodes, from a fixed xorshift seed.
fn random_graph(n: i64, m: usize) -> Program {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut edges = std::collections::BTreeSet::new();
    while edges.len() < m {
        let x = (next() % n as u64) as i64;
        let y = (next() % n as u64) as i64;
        edges.insert((x, y));
    }
    closure_program(&edges.into_iter().collect::<Vec<_>>())
}

/// Derived `path` tuples of one run (asserting both engines agree is the tests' job).
fn derived(program: &Program, engine: Engine) -> usize {
    let input = input_model(program, &[]);
    let config = EvalConfig {
        engine,
        limits: Limits {
            max_time: Duration::from_secs(600),
            ..Limits::default()
        },
    };
    match evaluate(program, &input, &config) {
        Ok(model) => model.get(RelId(1)).len(),
        Err(e) => panic!("benchmark program failed: {e}"),
    }
}

/// User + system CPU time of this process (Linux `/proc`, 10 ms resolution), so that figures
/// on a loaded machine can be read against wall-clock ones.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is parenthesised and may contain spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// One untimed-by-criterion run: tuples, seconds, peak heap bytes per derived tuple.
fn report(name: &str, program: &Program, engine: Engine) -> u64 {
    let input = input_model(program, &[]);
    let config = EvalConfig {
        engine,
        limits: Limits {
            max_time: Duration::from_secs(600),
            ..Limits::default()
        },
    };
    let base = IN_USE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let cpu = cpu_seconds();
    let t = Instant::now();
    let model = match evaluate(program, &input, &config) {
        Ok(m) => m,
        Err(e) => panic!("benchmark program failed: {e}"),
    };
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds().zip(cpu).map(|(after, before)| after - before);
    let peak = PEAK.load(Ordering::Relaxed) - base;
    let n = model.get(RelId(1)).len();
    drop(model);
    let cpu = match cpu {
        Some(c) if c > 0.0 => format!(" (cpu {c:.2} s = {:.2} M tuples/s)", n as f64 / c / 1e6),
        Some(_) | None => String::new(),
    };
    eprintln!(
        "{name:<20} {engine:?}: {n} derived tuples in {secs:.3} s = {:.2} M tuples/s{cpu}, \
         peak heap {:.1} MB = {:.1} bytes/tuple",
        n as f64 / secs / 1e6,
        peak as f64 / 1e6,
        peak as f64 / n as f64
    );
    n as u64
}

/// The same closure written directly against datafrog with `(u32, u32)` tuples: the yardstick
/// for the engine's overhead, measured on the same machine at the same time.
fn datafrog_baseline(name: &str, program: &Program) {
    let edges: datafrog::Relation<(u32, u32)> = program
        .facts
        .iter()
        .map(|f| (f.values[0].0, f.values[1].0))
        .collect();
    let cpu = cpu_seconds();
    let t = Instant::now();
    let mut iteration = datafrog::Iteration::new();
    let path = iteration.variable::<(u32, u32)>("path");
    let path_by_dst = iteration.variable_indistinct::<(u32, u32)>("path_by_dst");
    path.extend(edges.iter().copied());
    while iteration.changed() {
        // path(X, Z) :- path(X, Y), edge(Y, Z).
        path_by_dst.from_map(&path, |&(x, y)| (y, x));
        path.from_join(&path_by_dst, &edges, |_, &x, &z| (x, z));
    }
    let n = path.complete().len();
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_seconds()
        .zip(cpu)
        .map_or(0.0, |(after, before)| after - before);
    eprintln!(
        "{name:<20} plain datafrog: {n} tuples in {secs:.3} s = {:.2} M tuples/s \
         (cpu {cpu:.2} s = {:.2} M tuples/s)",
        n as f64 / secs / 1e6,
        n as f64 / cpu.max(0.01) / 1e6
    );
}

fn bench(c: &mut Criterion) {
    let workloads: Vec<(&str, Program, Engine)> = vec![
        ("chain/2000", chain(2000), Engine::Datafrog),
        (
            "random/2000x4000",
            random_graph(2000, 4000),
            Engine::Datafrog,
        ),
        ("chain/200", chain(200), Engine::Datafrog),
        ("chain/200", chain(200), Engine::Naive),
        ("random/200x400", random_graph(200, 400), Engine::Datafrog),
        ("random/200x400", random_graph(200, 400), Engine::Naive),
    ];
    // A criterion filter (`cargo bench --bench closure -- Datafrog/chain`) also limits the
    // one-off reports.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |id: &str| filter.as_deref().is_none_or(|f| id.contains(f));
    if wanted("baseline") {
        datafrog_baseline("chain/2000", &workloads[0].1);
        datafrog_baseline("random/2000x4000", &workloads[1].1);
    }
    let mut group = c.benchmark_group("closure");
    group.sample_size(10);
    for (name, program, engine) in &workloads {
        if !wanted(&format!("{engine:?}/{name}")) {
            continue;
        }
        let n = report(name, program, *engine);
        group.throughput(Throughput::Elements(n));
        group.bench_with_input(
            BenchmarkId::new(format!("{engine:?}"), name),
            program,
            |b, p| b.iter(|| derived(p, *engine)),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
