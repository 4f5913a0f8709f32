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

pub use super::domain::{BoolSet, Domain, IntSet, StrSet};
use crate::ir::Value;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// At most this many alternatives in one constraint; more is an error (and so a deny).
pub const MAX_ALTERNATIVES: usize = 4096;

/// One alternative: every attribute in it must lie in its domain.
pub type Alternative = BTreeMap<String, Domain>;

/// A condition on request attributes in disjunctive normal form (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    /// Empty when `always` is set. Never holds an empty alternative: [`Constraint::simplify`]
    /// turns one into `always`, and every other constructor builds non-empty ones.
    alts: Vec<Alternative>,
    /// The constraint that always holds (one empty alternative), kept without allocating.
    always: bool,
}

/// The alternatives of [`Constraint::always`].
static ALWAYS: [Alternative; 1] = [Alternative::new()];

/// A constraint grew past [`MAX_ALTERNATIVES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the residual constraint has more than {MAX_ALTERNATIVES} alternatives")]
pub struct TooLarge;

impl Constraint {
    pub fn always() -> Constraint {
        Constraint {
            alts: Vec::new(),
            always: true,
        }
    }

    pub fn never() -> Constraint {
        Constraint {
            alts: Vec::new(),
            always: false,
        }
    }

    /// A constraint of alternatives that need simplifying (see [`Constraint::simplify`]).
    fn of(alts: Vec<Alternative>) -> Constraint {
        Constraint {
            alts,
            always: false,
        }
    }

    /// `attr` must lie in `domain`.
    pub fn atom(attr: impl Into<String>, domain: Domain) -> Constraint {
        if domain.is_empty() {
            return Constraint::never();
        }
        if domain.is_full() {
            return Constraint::always();
        }
        let mut alt = Alternative::new();
        alt.insert(attr.into(), domain);
        Constraint::of(vec![alt])
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
        let mut c = Constraint::of(alts);
        c.simplify();
        c.check_size()?;
        Ok(c)
    }

    pub fn alternatives(&self) -> &[Alternative] {
        if self.always {
            &ALWAYS
        } else {
            &self.alts
        }
    }

    pub fn is_never(&self) -> bool {
        !self.always && self.alts.is_empty()
    }

    pub fn is_always(&self) -> bool {
        debug_assert!(!self.alts.iter().any(BTreeMap::is_empty));
        self.always
    }

    fn check_size(&self) -> Result<(), TooLarge> {
        if self.alts.len() > MAX_ALTERNATIVES {
            Err(TooLarge)
        } else {
            Ok(())
        }
    }

    pub fn or(&self, other: &Constraint) -> Result<Constraint, TooLarge> {
        if self.is_always() || other.is_never() {
            return Ok(self.clone());
        }
        if other.is_always() || self.is_never() {
            return Ok(other.clone());
        }
        let mut alts = self.alternatives().to_vec();
        alts.extend(other.alternatives().iter().cloned());
        let mut c = Constraint::of(alts);
        c.simplify();
        c.check_size()?;
        Ok(c)
    }

    pub fn and(&self, other: &Constraint) -> Result<Constraint, TooLarge> {
        if self.is_never() || other.is_always() {
            return Ok(self.clone());
        }
        if other.is_never() || self.is_always() {
            return Ok(other.clone());
        }
        let mut alts = Vec::new();
        for a in self.alternatives() {
            for b in other.alternatives() {
                if let Some(m) = meet(a, b) {
                    alts.push(m);
                    if alts.len() > MAX_ALTERNATIVES * 4 {
                        return Err(TooLarge);
                    }
                }
            }
        }
        let mut c = Constraint::of(alts);
        c.simplify();
        c.check_size()?;
        Ok(c)
    }

    pub fn not(&self) -> Result<Constraint, TooLarge> {
        let mut acc = Constraint::always();
        for alt in self.alternatives() {
            // not (a1 and a2 ...) = (not a1) or (not a2) ...
            let negated = Constraint::of(
                alt.iter()
                    .filter_map(|(k, d)| {
                        let c = d.complement();
                        (!c.is_empty()).then(|| Alternative::from([(k.clone(), c)]))
                    })
                    .collect(),
            );
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
        self.alternatives().iter().any(|alt| {
            alt.iter()
                .all(|(k, d)| value(k).is_some_and(|v| d.contains(&v)))
        })
    }

    /// Whether every assignment of values that satisfies `self` satisfies `other` (each
    /// attribute taking values of one type, as conditions require). Exact: an alternative of
    /// `self` is split into disjoint pieces along the alternatives of `other` until each piece
    /// lies inside one of them or meets none.
    pub fn implies(&self, other: &Constraint) -> bool {
        let by: Vec<&Alternative> = other.alternatives().iter().collect();
        self.alternatives().iter().all(|a| covered(a.clone(), &by))
    }

    /// Whether both constraints admit exactly the same assignments.
    pub fn equivalent(&self, other: &Constraint) -> bool {
        self == other || (self.implies(other) && other.implies(self))
    }

    /// Every attribute the constraint mentions.
    pub fn attributes(&self) -> BTreeSet<&str> {
        self.alternatives()
            .iter()
            .flat_map(|a| a.keys().map(String::as_str))
            .collect()
    }

    /// Removes alternatives implied by others and merges alternatives that differ in one
    /// attribute only, until nothing changes; sorts the result.
    fn simplify(&mut self) {
        if self.always {
            return;
        }
        loop {
            self.alts.sort();
            self.alts.dedup();
            if self.alts.iter().any(BTreeMap::is_empty) {
                *self = Constraint::always();
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
            // merge alternatives equal but for one attribute, as many as one pass finds
            let mut merged: Vec<Alternative> = Vec::with_capacity(self.alts.len());
            'next: for alt in std::mem::take(&mut self.alts) {
                for m in merged.iter_mut() {
                    if let Some(u) = merge(m, &alt) {
                        *m = u;
                        changed = true;
                        continue 'next;
                    }
                }
                merged.push(alt);
            }
            self.alts = merged;
            if !changed {
                return;
            }
        }
    }

    /// The JSON form (see the module documentation).
    pub fn to_json(&self) -> Json {
        Json::Array(
            self.alternatives()
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
            .alternatives()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::CmpOp;

    #[test]
    fn always_is_one_empty_alternative_however_it_is_built() {
        let always = Constraint::always();
        assert_eq!(always.alternatives(), &[Alternative::new()]);
        assert_eq!(always.to_json(), serde_json::json!([{}]));
        assert_eq!(always.to_string(), "true");
        let built = Constraint::from_alternatives(vec![Alternative::new()]).expect("small");
        assert_eq!(built, always);
        let le = Domain::from_cmp(CmpOp::Le, &Value::Int(5)).expect("an int domain");
        let gt = Domain::from_cmp(CmpOp::Gt, &Value::Int(5)).expect("an int domain");
        let a = Constraint::atom("n", le);
        let b = Constraint::atom("n", gt);
        assert_eq!(a.or(&b).expect("small"), always);
        assert_eq!(a.not().expect("small"), b);
        assert_eq!(always.and(&a).expect("small"), a);
        assert_eq!(a.and(&always).expect("small"), a);
        assert_eq!(always.not().expect("small"), Constraint::never());
        assert_eq!(Constraint::never().not().expect("small"), always);
        assert!(always.is_always() && !always.is_never());
        assert!(always.holds(|_| None));
        assert!(a.implies(&always) && !always.implies(&a));
        assert!(always.attributes().is_empty());
    }
}
