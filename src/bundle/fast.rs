//! The allocation-free decision path over a loaded bundle.
//!
//! Loading resolves everything a decision would otherwise look up by name: every string of
//! the bundle goes into one open-addressing hash table (with the principal's profile beside
//! it), actions map to their candidate statements (exact names with the families and `*`
//! that also match them), conditions are compiled to operate on request slots, and the
//! tuples conditions look up are sorted flat arrays.
//!
//! [`Fast::decide`] follows [`Decider::decide`](crate::decide::Decider::decide) step by step
//! (scope, forbids by statement then chain position, permits per position over every
//! instance), but answers only when every condition it evaluates is plainly true or false.
//! A residual constraint, an evaluation error, or an input outside its tables makes it return
//! `None`, and the caller decides with the staged decider instead, so an answer from here is
//! always the one the staged decider gives.

use super::read::{BVal, Contents};
use super::{slot_kind, BundleError, SlotKind};
use crate::decide::request::{AttrValue, Request, RequestError};
use crate::decide::Decision;
use crate::ir::{ActionPat, Attr, AttrRoot, CmpOp, Cond, CondTerm, Effect, PrincipalMatch};
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Most chain principals the fast path handles (longer chains take the staged path).
pub const MAX_CHAIN: usize = 16;
/// Most grants a fast verdict lists.
pub const MAX_GRANTS: usize = 16;

const NONE: u32 = u32::MAX;

/// The value of a request attribute in a [`Query`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Val<'a> {
    /// Absent: conditions on it become constraints.
    #[default]
    Unknown,
    Str(&'a str),
    Int(i64),
    Bool(bool),
    /// Present but not a string, integer or boolean (the text says what it is, as in
    /// [`AttrValue::Invalid`]); reading it is an evaluation error.
    Invalid(&'static str),
}

/// A principal of the chain.
#[derive(Debug, Clone, Copy, Default)]
pub struct Entity<'a> {
    pub ty: &'a str,
    pub id: &'a str,
    /// Values of the bundle's principal attributes, by entity slot (missing ones unknown).
    pub attrs: &'a [Val<'a>],
}

/// A request in the bundle's terms: borrowed strings and attribute values by slot
/// ([`Manifest::attributes`](super::Manifest::attributes)).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<'a> {
    pub subject: Entity<'a>,
    /// Original principal first, ending with the subject's immediate delegator.
    pub on_behalf_of: &'a [Entity<'a>],
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<&'a str>,
    /// Values of the bundle's request attributes, by slot (missing ones unknown).
    pub attrs: &'a [Val<'a>],
    /// Action patterns a token's scope allows; `None` when no token limits the actions.
    pub scope: Option<&'a [ActionPat]>,
}

impl<'a> Query<'a> {
    fn chain_at(&self, pos: usize) -> Option<&Entity<'a>> {
        match pos {
            0 => Some(&self.subject),
            n => self.on_behalf_of.get(n - 1),
        }
    }

    fn chain_len(&self) -> usize {
        1 + self.on_behalf_of.len()
    }
}

/// Why a fast verdict denies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictDenial {
    /// The token's scope does not include the action.
    Scope,
    /// The principal at this chain position holds no grant.
    NoGrant { position: u8 },
    /// Statement `policy` forbids, for the principal at `position` (`None`: the request).
    Forbidden { policy: u32, position: Option<u8> },
}

/// The answer of the fast path: no constraints, grants as statement indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub allowed: bool,
    grants: [u32; MAX_GRANTS],
    n_grants: u8,
    pub denial: Option<VerdictDenial>,
}

impl Verdict {
    fn deny(d: VerdictDenial) -> Verdict {
        Verdict {
            allowed: false,
            grants: [0; MAX_GRANTS],
            n_grants: 0,
            denial: Some(d),
        }
    }

    /// The statements that allowed (indices; [`Bundle::policy_id`](super::Bundle::policy_id)
    /// names them), from the original principal's to the subject's.
    pub fn grants(&self) -> &[u32] {
        &self.grants[..usize::from(self.n_grants)]
    }
}

/// A decision from either path.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Fast(Verdict),
    Full(Box<Decision>),
}

impl Answer {
    pub fn allowed(&self) -> bool {
        match self {
            Answer::Fast(v) => v.allowed,
            Answer::Full(d) => d.allowed,
        }
    }

    /// The residual constraint of an allow, when it has one.
    pub fn constraints(&self) -> Option<&crate::decide::Constraint> {
        match self {
            Answer::Fast(_) => None,
            Answer::Full(d) => (d.allowed && !d.constraints.is_always()).then_some(&d.constraints),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hashing

const K: u64 = 0x517c_c1b7_2722_0a95;

/// A fast, streaming string hash (FxHash-style word mixing with a final avalanche); the same
/// bytes give the same hash however they are split into pieces.
#[derive(Default, Clone, Copy)]
pub struct StrHasher {
    h: u64,
    buf: u64,
    n: u32,
    len: u64,
}

impl StrHasher {
    #[inline]
    fn mix(&mut self, w: u64) {
        self.h = (self.h.rotate_left(5) ^ w).wrapping_mul(K);
    }

    #[inline]
    pub fn bytes(&mut self, mut b: &[u8]) {
        self.len += b.len() as u64;
        while !b.is_empty() {
            if self.n == 0 && b.len() >= 8 {
                let mut w = [0u8; 8];
                w.copy_from_slice(&b[..8]);
                self.mix(u64::from_le_bytes(w));
                b = &b[8..];
            } else {
                self.buf |= u64::from(b[0]) << (8 * self.n);
                self.n += 1;
                b = &b[1..];
                if self.n == 8 {
                    let w = self.buf;
                    self.mix(w);
                    self.buf = 0;
                    self.n = 0;
                }
            }
        }
    }

    #[inline]
    pub fn end(mut self) -> u64 {
        if self.n > 0 {
            let w = self.buf;
            self.mix(w);
        }
        let l = self.len;
        self.mix(l);
        let mut h = self.h;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h
    }
}

impl Hasher for StrHasher {
    fn finish(&self) -> u64 {
        self.end()
    }
    fn write(&mut self, bytes: &[u8]) {
        self.bytes(bytes);
    }
}

type FastMap<V> = HashMap<Box<str>, V, BuildHasherDefault<StrHasher>>;

fn hash_str(s: &[u8]) -> u64 {
    let mut h = StrHasher::default();
    h.bytes(s);
    h.end()
}

/// One slot of the string table (24 bytes): the string's text or place, its symbol, and the
/// profile of the principal it names (`NONE` when it names none).
#[derive(Debug, Clone, Copy)]
struct Slot {
    /// A string of at most `INLINE` bytes that does not end in a zero byte: its bytes, zero
    /// padded, packed little-endian into two words, so that lookups never touch the arena.
    /// Any other string: its offset and length in the arena (the first word's low and high
    /// halves) and `LONG` in the last byte, which no UTF-8 text holds.
    text: [u64; 2],
    /// Symbol + 1; 0 marks an empty slot.
    key: u32,
    profile: u32,
}

const INLINE: usize = 16;
const LONG: u8 = 0xff;

const EMPTY: Slot = Slot {
    text: [0; 2],
    key: 0,
    profile: NONE,
};

/// Appends `b` to the packed text `t` at byte `at` (which stays below `INLINE`).
#[inline]
fn pack(t: &mut [u64; 2], at: &mut usize, b: &[u8]) {
    for &x in b {
        t[*at / 8] |= u64::from(x) << (8 * (*at % 8));
        *at += 1;
    }
}

/// Whether a string of length `len` ending in byte `last` is stored inline.
#[inline]
fn is_inline(len: usize, last: u8) -> bool {
    len <= INLINE && last != 0
}

/// The packed text of a string stored inline, or `None` for one stored in the arena.
#[inline]
fn inline_text(v: &[u8]) -> Option<[u64; 2]> {
    if !is_inline(v.len(), v.last().copied().unwrap_or(1)) {
        return None;
    }
    let mut t = [0u64; 2];
    pack(&mut t, &mut 0, v);
    Some(t)
}

/// Whether a slot's text is a string stored in the arena.
#[inline]
fn is_long(t: &[u64; 2]) -> bool {
    (t[1] >> 56) as u8 == LONG
}

/// The first slot a string of hash `h` may occupy in a table of `buckets` home buckets:
/// monotonic in `h`, so strings sorted by hash are placed in order.
#[inline]
fn home(h: u64, buckets: usize) -> usize {
    ((u128::from(h) * buckets as u128) >> 64) as usize
}

// ---------------------------------------------------------------------------------------------
// Compiled conditions

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    SubjectType,
    SubjectId,
    PrincipalType,
    PrincipalId,
    ActionName,
    ResourceType,
    ResourceId,
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    Field(Field),
    /// A request slot.
    Slot(u32),
    /// An entity slot of the subject.
    Subject(u32),
    /// An entity slot of the matched principal.
    Principal(u32),
    /// Column of the instance (with the principal column first, for chain statements).
    Bound(u32),
    Const(u32),
    Wildcard,
    /// Cannot be read as a value here.
    Unsupported,
}

#[derive(Debug, Clone, PartialEq)]
enum FCond {
    True,
    False,
    And(Vec<FCond>),
    Or(Vec<FCond>),
    Not(Box<FCond>),
    Cmp(Term, CmpOp, Term),
    In(Term, Vec<Term>),
    Lookup(u32, Vec<Term>),
}

#[derive(Debug, Clone)]
enum Who {
    Request,
    Chain(Option<Box<str>>),
}

#[derive(Debug, Clone)]
struct FPolicy {
    forbid: bool,
    who: Who,
    kinds: Vec<Box<str>>,
    cond: FCond,
    /// For statements about the request: the index of its tuples in `rows`.
    rows: u32,
    /// Bound columns after the principal (chain statements).
    width: u32,
}

/// Sorted tuples of one relation.
#[derive(Debug, Clone, Default)]
struct FRows {
    arity: usize,
    count: usize,
    data: Vec<u32>,
}

impl FRows {
    fn tuple(&self, i: usize) -> &[u32] {
        &self.data[i * self.arity..(i + 1) * self.arity]
    }

    /// Whether some tuple matches `pattern` (`NONE`: any value).
    fn any_match(&self, pattern: &[u32]) -> bool {
        if self.arity == 0 {
            return self.count > 0;
        }
        let k = pattern.iter().take_while(|&&p| p != NONE).count();
        let prefix = &pattern[..k];
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if &self.tuple(mid)[..k] < prefix {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        (lo..self.count)
            .map(|i| self.tuple(i))
            .take_while(|t| &t[..k] == prefix)
            .any(|t| t.iter().zip(pattern).all(|(&s, &p)| p == NONE || p == s))
    }
}

/// The fast path's tables.
pub struct Fast {
    /// Linear probing without wrapping around: a string is at its home bucket or after it,
    /// with no empty slot between, and the table ends with an empty slot.
    table: Vec<Slot>,
    buckets: usize,
    policies: Vec<FPolicy>,
    /// Exact action names -> candidate list.
    actions: FastMap<u32>,
    /// Family names -> candidate list for actions whose longest matching family it is.
    families: FastMap<u32>,
    /// The list for actions that only `*` matches.
    any_list: u32,
    lists: Vec<Vec<u32>>,
    rows: Vec<FRows>,
    attributes: Vec<Attr>,
    principal_attributes: Vec<Vec<String>>,
    /// For each request slot, the slots whose paths are proper prefixes of its path.
    shadowed_by: Vec<Vec<u32>>,
    principal_shadowed_by: Vec<Vec<u32>>,
    nstrings: usize,
}

fn shadows(paths: &[&[String]]) -> Vec<Vec<u32>> {
    paths
        .iter()
        .map(|p| {
            paths
                .iter()
                .enumerate()
                .filter(|(_, q)| q.len() < p.len() && p.starts_with(q))
                .map(|(i, _)| i as u32)
                .collect()
        })
        .collect()
}

impl Fast {
    pub fn new(c: &Contents) -> Result<Fast, BundleError> {
        let invalid = |message: String| BundleError::Malformed {
            section: "policies",
            offset: 0,
            message,
        };
        // The string table, with each principal's profile: a counting sort on home buckets
        // gives every bucket's run of slots, then each string is written into its run.
        let n = c.strings.len();
        let buckets = (n + n / 2).max(8);
        let mut homes = Vec::with_capacity(n);
        let mut next = vec![0u32; buckets];
        for i in 0..n {
            let b = home(hash_str(c.strings.bytes(i)), buckets);
            homes.push(b as u32);
            next[b] += 1;
        }
        // Each bucket's run starts at its home, or right after the previous run when that
        // reaches past it; `next[b]` becomes where bucket `b`'s next string goes.
        let mut end = 0u32;
        for (b, slot) in next.iter_mut().enumerate() {
            let count = *slot;
            let start = end.max(b as u32);
            *slot = start;
            end = start + count;
        }
        let mut profile_of = vec![NONE; n];
        for &(s, p) in &c.principals {
            if let Some(x) = profile_of.get_mut(s as usize) {
                *x = p;
            }
        }
        // One empty slot at the end stops every scan.
        let mut table = vec![EMPTY; (end as usize).max(buckets) + 1];
        for (i, &b) in homes.iter().enumerate() {
            let bytes = c.strings.bytes(i);
            let text = inline_text(bytes).unwrap_or_else(|| {
                let off = u64::from(c.strings.offsets[i]);
                [off | (bytes.len() as u64) << 32, u64::from(LONG) << 56]
            });
            let at = &mut next[b as usize];
            table[*at as usize] = Slot {
                text,
                key: i as u32 + 1,
                profile: profile_of[i],
            };
            *at += 1;
        }

        let attributes = c.manifest.attributes.clone();
        let principal_attributes = c.manifest.principal_attributes.clone();
        let mut rel_rows = vec![NONE; c.relations.len()];
        let mut rows = Vec::with_capacity(c.rows.len());
        for r in &c.rows {
            let mut tuples: Vec<&[u32]> = if r.arity == 0 {
                Vec::new()
            } else {
                r.data.chunks_exact(r.arity).collect()
            };
            tuples.sort_unstable();
            tuples.dedup();
            let count = if r.arity == 0 { r.count } else { tuples.len() };
            rel_rows[r.rel.index()] = rows.len() as u32;
            rows.push(FRows {
                arity: r.arity,
                count,
                data: tuples.concat(),
            });
        }

        let compiler = Compiler {
            attributes: &attributes,
            principal_attributes: &principal_attributes,
            rel_rows: &rel_rows,
            nsyms: c.symbols(),
        };
        let mut policies = Vec::with_capacity(c.policies.len());
        for p in &c.policies {
            let who = match &p.principal {
                PrincipalMatch::Request => Who::Request,
                PrincipalMatch::Chain { ty } => Who::Chain(ty.as_deref().map(Box::from)),
            };
            let arity = c.relations[p.rel.index()].arity();
            let (rows_at, width) = match who {
                Who::Request => {
                    let at = rel_rows[p.rel.index()];
                    if at == NONE {
                        return Err(invalid(format!(
                            "the instances of statement `{}` are missing",
                            p.id
                        )));
                    }
                    (at, arity as u32)
                }
                Who::Chain(_) => (NONE, arity.saturating_sub(1) as u32),
            };
            policies.push(FPolicy {
                forbid: p.effect == Effect::Forbid,
                who,
                kinds: p.resources.iter().map(|r| Box::from(r.as_str())).collect(),
                cond: compiler
                    .cond(&p.cond, arity)
                    .map_err(|m| invalid(format!("statement `{}`: {m}", p.id)))?,
                rows: rows_at,
                width,
            });
        }

        // Candidate lists.
        let mut exact: FastMap<Vec<u32>> = FastMap::default();
        let mut fams: FastMap<Vec<u32>> = FastMap::default();
        let mut any: Vec<u32> = Vec::new();
        for (i, p) in c.policies.iter().enumerate() {
            for pat in &p.actions {
                match pat {
                    ActionPat::Exact(a) => {
                        exact.entry(a.as_str().into()).or_default().push(i as u32)
                    }
                    ActionPat::Family(f) => {
                        fams.entry(f.as_str().into()).or_default().push(i as u32)
                    }
                    ActionPat::Any => any.push(i as u32),
                }
            }
        }
        let matching = |action: &str| -> Vec<u32> {
            let mut out: Vec<u32> = (0..c.policies.len() as u32)
                .filter(|&i| {
                    c.policies[i as usize]
                        .actions
                        .iter()
                        .any(|p| p.matches(action))
                })
                .collect();
            out.dedup();
            out
        };
        let mut lists = Vec::new();
        let mut actions = FastMap::default();
        let mut names: Vec<&Box<str>> = exact.keys().collect();
        names.sort();
        for a in names {
            actions.insert(a.clone(), lists.len() as u32);
            lists.push(matching(a));
        }
        let mut families = FastMap::default();
        let mut fnames: Vec<&Box<str>> = fams.keys().collect();
        fnames.sort();
        for f in fnames {
            families.insert(f.clone(), lists.len() as u32);
            lists.push(matching(&format!("{f}.z")));
        }
        any.sort_unstable();
        any.dedup();
        let any_list = lists.len() as u32;
        lists.push(any);

        let paths: Vec<&[String]> = attributes.iter().map(|a| a.path.as_slice()).collect();
        let mut shadowed_by = shadows(&paths);
        for (i, a) in attributes.iter().enumerate() {
            shadowed_by[i].retain(|&j| attributes[j as usize].root == a.root);
        }
        let ppaths: Vec<&[String]> = principal_attributes.iter().map(Vec::as_slice).collect();
        let principal_shadowed_by = shadows(&ppaths);
        Ok(Fast {
            table,
            buckets,
            policies,
            actions,
            families,
            any_list,
            lists,
            rows,
            attributes,
            principal_attributes,
            shadowed_by,
            principal_shadowed_by,
            nstrings: n,
        })
    }

    /// The home bucket of `type:id`, hashed without allocating.
    #[inline]
    fn ref_home(&self, ty: &str, id: &str) -> usize {
        let len = ty.len() + 1 + id.len();
        if len <= 64 {
            // Formatted on the stack, then hashed whole.
            let mut buf = [0u8; 64];
            buf[..ty.len()].copy_from_slice(ty.as_bytes());
            buf[ty.len()] = b':';
            buf[ty.len() + 1..len].copy_from_slice(id.as_bytes());
            return self.home_of(&buf[..len]);
        }
        let mut h = StrHasher::default();
        h.bytes(ty.as_bytes());
        h.bytes(b":");
        h.bytes(id.as_bytes());
        home(h.end(), self.buckets)
    }

    /// The slot of `type:id` from its home bucket `at`, found without allocating.
    #[inline]
    fn find_ref_at(&self, c: &Contents, at: usize, ty: &str, id: &str) -> Option<&Slot> {
        let len = ty.len() + 1 + id.len();
        let last = id.as_bytes().last().copied().unwrap_or(b':');
        if is_inline(len, last) {
            let mut text = [0u64; 2];
            let mut k = 0;
            pack(&mut text, &mut k, ty.as_bytes());
            pack(&mut text, &mut k, b":");
            pack(&mut text, &mut k, id.as_bytes());
            // The table ends with an empty slot, so the scan stops within it.
            for s in self.table.get(at..)? {
                if s.key == 0 {
                    return None;
                }
                if s.text == text {
                    return Some(s);
                }
            }
            return None;
        }
        self.probe_long(c, at, len, |b| {
            &b[..ty.len()] == ty.as_bytes()
                && b[ty.len()] == b':'
                && &b[ty.len() + 1..] == id.as_bytes()
        })
    }

    /// The home bucket of `v`.
    #[inline]
    fn home_of(&self, v: &[u8]) -> usize {
        home(hash_str(v), self.buckets)
    }

    #[inline]
    fn find_bytes(&self, c: &Contents, v: &[u8]) -> Option<&Slot> {
        self.find_at(c, self.home_of(v), v)
    }

    /// Finds `v` from its home bucket `at`.
    #[inline]
    fn find_at(&self, c: &Contents, at: usize, v: &[u8]) -> Option<&Slot> {
        match inline_text(v) {
            Some(text) => {
                // The table ends with an empty slot, so the scan stops within it.
                for s in self.table.get(at..)? {
                    if s.key == 0 {
                        return None;
                    }
                    if s.text == text {
                        return Some(s);
                    }
                }
                None
            }
            None => self.probe_long(c, at, v.len(), |b| b == v),
        }
    }

    /// Finds a string stored in the arena, of length `len`, that `same` accepts.
    fn probe_long(
        &self,
        c: &Contents,
        at: usize,
        len: usize,
        same: impl Fn(&[u8]) -> bool,
    ) -> Option<&Slot> {
        for s in self.table.get(at..)? {
            if s.key == 0 {
                return None;
            }
            if !is_long(&s.text) {
                continue;
            }
            let (off, n) = ((s.text[0] as u32) as usize, (s.text[0] >> 32) as usize);
            if n == len && c.strings.arena.get(off..off + len).is_some_and(&same) {
                return Some(s);
            }
        }
        None
    }

    fn find_str(&self, c: &Contents, v: &str) -> Option<u32> {
        self.find_bytes(c, v.as_bytes()).map(|s| s.key - 1)
    }

    /// The symbol of a value, if the bundle holds it.
    fn sym_of(&self, c: &Contents, v: V<'_>) -> Option<u32> {
        match v {
            V::S(s) => self.find_str(c, s),
            V::I(i) => c
                .ints
                .binary_search(&i)
                .ok()
                .map(|k| (self.nstrings + k) as u32),
            V::B(b) => Some((self.nstrings + c.ints.len() + usize::from(b)) as u32),
        }
    }

    #[inline]
    fn candidates(&self, action: &str) -> &[u32] {
        if let Some(&l) = self.actions.get(action) {
            return &self.lists[l as usize];
        }
        if !self.families.is_empty() {
            // The longest family that matches.
            for (i, _) in action.rmatch_indices('.') {
                if i + 1 < action.len() {
                    if let Some(&l) = self.families.get(&action[..i]) {
                        return &self.lists[l as usize];
                    }
                }
            }
        }
        &self.lists[self.any_list as usize]
    }

    /// Decides `q`, or `None` when the staged decider must.
    pub fn decide(&self, c: &Contents, q: &Query<'_>) -> Option<Verdict> {
        let n = q.chain_len();
        if n > MAX_CHAIN
            || q.action.is_empty()
            || q.resource_type.is_empty()
            || !valid_entity(&q.subject)
            || !q.on_behalf_of.iter().all(valid_entity)
        {
            return None;
        }
        if let Some(scope) = q.scope {
            if !scope.iter().any(|p| p.matches(q.action)) {
                return Some(Verdict::deny(VerdictDenial::Scope));
            }
        }
        let cands = self.candidates(q.action);
        // Each chain principal's profile and symbol.
        let mut profiles = [NONE; MAX_CHAIN];
        let mut syms = [NONE; MAX_CHAIN];
        // The home buckets first, each slot's first word read as soon as it is known, so
        // that the chain's (likely uncached) slots are fetched from memory together.
        let mut homes = [0usize; MAX_CHAIN];
        let mut touched = 0u32;
        for (pos, h) in homes.iter_mut().enumerate().take(n) {
            let e = q.chain_at(pos)?;
            *h = self.ref_home(e.ty, e.id);
            touched ^= self.table.get(*h).map_or(0, |s| s.key);
        }
        std::hint::black_box(touched);
        for pos in 0..n {
            let e = q.chain_at(pos)?;
            if let Some(s) = self.find_ref_at(c, homes[pos], e.ty, e.id) {
                profiles[pos] = s.profile;
                syms[pos] = s.key - 1;
            }
        }
        let covers =
            |p: &FPolicy| p.kinds.is_empty() || p.kinds.iter().any(|k| **k == *q.resource_type);
        fn env<'e, 'q>(
            fast: &'e Fast,
            c: &'e Contents,
            q: &'e Query<'q>,
            pos: Option<usize>,
            row: &'e [u32],
        ) -> Env<'e, 'q> {
            Env {
                fast,
                c,
                q,
                pos,
                row,
                principal_sym: NONE,
            }
        }

        // Forbids: by statement, then chain position. Every instance of one (statement,
        // position) is evaluated before answering, so that the answer does not depend on the
        // order of instances (which differs between the bundle's numbering and the source's).
        for &pi in cands {
            let p = &self.policies[pi as usize];
            if !p.forbid || !covers(p) {
                continue;
            }
            match &p.who {
                Who::Request => {
                    let rows = self.rows.get(p.rows as usize)?;
                    let mut hit = false;
                    for k in 0..rows.count {
                        let row = if rows.arity == 0 {
                            &[][..]
                        } else {
                            rows.tuple(k)
                        };
                        hit |= env(self, c, q, None, row).eval(&p.cond)?;
                    }
                    if hit {
                        return Some(Verdict::deny(VerdictDenial::Forbidden {
                            policy: pi,
                            position: None,
                        }));
                    }
                }
                Who::Chain(ty) => {
                    for (pos, &prof) in profiles.iter().enumerate().take(n) {
                        let e = q.chain_at(pos)?;
                        if ty.as_deref().is_some_and(|t| t != e.ty) || prof == NONE {
                            continue;
                        }
                        let Some(&(_, start, nrows)) =
                            c.profiles.entries(prof).iter().find(|(x, _, _)| *x == pi)
                        else {
                            continue;
                        };
                        let mut hit = false;
                        for k in 0..nrows as usize {
                            let at = start as usize + k * p.width as usize;
                            let row = &c.profiles.rows[at..at + p.width as usize];
                            let mut en = env(self, c, q, Some(pos), row);
                            en.principal_sym = syms[pos];
                            hit |= en.eval(&p.cond)?;
                        }
                        if hit {
                            return Some(Verdict::deny(VerdictDenial::Forbidden {
                                policy: pi,
                                position: Some(pos as u8),
                            }));
                        }
                    }
                }
            }
        }

        // Permits: every chain principal needs one that holds.
        let mut grants = [(0u8, 0u32); 2 * MAX_GRANTS];
        let mut ng = 0usize;
        for (pos, &prof) in profiles.iter().enumerate().take(n) {
            let e = q.chain_at(pos)?;
            let mut any = false;
            if prof != NONE {
                let entries = c.profiles.entries(prof);
                for &pi in cands {
                    let p = &self.policies[pi as usize];
                    if p.forbid || !covers(p) {
                        continue;
                    }
                    match &p.who {
                        Who::Request => continue,
                        Who::Chain(ty) => {
                            if ty.as_deref().is_some_and(|t| t != e.ty) {
                                continue;
                            }
                        }
                    }
                    let Some(&(_, start, nrows)) = entries.iter().find(|(x, _, _)| *x == pi) else {
                        continue;
                    };
                    for k in 0..nrows as usize {
                        let at = start as usize + k * p.width as usize;
                        let row = &c.profiles.rows[at..at + p.width as usize];
                        let mut en = env(self, c, q, Some(pos), row);
                        en.principal_sym = syms[pos];
                        if en.eval(&p.cond)? {
                            any = true;
                            if !grants[..ng].contains(&(pos as u8, pi)) {
                                if ng == grants.len() {
                                    return None;
                                }
                                grants[ng] = (pos as u8, pi);
                                ng += 1;
                            }
                        }
                    }
                }
            }
            if !any {
                return Some(Verdict::deny(VerdictDenial::NoGrant {
                    position: pos as u8,
                }));
            }
        }

        // Grants from the original principal to the subject, each once.
        let mut v = Verdict {
            allowed: true,
            grants: [0; MAX_GRANTS],
            n_grants: 0,
            denial: None,
        };
        let order = (1..n).chain(std::iter::once(0));
        for pos in order {
            for &(gp, pi) in &grants[..ng] {
                if usize::from(gp) == pos && !v.grants().contains(&pi) {
                    if usize::from(v.n_grants) == MAX_GRANTS {
                        return None;
                    }
                    v.grants[usize::from(v.n_grants)] = pi;
                    v.n_grants += 1;
                }
            }
        }
        Some(v)
    }

    /// Reads the slots of a parsed request into `buf` and returns the query over them.
    pub fn query_of<'r>(&self, r: &'r Request, buf: &'r mut QueryBuf<'r>) -> Query<'r> {
        let val = |v: AttrValue, store: &mut Vec<String>| -> Result<Val<'static>, usize> {
            match v {
                AttrValue::Known(crate::ir::Value::Str(s)) => {
                    store.push(s);
                    Err(store.len() - 1)
                }
                AttrValue::Known(crate::ir::Value::Int(i)) => Ok(Val::Int(i)),
                AttrValue::Known(crate::ir::Value::Bool(b)) => Ok(Val::Bool(b)),
                AttrValue::Unknown => Ok(Val::Unknown),
                AttrValue::Invalid(w) => Ok(Val::Invalid(w)),
            }
        };
        // Strings are collected first and borrowed afterwards.
        let mut pending: Vec<Result<Val<'static>, usize>> = Vec::new();
        let mut store = Vec::new();
        for a in &self.attributes {
            pending.push(val(r.attr(a, None), &mut store));
        }
        let mut epending = Vec::new();
        for pos in 0..r.chain_len() {
            for p in &self.principal_attributes {
                let a = Attr {
                    root: AttrRoot::Principal,
                    path: p.clone(),
                };
                epending.push(val(r.attr(&a, Some(pos)), &mut store));
            }
        }
        buf.strings = store;
        let strings: &'r [String] = &buf.strings;
        let resolve = |p: &Result<Val<'static>, usize>| -> Val<'r> {
            match p {
                Ok(v) => *v,
                Err(i) => Val::Str(&strings[*i]),
            }
        };
        buf.attrs = pending.iter().map(resolve).collect();
        buf.entity_attrs = epending.iter().map(resolve).collect();
        let w = self.principal_attributes.len();
        let attrs: &'r [Val<'r>] = &buf.attrs;
        let eattrs: &'r [Val<'r>] = &buf.entity_attrs;
        let entity = |pos: usize| -> Entity<'r> {
            // Every position below `chain_len` exists.
            let p = r.chain_at(pos).unwrap_or(&r.subject);
            Entity {
                ty: &p.ty,
                id: &p.id,
                attrs: &eattrs[pos * w..(pos + 1) * w],
            }
        };
        buf.chain = (1..r.chain_len()).map(entity).collect();
        Query {
            subject: entity(0),
            on_behalf_of: &buf.chain,
            action: &r.action.name,
            resource_type: &r.resource.ty,
            resource_id: r.resource.id.as_deref(),
            attrs,
            scope: r.scope.as_deref(),
        }
    }

    /// The request document a query stands for, parsed as the staged decider reads it.
    pub fn to_request(&self, q: &Query<'_>) -> Result<Request, RequestError> {
        fn put(map: &mut Map<String, Json>, path: &[String], v: Json) {
            let Some((first, rest)) = path.split_first() else {
                return;
            };
            if rest.is_empty() {
                map.entry(first.clone()).or_insert(v);
                return;
            }
            let e = map
                .entry(first.clone())
                .or_insert_with(|| Json::Object(Map::new()));
            if let Json::Object(m) = e {
                put(m, rest, v);
            }
        }
        fn json(v: Val<'_>) -> Option<Json> {
            match v {
                Val::Unknown => None,
                Val::Str(s) => Some(Json::String(s.to_string())),
                Val::Int(i) => Some(Json::from(i)),
                Val::Bool(b) => Some(Json::Bool(b)),
                Val::Invalid(w) if w.starts_with("an object") => Some(Json::Object(Map::new())),
                Val::Invalid(w) if w.starts_with("a number") => Some(serde_json::json!(0.5)),
                Val::Invalid(_) => Some(Json::Array(Vec::new())),
            }
        }
        let entity = |e: &Entity<'_>| {
            let mut props = Map::new();
            // Shallow paths first, so a value that shadows a deeper path stays in place.
            let mut order: Vec<usize> = (0..self.principal_attributes.len()).collect();
            order.sort_by_key(|&i| self.principal_attributes[i].len());
            for i in order {
                if let Some(v) = e.attrs.get(i).copied().and_then(json) {
                    put(&mut props, &self.principal_attributes[i], v);
                }
            }
            serde_json::json!({"type": e.ty, "id": e.id, "properties": props})
        };
        let mut action = Map::new();
        let mut resource = Map::new();
        let mut context = Map::new();
        let mut order: Vec<usize> = (0..self.attributes.len()).collect();
        order.sort_by_key(|&i| self.attributes[i].path.len());
        for i in order {
            let a = &self.attributes[i];
            let Some(v) = q.attrs.get(i).copied().and_then(json) else {
                continue;
            };
            let map = match a.root {
                AttrRoot::Action => &mut action,
                AttrRoot::Resource => &mut resource,
                AttrRoot::Context => &mut context,
                AttrRoot::Subject | AttrRoot::Principal => continue,
            };
            put(map, &a.path, v);
        }
        context.insert(
            "on_behalf_of".into(),
            Json::Array(q.on_behalf_of.iter().map(entity).collect()),
        );
        let mut res = serde_json::json!({"type": q.resource_type, "properties": resource});
        if let (Some(id), Json::Object(m)) = (q.resource_id, &mut res) {
            m.insert("id".into(), Json::String(id.to_string()));
        }
        let doc = serde_json::json!({
            "subject": entity(&q.subject),
            "action": {"name": q.action, "properties": action},
            "resource": res,
            "context": context,
        });
        let mut r = Request::from_json(&doc)?;
        r.scope = q.scope.map(<[ActionPat]>::to_vec);
        Ok(r)
    }
}

/// Owned strings and slices behind a [`Query`] made from a parsed request.
#[derive(Debug, Default)]
pub struct QueryBuf<'r> {
    strings: Vec<String>,
    attrs: Vec<Val<'r>>,
    entity_attrs: Vec<Val<'r>>,
    chain: Vec<Entity<'r>>,
}

fn valid_entity(e: &Entity<'_>) -> bool {
    !e.ty.is_empty() && !e.id.is_empty() && !e.ty.contains(':')
}

struct Compiler<'a> {
    attributes: &'a [Attr],
    principal_attributes: &'a [Vec<String>],
    rel_rows: &'a [u32],
    nsyms: usize,
}

impl Compiler<'_> {
    fn term(&self, t: &CondTerm, arity: usize) -> Result<Term, String> {
        Ok(match t {
            CondTerm::Attr(a, _) => match slot_kind(a) {
                SlotKind::Unsupported => Term::Unsupported,
                SlotKind::Field => {
                    let f = a.path[0].as_str();
                    Term::Field(match (a.root, f) {
                        (AttrRoot::Subject, "type") => Field::SubjectType,
                        (AttrRoot::Subject, _) => Field::SubjectId,
                        (AttrRoot::Principal, "type") => Field::PrincipalType,
                        (AttrRoot::Principal, _) => Field::PrincipalId,
                        (AttrRoot::Action, _) => Field::ActionName,
                        (AttrRoot::Resource, "type") => Field::ResourceType,
                        (AttrRoot::Resource, _) => Field::ResourceId,
                        (AttrRoot::Context, _) => return Ok(Term::Unsupported),
                    })
                }
                SlotKind::Request => match self.attributes.iter().position(|x| x == a) {
                    Some(i) => Term::Slot(i as u32),
                    None => return Err(format!("`{}` is missing from the manifest", a.dotted())),
                },
                SlotKind::Entity => {
                    match self.principal_attributes.iter().position(|x| *x == a.path) {
                        Some(i) if a.root == AttrRoot::Subject => Term::Subject(i as u32),
                        Some(i) => Term::Principal(i as u32),
                        None => {
                            return Err(format!("`{}` is missing from the manifest", a.dotted()))
                        }
                    }
                }
            },
            CondTerm::Bound(n, _) => {
                if *n >= arity {
                    // The staged decider reports this as an internal error.
                    Term::Unsupported
                } else {
                    Term::Bound(*n as u32)
                }
            }
            CondTerm::Const(s, _) => {
                if s.0 as usize >= self.nsyms {
                    return Err(format!("symbol {} out of range", s.0));
                }
                Term::Const(s.0)
            }
            CondTerm::Wildcard(_) => Term::Wildcard,
        })
    }

    fn cond(&self, c: &Cond, arity: usize) -> Result<FCond, String> {
        Ok(match c {
            Cond::True => FCond::True,
            Cond::False => FCond::False,
            Cond::And(cs) => FCond::And(
                cs.iter()
                    .map(|c| self.cond(c, arity))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Or(cs) => FCond::Or(
                cs.iter()
                    .map(|c| self.cond(c, arity))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Not(c) => FCond::Not(Box::new(self.cond(c, arity)?)),
            Cond::Cmp { lhs, op, rhs, .. } => {
                FCond::Cmp(self.term(lhs, arity)?, *op, self.term(rhs, arity)?)
            }
            Cond::In { lhs, set, .. } => FCond::In(
                self.term(lhs, arity)?,
                set.iter()
                    .map(|t| self.term(t, arity))
                    .collect::<Result<_, _>>()?,
            ),
            Cond::Lookup { rel, args, .. } => {
                let at = self.rel_rows.get(rel.index()).copied().unwrap_or(NONE);
                if at == NONE {
                    return Err(format!(
                        "the tuples of looked-up relation {} are missing",
                        rel.0
                    ));
                }
                FCond::Lookup(
                    at,
                    args.iter()
                        .map(|t| self.term(t, arity))
                        .collect::<Result<_, _>>()?,
                )
            }
        })
    }
}

/// A resolved operand value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V<'a> {
    S(&'a str),
    I(i64),
    B(bool),
}

/// An operand: a value, `_`, or something only the staged decider can handle (`None` from
/// [`Env::operand`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op<'a> {
    Val(V<'a>),
    Wild,
}

struct Env<'e, 'q> {
    fast: &'e Fast,
    c: &'e Contents,
    q: &'e Query<'q>,
    pos: Option<usize>,
    /// The instance's columns after the principal (chain) or all of them (request).
    row: &'e [u32],
    /// The matched principal's symbol, when a condition reads column 0.
    principal_sym: u32,
}

fn from_val(v: Val<'_>) -> Option<V<'_>> {
    match v {
        Val::Str(s) => Some(V::S(s)),
        Val::Int(i) => Some(V::I(i)),
        Val::Bool(b) => Some(V::B(b)),
        Val::Unknown | Val::Invalid(_) => None,
    }
}

impl<'e, 'q> Env<'e, 'q> {
    fn sym_value(&self, s: u32) -> V<'e> {
        match self.c.value(s) {
            BVal::Str(x) => V::S(x),
            BVal::Int(i) => V::I(i),
            BVal::Bool(b) => V::B(b),
        }
    }

    #[inline]
    fn entity_attr(&self, e: &Entity<'q>, slot: u32, shadowed: &[u32]) -> Option<V<'q>> {
        // A value given for a prefix of this path makes reading it an error.
        if shadowed
            .iter()
            .any(|&j| !matches!(e.attrs.get(j as usize), None | Some(Val::Unknown)))
        {
            return None;
        }
        from_val(e.attrs.get(slot as usize).copied().unwrap_or_default())
    }

    #[inline]
    fn operand(&self, t: &Term) -> Option<Op<'e>>
    where
        'q: 'e,
    {
        let chained = self.pos.is_some();
        Some(Op::Val(match t {
            Term::Const(s) => self.sym_value(*s),
            Term::Bound(n) => {
                if chained {
                    if *n == 0 {
                        if self.principal_sym == NONE {
                            return None;
                        }
                        self.sym_value(self.principal_sym)
                    } else {
                        self.sym_value(*self.row.get(*n as usize - 1)?)
                    }
                } else {
                    self.sym_value(*self.row.get(*n as usize)?)
                }
            }
            Term::Slot(i) => {
                let shadowed = &self.fast.shadowed_by[*i as usize];
                if shadowed
                    .iter()
                    .any(|&j| !matches!(self.q.attrs.get(j as usize), None | Some(Val::Unknown)))
                {
                    return None;
                }
                from_val(self.q.attrs.get(*i as usize).copied().unwrap_or_default())?
            }
            Term::Subject(i) => self.entity_attr(
                &self.q.subject,
                *i,
                &self.fast.principal_shadowed_by[*i as usize],
            )?,
            Term::Principal(i) => {
                let e = self.q.chain_at(self.pos?)?;
                self.entity_attr(e, *i, &self.fast.principal_shadowed_by[*i as usize])?
            }
            Term::Field(f) => match f {
                Field::SubjectType => V::S(self.q.subject.ty),
                Field::SubjectId => V::S(self.q.subject.id),
                Field::PrincipalType => V::S(self.q.chain_at(self.pos?)?.ty),
                Field::PrincipalId => V::S(self.q.chain_at(self.pos?)?.id),
                Field::ActionName => V::S(self.q.action),
                Field::ResourceType => V::S(self.q.resource_type),
                Field::ResourceId => V::S(self.q.resource_id?),
            },
            Term::Wildcard => return Some(Op::Wild),
            Term::Unsupported => return None,
        }))
    }

    /// `Some(true|false)` when the condition is plainly true or false; `None` otherwise.
    fn eval(&self, c: &FCond) -> Option<bool>
    where
        'q: 'e,
    {
        match c {
            FCond::True => Some(true),
            FCond::False => Some(false),
            FCond::And(cs) => {
                for c in cs {
                    if !self.eval(c)? {
                        return Some(false);
                    }
                }
                Some(true)
            }
            FCond::Or(cs) => {
                for c in cs {
                    if self.eval(c)? {
                        return Some(true);
                    }
                }
                Some(false)
            }
            FCond::Not(c) => self.eval(c).map(|b| !b),
            FCond::Cmp(l, op, r) => {
                let (Op::Val(a), Op::Val(b)) = (self.operand(l)?, self.operand(r)?) else {
                    return None;
                };
                Some(holds(*op, compare(a, b)?))
            }
            FCond::In(l, set) => {
                let Op::Val(a) = self.operand(l)? else {
                    return None;
                };
                for t in set {
                    let Op::Val(b) = self.operand(t)? else {
                        return None;
                    };
                    if compare(a, b)? == Ordering::Equal {
                        return Some(true);
                    }
                }
                Some(false)
            }
            FCond::Lookup(at, args) => {
                let rows = self.fast.rows.get(*at as usize)?;
                let mut pattern = [NONE; 16];
                if args.len() > pattern.len() {
                    return None;
                }
                let mut ops = [Op::Wild; 16];
                for (i, t) in args.iter().enumerate() {
                    ops[i] = self.operand(t)?;
                }
                for (i, op) in ops.iter().take(args.len()).enumerate() {
                    if let Op::Val(v) = op {
                        match self.fast.sym_of(self.c, *v) {
                            Some(s) => pattern[i] = s,
                            None => return Some(false),
                        }
                    }
                }
                Some(rows.any_match(&pattern[..args.len()]))
            }
        }
    }
}

fn compare(a: V<'_>, b: V<'_>) -> Option<Ordering> {
    match (a, b) {
        (V::S(x), V::S(y)) => Some(x.cmp(y)),
        (V::I(x), V::I(y)) => Some(x.cmp(&y)),
        (V::B(x), V::B(y)) => Some(x.cmp(&y)),
        _ => None,
    }
}

fn holds(op: CmpOp, ord: Ordering) -> bool {
    crate::decide::cond::holds(op, ord)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::read::{Profiles, Strings};

    fn contents(strings: &[String], principals: Vec<(u32, u32)>) -> Contents {
        let mut arena = Vec::new();
        let mut offsets = vec![0u32];
        for s in strings {
            arena.extend_from_slice(s.as_bytes());
            offsets.push(arena.len() as u32);
        }
        Contents {
            policy_hash: String::new(),
            input_facts: 0,
            model_tuples: 0,
            strings: Strings { arena, offsets },
            ints: Vec::new(),
            sources: Vec::new(),
            relations: Vec::new(),
            policies: Vec::new(),
            rows: Vec::new(),
            profiles: Profiles::default(),
            principals,
            order: Vec::new(),
            manifest: Default::default(),
            section_sizes: Vec::new(),
        }
    }

    #[test]
    fn slot_texts_are_inline_only_when_unambiguous() {
        assert_eq!(inline_text(b"ab"), Some([0x6261, 0]));
        assert_eq!(inline_text(b""), Some([0, 0]));
        assert_eq!(
            inline_text(b"a\0"),
            None,
            "a trailing zero would read as padding"
        );
        assert!(inline_text(&[b'x'; 16]).is_some());
        assert_eq!(inline_text(&[b'x'; 17]), None);
        let full = inline_text("abcdefghijklmnoé".as_bytes()).map(|t| is_long(&t));
        assert_eq!(full, None, "17 bytes");
        let t = inline_text("abcdefghijklmn\u{7f}".as_bytes()).expect("15 bytes");
        assert!(!is_long(&t));
    }

    #[test]
    fn every_string_is_found_and_no_other() {
        let mut strings: Vec<String> = (0..3000)
            .flat_map(|i| {
                [
                    format!("user:u{i}"),
                    format!("agent:a-rather-long-name-{i}"),
                ]
            })
            .chain([
                "".into(),
                "a".into(),
                "a\0".into(),
                "x".repeat(16),
                "x".repeat(17),
            ])
            .collect();
        strings.sort();
        let principals: Vec<(u32, u32)> = (0..strings.len() as u32)
            .filter(|&i| strings[i as usize].starts_with("user:"))
            .map(|i| (i, i % 7))
            .collect();
        let c = contents(&strings, principals.clone());
        let fast = Fast::new(&c).expect("tables");
        assert_eq!(
            fast.table.last().map(|s| s.key),
            Some(0),
            "ends with an empty slot"
        );
        for (i, s) in strings.iter().enumerate() {
            assert_eq!(fast.find_str(&c, s), Some(i as u32), "`{s:?}`");
        }
        for &(sym, profile) in &principals {
            let (ty, id) = strings[sym as usize]
                .split_once(':')
                .expect("a principal string");
            let slot = fast.find_ref_at(&c, fast.ref_home(ty, id), ty, id);
            assert_eq!(slot.map(|s| (s.key - 1, s.profile)), Some((sym, profile)));
        }
        for absent in [
            "user:u3000",
            "b",
            "a\0\0",
            "x",
            &"x".repeat(18),
            "agent:a-rather-long-name-",
        ] {
            assert_eq!(fast.find_str(&c, absent), None, "`{absent:?}`");
        }
        let home = fast.ref_home("agent", "a-rather-long-name-3000");
        assert!(fast
            .find_ref_at(&c, home, "agent", "a-rather-long-name-3000")
            .is_none());
    }
}
