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
mod state;
mod why;

pub use command::{parse, Command, RequestArg, COLON_COMMANDS, KEYWORDS};
pub use complete::{complete, path_start, Words};
pub use input::is_complete;

use crate::check::Goal;
use crate::decide::{batch, response, Auth, Decider, Decision, Denial};
use crate::diag::{did_you_mean, Diagnostic};
use crate::eval::{EvalConfig, Model};
use crate::ir::{Fact, Program, RelKind, Sym, Term};
use crate::render::{self, RenderConfig};
use crate::source::SourceFile;
use state::{FactKey, State, Warnings};
use std::fmt::Write as _;
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

    // ---- what-if ----------------------------------------------------------------------------

    fn lower_fact(&mut self, text: &str) -> Result<(Fact, String), Reply> {
        let name = self.pseudo_file();
        match self.state.lower_fact(&name, text) {
            Ok(f) => Ok(f),
            Err(diags) => Err(Reply::failed(self.render(&diags))),
        }
    }

    /// `assume FACT.`: add the fact (or undo its retraction) and re-evaluate.
    fn assume(&mut self, text: &str) -> Reply {
        let (fact, canon) = match self.lower_fact(text) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let key = FactKey::of(&fact);
        if let Some(i) = self.retracted.iter().position(|t| *t == canon) {
            self.retracted.remove(i);
            self.state.retracted.remove(&key);
            return self.reevaluate(format!("restored {canon} (it was retracted)"), |s| {
                s.retracted.insert(i, canon.clone());
            });
        }
        if self.state.is_given(&key) || self.state.is_assumed(&key) {
            return Reply::ok(format!(
                "{canon} already holds as a given fact; nothing changed\n"
            ));
        }
        self.assumed.push(canon.clone());
        self.state.assumed.push(fact);
        self.reevaluate(format!("assumed {canon}"), |s| {
            s.assumed.pop();
        })
    }

    /// `retract FACT.`: drop a given or assumed fact and re-evaluate.
    fn retract(&mut self, text: &str) -> Reply {
        let (fact, canon) = match self.lower_fact(text) {
            Ok(f) => f,
            Err(r) => return r,
        };
        let key = FactKey::of(&fact);
        if let Some(i) = self.assumed.iter().position(|t| *t == canon) {
            self.assumed.remove(i);
            self.state.assumed.retain(|f| FactKey::of(f) != key);
            return self.reevaluate(format!("dropped the assumption {canon}"), |s| {
                s.assumed.insert(i, canon.clone());
            });
        }
        if self.state.retracted.contains(&key) {
            return Reply::ok(format!("{canon} is already retracted; nothing changed\n"));
        }
        if !self.state.is_given(&key) {
            let derived = self.state.model.get(fact.rel).contains(&fact.values);
            let help = if derived {
                "it is derived by rules; retract the given facts it follows from (`why` shows them)"
            } else {
                "it does not hold; only given facts (from the sources, the data or `assume`) can be retracted"
            };
            return Reply::failed(format!(
                "error: {canon} is not a given fact\n  help: {help}\n"
            ));
        }
        self.retracted.push(canon.clone());
        self.state.retracted.insert(key);
        self.reevaluate(format!("retracted {canon}"), |s| {
            s.retracted.pop();
        })
    }

    /// Re-evaluates after a what-if change; on failure `undo` restores the text lists and the
    /// state is rebuilt from them.
    fn reevaluate(&mut self, done: String, undo: impl FnOnce(&mut Session)) -> Reply {
        let before = self.state.model.total();
        match self
            .state
            .reevaluate(&self.assumed, &self.retracted, &self.config)
        {
            Ok(()) => {
                let after = self.state.model.total();
                Reply::ok(format!(
                    "{done}; the model holds {after} tuples (was {before})\n"
                ))
            }
            Err(e) => {
                undo(self);
                let err = match State::build(
                    &self.files,
                    &self.definitions,
                    &self.assumed,
                    &self.retracted,
                    Warnings::None,
                    &self.config,
                ) {
                    Ok((state, _)) => {
                        self.state = state;
                        String::new()
                    }
                    Err(e2) => e2,
                };
                Reply::failed(format!("{e}{err}"))
            }
        }
    }

    fn facts(&self) -> String {
        let mut out = String::new();
        if self.assumed.is_empty() && self.retracted.is_empty() && self.definitions.is_empty() {
            return "nothing assumed or retracted, no session rules\n".to_string();
        }
        for t in &self.assumed {
            let _ = writeln!(out, "assumed    {t}.");
        }
        for t in &self.retracted {
            let _ = writeln!(out, "retracted  {t}.");
        }
        for d in &self.definitions {
            let _ = writeln!(
                out,
                "defined    {}",
                d.text.trim().replace('\n', "\n           ")
            );
        }
        out
    }

    // ---- queries ----------------------------------------------------------------------------

    fn lower_goal(&mut self, text: &str) -> Result<Goal, Reply> {
        let name = self.pseudo_file();
        match self.state.lower_goal(&name, text) {
            Ok(g) => Ok(g),
            Err(diags) => Err(Reply::failed(self.render(&diags))),
        }
    }

    /// A goal: the matching tuples as TSV, or `true` / `false` for a ground goal.
    fn goal(&mut self, text: &str) -> Reply {
        let goal = match self.lower_goal(text) {
            Ok(g) => g,
            Err(r) => return r,
        };
        let rows = matching(&self.state.program, &self.state.model, &goal);
        let program = &self.state.program;
        if goal.var_names.is_empty() && goal.args.iter().all(|t| matches!(t, Term::Const(_))) {
            return Reply::ok(if rows.is_empty() { "false\n" } else { "true\n" });
        }
        let mut out = String::new();
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .map(|s| program.interner.value(*s).to_tsv())
                .collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
        let _ = writeln!(out, "({})", rows_text(rows.len()));
        Reply::ok(out)
    }

    fn why(&mut self, text: &str, why: bool) -> Reply {
        let goal = match self.lower_goal(text) {
            Ok(g) => g,
            Err(r) => return r,
        };
        why::why(&self.state, &self.config, &goal, why)
    }

    fn read_request(&self, arg: &RequestArg) -> Result<(serde_json::Value, String), Reply> {
        let (name, text) = match arg {
            RequestArg::Json(text) => ("the request".to_string(), text.clone()),
            RequestArg::File(path) => match std::fs::read_to_string(path) {
                Ok(t) => (format!("`{path}`"), t),
                Err(e) => return Err(Reply::failed(format!("error: cannot read `{path}`: {e}\n"))),
            },
        };
        match serde_json::from_str(&text) {
            Ok(json) => Ok((json, name)),
            Err(e) => Err(Reply::failed(format!(
                "error: {name} is not JSON: {e}\n  help: give the request inline (`decide {{\"subject\": ...}}`) or as a file (`decide @request.json`)\n"
            ))),
        }
    }

    /// `decide`: the AuthZEN response, as `ztpol decide --format json` prints it. A batch
    /// document (`evaluations`) gets the batch response.
    fn decide(&mut self, arg: &RequestArg) -> Reply {
        let (json, _) = match self.read_request(arg) {
            Ok(j) => j,
            Err(r) => return r,
        };
        let decider = Decider::new(&self.state.program, &self.state.model)
            .with_policy_hash(self.state.hash.clone());
        if batch::is_batch(&json) {
            return match batch::run_batch(&json, |j| decider.respond(j, Auth::None)) {
                Ok(resp) => Reply::ok(format!("{resp}\n")),
                Err(e) => Reply::failed(format!("error: malformed batch: {e}\n")),
            };
        }
        let decision = decider.decide_document(&json, Auth::None);
        let resp = response::to_json(&self.state.program, &decision, decider.policy_hash());
        let reply = Reply::ok(format!("{resp}\n"));
        if is_malformed(&decision) {
            Reply {
                status: Status::Failed,
                ..reply
            }
        } else {
            reply
        }
    }

    fn explain(&mut self, arg: &RequestArg) -> Reply {
        let (json, _) = match self.read_request(arg) {
            Ok(j) => j,
            Err(r) => return r,
        };
        why::explain_request(&self.state, &self.config, &json)
    }

    fn relations(&self) -> String {
        let program = &self.state.program;
        let mut rows: Vec<(String, usize)> = program
            .relations
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == RelKind::Declared)
            .map(|(i, r)| {
                let cols: Vec<String> = r
                    .columns
                    .iter()
                    .map(|c| match &c.name {
                        Some(n) => format!("{n}: {}", c.ty.name()),
                        None => c.ty.name().to_string(),
                    })
                    .collect();
                let n = self.state.model.rows.get(i).map_or(0, |rows| rows.len());
                (format!("{}({})", r.name, cols.join(", ")), n)
            })
            .collect();
        if rows.is_empty() {
            return "no relations\n".to_string();
        }
        rows.sort();
        let width = rows.iter().map(|(s, _)| s.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (sig, n) in rows {
            let _ = writeln!(out, "{sig:<width$}  {}", rows_text(n));
        }
        out
    }
}

fn is_malformed(d: &Decision) -> bool {
    matches!(d.denial, Some(Denial::Malformed(_)))
}

fn rows_text(n: usize) -> String {
    match n {
        0 => "no rows".to_string(),
        1 => "1 row".to_string(),
        n => format!("{n} rows"),
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

/// The tuples of the goal's relation that match its constants and repeated variables, in value
/// order.
pub(crate) fn matching(program: &Program, model: &Model, goal: &Goal) -> Vec<Vec<Sym>> {
    let mut rows: Vec<Vec<Sym>> = model
        .get(goal.rel)
        .iter()
        .filter(|tuple| {
            let mut bound: Vec<Option<Sym>> = vec![None; goal.var_names.len()];
            goal.args.iter().zip(tuple.iter()).all(|(t, v)| match t {
                Term::Const(c) => c == v,
                Term::Wildcard => true,
                Term::Var(var) => match bound.get_mut(var.0 as usize) {
                    Some(Some(b)) => b == v,
                    Some(slot) => {
                        *slot = Some(*v);
                        true
                    }
                    None => true,
                },
            })
        })
        .map(<[Sym]>::to_vec)
        .collect();
    rows.sort_by(|a, b| {
        a.iter()
            .zip(b)
            .map(|(x, y)| program.interner.compare(*x, *y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    rows
}

fn help() -> String {
    let mut out = String::from(
        "\
Commands (a command may span lines: rules and facts end with `.`, statements with `;`,
JSON with its last `}`):
  path(\"a\", X)            tuples matching a goal (also `?- path(\"a\", X).`)
  decide {...}            decide a request given as JSON (AuthZEN), or `decide @request.json`
  explain {...}           explain a decision (or `explain @request.json`)
  why GOAL                why a tuple holds
  whynot GOAL             why a tuple does not hold
  assume FACT.            add a fact and re-evaluate (what-if)
  retract FACT.           drop a given or assumed fact and re-evaluate
  RULE. / rel ... / permit ...;   add a rule, declaration or statement to the session
",
    );
    for (name, args, text) in COLON_COMMANDS {
        let _ = writeln!(out, "  {:<22}  {text}", format!("{name} {args}").trim_end());
    }
    out
}

#[cfg(test)]
mod tests;
