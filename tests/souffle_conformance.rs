//! The Soufflé conformance programs: every test directory of `../shared/conformance/souffle` is
//! run through `ztpol query PROGRAM --facts DIR --out TMP`, and every expected relation must come
//! out with exactly the expected rows (order irrelevant; integer columns compare by value, so
//! `049` equals `49`).
//!
//! The programs live in `tests/conformance/souffle/<test>.ztp`. Set `ZTPOL_SOUFFLE_ONLY` to a
//! comma-separated list of test names to run only those, and `ZTPOL_SOUFFLE_ENGINE=naive` to
//! evaluate with the reference engine instead of the default one (`--engine naive`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use ztpol::source::FileId;
use ztpol::syntax::ast::{Item, Type};
use ztpol::syntax::parse_module;

/// How many missing or extra rows a failure line shows.
const SHOWN_ROWS: usize = 5;

type Row = Vec<String>;

fn crate_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The test directories under `root`, sorted by name.
fn test_names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(root)
        .unwrap_or_else(|e| panic!("cannot list `{}`: {e}", root.display()))
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_dir())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

/// Programs in `tests/conformance/souffle` without a test directory of the same name.
fn orphan_programs(names: &[String]) -> Vec<String> {
    let dir = crate_root().join("tests/conformance/souffle");
    let mut orphans: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list `{}`: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "ztp"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_string))
        .filter(|stem| !names.contains(stem))
        .map(|stem| format!("{stem}.ztp"))
        .collect();
    orphans.sort();
    orphans
}

/// The declared column types of every relation of a program.
fn column_types(program: &Path) -> Result<BTreeMap<String, Vec<Type>>, String> {
    let text = fs::read_to_string(program)
        .map_err(|e| format!("cannot read `{}`: {e}", program.display()))?;
    let (module, diagnostics) = parse_module(FileId(0), &text);
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.message.clone())
        .collect();
    if !errors.is_empty() {
        return Err(format!(
            "`{}` does not parse: {}",
            program.display(),
            errors.join("; ")
        ));
    }
    let mut types = BTreeMap::new();
    for item in &module.items {
        if let Item::Rel(decl) = item {
            let cols = decl.columns.iter().map(|c| c.ty).collect();
            types.insert(decl.name.name.clone(), cols);
        }
    }
    Ok(types)
}

/// One TSV field in canonical form: integers of an `int` column by value, anything else as is.
fn normalize_field(field: &str, ty: Option<Type>) -> String {
    match ty {
        Some(Type::Int) => match field.trim().parse::<i64>() {
            Ok(n) => n.to_string(),
            Err(_) => field.to_string(),
        },
        Some(Type::String) | Some(Type::Bool) | None => field.to_string(),
    }
}

/// The rows of a TSV file (tab-separated, one row per line, empty lines ignored).
fn read_rows(path: &Path, types: &[Type]) -> Result<BTreeSet<Row>, String> {
    let text =
        fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.split('\t')
                .enumerate()
                .map(|(i, field)| normalize_field(field, types.get(i).copied()))
                .collect()
        })
        .collect())
}

fn show(rows: &[&Row]) -> String {
    let mut shown: Vec<String> = rows
        .iter()
        .take(SHOWN_ROWS)
        .map(|r| format!("({})", r.join(", ")))
        .collect();
    if rows.len() > SHOWN_ROWS {
        shown.push(format!("... {} more", rows.len() - SHOWN_ROWS));
    }
    format!("[{}]", shown.join(", "))
}

/// Runs one program and compares its outputs with the expected files. `Err` holds the reasons.
fn run_test(name: &str, conformance: &Path, engine: Option<&str>) -> Result<(), Vec<String>> {
    let root = crate_root();
    let program_rel = format!("tests/conformance/souffle/{name}.ztp");
    let program = root.join(&program_rel);
    if !program.is_file() {
        return Err(vec![format!("no program `{program_rel}`")]);
    }
    let types = column_types(&program).map_err(|e| vec![e])?;
    let out = tempfile::tempdir().map_err(|e| vec![format!("cannot create a temp dir: {e}")])?;
    let test_dir = conformance.join(name);
    let mut command = Command::new(env!("CARGO_BIN_EXE_ztpol"));
    command.current_dir(&root).arg("query");
    if let Some(engine) = engine {
        // The reference engine is slow by design (access1 takes tens of seconds in a debug
        // build), so it gets more time than the default limit.
        command.args(["--engine", engine, "--max-time", "900"]);
    }
    let output = command
        .arg(&program_rel)
        .arg("--facts")
        .arg(test_dir.join("facts"))
        .arg("--out")
        .arg(out.path())
        .output()
        .map_err(|e| vec![format!("cannot run ztpol: {e}")])?;
    if !output.status.success() {
        // Diagnostics go to stdout in the JSON format (the default when it is not a terminal).
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first: Vec<&str> = stdout.lines().chain(stderr.lines()).take(8).collect();
        return Err(vec![format!(
            "ztpol query exited with {}: {}",
            output.status,
            first.join(" | ")
        )]);
    }

    let mut problems = Vec::new();
    let expected_dir = test_dir.join("expected");
    let mut expected_files: Vec<PathBuf> = fs::read_dir(&expected_dir)
        .map_err(|e| vec![format!("cannot list `{}`: {e}", expected_dir.display())])?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|p| p.extension().is_some_and(|ext| ext == "csv"))
        .collect();
    expected_files.sort();
    for expected_file in expected_files {
        let Some(rel) = expected_file.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let Some(rel_types) = types.get(rel) else {
            problems.push(format!("{rel}: not declared in `{program_rel}`"));
            continue;
        };
        let actual_file = out.path().join(format!("{rel}.csv"));
        if !actual_file.is_file() {
            problems.push(format!("{rel}: no output file `{rel}.csv`"));
            continue;
        }
        let expected = read_rows(&expected_file, rel_types);
        let actual = read_rows(&actual_file, rel_types);
        match (expected, actual) {
            (Ok(expected), Ok(actual)) => {
                let missing: Vec<&Row> = expected.difference(&actual).collect();
                let extra: Vec<&Row> = actual.difference(&expected).collect();
                if !missing.is_empty() || !extra.is_empty() {
                    problems.push(format!(
                        "{rel}: missing rows {}, extra rows {}",
                        show(&missing),
                        show(&extra)
                    ));
                }
            }
            (Err(e), _) | (_, Err(e)) => problems.push(format!("{rel}: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[test]
fn souffle_conformance() {
    let conformance = crate_root().join("../shared/conformance/souffle");
    if !conformance.is_dir() {
        if std::env::var_os("CI").is_some() {
            panic!("`{}` not found (required under CI)", conformance.display());
        }
        println!("skipped: ../shared/conformance not found");
        return;
    }
    let only: Option<BTreeSet<String>> = std::env::var("ZTPOL_SOUFFLE_ONLY")
        .ok()
        .map(|s| s.split(',').map(|t| t.trim().to_string()).collect());
    let engine = std::env::var("ZTPOL_SOUFFLE_ENGINE").ok();
    if let Some(engine) = &engine {
        println!("engine: {engine}");
    }

    let names = test_names(&conformance);
    let mut passed = 0;
    let mut failed = 0;
    for program in orphan_programs(&names) {
        failed += 1;
        println!("FAIL {program}: no test directory for this program");
    }
    for name in names {
        if only.as_ref().is_some_and(|only| !only.contains(&name)) {
            continue;
        }
        match run_test(&name, &conformance, engine.as_deref()) {
            Ok(()) => {
                passed += 1;
                println!("pass {name}");
            }
            Err(problems) => {
                failed += 1;
                println!("FAIL {name}: {}", problems.join("; "));
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    assert!(passed + failed > 0, "no conformance test ran");
    assert_eq!(failed, 0, "{failed} conformance programs failed");
}
