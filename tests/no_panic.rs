//! Parsing and checking never panic: 10,000 deterministic random mutations of every `.ztp` file
//! under `tests/` and every example of docs/LANGUAGE.md go through `parse_module`,
//! `parse_atom`, `check::check` and the diagnostic renderer.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use ztpol::source::{FileId, SourceFile, SourceMap};
use ztpol::syntax::{parse_atom, parse_module};

/// How many mutants, and the seed; `ZTPOL_MUTANTS` and `ZTPOL_SEED` override them for a longer
/// local run (`ZTPOL_MUTANTS=200000 ZTPOL_SEED=7 cargo test --release --test no_panic`).
const MUTANTS: usize = 10_000;
const SEED: u64 = 0x7a70_6f6c;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Characters and fragments that matter to the grammar, inserted at random.
const INSERTS: &[&str] = &[
    "(",
    ")",
    ".",
    ",",
    "\"",
    ":",
    "-",
    ";",
    "=",
    "<",
    ">",
    "[",
    "]",
    "_",
    "*",
    "/",
    "\\",
    "@",
    "!",
    "&",
    "|",
    "?",
    "\n",
    " ",
    ":-",
    "//",
    "/*",
    "*/",
    "not ",
    "and ",
    "or ",
    "when ",
    "if ",
    "to ",
    "on ",
    "in ",
    "rel ",
    "use ",
    "data ",
    "permit ",
    "forbid ",
    "role ",
    "X",
    "_x",
    "0",
    "-9",
    "99999999999999999999",
    "true",
    "\"s\"",
    "é",
    "\u{FEFF}",
    "\t",
];

fn corpus() -> Vec<String> {
    let mut texts = Vec::new();
    collect(Path::new("tests"), &mut texts);
    let doc = std::fs::read_to_string("docs/LANGUAGE.md").expect("docs/LANGUAGE.md exists");
    let mut block: Option<String> = None;
    for line in doc.lines() {
        match &mut block {
            None if line.trim_start() == "```ztp" => block = Some(String::new()),
            None => {}
            Some(_) if line.trim_start() == "```" => texts.extend(block.take()),
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
        }
    }
    texts
}

fn collect(dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "ztp") {
            out.push(std::fs::read_to_string(&path).expect("readable .ztp file"));
        }
    }
}

/// One to four random edits of `text`, on characters so that the result stays UTF-8.
fn mutate(rng: &mut StdRng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..rng.random_range(1..=4) {
        let len = chars.len();
        match rng.random_range(0..6) {
            0 if len > 0 => {
                let at = rng.random_range(0..len);
                let n = rng.random_range(1..=3.min(len - at));
                chars.drain(at..at + n);
            }
            1 => {
                let at = rng.random_range(0..=len);
                let insert = INSERTS[rng.random_range(0..INSERTS.len())];
                chars.splice(at..at, insert.chars());
            }
            2 if len > 1 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(0..len);
                chars.swap(a, b);
            }
            3 if len > 0 => chars.truncate(rng.random_range(0..len)),
            4 if len > 0 => {
                // Duplicate a slice somewhere else: repeats items, nests brackets.
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 40));
                let slice: Vec<char> = chars[a..b].to_vec();
                let at = rng.random_range(0..=len);
                chars.splice(at..at, slice);
            }
            _ => {
                let insert = INSERTS[rng.random_range(0..INSERTS.len())];
                let at = rng.random_range(0..=len);
                let times = rng.random_range(1..=50);
                chars.splice(at..at, insert.repeat(times).chars().collect::<Vec<_>>());
            }
        }
    }
    chars.into_iter().collect()
}

/// The whole front end on one input: parse, parse a goal, check, and (when `render`, which is
/// slow in a debug build) render the diagnostics.
fn run(text: &str, render: bool) {
    let mut sources = SourceMap::new();
    let file = sources.add(SourceFile::new("mutant.ztp", None, text));
    let (module, mut diags) = parse_module(file, text);
    for d in &diags {
        for label in &d.labels {
            assert!(label.span.start <= label.span.end, "reversed span: {d:?}");
            assert!(
                label.span.end as usize <= text.len(),
                "span past the end: {d:?}"
            );
            assert!(text.is_char_boundary(label.span.start as usize), "{d:?}");
            assert!(text.is_char_boundary(label.span.end as usize), "{d:?}");
        }
    }
    let first_line = text.lines().next().unwrap_or("");
    let _ = parse_atom(FileId(0), first_line);
    let out = ztpol::check::check(sources.clone(), std::slice::from_ref(&module));
    diags.extend(out.diagnostics);
    if render {
        let _ = ztpol::render::render_human(&diags, &sources);
    }
}

#[test]
fn mutated_sources_never_panic() {
    let corpus = corpus();
    assert!(
        corpus.len() >= 10,
        "the corpus is too small: {}",
        corpus.len()
    );
    let mutants = env_or("ZTPOL_MUTANTS", MUTANTS);
    let mut rng = StdRng::seed_from_u64(env_or("ZTPOL_SEED", SEED));
    let mut panics = Vec::new();
    // Silence the default hook's output for the panics this test catches and reports.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for n in 0..mutants {
        let base = &corpus[rng.random_range(0..corpus.len())];
        let text = mutate(&mut rng, base);
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| run(&text, n % 10 == 0))) {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panics.push(format!("mutant {n}: {msg}\n--- input ---\n{text}\n---"));
        }
    }
    std::panic::set_hook(hook);
    assert!(
        panics.is_empty(),
        "{} of {mutants} inputs panicked; the first:\n{}",
        panics.len(),
        panics[0]
    );
}
