//! Sessions built from typed definitions: what-if, session rules, and no panic on any input.

use super::*;
use proptest::prelude::*;

/// A session with a small graph program typed into it.
fn graph() -> Session {
    let mut s = Session::empty(SessionConfig::default());
    for def in [
        "rel edge(src: string, dst: string)",
        "rel path(src: string, dst: string)",
        "path(X, Y) :- edge(X, Y).",
        "path(X, Z) :- path(X, Y), edge(Y, Z).",
    ] {
        let r = s.eval(def);
        assert_eq!(r.status, Status::Ok, "{def}: {}", r.err);
    }
    for fact in ["edge(\"a\", \"b\").", "edge(\"b\", \"c\")."] {
        let r = s.eval(&format!("assume {fact}"));
        assert_eq!(r.status, Status::Ok, "{fact}: {}", r.err);
    }
    s
}

fn out(s: &mut Session, command: &str) -> String {
    let r = s.eval(command);
    assert_eq!(r.status, Status::Ok, "{command}: {}", r.err);
    r.out
}

#[test]
fn goals_see_rules_and_assumed_facts() {
    let mut s = graph();
    assert_eq!(out(&mut s, "path(\"a\", X)"), "a\tb\na\tc\n(2 rows)\n");
    assert_eq!(out(&mut s, "path(\"a\", \"c\")"), "true\n");
    assert_eq!(out(&mut s, "path(\"c\", \"a\")"), "false\n");
    assert_eq!(out(&mut s, "path(X, X)"), "(no rows)\n");
}

#[test]
fn retract_removes_and_assume_restores() {
    let mut s = graph();
    out(&mut s, "retract edge(\"b\", \"c\").");
    assert_eq!(out(&mut s, "path(\"a\", X)"), "a\tb\n(1 row)\n");
    out(&mut s, "assume edge(\"b\", \"c\").");
    assert_eq!(out(&mut s, "path(\"a\", X)"), "a\tb\na\tc\n(2 rows)\n");
    // Derived tuples cannot be retracted.
    let r = s.eval("retract path(\"a\", \"c\").");
    assert_eq!(r.status, Status::Failed);
    assert!(r.err.contains("derived by rules"), "{}", r.err);
}

#[test]
fn reset_drops_definitions_and_what_if() {
    let mut s = graph();
    assert!(out(&mut s, ":facts").contains("assumed    edge(\"a\", \"b\")."));
    out(&mut s, ":reset");
    assert_eq!(
        out(&mut s, ":facts"),
        "nothing assumed or retracted, no session rules\n"
    );
    assert_eq!(s.eval("path(X, Y)").status, Status::Failed, "path is gone");
}

#[test]
fn a_failed_definition_changes_nothing() {
    let mut s = graph();
    let before = s.policy_hash().to_string();
    let r = s.eval("path(X, Y) :- edge(X, Y), nope(Y).");
    assert_eq!(r.status, Status::Failed);
    assert!(r.err.contains("unknown relation `nope`"), "{}", r.err);
    assert_eq!(s.policy_hash(), before);
    assert_eq!(out(&mut s, "path(\"a\", X)"), "a\tb\na\tc\n(2 rows)\n");
}

#[test]
fn the_policy_hash_follows_what_if_changes_only() {
    let mut s = graph();
    let base = s.policy_hash().to_string();
    out(&mut s, "path(X, Y)");
    assert_eq!(s.policy_hash(), base, "a query does not change the hash");
    out(&mut s, "assume edge(\"c\", \"d\").");
    assert_ne!(s.policy_hash(), base);
    out(&mut s, "retract edge(\"c\", \"d\").");
    assert_eq!(s.policy_hash(), base);
}

#[test]
fn limits_are_errors_and_keep_the_model() {
    let mut config = SessionConfig::default();
    config.eval.limits.max_facts = 6;
    let mut s = Session::empty(config);
    for def in [
        "rel edge(src: string, dst: string)",
        "rel path(src: string, dst: string)",
        "path(X, Z) :- edge(X, Z).",
        "path(X, Z) :- path(X, Y), edge(Y, Z).",
    ] {
        out(&mut s, def);
    }
    out(&mut s, "assume edge(\"a\", \"b\").");
    out(&mut s, "assume edge(\"b\", \"c\").");
    let r = s.eval("assume edge(\"c\", \"d\").");
    assert_eq!(r.status, Status::Failed, "{}", r.out);
    assert!(r.err.contains("more than 6 facts"), "{}", r.err);
    assert_eq!(out(&mut s, "path(\"a\", X)"), "a\tb\na\tc\n(2 rows)\n");
    assert!(!out(&mut s, ":facts").contains("\"d\""));
}

#[test]
fn words_offer_relations_and_actions() {
    let mut s = graph();
    out(&mut s, "permit agent \"bot\" to orders.read, files.*;");
    let w = s.words();
    assert_eq!(w.relations, vec!["edge", "path"]);
    assert_eq!(w.actions, vec!["files.", "orders.read"]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Any text, and any command with its tail cut or mangled, gets a reply, never a panic.
    #[test]
    fn no_input_panics(text in "\\PC{0,40}", cut in 0usize..60, pick in 0usize..14) {
        let commands = [
            "path(\"a\", X)", "assume edge(\"x\", \"y\").", "retract edge(\"a\", \"b\").",
            "decide {\"subject\": {\"type\": \"agent\", \"id\": \"bot\"}, \"action\": {\"name\": \"orders.read\"}, \"resource\": {\"type\": \"order\", \"id\": \"1\"}}",
            "why path(\"a\", \"c\")", "whynot path(\"c\", \"a\")", "explain {}", ":relations",
            ":facts", "p(X) :- edge(X, _).", "rel q(int)", ":load", "?- edge(X, Y).", ":reload",
        ];
        let mut s = graph();
        let base = commands[pick % commands.len()];
        let mut end = cut.min(base.len());
        while !base.is_char_boundary(end) {
            end -= 1;
        }
        let _ = s.eval(&format!("{}{text}", &base[..end]));
        let _ = s.eval(&text);
        let _ = is_complete(&text);
        let _ = complete(&text, cut, &s.words());
        // The session still answers.
        prop_assert_eq!(s.eval(":help").status, Status::Ok);
    }
}
