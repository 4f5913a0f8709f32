//! Parsing each item from a slice that stops at a likely item boundary gives exactly the result
//! of parsing it from the whole rest of the file, on valid and on broken input.

use super::parse_module_sliced;
use crate::source::FileId;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const CORPUS: &[&str] = &[
    include_str!("../../../tests/parse/good/core.ztp"),
    include_str!("../../../tests/parse/good/policy.ztp"),
    include_str!("../../../tests/parse/good/conditions.ztp"),
    include_str!("../../../tests/parse/good/layout.ztp"),
    include_str!("../../../stdlib/roles.ztp"),
];

const INSERTS: &[&str] = &[
    "(",
    ")",
    ".",
    ".\n",
    ",",
    "\"",
    ";",
    "=",
    "[",
    "]",
    "\n",
    "/*",
    "*/",
    "//",
    ":-",
    "\nedge(",
    "\npermit ",
    "\nrel ",
    "\n@id(",
    "not ",
    "and ",
];

fn mutate(rng: &mut StdRng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..rng.random_range(1..=3) {
        let len = chars.len();
        match rng.random_range(0..3) {
            0 if len > 0 => {
                let at = rng.random_range(0..len);
                chars.remove(at);
            }
            1 if len > 1 => {
                let (a, b) = (rng.random_range(0..len), rng.random_range(0..len));
                chars.swap(a, b);
            }
            _ => {
                let at = rng.random_range(0..=len);
                let insert = INSERTS[rng.random_range(0..INSERTS.len())];
                chars.splice(at..at, insert.chars());
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn slicing_never_changes_the_result() {
    let mut rng = StdRng::seed_from_u64(20261126);
    let mut inputs: Vec<String> = CORPUS.iter().map(|s| s.to_string()).collect();
    for _ in 0..1000 {
        let base = CORPUS[rng.random_range(0..CORPUS.len())];
        inputs.push(mutate(&mut rng, base));
    }
    let mut with_errors = 0;
    for text in &inputs {
        let sliced = parse_module_sliced(FileId(0), text, true);
        let whole = parse_module_sliced(FileId(0), text, false);
        assert_eq!(sliced, whole, "slicing changed the result on:\n{text}");
        with_errors += usize::from(!sliced.1.is_empty());
    }
    assert!(
        with_errors > 600,
        "the mutants should mostly be broken: {with_errors}"
    );
}
