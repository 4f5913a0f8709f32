//! Residual constraints: what remains of the conditions when the request leaves attributes
//! unknown, in disjunctive normal form over per-attribute domains.
//!
//! A [`Constraint`] is a list of alternatives, any one of which must hold; an alternative is a
//! map from attribute (its path in the request, `action.amount`) to the [`Domain`] its value
//! must lie in, and all of them must hold. No alternatives: unsatisfiable; one empty
//! alternative: always true.
//!
//! Domains are exact and canonical, so equal sets of values have equal domains
//! (`<= 200`, `< 201` and `not (> 200)` are all `max 200`):
//! - ints: a union of disjoint, non-adjacent closed intervals;
//! - strings: a finite set (`in`) or the complement of one (`not_in`);
//! - booleans: the set of allowed values.
//!
//! An attribute compared with values of one type must have that type (a value of another type
//! is an evaluation error, and errors deny), so a domain that admits every value of its type is
//! no constraint at all and is dropped from its alternative.
//!
//! # JSON form (`context.constraints` of a response)
//! ```json
//! [{"action.amount": {"max": 200}, "resource.region": {"in": ["US"]}},
//!  {"action.amount": {"max": 50}}]
//! ```
//! A list of alternatives; each maps attribute paths to one domain object:
//! - `{"in": [v, ...]}`: one of these values (strings, ints or booleans);
//! - `{"not_in": [v, ...]}`: any value of that type except these (strings or ints);
//! - `{"min": a, "max": b}`: an int in `a..=b`; either bound may be absent (unbounded);
//! - `{"ranges": [{"min": a, "max": b}, ...]}`: an int in any of the ranges.
//!
//! Ints use `in` when every range of the domain is a single value, `not_in` when every range of
//! its complement is, one range when it is an interval, and `ranges` otherwise.

use crate::ir::{CmpOp, Value};
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// At most this many alternatives in one constraint; more is an error (and so a deny).
pub const MAX_ALTERNATIVES: usize = 4096;

/// Ints: sorted, disjoint, non-adjacent closed intervals.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IntSet(Vec<(i64, i64)>);

impl IntSet {
    pub fn full() -> IntSet {
        IntSet(vec![(i64::MIN, i64::MAX)])
    }

    pub fn point(v: i64) -> IntSet {
        IntSet(vec![(v, v)])
    }

    /// Canonical form of any list of closed intervals (empty ones, `lo > hi`, are dropped).
    pub fn from_intervals(mut iv: Vec<(i64, i64)>) -> IntSet {
        iv.retain(|(lo, hi)| lo <= hi);
        iv.sort_unstable();
        let mut out: Vec<(i64, i64)> = Vec::with_capacity(iv.len());
        for (lo, hi) in iv {
            match out.last_mut() {
                Some(last) if i128::from(lo) <= i128::from(last.1) + 1 => {
                    last.1 = last.1.max(hi);
                }
                _ => out.push((lo, hi)),
            }
        }
        IntSet(out)
    }

    pub fn intervals(&self) -> &[(i64, i64)] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_full(&self) -> bool {
        self.0 == [(i64::MIN, i64::MAX)]
    }

    pub fn contains(&self, v: i64) -> bool {
        self.0.iter().any(|&(lo, hi)| lo <= v && v <= hi)
    }

    pub fn complement(&self) -> IntSet {
        let mut out = Vec::new();
        let mut next: i128 = i128::from(i64::MIN);
        for &(lo, hi) in &self.0 {
            if i128::from(lo) > next {
                out.push((next as i64, lo - 1));
            }
            next = i128::from(hi) + 1;
        }
        if next <= i128::from(i64::MAX) {
            out.push((next as i64, i64::MAX));
        }
        IntSet(out)
    }

    pub fn union(&self, other: &IntSet) -> IntSet {
        IntSet::from_intervals(self.0.iter().chain(&other.0).copied().collect())
    }

    pub fn intersect(&self, other: &IntSet) -> IntSet {
        let mut out = Vec::new();
        for &(a, b) in &self.0 {
            for &(c, d) in &other.0 {
                let (lo, hi) = (a.max(c), b.min(d));
                if lo <= hi {
                    out.push((lo, hi));
                }
            }
        }
        IntSet::from_intervals(out)
    }

    pub fn is_subset(&self, other: &IntSet) -> bool {
        self.0
            .iter()
            .all(|&(lo, hi)| other.0.iter().any(|&(c, d)| c <= lo && hi <= d))
    }

    /// The values `v` with `v op c`.
    pub fn from_cmp(op: CmpOp, c: i64) -> IntSet {
        let iv = match op {
            CmpOp::Eq => vec![(c, c)],
            CmpOp::Ne => return IntSet::point(c).complement(),
            CmpOp::Lt if c == i64::MIN => vec![],
            CmpOp::Lt => vec![(i64::MIN, c - 1)],
            CmpOp::Le => vec![(i64::MIN, c)],
            CmpOp::Gt if c == i64::MAX => vec![],
            CmpOp::Gt => vec![(c + 1, i64::MAX)],
            CmpOp::Ge => vec![(c, i64::MAX)],
        };
        IntSet::from_intervals(iv)
    }
}

/// Strings: a finite set or the complement of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StrSet {
    In(BTreeSet<String>),
    NotIn(BTreeSet<String>),
}

impl StrSet {
    pub fn contains(&self, v: &str) -> bool {
        match self {
            StrSet::In(s) => s.contains(v),
            StrSet::NotIn(s) => !s.contains(v),
        }
    }

    pub fn complement(&self) -> StrSet {
        match self {
            StrSet::In(s) => StrSet::NotIn(s.clone()),
            StrSet::NotIn(s) => StrSet::In(s.clone()),
        }
    }

    pub fn intersect(&self, other: &StrSet) -> StrSet {
        match (self, other) {
            (StrSet::In(a), StrSet::In(b)) => StrSet::In(a.intersection(b).cloned().collect()),
            (StrSet::In(a), StrSet::NotIn(b)) | (StrSet::NotIn(b), StrSet::In(a)) => {
                StrSet::In(a.difference(b).cloned().collect())
            }
            (StrSet::NotIn(a), StrSet::NotIn(b)) => StrSet::NotIn(a.union(b).cloned().collect()),
        }
    }

    pub fn union(&self, other: &StrSet) -> StrSet {
        self.complement()
            .intersect(&other.complement())
            .complement()
    }

    pub fn is_subset(&self, other: &StrSet) -> bool {
        match (self, other) {
            (StrSet::In(a), StrSet::In(b)) => a.is_subset(b),
            (StrSet::In(a), StrSet::NotIn(b)) => a.is_disjoint(b),
            (StrSet::NotIn(_), StrSet::In(_)) => false,
            (StrSet::NotIn(a), StrSet::NotIn(b)) => b.is_subset(a),
        }
    }

    pub fn is_empty(&self) -> bool {
        matches!(self, StrSet::In(s) if s.is_empty())
    }

    pub fn is_full(&self) -> bool {
        matches!(self, StrSet::NotIn(s) if s.is_empty())
    }
}

/// Booleans: which of `false`, `true` are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BoolSet {
    pub allow_false: bool,
    pub allow_true: bool,
}

impl BoolSet {
    pub fn point(v: bool) -> BoolSet {
        BoolSet {
            allow_false: !v,
            allow_true: v,
        }
    }

    pub fn contains(&self, v: bool) -> bool {
        if v {
            self.allow_true
        } else {
            self.allow_false
        }
    }

    /// The values `v` with `v op c` (`false < true`).
    pub fn from_cmp(op: CmpOp, c: bool) -> BoolSet {
        let holds = |v: bool| match op {
            CmpOp::Eq => v == c,
            CmpOp::Ne => v != c,
            CmpOp::Lt => !v & c,
            CmpOp::Le => v <= c,
            CmpOp::Gt => v & !c,
            CmpOp::Ge => v >= c,
        };
        BoolSet {
            allow_false: holds(false),
            allow_true: holds(true),
        }
    }
}

/// The set of values one attribute may take.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Domain {
    Int(IntSet),
    Str(StrSet),
    Bool(BoolSet),
}

impl Domain {
    /// The domain holding exactly `v`.
    pub fn point(v: &Value) -> Domain {
        match v {
            Value::Int(i) => Domain::Int(IntSet::point(*i)),
            Value::Str(s) => Domain::Str(StrSet::In(BTreeSet::from([s.clone()]))),
            Value::Bool(b) => Domain::Bool(BoolSet::point(*b)),
        }
    }

    /// The values `v` with `v op c`; `None` when that is not expressible (string ordering).
    pub fn from_cmp(op: CmpOp, c: &Value) -> Option<Domain> {
        match c {
            Value::Int(i) => Some(Domain::Int(IntSet::from_cmp(op, *i))),
            Value::Bool(b) => Some(Domain::Bool(BoolSet::from_cmp(op, *b))),
            Value::Str(s) => match op {
                CmpOp::Eq => Some(Domain::point(c)),
                CmpOp::Ne => Some(Domain::Str(StrSet::NotIn(BTreeSet::from([s.clone()])))),
                CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge => None,
            },
        }
    }

    pub fn contains(&self, v: &Value) -> bool {
        match (self, v) {
            (Domain::Int(d), Value::Int(i)) => d.contains(*i),
            (Domain::Str(d), Value::Str(s)) => d.contains(s),
            (Domain::Bool(d), Value::Bool(b)) => d.contains(*b),
            _ => false,
        }
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Domain::Int(d) => d.is_empty(),
            Domain::Str(d) => d.is_empty(),
            Domain::Bool(d) => !d.allow_false && !d.allow_true,
        }
    }

    /// Whether every value of the domain's type is in it.
    pub fn is_full(&self) -> bool {
        match self {
            Domain::Int(d) => d.is_full(),
            Domain::Str(d) => d.is_full(),
            Domain::Bool(d) => d.allow_false && d.allow_true,
        }
    }

    /// The other values of the same type.
    pub fn complement(&self) -> Domain {
        match self {
            Domain::Int(d) => Domain::Int(d.complement()),
            Domain::Str(d) => Domain::Str(d.complement()),
            Domain::Bool(d) => Domain::Bool(BoolSet {
                allow_false: !d.allow_false,
                allow_true: !d.allow_true,
            }),
        }
    }

    /// The intersection; `None` when it is empty (domains of different types never meet).
    pub fn intersect(&self, other: &Domain) -> Option<Domain> {
        let d = match (self, other) {
            (Domain::Int(a), Domain::Int(b)) => Domain::Int(a.intersect(b)),
            (Domain::Str(a), Domain::Str(b)) => Domain::Str(a.intersect(b)),
            (Domain::Bool(a), Domain::Bool(b)) => Domain::Bool(BoolSet {
                allow_false: a.allow_false && b.allow_false,
                allow_true: a.allow_true && b.allow_true,
            }),
            _ => return None,
        };
        (!d.is_empty()).then_some(d)
    }

    /// The union, when both have the same type.
    pub fn union(&self, other: &Domain) -> Option<Domain> {
        match (self, other) {
            (Domain::Int(a), Domain::Int(b)) => Some(Domain::Int(a.union(b))),
            (Domain::Str(a), Domain::Str(b)) => Some(Domain::Str(a.union(b))),
            (Domain::Bool(a), Domain::Bool(b)) => Some(Domain::Bool(BoolSet {
                allow_false: a.allow_false || b.allow_false,
                allow_true: a.allow_true || b.allow_true,
            })),
            _ => None,
        }
    }

    pub fn is_subset(&self, other: &Domain) -> bool {
        match (self, other) {
            (Domain::Int(a), Domain::Int(b)) => a.is_subset(b),
            (Domain::Str(a), Domain::Str(b)) => a.is_subset(b),
            (Domain::Bool(a), Domain::Bool(b)) => {
                (!a.allow_false || b.allow_false) && (!a.allow_true || b.allow_true)
            }
            _ => self.is_empty(),
        }
    }

    /// The JSON form (see the module documentation).
    pub fn to_json(&self) -> Json {
        match self {
            Domain::Str(StrSet::In(s)) => json!({ "in": s }),
            Domain::Str(StrSet::NotIn(s)) => json!({ "not_in": s }),
            Domain::Bool(b) => {
                let vals: Vec<bool> = [false, true]
                    .into_iter()
                    .filter(|v| b.contains(*v))
                    .collect();
                json!({ "in": vals })
            }
            Domain::Int(d) => {
                // Every interval a single value: a finite set of points.
                let points = |set: &IntSet| -> Option<Vec<i64>> {
                    set.intervals()
                        .iter()
                        .map(|&(lo, hi)| (lo == hi).then_some(lo))
                        .collect()
                };
                if let Some(p) = points(d) {
                    return json!({ "in": p });
                }
                let c = d.complement();
                if !c.is_empty() {
                    if let Some(p) = points(&c) {
                        return json!({ "not_in": p });
                    }
                }
                match d.intervals() {
                    [one] => range_json(*one),
                    many => {
                        json!({ "ranges": many.iter().map(|r| range_json(*r)).collect::<Vec<_>>() })
                    }
                }
            }
        }
    }

    /// Parses the JSON form; `None` when it is not one.
    pub fn from_json(json: &Json) -> Option<Domain> {
        let obj = json.as_object()?;
        if let Some(vals) = obj.get("in").or_else(|| obj.get("not_in")) {
            let negated = obj.contains_key("not_in");
            let vals = vals.as_array()?;
            let first = vals.first()?;
            let d = match first {
                Json::String(_) => {
                    let set = vals
                        .iter()
                        .map(|v| v.as_str().map(str::to_string))
                        .collect::<Option<BTreeSet<_>>>()?;
                    Domain::Str(StrSet::In(set))
                }
                Json::Number(_) => Domain::Int(IntSet::from_intervals(
                    vals.iter()
                        .map(|v| v.as_i64().map(|i| (i, i)))
                        .collect::<Option<Vec<_>>>()?,
                )),
                Json::Bool(_) => {
                    let bs = vals.iter().map(Json::as_bool).collect::<Option<Vec<_>>>()?;
                    Domain::Bool(BoolSet {
                        allow_false: bs.contains(&false),
                        allow_true: bs.contains(&true),
                    })
                }
                _ => return None,
            };
            return Some(if negated { d.complement() } else { d });
        }
        if let Some(ranges) = obj.get("ranges") {
            let iv = ranges
                .as_array()?
                .iter()
                .map(range_from_json)
                .collect::<Option<Vec<_>>>()?;
            return Some(Domain::Int(IntSet::from_intervals(iv)));
        }
        Some(Domain::Int(IntSet::from_intervals(vec![range_from_json(
            json,
        )?])))
    }
}

fn range_json((lo, hi): (i64, i64)) -> Json {
    let mut m = Map::new();
    if lo != i64::MIN {
        m.insert("min".into(), json!(lo));
    }
    if hi != i64::MAX {
        m.insert("max".into(), json!(hi));
    }
    Json::Object(m)
}

fn range_from_json(json: &Json) -> Option<(i64, i64)> {
    let obj = json.as_object()?;
    if obj.keys().any(|k| k != "min" && k != "max") {
        return None;
    }
    let bound = |k: &str, default: i64| match obj.get(k) {
        None => Some(default),
        Some(v) => v.as_i64(),
    };
    Some((bound("min", i64::MIN)?, bound("max", i64::MAX)?))
}

impl fmt::Display for Domain {
    /// Condition-like text without the attribute: `<= 200`, `in ["US", "EU"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |vals: Vec<String>| format!("[{}]", vals.join(", "));
        match self {
            Domain::Str(StrSet::In(s)) if s.len() == 1 => write!(f, "== {:?}", first(s)),
            Domain::Str(StrSet::NotIn(s)) if s.len() == 1 => write!(f, "!= {:?}", first(s)),
            Domain::Str(StrSet::In(s)) => {
                write!(
                    f,
                    "in {}",
                    list(s.iter().map(|v| format!("{v:?}")).collect())
                )
            }
            Domain::Str(StrSet::NotIn(s)) => {
                write!(
                    f,
                    "not in {}",
                    list(s.iter().map(|v| format!("{v:?}")).collect())
                )
            }
            Domain::Bool(b) => match (b.allow_false, b.allow_true) {
                (false, true) => write!(f, "== true"),
                (true, false) => write!(f, "== false"),
                (true, true) => write!(f, "is any boolean"),
                (false, false) => write!(f, "is impossible"),
            },
            Domain::Int(d) => {
                let range = |&(lo, hi): &(i64, i64)| match (lo == i64::MIN, hi == i64::MAX) {
                    (true, true) => "is any int".to_string(),
                    (true, false) => format!("<= {hi}"),
                    (false, true) => format!(">= {lo}"),
                    (false, false) if lo == hi => format!("== {lo}"),
                    (false, false) => format!("in {lo}..={hi}"),
                };
                match d.intervals() {
                    [] => write!(f, "is impossible"),
                    [one] => write!(f, "{}", range(one)),
                    many => {
                        let c = d.complement();
                        if let [(lo, hi)] = c.intervals() {
                            if lo == hi {
                                return write!(f, "!= {lo}");
                            }
                        }
                        let parts: Vec<String> = many.iter().map(range).collect();
                        write!(f, "({})", parts.join(" or "))
                    }
                }
            }
        }
    }
}

fn first(s: &BTreeSet<String>) -> &str {
    s.iter().next().map(String::as_str).unwrap_or_default()
}

/// One alternative: every attribute in it must lie in its domain.
pub type Alternative = BTreeMap<String, Domain>;

/// A condition on request attributes in disjunctive normal form (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    alts: Vec<Alternative>,
}

/// A constraint grew past [`MAX_ALTERNATIVES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the residual constraint has more than {MAX_ALTERNATIVES} alternatives")]
pub struct TooLarge;

impl Constraint {
    pub fn always() -> Constraint {
        Constraint {
            alts: vec![Alternative::new()],
        }
    }

    pub fn never() -> Constraint {
        Constraint { alts: Vec::new() }
    }

    /// `attr` must lie in `domain`.
    pub fn atom(attr: impl Into<String>, domain: Domain) -> Constraint {
        if domain.is_empty() {
            return Constraint::never();
        }
        let mut alt = Alternative::new();
        if !domain.is_full() {
            alt.insert(attr.into(), domain);
        }
        Constraint { alts: vec![alt] }
    }

    /// Builds a constraint from alternatives, simplifying them.
    pub fn from_alternatives(alts: Vec<Alternative>) -> Result<Constraint, TooLarge> {
        let alts = alts
            .into_iter()
            .filter_map(|alt| {
                let mut out = Alternative::new();
                for (k, d) in alt {
                    if d.is_empty() {
                        return None;
                    }
                    if !d.is_full() {
                        out.insert(k, d);
                    }
                }
                Some(out)
            })
            .collect();
        let mut c = Constraint { alts };
        c.simplify();
        c.check_size()?;
        Ok(c)
    }

    pub fn alternatives(&self) -> &[Alternative] {
        &self.alts
    }

    pub fn is_never(&self) -> bool {
        self.alts.is_empty()
    }

    pub fn is_always(&self) -> bool {
        self.alts.iter().any(BTreeMap::is_empty)
    }

    fn check_size(&self) -> Result<(), TooLarge> {
        if self.alts.len() > MAX_ALTERNATIVES {
            Err(TooLarge)
        } else {
            Ok(())
        }
    }

    pub fn or(&self, other: &Constraint) -> Result<Constraint, TooLarge> {
        let mut alts = self.alts.clone();
        alts.extend(other.alts.iter().cloned());
        let mut c = Constraint { alts };
        c.simplify();
        c.check_size()?;
        Ok(c)
    }

    pub fn and(&self, other: &Constraint) -> Result<Constraint, TooLarge> {
        let mut alts = Vec::new();
        for a in &self.alts {
            for b in &other.alts {
                if let Some(m) = meet(a, b) {
                    alts.push(m);
                    if alts.len() > MAX_ALTERNATIVES * 4 {
                        return Err(TooLarge);
                    }
                }
            }
        }
        let mut c = Constraint { alts };
        c.simplify();
        c.check_size()?;
        Ok(c)
    }

    pub fn not(&self) -> Result<Constraint, TooLarge> {
        let mut acc = Constraint::always();
        for alt in &self.alts {
            // not (a1 and a2 ...) = (not a1) or (not a2) ...
            let negated = Constraint {
                alts: alt
                    .iter()
                    .filter_map(|(k, d)| {
                        let c = d.complement();
                        (!c.is_empty()).then(|| Alternative::from([(k.clone(), c)]))
                    })
                    .collect(),
            };
            acc = acc.and(&negated)?;
            if acc.is_never() {
                break;
            }
        }
        Ok(acc)
    }

    /// Whether the values `value(attr)` satisfy the constraint (`None`: absent, which no
    /// domain admits).
    pub fn holds(&self, value: impl Fn(&str) -> Option<Value>) -> bool {
        self.alts.iter().any(|alt| {
            alt.iter()
                .all(|(k, d)| value(k).is_some_and(|v| d.contains(&v)))
        })
    }

    /// Whether every assignment of values that satisfies `self` satisfies `other` (each
    /// attribute taking values of one type, as conditions require). Exact: an alternative of
    /// `self` is split into disjoint pieces along the alternatives of `other` until each piece
    /// lies inside one of them or meets none.
    pub fn implies(&self, other: &Constraint) -> bool {
        let by: Vec<&Alternative> = other.alts.iter().collect();
        self.alts.iter().all(|a| covered(a.clone(), &by))
    }

    /// Whether both constraints admit exactly the same assignments.
    pub fn equivalent(&self, other: &Constraint) -> bool {
        self == other || (self.implies(other) && other.implies(self))
    }

    /// Every attribute the constraint mentions.
    pub fn attributes(&self) -> BTreeSet<&str> {
        self.alts
            .iter()
            .flat_map(|a| a.keys().map(String::as_str))
            .collect()
    }

    /// Removes alternatives implied by others and merges alternatives that differ in one
    /// attribute only, until nothing changes; sorts the result.
    fn simplify(&mut self) {
        loop {
            self.alts.sort();
            self.alts.dedup();
            if self.alts.iter().any(BTreeMap::is_empty) {
                self.alts = vec![Alternative::new()];
                return;
            }
            let mut changed = false;
            // drop alternatives subsumed by a more general one
            let mut keep = vec![true; self.alts.len()];
            for i in 0..self.alts.len() {
                for j in 0..self.alts.len() {
                    if i != j && keep[j] && keep[i] && subsumes(&self.alts[j], &self.alts[i]) {
                        keep[i] = false;
                        changed = true;
                    }
                }
            }
            if changed {
                let mut it = keep.iter();
                self.alts.retain(|_| *it.next().unwrap_or(&true));
                continue;
            }
            // merge two alternatives equal but for one attribute
            'outer: for i in 0..self.alts.len() {
                for j in i + 1..self.alts.len() {
                    if let Some(m) = merge(&self.alts[i], &self.alts[j]) {
                        self.alts[i] = m;
                        self.alts.swap_remove(j);
                        changed = true;
                        break 'outer;
                    }
                }
            }
            if !changed {
                return;
            }
        }
    }

    /// The JSON form (see the module documentation).
    pub fn to_json(&self) -> Json {
        Json::Array(
            self.alts
                .iter()
                .map(|alt| {
                    Json::Object(alt.iter().map(|(k, d)| (k.clone(), d.to_json())).collect())
                })
                .collect(),
        )
    }

    /// Parses the JSON form; `None` when it is not one.
    pub fn from_json(json: &Json) -> Option<Constraint> {
        let alts = json
            .as_array()?
            .iter()
            .map(|alt| {
                alt.as_object()?
                    .iter()
                    .map(|(k, d)| Some((k.clone(), Domain::from_json(d)?)))
                    .collect::<Option<Alternative>>()
            })
            .collect::<Option<Vec<_>>>()?;
        Constraint::from_alternatives(alts).ok()
    }
}

/// The conjunction of two alternatives; `None` when some attribute has no value left.
fn meet(a: &Alternative, b: &Alternative) -> Option<Alternative> {
    let mut out = a.clone();
    for (k, d) in b {
        let m = match out.get(k) {
            Some(e) => e.intersect(d)?,
            None => d.clone(),
        };
        out.insert(k.clone(), m);
    }
    Some(out)
}

/// Whether every assignment satisfying `a` satisfies one of `by`.
fn covered(a: Alternative, by: &[&Alternative]) -> bool {
    if by.iter().any(|b| subsumes(b, &a)) {
        return true;
    }
    // Some alternative meeting `a`: the part of `a` inside it is covered; the rest of `a` is
    // split, attribute by attribute, into disjoint pieces that the other alternatives must
    // cover.
    let Some(j) = by.iter().position(|b| meet(&a, b).is_some()) else {
        return false;
    };
    let b = by[j];
    let rest: Vec<&Alternative> = by
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != j)
        .map(|(_, b)| *b)
        .collect();
    let mut inside = a;
    for (k, d) in b {
        let outside = match inside.get(k) {
            Some(x) => x.intersect(&d.complement()),
            None => Some(d.complement()).filter(|c| !c.is_empty()),
        };
        if let Some(o) = outside {
            let mut piece = inside.clone();
            piece.insert(k.clone(), o);
            if !covered(piece, &rest) {
                return false;
            }
        }
        let narrowed = match inside.get(k) {
            Some(x) => x.intersect(d),
            None => Some(d.clone()),
        };
        match narrowed {
            Some(n) => {
                inside.insert(k.clone(), n);
            }
            // `a` meets `b`, so every attribute of `b` keeps a value
            None => return true,
        }
    }
    true
}

/// Whether every value assignment satisfying `specific` satisfies `general`.
fn subsumes(general: &Alternative, specific: &Alternative) -> bool {
    general
        .iter()
        .all(|(k, g)| specific.get(k).is_some_and(|s| s.is_subset(g)))
}

/// `a or b` as one alternative, when they constrain the same attributes and differ in at most
/// one of them.
fn merge(a: &Alternative, b: &Alternative) -> Option<Alternative> {
    if a.len() != b.len() || !a.keys().eq(b.keys()) {
        return None;
    }
    let mut diff = a.iter().zip(b.iter()).filter(|((_, x), (_, y))| x != y);
    let ((k, x), (_, y)) = diff.next()?;
    if diff.next().is_some() {
        return None;
    }
    let u = x.union(y)?;
    let mut out = a.clone();
    if u.is_full() {
        out.remove(k);
    } else {
        out.insert(k.clone(), u);
    }
    Some(out)
}

impl fmt::Display for Constraint {
    /// `action.amount <= 200 and resource.region == "US"`; alternatives joined with `or`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_never() {
            return write!(f, "false");
        }
        if self.is_always() {
            return write!(f, "true");
        }
        let parts: Vec<String> = self
            .alts
            .iter()
            .map(|alt| {
                let conj: Vec<String> = alt.iter().map(|(k, d)| format!("{k} {d}")).collect();
                conj.join(" and ")
            })
            .collect();
        if parts.len() == 1 {
            write!(f, "{}", parts[0])
        } else {
            write!(f, "({})", parts.join(") or ("))
        }
    }
}
