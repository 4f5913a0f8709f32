//! The string table of a bundle, in the layout decisions read it.
//!
//! A bundle numbers its strings in the order of their hash ([`hash`], then their bytes) and
//! gives each its slot in an open-addressing table: its *home* slot (the hash scaled to the
//! number of home slots, so homes grow with the hash) or the first free slot after it. The
//! loader puts each string in the slot the bundle names, without hashing, and a string is
//! found from its hash alone by comparing the slots from its home up to the first free one.
//! Every slot is 24 bytes: the string's key (its bytes and length when it has at most
//! [`SHORT`] bytes; its place in the arena of longer strings otherwise), its symbol, and the
//! profile of the principal it names, so one read finds a principal and its profile. Beside
//! the slots, a byte per slot tags its key, so that a search compares only slots with its
//! key's tag and (almost always) reads one slot from memory. A principal `type:id` is packed
//! and hashed from its two parts, never formatted into a buffer.

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

/// Whether one of the 16 bytes of `v` is zero.
#[inline]
fn has_zero_byte(v: u128) -> bool {
    const LO: u128 = u128::from_le_bytes([0x01; 16]);
    const HI: u128 = u128::from_le_bytes([0x80; 16]);
    v.wrapping_sub(LO) & !v & HI != 0
}

/// The key of a short string: its bytes packed, and its length plus one in the top byte.
#[inline]
fn short_key(text: u128, len: usize) -> u128 {
    text | (((len + 1) as u128) << 120)
}

/// Whether `b` holds the byte `x` (not zero), word-wise for short strings.
#[inline]
pub fn has_byte(b: &[u8], x: u8) -> bool {
    if b.len() <= INLINE {
        // Bytes equal to `x` become zero (the padding becomes `x`, which is not zero).
        has_zero_byte(pack(b) ^ u128::from_le_bytes([x; 16]))
    } else {
        b.contains(&x)
    }
}

#[inline]
pub(super) fn shl(v: u128, bytes: usize) -> u128 {
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

/// The home slot of hash `h` in a table of `slots` slots: monotonic in `h`.
#[inline]
pub fn home(h: u64, slots: usize) -> usize {
    ((u128::from(h) * slots as u128) >> 64) as usize
}

/// How many home slots a table of `n` strings has (a quarter more, so that a string is
/// found within three slots on average while the table stays small enough to write fast).
pub fn slots_for(n: usize) -> usize {
    n + n / 4
}

/// The slots of strings with hashes `hashes` (in table order, so ascending): each string in
/// its home slot or, when an earlier string holds that, the first free slot after it. Returns
/// each string's gap (its slot minus the slot after the previous string's), as the strings
/// section writes them.
pub fn gaps(hashes: &[u64]) -> Vec<u64> {
    let slots = slots_for(hashes.len());
    let mut next = 0usize;
    hashes
        .iter()
        .map(|&h| {
            let at = home(h, slots).max(next);
            let gap = at - next;
            next = at + 1;
            gap as u64
        })
        .collect()
}

/// Longest string whose bytes are its key (the 16th byte of a key is the length + 1).
pub const SHORT: usize = INLINE - 1;
/// The 16th byte of the key of a longer string (whose key holds its arena offset and length).
const LONG: u8 = 0x80;

/// A slot of the table, as three little-endian words: the key (two words), then the symbol
/// and the profile (the low and high halves of the third). The key
/// of a string of at most [`SHORT`] bytes is the bytes, zero padded, with its length + 1 in
/// byte 15; of a longer string, its arena offset (bytes 0..8), its length (8..12) and [`LONG`]
/// in byte 15. An all-zero slot is free.
type Slot = [[u8; 8]; 3];
const FREE: Slot = [[0; 8]; 3];

#[inline]
fn word(s: &Slot, k: usize) -> u64 {
    u64::from_le_bytes(s[k])
}

/// The byte of the key that holds the length + 1 or [`LONG`].
#[inline]
fn tag(s: &Slot) -> u8 {
    s[1][7]
}

/// A chain principal found in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub sym: u32,
    pub profile: u32,
}

#[inline]
fn found(s: &Slot) -> Found {
    let w = word(s, 2);
    Found {
        sym: w as u32,
        profile: (w >> 32) as u32,
    }
}

/// The tag of the key `lo`, `hi` (see [`Strings::tags`]): a byte of it, mixed, never 0. A
/// longer string's tag comes from its length alone (its `lo`, an arena offset, is left out),
/// as its probe knows no more before reading its bytes.
#[inline]
fn tag_of(lo: u64, hi: u64) -> u8 {
    let lo = if hi >> 56 == u64::from(LONG) { 0 } else { lo };
    let x = (lo ^ hi.rotate_left(23)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    ((x >> 56) as u8).max(1)
}

/// Where a principal's slot is, computed before it is read (see [`Strings::locate`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Probe {
    /// The key's two words (for a longer string: 0, and its length with [`LONG`]).
    lo: u64,
    hi: u64,
    tag: u8,
    /// Where the search starts: the home slot, or (after [`Strings::settle`]) the first slot
    /// from it whose tag is the key's or free.
    at: usize,
}

impl Probe {
    #[inline(always)]
    fn new(lo: u64, hi: u64, home: usize) -> Probe {
        Probe {
            lo,
            hi,
            tag: tag_of(lo, hi),
            at: home,
        }
    }
}

/// Every string of a bundle, by symbol, in an open-addressing table that finds them by hash.
#[derive(Debug, Clone, Default)]
pub struct Strings {
    /// The table: [`slots_for`] home slots, and the slots strings after the last ones
    /// moved to.
    slots: Vec<Slot>,
    /// For each slot, the tag of its key ([`tag_of`]; 0: free). The tags are a byte per
    /// slot, small enough to stay in the processor's caches, so a search steps over the
    /// slots of other keys by their tags and reads, from memory, (almost always) only the
    /// slot it finds.
    tags: Vec<u8>,
    homes: usize,
    /// The slot of each symbol.
    at: Vec<u32>,
    /// Strings longer than [`SHORT`], back to back.
    arena: Vec<u8>,
    /// Every `type:` that strings start with (the bundle's prefixes), when known.
    prefixes: Vec<Box<str>>,
}

/// Builds a [`Strings`] from the strings in table order with their gaps, as the build step
/// wrote them: nothing is hashed at load.
pub struct StringsBuilder {
    s: Strings,
    n: usize,
    next: usize,
}

impl StringsBuilder {
    /// A table of `n` strings.
    pub fn new(n: usize) -> StringsBuilder {
        let homes = slots_for(n);
        StringsBuilder {
            s: Strings {
                // Written front to back as the strings come, the free slots between them
                // included (most gaps are zero or one slot).
                slots: crate::mem::large_capacity(homes + homes / 64 + 1),
                tags: Vec::with_capacity(homes + homes / 64 + 1),
                homes,
                at: Vec::with_capacity(n),
                arena: Vec::new(),
                prefixes: Vec::new(),
            },
            n,
            next: 0,
        }
    }

    /// Appends the string `pre` + `rest` (both UTF-8), naming `profile`, `gap` slots after
    /// the previous one.
    #[inline]
    pub fn push(
        &mut self,
        gap: u64,
        pre: &[u8],
        rest: &[u8],
        profile: u32,
    ) -> Result<(), &'static str> {
        let len = pre.len() + rest.len();
        if len <= SHORT {
            return self.push_short(gap, pack(pre) | shl(pack(rest), pre.len()), len, profile);
        }
        let at = self.next_slot(gap)?;
        let len = u32::try_from(len).map_err(|_| "string too long")?;
        let off = self.s.arena.len() as u64;
        self.s.arena.extend_from_slice(pre);
        self.s.arena.extend_from_slice(rest);
        self.put(at, off, long_hi(len as usize), profile);
        Ok(())
    }

    /// [`StringsBuilder::push`] for a string of `len <= SHORT` UTF-8 bytes, packed
    /// ([`pack`]) in `text`.
    #[inline]
    pub fn push_short(
        &mut self,
        gap: u64,
        text: u128,
        len: usize,
        profile: u32,
    ) -> Result<(), &'static str> {
        debug_assert!(len <= SHORT);
        let at = self.next_slot(gap)?;
        let key = short_key(text, len);
        let (lo, hi) = (key as u64, (key >> 64) as u64);
        self.put(at, lo, hi, profile);
        Ok(())
    }

    /// The slot `gap` slots after the previous string's.
    #[inline(always)]
    fn next_slot(&self, gap: u64) -> Result<usize, &'static str> {
        if self.s.at.len() >= self.n {
            return Err("more strings than the table holds");
        }
        // Strings move at most one slot past the home slots per string before them.
        usize::try_from(gap)
            .ok()
            .and_then(|g| self.next.checked_add(g))
            .filter(|&a| a < self.s.homes + self.n)
            .ok_or("string slot out of range")
    }

    /// Writes the next string's key (`lo`, `hi`) at slot `at`.
    #[inline(always)]
    fn put(&mut self, at: usize, lo: u64, hi: u64, profile: u32) {
        let ids = u64::from(self.s.at.len() as u32) | (u64::from(profile) << 32);
        self.s.free_up_to(at);
        self.s
            .slots
            .push([lo.to_le_bytes(), hi.to_le_bytes(), ids.to_le_bytes()]);
        self.s.tags.push(tag_of(lo, hi));
        self.s.at.push(at as u32);
        self.next = at + 1;
    }

    /// The table, once every string was pushed.
    pub fn finish(self) -> Result<Strings, &'static str> {
        if self.s.at.len() != self.n {
            return Err("the table holds fewer strings than its count");
        }
        let mut s = self.s;
        // Every home slot exists, so that a probe starts inside the table.
        s.free_up_to(s.homes);
        Ok(s)
    }
}

impl Strings {
    /// Free slots (and their tags) up to slot `end`.
    #[inline(always)]
    fn free_up_to(&mut self, end: usize) {
        while self.slots.len() < end {
            self.slots.push(FREE);
            self.tags.push(0);
        }
    }

    /// The `type:` prefixes that strings start with, as the bundle lists them.
    pub fn prefixes(&self) -> &[Box<str>] {
        &self.prefixes
    }

    /// The table, knowing the prefixes its strings start with.
    pub fn with_prefixes(mut self, prefixes: Vec<Box<str>>) -> Strings {
        self.prefixes = prefixes;
        self
    }

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
        let mut b = StringsBuilder::new(items.len());
        let mut syms = vec![0u32; items.len()];
        for ((k, &i), gap) in order.iter().enumerate().zip(gaps(&hashes)) {
            b.push(gap, b"", items[i].0.as_bytes(), items[i].1)
                .map_err(err)?;
            syms[i] = k as u32;
        }
        Ok((b.finish().map_err(err)?, syms))
    }

    pub fn len(&self) -> usize {
        self.at.len()
    }

    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }

    #[inline]
    fn slot(&self, i: usize) -> Option<&Slot> {
        self.slots.get(*self.at.get(i)? as usize)
    }

    /// The bytes of string `i` (empty when out of range).
    #[inline]
    pub fn bytes(&self, i: usize) -> &[u8] {
        let Some(s) = self.slot(i) else {
            return &[];
        };
        if tag(s) == LONG {
            self.long_bytes(s).unwrap_or_default()
        } else {
            let len = usize::from(tag(s)).saturating_sub(1).min(SHORT);
            &s[..2].as_flattened()[..len]
        }
    }

    /// The bytes of a long string's slot, in the arena.
    #[inline]
    fn long_bytes(&self, s: &Slot) -> Option<&[u8]> {
        let at = word(s, 0) as usize;
        let len = (word(s, 1) & 0xffff_ffff) as usize;
        self.arena.get(at..at.saturating_add(len))
    }

    /// String `i` (empty when out of range); its bytes were checked to be UTF-8 on load.
    pub fn get(&self, i: usize) -> &str {
        std::str::from_utf8(self.bytes(i)).unwrap_or_default()
    }

    /// The profile of the principal string `i` names, or [`NO_PROFILE`].
    pub fn profile(&self, i: usize) -> u32 {
        self.slot(i).map_or(NO_PROFILE, |s| found(s).profile)
    }

    /// The symbol of a string, if the table holds it.
    pub fn find(&self, v: &[u8]) -> Option<u32> {
        if v.len() <= SHORT {
            return self
                .find_short(&self.short_probe(pack(v), v.len()))
                .map(|f| f.sym);
        }
        let p = Probe::new(0, long_hi(v.len()), home(hash(v), self.homes));
        self.find_long(&p, |b| b == v).map(|f| f.sym)
    }

    /// Where `type:id` would be: its key and home slot, computed without reading the table,
    /// so that the slots of several principals can be fetched from memory together.
    #[inline]
    pub fn locate(&self, ty: &str, id: &str) -> Probe {
        let (ty, id) = (ty.as_bytes(), id.as_bytes());
        let len = ty.len() + 1 + id.len();
        if len <= SHORT {
            let t = pack(ty) | shl(u128::from(b':'), ty.len()) | shl(pack(id), ty.len() + 1);
            self.short_probe(t, len)
        } else {
            Probe::new(0, long_hi(len), home(hash_ref(ty, id), self.homes))
        }
    }

    #[inline(always)]
    fn short_probe(&self, text: u128, len: usize) -> Probe {
        let key = short_key(text, len);
        Probe::new(
            key as u64,
            (key >> 64) as u64,
            home(hash_packed(text, len), self.homes),
        )
    }

    /// [`Strings::locate`] for a chain principal, or `None` when the principal is malformed
    /// (an empty type or id, or a type holding `:`); a short type is packed once for both.
    #[inline(always)]
    pub fn locate_principal(&self, ty: &str, id: &str) -> Option<Probe> {
        const COLONS: u128 = u128::from_le_bytes([b':'; 16]);
        let (tyb, idb) = (ty.as_bytes(), id.as_bytes());
        if tyb.is_empty() || idb.is_empty() {
            return None;
        }
        let len = tyb.len() + 1 + idb.len();
        if len > SHORT {
            return (!has_byte(tyb, b':')).then(|| self.locate(ty, id));
        }
        let pt = pack(tyb);
        // Bytes of the type equal to `:` become zero; the padding becomes `:`, not zero.
        if has_zero_byte(pt ^ COLONS) {
            return None;
        }
        // `len <= SHORT` and the id is not empty, so both shifts are below 128 bits.
        let text =
            pt | (u128::from(b':') << (8 * tyb.len())) | (pack(idb) << (8 * (tyb.len() + 1)));
        Some(self.short_probe(text, len))
    }

    /// [`Strings::locate_principal`] for a principal whose type is known to be well formed:
    /// `prefix` is `type:` packed, `prefix_len` its length. `None` when the id is empty or the
    /// ref is longer than [`SHORT`] bytes (the caller then takes `locate_principal`).
    #[inline(always)]
    pub fn locate_after(&self, prefix: u128, prefix_len: usize, id: &str) -> Option<Probe> {
        let idb = id.as_bytes();
        let len = prefix_len + idb.len();
        if idb.is_empty() || len > SHORT {
            return None;
        }
        // `len <= SHORT`, so the id's bytes end below the key's top byte.
        Some(self.short_probe(prefix | (pack(idb) << (8 * prefix_len)), len))
    }

    /// The first slot from `i` whose tag is `tag` or free (`None` past the table's end).
    #[inline(always)]
    fn next_candidate(&self, mut i: usize, tag: u8) -> Option<usize> {
        loop {
            let t = *self.tags.get(i)?;
            if t == tag || t == 0 {
                return Some(i);
            }
            i += 1;
        }
    }

    /// The string of `p` from slot `p.at` on: the slots whose tag is the key's are compared
    /// by `same_key`, up to the first free slot.
    #[inline(always)]
    fn search(&self, p: &Probe, same_key: impl Fn(&Slot) -> bool) -> Option<Found> {
        let mut i = p.at;
        loop {
            i = self.next_candidate(i, p.tag)?;
            let s = self.slots.get(i)?;
            let hi = word(s, 1);
            if hi == 0 {
                return None;
            }
            if hi == p.hi && same_key(s) {
                return Some(found(s));
            }
            i += 1;
        }
    }

    /// A short string: its key compared as two words.
    #[inline(always)]
    fn find_short(&self, p: &Probe) -> Option<Found> {
        self.search(p, |s| word(s, 0) == p.lo)
    }

    /// A longer string: slots of its length compared by their bytes.
    fn find_long(&self, p: &Probe, same: impl Fn(&[u8]) -> bool) -> Option<Found> {
        self.search(p, |s| self.long_bytes(s).is_some_and(&same))
    }

    /// Moves `p` to the first slot, from its home, that may hold its key (by the tags, which
    /// are mostly cached) and starts fetching that slot, so that the memory
    /// [`Strings::find_ref`] reads arrives while other work goes on.
    #[inline]
    pub fn settle(&self, p: &mut Probe) {
        // The home slot and the two after it (at most two cache lines) are fetched before the
        // tags are read, so that a read of the tags that misses the caches does not delay
        // them; most strings are in one of those slots.
        let home = p.at;
        if let Some(s) = self.slots.get(home) {
            crate::mem::prefetch(&s[0]);
        }
        if let Some(s) = self.slots.get(home + 2) {
            crate::mem::prefetch(&s[2]);
        }
        let Some(i) = self.next_candidate(home, p.tag) else {
            return;
        };
        p.at = i;
        if i > home + 2 {
            if let Some(s) = self.slots.get(i) {
                // Both ends: a 24-byte slot may straddle two cache lines.
                crate::mem::prefetch(&s[0]);
                crate::mem::prefetch(&s[2]);
            }
        }
    }

    /// The principal `type:id` located by `p`.
    #[inline(always)]
    pub fn find_ref(&self, p: &Probe, ty: &str, id: &str) -> Option<Found> {
        if p.hi >> 56 != u64::from(LONG) {
            return self.find_short(p);
        }
        let (ty, id) = (ty.as_bytes(), id.as_bytes());
        self.find_long(p, |b| {
            b.len() == ty.len() + 1 + id.len()
                && &b[..ty.len()] == ty
                && b[ty.len()] == b':'
                && &b[ty.len() + 1..] == id
        })
    }

    /// Every principal with its profile, by symbol.
    pub fn principals(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        (0..self.len())
            .map(|k| (k as u32, self.profile(k)))
            .filter(|&(_, p)| p != NO_PROFILE)
    }
}

/// The high word of a longer string's key.
#[inline]
fn long_hi(len: usize) -> u64 {
    (len as u64 & 0xffff_ffff) | (u64::from(LONG) << 56)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mem::same;

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
                "x".repeat(15),
                "x".repeat(16),
                "x".repeat(17),
                "user:0123456789".into(),
                "user:0123456789a".into(),
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
                let mut p = t.locate(ty, id);
                let f = t.find_ref(&p, ty, id).map(|f| (f.sym, f.profile));
                assert_eq!(f, Some((syms[i], with[i].1)), "`{s}`");
                // Settled (moved to its first candidate slot), it finds the same.
                t.settle(&mut p);
                assert_eq!(t.find_ref(&p, ty, id).map(|f| f.sym), Some(syms[i]));
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
        for (ty, id) in [("agent", "a-rather-long-name-3000"), ("user", "u3000")] {
            let mut p = t.locate(ty, id);
            assert_eq!(t.find_ref(&p, ty, id), None);
            t.settle(&mut p);
            assert_eq!(t.find_ref(&p, ty, id), None);
        }
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
        assert_eq!(t.principals().count(), 3002);
    }

    #[test]
    fn slots_must_lie_in_the_table() {
        let mut b = StringsBuilder::new(2);
        assert!(b.push(3, b"", b"a", NO_PROFILE).is_ok(), "slot 3 of 2 + 2");
        assert!(b.push(0, b"", b"b", NO_PROFILE).is_err(), "slot 4 of 2 + 2");
        assert!(b.push(u64::MAX, b"", b"b", NO_PROFILE).is_err(), "overflow");
        assert!(b.finish().is_err(), "one string short");
        let mut b = StringsBuilder::new(1);
        assert!(b.push(0, b"", b"a", NO_PROFILE).is_ok());
        assert!(
            b.push(0, b"", b"b", NO_PROFILE).is_err(),
            "one string too many"
        );
        assert_eq!(b.finish().map(|t| t.len()), Ok(1));
    }

    #[test]
    fn strings_take_their_home_slot_or_the_next_free_one() {
        assert_eq!(gaps(&[]), Vec::<u64>::new());
        // Four strings, five home slots: homes 0, 0, 3, 4 give slots 0, 1, 3, 4.
        let h = |slot: u64| (u64::MAX / 5) * slot + u64::MAX / 10;
        assert_eq!(gaps(&[h(0), h(0), h(3), h(4)]), vec![0, 0, 1, 0]);
        // Homes 4, 4, 4, 4 give slots 4, 5, 6, 7: past the home slots.
        assert_eq!(gaps(&[h(4), h(4), h(4), h(4)]), vec![4, 0, 0, 0]);
    }
}
