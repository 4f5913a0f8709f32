//! The staged index: built once per program and model, so that a request is only lookups
//! and condition checks.
//!
//! Statements are indexed by the action patterns they name (exact names, families by prefix,
//! `*`); their instances by the principal ref in column 0 of the instance relation.

use crate::eval::{Model, Rows};
use crate::hash::FastMap;
use crate::ir::{ActionPat, Effect, Hashed, PrincipalMatch, Program, Sym, Value};
use crate::mem::same;
use std::borrow::Cow;

#[derive(Debug, Clone, Default)]
pub struct ActionIndex {
    exact: FastMap<String, Vec<usize>>,
    families: FastMap<String, Vec<usize>>,
    any: Vec<usize>,
    /// Whether each statement is a forbid.
    forbid: Vec<bool>,
    /// For each statement, the first statement with the same id.
    first_with_id: Vec<usize>,
    /// For every action name some statement names exactly: the statements covering it.
    named: Vec<(String, Covering)>,
    /// Where each name of `named` is, when there are more than [`FEW`] (fewer are scanned,
    /// which is faster than hashing the name).
    by_name: FastMap<String, usize>,
}

/// Action names an [`ActionIndex`] finds by scanning rather than hashing.
const FEW: usize = 16;

/// The statements covering an action (exact, family and `*` patterns), whatever the resource
/// kind, ascending, each once.
#[derive(Debug, Clone, Default)]
pub struct Covering {
    pub all: Vec<usize>,
    /// The forbids among them.
    pub forbids: Vec<usize>,
}

impl ActionIndex {
    pub fn new(program: &Program) -> ActionIndex {
        let mut ix = ActionIndex {
            forbid: program
                .policies
                .iter()
                .map(|p| p.effect == Effect::Forbid)
                .collect(),
            ..ActionIndex::default()
        };
        let mut firsts: FastMap<&str, usize> = FastMap::default();
        ix.first_with_id = program
            .policies
            .iter()
            .enumerate()
            .map(|(i, p)| *firsts.entry(p.id.as_str()).or_insert(i))
            .collect();
        for (i, p) in program.policies.iter().enumerate() {
            for pat in &p.actions {
                match pat {
                    ActionPat::Exact(a) => ix.exact.entry(a.clone()).or_default().push(i),
                    ActionPat::Family(f) => ix.families.entry(f.clone()).or_default().push(i),
                    ActionPat::Any => ix.any.push(i),
                }
            }
        }
        let mut names: Vec<&String> = ix.exact.keys().collect();
        names.sort_unstable();
        let named: Vec<(String, Covering)> = names
            .into_iter()
            .map(|a| (a.clone(), ix.collect(a)))
            .collect();
        if named.len() > FEW {
            ix.by_name = named
                .iter()
                .enumerate()
                .map(|(k, (a, _))| (a.clone(), k))
                .collect();
        }
        ix.named = named;
        ix
    }

    /// Every statement whose action patterns cover `action`.
    fn collect(&self, action: &str) -> Covering {
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
        let forbids = out
            .iter()
            .copied()
            .filter(|&i| self.forbid.get(i).copied().unwrap_or(false))
            .collect();
        Covering { all: out, forbids }
    }

    /// The statements whose action patterns cover `action`, whatever the resource kind:
    /// borrowed for the action names the program names exactly, computed for the others.
    pub fn covering(&self, action: &str) -> Cow<'_, Covering> {
        let found = if self.by_name.is_empty() {
            self.named
                .iter()
                .find(|(a, _)| same(a.as_bytes(), action.as_bytes()))
        } else {
            self.by_name.get(action).and_then(|&k| self.named.get(k))
        };
        match found {
            Some((_, c)) => Cow::Borrowed(c),
            None => Cow::Owned(self.collect(action)),
        }
    }

    /// Whether statements `i` and `j` have the same id.
    #[inline]
    pub fn same_id(&self, i: usize, j: usize) -> bool {
        i == j
            || match (self.first_with_id.get(i), self.first_with_id.get(j)) {
                (Some(a), Some(b)) => a == b,
                // (not statements of the program)
                _ => false,
            }
    }

    /// The statements (indices into `program.policies`, ascending) whose action patterns
    /// cover `action`, whatever the resource kind.
    pub fn for_action(&self, action: &str) -> Cow<'_, [usize]> {
        match self.covering(action) {
            Cow::Borrowed(c) => Cow::Borrowed(c.all.as_slice()),
            Cow::Owned(c) => Cow::Owned(c.all),
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
    program.policies.get(i).is_some_and(|p| {
        p.resources.is_empty()
            || p.resources
                .iter()
                .any(|r| same(r.as_bytes(), kind.as_bytes()))
    })
}

/// The instances of every statement about chain principals, by principal. The instance
/// relations are sorted, so each principal's tuples in one relation are contiguous; for each
/// principal symbol the index lists, by statement, where that run of tuples lies (the runs of
/// one principal are stored together). A principal is found by its ref in the interner's
/// table, and the index keeps, for each slot of that table, the runs of the symbol in it: the
/// slot's position (known from the ref's hash before the slot is read) locates the runs, so
/// that reading the runs does not wait for the slot. Building is two passes over column 0 of
/// the instance relations and one over the interner's slots, with no hashing.
#[derive(Debug, Clone, Default)]
pub struct InstanceIndex {
    /// The runs of principal symbol `s` are `runs[offsets[s]..offsets[s + 1]]`.
    offsets: Vec<u32>,
    /// For each slot of the interner's table, as it was when the index was built: the runs
    /// and the record of the symbol in it, when it has runs.
    by_slot: Vec<SlotEntry>,
    /// The records (ref length, run count, ref) of the principals with runs, one after
    /// another.
    names: Vec<u8>,
    /// Sorted by principal, then by statement.
    runs: Vec<Run>,
    /// Statements whose instance relation is too large for `u32` offsets: searched in the
    /// model instead.
    searched: Vec<usize>,
}

/// The principal in one slot of the interner's table: where its runs start in `runs`, and
/// where its record is in `names`, plus one (0: none; a symbol without runs). A record is the
/// number of bytes of the ref, the number of runs (one byte each), then the ref: one read
/// gives both the ref to compare and how many runs to take. Principals with refs or run
/// counts past a byte have no record and are found through the interner.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C, align(8))]
struct SlotEntry {
    first: u32,
    name: u32,
}

/// Tuples `start..start + len` of statement `policy`'s instance relation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Run {
    policy: u32,
    start: u32,
    len: u32,
}

/// One principal's entry in an [`InstanceIndex`]: its runs, and its symbol (`None`: no
/// relation mentions it).
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

    /// Whether this principal has a run of statement `policy` (an indexed statement's
    /// instances about it).
    #[inline]
    pub fn has(&self, policy: usize) -> bool {
        self.run(policy).is_some()
    }

    /// The principal's run of statement `policy`.
    #[inline]
    fn run(&self, policy: usize) -> Option<&'i Run> {
        self.runs.iter().find(|r| r.policy as usize == policy)
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
        let mut runs = crate::mem::large_vec(total, Run::default());
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
        // The refs in symbol order (the interner's values, read one after another), then
        // one pass over the interner's slots.
        let mut names = Vec::new();
        let mut named = vec![0u32; symbols];
        for (s, w) in offsets.windows(2).enumerate() {
            // A request's principal ref is a string: other values are never looked up.
            // (`s` < `symbols`, which came from a `u32` symbol)
            let (true, Value::Str(r)) = (w[0] < w[1], program.interner.value(Sym(s as u32))) else {
                continue;
            };
            let fits = (u8::try_from(r.len()), u8::try_from(w[1] - w[0]));
            let (Ok(len), Ok(count)) = fits else { continue };
            // (past 4 GiB of records, the rest are found through the interner)
            if u32::try_from(names.len() + 2 + r.len()).is_err() {
                break;
            }
            // (below the record's end, checked above)
            named[s] = names.len() as u32 + 1;
            names.push(len);
            names.push(count);
            names.extend_from_slice(r.as_bytes());
        }
        let mut by_slot =
            crate::mem::large_vec(program.interner.slot_count(), SlotEntry::default());
        for (entry, sym) in by_slot.iter_mut().zip(program.interner.slot_symbols()) {
            let Some(sym) = sym else { continue };
            let s = sym.0 as usize;
            if let (Some(&name), Some(&first)) = (named.get(s), offsets.get(s)) {
                *entry = SlotEntry { first, name };
            }
        }
        InstanceIndex {
            offsets,
            by_slot,
            names,
            runs,
            searched,
        }
    }

    /// Reads the memory a lookup of `key` (a principal ref, see [`InstanceIndex::principal`])
    /// starts with: the interner's slot and this index's entry for that slot. A caller with
    /// several principals touches them all before looking any up, so that these (likely
    /// uncached) reads overlap. Returns a word of what was read, for
    /// [`std::hint::black_box`].
    #[inline]
    pub fn touch(&self, program: &Program, key: Hashed<'_>) -> u64 {
        let home = program.interner.home_slot(key);
        let entry = self.by_slot.get(home).map_or(0, |e| e.name);
        program.interner.touch(key) ^ u64::from(entry)
    }

    /// The runs of the principal whose ref (`type:id`, hashed) `key` is; `program` must be
    /// the program the index was built from.
    #[inline]
    pub fn principal(&self, program: &Program, key: Hashed<'_>) -> PrincipalRuns<'_> {
        let interner = &program.interner;
        // (the interner grows only by interning; if it did since, its slots moved and the
        // runs are found by symbol instead)
        let aligned = self.by_slot.len() == interner.slot_count();
        for (slot, sym) in interner.candidates(key) {
            let entry = match self.by_slot.get(slot) {
                Some(e) if aligned && e.name > 0 => *e,
                // A symbol without runs, or without a record: compared in the interner.
                Some(_) | None => {
                    if interner.is_str(sym, key) {
                        return self.by_symbol(sym);
                    }
                    continue;
                }
            };
            let (at, first) = (entry.name as usize - 1, entry.first as usize);
            let (Some(&len), Some(&count)) = (self.names.get(at), self.names.get(at + 1)) else {
                continue;
            };
            let text = at + 2..at + 2 + usize::from(len);
            if self.names.get(text).is_some_and(|t| same(t, key.bytes())) {
                return PrincipalRuns {
                    runs: self
                        .runs
                        .get(first..first + usize::from(count))
                        .unwrap_or_default(),
                    sym: Some(sym),
                };
            }
        }
        PrincipalRuns::default()
    }

    /// The runs of principal symbol `sym`.
    fn by_symbol(&self, sym: Sym) -> PrincipalRuns<'_> {
        let s = sym.0 as usize;
        let runs = match (self.offsets.get(s), self.offsets.get(s + 1)) {
            (Some(&lo), Some(&hi)) => self.runs.get(lo as usize..hi as usize),
            _ => None,
        };
        PrincipalRuns {
            runs: runs.unwrap_or_default(),
            sym: Some(sym),
        }
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
        let run = principal.run(policy);
        if run.is_none() && self.searched.is_empty() {
            // (no run, and no statement is searched: no instances)
            return [].chunks_exact(1);
        }
        let Some(p) = program.policies.get(policy) else {
            return [].chunks_exact(1);
        };
        let rows = model.get(p.rel);
        let arity = rows.arity();
        if arity == 0 {
            return [].chunks_exact(1);
        }
        let found = match run {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{self, EvalConfig};
    use crate::ir::Interner;

    /// A program with `n` users holding one role each (every third `boss`), and its model.
    fn users(n: usize) -> (Program, Model) {
        let mut policy = String::from(
            "rel role(principal: string, r: string)\n\
             @id(\"work\") permit principal P to work if role(P, _);\n\
             @id(\"rule\") permit principal P to rule if role(P, \"boss\");\n",
        );
        for i in 0..n {
            let r = if i % 3 == 0 { "boss" } else { "staff" };
            policy.push_str(&format!("role(\"user:u{i}\", \"{r}\").\n"));
        }
        // A ref too long for a record: found through the interner.
        policy.push_str(&format!("role(\"user:{}\", \"boss\").\n", "x".repeat(300)));
        let compiled = crate::load::compile_str("t.ztp", &policy);
        let program = compiled.program.expect("the test policy checks");
        let input = eval::input_model(&program, &[]);
        let model = eval::evaluate(&program, &input, &EvalConfig::default()).expect("evaluates");
        (program, model)
    }

    /// The statements each principal has instances of, as the index finds them by ref.
    fn statements(ix: &InstanceIndex, program: &Program, r: &str) -> Vec<usize> {
        let runs = ix.principal(program, Interner::hashed(r.as_bytes()));
        runs.runs()
            .map(|(i, run)| {
                assert!(run.len > 0, "a run of {r} in statement {i} is empty");
                i
            })
            .collect()
    }

    #[test]
    fn principals_are_found_by_ref_through_the_interner_slots() {
        let (program, model) = users(2_000);
        let ix = InstanceIndex::new(&program, &model);
        let (work, rule) = (0, 1);
        for i in 0..2_000 {
            let want = if i % 3 == 0 {
                vec![work, rule]
            } else {
                vec![work]
            };
            assert_eq!(
                statements(&ix, &program, &format!("user:u{i}")),
                want,
                "user:u{i}"
            );
        }
        // Unknown refs, a value that is interned but has no instances, prefixes and
        // extensions of known refs.
        for r in [
            "user:u2000",
            "user:u",
            "user:u1 ",
            "user:u10x",
            "boss",
            "user",
            "",
        ] {
            assert_eq!(statements(&ix, &program, r), Vec::<usize>::new(), "{r:?}");
        }
    }

    #[test]
    fn principals_are_found_by_symbol_once_the_interner_has_grown() {
        let (mut program, model) = users(300);
        let ix = InstanceIndex::new(&program, &model);
        let before = program.interner.slot_count();
        let mut k = 0;
        while program.interner.slot_count() == before {
            program.interner.intern_str(&format!("grown{k}"));
            k += 1;
        }
        for i in 0..300 {
            let want = if i % 3 == 0 { vec![0, 1] } else { vec![0] };
            assert_eq!(
                statements(&ix, &program, &format!("user:u{i}")),
                want,
                "user:u{i}"
            );
        }
        assert!(statements(&ix, &program, "user:u300").is_empty());
        assert!(statements(&ix, &program, "grown0").is_empty());
    }
}
