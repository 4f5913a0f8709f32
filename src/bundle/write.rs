//! Encoding a program and its data-time model into a bundle body.
//!
//! Only what request time reads is written: every relation's declaration (so relation ids
//! stay valid), the policies with their conditions, the instances of the statements that
//! match chain principals (grouped per principal into shared *profiles*), the tuples of the
//! relations conditions look up and of forbids about the whole request, and the values all
//! of those mention. Everything is written in a canonical order, so equal inputs give equal
//! bytes.

use super::format::{tag, Writer};
use super::Manifest;
use crate::eval::Model;
use crate::ir::{
    ActionPat, AttrRoot, Cond, CondTerm, Effect, PrincipalMatch, Program, RelKind, Sym, Type, Value,
};
use crate::source::Span;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The value numbering of a bundle: strings in byte order, then ints in numeric order, then
/// `false` and `true`.
struct Numbering {
    /// Source symbol -> bundle symbol, for every value the bundle holds.
    map: HashMap<Sym, u32>,
    strings: Vec<String>,
    ints: Vec<i64>,
}

impl Numbering {
    fn new(program: &Program, used: &BTreeSet<Sym>) -> Numbering {
        let mut strings = BTreeSet::new();
        let mut ints = BTreeSet::new();
        for &s in used {
            match program.interner.value(s) {
                Value::Str(x) => {
                    strings.insert(x.as_str());
                }
                Value::Int(i) => {
                    ints.insert(*i);
                }
                Value::Bool(_) => {}
            }
        }
        let strings: Vec<String> = strings.into_iter().map(str::to_string).collect();
        let ints: Vec<i64> = ints.into_iter().collect();
        let mut map = HashMap::with_capacity(used.len());
        for &s in used {
            let b = match program.interner.value(s) {
                // Both searches succeed: the lists were built from these very values.
                Value::Str(x) => strings.binary_search(x).unwrap_or(0) as u32,
                Value::Int(i) => (strings.len() + ints.binary_search(i).unwrap_or(0)) as u32,
                Value::Bool(b) => (strings.len() + ints.len() + usize::from(*b)) as u32,
            };
            map.insert(s, b);
        }
        Numbering { map, strings, ints }
    }

    fn sym(&self, s: Sym) -> u32 {
        // Every symbol written was collected into `used` first.
        self.map.get(&s).copied().unwrap_or(u32::MAX)
    }
}

fn collect_cond_syms(c: &Cond, out: &mut BTreeSet<Sym>, lookups: &mut BTreeSet<u32>) {
    let term = |t: &CondTerm, out: &mut BTreeSet<Sym>| {
        if let CondTerm::Const(s, _) = t {
            out.insert(*s);
        }
    };
    match c {
        Cond::True | Cond::False => {}
        Cond::And(cs) | Cond::Or(cs) => cs.iter().for_each(|c| collect_cond_syms(c, out, lookups)),
        Cond::Not(c) => collect_cond_syms(c, out, lookups),
        Cond::Cmp { lhs, rhs, .. } => {
            term(lhs, out);
            term(rhs, out);
        }
        Cond::In { lhs, set, .. } => {
            term(lhs, out);
            set.iter().for_each(|t| term(t, out));
        }
        Cond::Lookup { rel, args, .. } => {
            lookups.insert(rel.0);
            args.iter().for_each(|t| term(t, out));
        }
    }
}

/// What the builder reports besides the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildStats {
    pub principals: usize,
    pub profiles: usize,
    pub values: usize,
}

/// Encodes the body of a bundle.
pub fn body(
    program: &Program,
    model: &Model,
    policy_hash: &str,
    input_facts: usize,
) -> (Vec<u8>, BuildStats) {
    // Which relations request time reads.
    let mut lookups = BTreeSet::new();
    let mut used = BTreeSet::new();
    for p in &program.policies {
        collect_cond_syms(&p.cond, &mut used, &mut lookups);
    }
    let mut row_rels: BTreeSet<u32> = lookups;
    for p in &program.policies {
        if p.principal == PrincipalMatch::Request {
            row_rels.insert(p.rel.0);
        }
    }
    let keyed: Vec<usize> = (0..program.policies.len())
        .filter(|&i| matches!(program.policies[i].principal, PrincipalMatch::Chain { .. }))
        .collect();
    for &r in &row_rels {
        for t in model
            .rows
            .get(r as usize)
            .into_iter()
            .flat_map(|rows| rows.iter())
        {
            used.extend(t.iter().copied());
        }
    }
    for &i in &keyed {
        if let Some(rows) = model.rows.get(program.policies[i].rel.index()) {
            for t in rows.iter() {
                used.extend(t.iter().copied());
            }
        }
    }
    let num = Numbering::new(program, &used);

    // Values whose relative order row iteration depends on, in source order.
    let mut ordered: BTreeSet<Sym> = BTreeSet::new();
    for &r in &row_rels {
        for t in model
            .rows
            .get(r as usize)
            .into_iter()
            .flat_map(|rows| rows.iter())
        {
            ordered.extend(t.iter().copied());
        }
    }
    for &i in &keyed {
        if let Some(rows) = model.rows.get(program.policies[i].rel.index()) {
            for t in rows.iter() {
                ordered.extend(t.iter().skip(1).copied());
            }
        }
    }

    // Profiles: per principal, the instances of every chain statement, by statement.
    type Profile = Vec<(u32, Vec<Vec<u32>>)>;
    let mut per_principal: BTreeMap<u32, Profile> = BTreeMap::new();
    for &i in &keyed {
        let Some(rows) = model.rows.get(program.policies[i].rel.index()) else {
            continue;
        };
        if rows.arity() == 0 {
            continue;
        }
        for t in rows.iter() {
            let who = num.sym(t[0]);
            let rest: Vec<u32> = t[1..].iter().map(|&s| num.sym(s)).collect();
            let prof = per_principal.entry(who).or_default();
            match prof.last_mut() {
                Some((pi, list)) if *pi == i as u32 => list.push(rest),
                _ => prof.push((i as u32, vec![rest])),
            }
        }
    }
    let mut profile_ids: HashMap<Profile, u32> = HashMap::new();
    let mut profiles: Vec<Profile> = Vec::new();
    let mut principals: Vec<(u32, u32)> = Vec::with_capacity(per_principal.len());
    for (who, prof) in per_principal {
        let id = match profile_ids.get(&prof) {
            Some(&id) => id,
            None => {
                let id = profiles.len() as u32;
                profiles.push(prof.clone());
                profile_ids.insert(prof, id);
                id
            }
        };
        principals.push((who, id));
    }

    let mut out = Writer::new();

    let mut w = Writer::new();
    w.str(policy_hash);
    w.usize(input_facts);
    w.usize(model.total());
    out.section(tag::META, &w);

    // Strings, front-coded: shared prefix length with the previous one, then the rest.
    let mut w = Writer::new();
    w.usize(num.strings.len());
    let mut prev: &[u8] = &[];
    for s in &num.strings {
        let b = s.as_bytes();
        let shared = prev.iter().zip(b).take_while(|(x, y)| x == y).count();
        w.usize(shared);
        w.bytes(&b[shared..]);
        prev = b;
    }
    out.section(tag::STRINGS, &w);

    let mut w = Writer::new();
    w.usize(num.ints.len());
    let mut prev = 0i64;
    for (k, &i) in num.ints.iter().enumerate() {
        if k == 0 {
            w.int(i);
        } else {
            w.var(i.wrapping_sub(prev) as u64);
        }
        prev = i;
    }
    out.section(tag::INTS, &w);

    let mut w = Writer::new();
    let files: Vec<_> = program.sources.files().collect();
    w.usize(files.len());
    for (_, f) in files {
        w.str(&f.name);
        w.str(&f.text);
    }
    out.section(tag::SOURCES, &w);

    let mut w = Writer::new();
    w.usize(program.relations.len());
    for r in &program.relations {
        w.str(&r.name);
        w.usize(r.columns.len());
        for c in &r.columns {
            match &c.name {
                Some(n) => {
                    w.u8(1);
                    w.str(n);
                }
                None => w.u8(0),
            }
            w.u8(type_code(c.ty));
        }
        match r.kind {
            RelKind::Declared => w.u8(0),
            RelKind::Policy(i) => {
                w.u8(1);
                w.usize(i);
            }
        }
        span(&mut w, r.span);
    }
    out.section(tag::RELATIONS, &w);

    let mut w = Writer::new();
    w.usize(program.policies.len());
    for p in &program.policies {
        w.str(&p.id);
        w.u8(u8::from(p.explicit_id));
        w.u8(match p.effect {
            Effect::Permit => 0,
            Effect::Forbid => 1,
        });
        match &p.principal {
            PrincipalMatch::Request => w.u8(0),
            PrincipalMatch::Chain { ty: None } => w.u8(1),
            PrincipalMatch::Chain { ty: Some(t) } => {
                w.u8(2);
                w.str(t);
            }
        }
        w.usize(p.actions.len());
        for a in &p.actions {
            match a {
                ActionPat::Exact(s) => {
                    w.u8(0);
                    w.str(s);
                }
                ActionPat::Family(s) => {
                    w.u8(1);
                    w.str(s);
                }
                ActionPat::Any => w.u8(2),
            }
        }
        w.usize(p.resources.len());
        for r in &p.resources {
            w.str(r);
        }
        w.usize(p.rel.index());
        w.usize(p.columns.len());
        for c in &p.columns {
            w.str(c);
        }
        cond(&mut w, &p.cond, &num);
        span(&mut w, p.span);
    }
    out.section(tag::POLICIES, &w);

    let mut w = Writer::new();
    w.usize(row_rels.len());
    for &r in &row_rels {
        let rows = &model.rows[r as usize];
        w.var(u64::from(r));
        w.usize(rows.arity());
        w.usize(rows.len());
        for t in rows.iter() {
            for &s in t {
                w.var(u64::from(num.sym(s)));
            }
        }
    }
    out.section(tag::ROWS, &w);

    let mut w = Writer::new();
    w.usize(profiles.len());
    for prof in &profiles {
        w.usize(prof.len());
        let mut prev = 0u32;
        for (pi, rows) in prof {
            w.var(u64::from(pi - prev));
            prev = *pi;
            w.usize(rows.len());
            for row in rows {
                for &s in row {
                    w.var(u64::from(s));
                }
            }
        }
    }
    out.section(tag::PROFILES, &w);

    // Principals by symbol: the gap from the previous one, then the profile.
    let mut w = Writer::new();
    w.usize(principals.len());
    let mut next = 0u32;
    for &(who, prof) in &principals {
        w.var(u64::from(who - next));
        next = who + 1;
        w.var(u64::from(prof));
    }
    out.section(tag::PRINCIPALS, &w);

    let mut w = Writer::new();
    w.usize(ordered.len());
    for &s in &ordered {
        w.var(u64::from(num.sym(s)));
    }
    out.section(tag::ORDER, &w);

    let manifest = Manifest::of(program);
    let mut w = Writer::new();
    w.usize(manifest.attributes.len());
    for a in &manifest.attributes {
        w.u8(root_code(a.root));
        w.usize(a.path.len());
        for seg in &a.path {
            w.str(seg);
        }
    }
    w.usize(manifest.principal_attributes.len());
    for path in &manifest.principal_attributes {
        w.usize(path.len());
        for seg in path {
            w.str(seg);
        }
    }
    w.usize(manifest.claims.len());
    for c in &manifest.claims {
        w.str(c);
    }
    out.section(tag::MANIFEST, &w);

    let stats = BuildStats {
        principals: principals.len(),
        profiles: profiles.len(),
        values: num.strings.len() + num.ints.len(),
    };
    (out.buf, stats)
}

pub fn type_code(t: Type) -> u8 {
    match t {
        Type::String => 0,
        Type::Int => 1,
        Type::Bool => 2,
    }
}

pub fn root_code(r: AttrRoot) -> u8 {
    match r {
        AttrRoot::Subject => 0,
        AttrRoot::Action => 1,
        AttrRoot::Resource => 2,
        AttrRoot::Context => 3,
        AttrRoot::Principal => 4,
    }
}

pub fn op_code(op: crate::ir::CmpOp) -> u8 {
    use crate::ir::CmpOp;
    match op {
        CmpOp::Eq => 0,
        CmpOp::Ne => 1,
        CmpOp::Lt => 2,
        CmpOp::Le => 3,
        CmpOp::Gt => 4,
        CmpOp::Ge => 5,
    }
}

fn span(w: &mut Writer, s: Span) {
    w.var(u64::from(s.file.0));
    w.var(u64::from(s.start));
    w.var(u64::from(s.end.saturating_sub(s.start)));
}

fn term(w: &mut Writer, t: &CondTerm, num: &Numbering) {
    match t {
        CondTerm::Attr(a, s) => {
            w.u8(0);
            w.u8(root_code(a.root));
            w.usize(a.path.len());
            for seg in &a.path {
                w.str(seg);
            }
            span(w, *s);
        }
        CondTerm::Bound(n, s) => {
            w.u8(1);
            w.usize(*n);
            span(w, *s);
        }
        CondTerm::Const(sym, s) => {
            w.u8(2);
            w.var(u64::from(num.sym(*sym)));
            span(w, *s);
        }
        CondTerm::Wildcard(s) => {
            w.u8(3);
            span(w, *s);
        }
    }
}

fn cond(w: &mut Writer, c: &Cond, num: &Numbering) {
    match c {
        Cond::True => w.u8(0),
        Cond::False => w.u8(1),
        Cond::And(cs) => {
            w.u8(2);
            w.usize(cs.len());
            cs.iter().for_each(|c| cond(w, c, num));
        }
        Cond::Or(cs) => {
            w.u8(3);
            w.usize(cs.len());
            cs.iter().for_each(|c| cond(w, c, num));
        }
        Cond::Not(c) => {
            w.u8(4);
            cond(w, c, num);
        }
        Cond::Cmp {
            lhs,
            op,
            rhs,
            span: s,
        } => {
            w.u8(5);
            term(w, lhs, num);
            w.u8(op_code(*op));
            term(w, rhs, num);
            span(w, *s);
        }
        Cond::In { lhs, set, span: s } => {
            w.u8(6);
            term(w, lhs, num);
            w.usize(set.len());
            set.iter().for_each(|t| term(w, t, num));
            span(w, *s);
        }
        Cond::Lookup { rel, args, span: s } => {
            w.u8(7);
            w.usize(rel.index());
            w.usize(args.len());
            args.iter().for_each(|t| term(w, t, num));
            span(w, *s);
        }
    }
}
