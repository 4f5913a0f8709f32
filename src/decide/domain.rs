//! Per-attribute domains: the sets of values one request attribute may take in a residual
//! constraint, exact and canonical (equal sets of values are equal domains).
//!
//! - ints ([`IntSet`]): a union of disjoint, non-adjacent closed intervals;
//! - strings ([`StrSet`]): a finite set (`in`) or the complement of one (`not_in`);
//! - booleans ([`BoolSet`]): the set of allowed values.
//!
//! JSON forms (see [`super::residual`]): `{"in": [...]}`, `{"not_in": [...]}`,
//! `{"min": a, "max": b}`, `{"ranges": [...]}`.

use crate::ir::{CmpOp, Value};
use serde_json::{json, Map, Value as Json};
use std::collections::BTreeSet;
use std::fmt;

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

    /// The domain holding exactly `values`; `None` when there are none. Values of a type other
    /// than the first one's are left out (a relation column has one type).
    pub fn from_values<'v>(values: impl IntoIterator<Item = &'v Value>) -> Option<Domain> {
        let mut values = values.into_iter().peekable();
        let first = values.peek()?;
        Some(match first {
            Value::Int(_) => Domain::Int(IntSet::from_intervals(
                values
                    .filter_map(|v| match v {
                        Value::Int(i) => Some((*i, *i)),
                        Value::Str(_) | Value::Bool(_) => None,
                    })
                    .collect(),
            )),
            Value::Str(_) => Domain::Str(StrSet::In(
                values
                    .filter_map(|v| match v {
                        Value::Str(s) => Some(s.clone()),
                        Value::Int(_) | Value::Bool(_) => None,
                    })
                    .collect(),
            )),
            Value::Bool(_) => {
                let mut set = BoolSet {
                    allow_false: false,
                    allow_true: false,
                };
                for v in values {
                    match v {
                        Value::Bool(true) => set.allow_true = true,
                        Value::Bool(false) => set.allow_false = true,
                        Value::Int(_) | Value::Str(_) => {}
                    }
                }
                Domain::Bool(set)
            }
        })
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
                        // `lo..=hi`, `..=hi`, `lo..`, or one value
                        let span = |&(lo, hi): &(i64, i64)| match (lo == i64::MIN, hi == i64::MAX) {
                            (true, true) => "..".to_string(),
                            (true, false) => format!("..={hi}"),
                            (false, true) => format!("{lo}.."),
                            (false, false) if lo == hi => lo.to_string(),
                            (false, false) => format!("{lo}..={hi}"),
                        };
                        let c = d.complement();
                        match c.intervals() {
                            [(lo, hi)] if lo == hi => write!(f, "!= {lo}"),
                            [one] => write!(f, "not in {}", span(one)),
                            _ => {
                                let parts: Vec<String> = many.iter().map(span).collect();
                                write!(f, "in [{}]", parts.join(", "))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn first(s: &BTreeSet<String>) -> &str {
    s.iter().next().map(String::as_str).unwrap_or_default()
}
