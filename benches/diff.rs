//! `ztpol diff` of two versions of the 100,000-user support-desk policy and data: the NEW
//! version raises tier1's refund cap from 200 to 300, which widens the permission of every
//! tier1 member that is neither suspended nor covered by tier2 already. Target: under 5 s and
//! under 1 GiB peak memory for the whole run (compile, load, evaluate both versions, diff).
//!
//! cargo bench --bench diff
//!
//! Besides the timings, the bench prints the peak heap of one whole run (a counting allocator)
//! and writes both versions to `target/diff-bench/{old,new}/`, so the CLI can be measured too:
//!
//! /usr/bin/time -v target/release/ztpol diff target/diff-bench/old target/diff-bench/new \
//!     --format json > /dev/null

#[path = "common/support_desk.rs"]
mod support_desk;

use criterion::{criterion_group, criterion_main, Criterion};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use ztpol::diff::{self, Version};
use ztpol::eval::Model;
use ztpol::ir::Program;

const USERS: usize = 100_000;

/// The system allocator, counting live and peak bytes.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwards the caller's layout to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn new_policy() -> String {
    support_desk::policy().replace("action.amount <= 200;", "action.amount <= 300;")
}

fn load(text: &str, data: &str) -> (Program, Model) {
    let compiled = ztpol::load::compile_str("policy.ztp", text);
    let mut program = compiled.program.expect("the support-desk policy checks");
    let facts =
        ztpol::data::load_json_str(&mut program, "data.json", data).expect("the data loads");
    let input = ztpol::eval::input_model(&program, &facts);
    let model = ztpol::eval::evaluate(&program, &input, &Default::default()).expect("evaluates");
    (program, model)
}

/// As the CLI does it: both versions load in parallel, then the diff.
fn whole_run(old: &str, new: &str, data: &str) -> usize {
    let ((po, mo), (pn, mn)) = std::thread::scope(|s| {
        let o = s.spawn(|| load(old, data));
        let n = load(new, data);
        (o.join().expect("loading the old version does not panic"), n)
    });
    let d = diff::diff(
        Version {
            program: &po,
            model: &mo,
        },
        Version {
            program: &pn,
            model: &mn,
        },
    )
    .expect("the diff is computed");
    d.summary.total()
}

fn write_versions(old: &str, new: &str, data: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/diff-bench");
    for (dir, text) in [("old", old), ("new", new)] {
        let d = root.join(dir);
        if std::fs::create_dir_all(&d).is_ok() {
            let with_data = format!("data \"data.json\";\n{text}");
            let _ = std::fs::write(d.join("policy.ztp"), with_data);
            let _ = std::fs::write(d.join("data.json"), data);
        }
    }
}

fn bench(c: &mut Criterion) {
    let old = support_desk::policy();
    let new = new_policy();
    assert_ne!(old, new, "the new version raises the cap");
    let data = support_desk::data(USERS);
    write_versions(&old, &new, &data);

    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let changes = whole_run(&old, &new, &data);
    let elapsed = started.elapsed();
    let peak = PEAK.load(Ordering::Relaxed) - base;
    // Every tier1 member that is not suspended: 2 in 3 users, less every 50th.
    let tier1 = (0..USERS).filter(|i| i % 3 != 0 && i % 50 != 49).count();
    assert_eq!(
        changes, tier1,
        "one widened permission per active tier1 member"
    );
    eprintln!(
        "diff of {USERS} users: {changes} changes, one run {elapsed:.2?}, peak heap {:.1} MiB",
        peak as f64 / (1024.0 * 1024.0)
    );

    let mut group = c.benchmark_group("diff");
    group.sample_size(10);
    group.bench_function("support_desk_100k_whole", |b| {
        b.iter(|| whole_run(&old, &new, &data))
    });
    let (po, mo) = load(&old, &data);
    let (pn, mn) = load(&new, &data);
    group.bench_function("support_desk_100k_diff_only", |b| {
        b.iter(|| {
            diff::diff(
                Version {
                    program: &po,
                    model: &mo,
                },
                Version {
                    program: &pn,
                    model: &mn,
                },
            )
            .map(|d| d.summary.total())
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
