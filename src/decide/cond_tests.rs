//! [`Env::eval_known`] against [`Env::eval`], and the texts of [`Env::why_false`].

use super::cond::{Env, Tri};
use super::Request;
use crate::eval::{self, EvalConfig, Model};
use crate::ir::Program;
use serde_json::{json, Value as Json};

const POLICY: &str = r#"
rel level(principal: string, n: int)
rel blocked(region: string, tier: int)
level("user:alice", 3).
blocked("APAC", 1).
blocked("APAC", 2).

@id("both")
permit user "alice" to act when resource.region == "US" and action.amount <= 200;
@id("either")
permit user "alice" to act when action.amount > 500 or resource.region in ["EU", "APAC"];
@id("negated")
permit user "alice" to act when not (action.amount == action.limit or resource.region == "EU");
@id("bound")
permit user U to act when action.amount <= N and resource.tier >= N if level(U, N);
@id("lookup")
permit user "alice" to act when not blocked(resource.region, resource.tier);
@id("lookup-any")
permit user "alice" to act when blocked(resource.region, _);
@id("mixed")
permit user "alice" to act when action.amount != "x" or context.flag == true;
"#;

fn setup() -> (Program, Model) {
    let compiled = crate::load::compile_str("t.ztp", POLICY);
    let program = compiled.program.expect("the test policy checks");
    let input = eval::input_model(&program, &[]);
    let model = eval::evaluate(&program, &input, &EvalConfig::default()).expect("evaluates");
    (program, model)
}

fn request(amount: &Json, limit: &Json, region: &Json, tier: &Json, flag: &Json) -> Request {
    Request::from_json(&json!({
        "subject": {"type": "user", "id": "alice"},
        "action": {"name": "act", "properties": {"amount": amount, "limit": limit}},
        "resource": {"type": "doc", "properties": {"region": region, "tier": tier}},
        "context": {"flag": flag}
    }))
    .expect("well-formed request")
}

/// Every statement's instances, evaluated both ways on many requests (known, unknown and
/// invalid attributes, values of the wrong type): where `eval_known` answers, `eval` agrees.
#[test]
fn eval_known_agrees_with_eval() {
    let (program, model) = setup();
    let amounts = [
        json!(100),
        json!(200),
        json!(201),
        json!(600),
        json!("x"),
        json!(null),
    ];
    let limits = [json!(100), json!(600), json!(null), json!(1.5)];
    let regions = [
        json!("US"),
        json!("EU"),
        json!("APAC"),
        json!(7),
        json!(null),
    ];
    let tiers = [json!(1), json!(3), json!(null)];
    let flags = [json!(true), json!(false), json!(null), json!([1])];
    let (mut known, mut total) = (0, 0);
    for a in &amounts {
        for l in &limits {
            for r in &regions {
                for t in &tiers {
                    for f in &flags {
                        let req = request(a, l, r, t, f);
                        for p in &program.policies {
                            for row in model.get(p.rel).iter() {
                                let env = Env {
                                    program: &program,
                                    model: &model,
                                    request: &req,
                                    principal: Some(0),
                                    row,
                                };
                                total += 1;
                                let Some(b) = env.eval_known(&p.cond) else {
                                    continue;
                                };
                                known += 1;
                                let want = if b { Tri::True } else { Tri::False };
                                assert_eq!(
                                    env.eval(&p.cond),
                                    Ok(want),
                                    "{} on {a} {l} {r} {t} {f}",
                                    p.id
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    // Both outcomes are exercised: plain answers and the fallback.
    assert!(known > total / 4 && known < total, "{known} of {total}");
}

#[test]
fn why_false_names_the_failing_atoms_and_the_values_read() {
    let (program, model) = setup();
    let why = |id: &str, req: &Request| {
        let p = program
            .policies
            .iter()
            .find(|p| p.id == id)
            .expect("statement");
        let row = model.get(p.rel).iter().next().expect("one instance");
        let env = Env {
            program: &program,
            model: &model,
            request: req,
            principal: Some(0),
            row,
        };
        assert_eq!(env.eval(&p.cond), Ok(Tri::False), "{id}");
        env.why_false(&p.cond)
    };
    let r = request(
        &json!(350),
        &json!(350),
        &json!("EU"),
        &json!(1),
        &json!(false),
    );
    assert_eq!(why("both", &r), r#"resource.region == "US" failed: "EU""#);
    let r = request(
        &json!(250),
        &json!(350),
        &json!("US"),
        &json!(1),
        &json!(false),
    );
    assert_eq!(why("both", &r), "action.amount <= 200 failed: 250");
    let r = request(
        &json!(300),
        &json!(350),
        &json!("US"),
        &json!(1),
        &json!(false),
    );
    assert_eq!(
        why("either", &r),
        r#"action.amount > 500 failed: 300; resource.region in ["EU", "APAC"] failed: "US""#
    );
    let r = request(
        &json!(300),
        &json!(300),
        &json!("US"),
        &json!(1),
        &json!(false),
    );
    assert_eq!(
        why("negated", &r),
        r#"not (action.amount == action.limit or resource.region == "EU") failed: action.amount = 300, action.limit = 300, resource.region = "US""#
    );
    let r = request(
        &json!(5),
        &json!(300),
        &json!("US"),
        &json!(1),
        &json!(false),
    );
    assert_eq!(why("bound", &r), "action.amount <= N failed: 5");
    let r = request(
        &json!(5),
        &json!(300),
        &json!("APAC"),
        &json!(2),
        &json!(false),
    );
    assert_eq!(
        why("lookup", &r),
        r#"not (blocked(resource.region, resource.tier)) failed: resource.region = "APAC", resource.tier = 2"#
    );
    let r = request(
        &json!(5),
        &json!(300),
        &json!("US"),
        &json!(2),
        &json!(false),
    );
    assert_eq!(
        why("lookup-any", &r),
        r#"blocked(resource.region, _) failed: "US""#
    );
}

#[test]
fn values_are_written_as_display_writes_them() {
    use super::request::ValueRef;
    let strs = [
        "",
        "US",
        "a b~",
        "quote\"d",
        "back\\slash",
        "tab\t",
        "line\n",
        "é",
        "\u{7f}",
        "'",
    ];
    let ints = [0, 7, -1, 200, 1001, i64::MIN, i64::MAX, -1_000_000];
    let values = strs
        .iter()
        .map(|s| ValueRef::Str(s))
        .chain(ints.iter().map(|&i| ValueRef::Int(i)))
        .chain([ValueRef::Bool(true), ValueRef::Bool(false)]);
    for v in values {
        let mut out = String::from("x");
        super::cond::write_value(&mut out, v);
        assert_eq!(out, format!("x{v}"));
    }
}
