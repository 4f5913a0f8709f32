//! Every example directory is a test: each `requests/<name>.json` is decided with
//! `ztpol decide examples/<dir> --request FILE --format json`, and the exit code and response
//! must equal `expected/<name>.json` (`{"exit": N, "response": ...}`; the response's
//! `policy_hash` is left out, as it changes with every edit of the example).
//!
//! An example may also hold `tokens/NAME.jwt`: decided with the body `tokens/NAME.json` under that
//! token (`--token`, verified with `--key tokens/issuer.pub.pem`), expected in
//! `tokens/expected/NAME.json`.
//!
//! `ZTPOL_BLESS=1 cargo test --test examples` rewrites the expected files; review the diff.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Examples are named relative to the crate root, as a user would type them, so that file names
/// in responses do not depend on where the checkout lives.
fn examples_dir() -> PathBuf {
    PathBuf::from("examples")
}

fn in_crate(p: &Path) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn strip_hash(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("policy_hash");
            for (_, x) in map.iter_mut() {
                strip_hash(x);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_hash),
        _ => {}
    }
}

/// One request of an example: the `decide` arguments after the example directory, and the file
/// holding its expected exit code and response.
struct Case {
    label: String,
    args: Vec<PathBuf>,
    expected: PathBuf,
}

fn run_case(dir: &Path, case: &Case) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ztpol"))
        .arg("decide")
        .arg(dir)
        .args(&case.args)
        .args(["--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the ztpol binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut response: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|_| {
        panic!(
            "{}: stdout is not one JSON document:\n{stdout}\nstderr:\n{}",
            case.label,
            String::from_utf8_lossy(&out.stderr)
        )
    });
    strip_hash(&mut response);
    serde_json::json!({ "exit": out.status.code(), "response": response })
}

/// The files of `dir` (relative to the crate root) with extension `ext`, sorted.
fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = match std::fs::read_dir(in_crate(dir)) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| dir.join(e.file_name()))
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect(),
        Err(_) => Vec::new(),
    };
    found.sort();
    found
}

/// The cases of one example: every `requests/NAME.json`, and every `tokens/NAME.jwt` decided
/// with the request body `tokens/NAME.json` under that token, verified with the example's test
/// key `tokens/issuer.pub.pem`.
fn cases(dir: &Path) -> Vec<Case> {
    let name = dir.file_name().expect("a dir name").to_string_lossy();
    let mut out = Vec::new();
    for request in files(&dir.join("requests"), "json") {
        let file = request.file_name().expect("a file name").to_owned();
        out.push(Case {
            label: format!("{name}/{}", file.to_string_lossy()),
            expected: dir.join("expected").join(&file),
            args: vec!["--request".into(), request],
        });
    }
    let tokens = dir.join("tokens");
    for token in files(&tokens, "jwt") {
        let body = token.with_extension("json");
        let file = body.file_name().expect("a file name").to_owned();
        out.push(Case {
            label: format!(
                "{name}/tokens/{}",
                token.file_name().expect("a file name").to_string_lossy()
            ),
            expected: tokens.join("expected").join(&file),
            args: vec![
                "--request".into(),
                body,
                "--token".into(),
                token,
                "--key".into(),
                tokens.join("issuer.pub.pem"),
            ],
        });
    }
    out
}

#[test]
fn examples_decide_as_expected() {
    let bless = std::env::var_os("ZTPOL_BLESS").is_some();
    let mut passed = 0;
    let mut failed = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(in_crate(&examples_dir()))
        .expect("examples/ exists")
        .filter_map(Result::ok)
        .map(|e| examples_dir().join(e.file_name()))
        .filter(|p| in_crate(p).join("requests").is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no example with a requests/ directory");
    for dir in dirs {
        for case in cases(&dir) {
            let expected_path = in_crate(&case.expected);
            let actual = run_case(&dir, &case);
            let label = &case.label;
            if bless {
                let parent = expected_path
                    .parent()
                    .expect("expected files have a directory");
                std::fs::create_dir_all(parent).expect("expected/ can be created");
                let text = serde_json::to_string_pretty(&actual).expect("JSON serializes") + "\n";
                std::fs::write(&expected_path, text).expect("expected file can be written");
            }
            let expected: Option<Value> = std::fs::read_to_string(&expected_path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok());
            match expected {
                Some(e) if e == actual => {
                    println!("pass {label}");
                    passed += 1;
                }
                Some(e) => {
                    println!("FAIL {label}\n  expected: {e}\n  actual:   {actual}");
                    failed.push(label.clone());
                }
                None => {
                    println!("FAIL {label}: no readable {}", expected_path.display());
                    failed.push(label.clone());
                }
            }
        }
    }
    println!("{passed} passed, {} failed", failed.len());
    assert!(failed.is_empty(), "failing example requests: {failed:?}");
}
