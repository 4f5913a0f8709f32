//! `ztpol repl` driven through standard input: each script runs in the binary against
//! `examples/support-desk`, and the transcript (standard output and error, interleaved as
//! written) is snapshot-tested.

use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `ztpol repl ARGS...` with `script` on standard input; returns the interleaved output
/// and the exit code.
fn run_with(args: &[&str], script: &str) -> (String, i32) {
    let out = tempfile::tempfile().expect("a temporary file for the transcript");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ztpol"))
        .arg("repl")
        .args(args)
        .current_dir(root())
        .env("ZTPOL_HISTORY", "")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(out.try_clone().expect("dup of the transcript file"))
        .stderr(out.try_clone().expect("dup of the transcript file"))
        .spawn()
        .expect("the ztpol binary runs");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(script.as_bytes())
        .expect("the script is written");
    drop(stdin);
    let status = child.wait().expect("the repl exits");
    let mut out = out;
    out.rewind().expect("rewind the transcript");
    let mut text = String::new();
    out.read_to_string(&mut text)
        .expect("the transcript is text");
    (text, status.code().unwrap_or(-1))
}

fn run(script: &str) -> (String, i32) {
    run_with(&["examples/support-desk"], script)
}

#[test]
fn goals_print_matching_tuples() {
    let (out, code) = run(r#"
has_role("user:bob", R)
?- member(P, "tier2").
has_role("user:alice", "tier1")
has_role("user:alice", "tier2")
member(P, "nobody")
member(P, P)
"#);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn decisions_inline_and_from_files() {
    let (out, code) = run(r#"
decide @examples/support-desk/requests/01-alice-reads-order.json
// inline JSON may span lines until its braces balance
decide {"subject": {"type": "agent", "id": "support-bot"},
        "action": {"name": "orders.refund", "properties": {"amount": 150}},
        "resource": {"type": "order", "id": "o-17", "properties": {"region": "US"}},
        "context": {"on_behalf_of": [{"type": "user", "id": "alice"}]}}
decide {"subject": {"type": "user", "id": "bob"}, "action": {"name": "orders.refund"}, "resource": {"type": "order", "id": "o-1"}}
// an AuthZEN batch: the defaults, then one evaluation per entry
decide {"subject": {"type": "user", "id": "alice"}, "resource": {"type": "order", "id": "o-1"},
        "evaluations": [{"action": {"name": "orders.read"}}, {"action": {"name": "shell.exec"}}]}
"#);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn a_decision_matches_the_decide_command() {
    let request = "examples/support-desk/requests/19-two-hop-refund-150.json";
    let (repl, _) = run(&format!("decide @{request}\n"));
    let cli = Command::new(env!("CARGO_BIN_EXE_ztpol"))
        .args(["decide", "examples/support-desk", "--request", request])
        .args(["--format", "json"])
        .current_dir(root())
        .output()
        .expect("ztpol decide runs");
    assert_eq!(repl, String::from_utf8_lossy(&cli.stdout));
}

#[test]
fn assume_and_retract_change_decisions() {
    let (out, code) = run(r#"
decide @examples/support-desk/requests/24-unknown-user.json
assume member("user:mallory", "tier1").
has_role("user:mallory", R)
decide @examples/support-desk/requests/24-unknown-user.json
:facts
retract member("user:mallory", "tier1").
decide @examples/support-desk/requests/24-unknown-user.json
retract member("user:bob", "tier2").
decide @examples/support-desk/requests/11-bob-reads-inherited.json
assume member("user:bob", "tier2").
retract has_role("user:alice", "tier1").
retract member("user:nobody", "tier1").
assume member("user:alice", "tier1").
assume member("user:mallory", "tier2").
retract member("user:carol", "tier2").
:facts
decide @examples/support-desk/requests/24-unknown-user.json
:reset
:facts
decide @examples/support-desk/requests/24-unknown-user.json
"#);
    assert_eq!(code, 0);
    // Without what-if changes, the policy hash is the one `ztpol decide` reports.
    let base = "sha256:2e02aea80f30e27d1d2516a1683ed568f4d8477498ebd3e88ef5633ca5c56777";
    assert_eq!(out.matches(base).count(), 3, "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn relations_help_and_unknown_commands() {
    let (out, code) = run(":relations\n:help\n:rel\n:relations now\n");
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn errors_do_not_end_the_session() {
    let (out, code) = run(r#"
memebr(P, R)
member("user:alice")
member(1, R)
decide {"subject": }
decide @no/such/file.json
decide {"subject": {"type": "user", "id": "alice"}}
assume has_role(X, "tier1").
edge(X, Y) :- member(X, Y).
:load no/such/dir
member(P, "tier1")
"#);
    assert_eq!(code, 0, "without --strict a script exits 0");
    insta::assert_snapshot!(out);
}

#[test]
fn strict_scripts_stop_at_the_first_failure() {
    let (out, code) = run_with(
        &["--strict", "examples/support-desk"],
        "member(P, \"tier1\")\nmemebr(P, R)\nmember(P, \"tier2\")\n",
    );
    assert_eq!(code, 1);
    assert!(out.contains("user:alice"), "{out}");
    assert!(out.contains("unknown relation `memebr`"), "{out}");
    assert!(
        !out.contains("user:bob"),
        "stopped before the third command: {out}"
    );
}

#[test]
fn multi_line_rules_and_statements_join_the_session() {
    let (out, code) = run(r#"
rel colleague(a: string, b: string)
colleague(A, B) :-
    member(A, R),
    member(B, R),
    A != B.
colleague(P, Q)
@id("helper-read")
permit agent "helper"
  to orders.read;
decide {"subject": {"type": "agent", "id": "helper"},
        "action": {"name": "orders.read"},
        "resource": {"type": "order", "id": "o-1"}}
colleague(X, Y) :- member(X, Y
  ), unknown(Y).
:facts
:quit
member(P, R)
"#);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

#[test]
fn why_and_whynot_answer_for_tuples() {
    let (out, code) = run(r#"
why has_role("user:bob", "tier1")
why member("user:alice", R)
whynot has_role("user:mallory", "tier1")
whynot suspended("user:carol")
whynot member(P, P)
explain @examples/support-desk/requests/04-alice-bot-refund-201.json
assume member("user:mallory", "tier1").
why has_role("user:mallory", "tier1")
explain @examples/support-desk/requests/24-unknown-user.json
retract inherits("tier2", "tier1").
whynot has_role("user:bob", "tier1")
"#);
    assert_eq!(code, 0);
    insta::assert_snapshot!(out);
}

/// Copies the support-desk example into a temporary directory.
fn copy_example(dir: &Path) {
    for name in ["policy.ztp", "data.json"] {
        std::fs::copy(
            root().join("examples/support-desk").join(name),
            dir.join(name),
        )
        .expect("the example is copied");
    }
}

#[test]
fn reload_rereads_files_and_keeps_the_program_on_errors() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    copy_example(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_ztpol"))
        .arg("repl")
        .arg(dir.path())
        .env("ZTPOL_HISTORY", "")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the ztpol binary runs");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut read_until = |marker: &str| -> String {
        let mut seen = String::new();
        loop {
            let mut line = String::new();
            let n = stdout.read_line(&mut line).expect("stdout is readable");
            seen.push_str(&line);
            if n == 0 || line.contains(marker) {
                return seen;
            }
        }
    };
    let policy = dir.path().join("policy.ztp");
    writeln!(stdin, "inherits(R, P)").expect("write");
    let first = read_until("row");
    assert!(first.contains("tier2\ttier1"), "{first}");

    // A new fact in the file: `:reload` sees it.
    let mut text = std::fs::read_to_string(&policy).expect("read the policy");
    text.push_str("\ninherits(\"tier3\", \"tier2\").\n");
    std::fs::write(&policy, &text).expect("write the policy");
    writeln!(stdin, ":reload\ninherits(R, P)").expect("write");
    let second = read_until("rows");
    assert!(second.contains("loaded"), "{second}");
    assert!(second.contains("tier3\ttier2"), "{second}");

    // A syntax error: `:reload` reports it and the session keeps the previous program.
    std::fs::write(&policy, format!("{text}\nthis is not ztpol\n")).expect("write the policy");
    writeln!(stdin, ":reload\ninherits(R, P)").expect("write");
    let third = read_until("rows");
    assert!(third.contains("tier3\ttier2"), "{third}");
    drop(stdin);
    let output = child.wait_with_output().expect("the repl exits");
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("policy.ztp"),
        "the error names the file: {stderr}"
    );
}

#[test]
fn data_files_given_with_data_join_every_load() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let extra = dir.path().join("extra.json");
    std::fs::write(&extra, r#"{"member": [["user:mallory", "tier2"]]}"#).expect("write");
    let extra = extra.to_string_lossy().to_string();
    let (out, code) = run_with(
        &["examples/support-desk", "--data", &extra],
        "member(P, \"tier2\")\n:reload\nhas_role(\"user:mallory\", R)\n",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("user:mallory\ttier2\n"), "{out}");
    assert!(
        out.contains("user:mallory\ttier1\n"),
        "after :reload too: {out}"
    );
}

#[test]
fn a_policy_that_fails_to_load_still_opens_a_session() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("bad.ztp"), "rel p(string)\np(1).\n").expect("write");
    let path = dir.path().to_string_lossy().to_string();
    let (out, code) = run_with(
        &[&path],
        ":relations\n:load examples/support-desk\nmember(P, \"tier2\")\n",
    );
    assert_eq!(code, 0);
    assert!(out.contains("no relations"), "{out}");
    assert!(out.contains("user:carol"), "{out}");
}

#[test]
fn every_command_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/REPL.md")).expect("docs/REPL.md exists");
    for (name, _, _) in ztpol::repl::COLON_COMMANDS {
        assert!(
            doc.contains(&format!("`{name}")),
            "{name} is not in docs/REPL.md"
        );
    }
    for keyword in ztpol::repl::KEYWORDS {
        assert!(
            doc.contains(&format!("`{keyword} ")),
            "{keyword} is not in docs/REPL.md"
        );
    }
}
