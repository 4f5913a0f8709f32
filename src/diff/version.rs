//! One policy version, indexed for the diff: every principal its statements name, grouped by
//! *profile* (the statements that apply to it and their instances), and the permission of a
//! profile for an action on a resource kind.
//!
//! Principals with equal profiles hold equal permissions, so permissions are computed once per
//! profile rather than once per principal: 100,000 users in a handful of roles make a handful
//! of profiles.

use super::symbolic::{reads_principal, SymEnv};
use super::DiffError;
use crate::decide::residual::Constraint;
use crate::eval::Model;
use crate::ir::{Effect, Policy, PrincipalMatch, Program, Sym, Value};

pub use crate::hash::FastMap;

/// The instances of one statement for one principal (all of them: its rows).
#[derive(Debug, Clone)]
pub struct RowSet {
    pub policy: usize,
    /// The rows, flat.
    pub rows: Vec<Sym>,
}

/// One entry of a profile: a statement about the chain and the instances it has for the
/// principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Entry {
    pub policy: u32,
    pub rowset: u32,
}

pub struct VersionIndex<'a> {
    pub program: &'a Program,
    pub model: &'a Model,
    /// Principal ref -> profile.
    pub principals: FastMap<&'a str, u32>,
    /// Profile -> its entries, by ascending statement.
    pub profiles: Vec<Vec<Entry>>,
    pub rowsets: Vec<RowSet>,
    /// Statements about the request as a whole (forbids without a principal).
    pub request_forbids: Vec<usize>,
}

/// The principal ref's type, when the value is one (`"user:alice"` -> `user`).
fn ref_type(v: &Value) -> Option<(&str, &str)> {
    match v {
        Value::Str(s) => s.split_once(':'),
        Value::Int(_) | Value::Bool(_) => None,
    }
}

impl<'a> VersionIndex<'a> {
    pub fn new(program: &'a Program, model: &'a Model) -> VersionIndex<'a> {
        // Entries by principal symbol.
        let mut by_principal: Vec<Vec<Entry>> = vec![Vec::new(); program.interner.len()];
        let mut rowsets: Vec<RowSet> = Vec::new();
        let mut request_forbids = Vec::new();
        for (i, p) in program.policies.iter().enumerate() {
            let ty = match &p.principal {
                PrincipalMatch::Request => {
                    // A permit about the request as a whole grants nothing.
                    if p.effect == Effect::Forbid {
                        request_forbids.push(i);
                    }
                    continue;
                }
                PrincipalMatch::Chain { ty } => ty.as_deref(),
            };
            let dependent = reads_principal(p);
            let rows = model.get(p.rel);
            let arity = rows.arity();
            if arity == 0 {
                continue;
            }
            let mut ids: FastMap<Vec<Sym>, u32> = FastMap::default();
            // Statements without bound columns whose condition ignores the principal: one
            // instance set shared by every principal.
            let mut shared: Option<u32> = None;
            let mut start = 0;
            let flat: Vec<&[Sym]> = rows.iter().collect();
            while start < flat.len() {
                let who = flat[start][0];
                let mut end = start + 1;
                while end < flat.len() && flat[end][0] == who {
                    end += 1;
                }
                let group = &flat[start..end];
                start = end;
                let reachable = ref_type(program.interner.value(who))
                    .is_some_and(|(t, _)| ty.is_none_or(|want| want == t));
                if !reachable {
                    continue;
                }
                let id = if !dependent && arity == 1 {
                    *shared.get_or_insert_with(|| {
                        rowsets.push(RowSet {
                            policy: i,
                            rows: group.concat(),
                        });
                        rowsets.len() as u32 - 1
                    })
                } else {
                    // Instances of statements that do not read the principal are compared
                    // without it, so that every principal with the same instances shares them.
                    let key: Vec<Sym> = if dependent {
                        group.concat()
                    } else {
                        group.iter().flat_map(|r| r[1..].iter().copied()).collect()
                    };
                    let next = rowsets.len() as u32;
                    *ids.entry(key).or_insert_with(|| {
                        rowsets.push(RowSet {
                            policy: i,
                            rows: group.concat(),
                        });
                        next
                    })
                };
                if let Some(list) = by_principal.get_mut(who.0 as usize) {
                    list.push(Entry {
                        policy: i as u32,
                        rowset: id,
                    });
                }
            }
        }
        let mut profile_ids: FastMap<Vec<Entry>, u32> = FastMap::default();
        let mut profiles = Vec::new();
        let mut principals = FastMap::default();
        for (sym, entries) in by_principal.into_iter().enumerate() {
            if entries.is_empty() {
                continue;
            }
            let Value::Str(name) = program.interner.value(Sym(sym as u32)) else {
                continue;
            };
            let next = profiles.len() as u32;
            let id = *profile_ids.entry(entries).or_insert_with_key(|e| {
                profiles.push(e.clone());
                next
            });
            principals.insert(name.as_str(), id);
        }
        VersionIndex {
            program,
            model,
            principals,
            profiles,
            rowsets,
            request_forbids,
        }
    }

    pub fn policy(&self, i: usize) -> &'a Policy {
        &self.program.policies[i]
    }

    /// The requests the instances of `rowset` admit for `action` on `kind`.
    pub fn contribution(
        &self,
        rowset: u32,
        action: &str,
        kind: &str,
    ) -> Result<Constraint, DiffError> {
        let set = &self.rowsets[rowset as usize];
        let policy = self.policy(set.policy);
        let arity = self.model.get(policy.rel).arity();
        let mut acc = Constraint::never();
        for row in set.rows.chunks_exact(arity.max(1)) {
            let c = self.eval(policy, row, action, kind)?;
            acc = or(policy, self.program, &acc, &c)?;
            if acc.is_always() {
                break;
            }
        }
        Ok(acc)
    }

    /// The requests a forbid about the request as a whole applies to.
    pub fn request_contribution(
        &self,
        policy: usize,
        action: &str,
        kind: &str,
    ) -> Result<Constraint, DiffError> {
        let p = self.policy(policy);
        let mut acc = Constraint::never();
        for row in self.model.get(p.rel).iter() {
            let c = self.eval(p, row, action, kind)?;
            acc = or(p, self.program, &acc, &c)?;
            if acc.is_always() {
                break;
            }
        }
        Ok(acc)
    }

    fn eval(
        &self,
        policy: &Policy,
        row: &[Sym],
        action: &str,
        kind: &str,
    ) -> Result<Constraint, DiffError> {
        SymEnv {
            program: self.program,
            model: self.model,
            policy,
            action,
            kind,
            row,
        }
        .eval(&policy.cond)
    }

    /// The permission of a principal with profile `profile` (`None`: named by no statement)
    /// for `action` on `kind`: its covering permits, minus the forbids about it and about the
    /// request as a whole. `contribution` gives the requests one entry admits.
    pub fn permission(
        &self,
        profile: Option<u32>,
        action: &str,
        kind: &str,
        mut contribution: impl FnMut(Entry) -> Result<Constraint, DiffError>,
        mut request: impl FnMut(usize) -> Result<Constraint, DiffError>,
    ) -> Result<Constraint, DiffError> {
        let entries: &[Entry] = match profile {
            Some(p) => &self.profiles[p as usize],
            None => &[],
        };
        let mut permits = Constraint::never();
        let mut forbids = Constraint::never();
        for e in entries {
            let p = self.policy(e.policy as usize);
            if !p.covers(action, kind) {
                continue;
            }
            let c = contribution(*e)?;
            match p.effect {
                Effect::Permit => permits = or(p, self.program, &permits, &c)?,
                Effect::Forbid => forbids = or(p, self.program, &forbids, &c)?,
            }
        }
        if permits.is_never() {
            return Ok(permits);
        }
        for &i in &self.request_forbids {
            let p = self.policy(i);
            if p.covers(action, kind) {
                let c = request(i)?;
                forbids = or(p, self.program, &forbids, &c)?;
            }
        }
        if forbids.is_never() {
            return Ok(permits);
        }
        let too_large = |_| DiffError::TooLarge {
            action: action.to_string(),
            kind: kind.to_string(),
        };
        forbids
            .not()
            .and_then(|n| permits.and(&n))
            .map_err(too_large)
    }

    /// The permission of the principal `principal` (a ref, `"user:alice"`) for `action` on a
    /// resource of kind `kind`, with nothing cached.
    pub fn permission_of(
        &self,
        principal: &str,
        action: &str,
        kind: &str,
    ) -> Result<Constraint, DiffError> {
        let profile = self.principals.get(principal).copied();
        self.permission(
            profile,
            action,
            kind,
            |e| self.contribution(e.rowset, action, kind),
            |i| self.request_contribution(i, action, kind),
        )
    }
}

fn or(
    p: &Policy,
    program: &Program,
    a: &Constraint,
    b: &Constraint,
) -> Result<Constraint, DiffError> {
    a.or(b).map_err(|_| DiffError::Condition {
        id: p.id.clone(),
        location: program.sources.location(p.span),
        message: "the instances' conditions have too many alternatives together".into(),
    })
}
