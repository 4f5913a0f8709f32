//! Decoding a bundle body into [`Contents`]: every index is checked against what it indexes,
//! every count against the bytes left, so that no input makes the loader panic or allocate
//! far beyond the input's size.

use super::format::{tag, Reader};
pub use super::strings::Strings;
use super::strings::{pack, shl, StringsBuilder, NO_PROFILE, SHORT};
use super::{BundleError, Manifest};
use crate::ir::{
    ActionPat, Attr, AttrRoot, CmpOp, ColumnInfo, Cond, CondTerm, Effect, Policy, PrincipalMatch,
    RelId, RelKind, Relation, Sym, Type,
};
use crate::source::{FileId, Span};

/// Conditions nest at most this deep in a bundle.
pub const MAX_COND_DEPTH: usize = 200;

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

    #[inline]
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
    /// How many strings name a principal (their profiles are in `strings`).
    pub principal_count: usize,
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

    /// Every principal with its profile, by symbol.
    pub fn principals(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.strings.principals()
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
    let (strings, max_profile, principal_count) = strings(&mut s)?;
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

    if let Some(p) = max_profile {
        if p as usize >= profiles.len() {
            return Err(BundleError::Malformed {
                section: "strings",
                offset: 0,
                message: format!("profile {p} out of range (< {})", profiles.len()),
            });
        }
    }

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
        principal_count,
        order,
        manifest,
        section_sizes: sizes,
    })
}

/// Bytes a string's fast reading looks at: three one-byte varints, at most [`SHORT`] bytes of
/// text and a one-byte profile.
const FAST_STRING: usize = 4 + SHORT;
/// The high bit of every byte of a packed string: none is set in ASCII text.
const ASCII_HIGH: u128 = u128::from_le_bytes([0x80; 16]);

/// The strings section: the prefixes, then every string (its gap, its prefix, the rest, the
/// profile of the principal it names) in table order. Returns the table, the largest profile
/// named and how many strings name one.
fn strings(s: &mut Reader<'_>) -> Result<(Strings, Option<u32>, usize), BundleError> {
    let np = s.count(1)?;
    let mut prefixes = Vec::with_capacity(np);
    for _ in 0..np {
        prefixes.push(s.str()?);
    }
    let n = s.count(4)?;
    let mut b = StringsBuilder::new(n);
    let mut max_profile = None;
    let mut principals = 0;
    // The profile a string's varint names (0: none, v: profile v - 1), counted; `None` when
    // out of range.
    let mut profile_of = |v: u64| match v {
        0 => Some(NO_PROFILE),
        v => {
            let p = u32::try_from(v - 1).ok().filter(|&p| p != NO_PROFILE)?;
            max_profile = max_profile.max(Some(p));
            principals += 1;
            Some(p)
        }
    };
    // Each prefix packed, with its length (index 0: no prefix).
    let packed: Vec<(u128, usize)> = std::iter::once((0, 0))
        .chain(prefixes.iter().map(|p| (pack(p.as_bytes()), p.len())))
        .collect();
    for _ in 0..n {
        // Most strings are short ASCII with one-byte varints (gap, prefix, length, profile):
        // read from the next bytes at once. Any other string, and any string near the end of
        // the section, takes the general reading below.
        if let Some(w) = s.peek(FAST_STRING) {
            let (gap, p, len) = (w[0], usize::from(w[1]), usize::from(w[2]));
            if let Some(&(pre, pre_len)) = packed
                .get(p)
                .filter(|_| gap < 0x80 && w[1] < 0x80 && len <= SHORT)
            {
                let text = pack(&w[3..3 + len]);
                let v = u64::from(w[3 + len]);
                if pre_len + len <= SHORT && v < 0x80 && text & ASCII_HIGH == 0 {
                    let profile = profile_of(v)
                        .ok_or_else(|| s.error(format!("profile {v} out of range")))?;
                    b.push_short(
                        u64::from(gap),
                        pre | shl(text, pre_len),
                        pre_len + len,
                        profile,
                    )
                    .map_err(|m| s.error(m))?;
                    s.skip(4 + len);
                    continue;
                }
            }
        }
        let gap = s.var()?;
        let p = s.index(np + 1, "prefix")?;
        let pre = match p {
            0 => &[][..],
            p => prefixes[p - 1].as_bytes(),
        };
        // A UTF-8 prefix followed by a UTF-8 rest is UTF-8. (Most strings are ASCII: checked
        // first, it spares them the slower UTF-8 validation of `Reader::str`.)
        let rest = s.bytes()?;
        if !rest.is_ascii() {
            std::str::from_utf8(rest).map_err(|_| s.error("string is not UTF-8"))?;
        }
        let v = s.var()?;
        let profile = profile_of(v).ok_or_else(|| s.error(format!("profile {v} out of range")))?;
        b.push(gap, pre, rest, profile).map_err(|m| s.error(m))?;
    }
    let table = b.finish().map_err(|m| s.error(m))?;
    let prefixes = prefixes.into_iter().map(Box::from).collect();
    Ok((table.with_prefixes(prefixes), max_profile, principals))
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
    use crate::bundle::strings::{gaps, hash};

    /// A strings section of `(prefix, rest, profile + 1)` items, decoded.
    fn decode_strings(
        prefixes: &[&str],
        items: &[(usize, &[u8], u64)],
    ) -> Result<(Strings, Option<u32>, usize), BundleError> {
        let mut w = Writer::new();
        w.usize(prefixes.len());
        for p in prefixes {
            w.str(p);
        }
        w.usize(items.len());
        let gaps = gaps(
            &items
                .iter()
                .map(|(p, rest, _)| {
                    let mut whole = prefixes
                        .get(p.wrapping_sub(1))
                        .map_or(Vec::new(), |x| x.as_bytes().to_vec());
                    whole.extend_from_slice(rest);
                    hash(&whole)
                })
                .collect::<Vec<_>>(),
        );
        for ((prefix, rest, profile), gap) in items.iter().zip(gaps) {
            w.var(gap);
            w.usize(*prefix);
            w.bytes(rest);
            w.var(*profile);
        }
        strings(&mut Reader::new(&w.buf, "strings"))
    }

    /// `a` and `b` in table order.
    fn ordered<'s>(a: &'s str, b: &'s str) -> (&'s str, &'s str) {
        if (hash(a.as_bytes()), a) < (hash(b.as_bytes()), b) {
            (a, b)
        } else {
            (b, a)
        }
    }

    #[test]
    fn prefixed_strings_decode() {
        let (x, y) = ordered("agent:a1", "user:u\u{e9}");
        let item = |s: &'static str, profile| {
            let (pre, rest) = s.split_at(s.find(':').map_or(0, |i| i + 1));
            let p = ["agent:", "user:"]
                .iter()
                .position(|&q| q == pre)
                .map_or(0, |i| i + 1);
            (p, rest.as_bytes(), profile)
        };
        let (t, max, n) =
            decode_strings(&["agent:", "user:"], &[item(x, 0), item(y, 3)]).expect("valid strings");
        assert_eq!((t.get(0), t.get(1)), (x, y));
        assert_eq!((t.profile(0), t.profile(1)), (NO_PROFILE, 2));
        assert_eq!((max, n), (Some(2), 1));
    }

    #[test]
    fn strings_of_every_form_decode_alike() {
        // Short ASCII strings take the fast reading; the others (not ASCII, longer than a
        // key, with varints of two bytes, near the section's end) the general one.
        let prefixes = ["agent:", "user:", "a-prefix-of-seventeen:"];
        let mut wholes: Vec<(String, u64)> = Vec::new();
        for i in 0..300u64 {
            let (s, profile) = match i % 6 {
                0 => (format!("user:u{i}"), i % 200),
                1 => (format!("agent:a{i}-0123"), 0),
                2 => (format!("user:\u{e9}{i}"), 1),
                3 => (format!("x{i}").repeat(1 + (i as usize % 9)), 0),
                4 => (format!("a-prefix-of-seventeen:{i}"), 130 + i),
                _ => (format!("{i}"), 127),
            };
            wholes.push((s, profile));
        }
        wholes.sort_by(|a, b| (hash(a.0.as_bytes()), &a.0).cmp(&(hash(b.0.as_bytes()), &b.0)));
        let items: Vec<(usize, Vec<u8>, u64)> = wholes
            .iter()
            .map(|(s, profile)| {
                let p = prefixes.iter().position(|q| s.starts_with(q));
                let rest = p.map_or(s.as_bytes(), |k| &s.as_bytes()[prefixes[k].len()..]);
                (p.map_or(0, |k| k + 1), rest.to_vec(), *profile)
            })
            .collect();
        let refs: Vec<(usize, &[u8], u64)> =
            items.iter().map(|(p, r, v)| (*p, &r[..], *v)).collect();
        let (t, max, n) = decode_strings(&prefixes, &refs).expect("valid strings");
        assert_eq!(t.len(), wholes.len());
        for (k, (s, profile)) in wholes.iter().enumerate() {
            assert_eq!(t.get(k), s);
            assert_eq!(t.find(s.as_bytes()), Some(k as u32), "`{s}`");
            let want = profile.checked_sub(1).map_or(NO_PROFILE, |p| p as u32);
            assert_eq!(t.profile(k), want, "`{s}`");
        }
        let named = wholes.iter().filter(|(_, p)| *p > 0);
        assert_eq!(n, named.clone().count());
        assert_eq!(max, named.map(|(_, p)| (*p - 1) as u32).max());
    }

    #[test]
    fn bad_strings_are_refused() {
        let e = decode_strings(&[], &[(1, b"a", 0)]).expect_err("no such prefix");
        assert!(e.to_string().contains("prefix 1 out of range"), "{e}");
        let e = decode_strings(&[], &[(0, b"a", 1 << 33)]).expect_err("profile too large");
        assert!(e.to_string().contains("out of range"), "{e}");
        // A string beyond the table's slots (1 home slot and 1 after it).
        let mut w = Writer::new();
        w.usize(0);
        w.usize(1);
        w.var(2);
        w.usize(0);
        w.bytes(b"a");
        w.var(0);
        let e = strings(&mut Reader::new(&w.buf, "strings")).expect_err("refused");
        assert!(e.to_string().contains("string slot out of range"), "{e}");
    }

    #[test]
    fn strings_that_are_not_utf8_are_refused() {
        let e = decode_strings(&[], &[(0, b"a\xff", 0)]).expect_err("not UTF-8");
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }

    /// A body of one string naming profile `profile` (+ 1 when given) and `profiles` empty
    /// profiles, every other section empty.
    fn body(profile: Option<u64>, profiles: usize) -> Vec<u8> {
        let mut out = Writer::new();
        let mut w = Writer::new();
        w.str("sha256:0");
        w.usize(0);
        w.usize(0);
        out.section(tag::META, &w);
        let mut w = Writer::new();
        w.usize(0);
        w.usize(1);
        w.var(0);
        w.usize(0);
        w.str("user:u1");
        w.var(profile.map_or(0, |p| p + 1));
        out.section(tag::STRINGS, &w);
        for t in [
            tag::INTS,
            tag::SOURCES,
            tag::RELATIONS,
            tag::POLICIES,
            tag::ROWS,
        ] {
            let mut w = Writer::new();
            w.usize(0);
            out.section(t, &w);
        }
        let mut w = Writer::new();
        w.usize(profiles);
        for _ in 0..profiles {
            w.usize(0);
        }
        out.section(tag::PROFILES, &w);
        let mut w = Writer::new();
        w.usize(0);
        out.section(tag::ORDER, &w);
        let mut w = Writer::new();
        w.usize(0);
        w.usize(0);
        w.usize(0);
        out.section(tag::MANIFEST, &w);
        out.buf
    }

    #[test]
    fn a_principal_must_name_a_profile_of_the_bundle() {
        let c = decode(&body(Some(0), 1)).expect("a valid body");
        assert_eq!(c.principals().collect::<Vec<_>>(), vec![(0, 0)]);
        assert_eq!((c.principal_count, c.strings.get(0)), (1, "user:u1"));
        let e = decode(&body(Some(1), 1)).expect_err("profile 1 of 1");
        assert!(
            e.to_string().contains("profile 1 out of range (< 1)"),
            "{e}"
        );
        assert!(decode(&body(None, 0)).is_ok());
    }
}
