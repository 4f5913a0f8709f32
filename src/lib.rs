//! ztpol: a zero-trust policy compiler for AI agents.
//!
//! The pipeline, in the order data flows: [`syntax`] (text to AST), [`check`] (names, types,
//! stratification; lowering to [`ir`]), [`eval`] (the data-time model, with datafrog), and the
//! decision, explanation and bundle stages built on the model.

pub mod bundle;
pub mod check;
pub mod data;
pub mod decide;
pub mod diag;
pub mod diff;
pub mod eval;
pub mod explain;
pub mod hash;
pub mod ir;
pub mod load;
mod mem;
pub mod render;
pub mod repl;
pub mod source;
pub mod stdlib;
pub mod syntax;
pub mod token;
