//! `ztpol repl PATH...`: the interactive loop around [`ztpol::repl::Session`].
//!
//! On a terminal: line editing, history (`$ZTPOL_HISTORY`, else `~/.ztpol_history`; an empty
//! `ZTPOL_HISTORY` turns it off), tab completion, multi-line commands, Ctrl-C abandons the line,
//! Ctrl-D leaves. Otherwise standard input is a script: commands are cut the same way and run
//! in order, with no prompt.
//!
//! Exit status: 0; with `--strict`, a script stops at the first command that fails and exits 1.

use super::{EvalArgs, EXIT_ERROR, EXIT_OK};
use clap::Args;
use rustyline::completion::{Completer, FilenameCompleter};
use rustyline::config::{CompletionType, Config};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use ztpol::render::RenderConfig;
use ztpol::repl::{self, Reply, Session, SessionConfig, Status, Words};

#[derive(Debug, Clone, Args)]
pub struct ReplArgs {
    /// Policy files (`.ztp`) or directories of them; `:load` can load others later.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Add facts from a JSON data file to every program the session loads; repeatable.
    #[arg(long = "data", value_name = "FILE")]
    pub data: Vec<PathBuf>,
    /// When reading a script from standard input: stop at the first command that fails and
    /// exit 1 (the default runs every command and exits 0).
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub eval: EvalArgs,
}

pub fn run(args: &ReplArgs) -> u8 {
    let interactive = std::io::stdin().is_terminal();
    let config = SessionConfig {
        eval: args.eval.config(),
        render: RenderConfig {
            width: 100,
            color: interactive
                && std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        },
        data: args.data.clone(),
    };
    let (session, reply) = Session::open(&args.paths, config);
    if interactive {
        print_reply(&reply);
        interactive_loop(session)
    } else {
        // A script's output is its commands' output: the load summary is left out.
        print_reply(&Reply {
            out: String::new(),
            ..reply.clone()
        });
        if args.strict && reply.status == Status::Failed {
            return EXIT_ERROR;
        }
        script(session, args.strict)
    }
}

fn print_reply(reply: &Reply) {
    let mut out = std::io::stdout().lock();
    // Output that cannot be written (a closed pipe) has nowhere else to go.
    let _ = out.write_all(reply.out.as_bytes());
    let _ = out.flush();
    drop(out);
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(reply.err.as_bytes());
    let _ = err.flush();
}

/// Commands from standard input, cut where each is complete.
fn script(mut session: Session, strict: bool) -> u8 {
    let stdin = std::io::stdin();
    let mut buffer = String::new();
    let run = |session: &mut Session, buffer: &mut String| -> Option<u8> {
        let reply = session.eval(buffer);
        buffer.clear();
        print_reply(&reply);
        match reply.status {
            Status::Ok => None,
            Status::Quit => Some(EXIT_OK),
            Status::Failed if strict => Some(EXIT_ERROR),
            Status::Failed => None,
        }
    };
    for line in stdin.lock().lines() {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot read standard input: {e}");
                return EXIT_ERROR;
            }
        };
        buffer.push_str(&line);
        buffer.push('\n');
        if repl::is_complete(&buffer) {
            if let Some(code) = run(&mut session, &mut buffer) {
                return code;
            }
        }
    }
    if !buffer.trim().is_empty() {
        if let Some(code) = run(&mut session, &mut buffer) {
            return code;
        }
    }
    EXIT_OK
}

/// Line editing for the REPL: completion and multi-line input.
struct ReplHelper {
    words: Words,
    files: FilenameCompleter,
}

impl Completer for ReplHelper {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        if let Some(start) = repl::path_start(line, pos) {
            let word = line.get(start..pos).unwrap_or("");
            let (at, pairs) = self.files.complete_path(word, word.len())?;
            return Ok((
                start + at,
                pairs.into_iter().map(|p| p.replacement).collect(),
            ));
        }
        Ok(repl::complete(line, pos, &self.words))
    }
}

impl Validator for ReplHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if repl::is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Hinter for ReplHelper {
    type Hint = String;
}

impl Highlighter for ReplHelper {}

impl Helper for ReplHelper {}

/// The history file: `$ZTPOL_HISTORY` (empty: none), else `~/.ztpol_history`.
fn history_path() -> Option<PathBuf> {
    match std::env::var_os("ZTPOL_HISTORY") {
        Some(p) if p.is_empty() => None,
        Some(p) => Some(PathBuf::from(p)),
        None => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".ztpol_history")),
    }
}

fn interactive_loop(mut session: Session) -> u8 {
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .max_history_size(1000)
        .map(|b| b.build());
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot set up line editing: {e}");
            return EXIT_ERROR;
        }
    };
    let mut editor: Editor<ReplHelper, FileHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot set up line editing: {e}");
            return EXIT_ERROR;
        }
    };
    editor.set_helper(Some(ReplHelper {
        words: session.words(),
        files: FilenameCompleter::new(),
    }));
    let history = history_path();
    if let Some(path) = &history {
        // A missing or unreadable history file is not an error: the session starts without.
        let _ = editor.load_history(path);
    }
    println!("ztpol repl: `:help` lists the commands, Ctrl-D leaves");
    loop {
        match editor.readline("ztpol> ") {
            Ok(line) => {
                if line.trim().is_empty() {
                    continue;
                }
                let _ = editor.add_history_entry(line.as_str());
                if let Some(path) = &history {
                    // History that cannot be written is lost, never fatal.
                    let _ = editor.append_history(path);
                }
                let reply = session.eval(&line);
                print_reply(&reply);
                if reply.status == Status::Quit {
                    return EXIT_OK;
                }
                if let Some(helper) = editor.helper_mut() {
                    helper.words = session.words();
                }
            }
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => return EXIT_OK,
            Err(e) => {
                eprintln!("error: cannot read the terminal: {e}");
                return EXIT_ERROR;
            }
        }
    }
}
