//! Source text to AST, with pest. Names are not resolved here.

pub mod ast;
mod parser;

pub use parser::{parse_atom, parse_module};
