//! Running a planned variant: a depth-first pipeline of index lookups over one round's views.

use super::plan::{ColAction, Filter, Operand, RulePlan, Source, Variant};
use super::tuple::Tup;
use crate::ir::{CmpOp, Interner, Sym};
use std::cmp::Ordering;
use std::time::{Duration, Instant};

/// A sorted, flat relation (an earlier stratum's final contents, possibly permuted).
#[derive(Debug, Clone, Copy)]
pub(super) struct Flat<'a> {
    pub arity: usize,
    pub len: usize,
    pub data: &'a [Sym],
    /// When present, the tuples whose first column is symbol `s` are `first[s]..first[s + 1]`.
    pub first: Option<&'a [u32]>,
}

/// Tuple offsets by first column ([`Flat::first`]), when the interner is small enough compared
/// with the relation for the table to pay off.
pub(super) fn first_column_offsets(arity: usize, data: &[Sym], symbols: usize) -> Option<Vec<u32>> {
    let len = data.len().checked_div(arity)?;
    if len < 32 || u32::try_from(len).is_err() || symbols > 4 * len + (1 << 16) {
        return None;
    }
    let mut offsets = vec![0u32; symbols + 1];
    for t in data.chunks_exact(arity) {
        // Symbols come from the program's interner, so they index the table; without one,
        // lookups fall back to binary search.
        *offsets.get_mut(t[0].0 as usize + 1)? += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    Some(offsets)
}

impl<'a> Flat<'a> {
    /// The tuples starting with `key`, as a flat slice (`arity > 0`).
    #[inline]
    fn range(&self, key: &[Sym]) -> &'a [Sym] {
        let a = self.arity;
        let k = key.len();
        if k == 0 {
            return self.data;
        }
        let (base, len) = match self.first {
            Some(first) => {
                let s = key[0].0 as usize;
                let (Some(&lo), Some(&hi)) = (first.get(s), first.get(s + 1)) else {
                    return &[];
                };
                let (lo, hi) = (lo as usize, hi as usize);
                if k == 1 {
                    return &self.data[lo * a..hi * a];
                }
                (lo, hi - lo)
            }
            None => (0, self.len),
        };
        let data = &self.data[base * a..(base + len) * a];
        let prefix = |i: usize| &data[i * a..i * a + k];
        let lo = partition_point(len, |i| prefix(i) < key);
        let hi = lo + partition_point(len - lo, |i| prefix(lo + i) <= key);
        &data[lo * a..hi * a]
    }

    /// Whether some tuple starts with `key`.
    fn any(&self, key: &[Sym]) -> bool {
        if self.arity == 0 || key.is_empty() {
            return self.len > 0;
        }
        !self.range(key).is_empty()
    }
}

fn partition_point(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The tuples of a sorted batch starting with `key`.
#[inline]
fn tuple_range<'a, T: Tup>(batch: &'a [T], key: &[Sym]) -> &'a [T] {
    let k = key.len();
    if k == 0 {
        return batch;
    }
    let lo = batch.partition_point(|t| &t.cols()[..k] < key);
    let rest = &batch[lo..];
    let hi = rest.partition_point(|t| &t.cols()[..k] <= key);
    &rest[..hi]
}

/// Everything a round's variants read.
pub(super) struct Views<'a, T> {
    pub interner: &'a Interner,
    /// Arity of each stratum relation (local numbering).
    pub local_arity: &'a [usize],
    /// The delta of each stratum relation.
    pub delta: Vec<&'a [T]>,
    /// Per dynamic index: its arity, the batches before the last round, and the last round's.
    pub dyn_arity: Vec<usize>,
    pub dyn_old: Vec<Vec<&'a [T]>>,
    pub dyn_new: Vec<&'a [T]>,
    pub statics: &'a [Flat<'a>],
}

/// Derived tuples of one round, per stratum relation, with the fact and time limits.
pub(super) struct Sink<T> {
    pub bufs: Vec<Vec<T>>,
    compact_at: Vec<usize>,
    max_facts: usize,
    since_clock: usize,
    start: Instant,
    max_time: Duration,
}

/// Buffers are sorted and deduplicated once they reach this many tuples (and then whenever
/// they double), which bounds memory and detects the fact limit within a round.
const COMPACT_MIN: usize = 1 << 20;
/// The clock is read every this many derived tuples.
const CLOCK_EVERY: usize = 1 << 16;

/// Why a round stopped early: a limit, named by the local relation that hit it.
pub(super) enum Stop {
    Facts(usize),
    Time,
}

impl<T: Tup> Sink<T> {
    pub fn new(rels: usize, max_facts: usize, start: Instant, max_time: Duration) -> Sink<T> {
        Sink {
            bufs: (0..rels).map(|_| Vec::new()).collect(),
            compact_at: vec![COMPACT_MIN; rels],
            max_facts,
            since_clock: 0,
            start,
            max_time,
        }
    }

    #[inline]
    fn push(&mut self, rel: usize, tuple: T) -> Result<(), Stop> {
        let buf = &mut self.bufs[rel];
        buf.push(tuple);
        if buf.len() >= self.compact_at[rel] {
            buf.sort_unstable();
            buf.dedup();
            // Distinct derived tuples of one relation are at most the total.
            if buf.len() > self.max_facts {
                return Err(Stop::Facts(rel));
            }
            self.compact_at[rel] = (buf.len() * 2).max(COMPACT_MIN);
        }
        self.tick()
    }

    /// Counts one unit of work (a derived tuple or a matched tuple) and reads the clock every
    /// [`CLOCK_EVERY`] of them, so that a round that derives little still honours the limit.
    #[inline]
    fn tick(&mut self) -> Result<(), Stop> {
        self.since_clock += 1;
        if self.since_clock >= CLOCK_EVERY {
            self.since_clock = 0;
            if self.start.elapsed() > self.max_time {
                return Err(Stop::Time);
            }
        }
        Ok(())
    }
}

/// Per-variant scratch space: variable slots, lookup keys, the head under construction.
struct State<'s, T> {
    env: Vec<Sym>,
    keys: Vec<Vec<Sym>>,
    head: Vec<Sym>,
    scratch: Vec<Sym>,
    sink: &'s mut Sink<T>,
}

/// Runs every variant of `plan` over `views`, adding the derived head tuples to `sink`.
pub(super) fn run_plan<T: Tup>(
    views: &Views<'_, T>,
    plan: &RulePlan,
    sink: &mut Sink<T>,
) -> Result<(), Stop> {
    for variant in &plan.variants {
        let mut st = State {
            env: vec![Sym(0); plan.slots],
            keys: vec![Vec::new(); variant.steps.len()],
            head: Vec::with_capacity(plan.head.len()),
            scratch: Vec::new(),
            sink,
        };
        run(views, plan, variant, 0, &mut st)?;
    }
    Ok(())
}

#[inline]
fn value(op: Operand, env: &[Sym]) -> Sym {
    match op {
        Operand::Slot(s) => env[s as usize],
        Operand::Const(c) => c,
    }
}

/// Applies a step's column actions to the non-key columns of a matched tuple.
#[inline]
fn matches(cols: &[ColAction], rest: &[Sym], env: &mut [Sym]) -> bool {
    for (action, &v) in cols.iter().zip(rest) {
        match *action {
            ColAction::Bind(s) => env[s as usize] = v,
            ColAction::Check(s) => {
                if env[s as usize] != v {
                    return false;
                }
            }
            ColAction::Const(c) => {
                if c != v {
                    return false;
                }
            }
            ColAction::Skip => {}
        }
    }
    true
}

fn holds<T: Tup>(views: &Views<'_, T>, filter: &Filter, env: &[Sym], key: &mut Vec<Sym>) -> bool {
    match filter {
        Filter::Cmp(l, op, r) => {
            let ord = views.interner.compare(value(*l, env), value(*r, env));
            match op {
                CmpOp::Eq => ord == Ordering::Equal,
                CmpOp::Ne => ord != Ordering::Equal,
                CmpOp::Lt => ord == Ordering::Less,
                CmpOp::Le => ord != Ordering::Greater,
                CmpOp::Gt => ord == Ordering::Greater,
                CmpOp::Ge => ord != Ordering::Less,
            }
        }
        Filter::Absent { index, key: ops } => {
            key.clear();
            key.extend(ops.iter().map(|&o| value(o, env)));
            !views.statics[*index].any(key)
        }
        Filter::Never => false,
    }
}

/// One step of the pipeline (or the head, after the last step). Generic over every variant:
/// for `path(X, Z) :- path(X, Y), edge(Y, Z).` step 0 scans the delta of `path` binding X and
/// Y, step 1 looks up `edge` by Y binding Z, and the end emits `path(X, Z)`.
fn run<T: Tup>(
    views: &Views<'_, T>,
    plan: &RulePlan,
    variant: &Variant,
    step: usize,
    st: &mut State<'_, T>,
) -> Result<(), Stop> {
    for f in &variant.filters[step] {
        if !holds(views, f, &st.env, &mut st.scratch) {
            return Ok(());
        }
    }
    let Some(s) = variant.steps.get(step) else {
        st.head.clear();
        st.head.extend(plan.head.iter().map(|&o| value(o, &st.env)));
        let tuple = T::from_cols(&st.head);
        return st.sink.push(plan.head_rel, tuple);
    };
    let mut key = std::mem::take(&mut st.keys[step]);
    key.clear();
    key.extend(s.key.iter().map(|&o| value(o, &st.env)));
    let k = key.len();
    match s.source {
        Source::Delta(rel) => {
            let arity = views.local_arity[rel];
            for t in views.delta[rel] {
                if matches(&s.cols, &t.cols()[k..arity], &mut st.env) {
                    run(views, plan, variant, step + 1, st)?;
                }
            }
        }
        Source::Dynamic { index, full } => {
            let arity = views.dyn_arity[index];
            let newest = if full {
                Some(views.dyn_new[index])
            } else {
                None
            };
            for batch in views.dyn_old[index].iter().copied().chain(newest) {
                for t in tuple_range(batch, &key) {
                    st.sink.tick()?;
                    if matches(&s.cols, &t.cols()[k..arity], &mut st.env) {
                        run(views, plan, variant, step + 1, st)?;
                    }
                }
            }
        }
        Source::Static(index) => {
            let flat = views.statics[index];
            if flat.arity == 0 {
                for _ in 0..flat.len {
                    run(views, plan, variant, step + 1, st)?;
                }
            } else {
                for t in flat.range(&key).chunks_exact(flat.arity) {
                    st.sink.tick()?;
                    if matches(&s.cols, &t[k..], &mut st.env) {
                        run(views, plan, variant, step + 1, st)?;
                    }
                }
            }
        }
    }
    st.keys[step] = key;
    Ok(())
}
