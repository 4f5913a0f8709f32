//! Evaluation: from facts to the model of a program, stratum by stratum.
//!
//! Two engines compute the same model: [`datafrog`](self::datafrog) (semi-naive, the one every
//! command uses) and [`naive`] (a direct fixpoint, kept as the oracle the fast one is tested
//! against). Both are bounded by [`Limits`]; hitting one is an [`EvalError`].

pub mod datafrog;
pub mod naive;
mod rows;
#[cfg(test)]
mod tests;

pub use rows::{Model, Rows};

use crate::ir::{Program, RelId};
use std::time::Duration;

/// Bounds on one evaluation. Defaults: 50,000,000 facts in all, 1,000,000 iterations per
/// stratum, 60 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total number of tuples (given and derived) across all relations.
    pub max_facts: usize,
    /// Semi-naive rounds in any one stratum.
    pub max_iterations: usize,
    /// Wall-clock time for the whole evaluation.
    pub max_time: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_facts: 50_000_000,
            max_iterations: 1_000_000,
            max_time: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    #[default]
    Datafrog,
    Naive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EvalConfig {
    pub engine: Engine,
    pub limits: Limits,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum EvalError {
    #[error("evaluation stopped: more than {limit} facts (while deriving `{relation}`)")]
    #[diagnostic(
        code(ztpol::eval::fact_limit),
        help("raise the limit with `--max-facts`, or check the rules for unintended blow-up")
    )]
    FactLimit { limit: usize, relation: String },
    #[error("evaluation stopped: more than {limit} iterations in the stratum of `{relation}`")]
    #[diagnostic(
        code(ztpol::eval::iteration_limit),
        help("raise the limit with `--max-iterations`")
    )]
    IterationLimit { limit: usize, relation: String },
    #[error("evaluation stopped: time limit of {limit:?} exceeded")]
    #[diagnostic(
        code(ztpol::eval::time_limit),
        help("raise the limit with `--max-time`")
    )]
    TimeLimit { limit: Duration },
}

/// Computes the model of `program` from `input` (the given facts of every relation, indexed
/// by [`RelId`]) with the engine `config` names.
pub fn evaluate(program: &Program, input: &Model, config: &EvalConfig) -> Result<Model, EvalError> {
    match config.engine {
        Engine::Datafrog => datafrog::evaluate(program, input, &config.limits),
        Engine::Naive => naive::evaluate(program, input, &config.limits),
    }
}

/// The input model of a program: its inline facts plus `extra`, every relation present.
pub fn input_model(program: &Program, extra: &[crate::ir::Fact]) -> Model {
    let mut flat: Vec<Vec<crate::ir::Sym>> = vec![Vec::new(); program.relations.len()];
    let mut counts = vec![0usize; program.relations.len()];
    for fact in program.facts.iter().chain(extra) {
        let i = fact.rel.index();
        flat[i].extend(fact.values.iter().copied());
        counts[i] += 1;
    }
    Model {
        rows: program
            .relations
            .iter()
            .zip(flat)
            .zip(counts)
            .map(|((rel, data), n)| Rows::from_unsorted(rel.arity(), n, data))
            .collect(),
    }
}

/// Name of a relation for error messages.
pub(crate) fn rel_name(program: &Program, rel: RelId) -> String {
    program.relation(rel).name.clone()
}
