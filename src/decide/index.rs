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

/// The instances of every statement about chain principals, by principal. The instance
/// relations are sorted, so each principal's tuples in one relation are contiguous; for each
/// principal symbol the index lists, by statement, where that run of tuples lies. One lookup
/// per principal finds its runs in every statement (they are stored together), and building
/// is two passes over column 0 of the instance relations, with no hashing.
#[derive(Debug, Clone, Default)]
pub struct InstanceIndex {
    /// The runs of principal symbol `s` are `runs[offsets[s]..offsets[s + 1]]`.
    offsets: Vec<u32>,
    /// Sorted by principal, then by statement.
    runs: Vec<Run>,
    /// Statements whose instance relation is too large for `u32` offsets: searched in the
    /// model instead.
    searched: Vec<usize>,
}

/// Tuples `start..start + len` of statement `policy`'s instance relation.
#[derive(Debug, Clone, Copy, Default)]
struct Run {
    policy: u32,
    start: u32,
    len: u32,
}

/// Calls `f(principal, first tuple, number of tuples)` for each run of equal column 0 of
/// `rows`, in order.
fn runs_of(rows: &Rows, mut f: impl FnMut(Sym, usize, usize)) {
    let arity = rows.arity();
    if arity == 0 {
        return;
    }
    let flat = rows.flat();
    let len = rows.len();
    let mut n = 0;
    while n < len {
        let sym = flat[n * arity];
        let mut end = n + 1;
        while end < len && flat[end * arity] == sym {
            end += 1;
        }
        f(sym, n, end - n);
        n = end;
    }
}

impl InstanceIndex {
    pub fn new(program: &Program, model: &Model) -> InstanceIndex {
        // Statements about the request as a whole are read straight from the model.
        let mut indexed: Vec<(u32, &Rows)> = Vec::new();
        let mut searched = Vec::new();
        for (i, p) in program.policies.iter().enumerate() {
            let rows = model.get(p.rel);
            match p.principal {
                PrincipalMatch::Request => {}
                PrincipalMatch::Chain { .. } if rows.arity() == 0 || rows.is_empty() => {}
                PrincipalMatch::Chain { .. } => match u32::try_from(i) {
                    Ok(n) if u32::try_from(rows.len()).is_ok() => indexed.push((n, rows)),
                    _ => searched.push(i),
                },
            }
        }
        // Run counts and offsets are `u32`: past that, every statement is searched.
        let tuples: u64 = indexed.iter().map(|(_, rows)| rows.len() as u64).sum();
        if u32::try_from(tuples).is_err() {
            searched.extend(indexed.drain(..).map(|(i, _)| i as usize));
        }
        // (rows are sorted: the last tuple has the largest principal)
        let symbols = indexed
            .iter()
            .map(|(_, rows)| rows.flat()[(rows.len() - 1) * rows.arity()].0 as usize + 1)
            .max()
            .unwrap_or(0);
        let mut counts = vec![0u32; symbols + 1];
        for (_, rows) in &indexed {
            runs_of(rows, |sym, _, _| counts[sym.0 as usize + 1] += 1);
        }
        for s in 1..counts.len() {
            counts[s] += counts[s - 1];
        }
        let offsets = counts;
        let total = offsets.last().copied().unwrap_or(0) as usize;
        let mut runs = vec![Run::default(); total];
        let mut next = offsets.clone();
        for &(policy, rows) in &indexed {
            runs_of(rows, |sym, start, len| {
                let slot = &mut next[sym.0 as usize];
                // (start and len fit in u32: the relation's length does, checked above)
                runs[*slot as usize] = Run {
                    policy,
                    start: start as u32,
                    len: len as u32,
                };
                *slot += 1;
            });
        }
        InstanceIndex {
            offsets,
            runs,
            searched,
        }
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
        let Some(p) = program.policies.get(policy) else {
            return [].chunks_exact(1);
        };
        let rows = model.get(p.rel);
        let arity = rows.arity();
        if arity == 0 {
            return [].chunks_exact(1);
        }
        if self.searched.contains(&policy) {
            return rows.with_prefix_flat(&[principal]).chunks_exact(arity);
        }
        let s = principal.0 as usize;
        let (Some(&lo), Some(&hi)) = (self.offsets.get(s), self.offsets.get(s + 1)) else {
            return [].chunks_exact(1);
        };
        let found = self
            .runs
            .get(lo as usize..hi as usize)
            .and_then(|runs| runs.iter().find(|r| r.policy as usize == policy))
            .and_then(|r| {
                let (start, len) = (r.start as usize, r.len as usize);
                rows.flat().get(start * arity..(start + len) * arity)
            });
        match found {
            Some(tuples) => tuples.chunks_exact(arity),
            None => [].chunks_exact(1),
        }
    }
}
