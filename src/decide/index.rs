//! The staged index: built once per program and model, so that a request is only lookups
//! and condition checks.
//!
//! Statements are indexed by the action patterns they name (exact names, families by prefix,
//! `*`); instances are found by principal with a binary search of the instance relation, whose
//! tuples are sorted with the principal ref in column 0.

use crate::ir::{ActionPat, Program};
use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct ActionIndex {
    exact: HashMap<String, Vec<usize>>,
    families: HashMap<String, Vec<usize>>,
    any: Vec<usize>,
}

impl ActionIndex {
    pub fn new(program: &Program) -> ActionIndex {
        let mut ix = ActionIndex::default();
        for (i, p) in program.policies.iter().enumerate() {
            for pat in &p.actions {
                match pat {
                    ActionPat::Exact(a) => ix.exact.entry(a.clone()).or_default().push(i),
                    ActionPat::Family(f) => ix.families.entry(f.clone()).or_default().push(i),
                    ActionPat::Any => ix.any.push(i),
                }
            }
        }
        ix
    }

    /// The statements (indices into `program.policies`, ascending) that cover `action` on a
    /// resource of kind `kind`.
    pub fn candidates(&self, program: &Program, action: &str, kind: &str) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        if let Some(v) = self.exact.get(action) {
            out.extend(v);
        }
        if !self.families.is_empty() {
            for (i, _) in action.match_indices('.') {
                if i + 1 < action.len() {
                    if let Some(v) = self.families.get(&action[..i]) {
                        out.extend(v);
                    }
                }
            }
        }
        out.extend(&self.any);
        out.sort_unstable();
        out.dedup();
        out.retain(|&i| {
            let p = &program.policies[i];
            p.resources.is_empty() || p.resources.iter().any(|r| r == kind)
        });
        out
    }
}
