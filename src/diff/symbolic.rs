//! Conditions evaluated with every request attribute unknown: the set of requests a statement
//! instance admits, as a [`Constraint`].
//!
//! The cell being compared fixes three things: the action name, the resource kind and (for
//! statements about a chain principal) the principal itself, so `action.name`,
//! `resource.type`, `principal.id` and `principal.type` are known. Everything else is free:
//! `subject.*` (the principal may stand anywhere in the chain), `principal.F` for other fields
//! (keyed `principal.F`), `action.F`, `resource.F` (with `resource.id`) and `context.*`.

use super::DiffError;
use crate::decide::cond::{compare_values, flip, holds};
use crate::decide::residual::{Alternative, Constraint, Domain, TooLarge, MAX_ALTERNATIVES};
use crate::eval::Model;
use crate::ir::{
    Attr, AttrRoot, CmpOp, Cond, CondTerm, Policy, PrincipalMatch, Program, RelId, Sym, Value,
};

/// What one evaluation of a condition reads.
pub struct SymEnv<'a> {
    pub program: &'a Program,
    pub model: &'a Model,
    pub policy: &'a Policy,
    /// The concrete action name of the cell.
    pub action: &'a str,
    /// The concrete resource kind of the cell.
    pub kind: &'a str,
    /// The instance tuple (column 0 is the principal ref for statements about the chain).
    pub row: &'a [Sym],
}

#[derive(Debug, Clone)]
enum Operand {
    Known(Value),
    Unknown(String),
    Wildcard,
}

impl SymEnv<'_> {
    fn error(&self, message: impl Into<String>) -> DiffError {
        DiffError::Condition {
            id: self.policy.id.clone(),
            location: self.program.sources.location(self.policy.span),
            message: message.into(),
        }
    }

    fn too_large(&self, _: TooLarge) -> DiffError {
        self.error(format!(
            "the condition has more than {MAX_ALTERNATIVES} alternatives"
        ))
    }

    /// The principal ref of the instance, for `principal.id` and `principal.type`.
    fn principal(&self) -> Option<(String, String)> {
        if !has_principal_column(self.policy) {
            return None;
        }
        let sym = self.row.first()?;
        match self.program.interner.value(*sym) {
            Value::Str(s) => s
                .split_once(':')
                .map(|(t, i)| (t.to_string(), i.to_string())),
            Value::Int(_) | Value::Bool(_) => None,
        }
    }

    fn attr(&self, attr: &Attr) -> Result<Operand, DiffError> {
        let path = attr.path.as_slice();
        let single = |name: &str| matches!(path, [f] if f == name);
        Ok(match attr.root {
            AttrRoot::Action if single("name") => Operand::Known(Value::Str(self.action.into())),
            AttrRoot::Resource if single("type") => Operand::Known(Value::Str(self.kind.into())),
            AttrRoot::Principal if single("id") || single("type") => match self.principal() {
                Some((ty, id)) => Operand::Known(Value::Str(if single("id") { id } else { ty })),
                None => {
                    return Err(self.error(format!(
                        "`{}` in a statement that matches no principal",
                        attr.dotted()
                    )))
                }
            },
            AttrRoot::Context if path.first().is_some_and(|f| f == "on_behalf_of") => {
                return Err(self.error(format!(
                    "`{}` reads the delegation chain, which conditions cannot compare",
                    attr.dotted()
                )))
            }
            AttrRoot::Action
            | AttrRoot::Resource
            | AttrRoot::Principal
            | AttrRoot::Subject
            | AttrRoot::Context => Operand::Unknown(attr.dotted()),
        })
    }

    fn operand(&self, t: &CondTerm) -> Result<Operand, DiffError> {
        match t {
            CondTerm::Const(s, _) => Ok(Operand::Known(self.program.interner.value(*s).clone())),
            CondTerm::Bound(n, _) => match self.row.get(*n) {
                Some(s) => Ok(Operand::Known(self.program.interner.value(*s).clone())),
                None => Err(self.error(format!(
                    "the condition reads column {n} of an instance with {} columns",
                    self.row.len()
                ))),
            },
            CondTerm::Wildcard(_) => Ok(Operand::Wildcard),
            CondTerm::Attr(a, _) => self.attr(a),
        }
    }

    /// The requests the condition admits.
    pub fn eval(&self, cond: &Cond) -> Result<Constraint, DiffError> {
        match cond {
            Cond::True => Ok(Constraint::always()),
            Cond::False => Ok(Constraint::never()),
            Cond::And(cs) => {
                let mut acc = Constraint::always();
                for c in cs {
                    let r = self.eval(c)?;
                    acc = acc.and(&r).map_err(|e| self.too_large(e))?;
                    if acc.is_never() {
                        break;
                    }
                }
                Ok(acc)
            }
            Cond::Or(cs) => {
                let mut acc = Constraint::never();
                for c in cs {
                    let r = self.eval(c)?;
                    acc = acc.or(&r).map_err(|e| self.too_large(e))?;
                    if acc.is_always() {
                        break;
                    }
                }
                Ok(acc)
            }
            Cond::Not(c) => self.eval(c)?.not().map_err(|e| self.too_large(e)),
            Cond::Cmp { lhs, op, rhs, .. } => {
                let l = self.operand(lhs)?;
                let r = self.operand(rhs)?;
                self.compare(l, *op, r)
            }
            Cond::In { lhs, set, .. } => {
                let l = self.operand(lhs)?;
                let mut acc = Constraint::never();
                for t in set {
                    let r = self.operand(t)?;
                    let c = self.compare(l.clone(), CmpOp::Eq, r)?;
                    acc = acc.or(&c).map_err(|e| self.too_large(e))?;
                }
                Ok(acc)
            }
            Cond::Lookup { rel, args, .. } => self.lookup(*rel, args),
        }
    }

    fn compare(&self, l: Operand, op: CmpOp, r: Operand) -> Result<Constraint, DiffError> {
        let truth = |b: bool| {
            if b {
                Constraint::always()
            } else {
                Constraint::never()
            }
        };
        match (l, r) {
            (Operand::Known(a), Operand::Known(b)) => match compare_values(&a, &b) {
                Some(ord) => Ok(truth(holds(op, ord))),
                None => Err(self.error(format!("`{a}` and `{b}` have different types"))),
            },
            (Operand::Unknown(k), Operand::Known(v)) => self.unknown_cmp(k, op, &v),
            (Operand::Known(v), Operand::Unknown(k)) => self.unknown_cmp(k, flip(op), &v),
            (Operand::Unknown(a), Operand::Unknown(b)) if a == b => {
                Ok(truth(matches!(op, CmpOp::Eq | CmpOp::Le | CmpOp::Ge)))
            }
            (Operand::Unknown(a), Operand::Unknown(b)) => Err(self.error(format!(
                "`{a}` is compared with `{b}`; the diff compares conditions between an attribute \
                 and values only"
            ))),
            (Operand::Wildcard, _) | (_, Operand::Wildcard) => {
                Err(self.error("`_` outside a lookup"))
            }
        }
    }

    fn unknown_cmp(&self, key: String, op: CmpOp, v: &Value) -> Result<Constraint, DiffError> {
        match Domain::from_cmp(op, v) {
            Some(d) => Ok(Constraint::atom(key, d)),
            None => Err(self.error(format!(
                "`{key}` is compared with an ordering on strings, which the diff cannot represent"
            ))),
        }
    }

    /// `rel(args...)`: known arguments select tuples; unknown ones take the values the
    /// selected tuples hold.
    fn lookup(&self, rel: RelId, args: &[CondTerm]) -> Result<Constraint, DiffError> {
        let rows = self.model.get(rel);
        if rows.arity() != args.len() {
            return Err(self.error(format!(
                "a lookup with {} arguments of a relation with {} columns",
                args.len(),
                rows.arity()
            )));
        }
        let ops = args
            .iter()
            .map(|a| self.operand(a))
            .collect::<Result<Vec<_>, _>>()?;
        let mut pattern: Vec<Option<Sym>> = Vec::with_capacity(ops.len());
        for op in &ops {
            match op {
                Operand::Known(v) => match self.program.interner.lookup(v) {
                    Some(s) => pattern.push(Some(s)),
                    None => return Ok(Constraint::never()),
                },
                Operand::Unknown(_) | Operand::Wildcard => pattern.push(None),
            }
        }
        let prefix: Vec<Sym> = pattern.iter().map_while(|p| *p).collect();
        let mut alts = Vec::new();
        'rows: for t in rows.with_prefix(&prefix) {
            if !pattern
                .iter()
                .zip(t.iter())
                .all(|(p, s)| p.is_none_or(|p| p == *s))
            {
                continue;
            }
            let mut alt = Alternative::new();
            for (i, op) in ops.iter().enumerate() {
                let Operand::Unknown(k) = op else { continue };
                let d = Domain::point(self.program.interner.value(t[i]));
                match alt.get(k) {
                    Some(e) if *e != d => continue 'rows,
                    Some(_) => {}
                    None => {
                        alt.insert(k.clone(), d);
                    }
                }
            }
            alts.push(alt);
            if alts.len() > MAX_ALTERNATIVES {
                return Err(self.too_large(TooLarge));
            }
        }
        Constraint::from_alternatives(alts).map_err(|e| self.too_large(e))
    }
}

/// Whether a condition's value can depend on which principal the instance is about:
/// it reads the principal column or `principal.id` / `principal.type`.
pub fn reads_principal(policy: &Policy) -> bool {
    fn term(t: &CondTerm, has_col: bool) -> bool {
        match t {
            CondTerm::Bound(0, _) => has_col,
            CondTerm::Attr(a, _) => {
                a.root == AttrRoot::Principal
                    && matches!(a.path.as_slice(), [f] if f == "id" || f == "type")
            }
            CondTerm::Bound(..) | CondTerm::Const(..) | CondTerm::Wildcard(_) => false,
        }
    }
    fn walk(c: &Cond, has_col: bool) -> bool {
        match c {
            Cond::True | Cond::False => false,
            Cond::And(cs) | Cond::Or(cs) => cs.iter().any(|c| walk(c, has_col)),
            Cond::Not(c) => walk(c, has_col),
            Cond::Cmp { lhs, rhs, .. } => term(lhs, has_col) || term(rhs, has_col),
            Cond::In { lhs, set, .. } => term(lhs, has_col) || set.iter().any(|t| term(t, has_col)),
            Cond::Lookup { args, .. } => args.iter().any(|t| term(t, has_col)),
        }
    }
    walk(&policy.cond, has_principal_column(policy))
}

/// Whether the instance relation's column 0 is the principal ref.
pub fn has_principal_column(policy: &Policy) -> bool {
    match policy.principal {
        PrincipalMatch::Chain { .. } => true,
        PrincipalMatch::Request => false,
    }
}
