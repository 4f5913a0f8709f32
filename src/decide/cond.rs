//! Three-valued evaluation of request-time conditions: true, false, or a residual
//! [`Constraint`] over the attributes the request leaves unknown.
//!
//! Values of different types never compare: such a comparison (and reading an attribute whose
//! value is a float, list or object) is a [`CondError`], which denies the request.

use super::request::{AttrRef, Request, ValueRef};
use super::residual::{Constraint, Domain, TooLarge};
use crate::eval::Model;
use crate::ir::{Attr, CmpOp, Cond, CondTerm, Program, RelId, Sym, Value};
use crate::source::Span;
use std::cmp::Ordering;

/// The outcome of a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    /// Neither: holds exactly when the constraint does (never `always` or `never`).
    Residual(Constraint),
}

impl Tri {
    fn from_constraint(c: Constraint) -> Tri {
        if c.is_always() {
            Tri::True
        } else if c.is_never() {
            Tri::False
        } else {
            Tri::Residual(c)
        }
    }

    pub fn into_constraint(self) -> Constraint {
        match self {
            Tri::True => Constraint::always(),
            Tri::False => Constraint::never(),
            Tri::Residual(c) => c,
        }
    }

    fn not(self) -> Result<Tri, TooLarge> {
        Ok(match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Residual(c) => Tri::from_constraint(c.not()?),
        })
    }
}

/// A condition that cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CondError {
    #[error("`{attr}` is {found}, which conditions cannot compare")]
    Invalid {
        attr: String,
        found: &'static str,
        span: Span,
    },
    #[error("type mismatch: {left} compared with {right}")]
    TypeMismatch {
        left: String,
        right: String,
        span: Span,
    },
    #[error("cannot express the residual condition: {why}")]
    Unrepresentable { why: String, span: Span },
    #[error("{0}")]
    TooLarge(TooLarge, Span),
    #[error("the condition reads column {column} of a relation with {arity} columns")]
    Internal {
        column: usize,
        arity: usize,
        span: Span,
    },
}

impl CondError {
    pub fn span(&self) -> Span {
        match self {
            CondError::Invalid { span, .. }
            | CondError::TypeMismatch { span, .. }
            | CondError::Unrepresentable { span, .. }
            | CondError::TooLarge(_, span)
            | CondError::Internal { span, .. } => *span,
        }
    }
}

/// What a condition is evaluated against: the request, the chain position of the principal
/// the statement matched, and the instance's tuple.
pub struct Env<'a> {
    pub program: &'a Program,
    pub model: &'a Model,
    pub request: &'a Request,
    pub principal: Option<usize>,
    pub row: &'a [Sym],
}

/// A resolved operand: a known value (with the attribute it was read from, for messages), an
/// unknown attribute, or `_`.
#[derive(Debug, Clone, PartialEq)]
enum Operand<'c, 'v> {
    Known(ValueRef<'v>, Option<&'c Attr>),
    /// An unknown attribute, by its constraint key.
    Unknown(String),
    Wildcard,
}

impl<'a> Env<'a> {
    fn operand<'c>(&self, t: &'c CondTerm) -> Result<Operand<'c, 'a>, CondError> {
        match t {
            CondTerm::Const(s, _) => Ok(Operand::Known(
                ValueRef::of(self.program.interner.value(*s)),
                None,
            )),
            CondTerm::Bound(n, span) => match self.row.get(*n) {
                Some(s) => Ok(Operand::Known(
                    ValueRef::of(self.program.interner.value(*s)),
                    None,
                )),
                None => Err(CondError::Internal {
                    column: *n,
                    arity: self.row.len(),
                    span: *span,
                }),
            },
            CondTerm::Wildcard(_) => Ok(Operand::Wildcard),
            CondTerm::Attr(attr, span) => match self.request.attr_ref(attr, self.principal) {
                AttrRef::Known(v) => Ok(Operand::Known(v, Some(attr))),
                AttrRef::Unknown => Ok(Operand::Unknown(Request::attr_key(attr, self.principal))),
                AttrRef::Invalid(found) => Err(CondError::Invalid {
                    attr: attr.dotted(),
                    found,
                    span: *span,
                }),
            },
        }
    }

    /// Evaluates `cond`.
    pub fn eval(&self, cond: &Cond) -> Result<Tri, CondError> {
        match cond {
            Cond::True => Ok(Tri::True),
            Cond::False => Ok(Tri::False),
            Cond::And(cs) => {
                let mut acc: Option<Constraint> = None;
                let mut err = None;
                for c in cs {
                    match self.eval(c) {
                        Ok(Tri::False) => return Ok(Tri::False),
                        Ok(Tri::True) => {}
                        Ok(Tri::Residual(r)) => {
                            acc = Some(match acc {
                                None => r,
                                Some(a) => {
                                    a.and(&r).map_err(|e| CondError::TooLarge(e, span_of(c)))?
                                }
                            });
                            if acc.as_ref().is_some_and(Constraint::is_never) {
                                return Ok(Tri::False);
                            }
                        }
                        Err(e) => err = err.or(Some(e)),
                    }
                }
                match (err, acc) {
                    (Some(e), _) => Err(e),
                    (None, None) => Ok(Tri::True),
                    (None, Some(a)) => Ok(Tri::from_constraint(a)),
                }
            }
            Cond::Or(cs) => {
                let mut acc: Option<Constraint> = None;
                let mut err = None;
                for c in cs {
                    match self.eval(c) {
                        Ok(Tri::True) => return Ok(Tri::True),
                        Ok(Tri::False) => {}
                        Ok(Tri::Residual(r)) => {
                            acc = Some(match acc {
                                None => r,
                                Some(a) => {
                                    a.or(&r).map_err(|e| CondError::TooLarge(e, span_of(c)))?
                                }
                            });
                        }
                        Err(e) => err = err.or(Some(e)),
                    }
                }
                match (err, acc) {
                    (Some(e), _) => Err(e),
                    (None, None) => Ok(Tri::False),
                    (None, Some(a)) => Ok(Tri::from_constraint(a)),
                }
            }
            Cond::Not(c) => self
                .eval(c)?
                .not()
                .map_err(|e| CondError::TooLarge(e, span_of(c))),
            Cond::Cmp { lhs, op, rhs, span } => {
                let l = self.operand(lhs)?;
                let r = self.operand(rhs)?;
                self.compare(l, *op, r, *span)
            }
            Cond::In { lhs, set, span } => {
                let l = self.operand(lhs)?;
                let mut acc = Constraint::never();
                for t in set {
                    let r = self.operand(t)?;
                    match self.compare(l.clone(), CmpOp::Eq, r, *span)? {
                        Tri::True => return Ok(Tri::True),
                        Tri::False => {}
                        Tri::Residual(c) => {
                            acc = acc.or(&c).map_err(|e| CondError::TooLarge(e, *span))?;
                        }
                    }
                }
                Ok(Tri::from_constraint(acc))
            }
            Cond::Lookup { rel, args, span } => self.lookup(*rel, args, *span),
        }
    }

    fn compare(&self, l: Operand, op: CmpOp, r: Operand, span: Span) -> Result<Tri, CondError> {
        match (l, r) {
            (Operand::Known(a, an), Operand::Known(b, bn)) => {
                let ord = compare_refs(a, b).ok_or_else(|| CondError::TypeMismatch {
                    left: describe(&a.to_value(), an),
                    right: describe(&b.to_value(), bn),
                    span,
                })?;
                Ok(if holds(op, ord) {
                    Tri::True
                } else {
                    Tri::False
                })
            }
            (Operand::Unknown(k), Operand::Known(v, _)) => unknown_cmp(k, op, &v.to_value(), span),
            (Operand::Known(v, _), Operand::Unknown(k)) => {
                unknown_cmp(k, flip(op), &v.to_value(), span)
            }
            (Operand::Unknown(a), Operand::Unknown(b)) if a == b => Ok(match op {
                CmpOp::Eq | CmpOp::Le | CmpOp::Ge => Tri::True,
                CmpOp::Ne | CmpOp::Lt | CmpOp::Gt => Tri::False,
            }),
            (Operand::Unknown(a), Operand::Unknown(b)) => Err(CondError::Unrepresentable {
                why: format!("`{a}` and `{b}` are both unknown; the request must give one of them"),
                span,
            }),
            (Operand::Wildcard, _) | (_, Operand::Wildcard) => Err(CondError::Unrepresentable {
                why: "`_` outside a lookup".into(),
                span,
            }),
        }
    }

    /// `rel(args...)`: known arguments select tuples; unknown ones become the finite set of
    /// values the selected tuples hold.
    fn lookup(&self, rel: RelId, args: &[CondTerm], span: Span) -> Result<Tri, CondError> {
        let rows = self.model.get(rel);
        if rows.arity() != args.len() {
            return Err(CondError::Internal {
                column: args.len(),
                arity: rows.arity(),
                span,
            });
        }
        let ops = args
            .iter()
            .map(|a| self.operand(a))
            .collect::<Result<Vec<_>, _>>()?;
        // The symbols of known arguments; a value never interned is in no tuple.
        let mut pattern: Vec<Option<Sym>> = Vec::with_capacity(ops.len());
        for op in &ops {
            match op {
                Operand::Known(v, _) => match lookup_ref(self.program, *v) {
                    Some(s) => pattern.push(Some(s)),
                    None => return Ok(Tri::False),
                },
                Operand::Unknown(_) | Operand::Wildcard => pattern.push(None),
            }
        }
        let prefix: Vec<Sym> = pattern.iter().map_while(|p| *p).collect();
        let matching = rows.with_prefix(&prefix).filter(|t| {
            pattern
                .iter()
                .zip(t.iter())
                .all(|(p, s)| p.is_none_or(|p| p == *s))
        });
        let unknown: Vec<(usize, &String)> = ops
            .iter()
            .enumerate()
            .filter_map(|(i, o)| match o {
                Operand::Unknown(k) => Some((i, k)),
                Operand::Known(..) | Operand::Wildcard => None,
            })
            .collect();
        if unknown.is_empty() {
            let mut matching = matching;
            return Ok(if matching.next().is_some() {
                Tri::True
            } else {
                Tri::False
            });
        }
        // One unknown attribute (possibly in several arguments): the set of values it may take.
        // (`unknown` is not empty: the all-known case returned above.)
        let (first_col, first_key) = unknown[0];
        if unknown.iter().all(|(_, k)| *k == first_key) {
            let values = matching
                .filter(|t| unknown.iter().all(|(i, _)| t[*i] == t[first_col]))
                .map(|t| self.program.interner.value(t[first_col]));
            return Ok(match Domain::from_values(values) {
                None => Tri::False,
                Some(d) => Tri::from_constraint(Constraint::atom(first_key.clone(), d)),
            });
        }
        let mut alts = Vec::new();
        'rows: for t in matching {
            let mut alt = super::residual::Alternative::new();
            for (i, k) in &unknown {
                let d = Domain::point(self.program.interner.value(t[*i]));
                match alt.get(*k) {
                    Some(e) if *e != d => continue 'rows,
                    Some(_) => {}
                    None => {
                        alt.insert((*k).clone(), d);
                    }
                }
            }
            alts.push(alt);
            if alts.len() > super::residual::MAX_ALTERNATIVES {
                return Err(CondError::TooLarge(TooLarge, span));
            }
        }
        Constraint::from_alternatives(alts)
            .map(Tri::from_constraint)
            .map_err(|e| CondError::TooLarge(e, span))
    }
}

fn unknown_cmp(key: String, op: CmpOp, v: &Value, span: Span) -> Result<Tri, CondError> {
    match Domain::from_cmp(op, v) {
        Some(d) => Ok(Tri::from_constraint(Constraint::atom(key, d))),
        None => Err(CondError::Unrepresentable {
            why: format!(
                "`{key}` is unknown and ordered comparisons of strings cannot be a constraint"
            ),
            span,
        }),
    }
}

/// `a op b` is `b (flip op) a`.
pub fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Eq => CmpOp::Eq,
        CmpOp::Ne => CmpOp::Ne,
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
    }
}

pub fn holds(op: CmpOp, ord: Ordering) -> bool {
    match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
    }
}

/// The symbol of a value, if the program interned it.
fn lookup_ref(program: &Program, v: ValueRef<'_>) -> Option<Sym> {
    match v {
        ValueRef::Str(s) => program.interner.lookup_str(s),
        ValueRef::Int(i) => program.interner.lookup(&Value::Int(i)),
        ValueRef::Bool(b) => program.interner.lookup(&Value::Bool(b)),
    }
}

/// [`compare_values`] on borrowed values.
fn compare_refs(a: ValueRef<'_>, b: ValueRef<'_>) -> Option<Ordering> {
    match (a, b) {
        (ValueRef::Str(x), ValueRef::Str(y)) => Some(x.cmp(y)),
        (ValueRef::Int(x), ValueRef::Int(y)) => Some(x.cmp(&y)),
        (ValueRef::Bool(x), ValueRef::Bool(y)) => Some(x.cmp(&y)),
        _ => None,
    }
}

/// Orders two values of the same type; `None` for different types.
pub fn compare_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Str(_) => "string",
        Value::Int(_) => "int",
        Value::Bool(_) => "bool",
    }
}

fn describe(v: &Value, attr: Option<&Attr>) -> String {
    match attr {
        Some(a) => format!("`{}` ({} {v})", a.dotted(), type_name(v)),
        None => format!("{} `{v}`", type_name(v)),
    }
}

/// A span inside a condition, for errors of compound conditions (which have none).
pub fn span_of(c: &Cond) -> Span {
    match c {
        Cond::True | Cond::False => Span::default(),
        Cond::And(cs) | Cond::Or(cs) => cs.first().map(span_of).unwrap_or_default(),
        Cond::Not(c) => span_of(c),
        Cond::Cmp { span, .. } | Cond::In { span, .. } | Cond::Lookup { span, .. } => *span,
    }
}

/// The full extent of a condition's source text, when it has atoms.
pub fn full_span(c: &Cond) -> Option<Span> {
    match c {
        Cond::True | Cond::False => None,
        Cond::And(cs) | Cond::Or(cs) => {
            cs.iter()
                .filter_map(full_span)
                .reduce(|a, b| if a.file == b.file { a.to(b) } else { a })
        }
        Cond::Not(c) => full_span(c),
        Cond::Cmp { span, .. } | Cond::In { span, .. } | Cond::Lookup { span, .. } => Some(*span),
    }
}

impl Env<'_> {
    /// Why a condition that evaluated to false failed: the atom's source text and the request
    /// values it read (`action.amount <= 200 failed: 350`).
    pub fn why_false(&self, cond: &Cond) -> String {
        match cond {
            Cond::True => "`true` failed".into(),
            Cond::False => "`false`".into(),
            Cond::And(cs) => cs
                .iter()
                .find(|c| matches!(self.eval(c), Ok(Tri::False)))
                .map(|c| self.why_false(c))
                .unwrap_or_else(|| "the condition failed".into()),
            Cond::Or(cs) => cs
                .iter()
                .map(|c| self.why_false(c))
                .collect::<Vec<_>>()
                .join("; "),
            Cond::Not(c) => match full_span(c) {
                Some(span) => format!(
                    "not ({}) failed{}",
                    snippet(self.program, span),
                    self.values_text(c)
                ),
                None => "not (...) failed".into(),
            },
            Cond::Cmp { span, .. } | Cond::In { span, .. } | Cond::Lookup { span, .. } => {
                format!(
                    "{} failed{}",
                    snippet(self.program, *span),
                    self.values_text(cond)
                )
            }
        }
    }

    /// `: 350` for one known attribute, `: a = 1, b = "x"` for several, nothing for none.
    fn values_text(&self, cond: &Cond) -> String {
        let mut terms = Vec::new();
        collect_attr_terms(cond, &mut terms);
        let mut vals: Vec<(String, String)> = Vec::new();
        for t in terms {
            if let Ok(Operand::Known(v, Some(attr))) = self.operand(t) {
                let name = attr.dotted();
                if !vals.iter().any(|(n, _)| *n == name) {
                    vals.push((name, v.to_string()));
                }
            }
        }
        match vals.as_slice() {
            [] => String::new(),
            [(_, v)] => format!(": {v}"),
            many => {
                let parts: Vec<String> = many.iter().map(|(n, v)| format!("{n} = {v}")).collect();
                format!(": {}", parts.join(", "))
            }
        }
    }
}

fn collect_attr_terms<'c>(cond: &'c Cond, out: &mut Vec<&'c CondTerm>) {
    match cond {
        Cond::True | Cond::False => {}
        Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| collect_attr_terms(c, out)),
        Cond::Not(c) => collect_attr_terms(c, out),
        Cond::Cmp { lhs, rhs, .. } => out.extend([lhs, rhs]),
        Cond::In { lhs, set, .. } => {
            out.push(lhs);
            out.extend(set);
        }
        Cond::Lookup { args, .. } => out.extend(args),
    }
}

/// The source text of a span; empty when the span points at no loaded file (programs built
/// without sources).
pub fn snippet(program: &Program, span: Span) -> &str {
    if has_file(program, span) {
        program.sources.snippet(span)
    } else {
        ""
    }
}

/// `file:line:col` of a span, when it points at a loaded file.
pub fn location(program: &Program, span: Span) -> Option<String> {
    has_file(program, span).then(|| program.sources.location(span))
}

fn has_file(program: &Program, span: Span) -> bool {
    program.sources.files().any(|(id, _)| id == span.file)
}
