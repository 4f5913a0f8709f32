//! Goals, decisions, explanations and `:relations`.

use super::{why, Reply, RequestArg, Session, Status, COLON_COMMANDS};
use crate::check::Goal;
use crate::decide::{batch, response, Auth, Decider, Decision, Denial};
use crate::ir::{RelKind, Term};
use std::fmt::Write as _;

impl Session {
    pub(super) fn lower_goal(&mut self, text: &str) -> Result<Goal, Reply> {
        let name = self.pseudo_file();
        match self.state.lower_goal(&name, text) {
            Ok(g) => Ok(g),
            Err(diags) => Err(Reply::failed(self.render(&diags))),
        }
    }

    /// A goal: the matching tuples as TSV, or `true` / `false` for a ground goal.
    pub(super) fn goal(&mut self, text: &str) -> Reply {
        let goal = match self.lower_goal(text) {
            Ok(g) => g,
            Err(r) => return r,
        };
        let rows = goal.matching(&self.state.program, &self.state.model);
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

    pub(super) fn why(&mut self, text: &str, why: bool) -> Reply {
        let goal = match self.lower_goal(text) {
            Ok(g) => g,
            Err(r) => return r,
        };
        why::why(&self.state, &self.config, &goal, why)
    }

    pub(super) fn read_request(
        &self,
        arg: &RequestArg,
    ) -> Result<(serde_json::Value, String), Reply> {
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
    pub(super) fn decide(&mut self, arg: &RequestArg) -> Reply {
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
        let decided = decider.decide_document(&json, Auth::None);
        let resp = response::to_json(&decider, decided.request.as_ref(), &decided.decision);
        let reply = Reply::ok(format!("{resp}\n"));
        if is_malformed(&decided.decision) {
            Reply {
                status: Status::Failed,
                ..reply
            }
        } else {
            reply
        }
    }

    pub(super) fn explain(&mut self, arg: &RequestArg) -> Reply {
        let (json, _) = match self.read_request(arg) {
            Ok(j) => j,
            Err(r) => return r,
        };
        why::explain_request(&self.state, &self.config, &json)
    }

    pub(super) fn relations(&self) -> String {
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

pub(super) fn rows_text(n: usize) -> String {
    match n {
        0 => "no rows".to_string(),
        1 => "1 row".to_string(),
        n => format!("{n} rows"),
    }
}

pub(super) fn help() -> String {
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
