//! The staged decider's program and model, rebuilt from a bundle.
//!
//! Symbols are numbered so that the values whose order row iteration depends on (the
//! bundle's `order` section) keep their source order; every other value follows. Rows then
//! iterate in the same order as from source, so decisions, failures and constraints come out
//! identical.

use super::read::{BVal, Contents};
use crate::decide::{Decider, DeciderIndices};
use crate::eval::{Model, Rows};
use crate::ir::{Cond, CondTerm, Interner, PrincipalMatch, Program, Sym, Value};
use crate::source::{SourceFile, SourceMap};

pub struct Full {
    pub program: Program,
    pub model: Model,
    /// The staged decider's indices over `program` and `model`, built once.
    pub indices: DeciderIndices,
}

fn value(v: BVal<'_>) -> Value {
    match v {
        BVal::Str(s) => Value::Str(s.to_string()),
        BVal::Int(i) => Value::Int(i),
        BVal::Bool(b) => Value::Bool(b),
    }
}

fn remap_cond(c: &mut Cond, map: &[u32]) {
    let term = |t: &mut CondTerm| {
        if let CondTerm::Const(s, _) = t {
            *s = Sym(map.get(s.0 as usize).copied().unwrap_or(0));
        }
    };
    match c {
        Cond::True | Cond::False => {}
        Cond::And(cs) | Cond::Or(cs) => cs.iter_mut().for_each(|c| remap_cond(c, map)),
        Cond::Not(c) => remap_cond(c, map),
        Cond::Cmp { lhs, rhs, .. } => {
            term(lhs);
            term(rhs);
        }
        Cond::In { lhs, set, .. } => {
            term(lhs);
            set.iter_mut().for_each(term);
        }
        Cond::Lookup { args, .. } => args.iter_mut().for_each(term),
    }
}

impl Full {
    pub fn new(c: &Contents) -> Full {
        let n = c.symbols();
        let mut interner = Interner::new();
        let mut map = vec![u32::MAX; n];
        for &s in &c.order {
            map[s as usize] = interner.intern(value(c.value(s))).0;
        }
        for (s, slot) in map.iter_mut().enumerate() {
            if *slot == u32::MAX {
                *slot = interner.intern(value(c.value(s as u32))).0;
            }
        }
        let mut sources = SourceMap::new();
        for (name, text) in &c.sources {
            sources.add(SourceFile::new(name.clone(), None, text.clone()));
        }
        let mut policies = c.policies.clone();
        for p in &mut policies {
            remap_cond(&mut p.cond, &map);
        }
        let sym = |s: u32| Sym(map.get(s as usize).copied().unwrap_or(0));
        let mut flat: Vec<(Vec<Sym>, usize)> = vec![(Vec::new(), 0); c.relations.len()];
        for r in &c.rows {
            let (data, count) = &mut flat[r.rel.index()];
            data.extend(r.data.iter().map(|&s| sym(s)));
            *count += r.count;
        }
        for (who, prof) in c.principals() {
            for &(pi, start, nrows) in c.profiles.entries(prof) {
                let p = &c.policies[pi as usize];
                if !matches!(p.principal, PrincipalMatch::Chain { .. }) {
                    continue;
                }
                let width = c.relations[p.rel.index()].arity().saturating_sub(1);
                let (data, count) = &mut flat[p.rel.index()];
                for k in 0..nrows as usize {
                    data.push(sym(who));
                    let at = start as usize + k * width;
                    data.extend(c.profiles.rows[at..at + width].iter().map(|&s| sym(s)));
                    *count += 1;
                }
            }
        }
        let rows = c
            .relations
            .iter()
            .zip(flat)
            .map(|(rel, (data, count))| {
                if rel.arity() == 0 {
                    Rows::from_unsorted(0, count.min(1), Vec::new())
                } else {
                    Rows::from_unsorted(rel.arity(), count, data)
                }
            })
            .collect();
        let program = Program {
            sources,
            interner,
            relations: c.relations.clone(),
            rules: Vec::new(),
            facts: Vec::new(),
            strata: Vec::new(),
            policies,
            data_files: Vec::new(),
        };
        let model = Model { rows };
        let indices = Decider::new(&program, &model).indices();
        Full {
            program,
            model,
            indices,
        }
    }
}
