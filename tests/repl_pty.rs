//! `ztpol repl` on a pseudo-terminal: completion, history, multi-line input, Ctrl-C and Ctrl-D,
//! typed as a person would. Timeouts are generous: CI runs these on a loaded machine.

use rexpect::reader::Options;
use rexpect::session::{spawn_with_options, PtySession};
use std::path::{Path, PathBuf};
use std::process::Command;

const TIMEOUT_MS: u64 = 60_000;
/// A fresh, empty prompt: the prompt with the cursor put right after it (escape codes
/// stripped, only the carriage return is left). A prompt redrawn with text after it does not
/// match, so keys are never typed before the line editor is ready for them.
const PROMPT: &str = "ztpol> \r";
const UP: &str = "\x1b[A";

fn spawn(history: &Path) -> PtySession {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ztpol"));
    cmd.args(["repl", "examples/support-desk"])
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        .env("ZTPOL_HISTORY", history)
        .env("TERM", "xterm")
        .env("NO_COLOR", "1");
    let options = Options::new()
        .timeout_ms(Some(TIMEOUT_MS))
        .strip_ansi_escape_codes(true);
    let mut p = spawn_with_options(cmd, options).expect("the repl starts on a pty");
    p.exp_string(PROMPT).expect("the first prompt");
    p
}

/// Ctrl-D at an empty prompt leaves with status 0.
fn leave(mut p: PtySession) {
    p.send_control('d').expect("send Ctrl-D");
    p.exp_eof().expect("the repl exits on Ctrl-D");
    let status = p.process().wait().expect("the exit status");
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "{status:?}"
    );
}

/// Types `text` (unbuffered, as keys arrive from a person).
fn keys(p: &mut PtySession, text: &str, what: &str) {
    p.send(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    p.flush().unwrap_or_else(|e| panic!("{what}: {e}"));
}

fn history_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("history");
    (dir, path)
}

#[test]
fn tab_completes_commands_and_relations() {
    let (_dir, history) = history_file();
    let mut p = spawn(&history);
    // `:rela` has one completion: Tab fills it in and Enter runs it.
    keys(&mut p, ":rela\t", "type");
    keys(&mut p, "\r", "enter");
    p.exp_string("member(principal: string, role: string)")
        .expect(":relations ran");
    p.exp_string(PROMPT).expect("prompt");
    // `:rel` has two: a second Tab lists them.
    keys(&mut p, ":rel\t\t", "type");
    p.exp_string(":reload").expect("the candidates are listed");
    p.exp_string("ztpol> :rel").expect("the line is redrawn");
    p.send_control('c').expect("abandon");
    p.exp_string(PROMPT).expect("prompt");
    // A relation name inside a goal.
    keys(&mut p, "has_r\t(P, \"tier2\")\r", "type");
    p.exp_string("(2 rows)").expect("the completed goal ran");
    p.exp_string(PROMPT).expect("prompt");
    // An action name inside a request.
    keys(
        &mut p,
        "decide {\"subject\": {\"type\": \"user\", \"id\": \"alice\"}, \"action\": {\"name\": \"orders.rea\t\"}, \"resource\": {\"type\": \"order\", \"id\": \"o-1\"}}\r",
        "type",
    );
    p.exp_string("allowed by tier1-read")
        .expect("the completed action was decided");
    p.exp_string(PROMPT).expect("prompt");
    leave(p);
}

#[test]
fn up_arrow_recalls_history_and_the_file_keeps_it() {
    let (_dir, history) = history_file();
    let mut p = spawn(&history);
    keys(&mut p, "member(P, \"tier2\")\r", "type");
    p.exp_string("(2 rows)").expect("first run");
    p.exp_string(PROMPT).expect("prompt");
    keys(&mut p, UP, "up arrow");
    keys(&mut p, "\r", "enter");
    p.exp_string("(2 rows)")
        .expect("the recalled command ran again");
    p.exp_string(PROMPT).expect("prompt");
    leave(p);
    let saved = std::fs::read_to_string(&history).expect("the history file is written");
    assert!(saved.contains("member(P, \"tier2\")"), "{saved}");

    // A new session starts with the saved history.
    let mut p = spawn(&history);
    keys(&mut p, UP, "up arrow");
    keys(&mut p, "\r", "enter");
    p.exp_string("(2 rows)").expect("history from the file");
    p.exp_string(PROMPT).expect("prompt");
    leave(p);
}

#[test]
fn multi_line_input_continues_until_complete() {
    let (_dir, history) = history_file();
    let mut p = spawn(&history);
    keys(&mut p, "has_role(P,\r", "first line");
    keys(&mut p, "  \"tier1\")\r", "second line");
    p.exp_string("(3 rows)")
        .expect("the goal spanning two lines ran");
    p.exp_string(PROMPT).expect("prompt");
    keys(&mut p, "rel tier1_member(p: string)\r", "declaration");
    p.exp_string("defined").expect("declared");
    p.exp_string(PROMPT).expect("prompt");
    keys(&mut p, "tier1_member(P) :-\r", "rule head");
    keys(&mut p, "  member(P, \"tier1\").\r", "rule body");
    p.exp_string("defined")
        .expect("the rule spanning two lines was added");
    p.exp_string(PROMPT).expect("prompt");
    keys(&mut p, "tier1_member(P)\r", "query");
    p.exp_string("user:alice").expect("the new rule's tuples");
    p.exp_string("(1 row)").expect("one row");
    p.exp_string(PROMPT).expect("prompt");
    leave(p);
}

#[test]
fn ctrl_c_abandons_the_line_and_errors_keep_the_session() {
    let (_dir, history) = history_file();
    let mut p = spawn(&history);
    // An unfinished command, abandoned: what follows is read afresh.
    keys(&mut p, "member(P,\r", "incomplete");
    p.send_control('c').expect("Ctrl-C");
    p.exp_string(PROMPT).expect("a fresh prompt");
    keys(&mut p, "member(P, \"tier2\")\r", "type");
    p.exp_string("(2 rows)").expect("the new command ran alone");
    p.exp_string(PROMPT).expect("prompt");
    // An error is reported and the session goes on.
    keys(&mut p, "memebr(P, R)\r", "type");
    p.exp_string("did you mean `member`?")
        .expect("the diagnostic");
    p.exp_string(PROMPT).expect("prompt");
    keys(&mut p, "member(\"user:alice\", R)\r", "type");
    p.exp_string("(1 row)").expect("still running");
    p.exp_string(PROMPT).expect("prompt");
    leave(p);
}
