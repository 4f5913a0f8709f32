//! Which statement of the new version is which statement of the old one.
//!
//! Statements pair up, in this order: by equal explicit ids; then by equal content (effect,
//! principal, actions, kinds, condition and `if` body, ignoring the id, the layout, comments
//! and where the statement sits), so a renamed or moved statement is the same statement; then
//! by equal ids (derived ids name a line, so they only pair what content did not). What
//! remains was removed (old) or added (new).

use crate::ir::{ActionPat, Cond, CondTerm, Effect, Policy, PrincipalMatch, Program, Term};
use std::collections::HashMap;
use std::fmt::Write;

/// One statement across versions: at least one side is present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    pub old: Option<usize>,
    pub new: Option<usize>,
    /// Both present with equal content.
    pub same_content: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Matching {
    pub pairs: Vec<Pair>,
    /// Old statement -> its pair.
    pub of_old: Vec<usize>,
    /// New statement -> its pair.
    pub of_new: Vec<usize>,
}

impl Matching {
    pub fn new(old: &Program, new: &Program) -> Matching {
        let old_keys: Vec<String> = (0..old.policies.len())
            .map(|i| content_key(old, i))
            .collect();
        let new_keys: Vec<String> = (0..new.policies.len())
            .map(|i| content_key(new, i))
            .collect();
        let mut partner_of_old: Vec<Option<usize>> = vec![None; old.policies.len()];
        let mut partner_of_new: Vec<Option<usize>> = vec![None; new.policies.len()];
        let link =
            |o: usize, n: usize, po: &mut Vec<Option<usize>>, pn: &mut Vec<Option<usize>>| {
                po[o] = Some(n);
                pn[n] = Some(o);
            };

        // 1. explicit ids
        let explicit: HashMap<&str, usize> = new
            .policies
            .iter()
            .enumerate()
            .filter(|(_, p)| p.explicit_id)
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        for (o, p) in old.policies.iter().enumerate() {
            if !p.explicit_id {
                continue;
            }
            if let Some(&n) = explicit.get(p.id.as_str()) {
                link(o, n, &mut partner_of_old, &mut partner_of_new);
            }
        }
        // 2. content, first unpaired in order
        let mut by_content: HashMap<&str, Vec<usize>> = HashMap::new();
        for (n, k) in new_keys.iter().enumerate().rev() {
            if partner_of_new[n].is_none() {
                by_content.entry(k.as_str()).or_default().push(n);
            }
        }
        for (o, key) in old_keys.iter().enumerate() {
            if partner_of_old[o].is_some() {
                continue;
            }
            if let Some(n) = by_content.get_mut(key.as_str()).and_then(Vec::pop) {
                link(o, n, &mut partner_of_old, &mut partner_of_new);
            }
        }
        // 3. ids
        let by_id: HashMap<&str, usize> = new
            .policies
            .iter()
            .enumerate()
            .filter(|&(n, _)| partner_of_new[n].is_none())
            .map(|(i, p)| (p.id.as_str(), i))
            .collect();
        for (o, p) in old.policies.iter().enumerate() {
            if partner_of_old[o].is_some() {
                continue;
            }
            if let Some(&n) = by_id.get(p.id.as_str()) {
                if partner_of_new[n].is_none() {
                    link(o, n, &mut partner_of_old, &mut partner_of_new);
                }
            }
        }

        let mut m = Matching {
            pairs: Vec::new(),
            of_old: vec![0; old.policies.len()],
            of_new: vec![0; new.policies.len()],
        };
        for (o, partner) in partner_of_old.iter().enumerate() {
            m.of_old[o] = m.pairs.len();
            if let Some(n) = *partner {
                m.of_new[n] = m.pairs.len();
            }
            m.pairs.push(Pair {
                old: Some(o),
                new: *partner,
                same_content: partner.is_some_and(|n| old_keys[o] == new_keys[n]),
            });
        }
        for (n, partner) in partner_of_new.iter().enumerate() {
            if partner.is_none() {
                m.of_new[n] = m.pairs.len();
                m.pairs.push(Pair {
                    old: None,
                    new: Some(n),
                    same_content: false,
                });
            }
        }
        m
    }
}

/// What a statement says, independent of its id, layout and position.
pub fn content_key(program: &Program, i: usize) -> String {
    let p: &Policy = &program.policies[i];
    let mut s = String::new();
    let _ = write!(
        s,
        "{}|",
        match p.effect {
            Effect::Permit => "permit",
            Effect::Forbid => "forbid",
        }
    );
    match &p.principal {
        PrincipalMatch::Request => s.push_str("request|"),
        PrincipalMatch::Chain { ty } => {
            let _ = write!(s, "chain {ty:?}|");
        }
    }
    let mut actions: Vec<String> = p
        .actions
        .iter()
        .map(|a| match a {
            ActionPat::Exact(n) => format!("={n:?}"),
            ActionPat::Family(f) => format!("{f:?}.*"),
            ActionPat::Any => "*".into(),
        })
        .collect();
    actions.sort();
    actions.dedup();
    let mut kinds = p.resources.clone();
    kinds.sort();
    kinds.dedup();
    let _ = write!(s, "{actions:?}|{kinds:?}|");
    cond_key(program, &p.cond, &mut s);
    s.push('|');
    // The rule deriving the instances (or the facts that are them).
    for rule in program.rules.iter().filter(|r| r.head.rel == p.rel) {
        let term = |t: &Term| match t {
            Term::Var(v) => format!("V{}", v.0),
            Term::Const(c) => format!("{:?}", program.interner.value(*c)),
            Term::Wildcard => "_".into(),
        };
        let args = |a: &[Term]| a.iter().map(term).collect::<Vec<_>>().join(",");
        let _ = write!(s, "({}):-", args(&rule.head.args));
        for lit in &rule.body {
            match lit {
                crate::ir::BodyLit::Pos(a) => {
                    let _ = write!(s, "{}({}),", program.relation(a.rel).name, args(&a.args));
                }
                crate::ir::BodyLit::Neg(a) => {
                    let _ = write!(s, "!{}({}),", program.relation(a.rel).name, args(&a.args));
                }
                crate::ir::BodyLit::Cmp { lhs, op, rhs, .. } => {
                    let _ = write!(s, "{}{op:?}{},", term(lhs), term(rhs));
                }
            }
        }
        s.push(';');
    }
    for fact in program.facts.iter().filter(|f| f.rel == p.rel) {
        let vals: Vec<String> = fact
            .values
            .iter()
            .map(|v| format!("{:?}", program.interner.value(*v)))
            .collect();
        let _ = write!(s, "fact({});", vals.join(","));
    }
    s
}

fn cond_key(program: &Program, c: &Cond, s: &mut String) {
    let term = |t: &CondTerm| match t {
        CondTerm::Attr(a, _) => a.dotted(),
        CondTerm::Bound(n, _) => format!("#{n}"),
        CondTerm::Const(v, _) => format!("{:?}", program.interner.value(*v)),
        CondTerm::Wildcard(_) => "_".into(),
    };
    match c {
        Cond::True => s.push('T'),
        Cond::False => s.push('F'),
        Cond::And(cs) | Cond::Or(cs) => {
            s.push_str(if matches!(c, Cond::And(_)) {
                "and("
            } else {
                "or("
            });
            for c in cs {
                cond_key(program, c, s);
                s.push(',');
            }
            s.push(')');
        }
        Cond::Not(c) => {
            s.push_str("not(");
            cond_key(program, c, s);
            s.push(')');
        }
        Cond::Cmp { lhs, op, rhs, .. } => {
            let _ = write!(s, "{}{op:?}{}", term(lhs), term(rhs));
        }
        Cond::In { lhs, set, .. } => {
            let items: Vec<String> = set.iter().map(term).collect();
            let _ = write!(s, "{} in [{}]", term(lhs), items.join(","));
        }
        Cond::Lookup { rel, args, .. } => {
            let items: Vec<String> = args.iter().map(term).collect();
            let _ = write!(s, "{}({})", program.relation(*rel).name, items.join(","));
        }
    }
}
