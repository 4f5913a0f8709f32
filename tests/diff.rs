//! `ztpol diff`: every edit under `examples/support-desk/changes/` against the support-desk
//! policy, through the CLI, in both output forms (insta snapshots), with the expected summary of
//! each edit checked by hand; `--fail-on` exit codes; `--old-data` / `--new-data`; containment
//! on constraints; the library API on small programs.
//!
//! `cargo insta review` (or `INSTA_UPDATE=always`) accepts new snapshots.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use ztpol::decide::residual::{BoolSet, IntSet, StrSet};
use ztpol::decide::{Constraint, Domain};
use ztpol::diff::{self, ChangeKind, EditKind, Version};

const BASE: &str = "examples/support-desk";

fn changes_dir() -> PathBuf {
    Path::new(BASE).join("changes")
}

fn ztpol(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ztpol"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the ztpol binary runs")
}

fn run_diff(new: &str, format: &str, extra: &[&str]) -> (String, i32) {
    let mut args = vec!["diff", BASE, new, "--format", format];
    args.extend_from_slice(extra);
    let out = ztpol(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{new}: unexpected stderr:\n{stderr}");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

/// The expected counts of every edit: (added, removed, widened, narrowed, changed).
const EXPECTED: [(&str, [usize; 5]); 10] = [
    // alice only: bob's tier2 grant already covers US <= 300, carol is suspended
    ("tier1-cap-300", [0, 0, 1, 0, 0]),
    ("tier2-no-eu", [0, 0, 0, 1, 0]),
    // bob, support-bot and planner (the agents on orders and on other kinds)
    ("forbid-eu-refunds", [0, 0, 0, 5, 0]),
    ("new-agent", [2, 0, 0, 0, 0]),
    ("agent-removed", [0, 2, 0, 0, 0]),
    ("tier2-cap-and-region", [0, 0, 0, 0, 1]),
    ("renamed-ids", [0; 5]),
    ("reordered", [0; 5]),
    ("equivalent-conditions", [0; 5]),
    ("role-inlined", [0; 5]),
];

#[test]
fn every_edit_is_listed_and_tested() {
    let mut dirs: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(changes_dir()))
            .expect("the changes directory exists")
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
    dirs.sort();
    let mut listed: Vec<String> = EXPECTED.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(dirs, listed);
    assert!(dirs.len() >= 8);
}

#[test]
fn support_desk_changes() {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("snapshots/diff");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (name, counts) in EXPECTED {
            let dir = changes_dir().join(name);
            let dir = dir.to_str().expect("the path is UTF-8");
            let (human, code) = run_diff(dir, "human", &[]);
            assert_eq!(code, 0, "{name}: exit code without --fail-on");
            insta::assert_snapshot!(format!("{name}.human"), human);
            let (json, code) = run_diff(dir, "json", &[]);
            assert_eq!(code, 0, "{name}");
            let json: Value = serde_json::from_str(&json).expect("one JSON document");
            let s = &json["summary"];
            let got: Vec<usize> = ["added", "removed", "widened", "narrowed", "changed"]
                .iter()
                .map(|k| s[k].as_u64().unwrap_or(u64::MAX) as usize)
                .collect();
            assert_eq!(got, counts, "{name}: summary {s}");
            let no_change = counts.iter().all(|&c| c == 0);
            assert_eq!(
                human.starts_with("no change in access"),
                no_change,
                "{name}"
            );
            insta::assert_json_snapshot!(format!("{name}.json"), json);
        }
    });
}

#[test]
fn fail_on_exits_4_only_when_matched() {
    let dir = |n: &str| changes_dir().join(n).to_string_lossy().into_owned();
    let cases = [
        ("tier1-cap-300", "widened", 4),
        ("tier1-cap-300", "added", 0),
        ("tier1-cap-300", "any", 4),
        ("tier2-no-eu", "widened", 0),
        ("tier2-no-eu", "any", 4),
        ("new-agent", "added", 4),
        ("new-agent", "widened", 4),
        ("agent-removed", "widened", 0),
        ("agent-removed", "any", 4),
        // allows EU-free refunds up to 1500: more in part, so `widened` fails
        ("tier2-cap-and-region", "widened", 4),
        ("reordered", "any", 0),
        ("equivalent-conditions", "any", 0),
    ];
    for (name, fail_on, want) in cases {
        let (_, code) = run_diff(&dir(name), "json", &["--fail-on", fail_on]);
        assert_eq!(code, want, "{name} --fail-on {fail_on}");
    }
}

#[test]
fn data_only_changes_name_the_statements_whose_instances_changed() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let extra = tmp.path().join("dave.json");
    std::fs::write(
        &extra,
        r#"{"member": [["user:dave", "tier1"]], "suspended": [["user:alice"]]}"#,
    )
    .expect("written");
    let extra = extra.to_string_lossy().into_owned();
    let (out, code) = run_diff(BASE, "json", &["--new-data", &extra, "--fail-on", "added"]);
    assert_eq!(code, 4);
    let json: Value = serde_json::from_str(&out).expect("JSON");
    // dave gains tier1's read, refund and email (on orders and other kinds); alice, now
    // suspended, loses all of hers
    assert_eq!(json["summary"]["added"], 4, "{json}");
    assert_eq!(json["summary"]["removed"], 4, "{json}");
    let mut causes = Vec::new();
    for g in json["groups"].as_array().expect("groups") {
        for c in g["causes"].as_array().expect("causes") {
            causes.push(format!(
                "{} {}",
                c["edit"].as_str().unwrap_or("?"),
                c["new"]["id"].as_str().unwrap_or("?")
            ));
        }
    }
    causes.sort();
    causes.dedup();
    assert_eq!(
        causes,
        [
            "instances suspended",
            "instances tier1-email",
            "instances tier1-read",
            "instances tier1-refund"
        ]
    );
    // the same data on both sides: nothing changes
    let (out, code) = run_diff(
        BASE,
        "json",
        &[
            "--old-data",
            &extra,
            "--new-data",
            &extra,
            "--fail-on",
            "any",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let (out, code) = run_diff(BASE, "json", &["--data", &extra, "--fail-on", "any"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn errors_exit_1() {
    let out = ztpol(&["diff", BASE, "no/such/dir", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stdout.is_empty() || !out.stderr.is_empty());
}

fn compile(text: &str) -> (ztpol::ir::Program, ztpol::eval::Model) {
    let compiled = ztpol::load::compile_str("p.ztp", text);
    let program = compiled
        .program
        .unwrap_or_else(|| panic!("does not compile: {:?}", compiled.diagnostics));
    let input = ztpol::eval::input_model(&program, &[]);
    let model = ztpol::eval::evaluate(&program, &input, &Default::default()).expect("evaluates");
    (program, model)
}

fn diff_texts(old: &str, new: &str) -> diff::Diff {
    let (po, mo) = compile(old);
    let (pn, mn) = compile(new);
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
    .expect("the diff is computed")
}

#[test]
fn families_and_any_compare_unnamed_actions_and_kinds() {
    let old = r#"permit user "a" to orders.*;"#;
    let new = r#"permit user "a" to orders.read;"#;
    let d = diff_texts(old, new);
    let got: Vec<String> = d
        .changes()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c.principal,
                c.set.kind.name(),
                c.set.action,
                c.set.resource
            )
        })
        .collect();
    assert_eq!(got, ["user:a removed other orders.* actions other kinds"]);

    let d = diff_texts(
        r#"permit user "a" to *;"#,
        r#"permit user "a" to * on doc;"#,
    );
    let got: Vec<String> = d
        .changes()
        .map(|c| format!("{} {} {}", c.set.kind.name(), c.set.action, c.set.resource))
        .collect();
    assert_eq!(got, ["removed other actions other kinds"]);
}

#[test]
fn action_names_compared_in_conditions_are_compared_actions() {
    let old = r#"permit user "a" to orders.* when action.name != "orders.delete";"#;
    let new = r#"permit user "a" to orders.*;"#;
    let d = diff_texts(old, new);
    let got: Vec<String> = d
        .changes()
        .map(|c| format!("{} {}", c.set.kind.name(), c.set.action))
        .collect();
    assert_eq!(got, ["added orders.delete"]);
}

#[test]
fn a_flipped_effect_is_a_cause() {
    let old = r#"@id("x") permit user "a" to r when action.n > 5;
                 @id("y") permit user "a" to r;"#;
    let new = r#"@id("x") forbid user "a" to r when action.n > 5;
                 @id("y") permit user "a" to r;"#;
    let d = diff_texts(old, new);
    // `r` on any kind: no kind is named, so one cell
    assert_eq!(d.summary.narrowed, 1, "{d:?}");
    assert!(d
        .groups
        .iter()
        .all(|g| g.causes.len() == 1 && g.causes[0].kind == EditKind::Altered));
}

#[test]
fn bound_values_and_lookups_are_substituted_per_principal() {
    let old = r#"
        rel dept(p: string, d: string)
        rel doc_dept(doc: string, d: string)
        dept("user:a", "eng"). dept("user:b", "ops").
        doc_dept("d1", "eng"). doc_dept("d2", "ops"). doc_dept("d3", "eng").
        permit user U to docs.view on doc when doc_dept(resource.id, D) if dept(U, D);
    "#;
    let new = old.replace(r#"doc_dept("d3", "eng")."#, r#"doc_dept("d3", "ops")."#);
    let d = diff_texts(old, &new);
    let mut got: Vec<String> = d
        .changes()
        .map(|c| {
            format!(
                "{} {} {} -> {}",
                c.principal,
                c.set.kind.name(),
                c.set.old,
                c.set.new
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            r#"user:a narrowed resource.id in ["d1", "d3"] -> resource.id == "d1""#,
            r#"user:b widened resource.id == "d2" -> resource.id in ["d2", "d3"]"#,
        ]
    );
    assert!(d
        .groups
        .iter()
        .all(|g| g.causes[0].kind == EditKind::Instances));
}

#[test]
fn classification() {
    let le = |n| Constraint::atom("a", Domain::Int(IntSet::from_cmp(ztpol::ir::CmpOp::Le, n)));
    let ge = |n| Constraint::atom("a", Domain::Int(IntSet::from_cmp(ztpol::ir::CmpOp::Ge, n)));
    let never = Constraint::never();
    let always = Constraint::always();
    assert_eq!(ChangeKind::classify(&le(5), &le(5)), None);
    assert_eq!(ChangeKind::classify(&never, &never), None);
    assert_eq!(
        ChangeKind::classify(&never, &le(5)),
        Some(ChangeKind::Added)
    );
    assert_eq!(
        ChangeKind::classify(&le(5), &never),
        Some(ChangeKind::Removed)
    );
    assert_eq!(
        ChangeKind::classify(&le(5), &le(6)),
        Some(ChangeKind::Widened)
    );
    assert_eq!(
        ChangeKind::classify(&le(5), &always),
        Some(ChangeKind::Widened)
    );
    assert_eq!(
        ChangeKind::classify(&le(6), &le(5)),
        Some(ChangeKind::Narrowed)
    );
    assert_eq!(
        ChangeKind::classify(&le(6), &ge(5)),
        Some(ChangeKind::Changed)
    );
    // `a <= 5 or a >= 6` is every int
    let split = le(5).or(&ge(6)).expect("small");
    assert_eq!(ChangeKind::classify(&split, &always), None);
}

#[test]
fn implication_across_alternatives() {
    let s = |vals: &[&str]| Domain::Str(StrSet::In(vals.iter().map(|v| v.to_string()).collect()));
    let b = |v: bool| Domain::Bool(BoolSet::point(v));
    let i = |lo, hi| Domain::Int(IntSet::from_intervals(vec![(lo, hi)]));
    let alt = |pairs: Vec<(&str, Domain)>| -> ztpol::decide::residual::Alternative {
        pairs.into_iter().map(|(k, d)| (k.to_string(), d)).collect()
    };
    // (x in [A] and t) or (x in [B]) or (not t)  covers  x in [A, B]
    let cover = Constraint::from_alternatives(vec![
        alt(vec![("x", s(&["A"])), ("t", b(true))]),
        alt(vec![("x", s(&["B"]))]),
        alt(vec![("t", b(false))]),
    ])
    .expect("small");
    let target = Constraint::atom("x", s(&["A", "B"]));
    assert!(target.implies(&cover));
    assert!(!cover.implies(&target));
    // n in 0..=10 is covered by n in 0..=4 or n in 5..=10 with y, and n >= 5 without
    let pieces = Constraint::from_alternatives(vec![
        alt(vec![("n", i(0, 4))]),
        alt(vec![("n", i(5, 10)), ("y", b(true))]),
        alt(vec![("n", i(5, 20)), ("y", b(false))]),
    ])
    .expect("small");
    assert!(Constraint::atom("n", i(0, 10)).implies(&pieces));
    assert!(!Constraint::atom("n", i(0, 11)).implies(
        &Constraint::from_alternatives(
            vec![alt(vec![("n", i(0, 4))]), alt(vec![("n", i(5, 10))]),]
        )
        .expect("small")
    ));
    assert!(Constraint::never().implies(&Constraint::never()));
    assert!(!Constraint::always().implies(&pieces));
}

#[test]
fn implication_agrees_with_enumeration() {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    // Domains built from constants 0..=10 and strings A, B, C: the grid below holds one value of
    // every class of values they can tell apart (Z stands for every other string).
    let ints: Vec<i64> = (-2..=12).collect();
    let strs = ["A", "B", "C", "Z"];
    let mut rng = StdRng::seed_from_u64(7);
    let random_constraint = |rng: &mut StdRng| -> Constraint {
        let alts = (0..rng.random_range(0..4))
            .map(|_| {
                let mut alt = ztpol::decide::residual::Alternative::new();
                if rng.random_bool(0.6) {
                    let lo = rng.random_range(0..=10);
                    let hi = rng.random_range(lo..=10);
                    let mut iv = vec![(lo, hi)];
                    if rng.random_bool(0.3) {
                        iv.push((i64::MIN, rng.random_range(-1..=3)));
                    }
                    alt.insert("x".into(), Domain::Int(IntSet::from_intervals(iv)));
                }
                if rng.random_bool(0.6) {
                    let set = ["A", "B", "C"]
                        .iter()
                        .filter(|_| rng.random_bool(0.5))
                        .map(|s| s.to_string())
                        .collect();
                    let d = if rng.random_bool(0.5) {
                        StrSet::In(set)
                    } else {
                        StrSet::NotIn(set)
                    };
                    alt.insert("s".into(), Domain::Str(d));
                }
                if rng.random_bool(0.4) {
                    alt.insert(
                        "b".into(),
                        Domain::Bool(BoolSet::point(rng.random_bool(0.5))),
                    );
                }
                alt
            })
            .collect();
        Constraint::from_alternatives(alts).expect("small")
    };
    let mut checked = (0, 0);
    for _ in 0..2000 {
        let a = random_constraint(&mut rng);
        let b = random_constraint(&mut rng);
        let mut brute = true;
        'grid: for &x in &ints {
            for s in strs {
                for t in [false, true] {
                    let value = |k: &str| match k {
                        "x" => Some(ztpol::ir::Value::Int(x)),
                        "s" => Some(ztpol::ir::Value::Str(s.to_string())),
                        "b" => Some(ztpol::ir::Value::Bool(t)),
                        _ => None,
                    };
                    if a.holds(value) && !b.holds(value) {
                        brute = false;
                        break 'grid;
                    }
                }
            }
        }
        assert_eq!(a.implies(&b), brute, "{a} implies {b}");
        if brute {
            checked.0 += 1;
        } else {
            checked.1 += 1;
        }
    }
    assert!(checked.0 > 100 && checked.1 > 100, "{checked:?}");
}
