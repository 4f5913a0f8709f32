//! The staged index: built once per program and model, so that a request is only lookups
//! and condition checks.
//!
//! Statements are indexed by the action patterns they name (exact names, families by prefix,
//! `*`); their instances by the principal ref in column 0 of the instance relation.

use crate::eval::Model;
use crate::ir::{ActionPat, PrincipalMatch, Program, Sym};
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};

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

/// The instances of every statement about chain principals, grouped by the principal ref in
/// column 0: a request looks up each chain principal once per statement, with no search.
#[derive(Debug, Clone, Default)]
pub struct InstanceIndex {
    policies: Vec<PolicyInstances>,
}

/// One statement's instance tuples, stored flat in the model's (sorted) order, and the range of
/// tuples each principal holds (contiguous, since the principal is column 0).
#[derive(Debug, Clone, Default)]
struct PolicyInstances {
    arity: usize,
    flat: Vec<Sym>,
    /// principal -> (first tuple, number of tuples)
    ranges: HashMap<Sym, (usize, usize), BuildSymHasher>,
}

impl InstanceIndex {
    pub fn new(program: &Program, model: &Model) -> InstanceIndex {
        let mut policies = Vec::with_capacity(program.policies.len());
        for p in &program.policies {
            let rows = model.get(p.rel);
            let mut ix = PolicyInstances {
                arity: rows.arity(),
                ..PolicyInstances::default()
            };
            match p.principal {
                // Statements about the request as a whole are read straight from the model.
                PrincipalMatch::Request => {}
                PrincipalMatch::Chain { .. } if rows.arity() == 0 => {}
                PrincipalMatch::Chain { .. } => {
                    ix.flat.reserve(rows.len() * rows.arity());
                    for (n, row) in rows.iter().enumerate() {
                        ix.flat.extend_from_slice(row);
                        // (every tuple has a column 0: the arity is not 0 here)
                        ix.ranges.entry(row[0]).or_insert((n, 0)).1 += 1;
                    }
                }
            }
            policies.push(ix);
        }
        InstanceIndex { policies }
    }

    /// The instances of statement `policy` whose principal is `principal`.
    pub fn instances(&self, policy: usize, principal: Sym) -> impl Iterator<Item = &[Sym]> {
        let slice = self.policies.get(policy).and_then(|ix| {
            let &(start, len) = ix.ranges.get(&principal)?;
            let tuples = ix.flat.get(start * ix.arity..(start + len) * ix.arity)?;
            Some((tuples, ix.arity))
        });
        slice
            .into_iter()
            .flat_map(|(tuples, arity)| tuples.chunks_exact(arity))
    }
}

/// Hashes symbols (dense `u32`s) with one multiplication.
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildSymHasher;

impl BuildHasher for BuildSymHasher {
    type Hasher = SymHasher;
    fn build_hasher(&self) -> SymHasher {
        SymHasher(0)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SymHasher(u64);

impl Hasher for SymHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(n)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}
