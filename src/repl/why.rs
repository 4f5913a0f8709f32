//! `why`, `whynot` and `explain`: the REPL's hook into explanations.
//!
//! [`why`] and [`explain_request`] are the only functions that know how an explanation is made.
//! This build answers from the model alone: whether the tuple holds, where a given fact comes
//! from, and which rules have a head that matches; for a request, the decision with its reasons.

use super::state::State;
use super::{matching, Reply};
use crate::check::Goal;
use crate::decide::{response, Auth, Decider};
use crate::ir::{Fact, Origin, Program, RelId, Rule, Sym, Term};
use std::fmt::Write as _;

/// How many matching tuples `why` explains before it stops.
const MAX_TUPLES: usize = 20;

/// `why GOAL` (`holds` true) or `whynot GOAL` (`holds` false).
pub(super) fn why(state: &State, goal: &Goal, holds: bool) -> Reply {
    let program = &state.program;
    let rows = matching(program, &state.model, goal);
    let pattern = goal_text(state, goal);
    let mut out = String::new();
    match (holds, rows.is_empty()) {
        (true, true) | (false, true) => {
            let _ = writeln!(out, "{pattern} does not hold");
            let rules = rules_for_goal(program, goal);
            if rules.is_empty() {
                let _ = writeln!(
                    out,
                    "  no given fact matches it and no rule derives `{}`",
                    program.relation(goal.rel).name
                );
            } else {
                let _ = writeln!(out, "  no given fact matches it; rules whose head matches:");
                for rule in rules {
                    let _ = writeln!(out, "    {}", rule_line(program, rule));
                }
            }
        }
        (true, false) | (false, false) => {
            if !holds {
                let _ = writeln!(out, "{pattern} holds");
            }
            let extra = state.extra_facts();
            for row in rows.iter().take(MAX_TUPLES) {
                let _ = writeln!(out, "{} holds", state.tuple_text(goal.rel, row));
                if let Some(origin) = given_origin(program, &extra, goal.rel, row) {
                    let _ = writeln!(out, "  given: {origin}");
                }
                let rules = rules_for_tuple(program, goal.rel, row);
                if !rules.is_empty() {
                    let _ = writeln!(out, "  rules that can derive it:");
                    for rule in rules {
                        let _ = writeln!(out, "    {}", rule_line(program, rule));
                    }
                }
            }
            if rows.len() > MAX_TUPLES {
                let _ = writeln!(out, "... and {} more", rows.len() - MAX_TUPLES);
            }
        }
    }
    Reply::ok(out)
}

/// `explain REQUEST`: the decision with its reasons.
pub(super) fn explain_request(state: &State, json: &serde_json::Value) -> Reply {
    let decider = Decider::new(&state.program, &state.model).with_policy_hash(state.hash.clone());
    let decision = decider.decide_document(json, Auth::None);
    let program = &state.program;
    let mut out = String::new();
    let verdict = match (decision.allowed, decision.constraints.is_always()) {
        (true, true) => "allow",
        (true, false) => "allow under constraints",
        (false, _) => "deny",
    };
    let _ = writeln!(out, "{verdict}");
    if decision.allowed {
        let _ = writeln!(out, "  grants: {}", decision.grants.join(", "));
        for id in &decision.grants {
            if let Some(p) = program.policies.iter().find(|p| p.id == *id) {
                let _ = writeln!(out, "    {id}: {}", program.sources.location(p.span));
            }
        }
        if !decision.constraints.is_always() {
            let _ = writeln!(out, "  constraints: {}", decision.constraints);
        }
    }
    let _ = writeln!(
        out,
        "  reason: {}",
        response::reason_admin(program, &decision)
    );
    Reply::ok(out)
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

/// Where a given tuple comes from, if it is given.
fn given_origin(program: &Program, extra: &[Fact], rel: RelId, row: &[Sym]) -> Option<String> {
    let fact = program
        .facts
        .iter()
        .chain(extra)
        .find(|f| f.rel == rel && f.values == row)?;
    Some(match &fact.origin {
        Origin::Inline(span) => program.sources.location(*span),
        Origin::DataFile { file, row } => format!("{file}, row {}", row + 1),
        Origin::FactsFile { file, line } => format!("{file}:{line}"),
    })
}

/// The rules whose head can match the goal: its constants agree with the head's.
fn rules_for_goal<'p>(program: &'p Program, goal: &Goal) -> Vec<&'p Rule> {
    program
        .rules
        .iter()
        .filter(|rule| {
            rule.head.rel == goal.rel
                && rule.head.args.len() == goal.args.len()
                && rule
                    .head
                    .args
                    .iter()
                    .zip(&goal.args)
                    .all(|(h, g)| match (h, g) {
                        (Term::Const(a), Term::Const(b)) => a == b,
                        _ => true,
                    })
        })
        .collect()
}

/// The rules whose head matches the tuple.
fn rules_for_tuple<'p>(program: &'p Program, rel: RelId, tuple: &[Sym]) -> Vec<&'p Rule> {
    program
        .rules
        .iter()
        .filter(|rule| rule.head.rel == rel && head_unifies(rule, tuple))
        .collect()
}

fn head_unifies(rule: &Rule, values: &[Sym]) -> bool {
    if rule.head.args.len() != values.len() {
        return false;
    }
    let mut bound: Vec<Option<Sym>> = vec![None; rule.var_names.len()];
    rule.head.args.iter().zip(values).all(|(t, v)| match t {
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
}

/// `file:line  text of the rule` on one line.
fn rule_line(program: &Program, rule: &Rule) -> String {
    let text = program.sources.snippet(rule.span);
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    format!("{}  {text}", program.sources.location(rule.span))
}
