//! A minimal enforcement point: loads a bundle (or Cedar's policies and entities), decides a
//! stream of support-desk refund requests, and reports its peak resident set size.
//!
//! broker ztpol BUNDLE JWKS USERS N
//! broker cedar POLICIES ENTITIES USERS N

#[path = "../cedar_side.rs"]
#[allow(dead_code)]
mod cedar_side;
#[path = "../ztpol_side.rs"]
#[allow(dead_code)]
mod ztpol_side;

use std::time::Instant;

fn hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: broker ztpol|cedar FILE FILE USERS N");
        std::process::exit(1);
    }
    let users: usize = args[4].parse().expect("USERS");
    let n: usize = args[5].parse().expect("N");
    let t0 = Instant::now();
    let mut allowed = 0;
    match args[1].as_str() {
        "ztpol" => {
            let bytes = std::fs::read(&args[2]).expect("bundle");
            let keys =
                ztpol::bundle::KeySet::from_jwks(&std::fs::read_to_string(&args[3]).expect("jwks"))
                    .expect("jwks");
            let bundle = ztpol::bundle::Bundle::load(&bytes, ztpol::bundle::Trust::keys(&keys))
                .expect("load");
            drop(bytes);
            let loaded = t0.elapsed();
            let slots = ztpol_side::Slots::of(&bundle);
            for p in ztpol_side::mix(users, n) {
                allowed += usize::from(ztpol_side::decide(&bundle, slots, &p));
            }
            println!("loaded_ms {:.2}", loaded.as_secs_f64() * 1e3);
        }
        "cedar" => {
            let policies = std::fs::read_to_string(&args[2]).expect("policies");
            let entities = std::fs::read_to_string(&args[3]).expect("entities");
            let cedar = cedar_side::Cedar::load(&policies, &entities);
            drop(entities);
            let loaded = t0.elapsed();
            for j in 0..n {
                let i = (j * 7919) % users;
                let amount = [50, 150, 250, 600, 1200][j % 5];
                let region = ["US", "EU", "APAC"][j % 3];
                let doc = serde_json::json!({
                    "subject": {"type": "agent", "id": format!("a{i}-0")},
                    "action": {"name": "orders.refund", "properties": {"amount": amount}},
                    "resource": {"type": "order", "id": format!("o-{i}"), "properties": {"region": region}},
                    "context": {"on_behalf_of": [{"type": "user", "id": format!("u{i}")}], "session": {"tainted": false}}
                });
                allowed += usize::from(cedar.decide(&cedar_side::request(&doc)));
            }
            println!("loaded_ms {:.2}", loaded.as_secs_f64() * 1e3);
        }
        other => {
            eprintln!("unknown engine `{other}`");
            std::process::exit(1);
        }
    }
    println!("decided {n} allowed {allowed}");
    println!("VmHWM_kB {}", hwm_kb());
}
