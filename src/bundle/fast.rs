//! The allocation-free decision path over a loaded bundle.
//!
//! Loading resolves everything a decision would otherwise look up by name: principals are
//! found in the bundle's string table (in [`strings`] order, with each principal's profile in
//! its slot), actions map to their candidate statements (exact names with the families and
//! `*` that also match them, forbids apart from permits), resource kinds and principal types
//! become small numbers, conditions are compiled to operate on request slots with their
//! constants resolved, and the tuples conditions look up are sorted flat arrays.
//!
//! [`Fast::decide`] follows [`Decider::decide`](crate::decide::Decider::decide) step by step
//! (scope, forbids by statement then chain position, permits per position over every
//! instance), but answers only when every condition it evaluates is plainly true or false.
//! A residual constraint, an evaluation error, or an input outside its tables makes it return
//! `None`, and the caller decides with the staged decider instead, so an answer from here is
//! always the one the staged decider gives.

use super::read::{BVal, Contents};
use super::strings::{self, Found, Probe, NO_PROFILE};
use super::{slot_kind, BundleError, SlotKind};
use crate::decide::request::{AttrValue, Request, RequestError};
use crate::decide::Decision;
use crate::ir::{ActionPat, Attr, AttrRoot, CmpOp, Cond, CondTerm, Effect, PrincipalMatch};
use crate::mem::same;
use serde_json::{Map, Value as Json};
use std::cmp::Ordering;
use std::hash::Hasher;

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
    /// A request slot no other slot's path is a prefix of.
    Slot(u32),
    /// A request slot whose path extends another slot's: a value given for the shorter path
    /// makes reading it an error.
    Shadowed(u32),
    /// An entity slot of the subject.
    Subject(u32),
    /// An entity slot of the matched principal.
    Principal(u32),
    /// Column of the instance (with the principal column first, for chain statements).
    Bound(u32),
    Str(Box<[u8]>),
    Int(i64),
    Bool(bool),
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
    /// `slot op int`, for a request slot no other slot shadows.
    IntCmp(u32, CmpOp, i64),
    /// `slot == string` (or `!=` when the flag is set), for a request slot no other slot
    /// shadows.
    StrEq(u32, bool, Box<[u8]>),
    /// `slot in [strings]`, for a request slot no other slot shadows.
    StrIn(u32, Box<[Box<[u8]>]>),
}

#[derive(Debug, Clone)]
struct FPolicy {
    /// About the request rather than chain principals.
    request: bool,
    /// The principal type a chain statement requires (an index into `Fast::types`), or
    /// `NONE` for any.
    ty: u32,
    /// Whether the statement names no resource kinds (it covers all).
    any_kind: bool,
    /// The kinds it covers, as indices into `Fast::kinds`.
    kinds: Box<[u32]>,
    /// The kinds it covers among the first 64, as bits (every bit when it covers all).
    kind_mask: u64,
    cond: FCond,
    /// The condition as a conjunction of request-slot tests, when it is one.
    flat: Option<Box<[Pred]>>,
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

/// A test of one request slot against constants: one conjunct of a flat condition.
#[derive(Debug, Clone, PartialEq)]
enum Pred {
    IntCmp(u32, CmpOp, i64),
    StrEq(u32, bool, Box<[u8]>),
    StrIn(u32, Box<[Box<[u8]>]>),
}

/// The conjuncts of `c` when it is `true` or a conjunction of slot tests.
fn flatten(c: &FCond, out: &mut Vec<Pred>) -> bool {
    match c {
        FCond::True => true,
        FCond::And(cs) => cs.iter().all(|c| flatten(c, out)),
        FCond::IntCmp(i, op, v) => {
            out.push(Pred::IntCmp(*i, *op, *v));
            true
        }
        FCond::StrEq(i, n, v) => {
            out.push(Pred::StrEq(*i, *n, v.clone()));
            true
        }
        FCond::StrIn(i, set) => {
            out.push(Pred::StrIn(*i, set.clone()));
            true
        }
        FCond::False
        | FCond::Or(_)
        | FCond::Not(_)
        | FCond::Cmp(..)
        | FCond::In(..)
        | FCond::Lookup(..) => false,
    }
}

/// A flat condition over the request's slots: `Some(true|false)` when plainly true or false,
/// `None` when a slot is unknown or of another type (the staged decider then answers). The
/// conjuncts are tested in order, as [`Env::eval`] tests an `and`.
#[inline(always)]
fn eval_flat(preds: &[Pred], attrs: &[Val<'_>]) -> Option<bool> {
    for p in preds {
        let holds = match p {
            Pred::IntCmp(i, op, v) => match attrs.get(*i as usize) {
                Some(Val::Int(x)) => holds(*op, x.cmp(v)),
                _ => return None,
            },
            Pred::StrEq(i, negated, v) => match attrs.get(*i as usize) {
                Some(Val::Str(x)) => same(x.as_bytes(), v) != *negated,
                _ => return None,
            },
            Pred::StrIn(i, set) => match attrs.get(*i as usize) {
                Some(Val::Str(x)) => set.iter().any(|v| same(x.as_bytes(), v)),
                _ => return None,
            },
        };
        if !holds {
            return Some(false);
        }
    }
    Some(true)
}

/// Names (actions, families) to candidate lists: names of at most [`strings::INLINE`]
/// bytes in an open-addressing table keyed by their packed bytes, longer ones in a list.
#[derive(Debug, Clone, Default)]
struct Names {
    /// (packed name, length, list + 1); 0 marks an empty slot. A power of two long, at most
    /// half full.
    slots: Vec<(u128, u32, u32)>,
    bits: u32,
    long: Vec<(Box<str>, u32)>,
}

#[inline]
fn name_hash(t: u128, len: usize) -> u64 {
    ((t as u64) ^ ((t >> 64) as u64).rotate_left(29) ^ len as u64)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Names {
    fn new(entries: Vec<(Box<str>, u32)>) -> Names {
        let bits = (entries.len() * 2)
            .next_power_of_two()
            .max(2)
            .trailing_zeros();
        let size = 1usize << bits;
        let mut slots = vec![(0u128, 0u32, 0u32); size];
        let mut long = Vec::new();
        for (name, list) in entries {
            let b = name.as_bytes();
            if b.len() > strings::INLINE {
                long.push((name, list));
                continue;
            }
            let t = strings::pack(b);
            let mut i = (name_hash(t, b.len()) >> (64 - bits)) as usize;
            while slots[i].2 != 0 {
                i = (i + 1) & (size - 1);
            }
            slots[i] = (t, b.len() as u32, list + 1);
        }
        Names { slots, bits, long }
    }

    #[inline]
    fn get(&self, name: &str) -> Option<u32> {
        let b = name.as_bytes();
        if b.len() > strings::INLINE {
            return self
                .long
                .iter()
                .find(|(n, _)| **n == *name)
                .map(|(_, l)| *l);
        }
        let t = strings::pack(b);
        let mask = self.slots.len().checked_sub(1)?;
        let mut i = (name_hash(t, b.len()) >> (64 - self.bits)) as usize;
        loop {
            let &(st, len, l) = self.slots.get(i)?;
            if l == 0 {
                return None;
            }
            if st == t && len as usize == b.len() {
                return Some(l - 1);
            }
            i = (i + 1) & mask;
        }
    }
}

/// The candidate statements of an action: `cands[forbids.0..forbids.1]` are its forbids,
/// `cands[permits.0..permits.1]` its permits, each ascending.
#[derive(Debug, Clone, Copy, Default)]
struct List {
    forbids: (u32, u32),
    permits: (u32, u32),
    /// Whether some of its forbids are about the request rather than chain principals.
    request_forbids: bool,
}

/// The fast path's tables (the strings are the bundle's own table, in [`Contents`]).
pub struct Fast {
    policies: Vec<FPolicy>,
    /// Exact action names -> candidate list.
    actions: Names,
    /// Family names -> candidate list for actions whose longest matching family it is.
    families: Names,
    /// The list for actions that only `*` matches.
    any_list: u32,
    lists: Vec<List>,
    cands: Vec<u32>,
    plans: Option<Plans>,
    /// Resource kinds and principal types statements name.
    kinds: Vec<Box<str>>,
    types: Vec<Box<str>>,
    /// The principals' types (and the types statements name) short enough to start a
    /// principal of at most [`strings::SHORT`] bytes.
    type_keys: Vec<TypeKey>,
    rows: Vec<FRows>,
    attributes: Vec<Attr>,
    principal_attributes: Vec<Vec<String>>,
    /// For each entity slot, the slots whose paths are proper prefixes of its path.
    principal_shadowed_by: Vec<Vec<u32>>,
    /// For each request slot, the slots whose paths are proper prefixes of its path.
    shadowed_by: Vec<Vec<u32>>,
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

/// Most principal types with a [`TypeKey`].
const MAX_TYPE_KEYS: usize = 8;

/// A principal type, ready to start a principal's key.
#[derive(Debug, Clone, Copy)]
struct TypeKey {
    /// Its index in [`Fast::types`] (`NONE` when no statement names it).
    code: u32,
    /// The type packed ([`strings::pack`]) and its length.
    packed: u128,
    len: usize,
    /// `type:` packed.
    prefix: u128,
}

/// The position of `s` in `list`, or `NONE`.
#[inline]
fn code_of(list: &[Box<str>], s: &str) -> u32 {
    list.iter()
        .position(|k| same(k.as_bytes(), s.as_bytes()))
        .map_or(NONE, |i| i as u32)
}

impl Fast {
    pub fn new(c: &Contents) -> Result<Fast, BundleError> {
        let invalid = |message: String| BundleError::Malformed {
            section: "policies",
            offset: 0,
            message,
        };
        let attributes = c.manifest.attributes.clone();
        let principal_attributes = c.manifest.principal_attributes.clone();
        let paths: Vec<&[String]> = attributes.iter().map(|a| a.path.as_slice()).collect();
        let mut shadowed_by = shadows(&paths);
        for (i, a) in attributes.iter().enumerate() {
            shadowed_by[i].retain(|&j| attributes[j as usize].root == a.root);
        }
        let ppaths: Vec<&[String]> = principal_attributes.iter().map(Vec::as_slice).collect();
        let principal_shadowed_by = shadows(&ppaths);

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
            c,
            attributes: &attributes,
            shadowed_by: &shadowed_by,
            principal_attributes: &principal_attributes,
            rel_rows: &rel_rows,
            nsyms: c.symbols(),
        };
        let mut kinds: Vec<Box<str>> = Vec::new();
        let mut types: Vec<Box<str>> = Vec::new();
        let intern = |list: &mut Vec<Box<str>>, s: &str| -> u32 {
            match list.iter().position(|k| **k == *s) {
                Some(i) => i as u32,
                None => {
                    list.push(s.into());
                    list.len() as u32 - 1
                }
            }
        };
        let mut policies = Vec::with_capacity(c.policies.len());
        for p in &c.policies {
            let arity = c.relations[p.rel.index()].arity();
            let (request, ty) = match &p.principal {
                PrincipalMatch::Request => (true, NONE),
                PrincipalMatch::Chain { ty: None } => (false, NONE),
                PrincipalMatch::Chain { ty: Some(t) } => (false, intern(&mut types, t)),
            };
            let (rows_at, width) = if request {
                let at = rel_rows[p.rel.index()];
                if at == NONE {
                    return Err(invalid(format!(
                        "the instances of statement `{}` are missing",
                        p.id
                    )));
                }
                (at, arity as u32)
            } else {
                (NONE, arity.saturating_sub(1) as u32)
            };
            policies.push(FPolicy {
                request,
                ty,
                any_kind: p.resources.is_empty(),
                kind_mask: 0,
                kinds: p.resources.iter().map(|r| intern(&mut kinds, r)).collect(),
                cond: compiler
                    .cond(&p.cond, arity)
                    .map_err(|m| invalid(format!("statement `{}`: {m}", p.id)))?,
                flat: None,
                rows: rows_at,
                width,
            });
        }

        for p in &mut policies {
            p.kind_mask = if p.any_kind {
                u64::MAX
            } else {
                p.kinds
                    .iter()
                    .fold(0, |m, &k| m | 1u64.checked_shl(k).unwrap_or(0))
            };
            let mut preds = Vec::new();
            if flatten(&p.cond, &mut preds) {
                p.flat = Some(preds.into());
            }
        }

        // Candidate lists: per exact action name, per family (for actions no exact name
        // matches), and for actions only `*` matches.
        let mut exact = std::collections::BTreeSet::new();
        let mut fams = std::collections::BTreeSet::new();
        for p in &c.policies {
            for pat in &p.actions {
                match pat {
                    ActionPat::Exact(a) => {
                        exact.insert(a.as_str());
                    }
                    ActionPat::Family(f) => {
                        fams.insert(f.as_str());
                    }
                    ActionPat::Any => {}
                }
            }
        }
        let mut lists = Vec::new();
        let mut cands = Vec::new();
        let mut list_of = |action: &str| -> u32 {
            let matching: Vec<u32> = (0..c.policies.len() as u32)
                .filter(|&i| {
                    c.policies[i as usize]
                        .actions
                        .iter()
                        .any(|p| p.matches(action))
                })
                .collect();
            let at = |cands: &Vec<u32>| cands.len() as u32;
            let f0 = at(&cands);
            cands.extend(
                matching
                    .iter()
                    .filter(|&&i| c.policies[i as usize].effect == Effect::Forbid),
            );
            let f1 = at(&cands);
            cands.extend(
                matching
                    .iter()
                    .filter(|&&i| c.policies[i as usize].effect == Effect::Permit),
            );
            let request_forbids = cands[f0 as usize..f1 as usize]
                .iter()
                .any(|&i| c.policies[i as usize].principal == PrincipalMatch::Request);
            lists.push(List {
                forbids: (f0, f1),
                permits: (f1, at(&cands)),
                request_forbids,
            });
            lists.len() as u32 - 1
        };
        let actions = Names::new(exact.iter().map(|a| (Box::from(*a), list_of(a))).collect());
        let families = Names::new(
            fams.iter()
                .map(|f| (Box::from(*f), list_of(&format!("{f}.z"))))
                .collect(),
        );
        // `*` matches names that no exact name or family matches; `"*"` is no action name.
        let any_list = list_of("*");
        let plans = Plans::new(c, &lists, &cands);
        // The types of the principals in the table (the bundle's prefixes), and those that
        // statements name: every principal that can be found has a type among them.
        let mut key_types: Vec<&str> = c
            .strings
            .prefixes()
            .iter()
            .filter_map(|p| p.strip_suffix(':'))
            .filter(|t| !t.contains(':'))
            .collect();
        for t in &types {
            if !key_types.contains(&&**t) {
                key_types.push(t);
            }
        }
        // (Scanned per principal, so kept short: a type left out is checked as an unknown
        // one, with the same result.)
        let type_keys = key_types
            .iter()
            .filter(|t| !t.is_empty() && t.len() < strings::SHORT)
            .take(MAX_TYPE_KEYS)
            .map(|t| {
                let packed = strings::pack(t.as_bytes());
                TypeKey {
                    code: code_of(&types, t),
                    packed,
                    len: t.len(),
                    prefix: packed | (u128::from(b':') << (8 * t.len())),
                }
            })
            .collect();
        Ok(Fast {
            type_keys,
            policies,
            actions,
            families,
            any_list,
            lists,
            cands,
            plans,
            kinds,
            types,
            rows,
            attributes,
            principal_attributes,
            principal_shadowed_by,
            shadowed_by,
        })
    }

    /// Decides without the permit plans, by merging candidates with profile entries.
    pub(crate) fn drop_plans(&mut self) {
        self.plans = None;
    }

    /// The key of principal type `ty`, when it is short and known.
    #[inline(always)]
    fn type_key(&self, ty: &str) -> Option<&TypeKey> {
        let b = ty.as_bytes();
        if b.len() >= strings::SHORT {
            return None;
        }
        let packed = strings::pack(b);
        self.type_keys
            .iter()
            .find(|k| k.packed == packed && k.len == b.len())
    }

    /// The symbol of a value, if the bundle holds it.
    fn sym_of(&self, c: &Contents, v: V<'_>) -> Option<u32> {
        match v {
            V::S(s) => c.strings.find(s),
            V::I(i) => c
                .ints
                .binary_search(&i)
                .ok()
                .map(|k| (c.strings.len() + k) as u32),
            V::B(b) => Some((c.strings.len() + c.ints.len() + usize::from(b)) as u32),
        }
    }

    /// The candidate list of an action, and its number.
    #[inline(always)]
    fn candidates(&self, action: &str) -> (u32, List) {
        let l = match self.actions.get(action) {
            Some(l) => l,
            None => self.family_list(action),
        };
        (l, self.lists.get(l as usize).copied().unwrap_or_default())
    }

    /// The list of the longest family that matches `action`, or of `*`.
    fn family_list(&self, action: &str) -> u32 {
        for (i, _) in action.rmatch_indices('.') {
            if i + 1 < action.len() {
                if let Some(l) = self.families.get(&action[..i]) {
                    return l;
                }
            }
        }
        self.any_list
    }

    /// Decides `q`, or `None` when the staged decider must.
    #[inline]
    pub fn decide(&self, c: &Contents, q: &Query<'_>) -> Option<Verdict> {
        // The per-position arrays are sized to the chain, so short chains (the common case)
        // initialize only a few entries.
        match q.chain_len() {
            0..=2 => self.decide_n::<2>(c, q),
            3..=4 => self.decide_n::<4>(c, q),
            _ => self.decide_n::<MAX_CHAIN>(c, q),
        }
    }

    /// [`Fast::decide`] for chains of at most `N` principals.
    fn decide_n<const N: usize>(&self, c: &Contents, q: &Query<'_>) -> Option<Verdict> {
        let n = q.chain_len();
        if n > N || q.action.is_empty() || q.resource_type.is_empty() {
            return None;
        }
        // Every chain principal is located first (its key and home slot, from the request's
        // strings alone), then all are read: their slots are fetched from memory together
        // rather than one after the other. A malformed principal (an empty type or id, or a
        // type holding `:`) leaves the request to the staged decider.
        let mut probes = [Probe::default(); N];
        let mut types = [NONE; N];
        for pos in 0..n {
            let e = q.chain_at(pos)?;
            // A known type starts a key known to be well formed; any other type is checked
            // (no principal of the table has it, so it is not found).
            let known = self.type_key(e.ty);
            let mut probe =
                match known.and_then(|k| c.strings.locate_after(k.prefix, k.len + 1, e.id)) {
                    Some(p) => p,
                    None => c.strings.locate_principal(e.ty, e.id)?,
                };
            c.strings.settle(&mut probe);
            probes[pos] = probe;
            types[pos] = known.map_or_else(|| code_of(&self.types, e.ty), |k| k.code);
        }
        if let Some(scope) = q.scope {
            if !scope.iter().any(|p| p.matches(q.action)) {
                return Some(Verdict::deny(VerdictDenial::Scope));
            }
        }
        let (list_id, list) = self.candidates(q.action);
        let kind = Kind::of(code_of(&self.kinds, q.resource_type));
        let mut found = [Found {
            sym: NONE,
            profile: NO_PROFILE,
        }; N];
        for pos in 0..n {
            let e = q.chain_at(pos)?;
            if let Some(f) = c.strings.find_ref(&probes[pos], e.ty, e.id) {
                found[pos] = f;
            }
        }
        // The list's permit plans, when the bundle has them.
        let plans = self.plans.as_ref().map(|pl| (pl, pl.base(list_id)));

        // Forbids, unless no position's profile has instances of the list's forbids and
        // none of them is about the request.
        let mut open = [false; N];
        let mut any_open = false;
        for (pos, f) in found.iter().enumerate().take(n) {
            open[pos] = f.profile != NO_PROFILE
                && !plans.is_some_and(|(pl, base)| pl.no_forbids(base + f.profile as usize));
            any_open |= open[pos];
        }
        if any_open || list.request_forbids {
            let at = ..n;
            let (found, types, open) = (found.get(at)?, types.get(at)?, open.get(at)?);
            if let Some(v) = self.forbidden(c, q, list, found, types, open, kind)? {
                return Some(v);
            }
        }

        // Permits: every chain principal needs one that holds. Grants are recorded position
        // by position (a position's statements are distinct), the subject's first.
        let mut grants = [0u32; 2 * MAX_GRANTS];
        let mut ng = 0usize;
        let mut subject = 0usize;
        for (pos, f) in found.iter().enumerate().take(n) {
            let mut any = false;
            if f.profile != NO_PROFILE {
                let plan = plans.and_then(|(pl, base)| pl.get(base + f.profile as usize));
                if let Some(items) = plan {
                    for &(pi, start, nrows) in items {
                        let p = self.policies.get(pi as usize)?;
                        if !applies(p, types[pos], kind)
                            || !self.holds(c, q, pos, p, start, nrows, f.sym)?
                        {
                            continue;
                        }
                        any = true;
                        *grants.get_mut(ng)? = pi;
                        ng += 1;
                    }
                } else {
                    let g = &mut grants[..];
                    any = self.merged(c, q, list, pos, *f, types[pos], kind, g, &mut ng)?;
                }
            }
            if !any {
                return Some(Verdict::deny(VerdictDenial::NoGrant {
                    position: pos as u8,
                }));
            }
            if pos == 0 {
                subject = ng;
            }
        }

        // Grants from the original principal to the subject, each once: those of the
        // positions after the subject's, in order, then the subject's.
        let mut v = Verdict {
            allowed: true,
            grants: [0; MAX_GRANTS],
            n_grants: 0,
            denial: None,
        };
        let (own, later) = grants.get(..ng)?.split_at(subject.min(ng));
        for &pi in later.iter().chain(own) {
            if !v.grants().contains(&pi) {
                if usize::from(v.n_grants) == MAX_GRANTS {
                    return None;
                }
                v.grants[usize::from(v.n_grants)] = pi;
                v.n_grants += 1;
            }
        }
        Some(v)
    }

    fn cands(&self, (a, b): (u32, u32)) -> &[u32] {
        self.cands.get(a as usize..b as usize).unwrap_or_default()
    }

    /// Whether one of `nrows` instances of chain statement `p` (from row `start` of the
    /// profiles' rows) holds for the principal at `pos` (symbol `sym`); `None` when one is
    /// not plainly true or false.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn holds(
        &self,
        c: &Contents,
        q: &Query<'_>,
        pos: usize,
        p: &FPolicy,
        start: u32,
        nrows: u32,
        sym: u32,
    ) -> Option<bool> {
        match (&p.flat, p.width) {
            // The same for every instance: no bound columns.
            (Some(preds), 0) => Some(nrows != 0 && eval_flat(preds, q.attrs)?),
            _ => self.rows_hold(c, q, pos, p, start, nrows, sym),
        }
    }

    /// [`Fast::holds`] by evaluating the condition on every instance.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn rows_hold(
        &self,
        c: &Contents,
        q: &Query<'_>,
        pos: usize,
        p: &FPolicy,
        start: u32,
        nrows: u32,
        sym: u32,
    ) -> Option<bool> {
        let mut held = false;
        for k in 0..nrows as usize {
            let at = start as usize + k * p.width as usize;
            let row = c.profiles.rows.get(at..at + p.width as usize)?;
            let env = Env {
                fast: self,
                c,
                q,
                pos: Some(pos),
                row,
                principal_sym: sym,
            };
            held |= env.eval(&p.cond)?;
        }
        Some(held)
    }

    /// The grants of the principal at `pos` without a plan: the list's permits merged with
    /// its profile's entries. Whether it holds one.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn merged(
        &self,
        c: &Contents,
        q: &Query<'_>,
        list: List,
        pos: usize,
        f: Found,
        ty: u32,
        kind: Kind,
        grants: &mut [u32],
        ng: &mut usize,
    ) -> Option<bool> {
        let entries = c.profiles.entries(f.profile);
        let mut cur = 0;
        let mut any = false;
        for &pi in self.cands(list.permits) {
            let Some((start, nrows)) = entry(entries, &mut cur, pi) else {
                continue;
            };
            let p = self.policies.get(pi as usize)?;
            if !applies(p, ty, kind) || !self.holds(c, q, pos, p, start, nrows, f.sym)? {
                continue;
            }
            any = true;
            *grants.get_mut(*ng)? = pi;
            *ng += 1;
        }
        Some(any)
    }

    /// The forbids of the list: by statement, then chain position. Every instance of one
    /// (statement, position) is evaluated before answering, so that the answer does not
    /// depend on the order of instances (which differs between the bundle's numbering and
    /// the source's). Positions not `open` have no instances of them. `Some(None)` when
    /// none forbids, `None` when one is not plainly true or false.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn forbidden(
        &self,
        c: &Contents,
        q: &Query<'_>,
        list: List,
        found: &[Found],
        types: &[u32],
        open: &[bool],
        kind: Kind,
    ) -> Option<Option<Verdict>> {
        let mut cursor = [0usize; MAX_CHAIN];
        for &pi in self.cands(list.forbids) {
            let p = self.policies.get(pi as usize)?;
            if p.request {
                if !(p.any_kind || kind.covered(p)) {
                    continue;
                }
                let rows = self.rows.get(p.rows as usize)?;
                let mut hit = false;
                for k in 0..rows.count {
                    let row = if rows.arity == 0 {
                        &[][..]
                    } else {
                        rows.tuple(k)
                    };
                    let env = Env {
                        fast: self,
                        c,
                        q,
                        pos: None,
                        row,
                        principal_sym: NONE,
                    };
                    hit |= env.eval(&p.cond)?;
                }
                if hit {
                    return Some(Some(Verdict::deny(VerdictDenial::Forbidden {
                        policy: pi,
                        position: None,
                    })));
                }
                continue;
            }
            for (pos, f) in found.iter().enumerate() {
                if !*open.get(pos)? || !applies(p, *types.get(pos)?, kind) {
                    continue;
                }
                let cur = cursor.get_mut(pos)?;
                let Some((start, nrows)) = entry(c.profiles.entries(f.profile), cur, pi) else {
                    continue;
                };
                if self.rows_hold(c, q, pos, p, start, nrows, f.sym)? {
                    return Some(Some(Verdict::deny(VerdictDenial::Forbidden {
                        policy: pi,
                        position: Some(pos as u8),
                    })));
                }
            }
        }
        Some(None)
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

/// A resource kind: its code (`NONE` for a kind no statement names) and, for the first 64
/// codes, its bit in [`FPolicy::kind_mask`].
#[derive(Debug, Clone, Copy)]
struct Kind {
    code: u32,
    bit: u64,
}

impl Kind {
    #[inline]
    fn of(code: u32) -> Kind {
        Kind {
            code,
            bit: 1u64.checked_shl(code).unwrap_or(0),
        }
    }

    /// Whether statement `p` covers this kind.
    #[inline(always)]
    fn covered(self, p: &FPolicy) -> bool {
        p.kind_mask & self.bit != 0
            || (self.bit == 0 && self.code != NONE && p.kinds.contains(&self.code))
    }
}

/// Whether a statement applies to a principal of type `ty` (a code, `NONE` for a type no
/// statement names) and a resource of kind `kind`.
#[inline(always)]
fn applies(p: &FPolicy, ty: u32, kind: Kind) -> bool {
    (p.ty == NONE || p.ty == ty) && (p.any_kind || kind.covered(p))
}

/// Per candidate list and profile, the profile's instances of the list's permits: a
/// principal's permits without a search (built when lists x profiles is small).
struct Plans {
    profiles: usize,
    /// `items[index[l * profiles + p].0..index[..].1]` for list `l` and profile `p`.
    index: Vec<(u32, u32)>,
    /// (statement, first row, row count), ascending by statement.
    items: Vec<(u32, u32, u32)>,
    /// Whether the profile has instances of the list's forbids, by the same index.
    forbids: Vec<bool>,
}

/// Most (list, profile) pairs and items plans are built for.
const MAX_PLANS: usize = 1 << 16;
const MAX_PLAN_ITEMS: usize = 1 << 20;

impl Plans {
    fn new(c: &Contents, lists: &[List], cands: &[u32]) -> Option<Plans> {
        let profiles = c.profiles.len();
        if lists.len().checked_mul(profiles)? > MAX_PLANS {
            return None;
        }
        let mut index = Vec::with_capacity(lists.len() * profiles);
        let mut items = Vec::new();
        let mut forbids = Vec::with_capacity(lists.len() * profiles);
        for l in lists {
            let permits = cands.get(l.permits.0 as usize..l.permits.1 as usize)?;
            let fs = cands.get(l.forbids.0 as usize..l.forbids.1 as usize)?;
            for prof in 0..profiles as u32 {
                let entries = c.profiles.entries(prof);
                let mut cur = 0;
                forbids.push(fs.iter().any(|&pi| entry(entries, &mut cur, pi).is_some()));
                let start = items.len() as u32;
                let mut cur = 0;
                for &pi in permits {
                    if let Some((s, n)) = entry(entries, &mut cur, pi) {
                        items.push((pi, s, n));
                    }
                }
                if items.len() > MAX_PLAN_ITEMS {
                    return None;
                }
                index.push((start, items.len() as u32));
            }
        }
        Some(Plans {
            profiles,
            index,
            items,
            forbids,
        })
    }

    /// Where list `list`'s pairs start in `index` and `forbids`.
    #[inline]
    fn base(&self, list: u32) -> usize {
        (list as usize).saturating_mul(self.profiles)
    }

    /// Whether the profile has no instance of the list's forbids (`at`: the list's base
    /// plus the profile).
    #[inline]
    fn no_forbids(&self, at: usize) -> bool {
        self.forbids.get(at).is_some_and(|f| !f)
    }

    /// The profile's instances of the list's permits (`at`: the list's base plus the
    /// profile).
    #[inline]
    fn get(&self, at: usize) -> Option<&[(u32, u32, u32)]> {
        let &(a, b) = self.index.get(at)?;
        self.items.get(a as usize..b as usize)
    }
}

/// The instances of statement `pi` in a profile's entries (ascending by statement), searched
/// from `*cur`, which moves past the statements before `pi`: statements asked for in
/// ascending order cost one pass over the entries.
#[inline]
fn entry(entries: &[(u32, u32, u32)], cur: &mut usize, pi: u32) -> Option<(u32, u32)> {
    while let Some(&(x, start, n)) = entries.get(*cur) {
        if x >= pi {
            return (x == pi).then_some((start, n));
        }
        *cur += 1;
    }
    None
}

struct Compiler<'a> {
    c: &'a Contents,
    attributes: &'a [Attr],
    shadowed_by: &'a [Vec<u32>],
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
                    Some(i) if self.shadowed_by.get(i).is_some_and(|s| !s.is_empty()) => {
                        Term::Shadowed(i as u32)
                    }
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
                match self.c.value(s.0) {
                    BVal::Str(x) => Term::Str(x.as_bytes().into()),
                    BVal::Int(i) => Term::Int(i),
                    BVal::Bool(b) => Term::Bool(b),
                }
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
                match (self.term(lhs, arity)?, *op, self.term(rhs, arity)?) {
                    (Term::Slot(i), op, Term::Int(v)) => FCond::IntCmp(i, op, v),
                    (Term::Slot(i), CmpOp::Eq, Term::Str(s)) => FCond::StrEq(i, false, s),
                    (Term::Slot(i), CmpOp::Ne, Term::Str(s)) => FCond::StrEq(i, true, s),
                    (l, op, r) => FCond::Cmp(l, op, r),
                }
            }
            Cond::In { lhs, set, .. } => {
                let lhs = self.term(lhs, arity)?;
                let set: Vec<Term> = set
                    .iter()
                    .map(|t| self.term(t, arity))
                    .collect::<Result<_, _>>()?;
                let strs: Vec<Box<[u8]>> = set
                    .iter()
                    .filter_map(|t| match t {
                        Term::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect();
                match lhs {
                    Term::Slot(i) if !set.is_empty() && strs.len() == set.len() => {
                        FCond::StrIn(i, strs.into())
                    }
                    lhs => FCond::In(lhs, set),
                }
            }
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

/// A resolved operand value (strings as their bytes: they compare as the strings do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V<'a> {
    S(&'a [u8]),
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

#[inline]
fn from_val(v: Val<'_>) -> Option<V<'_>> {
    match v {
        Val::Str(s) => Some(V::S(s.as_bytes())),
        Val::Int(i) => Some(V::I(i)),
        Val::Bool(b) => Some(V::B(b)),
        Val::Unknown | Val::Invalid(_) => None,
    }
}

/// Whether any of the `shadowed` slots of `attrs` holds a value.
#[inline]
fn any_given(attrs: &[Val<'_>], shadowed: &[u32]) -> bool {
    shadowed
        .iter()
        .any(|&j| !matches!(attrs.get(j as usize), None | Some(Val::Unknown)))
}

impl<'e, 'q> Env<'e, 'q> {
    #[inline]
    fn sym_value(&self, s: u32) -> V<'e> {
        let c = self.c;
        let ns = c.strings.len();
        let k = s as usize;
        if k < ns {
            V::S(c.strings.bytes(k))
        } else if k < ns + c.ints.len() {
            V::I(c.ints[k - ns])
        } else {
            V::B(k > ns + c.ints.len())
        }
    }

    #[inline]
    fn entity_attr(&self, e: &Entity<'q>, slot: u32) -> Option<V<'q>> {
        // A value given for a prefix of this path makes reading it an error.
        let shadowed = self.fast.principal_shadowed_by.get(slot as usize)?;
        if any_given(e.attrs, shadowed) {
            return None;
        }
        from_val(e.attrs.get(slot as usize).copied().unwrap_or_default())
    }

    #[inline]
    fn operand(&self, t: &'e Term) -> Option<Op<'e>>
    where
        'q: 'e,
    {
        Some(Op::Val(match t {
            Term::Str(s) => V::S(s),
            Term::Int(i) => V::I(*i),
            Term::Bool(b) => V::B(*b),
            Term::Slot(i) => from_val(self.q.attrs.get(*i as usize).copied().unwrap_or_default())?,
            Term::Shadowed(i) => {
                if any_given(self.q.attrs, self.fast.shadowed_by.get(*i as usize)?) {
                    return None;
                }
                from_val(self.q.attrs.get(*i as usize).copied().unwrap_or_default())?
            }
            Term::Bound(n) => {
                if self.pos.is_some() {
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
            Term::Subject(i) => self.entity_attr(&self.q.subject, *i)?,
            Term::Principal(i) => {
                let e = self.q.chain_at(self.pos?)?;
                self.entity_attr(e, *i)?
            }
            Term::Field(f) => V::S(
                match f {
                    Field::SubjectType => self.q.subject.ty,
                    Field::SubjectId => self.q.subject.id,
                    Field::PrincipalType => self.q.chain_at(self.pos?)?.ty,
                    Field::PrincipalId => self.q.chain_at(self.pos?)?.id,
                    Field::ActionName => self.q.action,
                    Field::ResourceType => self.q.resource_type,
                    Field::ResourceId => self.q.resource_id?,
                }
                .as_bytes(),
            ),
            Term::Wildcard => return Some(Op::Wild),
            Term::Unsupported => return None,
        }))
    }

    /// `Some(true|false)` when the condition is plainly true or false; `None` otherwise.
    fn eval(&self, c: &'e FCond) -> Option<bool>
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
            FCond::IntCmp(i, op, v) => match self.q.attrs.get(*i as usize) {
                Some(Val::Int(x)) => Some(holds(*op, x.cmp(v))),
                _ => None,
            },
            FCond::StrEq(i, negated, s) => match self.q.attrs.get(*i as usize) {
                Some(Val::Str(x)) => Some(same(x.as_bytes(), s) != *negated),
                _ => None,
            },
            FCond::StrIn(i, set) => match self.q.attrs.get(*i as usize) {
                Some(Val::Str(x)) => Some(set.iter().any(|s| same(x.as_bytes(), s))),
                _ => None,
            },
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

#[inline]
fn compare(a: V<'_>, b: V<'_>) -> Option<Ordering> {
    match (a, b) {
        (V::S(x), V::S(y)) if same(x, y) => Some(Ordering::Equal),
        (V::S(x), V::S(y)) => Some(x.cmp(y)),
        (V::I(x), V::I(y)) => Some(x.cmp(&y)),
        (V::B(x), V::B(y)) => Some(x.cmp(&y)),
        _ => None,
    }
}

#[inline]
fn holds(op: CmpOp, ord: Ordering) -> bool {
    crate::decide::cond::holds(op, ord)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_find_every_entry_and_no_other() {
        let names: Vec<(Box<str>, u32)> = (0..100)
            .map(|i| (format!("tool.n{i}").into_boxed_str(), i * 3))
            .collect();
        let t = Names::new(names);
        for i in 0..100u32 {
            assert_eq!(t.get(&format!("tool.n{i}")), Some(i * 3));
        }
        assert_eq!(t.get("tool.n100"), None);
        assert_eq!(t.get(""), None);
        assert_eq!(Names::new(Vec::new()).get("x"), None);
    }

    #[test]
    fn entries_are_found_in_one_pass() {
        let entries = [(1, 10, 1), (4, 11, 2), (9, 13, 1)];
        let mut cur = 0;
        assert_eq!(entry(&entries, &mut cur, 0), None);
        assert_eq!(entry(&entries, &mut cur, 4), Some((11, 2)));
        assert_eq!(entry(&entries, &mut cur, 5), None);
        assert_eq!(entry(&entries, &mut cur, 9), Some((13, 1)));
        assert_eq!(entry(&entries, &mut cur, 12), None);
        assert_eq!(cur, 3);
    }
}
