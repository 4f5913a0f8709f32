//! The staged index: built once per program and model, so that a request is only lookups
//! and condition checks.
//!
//! Statements are indexed by the action patterns they name (exact names, families by prefix,
//! `*`); their instances by the principal ref in column 0 of the instance relation.

use super::principals::{PrincipalTable, RefKey};
use crate::eval::{Model, Rows};
use crate::hash::FastMap;
use crate::ir::{ActionPat, PrincipalMatch, Program, Sym, Value};
use std::borrow::Cow;

#[derive(Debug, Clone, Default)]
pub struct ActionIndex {
    exact: FastMap<String, Vec<usize>>,
    families: FastMap<String, Vec<usize>>,
    any: Vec<usize>,
    /// For every action name some statement names exactly: every statement covering it
    /// (exact, family and `*` patterns), ascending, each once.
    merged: FastMap<String, Vec<usize>>,
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
/// principal the index lists, by statement, where that run of tuples lies. The principals are
/// found by their ref in a [`PrincipalTable`] (one probe, no interner), whose entry is the
/// range of the principal's runs (stored together), so that one lookup per principal finds
/// its runs in every statement. Building is two passes over column 0 of the instance
/// relations, and one insertion per principal.
#[derive(Debug, Clone, Default)]
pub struct InstanceIndex {
    /// Principal ref -> `[first run, number of runs]`.
    principals: PrincipalTable,
    /// Sorted by principal, then by statement.
    runs: Vec<Run>,
    /// Statements whose instance relation is too large for `u32` offsets: searched in the
    /// model instead.
    searched: Vec<usize>,
}

/// Tuples `start..start + len` of statement `policy`'s instance relation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Run {
    policy: u32,
    start: u32,
    len: u32,
}

/// One principal's entry in an [`InstanceIndex`]: its runs, and its symbol when some
/// statement is searched in the model.
#[derive(Debug, Clone, Copy, Default)]
pub struct PrincipalRuns<'i> {
    runs: &'i [Run],
    sym: Option<Sym>,
}

impl<'i> PrincipalRuns<'i> {
    /// Reads the principal's first run, so that later reads find the runs in cache; returns a
    /// word of it for [`std::hint::black_box`].
    #[inline]
    pub fn touch(&self) -> u32 {
        self.runs.first().map_or(0, |r| r.policy)
    }

    /// The indexed statements this principal has instances of, ascending (each once), with
    /// where those instances lie ([`InstanceIndex::tuples`]).
    pub fn runs(&self) -> impl Iterator<Item = (usize, Run)> + 'i {
        self.runs.iter().map(|r| (r.policy as usize, *r))
    }
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
        // The runs of principal symbol `s` are `runs[offsets[s]..offsets[s + 1]]`.
        let mut counts = vec![0u32; symbols + 1];
        for (_, rows) in &indexed {
            runs_of(rows, |sym, _, _| counts[sym.0 as usize + 1] += 1);
        }
        for s in 1..counts.len() {
            counts[s] += counts[s - 1];
        }
        let offsets = counts;
        let total = offsets.last().copied().unwrap_or(0) as usize;
        let mut runs = super::principals::large_vec(total, Run::default());
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
        let with_runs = offsets.windows(2).filter(|w| w[0] < w[1]).count();
        let mut principals = PrincipalTable::with_capacity(with_runs);
        for (s, w) in offsets.windows(2).enumerate() {
            if w[0] == w[1] {
                continue;
            }
            // A request's principal ref is a string: other values are never looked up.
            // (`s` < `symbols`, which came from a `u32` symbol)
            if let Value::Str(r) = program.interner.value(Sym(s as u32)) {
                principals.insert(r, [w[0], w[1] - w[0]]);
            }
        }
        InstanceIndex {
            principals,
            runs,
            searched,
        }
    }

    /// The ref `type:id` prepared for [`InstanceIndex::principal`]; call
    /// [`InstanceIndex::touch`] on the keys of every principal of a request before looking any
    /// of them up, so that their (likely uncached) slots are read together.
    pub fn key<'r>(&self, ty: &'r str, id: &'r str) -> RefKey<'r> {
        self.principals.key(ty, id)
    }

    /// Reads `key`'s slot of the directory ahead of [`InstanceIndex::principal`].
    #[inline]
    pub fn touch(&self, key: &RefKey<'_>) -> u32 {
        self.principals.touch(key)
    }

    /// The runs of the principal whose ref `key` is; `program` must be the program the index
    /// was built from.
    pub fn principal(&self, program: &Program, key: &RefKey<'_>) -> PrincipalRuns<'_> {
        let runs = self
            .principals
            .get(key)
            .and_then(|[first, n]| {
                let first = first as usize;
                self.runs.get(first..first + n as usize)
            })
            .unwrap_or_default();
        let sym = if self.searched.is_empty() {
            None
        } else {
            let (ty, id) = key.parts();
            lookup_ref(program, ty, id)
        };
        PrincipalRuns { runs, sym }
    }

    /// Whether some statement's instances are searched in the model rather than indexed
    /// (then [`PrincipalRuns::runs`] does not list them all).
    pub fn searches(&self) -> bool {
        !self.searched.is_empty()
    }

    /// The instances of statement `policy` that `run` (one of [`PrincipalRuns::runs`]) lists.
    pub fn tuples<'m>(
        &self,
        program: &Program,
        model: &'m Model,
        policy: usize,
        run: Run,
    ) -> std::slice::ChunksExact<'m, Sym> {
        let Some(p) = program.policies.get(policy) else {
            return [].chunks_exact(1);
        };
        let rows = model.get(p.rel);
        let arity = rows.arity();
        let (start, len) = (run.start as usize, run.len as usize);
        match rows.flat().get(start * arity..(start + len) * arity) {
            Some(tuples) if arity > 0 => tuples.chunks_exact(arity),
            Some(_) | None => [].chunks_exact(1),
        }
    }

    /// The instances of statement `policy` about `principal` (from
    /// [`InstanceIndex::principal`]); `model` must be the model the index was built from.
    pub fn instances<'m>(
        &self,
        program: &Program,
        model: &'m Model,
        policy: usize,
        principal: &PrincipalRuns<'_>,
    ) -> std::slice::ChunksExact<'m, Sym> {
        let Some(p) = program.policies.get(policy) else {
            return [].chunks_exact(1);
        };
        let rows = model.get(p.rel);
        let arity = rows.arity();
        if arity == 0 {
            return [].chunks_exact(1);
        }
        let found = match principal.runs.iter().find(|r| r.policy as usize == policy) {
            Some(r) => {
                let (start, len) = (r.start as usize, r.len as usize);
                rows.flat().get(start * arity..(start + len) * arity)
            }
            None => match principal.sym {
                Some(sym) if self.searched.contains(&policy) => Some(rows.with_prefix_flat(&[sym])),
                Some(_) | None => None,
            },
        };
        match found {
            Some(tuples) => tuples.chunks_exact(arity),
            None => [].chunks_exact(1),
        }
    }
}

/// The symbol of the ref `type:id`, written into a stack buffer when it is short.
fn lookup_ref(program: &Program, ty: &str, id: &str) -> Option<Sym> {
    const CAP: usize = 128;
    let (ty, id) = (ty.as_bytes(), id.as_bytes());
    let n = ty.len() + 1 + id.len();
    let mut buf = [0u8; CAP];
    if n > CAP {
        let mut r = Vec::with_capacity(n);
        r.extend_from_slice(ty);
        r.push(b':');
        r.extend_from_slice(id);
        return std::str::from_utf8(&r)
            .ok()
            .and_then(|r| program.interner.lookup_str(r));
    }
    buf[..ty.len()].copy_from_slice(ty);
    buf[ty.len()] = b':';
    buf[ty.len() + 1..n].copy_from_slice(id);
    // (two strings joined by an ASCII byte are UTF-8)
    std::str::from_utf8(&buf[..n])
        .ok()
        .and_then(|r| program.interner.lookup_str(r))
}
