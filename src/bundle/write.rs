//! Encoding a program and its data-time model into a bundle body.
//!
//! Only what request time reads is written: every relation's declaration (so relation ids
//! stay valid), the policies with their conditions, the instances of the statements that
//! match chain principals (grouped per principal into shared *profiles*), the tuples of the
//! relations conditions look up and of forbids about the whole request, and the values all
//! of those mention. Everything is written in a canonical order, so equal inputs give equal
//! bytes.

use super::fast::StrHasher;
use super::format::{tag, Writer};
use super::strings;
use super::Manifest;
use crate::eval::{Model, Rows};
use crate::ir::{
    ActionPat, AttrRoot, Cond, CondTerm, Effect, PrincipalMatch, Program, RelKind, Sym, Type, Value,
};
use crate::source::Span;
use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasherDefault;

/// The value numbering of a bundle: strings in table order (by [`strings::hash`], then by
/// their bytes), then ints in numeric order, then `false` and `true`.
struct Numbering {
    /// Source symbol -> bundle symbol (`u32::MAX` for values the bundle does not hold).
    map: Vec<u32>,
    /// The strings back to back, in source symbol order, and the place of each string of
    /// the bundle's numbering in it.
    arena: String,
    strings: Vec<(u32, u32)>,
    /// The hash of each string, in the bundle's numbering.
    hashes: Vec<u64>,
    ints: Vec<i64>,
}

impl Numbering {
    fn new(program: &Program, used: &[bool]) -> Numbering {
        // Strings are copied into one arena first, so sorting and writing them read compact
        // memory rather than one allocation per string.
        let mut arena = String::new();
        let mut strs: Vec<(u64, (u32, u32), u32)> = Vec::new();
        let mut ints: Vec<(i64, u32)> = Vec::new();
        let mut bools: Vec<(bool, u32)> = Vec::new();
        for (i, _) in used.iter().enumerate().filter(|(_, u)| **u) {
            match program.interner.value(Sym(i as u32)) {
                Value::Str(x) => {
                    let at = (arena.len() as u32, x.len() as u32);
                    arena.push_str(x);
                    strs.push((strings::hash(x.as_bytes()), at, i as u32));
                }
                Value::Int(v) => ints.push((*v, i as u32)),
                Value::Bool(b) => bools.push((*b, i as u32)),
            }
        }
        let text = |(a, n): (u32, u32)| &arena[a as usize..(a + n) as usize];
        // Interned values are distinct, so these orders are strict.
        strs.sort_unstable_by(|x, y| x.0.cmp(&y.0).then_with(|| text(x.1).cmp(text(y.1))));
        ints.sort_unstable();
        let mut map = vec![u32::MAX; used.len()];
        for (k, &(_, _, s)) in strs.iter().enumerate() {
            map[s as usize] = k as u32;
        }
        for (k, &(_, s)) in ints.iter().enumerate() {
            map[s as usize] = (strs.len() + k) as u32;
        }
        for &(b, s) in &bools {
            map[s as usize] = (strs.len() + ints.len() + usize::from(b)) as u32;
        }
        // The arena again, in table order, so that writing the strings reads it in order.
        let mut sorted = String::with_capacity(arena.len());
        let strings = strs
            .iter()
            .map(|&(_, at, _)| {
                let to = (sorted.len() as u32, at.1);
                sorted.push_str(text(at));
                to
            })
            .collect();
        Numbering {
            map,
            hashes: strs.iter().map(|&(h, _, _)| h).collect(),
            strings,
            arena: sorted,
            ints: ints.into_iter().map(|(v, _)| v).collect(),
        }
    }

    /// String `k` of the bundle's numbering.
    fn string(&self, k: usize) -> &str {
        let (a, n) = self.strings[k];
        &self.arena[a as usize..(a + n) as usize]
    }

    fn sym(&self, s: Sym) -> u32 {
        // Every symbol written was marked used first.
        self.map.get(s.0 as usize).copied().unwrap_or(u32::MAX)
    }
}

fn collect_cond_syms(c: &Cond, out: &mut [bool], lookups: &mut BTreeSet<u32>) {
    let term = |t: &CondTerm, out: &mut [bool]| {
        if let CondTerm::Const(s, _) = t {
            if let Some(u) = out.get_mut(s.0 as usize) {
                *u = true;
            }
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

/// Tuple `k` of `rows`.
fn tuple(rows: &Rows, k: usize) -> Option<&[Sym]> {
    let a = rows.arity();
    rows.flat().get(k * a..(k + 1) * a)
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
    let nvals = program.interner.len();
    let mut lookups = BTreeSet::new();
    let mut used = vec![false; nvals];
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
    // Values whose relative order row iteration depends on: every column of the stored
    // relations, the bound columns of instances.
    let mut ordered = vec![false; nvals];
    let mark = |flags: &mut [bool], syms: &[Sym]| {
        for s in syms {
            if let Some(f) = flags.get_mut(s.0 as usize) {
                *f = true;
            }
        }
    };
    for &r in &row_rels {
        if let Some(rows) = model.rows.get(r as usize) {
            mark(&mut used, rows.flat());
            mark(&mut ordered, rows.flat());
        }
    }
    for &i in &keyed {
        if let Some(rows) = model.rows.get(program.policies[i].rel.index()) {
            mark(&mut used, rows.flat());
            if rows.arity() > 1 {
                for t in rows.iter() {
                    mark(&mut ordered, &t[1..]);
                }
            }
        }
    }
    let num = Numbering::new(program, &used);

    // Per principal, the instances of every chain statement, encoded flat as [statement,
    // count, bound columns...] runs. Every statement's rows are sorted by principal, so a
    // merge over the statements visits each principal's instances together, statements in
    // ascending order and each statement's rows in source order, reading memory in order.
    let keyed_rows: Vec<(u32, &Rows)> = keyed
        .iter()
        .filter_map(|&i| {
            let rows = model.rows.get(program.policies[i].rel.index())?;
            (rows.arity() > 0 && !rows.is_empty()).then_some((i as u32, rows))
        })
        .collect();
    let mut cursor = vec![0usize; keyed_rows.len()];
    let mut enc: Vec<u32> = Vec::new();
    let mut spans: Vec<(u32, usize, usize)> = Vec::new(); // (principal, start, end) in enc
    loop {
        // The smallest principal any statement's rows are at.
        let who = keyed_rows
            .iter()
            .zip(&cursor)
            .filter_map(|(&(_, rows), &k)| tuple(rows, k).map(|t| t[0]))
            .min();
        let Some(who) = who else { break };
        let start = enc.len();
        for (&(pi, rows), k) in keyed_rows.iter().zip(cursor.iter_mut()) {
            let mut count_at = None;
            while let Some(t) = tuple(rows, *k).filter(|t| t[0] == who) {
                let at = *count_at.get_or_insert_with(|| {
                    enc.extend([pi, 0]);
                    enc.len() - 1
                });
                enc.extend(t[1..].iter().map(|&s| num.sym(s)));
                enc[at] += 1;
                *k += 1;
            }
        }
        spans.push((num.sym(who), start, enc.len()));
    }
    let mut profile_ids: HashMap<&[u32], u32, BuildHasherDefault<StrHasher>> = HashMap::default();
    let mut profiles: Vec<&[u32]> = Vec::new();
    let mut principals: Vec<(u32, u32)> = Vec::with_capacity(spans.len());
    for &(who, a, b) in &spans {
        let key = &enc[a..b];
        let id = *profile_ids.entry(key).or_insert_with(|| {
            profiles.push(key);
            profiles.len() as u32 - 1
        });
        principals.push((who, id));
    }

    let mut out = Writer::new();

    let mut w = Writer::new();
    w.str(policy_hash);
    w.usize(input_facts);
    w.usize(model.total());
    out.section(tag::META, &w);

    // Strings in table order: the prefixes (every `type:` that strings start with), then per
    // string its gap (how many slots of the table it lies past the previous string's), its
    // prefix (0: none), the rest, and the profile of the principal it names + 1 (0: none).
    let mut profile_of = vec![0u32; num.strings.len()];
    for &(who, prof) in &principals {
        // Principals that are not strings cannot match a request's principal.
        if let Some(p) = profile_of.get_mut(who as usize) {
            *p = prof + 1;
        }
    }
    let prefix_of = |s: &str| s.find(':').map_or(0, |i| i + 1);
    // Distinct prefixes, sorted; a string's prefix number is its prefix's place + 1.
    let prefixes: Vec<&str> = (0..num.strings.len())
        .map(|k| {
            let s = num.string(k);
            &s[..prefix_of(s)]
        })
        .filter(|p| !p.is_empty())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut w = Writer::new();
    w.usize(prefixes.len());
    for p in &prefixes {
        w.str(p);
    }
    w.usize(num.strings.len());
    let gaps = strings::gaps(&num.hashes);
    for (k, (&profile, &gap)) in profile_of.iter().zip(&gaps).enumerate() {
        let s = num.string(k);
        let (pre, rest) = s.split_at(prefix_of(s));
        w.var(gap);
        w.var(prefixes.binary_search(&pre).map_or(0, |i| i as u64 + 1));
        w.str(rest);
        w.var(u64::from(profile));
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
        // Entries: [statement, count, count * width symbols] runs.
        let mut entries = Vec::new();
        let mut at = 0;
        while at + 1 < prof.len() {
            let (pi, n) = (prof[at], prof[at + 1] as usize);
            let width = program.relation(program.policies[pi as usize].rel).arity() - 1;
            entries.push((pi, n, &prof[at + 2..at + 2 + n * width]));
            at += 2 + n * width;
        }
        w.usize(entries.len());
        let mut prev = 0u32;
        for (pi, n, syms) in entries {
            w.var(u64::from(pi - prev));
            prev = pi;
            w.usize(n);
            for &s in syms {
                w.var(u64::from(s));
            }
        }
    }
    out.section(tag::PROFILES, &w);

    let mut w = Writer::new();
    let order: Vec<u32> = (0..nvals)
        .filter(|&i| ordered[i] && used[i])
        .map(|i| num.sym(Sym(i as u32)))
        .collect();
    w.usize(order.len());
    for &s in &order {
        w.var(u64::from(s));
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
