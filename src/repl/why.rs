//! `why`, `whynot` and `explain`: the REPL's hook into [`crate::explain`].
//!
//! [`why`] and [`explain_request`] are the only functions that know how an explanation is made:
//! an [`Explainer`] over the session's program and current model (what-if changes included),
//! rendered as the text tree `ztpol explain` and `ztpol query --explain` print.

use super::state::{FactKey, State};
use super::{Reply, SessionConfig};
use crate::check::Goal;
use crate::decide::Auth;
use crate::explain::{ExplainConfig, ExplainError, Explainer};
use crate::ir::{Program, Term};
use std::fmt::Write as _;

/// How many matching tuples `why` proves before it stops.
const MAX_TUPLES: usize = 10;

/// Runs `f` with an explainer over the session's current program and model. Facts retracted
/// from the program's own sources are left out of the program it sees, so that no explanation
/// can cite them.
fn with_explainer<R>(
    state: &State,
    config: &SessionConfig,
    f: impl FnOnce(&Explainer<'_>) -> R,
) -> R {
    let extra = state.extra_facts();
    let retracted_inline = state
        .program
        .facts
        .iter()
        .any(|f| state.retracted.contains(&FactKey::of(f)));
    let filtered;
    let program = if retracted_inline {
        filtered = Program {
            facts: state
                .program
                .facts
                .iter()
                .filter(|f| !state.retracted.contains(&FactKey::of(f)))
                .cloned()
                .collect(),
            ..state.program.clone()
        };
        &filtered
    } else {
        &state.program
    };
    let explain_config = ExplainConfig {
        limits: config.eval.limits,
        ..ExplainConfig::default()
    };
    let explainer = Explainer::with_config(program, &state.model, &extra, explain_config);
    f(&explainer)
}

/// `why GOAL` (`asked_holds` true) or `whynot GOAL` (false): the proof of each matching tuple,
/// or, when none matches, which rules could derive one and the premise each lacks.
pub(super) fn why(state: &State, config: &SessionConfig, goal: &Goal, asked_holds: bool) -> Reply {
    let rows = goal.matching(&state.program, &state.model);
    with_explainer(state, config, |ex| {
        let mut out = String::new();
        if rows.is_empty() {
            let pattern = goal.pattern();
            return match ex.why_not(goal.rel, &pattern) {
                Ok(w) => Reply::ok(ex.why_not_text(&w)),
                // Some tuple matches the constants, none the repeated variables.
                Err(ExplainError::Holds { .. }) => Reply::ok(format!(
                    "{} does not hold: tuples match its constants, but none has equal values where the goal repeats a variable\n",
                    goal_text(state, goal)
                )),
                Err(e) => Reply::failed(format!("error: {e}\n")),
            };
        }
        if !asked_holds {
            let _ = writeln!(
                out,
                "it holds: {} matching {}; why:",
                rows.len(),
                if rows.len() == 1 { "tuple" } else { "tuples" }
            );
        }
        for row in rows.iter().take(MAX_TUPLES) {
            match ex.prove(goal.rel, row) {
                Ok(p) => out.push_str(&ex.proof_text(&p)),
                Err(e) => return Reply::failed(format!("error: {e}\n")),
            }
        }
        if rows.len() > MAX_TUPLES {
            let _ = writeln!(
                out,
                "... and {} more (give constants to narrow the goal)",
                rows.len() - MAX_TUPLES
            );
        }
        Reply::ok(out)
    })
}

/// `explain REQUEST`: the decision with its derivation (allow) or its why-not (deny).
pub(super) fn explain_request(
    state: &State,
    config: &SessionConfig,
    json: &serde_json::Value,
) -> Reply {
    with_explainer(state, config, |ex| {
        match ex.explain_document(json, Auth::None) {
            Ok(e) => Reply::ok(ex.explanation_text(&e)),
            Err(e) => Reply::failed(format!("error: {e}\n")),
        }
    })
}

/// The goal in source syntax, variables by name.
fn goal_text(state: &State, goal: &Goal) -> String {
    let program = &state.program;
    let args: Vec<String> = goal
        .args
        .iter()
        .map(|t| match t {
            Term::Const(s) => program.interner.value(*s).to_string(),
            Term::Var(v) => goal
                .var_names
                .get(v.0 as usize)
                .cloned()
                .unwrap_or_else(|| "_".to_string()),
            Term::Wildcard => "_".to_string(),
        })
        .collect();
    format!("{}({})", program.relation(goal.rel).name, args.join(", "))
}
