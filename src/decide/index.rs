//! The staged index: built once per program and model, so that a request is only lookups
//! and condition checks.
//!
//! Statements are indexed by the action patterns they name (exact names, families by prefix,
//! `*`); their instances by the principal ref in column 0 of the instance relation.

use crate::eval::{Model, Rows};
use crate::ir::{ActionPat, PrincipalMatch, Program, Sym};
use std::borrow::Cow;
use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct ActionIndex {
    exact: HashMap<String, Vec<usize>>,
    families: HashMap<String, Vec<usize>>,
    any: Vec<usize>,
    /// For every action name some statement names exactly: every statement covering it
    /// (exact, family and `*` patterns), ascending, each once.
    merged: HashMap<String, Vec<usize>>,
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
        let merged = ix
            .exact
            .keys()
            .map(|a| (a.clone(), ix.collect(a)))
            .collect();
        ix.merged = merged;
        ix
    }

    /// Every statement whose action patterns cover `action`, ascending, each once.
    fn collect(&self, action: &str) -> Vec<usize> {
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
        out
    }

    /// The statements (indices into `program.policies`, ascending) whose action patterns
    /// cover `action`, whatever the resource kind: borrowed for the action names the program
    /// names exactly, computed for the others.
    pub fn for_action(&self, action: &str) -> Cow<'_, [usize]> {
        match self.merged.get(action) {
            Some(v) => Cow::Borrowed(v.as_slice()),
            None => Cow::Owned(self.collect(action)),
        }
    }

    /// The statements (indices into `program.policies`, ascending) that cover `action` on a
    /// resource of kind `kind`.
    pub fn candidates(&self, program: &Program, action: &str, kind: &str) -> Vec<usize> {
        self.for_action(action)
            .iter()
            .copied()
            .filter(|&i| covers_kind(program, i, kind))
            .collect()
    }
}

/// Whether statement `i` covers resources of kind `kind`.
pub fn covers_kind(program: &Program, i: usize, kind: &str) -> bool {
    program
        .policies
        .get(i)
        .is_some_and(|p| p.resources.is_empty() || p.resources.iter().any(|r| r == kind))
}

/// The instances of every statement about chain principals, found by the principal ref in
/// column 0. The instance relations are sorted, so each principal's tuples are contiguous; a
/// directory over the principal's symbol (one entry per bucket of `2^shift` consecutive
/// symbols) narrows the search to a few tuples. Building it is one pass over column 0.
#[derive(Debug, Clone, Default)]
pub struct InstanceIndex {
    policies: Vec<Option<Directory>>,
}

/// For one instance relation: `start[b]` is the first tuple whose principal symbol `s` has
/// `(s - first) >> shift >= b`; the last entry is the number of tuples.
#[derive(Debug, Clone, Default)]
struct Directory {
    first: u32,
    shift: u32,
    start: Vec<u32>,
}

impl Directory {
    /// `None` for an empty relation, one without columns, or one too large for `u32` offsets.
    fn new(rows: &Rows) -> Option<Directory> {
        let arity = rows.arity();
        let len = rows.len();
        if arity == 0 || len == 0 || u32::try_from(len).is_err() {
            return None;
        }
        let flat = rows.flat();
        let col0 = |n: usize| flat[n * arity].0;
        let (first, last) = (col0(0), col0(len - 1));
        let range = u64::from(last - first) + 1;
        // At most about one bucket per tuple.
        let mut shift = 0;
        while (range >> shift) > len as u64 {
            shift += 1;
        }
        let buckets = ((last - first) >> shift) as usize + 1;
        let mut start = Vec::with_capacity(buckets + 1);
        for n in 0..len {
            let b = ((col0(n) - first) >> shift) as usize;
            while start.len() <= b {
                // (n < len fits in u32: checked above)
                start.push(n as u32);
            }
        }
        start.resize(buckets + 1, len as u32);
        Some(Directory {
            first,
            shift,
            start,
        })
    }

    /// The tuples (flat) of `rows` whose column 0 is `sym`.
    fn find<'r>(&self, rows: &'r Rows, sym: Sym) -> &'r [Sym] {
        let Some(off) = sym.0.checked_sub(self.first) else {
            return &[];
        };
        let b = (off >> self.shift) as usize;
        let (Some(&lo), Some(&hi)) = (self.start.get(b), self.start.get(b + 1)) else {
            return &[];
        };
        let arity = rows.arity();
        let Some(bucket) = rows.flat().get(lo as usize * arity..hi as usize * arity) else {
            return &[];
        };
        let n = bucket.len() / arity;
        let col0 = |i: usize| bucket[i * arity];
        let from = partition_point(n, |i| col0(i) < sym);
        let to = from + partition_point(n - from, |i| col0(from + i) <= sym);
        &bucket[from * arity..to * arity]
    }
}

fn partition_point(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

impl InstanceIndex {
    pub fn new(program: &Program, model: &Model) -> InstanceIndex {
        let policies = program
            .policies
            .iter()
            .map(|p| match p.principal {
                // Statements about the request as a whole are read straight from the model.
                PrincipalMatch::Request => None,
                PrincipalMatch::Chain { .. } => Directory::new(model.get(p.rel)),
            })
            .collect();
        InstanceIndex { policies }
    }

    /// The instances of statement `policy` whose principal is `principal`; `model` must be the
    /// model the index was built from.
    pub fn instances<'m>(
        &self,
        program: &Program,
        model: &'m Model,
        policy: usize,
        principal: Sym,
    ) -> std::slice::ChunksExact<'m, Sym> {
        let found = match (self.policies.get(policy), program.policies.get(policy)) {
            (Some(Some(dir)), Some(p)) => {
                let rows = model.get(p.rel);
                Some((dir.find(rows, principal), rows.arity()))
            }
            _ => None,
        };
        match found {
            Some((tuples, arity)) => tuples.chunks_exact(arity),
            // (an empty slice in chunks of 1: no tuples)
            None => [].chunks_exact(1),
        }
    }
}
