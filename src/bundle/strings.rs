//! The string table of a bundle, in the layout decisions read it.
//!
//! A bundle numbers its strings in the order of their hash ([`hash`], then their bytes), so
//! the loader lays them out as it decodes them, one after the other, and a string is found
//! from its hash alone: its *bucket* (the hash scaled to the number of buckets, so buckets
//! grow with the hash) names, through a small directory, the few symbols that can hold it.
//! Every slot is 24 bytes: the string's bytes when it has at most [`INLINE`] of them (its
//! place in the arena of longer strings otherwise), its length, and the profile of the
//! principal it names. A principal `type:id` is packed and hashed from its two parts, never
//! formatted into a buffer.

use super::BundleError;

/// Longest string stored in its slot.
pub const INLINE: usize = 16;
/// No profile: the string names no principal with instances.
pub const NO_PROFILE: u32 = u32::MAX;

const SEED: u64 = 0x243f_6a88_85a3_08d3;
const K1: u64 = 0x9e37_79b9_7f4a_7c15;
const K2: u64 = 0xc2b2_ae3d_27d4_eb4f;
const K3: u64 = 0x1656_67b1_9e37_79f9;

#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline]
fn le64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

#[inline]
fn le32(b: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&b[..4]);
    u32::from_le_bytes(w)
}

/// The first (at most) 16 bytes of `b`, zero padded, as a little-endian number, read with
/// two overlapping loads rather than byte by byte.
#[inline]
pub fn pack(b: &[u8]) -> u128 {
    let b = &b[..b.len().min(INLINE)];
    let n = b.len();
    if n >= 8 {
        // The last 8 bytes, shifted down past the ones the first word already holds.
        let hi = le64(&b[n - 8..])
            .checked_shr(8 * (INLINE - n) as u32)
            .unwrap_or(0);
        u128::from(le64(b)) | (u128::from(hi) << 64)
    } else if n >= 4 {
        u128::from(u64::from(le32(b)) | (u64::from(le32(&b[n - 4..])) << (8 * (n - 4))))
    } else if n > 0 {
        u128::from(
            u32::from(b[0])
                | (u32::from(b[n / 2]) << (8 * (n / 2)))
                | (u32::from(b[n - 1]) << (8 * (n - 1))),
        )
    } else {
        0
    }
}

/// Whether two byte strings are equal: strings of at most [`INLINE`] bytes compare as two
/// words, without a call to `memcmp`.
#[inline]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() {
        return false;
    }
    // Two overlapping loads cover a short string.
    if (8..=INLINE).contains(&n) {
        le64(a) == le64(b) && le64(&a[n - 8..]) == le64(&b[n - 8..])
    } else if (4..8).contains(&n) {
        le32(a) == le32(b) && le32(&a[n - 4..]) == le32(&b[n - 4..])
    } else if n < 4 {
        a.iter().zip(b).all(|(x, y)| x == y)
    } else {
        a == b
    }
}

/// Whether `b` holds the byte `x` (not zero), word-wise for short strings.
#[inline]
pub fn has_byte(b: &[u8], x: u8) -> bool {
    const LO: u128 = u128::from_le_bytes([0x01; 16]);
    const HI: u128 = u128::from_le_bytes([0x80; 16]);
    if b.len() <= INLINE {
        // Bytes equal to `x` become zero (the padding becomes `x`, which is not zero).
        let v = pack(b) ^ u128::from_le_bytes([x; 16]);
        v.wrapping_sub(LO) & !v & HI != 0
    } else {
        b.contains(&x)
    }
}

#[inline]
fn shl(v: u128, bytes: usize) -> u128 {
    v.checked_shl(8 * bytes as u32).unwrap_or(0)
}

#[inline]
fn start(len: usize) -> u64 {
    SEED ^ (len as u64).wrapping_mul(K1)
}

#[inline]
fn block(h: u64, b: u128) -> u64 {
    fold(h ^ (b as u64), ((b >> 64) as u64) ^ K2)
}

#[inline]
fn finish(h: u64) -> u64 {
    fold(h ^ K1, K3)
}

/// The hash of a string of `len <= INLINE` bytes packed by [`pack`].
#[inline]
pub fn hash_packed(text: u128, len: usize) -> u64 {
    finish(block(start(len), text))
}

/// The bundle's string hash: the bytes in blocks of 16 (the last one zero padded, one block
/// for the empty string), each block folded into the state by a 64x64 -> 128-bit multiply.
/// It is part of the format: it orders the string table.
pub fn hash(b: &[u8]) -> u64 {
    if b.len() <= INLINE {
        return hash_packed(pack(b), b.len());
    }
    let mut h = start(b.len());
    for chunk in b.chunks(INLINE) {
        h = block(h, pack(chunk));
    }
    finish(h)
}

/// The hash of `type:id`, from its parts.
fn hash_ref(ty: &[u8], id: &[u8]) -> u64 {
    let len = ty.len() + 1 + id.len();
    if len <= 256 {
        let mut buf = [0u8; 256];
        buf[..ty.len()].copy_from_slice(ty);
        buf[ty.len()] = b':';
        buf[ty.len() + 1..len].copy_from_slice(id);
        return hash(&buf[..len]);
    }
    let mut h = start(len);
    let mut blk = [0u8; INLINE];
    let mut k = 0;
    for &x in ty.iter().chain(b":").chain(id) {
        blk[k] = x;
        k += 1;
        if k == INLINE {
            h = block(h, u128::from_le_bytes(blk));
            blk = [0; INLINE];
            k = 0;
        }
    }
    if k > 0 {
        h = block(h, u128::from_le_bytes(blk));
    }
    finish(h)
}

/// The bucket of hash `h` among `buckets`: monotonic in `h`.
#[inline]
pub fn bucket(h: u64, buckets: usize) -> usize {
    ((u128::from(h) * buckets as u128) >> 64) as usize
}

/// How many buckets a table of `n` strings has (about four strings a bucket, so that the
/// directory is small enough to stay in cache).
pub fn buckets_for(n: usize) -> usize {
    n.div_ceil(4).max(1)
}

/// One string of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// The bytes, zero padded, when `len <= INLINE`; otherwise the arena offset, as a
    /// little-endian `u64` in the first 8 bytes.
    text: [u8; INLINE],
    len: u32,
    /// The profile of the principal this string names, or [`NO_PROFILE`].
    pub profile: u32,
}

/// A chain principal found in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub sym: u32,
    pub profile: u32,
}

/// Where a principal's slots are, computed before they are read (see [`Strings::locate`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Probe {
    text: u128,
    len: usize,
    from: u32,
    to: u32,
}

/// Every string of a bundle, by symbol, with the directory that finds them by hash.
#[derive(Debug, Clone, Default)]
pub struct Strings {
    slots: Vec<Slot>,
    /// Strings longer than [`INLINE`], back to back.
    arena: Vec<u8>,
    /// `dir[b]..dir[b + 1]` are the symbols of bucket `b`; `buckets + 1` entries.
    dir: Vec<u32>,
    buckets: usize,
}

/// Builds a [`Strings`] from the bucket sizes and the strings in table order, as the build
/// step wrote them: nothing is hashed at load.
pub struct StringsBuilder {
    s: Strings,
}

impl StringsBuilder {
    /// A table of `n` strings whose buckets (there must be [`buckets_for`]`(n)`) hold `counts`.
    pub fn new(
        n: usize,
        counts: impl IntoIterator<Item = u64>,
    ) -> Result<StringsBuilder, &'static str> {
        let buckets = buckets_for(n);
        let mut dir = Vec::with_capacity(buckets + 1);
        let mut at: u64 = 0;
        dir.push(0);
        for c in counts {
            at = at.saturating_add(c);
            if at > n as u64 {
                return Err("the buckets hold more strings than the table");
            }
            dir.push(at as u32);
        }
        if dir.len() != buckets + 1 {
            return Err("wrong number of buckets");
        }
        if at != n as u64 {
            return Err("the buckets hold fewer strings than the table");
        }
        Ok(StringsBuilder {
            s: Strings {
                slots: Vec::with_capacity(n),
                arena: Vec::new(),
                dir,
                buckets,
            },
        })
    }

    /// Appends the string `pre` + `rest` (both UTF-8), naming `profile`.
    #[inline]
    pub fn push(&mut self, pre: &[u8], rest: &[u8], profile: u32) -> Result<(), &'static str> {
        let len = pre.len() + rest.len();
        let text = if len <= INLINE {
            (pack(pre) | shl(pack(rest), pre.len())).to_le_bytes()
        } else {
            let at = self.s.arena.len();
            self.s.arena.extend_from_slice(pre);
            self.s.arena.extend_from_slice(rest);
            let mut text = [0u8; INLINE];
            text[..8].copy_from_slice(&(at as u64).to_le_bytes());
            text
        };
        let len = u32::try_from(len).map_err(|_| "string too long")?;
        self.s.slots.push(Slot { text, len, profile });
        Ok(())
    }

    /// The table, once every string was pushed.
    pub fn finish(self) -> Result<Strings, &'static str> {
        if self.s.dir.last().copied() != Some(self.s.slots.len() as u32) {
            return Err("the table holds another number of strings than its buckets");
        }
        Ok(self.s)
    }
}

/// The sizes of the buckets of strings with hashes `hashes` (in table order).
pub fn bucket_counts(hashes: &[u64]) -> Vec<u64> {
    let buckets = buckets_for(hashes.len());
    let mut counts = vec![0u64; buckets];
    for &h in hashes {
        counts[bucket(h, buckets)] += 1;
    }
    counts
}

impl Strings {
    /// Builds a table from strings with their profiles, in any order (for tests and tools):
    /// returns the table and, for each input, its symbol.
    pub fn from_unordered(items: &[(&str, u32)]) -> Result<(Strings, Vec<u32>), BundleError> {
        let err = |m: &str| BundleError::Malformed {
            section: "strings",
            offset: 0,
            message: m.to_string(),
        };
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (items[a].0, items[b].0);
            (hash(x.as_bytes()), x).cmp(&(hash(y.as_bytes()), y))
        });
        let hashes: Vec<u64> = order.iter().map(|&i| hash(items[i].0.as_bytes())).collect();
        let mut b = StringsBuilder::new(items.len(), bucket_counts(&hashes)).map_err(err)?;
        let mut syms = vec![0u32; items.len()];
        for (k, &i) in order.iter().enumerate() {
            b.push(b"", items[i].0.as_bytes(), items[i].1)
                .map_err(err)?;
            syms[i] = k as u32;
        }
        Ok((b.finish().map_err(err)?, syms))
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The bytes of string `i` (empty when out of range).
    #[inline]
    pub fn bytes(&self, i: usize) -> &[u8] {
        let Some(s) = self.slots.get(i) else {
            return &[];
        };
        let len = s.len as usize;
        if len <= INLINE {
            &s.text[..len]
        } else {
            let at = le64(&s.text) as usize;
            self.arena.get(at..at + len).unwrap_or_default()
        }
    }

    /// String `i` (empty when out of range); its bytes were checked to be UTF-8 on load.
    pub fn get(&self, i: usize) -> &str {
        std::str::from_utf8(self.bytes(i)).unwrap_or_default()
    }

    /// The profile of the principal string `i` names, or [`NO_PROFILE`].
    pub fn profile(&self, i: usize) -> u32 {
        self.slots.get(i).map_or(NO_PROFILE, |s| s.profile)
    }

    #[inline]
    fn range(&self, h: u64) -> (u32, u32) {
        let b = bucket(h, self.buckets);
        match (self.dir.get(b), self.dir.get(b + 1)) {
            (Some(&from), Some(&to)) => (from, to),
            _ => (0, 0),
        }
    }

    /// The symbol of a string, if the table holds it.
    pub fn find(&self, v: &[u8]) -> Option<u32> {
        let (from, to) = self.range(hash(v));
        (from..to).find(|&k| self.bytes(k as usize) == v)
    }

    /// Where `type:id` would be: its hash, bucket and the directory's range, read now so that
    /// the slots of several principals can be fetched from memory together.
    #[inline]
    pub fn locate(&self, ty: &str, id: &str) -> Probe {
        let (ty, id) = (ty.as_bytes(), id.as_bytes());
        let len = ty.len() + 1 + id.len();
        let (text, h) = if len <= INLINE {
            let t = pack(ty) | shl(u128::from(b':'), ty.len()) | shl(pack(id), ty.len() + 1);
            (t, hash_packed(t, len))
        } else {
            (0, hash_ref(ty, id))
        };
        let (from, to) = self.range(h);
        Probe {
            text,
            len,
            from,
            to,
        }
    }

    /// [`Strings::locate`] for a chain principal, or `None` when the principal is malformed
    /// (an empty type or id, or a type holding `:`); a short type is packed once for both.
    #[inline]
    pub fn locate_principal(&self, ty: &str, id: &str) -> Option<Probe> {
        const LO: u128 = u128::from_le_bytes([0x01; 16]);
        const HI: u128 = u128::from_le_bytes([0x80; 16]);
        const COLONS: u128 = u128::from_le_bytes([b':'; 16]);
        let (tyb, idb) = (ty.as_bytes(), id.as_bytes());
        if tyb.is_empty() || idb.is_empty() {
            return None;
        }
        let len = tyb.len() + 1 + idb.len();
        if len > INLINE {
            return (!has_byte(tyb, b':')).then(|| self.locate(ty, id));
        }
        let pt = pack(tyb);
        // Bytes of the type equal to `:` become zero; the padding becomes `:`, not zero.
        let v = pt ^ COLONS;
        if v.wrapping_sub(LO) & !v & HI != 0 {
            return None;
        }
        let text = pt | shl(u128::from(b':'), tyb.len()) | shl(pack(idb), tyb.len() + 1);
        let (from, to) = self.range(hash_packed(text, len));
        Some(Probe {
            text,
            len,
            from,
            to,
        })
    }

    /// The principal `type:id` located by `p`.
    #[inline]
    pub fn find_ref(&self, p: &Probe, ty: &str, id: &str) -> Option<Found> {
        let slots = self.slots.get(p.from as usize..p.to as usize)?;
        if p.len <= INLINE {
            let text = p.text.to_le_bytes();
            for (k, s) in slots.iter().enumerate() {
                if s.text == text && s.len as usize == p.len {
                    return Some(Found {
                        sym: p.from + k as u32,
                        profile: s.profile,
                    });
                }
            }
            return None;
        }
        let (ty, id) = (ty.as_bytes(), id.as_bytes());
        for (k, s) in slots.iter().enumerate() {
            if s.len as usize != p.len {
                continue;
            }
            let b = self.bytes(p.from as usize + k);
            if b.len() == p.len
                && &b[..ty.len()] == ty
                && b[ty.len()] == b':'
                && &b[ty.len() + 1..] == id
            {
                return Some(Found {
                    sym: p.from + k as u32,
                    profile: s.profile,
                });
            }
        }
        None
    }

    /// Every principal with its profile, by symbol.
    pub fn principals(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.profile != NO_PROFILE)
            .map(|(k, s)| (k as u32, s.profile))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_reads_every_length() {
        let text = b"abcdefghijklmnopq";
        for n in 0..=16 {
            let mut want = [0u8; 16];
            want[..n].copy_from_slice(&text[..n]);
            assert_eq!(pack(&text[..n]), u128::from_le_bytes(want), "length {n}");
        }
    }

    #[test]
    fn short_strings_compare_and_search_word_wise() {
        let words = [
            "",
            "a",
            "ab",
            "a:b",
            "user",
            "agent:a1",
            "0123456789abcdef",
            "0123456789abcdefg",
        ];
        for a in words {
            for b in words {
                assert_eq!(same(a.as_bytes(), b.as_bytes()), a == b, "{a:?} {b:?}");
            }
            assert_eq!(has_byte(a.as_bytes(), b':'), a.contains(':'), "{a:?}");
        }
        assert!(!same(b"a", b"a\0"));
        assert!(has_byte(b"abcdefghijklmno:", b':'));
    }

    #[test]
    fn a_ref_hashes_as_its_text() {
        for (ty, id) in [
            ("user", "u1"),
            ("agent", "a-rather-long-name-17"),
            ("t", &"x".repeat(300)[..]),
            ("user", "é"),
        ] {
            let whole = format!("{ty}:{id}");
            assert_eq!(
                hash_ref(ty.as_bytes(), id.as_bytes()),
                hash(whole.as_bytes())
            );
        }
    }

    #[test]
    fn every_string_is_found_and_no_other() {
        let mut items: Vec<String> = (0..3000)
            .flat_map(|i| {
                [
                    format!("user:u{i}"),
                    format!("agent:a-rather-long-name-{i}"),
                ]
            })
            .chain([
                "".into(),
                "a".into(),
                "a\0".into(),
                "x".repeat(16),
                "x".repeat(17),
            ])
            .collect();
        items.sort();
        let with: Vec<(&str, u32)> = items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                (
                    s.as_str(),
                    if s.starts_with("user:") {
                        i as u32 % 7
                    } else {
                        NO_PROFILE
                    },
                )
            })
            .collect();
        let (t, syms) = Strings::from_unordered(&with).expect("distinct strings");
        assert_eq!(t.len(), items.len());
        for (i, s) in items.iter().enumerate() {
            assert_eq!(t.get(syms[i] as usize), s);
            assert_eq!(t.find(s.as_bytes()), Some(syms[i]), "`{s:?}`");
            if let Some((ty, id)) = s.split_once(':') {
                let p = t.locate(ty, id);
                let f = t.find_ref(&p, ty, id).map(|f| (f.sym, f.profile));
                assert_eq!(f, Some((syms[i], with[i].1)), "`{s}`");
            }
        }
        for absent in [
            "user:u3000",
            "b",
            "a\0\0",
            "x",
            &"x".repeat(18),
            "agent:a-rather-long-name-",
        ] {
            assert_eq!(t.find(absent.as_bytes()), None, "`{absent:?}`");
        }
        let p = t.locate("agent", "a-rather-long-name-3000");
        assert_eq!(t.find_ref(&p, "agent", "a-rather-long-name-3000"), None);
        let p = t.locate("user", "u3000");
        assert_eq!(t.find_ref(&p, "user", "u3000"), None);
        // Principals located with their form checked: found alike, malformed ones refused.
        for (ty, id) in [("user", "u17"), ("agent", "a-rather-long-name-12")] {
            let p = t.locate_principal(ty, id).expect("well-formed principal");
            assert_eq!(
                t.find_ref(&p, ty, id),
                t.find_ref(&t.locate(ty, id), ty, id)
            );
            assert!(t.find_ref(&p, ty, id).is_some(), "`{ty}:{id}`");
        }
        for (ty, id) in [
            ("", "u1"),
            ("user", ""),
            ("us:er", "u1"),
            (":", "x"),
            ("user:", "u1"),
            ("a-very-long:type-name", "u1"),
            ("a-very-long-type-name:", "an-even-longer-identifier"),
        ] {
            assert!(t.locate_principal(ty, id).is_none(), "`{ty}` `{id}`");
        }
        for (ty, id) in [("u", ":"), ("a-very-long-type-name", "x:y"), ("t", "i")] {
            assert!(t.locate_principal(ty, id).is_some(), "`{ty}` `{id}`");
        }
        assert_eq!(t.principals().count(), 3000);
    }

    #[test]
    fn bucket_sizes_must_add_up() {
        assert!(StringsBuilder::new(4, [4]).is_ok());
        assert!(StringsBuilder::new(4, [3]).is_err(), "too few");
        assert!(StringsBuilder::new(4, [5]).is_err(), "too many");
        assert!(StringsBuilder::new(4, [2, 2]).is_err(), "a bucket too many");
        assert!(StringsBuilder::new(4, [u64::MAX, 5]).is_err(), "overflow");
        let mut b = StringsBuilder::new(2, [2]).expect("valid buckets");
        assert!(b.push(b"", b"a", NO_PROFILE).is_ok());
        assert!(b.finish().is_err(), "one string short");
    }
}
