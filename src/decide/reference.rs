//! The reference decision path: an independent implementation for fully-known requests,
//! used as the oracle the staged [`Decider`](super::Decider) is tested against.
//!
//! It grounds the request into facts and lets the naive engine do all the work: an extended
//! copy of the program gets
//! - `$ref:chain(pos, ref, type)`: the chain, subject at position 0;
//! - `$ref:attr:<path>(value)` for every request attribute the covering conditions read, and
//!   `$ref:pattr:<path>(pos, value)` for attributes of the matched principal;
//! - for every statement `k` that covers the action and resource kind, a candidate relation
//!   `$ref:cand:k(pos, cols...)` (instances paired with the chain principal they name; `-1`
//!   for statements about the request as a whole) and one relation per condition node, holding
//!   the candidates for which that node is true. `and` is a join, `or` one rule per branch,
//!   `not` a negated atom over the (lower-stratum) child, comparisons are comparison literals
//!   and lookups are atoms.
//!
//! The whole extended program (data-time rules included) is evaluated from the input facts
//! with [`eval::naive`](crate::eval::naive); the decision is read off the condition
//! relations: allowed iff every chain position has a true permit candidate and no forbid
//! candidate is true. Requests whose values have mismatched types are outside its scope.

use super::request::{AttrValue, Request};
use crate::eval::{naive, EvalError, Limits, Model, Rows};
use crate::ir::{
    Atom, AttrRoot, BodyLit, ColumnInfo, Cond, CondTerm, Effect, PrincipalMatch, Program, RelId,
    RelKind, Relation, Rule, RuleId, Stratum, Sym, Term, Type, Value, Var,
};
use crate::source::Span;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("the reference path needs every attribute: `{0}` is unknown")]
    Unknown(String),
    #[error("the reference path cannot read `{0}`")]
    Invalid(String),
    #[error(transparent)]
    Eval(#[from] EvalError),
}

/// Decides a fully-known request by evaluating the grounded program from `input` (the given
/// facts of every relation of `program`).
pub fn decide(
    program: &Program,
    input: &Model,
    request: &Request,
    limits: &Limits,
) -> Result<bool, ReferenceError> {
    if let Some(scope) = &request.scope {
        if !scope.iter().any(|p| p.matches(&request.action.name)) {
            return Ok(false);
        }
    }
    let mut b = Builder {
        ext: program.clone(),
        input: input.rows.clone(),
        request,
        attrs: BTreeMap::new(),
        pattrs: BTreeMap::new(),
    };
    let chain = b.relation("$ref:chain", &[Type::Int, Type::String, Type::String]);
    let mut chain_rows = Vec::new();
    for (pos, p) in request.chain().enumerate() {
        chain_rows.push(vec![
            b.sym(Value::Int(pos as i64)),
            b.sym(Value::Str(p.reference())),
            b.sym(Value::Str(p.ty.clone())),
        ]);
    }
    b.set_rows(chain, &chain_rows);

    // (statement, the relation of its condition's root)
    let mut roots: Vec<(usize, RelId)> = Vec::new();
    for (k, p) in program.policies.iter().enumerate() {
        if !p.covers(&request.action.name, &request.resource.ty) {
            continue;
        }
        let arity = program.relation(p.rel).arity();
        let cols: Vec<Term> = (0..arity).map(|j| Term::Var(Var(1 + j as u32))).collect();
        let cand = b.relation(&format!("$ref:cand:{k}"), &vec![Type::String; arity + 1]);
        let mut head_args = vec![Term::Var(Var(0))];
        head_args.extend(cols.iter().copied());
        let inst = Atom {
            rel: p.rel,
            args: cols.clone(),
            span: Span::default(),
        };
        let rule = match &p.principal {
            // $ref:cand:k(-1, C..) :- $policy:k(C..).
            PrincipalMatch::Request => {
                let minus_one = b.sym(Value::Int(-1));
                let mut args = vec![Term::Const(minus_one)];
                args.extend(cols.iter().copied());
                b.rule(cand, args, vec![BodyLit::Pos(inst)], arity + 1)
            }
            // $ref:cand:k(I, C0, C..) :- $ref:chain(I, C0, T), $policy:k(C0, C..)[, T == ty].
            PrincipalMatch::Chain { ty } => {
                let t = Term::Var(Var(1 + arity as u32));
                let first = cols.first().copied().unwrap_or(Term::Wildcard);
                let mut body = vec![
                    BodyLit::Pos(Atom {
                        rel: chain,
                        args: vec![Term::Var(Var(0)), first, t],
                        span: Span::default(),
                    }),
                    BodyLit::Pos(inst),
                ];
                if let Some(ty) = ty {
                    let c = b.sym(Value::Str(ty.clone()));
                    body.push(BodyLit::Cmp {
                        lhs: t,
                        op: crate::ir::CmpOp::Eq,
                        rhs: Term::Const(c),
                        span: Span::default(),
                    });
                }
                b.rule(cand, head_args.clone(), body, arity + 2)
            }
        };
        b.stratum(cand, vec![rule]);
        let mut counter = 0;
        let root = b.node(k, &mut counter, cand, arity, &p.cond)?;
        roots.push((k, root));
    }

    let input = Model {
        rows: b.input.clone(),
    };
    let model = naive::evaluate(&b.ext, &input, limits)?;

    let interner = &b.ext.interner;
    let pos_of = |t: &[Sym]| match t.first().map(|s| interner.value(*s)) {
        Some(Value::Int(i)) => *i,
        _ => -2,
    };
    let mut permitted = vec![false; request.chain_len()];
    for (k, root) in roots {
        let rows = model.get(root);
        match program.policies[k].effect {
            Effect::Forbid => {
                if !rows.is_empty() {
                    return Ok(false);
                }
            }
            Effect::Permit => {
                for t in rows.iter() {
                    if let Ok(i) = usize::try_from(pos_of(t)) {
                        if let Some(slot) = permitted.get_mut(i) {
                            *slot = true;
                        }
                    }
                }
            }
        }
    }
    Ok(permitted.iter().all(|p| *p))
}

struct Builder<'r> {
    ext: Program,
    input: Vec<Rows>,
    request: &'r Request,
    /// Attribute relations by dotted path.
    attrs: BTreeMap<String, RelId>,
    pattrs: BTreeMap<String, RelId>,
}

impl Builder<'_> {
    fn sym(&mut self, v: Value) -> Sym {
        self.ext.interner.intern(v)
    }

    fn relation(&mut self, name: &str, types: &[Type]) -> RelId {
        let id = RelId(self.ext.relations.len() as u32);
        self.ext.relations.push(Relation {
            name: name.to_string(),
            columns: types
                .iter()
                .map(|ty| ColumnInfo {
                    name: None,
                    ty: *ty,
                })
                .collect(),
            span: Span::default(),
            kind: RelKind::Declared,
        });
        self.input.push(Rows::empty(types.len()));
        id
    }

    fn set_rows(&mut self, rel: RelId, rows: &[Vec<Sym>]) {
        let arity = self.ext.relation(rel).arity();
        self.input[rel.index()] = Rows::from_tuples(arity, rows.iter().map(Vec::as_slice));
    }

    fn rule(&mut self, head: RelId, args: Vec<Term>, body: Vec<BodyLit>, vars: usize) -> RuleId {
        let id = RuleId(self.ext.rules.len() as u32);
        self.ext.rules.push(Rule {
            head: Atom {
                rel: head,
                args,
                span: Span::default(),
            },
            body,
            var_names: (0..vars).map(|i| format!("V{i}")).collect(),
            span: Span::default(),
        });
        id
    }

    fn stratum(&mut self, rel: RelId, rules: Vec<RuleId>) {
        self.ext.strata.push(Stratum {
            relations: vec![rel],
            rules,
            recursive: false,
        });
    }

    /// The body atom reading an attribute into `var`, creating its relation and fact.
    fn attr_atom(&mut self, attr: &crate::ir::Attr, var: Term) -> Result<Atom, ReferenceError> {
        let dotted = attr.dotted();
        if attr.root == AttrRoot::Principal {
            let rel = match self.pattrs.get(&dotted) {
                Some(r) => *r,
                None => {
                    let rel =
                        self.relation(&format!("$ref:pattr:{dotted}"), &[Type::Int, Type::String]);
                    let mut rows = Vec::new();
                    for pos in 0..self.request.chain_len() {
                        match self.request.attr(attr, Some(pos)) {
                            AttrValue::Known(v) => {
                                rows.push(vec![self.sym(Value::Int(pos as i64)), self.sym(v)])
                            }
                            AttrValue::Unknown => {
                                return Err(ReferenceError::Unknown(
                                    super::request::Request::attr_key(attr, Some(pos)),
                                ))
                            }
                            AttrValue::Invalid(_) => return Err(ReferenceError::Invalid(dotted)),
                        }
                    }
                    self.set_rows(rel, &rows);
                    self.pattrs.insert(dotted, rel);
                    rel
                }
            };
            return Ok(Atom {
                rel,
                args: vec![Term::Var(Var(0)), var],
                span: Span::default(),
            });
        }
        let rel = match self.attrs.get(&dotted) {
            Some(r) => *r,
            None => {
                let rel = self.relation(&format!("$ref:attr:{dotted}"), &[Type::String]);
                match self.request.attr(attr, None) {
                    AttrValue::Known(v) => {
                        let s = self.sym(v);
                        self.set_rows(rel, &[vec![s]]);
                    }
                    AttrValue::Unknown => return Err(ReferenceError::Unknown(dotted)),
                    AttrValue::Invalid(_) => return Err(ReferenceError::Invalid(dotted)),
                }
                self.attrs.insert(dotted, rel);
                rel
            }
        };
        Ok(Atom {
            rel,
            args: vec![var],
            span: Span::default(),
        })
    }

    /// Compiles condition node `cond` of statement `k`: returns the relation holding the
    /// candidates `(pos, cols...)` for which it is true.
    fn node(
        &mut self,
        k: usize,
        counter: &mut usize,
        cand: RelId,
        arity: usize,
        cond: &Cond,
    ) -> Result<RelId, ReferenceError> {
        let args: Vec<Term> = (0..=arity).map(|j| Term::Var(Var(j as u32))).collect();
        let cand_atom = Atom {
            rel: cand,
            args: args.clone(),
            span: Span::default(),
        };
        let child_atom = |rel: RelId| Atom {
            rel,
            args: args.clone(),
            span: Span::default(),
        };
        // Children first: their strata come before this node's.
        let children: Vec<RelId> = match cond {
            Cond::And(cs) | Cond::Or(cs) => cs
                .iter()
                .map(|c| self.node(k, counter, cand, arity, c))
                .collect::<Result<_, _>>()?,
            Cond::Not(c) => vec![self.node(k, counter, cand, arity, c)?],
            Cond::True | Cond::False | Cond::Cmp { .. } | Cond::In { .. } | Cond::Lookup { .. } => {
                Vec::new()
            }
        };
        *counter += 1;
        let rel = self.relation(
            &format!("$ref:cond:{k}:{counter}"),
            &vec![Type::String; arity + 1],
        );
        let base = arity + 1;
        let mut rules = Vec::new();
        match cond {
            // n(I, C..) :- cand(I, C..).
            Cond::True => {
                rules.push(self.rule(rel, args.clone(), vec![BodyLit::Pos(cand_atom)], base))
            }
            Cond::False => {}
            // n(I, C..) :- cand(I, C..), c1(I, C..), c2(I, C..), ...
            Cond::And(_) => {
                let mut body = vec![BodyLit::Pos(cand_atom)];
                body.extend(children.iter().map(|c| BodyLit::Pos(child_atom(*c))));
                rules.push(self.rule(rel, args.clone(), body, base));
            }
            // n(I, C..) :- cj(I, C..).   (one rule per branch)
            Cond::Or(_) => {
                for c in &children {
                    rules.push(self.rule(
                        rel,
                        args.clone(),
                        vec![BodyLit::Pos(child_atom(*c))],
                        base,
                    ));
                }
            }
            // n(I, C..) :- cand(I, C..), not c(I, C..).
            // (`children` holds exactly the one node compiled for the operand of `not`.)
            Cond::Not(_) => {
                let body = vec![
                    BodyLit::Pos(cand_atom),
                    BodyLit::Neg(child_atom(children[0])),
                ];
                rules.push(self.rule(rel, args.clone(), body, base));
            }
            // n(I, C..) :- cand(I, C..), [attribute atoms], L op R.
            Cond::Cmp { lhs, op, rhs, .. } => {
                let mut body = vec![BodyLit::Pos(cand_atom)];
                let mut fresh = base;
                let l = self.term(lhs, &mut body, &mut fresh)?;
                let r = self.term(rhs, &mut body, &mut fresh)?;
                body.push(BodyLit::Cmp {
                    lhs: l,
                    op: *op,
                    rhs: r,
                    span: Span::default(),
                });
                rules.push(self.rule(rel, args.clone(), body, fresh));
            }
            // n(I, C..) :- cand(I, C..), [attribute atoms], L == Ej.   (one rule per element)
            Cond::In { lhs, set, .. } => {
                for e in set {
                    let mut body = vec![BodyLit::Pos(cand_atom.clone())];
                    let mut fresh = base;
                    let l = self.term(lhs, &mut body, &mut fresh)?;
                    let r = self.term(e, &mut body, &mut fresh)?;
                    body.push(BodyLit::Cmp {
                        lhs: l,
                        op: crate::ir::CmpOp::Eq,
                        rhs: r,
                        span: Span::default(),
                    });
                    rules.push(self.rule(rel, args.clone(), body, fresh));
                }
            }
            // n(I, C..) :- cand(I, C..), [attribute atoms], r(A1, ..).
            Cond::Lookup {
                rel: looked,
                args: largs,
                ..
            } => {
                let mut body = vec![BodyLit::Pos(cand_atom)];
                let mut fresh = base;
                let mut terms = Vec::new();
                for a in largs {
                    terms.push(self.term(a, &mut body, &mut fresh)?);
                }
                body.push(BodyLit::Pos(Atom {
                    rel: *looked,
                    args: terms,
                    span: Span::default(),
                }));
                rules.push(self.rule(rel, args.clone(), body, fresh));
            }
        }
        self.stratum(rel, rules);
        Ok(rel)
    }

    /// The Datalog term of a condition operand; attributes add an atom binding a fresh
    /// variable to their value.
    fn term(
        &mut self,
        t: &CondTerm,
        body: &mut Vec<BodyLit>,
        fresh: &mut usize,
    ) -> Result<Term, ReferenceError> {
        Ok(match t {
            CondTerm::Const(s, _) => Term::Const(*s),
            CondTerm::Bound(n, _) => Term::Var(Var(1 + *n as u32)),
            CondTerm::Wildcard(_) => Term::Wildcard,
            CondTerm::Attr(attr, _) => {
                let v = Term::Var(Var(*fresh as u32));
                *fresh += 1;
                let atom = self.attr_atom(attr, v)?;
                body.push(BodyLit::Pos(atom));
                v
            }
        })
    }
}
