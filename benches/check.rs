//! `ztpol check` of a generated policy of 10,000 rules (parse, resolve, type-check, stratify,
//! lower). Target: under 1 s.
//!
//! cargo bench --bench check

use criterion::{criterion_group, criterion_main, Criterion};

/// A policy of `n` rules over `n / 10` relations: chains of joins, recursion, negation of
/// earlier relations, comparisons, and policy statements.
fn generate(n: usize) -> String {
    let rels = (n / 10).max(2);
    let mut s = String::from(
        "use std::roles;\nrel edge(src: string, dst: string)\nrel level(name: string, n: int)\n",
    );
    for r in 0..rels {
        s.push_str(&format!("rel r{r}(a: string, b: string)\n"));
    }
    s.push_str("edge(\"a\", \"b\").\nlevel(\"a\", 3).\n");
    let mut written = 0;
    let mut i = 0;
    while written < n {
        let r = i % rels;
        let line = match i % 5 {
            0 => format!("r{r}(X, Y) :- edge(X, Y).\n"),
            1 => format!("r{r}(X, Z) :- r{r}(X, Y), edge(Y, Z).\n"),
            2 if r > 0 => format!("r{r}(X, Y) :- r{}(X, Y), not r{}(Y, X).\n", r - 1, r - 1),
            3 => format!("r{r}(X, Y) :- edge(X, Y), level(X, N), N > {}.\n", i % 7),
            _ => format!(
                "@id(\"p{i}\")\npermit role \"role{r}\" to svc{r}.act{i} on kind{r} when action.amount <= {i} and resource.region in [\"US\", \"EU\"];\n"
            ),
        };
        s.push_str(&line);
        written += 1;
        i += 1;
    }
    s
}

fn bench(c: &mut Criterion) {
    let text = generate(10_000);
    let compiled = ztpol::load::compile_str("generated.ztp", &text);
    assert!(
        !compiled.has_errors(),
        "the generated policy must check cleanly: {:?}",
        compiled.diagnostics.iter().find(|d| d.is_error())
    );
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("10k_rules", |b| {
        b.iter(|| ztpol::load::compile_str("generated.ztp", &text))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
