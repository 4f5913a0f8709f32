//! Decoding a bundle body into [`Contents`]: every index is checked against what it indexes,
//! every count against the bytes left, so that no input makes the loader panic or allocate
//! far beyond the input's size.

use super::format::{tag, Reader};
use super::{BundleError, Manifest};
use crate::ir::{
    ActionPat, Attr, AttrRoot, CmpOp, ColumnInfo, Cond, CondTerm, Effect, Policy, PrincipalMatch,
    RelId, RelKind, Relation, Sym, Type,
};
use crate::source::{FileId, Span};

/// Conditions nest at most this deep in a bundle.
pub const MAX_COND_DEPTH: usize = 200;

/// The string table: every string of the bundle, in byte order, stored back to back.
#[derive(Debug, Clone, Default)]
pub struct Strings {
    pub arena: Vec<u8>,
    /// `offsets[i]..offsets[i + 1]` is string `i`.
    pub offsets: Vec<u32>,
}

impl Strings {
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// String `i` (which must be below `len()`); its bytes were checked to be UTF-8 on load.
    pub fn get(&self, i: usize) -> &str {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        std::str::from_utf8(&self.arena[a..b]).unwrap_or_default()
    }

    pub fn bytes(&self, i: usize) -> &[u8] {
        let (a, b) = (self.offsets[i] as usize, self.offsets[i + 1] as usize);
        &self.arena[a..b]
    }
}

/// The tuples of one relation, flat, in bundle symbols.
#[derive(Debug, Clone)]
pub struct RelRows {
    pub rel: RelId,
    pub arity: usize,
    pub count: usize,
    pub data: Vec<u32>,
}

/// Per-principal instances, shared between principals with the same ones.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    /// Entries of profile `i`: `entries[start[i]..start[i + 1]]`.
    pub start: Vec<u32>,
    /// (statement, first row, row count), by statement.
    pub entries: Vec<(u32, u32, u32)>,
    /// Rows of bound columns, `arity - 1` symbols each for the entry's statement.
    pub rows: Vec<u32>,
}

impl Profiles {
    pub fn len(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn entries(&self, profile: u32) -> &[(u32, u32, u32)] {
        let i = profile as usize;
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.entries[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// A decoded body.
#[derive(Debug, Clone)]
pub struct Contents {
    pub policy_hash: String,
    pub input_facts: usize,
    pub model_tuples: usize,
    pub strings: Strings,
    pub ints: Vec<i64>,
    pub sources: Vec<(String, String)>,
    pub relations: Vec<Relation>,
    /// Policies; `CondTerm::Const` holds bundle symbols.
    pub policies: Vec<Policy>,
    pub rows: Vec<RelRows>,
    pub profiles: Profiles,
    /// (principal symbol, profile), ascending by symbol.
    pub principals: Vec<(u32, u32)>,
    /// Symbols whose relative order row iteration depends on, in their source order.
    pub order: Vec<u32>,
    pub manifest: Manifest,
    /// Bytes of each section, in order.
    pub section_sizes: Vec<(&'static str, usize)>,
}

/// A value of the bundle's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BVal<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
}

impl Contents {
    /// Number of symbols: strings, ints, then `false` and `true`.
    pub fn symbols(&self) -> usize {
        self.strings.len() + self.ints.len() + 2
    }

    pub fn value(&self, sym: u32) -> BVal<'_> {
        let s = sym as usize;
        let ns = self.strings.len();
        if s < ns {
            BVal::Str(self.strings.get(s))
        } else if s < ns + self.ints.len() {
            BVal::Int(self.ints[s - ns])
        } else {
            BVal::Bool(s > ns + self.ints.len())
        }
    }
}

pub fn decode(body: &[u8]) -> Result<Contents, BundleError> {
    let mut r = Reader::new(body, "body");
    let mut sizes = Vec::new();
    fn section<'a>(
        r: &mut Reader<'a>,
        t: u8,
        sizes: &mut Vec<(&'static str, usize)>,
    ) -> Result<Reader<'a>, BundleError> {
        let s = r.section(t)?;
        sizes.push((tag::name(t), s.remaining()));
        Ok(s)
    }
    // Every section is decoded by borrowing `body`, so sections are taken one at a time.
    let mut meta = section(&mut r, tag::META, &mut sizes)?;
    let policy_hash = meta.str()?.to_string();
    let input_facts = meta.var()? as usize;
    let model_tuples = meta.var()? as usize;
    meta.finish()?;

    let mut s = section(&mut r, tag::STRINGS, &mut sizes)?;
    let strings = strings(&mut s)?;
    s.finish()?;

    let mut s = section(&mut r, tag::INTS, &mut sizes)?;
    let n = s.count(1)?;
    let mut ints = Vec::with_capacity(n);
    for k in 0..n {
        let v = if k == 0 {
            s.int()?
        } else {
            let d = s.var()?;
            let prev: i64 = ints[k - 1];
            if d == 0 {
                return Err(s.error("ints are not strictly ascending"));
            }
            let v = (prev as i128) + (d as i128);
            i64::try_from(v).map_err(|_| s.error("int out of range"))?
        };
        ints.push(v);
    }
    s.finish()?;
    let nsyms = strings.len() + ints.len() + 2;

    let mut s = section(&mut r, tag::SOURCES, &mut sizes)?;
    let n = s.count(2)?;
    let mut sources = Vec::with_capacity(n);
    for _ in 0..n {
        let name = s.str()?.to_string();
        let text = s.str()?.to_string();
        sources.push((name, text));
    }
    s.finish()?;
    let spans = SpanCheck { files: &sources };

    let mut s = section(&mut r, tag::RELATIONS, &mut sizes)?;
    let n = s.count(5)?;
    let mut relations = Vec::with_capacity(n);
    for _ in 0..n {
        let name = s.str()?.to_string();
        let arity = s.count(2)?;
        let mut columns = Vec::with_capacity(arity);
        for _ in 0..arity {
            let name = if s.bool()? {
                Some(s.str()?.to_string())
            } else {
                None
            };
            let ty = match s.u8()? {
                0 => Type::String,
                1 => Type::Int,
                2 => Type::Bool,
                b => return Err(s.error(format!("unknown column type {b}"))),
            };
            columns.push(ColumnInfo { name, ty });
        }
        let kind = match s.u8()? {
            0 => RelKind::Declared,
            1 => RelKind::Policy(s.var()? as usize),
            b => return Err(s.error(format!("unknown relation kind {b}"))),
        };
        let span = spans.read(&mut s)?;
        relations.push(Relation {
            name,
            columns,
            span,
            kind,
        });
    }
    s.finish()?;

    let mut s = section(&mut r, tag::POLICIES, &mut sizes)?;
    let n = s.count(8)?;
    let mut policies = Vec::with_capacity(n);
    let ctx = CondCtx {
        spans: &spans,
        nsyms,
        relations: &relations,
    };
    for _ in 0..n {
        let id = s.str()?.to_string();
        let explicit_id = s.bool()?;
        let effect = match s.u8()? {
            0 => Effect::Permit,
            1 => Effect::Forbid,
            b => return Err(s.error(format!("unknown effect {b}"))),
        };
        let principal = match s.u8()? {
            0 => PrincipalMatch::Request,
            1 => PrincipalMatch::Chain { ty: None },
            2 => PrincipalMatch::Chain {
                ty: Some(s.str()?.to_string()),
            },
            b => return Err(s.error(format!("unknown principal match {b}"))),
        };
        let na = s.count(1)?;
        let mut actions = Vec::with_capacity(na);
        for _ in 0..na {
            actions.push(match s.u8()? {
                0 => ActionPat::Exact(s.str()?.to_string()),
                1 => ActionPat::Family(s.str()?.to_string()),
                2 => ActionPat::Any,
                b => return Err(s.error(format!("unknown action pattern {b}"))),
            });
        }
        let nr = s.count(1)?;
        let mut resources = Vec::with_capacity(nr);
        for _ in 0..nr {
            resources.push(s.str()?.to_string());
        }
        let rel = RelId(s.index(relations.len(), "relation")? as u32);
        let nc = s.count(1)?;
        let mut columns = Vec::with_capacity(nc);
        for _ in 0..nc {
            columns.push(s.str()?.to_string());
        }
        if nc != relations[rel.index()].arity() {
            return Err(s.error(format!(
                "statement `{id}` names {nc} columns of a relation with {}",
                relations[rel.index()].arity()
            )));
        }
        if matches!(principal, PrincipalMatch::Chain { .. }) && nc == 0 {
            return Err(s.error(format!(
                "statement `{id}` matches principals but has no principal column"
            )));
        }
        let cond = ctx.cond(&mut s, 0)?;
        let span = spans.read(&mut s)?;
        policies.push(Policy {
            id,
            explicit_id,
            effect,
            principal,
            actions,
            resources,
            rel,
            columns,
            cond,
            span,
        });
    }
    s.finish()?;

    let mut s = section(&mut r, tag::ROWS, &mut sizes)?;
    let n = s.count(3)?;
    let mut rows: Vec<RelRows> = Vec::with_capacity(n);
    for _ in 0..n {
        let rel = RelId(s.index(relations.len(), "relation")? as u32);
        if rows.last().is_some_and(|l| l.rel >= rel) {
            return Err(s.error("relations are not in ascending order"));
        }
        let arity = s.var()? as usize;
        if arity != relations[rel.index()].arity() {
            return Err(s.error(format!(
                "relation `{}` has {} columns, the rows {arity}",
                relations[rel.index()].name,
                relations[rel.index()].arity()
            )));
        }
        let count = if arity == 0 {
            let c = s.var()?;
            if c > 1 {
                return Err(s.error("a relation without columns holds at most one tuple"));
            }
            c as usize
        } else {
            s.count(arity)?
        };
        let mut data = Vec::with_capacity(count * arity);
        for _ in 0..count * arity {
            data.push(s.index(nsyms, "symbol")? as u32);
        }
        rows.push(RelRows {
            rel,
            arity,
            count,
            data,
        });
    }
    s.finish()?;

    let mut s = section(&mut r, tag::PROFILES, &mut sizes)?;
    let n = s.count(1)?;
    let mut profiles = Profiles {
        start: Vec::with_capacity(n + 1),
        entries: Vec::new(),
        rows: Vec::new(),
    };
    profiles.start.push(0);
    for _ in 0..n {
        let k = s.count(2)?;
        let mut prev: u64 = 0;
        for e in 0..k {
            let d = s.var()?;
            if e > 0 && d == 0 {
                return Err(s.error("profile statements are not strictly ascending"));
            }
            let pi = prev.saturating_add(d);
            if pi >= policies.len() as u64 {
                return Err(s.error(format!("statement {pi} out of range")));
            }
            prev = pi;
            let p = &policies[pi as usize];
            if !matches!(p.principal, PrincipalMatch::Chain { .. }) {
                return Err(s.error(format!(
                    "profile names statement `{}`, which matches no principal",
                    p.id
                )));
            }
            let width = relations[p.rel.index()].arity() - 1;
            let nrows = if width == 0 {
                let c = s.var()?;
                if c != 1 {
                    return Err(s.error("a statement without bound columns has one instance"));
                }
                1
            } else {
                s.count(width)?
            };
            let start = profiles.rows.len() as u32;
            for _ in 0..nrows * width {
                profiles.rows.push(s.index(nsyms, "symbol")? as u32);
            }
            profiles.entries.push((pi as u32, start, nrows as u32));
        }
        profiles.start.push(profiles.entries.len() as u32);
    }
    s.finish()?;

    let mut s = section(&mut r, tag::PRINCIPALS, &mut sizes)?;
    let n = s.count(2)?;
    let mut principals = Vec::with_capacity(n);
    let mut next_sym: u64 = 0;
    for _ in 0..n {
        let who = next_sym.saturating_add(s.var()?);
        if who >= nsyms as u64 {
            return Err(s.error(format!("principal symbol {who} out of range")));
        }
        let prof = s.index(profiles.len(), "profile")? as u32;
        principals.push((who as u32, prof));
        next_sym = who + 1;
    }
    s.finish()?;

    let mut s = section(&mut r, tag::ORDER, &mut sizes)?;
    let n = s.count(1)?;
    let mut order = Vec::with_capacity(n);
    let mut seen = vec![false; if n > 0 { nsyms } else { 0 }];
    for _ in 0..n {
        let v = s.index(nsyms, "symbol")?;
        if std::mem::replace(&mut seen[v], true) {
            return Err(s.error(format!("symbol {v} appears twice")));
        }
        order.push(v as u32);
    }
    s.finish()?;

    let mut s = section(&mut r, tag::MANIFEST, &mut sizes)?;
    let n = s.count(2)?;
    let mut attributes = Vec::with_capacity(n);
    for _ in 0..n {
        let root = root(&mut s)?;
        let path = path(&mut s)?;
        attributes.push(Attr { root, path });
    }
    let n = s.count(1)?;
    let mut principal_attributes = Vec::with_capacity(n);
    for _ in 0..n {
        principal_attributes.push(path(&mut s)?);
    }
    let n = s.count(1)?;
    let mut claims = Vec::with_capacity(n);
    for _ in 0..n {
        claims.push(s.str()?.to_string());
    }
    s.finish()?;
    let manifest = Manifest {
        attributes,
        principal_attributes,
        claims,
    };
    r.finish()?;
    Ok(Contents {
        policy_hash,
        input_facts,
        model_tuples,
        strings,
        ints,
        sources,
        relations,
        policies,
        rows,
        profiles,
        principals,
        order,
        manifest,
        section_sizes: sizes,
    })
}

fn strings(s: &mut Reader<'_>) -> Result<Strings, BundleError> {
    let n = s.count(2)?;
    let mut arena: Vec<u8> = Vec::with_capacity(s.remaining() * 4);
    let mut offsets: Vec<u32> = Vec::with_capacity(n + 1);
    offsets.push(0);
    let mut prev_start = 0usize;
    for k in 0..n {
        let shared = s.var()? as usize;
        let prev_len = arena.len() - prev_start;
        if shared > prev_len {
            return Err(s.error("shared prefix longer than the previous string"));
        }
        let rest = s.bytes()?;
        let start = arena.len();
        // The previous string and this one share `shared` bytes, so this one is greater
        // exactly when its rest is greater than the previous string's.
        if k > 0 && arena[prev_start + shared..] >= *rest {
            return Err(s.error("strings are not strictly ascending"));
        }
        arena.extend_from_within(prev_start..prev_start + shared);
        arena.extend_from_slice(rest);
        let end = u32::try_from(arena.len()).map_err(|_| s.error("string table too large"))?;
        offsets.push(end);
        prev_start = start;
    }
    // Every string is UTF-8 when the whole arena is and every string starts on a character
    // boundary (a slice of UTF-8 between two boundaries is UTF-8).
    let text = std::str::from_utf8(&arena).map_err(|e| {
        let k = offsets.partition_point(|&o| o as usize <= e.valid_up_to());
        s.error(format!("string {} is not UTF-8", k.saturating_sub(1)))
    })?;
    if let Some(k) = offsets
        .iter()
        .position(|&o| !text.is_char_boundary(o as usize))
    {
        return Err(s.error(format!("string {k} is not UTF-8")));
    }
    Ok(Strings { arena, offsets })
}

fn root(s: &mut Reader<'_>) -> Result<AttrRoot, BundleError> {
    Ok(match s.u8()? {
        0 => AttrRoot::Subject,
        1 => AttrRoot::Action,
        2 => AttrRoot::Resource,
        3 => AttrRoot::Context,
        4 => AttrRoot::Principal,
        b => return Err(s.error(format!("unknown attribute root {b}"))),
    })
}

fn path(s: &mut Reader<'_>) -> Result<Vec<String>, BundleError> {
    let n = s.count(1)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(s.str()?.to_string());
    }
    Ok(out)
}

struct SpanCheck<'a> {
    files: &'a [(String, String)],
}

impl SpanCheck<'_> {
    fn read(&self, s: &mut Reader<'_>) -> Result<Span, BundleError> {
        let file = s.index(self.files.len().max(1), "source file")?;
        let start = s.u32()?;
        let len = s.u32()?;
        let end = start
            .checked_add(len)
            .ok_or_else(|| s.error("span overflows"))?;
        if let Some((_, text)) = self.files.get(file) {
            if end as usize > text.len()
                || !text.is_char_boundary(start as usize)
                || !text.is_char_boundary(end as usize)
            {
                return Err(s.error("span outside its source text"));
            }
        } else if end > 0 {
            return Err(s.error("span outside its source text"));
        }
        Ok(Span {
            file: FileId(file as u32),
            start,
            end,
        })
    }
}

struct CondCtx<'a> {
    spans: &'a SpanCheck<'a>,
    nsyms: usize,
    relations: &'a [Relation],
}

impl CondCtx<'_> {
    fn term(&self, s: &mut Reader<'_>) -> Result<CondTerm, BundleError> {
        Ok(match s.u8()? {
            0 => {
                let root = root(s)?;
                let path = path(s)?;
                CondTerm::Attr(Attr { root, path }, self.spans.read(s)?)
            }
            1 => CondTerm::Bound(s.var()? as usize, self.spans.read(s)?),
            2 => CondTerm::Const(
                Sym(s.index(self.nsyms, "symbol")? as u32),
                self.spans.read(s)?,
            ),
            3 => CondTerm::Wildcard(self.spans.read(s)?),
            b => return Err(s.error(format!("unknown condition term {b}"))),
        })
    }

    fn cond(&self, s: &mut Reader<'_>, depth: usize) -> Result<Cond, BundleError> {
        if depth > MAX_COND_DEPTH {
            return Err(s.error("condition nested too deeply"));
        }
        Ok(match s.u8()? {
            0 => Cond::True,
            1 => Cond::False,
            t @ (2 | 3) => {
                let n = s.count(1)?;
                let mut cs = Vec::with_capacity(n);
                for _ in 0..n {
                    cs.push(self.cond(s, depth + 1)?);
                }
                if t == 2 {
                    Cond::And(cs)
                } else {
                    Cond::Or(cs)
                }
            }
            4 => Cond::Not(Box::new(self.cond(s, depth + 1)?)),
            5 => {
                let lhs = self.term(s)?;
                let op = op(s)?;
                let rhs = self.term(s)?;
                Cond::Cmp {
                    lhs,
                    op,
                    rhs,
                    span: self.spans.read(s)?,
                }
            }
            6 => {
                let lhs = self.term(s)?;
                let n = s.count(1)?;
                let mut set = Vec::with_capacity(n);
                for _ in 0..n {
                    set.push(self.term(s)?);
                }
                Cond::In {
                    lhs,
                    set,
                    span: self.spans.read(s)?,
                }
            }
            7 => {
                let rel = RelId(s.index(self.relations.len(), "relation")? as u32);
                let n = s.count(1)?;
                let mut args = Vec::with_capacity(n);
                for _ in 0..n {
                    args.push(self.term(s)?);
                }
                if n != self.relations[rel.index()].arity() {
                    return Err(s.error("lookup arity differs from its relation"));
                }
                Cond::Lookup {
                    rel,
                    args,
                    span: self.spans.read(s)?,
                }
            }
            b => return Err(s.error(format!("unknown condition {b}"))),
        })
    }
}

fn op(s: &mut Reader<'_>) -> Result<CmpOp, BundleError> {
    Ok(match s.u8()? {
        0 => CmpOp::Eq,
        1 => CmpOp::Ne,
        2 => CmpOp::Lt,
        3 => CmpOp::Le,
        4 => CmpOp::Gt,
        5 => CmpOp::Ge,
        b => return Err(s.error(format!("unknown comparison {b}"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::format::Writer;

    /// A strings section of `(shared, rest)` pairs, decoded.
    fn decode_strings(items: &[(usize, &[u8])]) -> Result<Strings, BundleError> {
        let mut w = Writer::new();
        w.usize(items.len());
        for (shared, rest) in items {
            w.usize(*shared);
            w.bytes(rest);
        }
        strings(&mut Reader::new(&w.buf, "strings"))
    }

    #[test]
    fn front_coded_strings_decode() {
        let s = decode_strings(&[(0, b"agent:a1"), (7, b"2"), (0, b"user:u\xc3\xa9")])
            .expect("valid strings");
        assert_eq!(s.len(), 3);
        assert_eq!(s.get(0), "agent:a1");
        assert_eq!(s.get(1), "agent:a2");
        assert_eq!(s.get(2), "user:ué");
    }

    #[test]
    fn strings_out_of_order_are_refused() {
        for items in [
            &[(0, &b"b"[..]), (0, &b"a"[..])][..],
            &[(0, b"ab"), (2, b"")],
            &[(0, b"ab"), (1, b"a")],
            &[(0, b"ab"), (1, b"b")],
        ] {
            let e = decode_strings(items).expect_err("not strictly ascending");
            assert!(e.to_string().contains("strictly ascending"), "{e}");
        }
        // A longer string after its own prefix is greater.
        assert!(decode_strings(&[(0, b"ab"), (2, b"c")]).is_ok());
    }

    #[test]
    fn strings_that_split_a_character_are_refused() {
        // "é" is two bytes; the first string ends inside it, the second starts inside it.
        let e = decode_strings(&[(0, b"a\xc3"), (1, b"\xc3\xa9")]).expect_err("split character");
        assert!(e.to_string().contains("not UTF-8"), "{e}");
        // Together UTF-8 ("aéb"), but the boundary falls inside "é".
        let e = decode_strings(&[(0, b"a\xc3"), (0, b"\xa9b")]).expect_err("split character");
        assert!(e.to_string().contains("not UTF-8"), "{e}");
        let e = decode_strings(&[(0, b"a\xff")]).expect_err("not UTF-8");
        assert!(e.to_string().contains("string 0 is not UTF-8"), "{e}");
    }
}
