//! ztpol bundles against cedar-policy on one workload, side by side, in one run.
//!
//! The workload is the support desk scaled to `--users` (default 100,000) users, each with a
//! role and one or two agents of their own; the request mix is agents refunding orders for
//! their users with amounts and regions that allow, deny by cap, deny by region and hit the
//! suspension forbid. Both engines decide the same requests; their answers are compared.
//!
//! cargo run --release -- [--users N] [--requests N] [--rounds N]

#[path = "../../common/support_desk.rs"]
mod support_desk;

mod cedar_side;
mod ztpol_side;

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Median over `rounds` of the mean time per call over `batch` consecutive calls (ns).
fn per_call<T>(items: &[T], batch: usize, rounds: usize, mut f: impl FnMut(&T) -> bool) -> f64 {
    let mut samples = Vec::with_capacity(rounds);
    let mut k = 0;
    for _ in 0..rounds {
        let t0 = Instant::now();
        for _ in 0..batch {
            black_box(f(black_box(&items[k % items.len()])));
            k += 1;
        }
        samples.push(t0.elapsed().as_nanos() as f64 / batch as f64);
    }
    median(samples)
}

/// Nanoseconds per read of this machine's memory when each read's address comes from the
/// previous one, at random places in `bytes` of memory: the least a lookup at a random place
/// in a table of that size costs once it misses the caches.
fn dependent_read_ns(bytes: usize) -> f64 {
    const LINE: usize = 8; // u64s per 64-byte cache line
    let lines = (bytes / 64).max(2);
    // One cycle through every line in a random order (Sattolo's shuffle, xorshift numbers).
    let mut order: Vec<usize> = (0..lines).collect();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..lines).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % i as u64) as usize);
    }
    let mut next = vec![0u64; lines * LINE];
    for w in 0..lines {
        next[order[w] * LINE] = (order[(w + 1) % lines] * LINE) as u64;
    }
    let reads = 2_000_000;
    let mut at = 0usize;
    for _ in 0..reads / 4 {
        at = next[at] as usize;
    }
    let t0 = Instant::now();
    for _ in 0..reads {
        at = next[at] as usize;
    }
    let ns = t0.elapsed().as_nanos() as f64 / reads as f64;
    black_box(at);
    ns
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Peak RSS (KiB) of a broker run, from its own `/proc/self/status` report.
fn broker_rss(args: &[&str]) -> Option<(u64, String)> {
    let exe = std::env::current_exe().ok()?.with_file_name("broker");
    let out = Command::new(&exe).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let hwm = text
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM_kB "))
        .and_then(|v| v.trim().parse().ok())?;
    Some((hwm, text.trim().to_string()))
}

fn main() {
    let users = arg("--users", 100_000);
    let nreq = arg("--requests", 10_000);
    let rounds = arg("--rounds", 300);
    let dir = PathBuf::from(
        std::env::var("CEDAR_COMPARE_DIR").unwrap_or_else(|_| "target/compare".into()),
    );
    std::fs::create_dir_all(&dir).expect("output directory");
    println!("workload: support desk, {users} users, {nreq} distinct requests");

    // ---- inputs, generated before any timing ----
    let policy = support_desk::policy();
    let data = support_desk::data(users);
    let entities = cedar_side::entities_json(users);

    // ---- build ----
    let bundle_path = dir.join("desk.ztpb");
    let mut builds = Vec::new();
    let mut built = None;
    for _ in 0..3 {
        let b = ztpol_side::build(&policy, &data, &bundle_path);
        builds.push(b.time);
        built = Some(b);
    }
    let built = built.expect("built");
    let build_time = *builds.iter().min().expect("three builds");
    let facts_per_s = built.input_facts as f64 / build_time.as_secs_f64();
    // Cedar's counterpart: parsing its policies and entities into memory.
    let t0 = Instant::now();
    let cedar = cedar_side::Cedar::load(cedar_side::POLICIES, &entities);
    let cedar_load = t0.elapsed();
    std::fs::write(dir.join("desk.cedar"), cedar_side::POLICIES).expect("write");
    std::fs::write(dir.join("entities.json"), &entities).expect("write");

    // ---- size ----
    let bytes = built.bytes.len();
    let cedar_bytes = entities.len() + cedar_side::POLICIES.len();

    // ---- load ----
    let keys = ztpol_side::key_set();
    let mut loads = Vec::new();
    for _ in 0..7 {
        let t0 = Instant::now();
        let b = ztpol_side::load(&built.bytes, &keys);
        loads.push(t0.elapsed().as_secs_f64() * 1e3);
        black_box(&b);
    }
    let load_ms = median(loads);
    let bundle = ztpol_side::load(&built.bytes, &keys);
    let slots = ztpol_side::Slots::of(&bundle);

    // ---- decisions ----
    let mix = ztpol_side::mix(users, nreq);
    let docs = support_desk::request_mix(users, nreq);
    let cedar_reqs: Vec<_> = docs.iter().map(cedar_side::request).collect();
    let mut agree = 0;
    let mut allows = 0;
    for (p, r) in mix.iter().zip(&cedar_reqs) {
        let a = ztpol_side::decide(&bundle, slots, p);
        allows += usize::from(a);
        agree += usize::from(a == cedar.decide(r));
    }
    // The bundle against ztpol's own staged decider on the JSON requests.
    let mut staged_agree = 0;
    for (p, d) in mix.iter().zip(&docs) {
        let r = bundle.respond(d, ztpol::decide::Auth::None);
        staged_agree +=
            usize::from(r["decision"].as_bool() == Some(ztpol_side::decide(&bundle, slots, p)));
    }
    let z_ns = per_call(&mix, 1000, rounds, |p| {
        ztpol_side::decide(&bundle, slots, p)
    });
    let c_ns = per_call(&cedar_reqs, 100, rounds.min(200), |r| cedar.decide(r));
    // The same, over the mix's first 100 requests only: their principals stay in the caches,
    // so this is the decision's own work without the machine's memory latency.
    const CACHED: usize = 100;
    let z_cached = per_call(&mix[..CACHED.min(nreq)], 1000, rounds, |p| {
        ztpol_side::decide(&bundle, slots, p)
    });
    let c_cached = per_call(&cedar_reqs[..CACHED.min(nreq)], 100, rounds.min(200), |r| {
        cedar.decide(r)
    });

    // ---- broker RSS ----
    let bp = bundle_path.display().to_string();
    let jwks_path = dir.join("jwks.json");
    let jwk = ztpol_side::signing_key().public_jwk().expect("jwk");
    std::fs::write(&jwks_path, serde_json::json!({"keys": [jwk]}).to_string()).expect("write");
    let jp = jwks_path.display().to_string();
    let n = nreq.to_string();
    let u = users.to_string();
    let z_rss = broker_rss(&["ztpol", &bp, &jp, &u, &n]);
    let cp = dir.join("desk.cedar").display().to_string();
    let ep = dir.join("entities.json").display().to_string();
    let c_rss = broker_rss(&["cedar", &cp, &ep, &u, &n]);

    // The loaded string table of 100,000 users is about 7.5 MiB (312,500 slots of 24 bytes).
    let latency = dependent_read_ns(8 << 20);
    println!("agreement: ztpol and Cedar agree on {agree}/{nreq} requests ({allows} allowed); fast path and staged decider on {staged_agree}/{nreq}");
    println!();
    println!("| figure | ztpol | Cedar | target | met |");
    println!("|---|---|---|---|---|");
    let row = |name: &str, z: String, c: String, target: String, ok: bool| {
        println!(
            "| {name} | {z} | {c} | {target} | {} |",
            if ok { "yes" } else { "NO" }
        );
    };
    row(
        "decision, median ns",
        format!("{z_ns:.0}"),
        format!("{c_ns:.0}"),
        format!("<= 0.02x Cedar ({:.0}) and < 150", c_ns * 0.02),
        z_ns <= c_ns * 0.02 && z_ns < 150.0,
    );
    row(
        "ratio ztpol / Cedar",
        format!("{:.4}x", z_ns / c_ns),
        "1x".into(),
        "<= 0.02x".into(),
        z_ns / c_ns <= 0.02,
    );
    row(
        "bytes per user",
        format!(
            "{:.1} ({bytes} bytes signed bundle)",
            bytes as f64 / users as f64
        ),
        format!(
            "{:.1} ({cedar_bytes} bytes entities JSON + policies)",
            cedar_bytes as f64 / users as f64
        ),
        "<= 32".into(),
        (bytes as f64 / users as f64) <= 32.0,
    );
    row(
        "load, ms (per 100k users)",
        format!("{load_ms:.2} (digest + Ed25519 signature + decode + tables)"),
        format!("{:.1} (parse policies + entities JSON)", ms(cedar_load)),
        "< 10".into(),
        load_ms * 100_000.0 / (users as f64) < 10.0,
    );
    row(
        "build, input facts/s",
        format!(
            "{:.2}M ({} facts in {:.0} ms, text to signed file)",
            facts_per_s / 1e6,
            built.input_facts,
            ms(build_time)
        ),
        format!("n/a (no compile step; its load: {:.0} ms)", ms(cedar_load)),
        ">= 1M".into(),
        facts_per_s >= 1e6,
    );
    let rss = |r: &Option<(u64, String)>| {
        r.as_ref().map_or("failed".to_string(), |(k, _)| {
            format!("{:.1} MiB", *k as f64 / 1024.0)
        })
    };
    row(
        "broker peak RSS",
        rss(&z_rss),
        rss(&c_rss),
        "< 50 MiB".into(),
        z_rss
            .as_ref()
            .is_some_and(|(k, _)| (*k as f64) / 1024.0 < 50.0),
    );
    println!(
        "| decision, median ns, {CACHED} requests (principals cached) | {z_cached:.0} | {c_cached:.0} | (the decision's own work) | - |"
    );
    println!(
        "memory: one read at a random place in 8 MiB, after the previous read, takes {latency:.0} ns on this machine (a decision reads two principals' slots at such places, together)"
    );
    for (name, r) in [("ztpol broker", &z_rss), ("cedar broker", &c_rss)] {
        if let Some((_, text)) = r {
            println!("{name}: {}", text.replace('\n', "; "));
        }
    }
}
