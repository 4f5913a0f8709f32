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

/// Lookups with at most this many arguments are evaluated by [`Env::eval_known`].
const KNOWN_ARGS: usize = 8;

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

    /// [`Env::eval`], answered by [`Env::eval_known`] where that can (without building
    /// constraints or errors).
    pub fn evaluate(&self, cond: &Cond) -> Result<Tri, CondError> {
        match self.eval_known(cond) {
            Some(true) => Ok(Tri::True),
            Some(false) => Ok(Tri::False),
            None => self.eval(cond),
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

    /// Evaluates `cond` when it is plainly true or false: every attribute it reads is known,
    /// every comparison is between values of one type, and lookups have no unknown argument.
    /// `None` otherwise; then [`Env::eval`] decides, with residuals and errors. Where this
    /// answers, the answer is [`Env::eval`]'s, computed without building constraints or
    /// errors.
    pub fn eval_known(&self, cond: &Cond) -> Option<bool> {
        match cond {
            Cond::True => Some(true),
            Cond::False => Some(false),
            Cond::And(cs) => {
                for c in cs {
                    if !self.eval_known(c)? {
                        return Some(false);
                    }
                }
                Some(true)
            }
            Cond::Or(cs) => {
                for c in cs {
                    if self.eval_known(c)? {
                        return Some(true);
                    }
                }
                Some(false)
            }
            Cond::Not(c) => self.eval_known(c).map(|b| !b),
            Cond::Cmp { lhs, op, rhs, .. } => {
                let ord = compare_refs(self.known(lhs)?, self.known(rhs)?)?;
                Some(holds(*op, ord))
            }
            Cond::In { lhs, set, .. } => {
                let l = self.known(lhs)?;
                for t in set {
                    if compare_refs(l, self.known(t)?)? == Ordering::Equal {
                        return Some(true);
                    }
                }
                Some(false)
            }
            Cond::Lookup { rel, args, .. } => self.lookup_known(*rel, args),
        }
    }

    /// The value of a term that is a known value (`None` for an unknown or invalid attribute,
    /// `_`, or a column the row does not have).
    fn known(&self, t: &CondTerm) -> Option<ValueRef<'a>> {
        match t {
            CondTerm::Const(s, _) => Some(ValueRef::of(self.program.interner.value(*s))),
            CondTerm::Bound(n, _) => self
                .row
                .get(*n)
                .map(|s| ValueRef::of(self.program.interner.value(*s))),
            CondTerm::Wildcard(_) => None,
            CondTerm::Attr(attr, _) => match self.request.attr_ref(attr, self.principal) {
                AttrRef::Known(v) => Some(v),
                AttrRef::Unknown | AttrRef::Invalid(_) => None,
            },
        }
    }

    /// [`Env::lookup`] when every argument is a known value or `_` (at most
    /// [`KNOWN_ARGS`] of them).
    fn lookup_known(&self, rel: RelId, args: &[CondTerm]) -> Option<bool> {
        let rows = self.model.get(rel);
        if rows.arity() != args.len() || args.len() > KNOWN_ARGS {
            return None;
        }
        let mut values: [Option<ValueRef<'a>>; KNOWN_ARGS] = [None; KNOWN_ARGS];
        for (v, a) in values.iter_mut().zip(args) {
            *v = match a {
                CondTerm::Wildcard(_) => None,
                CondTerm::Const(..) | CondTerm::Bound(..) | CondTerm::Attr(..) => {
                    Some(self.known(a)?)
                }
            };
        }
        // The symbols of the known arguments; a value never interned is in no tuple.
        let mut pattern: [Option<Sym>; KNOWN_ARGS] = [None; KNOWN_ARGS];
        for (p, v) in pattern.iter_mut().zip(&values[..args.len()]) {
            if let Some(v) = v {
                match lookup_ref(self.program, *v) {
                    Some(s) => *p = Some(s),
                    None => return Some(false),
                }
            }
        }
        let pattern = &pattern[..args.len()];
        let mut prefix: [Sym; KNOWN_ARGS] = [Sym::default(); KNOWN_ARGS];
        let mut k = 0;
        for p in pattern.iter().map_while(|p| *p) {
            prefix[k] = p;
            k += 1;
        }
        let mut matching = rows.with_prefix(&prefix[..k]).filter(|t| {
            pattern
                .iter()
                .zip(t.iter())
                .all(|(p, s)| p.is_none_or(|p| p == *s))
        });
        Some(matching.next().is_some())
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
        let mut out = String::with_capacity(64);
        self.write_why_false(cond, &mut out);
        out
    }

    /// Whether `cond` evaluates to false.
    pub fn is_false(&self, cond: &Cond) -> bool {
        matches!(self.evaluate(cond), Ok(Tri::False))
    }

    /// [`Env::why_false`], appended to `out`.
    fn write_why_false(&self, cond: &Cond, out: &mut String) {
        match cond {
            Cond::True => out.push_str("`true` failed"),
            Cond::False => out.push_str("`false`"),
            Cond::And(cs) => match cs.iter().find(|c| self.is_false(c)) {
                Some(c) => self.write_why_false(c, out),
                None => out.push_str("the condition failed"),
            },
            Cond::Or(cs) => {
                for (n, c) in cs.iter().enumerate() {
                    if n > 0 {
                        out.push_str("; ");
                    }
                    self.write_why_false(c, out);
                }
            }
            Cond::Not(c) => match full_span(c) {
                Some(span) => {
                    out.push_str("not (");
                    out.push_str(snippet(self.program, span));
                    out.push_str(") failed");
                    self.write_values(c, out);
                }
                None => out.push_str("not (...) failed"),
            },
            Cond::Cmp { span, .. } | Cond::In { span, .. } | Cond::Lookup { span, .. } => {
                out.push_str(snippet(self.program, *span));
                out.push_str(" failed");
                self.write_values(cond, out);
            }
        }
    }

    /// Appends the known request values `cond` reads, each attribute once, in order: `: 350`
    /// for one, `: a = 1, b = "x"` for several, nothing for none.
    fn write_values(&self, cond: &Cond, out: &mut String) {
        use std::fmt::Write;
        const INLINE: usize = 8;
        let mut inline: [Option<(&Attr, ValueRef<'_>)>; INLINE] = [None; INLINE];
        let mut spill: Vec<(&Attr, ValueRef<'_>)> = Vec::new();
        let mut n = 0;
        for_each_term(cond, &mut |t| {
            let CondTerm::Attr(attr, _) = t else {
                return;
            };
            let AttrRef::Known(v) = self.request.attr_ref(attr, self.principal) else {
                return;
            };
            let seen = inline
                .iter()
                .flatten()
                .chain(spill.iter())
                .any(|(a, _)| same_dotted(a, attr));
            if seen {
                return;
            }
            match inline.get_mut(n) {
                Some(slot) => *slot = Some((attr, v)),
                None => spill.push((attr, v)),
            }
            n += 1;
        });
        let mut vals = inline.iter().flatten().chain(spill.iter());
        // (writing to a `String` does not fail)
        match (n, vals.next()) {
            (_, None) => {}
            (1, Some((_, v))) => {
                out.push_str(": ");
                write_value(out, *v);
            }
            (_, Some((a, v))) => {
                let _ = write!(out, ": {} = ", Dotted(a));
                write_value(out, *v);
                for (a, v) in vals {
                    let _ = write!(out, ", {} = ", Dotted(a));
                    write_value(out, *v);
                }
            }
        }
    }
}

/// Appends `v` as its `Display` writes it (strings quoted and escaped as `Debug` does),
/// without the formatting machinery for the common cases.
pub(super) fn write_value(out: &mut String, v: ValueRef<'_>) {
    use std::fmt::Write;
    match v {
        // Printable ASCII other than a quote and a backslash is written as is by `Debug`.
        ValueRef::Str(s)
            if s.bytes()
                .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\') =>
        {
            out.push('"');
            out.push_str(s);
            out.push('"');
        }
        ValueRef::Int(i) => {
            let mut digits = [0u8; 20];
            let mut k = digits.len();
            let mut n = i.unsigned_abs();
            loop {
                k -= 1;
                digits[k] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            if i < 0 {
                out.push('-');
            }
            // (ASCII digits)
            out.extend(digits[k..].iter().map(|&d| char::from(d)));
        }
        ValueRef::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        ValueRef::Str(_) => {
            // (writing to a `String` does not fail)
            let _ = write!(out, "{v}");
        }
    }
}

/// An attribute written as its dotted path, as [`Attr::dotted`] has it.
struct Dotted<'a>(&'a Attr);

impl std::fmt::Display for Dotted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.root.name())?;
        for p in &self.0.path {
            f.write_str(".")?;
            f.write_str(p)?;
        }
        Ok(())
    }
}

/// Whether two attributes have the same dotted path.
fn same_dotted(a: &Attr, b: &Attr) -> bool {
    fn bytes(x: &Attr) -> impl Iterator<Item = u8> + '_ {
        let rest = x
            .path
            .iter()
            .flat_map(|p| std::iter::once(b'.').chain(p.bytes()));
        x.root.name().bytes().chain(rest)
    }
    (a.root == b.root && a.path == b.path) || bytes(a).eq(bytes(b))
}

/// Calls `f` on every term of `cond`, in order.
fn for_each_term<'c>(cond: &'c Cond, f: &mut impl FnMut(&'c CondTerm)) {
    match cond {
        Cond::True | Cond::False => {}
        Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| for_each_term(c, f)),
        Cond::Not(c) => for_each_term(c, f),
        Cond::Cmp { lhs, rhs, .. } => {
            f(lhs);
            f(rhs);
        }
        Cond::In { lhs, set, .. } => {
            f(lhs);
            set.iter().for_each(f);
        }
        Cond::Lookup { args, .. } => args.iter().for_each(f),
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
