//! `ztpol explain` and `ztpol query --explain`: snapshots of the explanation of every
//! support-desk request (human and JSON), of token rejection and acceptance, and of proofs and
//! why-nots of plain Datalog goals; plus the CLI's exit codes and its agreement with the
//! library.
//!
//! Paths are relative to the crate root (`examples/support-desk`), as a user would type them,
//! so the snapshots do not depend on where the checkout lives.

use jsonwebtoken::Algorithm;
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};
use std::process::Command;
use ztpol::decide::Auth;
use ztpol::eval::{self, EvalConfig, Model};
use ztpol::explain::{DenyReason, Explainer, Step};
use ztpol::ir::{Fact, Program};
use ztpol::token::{self, Verifier};

const DESK: &str = "examples/support-desk";

/// Compiles a policy directory, loads the data it attaches and evaluates the model.
fn load(dir: &str) -> (Program, Model, Vec<Fact>) {
    let compiled =
        ztpol::load::compile_paths(&[PathBuf::from(dir)]).expect("the policy is readable");
    let mut program = compiled.program.expect("the policy checks");
    let mut facts = Vec::new();
    for file in program.data_files.clone() {
        facts.extend(ztpol::data::load_json(&mut program, &file).expect("the data loads"));
    }
    let input = eval::input_model(&program, &facts);
    let model = eval::evaluate(&program, &input, &EvalConfig::default()).expect("it evaluates");
    (program, model, facts)
}

fn requests() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(Path::new(DESK).join("requests"))
        .expect("requests/ exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    out.sort();
    out
}

fn read_json(p: &Path) -> Json {
    let text = std::fs::read_to_string(p).expect("readable");
    serde_json::from_str(&text).expect("JSON")
}

#[test]
fn every_support_desk_request_is_explained() {
    let (program, model, facts) = load(DESK);
    let ex = Explainer::new(&program, &model, &facts);
    let reqs = requests();
    assert!(reqs.len() >= 30, "expected the shipped requests");
    for path in reqs {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("a name")
            .to_string();
        let e = ex
            .explain_document(&read_json(&path), Auth::None)
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        // The explanation agrees with `decide`.
        let expected = read_json(
            &Path::new(DESK)
                .join("expected")
                .join(format!("{name}.json")),
        );
        assert_eq!(
            json!(e.decision.allowed),
            expected["response"]["decision"],
            "{name}"
        );
        insta::assert_snapshot!(format!("{name}_human"), ex.explanation_text(&e));
        let j = ex.explanation_json(&e);
        insta::assert_snapshot!(
            format!("{name}_json"),
            serde_json::to_string_pretty(&j).expect("serialisable")
        );
    }
}

/// The cases the issue names, asserted on the structure as well as snapshotted.
#[test]
fn named_cases_have_the_expected_shape() {
    let (program, model, facts) = load(DESK);
    let ex = Explainer::new(&program, &model, &facts);
    let explain = |name: &str| {
        let p = Path::new(DESK)
            .join("requests")
            .join(format!("{name}.json"));
        ex.explain_document(&read_json(&p), Auth::None)
            .expect("explained")
    };

    // Two-hop chain: every principal has its grant.
    let e = explain("19-two-hop-refund-150");
    assert!(e.decision.allowed);
    assert_eq!(e.grants.len(), 3);
    assert!(e.grants.iter().all(|g| !g.instances.is_empty()));

    // Recursive relation: bob's tier1 through tier2, two rule steps down to facts.
    let e = explain("11-bob-reads-inherited");
    let text = ex.explanation_text(&e);
    assert!(
        text.contains("has_role(\"user:bob\", \"tier1\"): by rule"),
        "{text}"
    );
    assert!(
        text.contains("has_role(\"user:bob\", \"tier2\"): by rule"),
        "{text}"
    );
    assert!(
        text.contains("inherits(\"tier2\", \"tier1\"): fact at"),
        "{text}"
    );

    // Forbid, with its proof down to the data row.
    let e = explain("17-carol-suspended-read");
    let Some(DenyReason::Forbidden { instance }) = &e.deny else {
        panic!("expected a forbid: {e:?}")
    };
    assert_eq!(instance.id, "suspended");
    assert!(matches!(instance.proof.step, Step::Rule { .. }));

    // Failed condition with the value that broke it.
    let e = explain("04-alice-bot-refund-201");
    assert!(ex
        .explanation_text(&e)
        .contains("failed: action.amount <= 200 failed: 201"));

    // Missing role fact and unknown principal: the why-not names the missing member fact.
    for name in ["24-unknown-user", "10-bob-refund-apac"] {
        let e = explain(name);
        assert!(matches!(e.deny, Some(DenyReason::NoGrant { .. })), "{name}");
    }
    let text = ex.explanation_text(&explain("24-unknown-user"));
    assert!(
        text.contains("no such fact: member(\"user:mallory\", \"tier1\")"),
        "{text}"
    );
}

const SECRET: &[u8] = b"the-right-secret-for-explain-tests";
const WRONG: &[u8] = b"a-wrong-secret-for-explain-tests!!";

fn bot_token(key: &[u8]) -> String {
    let claims = json!({
        "sub": "user:alice",
        "act": {"sub": "agent:support-bot"},
        "exp": jsonwebtoken::get_current_timestamp() + 600,
    });
    token::mint(&claims, key, Algorithm::HS256).expect("mints")
}

#[test]
fn token_rejection_and_acceptance() {
    let (program, model, facts) = load(DESK);
    let ex = Explainer::new(&program, &model, &facts);
    let verifier = Verifier::from_secret(SECRET).expect("a key");
    let body = read_json(&Path::new(DESK).join("requests/02-alice-bot-refund-150.json"));

    let rejected = verifier
        .verify(&bot_token(WRONG))
        .expect_err("signed with another key");
    let e = ex
        .explain_document(&body, Auth::Rejected(&rejected))
        .expect("explained");
    assert!(matches!(e.deny, Some(DenyReason::Token { .. })));
    insta::assert_snapshot!("token_rejected_human", ex.explanation_text(&e));
    insta::assert_snapshot!(
        "token_rejected_json",
        serde_json::to_string_pretty(&ex.explanation_json(&e)).expect("serialisable")
    );

    let id = verifier.verify(&bot_token(SECRET)).expect("accepted");
    let e = ex
        .explain_document(&body, Auth::Identity(&id))
        .expect("explained");
    assert!(e.decision.allowed);
    insta::assert_snapshot!("token_accepted_human", ex.explanation_text(&e));
}

const GRAPH: &str = r#"
rel edge(src: string, dst: string)
rel path(src: string, dst: string)
rel node(n: string)
rel sink(n: string)
edge("a", "b"). edge("b", "c"). edge("c", "d"). edge("a", "c").
path(X, Y) :- edge(X, Y).
path(X, Z) :- path(X, Y), edge(Y, Z).
node(X) :- edge(X, _).
node(Y) :- edge(_, Y).
sink(N) :- node(N), not edge(N, _).
"#;

#[test]
fn datalog_goals_why_and_why_not() {
    let compiled = ztpol::load::compile_str("graph.ztp", GRAPH);
    let program = compiled.program.expect("the program checks");
    let input = eval::input_model(&program, &[]);
    let model = eval::evaluate(&program, &input, &EvalConfig::default()).expect("evaluates");
    let ex = Explainer::new(&program, &model, &[]);
    let sym = |s: &str| {
        program
            .interner
            .lookup(&ztpol::ir::Value::Str(s.into()))
            .expect("interned")
    };
    let path = program.relation_by_name("path").expect("path");
    let sink = program.relation_by_name("sink").expect("sink");

    // path("a", "d") has a derivation of minimal depth: a -> c -> d, not a -> b -> c -> d.
    let p = ex.prove(path, &[sym("a"), sym("d")]).expect("holds");
    assert_eq!(p.depth(), 2, "{}", ex.proof_text(&p));
    insta::assert_snapshot!("graph_path_a_d_human", ex.proof_text(&p));
    insta::assert_snapshot!(
        "graph_path_a_d_json",
        serde_json::to_string_pretty(&ex.proof_json(&p)).expect("serialisable")
    );
    let p = ex.prove(sink, &[sym("d")]).expect("holds");
    insta::assert_snapshot!("graph_sink_d_human", ex.proof_text(&p));

    // path("d", "a") does not hold: no edge from d.
    let w = ex
        .why_not(path, &[Some(sym("d")), Some(sym("a"))])
        .expect("does not hold");
    assert_eq!(w.attempts.len(), 2);
    insta::assert_snapshot!("graph_path_d_a_human", ex.why_not_text(&w));
    insta::assert_snapshot!(
        "graph_path_d_a_json",
        serde_json::to_string_pretty(&ex.why_not_json(&w)).expect("serialisable")
    );
    // sink("a") does not hold: a has an outgoing edge.
    let w = ex.why_not(sink, &[Some(sym("a"))]).expect("does not hold");
    insta::assert_snapshot!("graph_sink_a_human", ex.why_not_text(&w));

    // Asking the wrong question is an error, not a wrong answer.
    assert!(ex.prove(path, &[sym("d"), sym("a")]).is_err());
    assert!(ex.why_not(path, &[Some(sym("a")), Some(sym("d"))]).is_err());
}

fn ztpol(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ztpol"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the ztpol binary runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_exit_codes_and_output_match_the_library() {
    let (program, model, facts) = load(DESK);
    let ex = Explainer::new(&program, &model, &facts);
    for (name, code) in [
        ("19-two-hop-refund-150", 0),
        ("24-unknown-user", 2),
        ("90-malformed-no-action", 1),
    ] {
        let req = format!("{DESK}/requests/{name}.json");
        let e = ex
            .explain_document(&read_json(Path::new(&req)), Auth::None)
            .expect("explained");
        let (status, out, err) = ztpol(&["explain", DESK, "--request", &req, "--format", "human"]);
        assert_eq!(status, Some(code), "{name}: {err}");
        assert_eq!(out, ex.explanation_text(&e), "{name}");
        let (status, out, _) = ztpol(&["explain", DESK, "--request", &req, "--format", "json"]);
        assert_eq!(status, Some(code), "{name}");
        let parsed: Json = serde_json::from_str(out.trim()).expect("one JSON document");
        assert_eq!(parsed, ex.explanation_json(&e), "{name}");
    }
}

#[test]
fn cli_token_rejection_denies() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let token = dir.path().join("token.jwt");
    let secret = dir.path().join("secret");
    std::fs::write(&token, bot_token(WRONG)).expect("writable");
    std::fs::write(&secret, SECRET).expect("writable");
    let req = format!("{DESK}/requests/02-alice-bot-refund-150.json");
    let (status, out, _) = ztpol(&[
        "explain",
        DESK,
        "--request",
        &req,
        "--token",
        token.to_str().expect("utf-8"),
        "--secret-file",
        secret.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert_eq!(status, Some(2));
    let parsed: Json = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(parsed["deny"]["class"], "token");
}

#[test]
fn cli_query_explain() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let file = dir.path().join("graph.ztp");
    std::fs::write(&file, GRAPH).expect("writable");
    let f = file.to_str().expect("utf-8");
    let (status, out, err) = ztpol(&[
        "query",
        f,
        "--explain",
        "path(\"a\", \"d\")",
        "--format",
        "json",
    ]);
    assert_eq!(status, Some(0), "{err}");
    let parsed: Json = serde_json::from_str(out.trim()).expect("JSON");
    assert_eq!(parsed["holds"], true);
    assert_eq!(parsed["proofs"][0]["tuple"], "path(\"a\", \"d\")");
    let (status, out, _) = ztpol(&[
        "query",
        f,
        "--explain",
        "path(\"d\", \"a\")",
        "--format",
        "human",
    ]);
    assert_eq!(status, Some(0));
    assert!(out.starts_with("path(\"d\", \"a\") does not hold"), "{out}");
    assert!(out.contains("no such fact: edge(\"d\", Y)"), "{out}");
    let (status, _, _) = ztpol(&["query", f, "--explain", "nosuch(\"d\")"]);
    assert_eq!(status, Some(1));
}
