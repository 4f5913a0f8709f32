//! The AuthZEN interop "Todo" vectors against `examples/authzen-todo`.
//!
//! Every single evaluation of `decisions-authorization-api-1_0-02.json` and
//! `route_decisions.json` goes through `ztpol decide examples/authzen-todo --request -` (exit 0
//! allow, 2 deny; the response's `decision` must agree), and every batch through
//! `--requests -` with the AuthZEN `evaluations` body. Every decision must match the expected one.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

const POLICY_DIR: &str = "examples/authzen-todo";

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Exit code, stdout and stderr of `ztpol decide POLICY_DIR FLAG -` with `input` on stdin.
fn run_decide(flag: &str, input: &str) -> Result<(Option<i32>, String, String), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ztpol"))
        .current_dir(crate_root())
        .args(["decide", POLICY_DIR, flag, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ztpol: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A ztpol that exits without reading its input closes the pipe; its exit code and
        // output then tell what happened, so only other write errors are reported here.
        if let Err(e) = stdin.write_all(input.as_bytes()) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                return Err(format!("cannot write the request: {e}"));
            }
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|e| format!("ztpol did not finish: {e}"))?;
    Ok((
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    ))
}

fn first_lines(text: &str) -> String {
    text.lines().take(6).collect::<Vec<_>>().join(" | ")
}

/// The decision of one request, checked against the exit code.
fn decide_one(request: &Value) -> Result<bool, String> {
    let (code, stdout, stderr) = run_decide("--request", &request.to_string())?;
    let response: Value = serde_json::from_str(stdout.trim()).map_err(|e| {
        format!(
            "response is not JSON ({e}); exit {code:?}; stdout `{}`; stderr `{}`",
            first_lines(&stdout),
            first_lines(&stderr)
        )
    })?;
    let decision = response
        .get("decision")
        .and_then(Value::as_bool)
        .ok_or_else(|| format!("response has no boolean `decision`: {response}"))?;
    let expected_code = if decision { 0 } else { 2 };
    if code != Some(expected_code) {
        return Err(format!(
            "decision {decision} but exit code {code:?} (expected {expected_code}); stderr `{}`",
            first_lines(&stderr)
        ));
    }
    Ok(decision)
}

/// The decisions of one AuthZEN batch (`evaluations`), in order.
fn decide_batch(request: &Value) -> Result<Vec<bool>, String> {
    let (code, stdout, stderr) = run_decide("--requests", &request.to_string())?;
    if code != Some(0) {
        return Err(format!(
            "exit code {code:?} (expected 0); stderr `{}`",
            first_lines(&stderr)
        ));
    }
    let response: Value = serde_json::from_str(stdout.trim()).map_err(|e| {
        format!(
            "response is not JSON ({e}); stdout `{}`",
            first_lines(&stdout)
        )
    })?;
    let items = response
        .get("evaluations")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("response has no `evaluations` array: {response}"))?;
    items
        .iter()
        .map(|item| {
            item.get("decision")
                .and_then(Value::as_bool)
                .ok_or_else(|| format!("batch item has no boolean `decision`: {item}"))
        })
        .collect()
}

/// A short label for a request: subject (by email when the directory knows it), action, resource.
fn label(request: &Value, emails: &BTreeMap<String, String>) -> String {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("?").to_string();
    let subject_id = text(request.pointer("/subject/id"));
    let subject = emails.get(&subject_id).cloned().unwrap_or(subject_id);
    let mut out = format!("{} {}", subject, text(request.pointer("/action/name")));
    if let Some(ty) = request.pointer("/resource/type").and_then(Value::as_str) {
        out.push(' ');
        out.push_str(ty);
    }
    if let Some(id) = request.pointer("/resource/id").and_then(Value::as_str) {
        out.push(':');
        out.push_str(id);
    }
    if let Some(owner) = request
        .pointer("/resource/properties/ownerID")
        .and_then(Value::as_str)
    {
        out.push_str(&format!(" (owner {owner})"));
    }
    out
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read `{}`: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("`{}` is not JSON: {e}", path.display()))
}

/// The `[{request, expected}]` array under `key`, or an empty list when absent.
fn vectors<'a>(doc: &'a Value, key: &str) -> &'a [Value] {
    doc.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
}

impl Tally {
    fn record(&mut self, name: &str, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.passed += 1;
                println!("pass {name}");
            }
            Err(problem) => {
                self.failed += 1;
                println!("FAIL {name}: {problem}");
            }
        }
    }
}

fn check_single(vector: &Value) -> Result<(), String> {
    let request = vector.get("request").ok_or("vector has no `request`")?;
    let expected = vector
        .get("expected")
        .and_then(Value::as_bool)
        .ok_or("vector has no boolean `expected`")?;
    let actual = decide_one(request)?;
    if actual == expected {
        Ok(())
    } else {
        Err(format!("expected {expected}, got {actual}"))
    }
}

fn check_batch(vector: &Value) -> Result<(), String> {
    let request = vector.get("request").ok_or("vector has no `request`")?;
    let expected: Vec<bool> = vector
        .get("expected")
        .and_then(Value::as_array)
        .ok_or("vector has no `expected` array")?
        .iter()
        .map(|item| item.get("decision").and_then(Value::as_bool))
        .collect::<Option<_>>()
        .ok_or("an `expected` item has no boolean `decision`")?;
    let actual = decide_batch(request)?;
    if actual == expected {
        Ok(())
    } else {
        Err(format!("expected {expected:?}, got {actual:?}"))
    }
}

#[test]
fn authzen_todo_vectors() {
    let shared = crate_root().join("../shared/conformance/authzen-todo");
    if !shared.is_dir() {
        if std::env::var_os("CI").is_some() {
            panic!("`{}` not found (required under CI)", shared.display());
        }
        println!("skipped: ../shared/conformance not found");
        return;
    }

    let directory = read_json(&shared.join("users_pip.json"));
    let emails: BTreeMap<String, String> = directory
        .as_object()
        .map(|users| {
            users
                .iter()
                .filter_map(|(pid, user)| {
                    let email = user.get("email")?.as_str()?;
                    Some((pid.clone(), email.to_string()))
                })
                .collect()
        })
        .unwrap_or_default();

    let mut tally = Tally::default();
    let mut singles = 0;
    let mut batches = 0;
    for file in [
        "decisions-authorization-api-1_0-02.json",
        "route_decisions.json",
    ] {
        let doc = read_json(&shared.join(file));
        let stem = file.trim_end_matches(".json");
        for (i, vector) in vectors(&doc, "evaluation").iter().enumerate() {
            singles += 1;
            let name = match vector.get("request") {
                Some(request) => format!("{stem}[{i}] {}", label(request, &emails)),
                None => format!("{stem}[{i}]"),
            };
            tally.record(&name, check_single(vector));
        }
        for (i, vector) in vectors(&doc, "evaluations").iter().enumerate() {
            batches += 1;
            let name = match vector.get("request") {
                Some(request) => format!("{stem} batch[{i}] {}", label(request, &emails)),
                None => format!("{stem} batch[{i}]"),
            };
            tally.record(&name, check_batch(vector));
        }
    }
    println!("{} passed, {} failed", tally.passed, tally.failed);
    assert_eq!(
        (singles, batches),
        (65, 3),
        "the vector files changed: expected 40 + 25 single evaluations and 3 batches"
    );
    assert_eq!(tally.failed, 0, "{} AuthZEN vectors failed", tally.failed);
}
