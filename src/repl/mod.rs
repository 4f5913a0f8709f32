//! The REPL's library part: a [`Session`] holding the loaded program, its data and its model,
//! and [`Session::eval`], which runs one complete command and returns its output. The
//! interactive loop and a script read from standard input both call it; the loop around it
//! (line editing, history, prompts) lives in the binary.
//!
//! A session is the program compiled from its files plus the rules, declarations and policy
//! statements typed into it, and the facts of its data files plus the facts assumed and minus the
//! facts retracted (what-if). The model is evaluated once per change, never per query.

mod command;
mod complete;
mod input;
mod query;
mod state;
mod whatif;
mod why;

pub use command::{parse, Command, RequestArg, COLON_COMMANDS, KEYWORDS};
pub use complete::{complete, path_start, Words};
pub use input::is_complete;

use crate::diag::{did_you_mean, Diagnostic};
use crate::eval::{EvalConfig, Model};
use crate::ir::{Program, RelKind};
use crate::render::{self, RenderConfig};
use crate::source::SourceFile;
use query::help;
use state::{State, Warnings};
use std::path::PathBuf;

/// How a session loads, evaluates and renders.
#[derive(Debug, Clone, Default)]
pub struct SessionConfig {
    pub eval: EvalConfig,
    /// How diagnostics are rendered (width, colour).
    pub render: RenderConfig,
    /// Data files added to every program the session loads (`--data`).
    pub data: Vec<PathBuf>,
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// The command failed; the session is unchanged.
    Failed,
    /// `:quit`.
    Quit,
}

/// What a command produced: output (standard output) and messages (diagnostics, warnings, notes:
/// standard error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub out: String,
    pub err: String,
    pub status: Status,
}

impl Reply {
    fn ok(out: impl Into<String>) -> Reply {
        Reply {
            out: out.into(),
            err: String::new(),
            status: Status::Ok,
        }
    }

    fn failed(err: impl Into<String>) -> Reply {
        Reply {
            out: String::new(),
            err: err.into(),
            status: Status::Failed,
        }
    }

    fn with_err(mut self, err: impl Into<String>) -> Reply {
        self.err.push_str(&err.into());
        self
    }
}

/// A loaded program, its data and model, and the changes made in the session.
pub struct Session {
    config: SessionConfig,
    /// The policy files and directories `:reload` re-reads.
    paths: Vec<PathBuf>,
    /// Their text, as last read.
    files: Vec<SourceFile>,
    /// Rules, declarations and statements typed into the session, in order.
    definitions: Vec<SourceFile>,
    /// Facts assumed and retracted, in source syntax (`member("user:m", "tier1")`).
    assumed: Vec<String>,
    retracted: Vec<String>,
    state: State,
    /// Commands run so far; names the pseudo-files of typed text (`<repl:3>`).
    counter: usize,
}

impl Session {
    /// A session with nothing loaded.
    pub fn empty(config: SessionConfig) -> Session {
        Session {
            config,
            paths: Vec::new(),
            files: Vec::new(),
            definitions: Vec::new(),
            assumed: Vec::new(),
            retracted: Vec::new(),
            state: State::empty(),
            counter: 0,
        }
    }

    /// A session over the policy at `paths`. When it cannot be loaded the session starts empty
    /// (with `paths` remembered for `:reload`) and the reply says why.
    pub fn open(paths: &[PathBuf], config: SessionConfig) -> (Session, Reply) {
        let mut session = Session::empty(config);
        let reply = if paths.is_empty() {
            Reply::ok("")
        } else {
            session.load(paths.to_vec())
        };
        if reply.status == Status::Failed {
            session.paths = paths.to_vec();
        }
        (session, reply)
    }

    /// The program as currently loaded (with session definitions).
    pub fn program(&self) -> &Program {
        &self.state.program
    }

    /// The current model (with what-if changes).
    pub fn model(&self) -> &Model {
        &self.state.model
    }

    /// The policy hash decisions carry: sources, data files and what-if changes.
    pub fn policy_hash(&self) -> &str {
        &self.state.hash
    }

    /// The names completion offers: relations and actions.
    pub fn words(&self) -> Words {
        Words::of(&self.state.program)
    }

    /// Runs one complete command (see [`is_complete`]) and returns what it printed. Errors are
    /// replies, never panics; a failed command leaves the session as it was.
    pub fn eval(&mut self, input: &str) -> Reply {
        let mut reply = self.run(input);
        for text in [&mut reply.out, &mut reply.err] {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
        }
        reply
    }

    fn run(&mut self, input: &str) -> Reply {
        let command = parse(input);
        if !matches!(command, Command::Empty) {
            self.counter += 1;
        }
        match command {
            Command::Empty => Reply::ok(""),
            Command::Goal(text) => self.goal(&text),
            Command::Decide(arg) => self.decide(&arg),
            Command::Explain(arg) => self.explain(&arg),
            Command::Why(text) => self.why(&text, true),
            Command::WhyNot(text) => self.why(&text, false),
            Command::Assume(text) => self.assume(&text),
            Command::Retract(text) => self.retract(&text),
            Command::Define(text) => self.define(text),
            Command::Load(paths) => self.load(paths.into_iter().map(PathBuf::from).collect()),
            Command::Reload => self.reload(),
            Command::Relations => Reply::ok(self.relations()),
            Command::Facts => Reply::ok(self.facts()),
            Command::Reset => self.reset(),
            Command::Help => Reply::ok(help()),
            Command::Quit => Reply {
                out: String::new(),
                err: String::new(),
                status: Status::Quit,
            },
            Command::Unknown(name) => {
                let prefixed: Vec<String> = COLON_COMMANDS
                    .iter()
                    .filter(|(n, _, _)| name.len() > 1 && n.starts_with(name.as_str()))
                    .map(|(n, _, _)| format!("`{n}`"))
                    .collect();
                let names = COLON_COMMANDS.iter().map(|(n, _, _)| *n);
                let help = if prefixed.len() > 1 {
                    format!("did you mean one of {}?", prefixed.join(", "))
                } else {
                    match did_you_mean(&name, names) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "`:help` lists the commands".to_string(),
                    }
                };
                Reply::failed(format!("error: unknown command `{name}`\n  help: {help}\n"))
            }
            Command::Usage(message) => Reply::failed(format!("error: {message}\n")),
        }
    }

    fn pseudo_file(&self) -> String {
        format!("<repl:{}>", self.counter)
    }

    fn render(&self, diags: &[Diagnostic]) -> String {
        render::render_with(diags, &self.state.program.sources, self.config.render)
    }

    // ---- loading ----------------------------------------------------------------------------

    /// `:load PATH...`: a new session over other files. On failure nothing changes.
    fn load(&mut self, paths: Vec<PathBuf>) -> Reply {
        let files = match state::read_files(&paths) {
            Ok(f) => f,
            Err(e) => return Reply::failed(format!("error: {e}\n")),
        };
        match State::build(&files, &[], &[], &[], Warnings::All, &self.config) {
            Ok((state, notes)) => {
                let summary = summary(&state, &paths);
                self.paths = paths;
                self.files = files;
                self.definitions.clear();
                self.assumed.clear();
                self.retracted.clear();
                self.state = state;
                Reply::ok(summary).with_err(notes)
            }
            Err(e) => Reply::failed(e),
        }
    }

    /// `:reload`: re-read the files; session definitions and what-if facts are kept (those that
    /// no longer apply are dropped, with a note).
    fn reload(&mut self) -> Reply {
        if self.paths.is_empty() {
            return Reply::failed(
                "error: nothing to reload\n  help: load a policy with `:load PATH...`\n",
            );
        }
        let files = match state::read_files(&self.paths) {
            Ok(f) => f,
            Err(e) => return Reply::failed(format!("error: {e}\n")),
        };
        let built = State::build(
            &files,
            &self.definitions,
            &self.assumed,
            &self.retracted,
            Warnings::All,
            &self.config,
        );
        match built {
            Ok((state, notes)) => {
                self.assumed.retain(|t| state.assumed_text.contains(t));
                self.retracted.retain(|t| state.retracted_text.contains(t));
                let summary = summary(&state, &self.paths);
                self.files = files;
                self.state = state;
                Reply::ok(summary).with_err(notes)
            }
            Err(e) => Reply::failed(e),
        }
    }

    /// A rule, declaration or statement typed at the prompt: recompile with it.
    fn define(&mut self, text: String) -> Reply {
        let name = self.pseudo_file();
        let mut definitions = self.definitions.clone();
        definitions.push(SourceFile::new(name.clone(), None, text));
        let built = State::build(
            &self.files,
            &definitions,
            &self.assumed,
            &self.retracted,
            Warnings::In(&name),
            &self.config,
        );
        match built {
            Ok((state, notes)) => {
                let before = self.state.model.total();
                self.definitions = definitions;
                self.state = state;
                let after = self.state.model.total();
                Reply::ok(format!(
                    "defined; the model holds {after} tuples (was {before})\n"
                ))
                .with_err(notes)
            }
            Err(e) => Reply::failed(e),
        }
    }

    fn reset(&mut self) -> Reply {
        if self.definitions.is_empty() && self.assumed.is_empty() && self.retracted.is_empty() {
            return Reply::ok("nothing to reset\n");
        }
        match State::build(&self.files, &[], &[], &[], Warnings::None, &self.config) {
            Ok((state, notes)) => {
                self.definitions.clear();
                self.assumed.clear();
                self.retracted.clear();
                self.state = state;
                Reply::ok(format!(
                    "reset: no session rules, nothing assumed or retracted; the model holds {} tuples\n",
                    self.state.model.total()
                ))
                .with_err(notes)
            }
            Err(e) => Reply::failed(e),
        }
    }
}

fn summary(state: &State, paths: &[PathBuf]) -> String {
    let program = &state.program;
    let relations = program
        .relations
        .iter()
        .filter(|r| r.kind == RelKind::Declared)
        .count();
    let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    format!(
        "loaded {}: {relations} relations, {} rules, {} statements, {} tuples\n",
        names.join(" "),
        program.rules.len(),
        program.policies.len(),
        state.model.total()
    )
}

#[cfg(test)]
mod tests;
