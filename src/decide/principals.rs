//! The principal directory: the principals that have instances, found by their ref
//! (`type:id`) without going through the interner.
//!
//! An open-addressing table (linear probing, at most 5/8 full) of 32-byte slots, two to a
//! cache line. A slot holds the ref's hash tag, its length, the entry it maps to and, for refs
//! of at most [`INLINE`] bytes, the ref's bytes themselves: one slot read answers the lookup of
//! a short ref (longer refs compare against a side array). Lookups split in two steps,
//! [`PrincipalTable::key`] then [`PrincipalTable::get`], so that a caller with several refs can
//! compute every key and touch every home slot before probing, and the memory reads overlap.

/// Refs of at most this many bytes are kept in the slot.
const INLINE: usize = 16;

/// Refs of at most this many bytes are formatted on the stack for a lookup.
const STACK: usize = 64;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[repr(C, align(32))]
struct Slot {
    /// High half of the ref's hash.
    tag: u32,
    /// Length of the ref in bytes; 0 marks an empty slot (a ref is never empty).
    len: u32,
    /// The entry.
    value: [u32; 2],
    /// The ref, zero-padded, when it is at most [`INLINE`] bytes; otherwise the offset of its
    /// bytes in [`PrincipalTable::long`] (little-endian, first 8 bytes).
    text: [u8; INLINE],
}

/// A map from principal refs to pairs of `u32` (an index's entry for the principal).
#[derive(Debug, Clone)]
pub struct PrincipalTable {
    /// A power of two many, never full.
    slots: Vec<Slot>,
    /// Bytes of the refs longer than [`INLINE`], one after another.
    long: Vec<u8>,
    len: usize,
}

impl Default for PrincipalTable {
    fn default() -> Self {
        PrincipalTable::with_capacity(0)
    }
}

/// A ref `type:id` prepared for lookup: its hash and first bytes, borrowing its parts.
#[derive(Debug, Clone, Copy)]
pub struct RefKey<'r> {
    hash: u64,
    len: usize,
    /// The first [`INLINE`] bytes, zero-padded (the whole ref when it is inline).
    head: [u8; INLINE],
    ty: &'r str,
    id: &'r str,
}

impl<'r> RefKey<'r> {
    fn new(ty: &'r str, id: &'r str) -> RefKey<'r> {
        let len = ty.len() + 1 + id.len();
        let mut head = [0u8; INLINE];
        let hash = if len <= INLINE {
            head[..ty.len()].copy_from_slice(ty.as_bytes());
            head[ty.len()] = b':';
            head[ty.len() + 1..len].copy_from_slice(id.as_bytes());
            hash_head(&head, len)
        } else if len <= STACK {
            let mut buf = [0u8; STACK];
            buf[..ty.len()].copy_from_slice(ty.as_bytes());
            buf[ty.len()] = b':';
            buf[ty.len() + 1..len].copy_from_slice(id.as_bytes());
            head.copy_from_slice(&buf[..INLINE]);
            hash_long(&buf[..len])
        } else {
            let mut buf = Vec::with_capacity(len);
            buf.extend_from_slice(ty.as_bytes());
            buf.push(b':');
            buf.extend_from_slice(id.as_bytes());
            head.copy_from_slice(&buf[..INLINE]);
            hash_long(&buf)
        };
        RefKey {
            hash,
            len,
            head,
            ty,
            id,
        }
    }

    /// The type and the id.
    pub fn parts(&self) -> (&'r str, &'r str) {
        (self.ty, self.id)
    }

    /// Whether `bytes` is this ref.
    fn is(&self, bytes: &[u8]) -> bool {
        let (ty, id) = (self.ty.as_bytes(), self.id.as_bytes());
        bytes.len() == self.len
            && bytes.get(..ty.len()) == Some(ty)
            && bytes.get(ty.len()) == Some(&b':')
            && bytes.get(ty.len() + 1..) == Some(id)
    }
}

/// The first [`INLINE`] bytes of `bytes`, zero-padded.
fn head_of(bytes: &[u8]) -> [u8; INLINE] {
    let mut head = [0u8; INLINE];
    let n = bytes.len().min(INLINE);
    head[..n].copy_from_slice(&bytes[..n]);
    head
}

const K: u64 = 0x9e37_79b9_7f4a_7c15;

/// One word folded into the hash: a 64x64->128 bit multiply whose halves are xored.
#[inline]
fn fold(h: u64, w: u64) -> u64 {
    let m = u128::from(h ^ w) * u128::from(K);
    (m as u64) ^ ((m >> 64) as u64)
}

/// The hash of a ref of `len` bytes; the length seeds it, so that `a` and `a\0` differ.
fn seed(len: usize) -> u64 {
    (len as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// The hash of a ref of at most [`INLINE`] bytes, given zero-padded.
#[inline]
fn hash_head(head: &[u8; INLINE], len: usize) -> u64 {
    let mut lo = [0u8; 8];
    let mut hi = [0u8; 8];
    lo.copy_from_slice(&head[..8]);
    hi.copy_from_slice(&head[8..]);
    let h = fold(seed(len), u64::from_le_bytes(lo));
    fold(fold(h, u64::from_le_bytes(hi)), K)
}

/// The hash of a ref of any length (for at most [`INLINE`] bytes, [`hash_head`]'s).
fn hash_long(bytes: &[u8]) -> u64 {
    if bytes.len() <= INLINE {
        let mut head = [0u8; INLINE];
        head[..bytes.len()].copy_from_slice(bytes);
        return hash_head(&head, bytes.len());
    }
    let mut h = seed(bytes.len());
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = fold(h, u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = fold(h, u64::from_le_bytes(w));
    }
    fold(h, K)
}

impl PrincipalTable {
    /// A table with room for `n` refs.
    pub fn with_capacity(n: usize) -> PrincipalTable {
        let slots = (n.saturating_mul(8) / 5 + 1).next_power_of_two().max(8);
        PrincipalTable {
            slots: large_vec(slots, Slot::default()),
            long: Vec::new(),
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Maps the principal ref `reference` (`type:id`) to `value`, replacing what it mapped
    /// to.
    pub fn insert(&mut self, reference: &str, value: [u32; 2]) {
        let bytes = reference.as_bytes();
        let hash = hash_long(bytes);
        if let Some(at) = self.probe(hash, bytes.len(), head_of(bytes), |b| b == bytes) {
            self.slots[at].value = value;
            return;
        }
        if (self.len + 1) * 8 > self.slots.len() * 5 {
            self.grow();
        }
        let text = if bytes.len() <= INLINE {
            head_of(bytes)
        } else {
            let mut text = [0; INLINE];
            text[..8].copy_from_slice(&(self.long.len() as u64).to_le_bytes());
            self.long.extend_from_slice(bytes);
            text
        };
        let slot = Slot {
            tag: (hash >> 32) as u32,
            // (a ref longer than 4 GiB cannot be compared: its length is stored saturated,
            // and it is never found; nothing that long is a principal ref)
            len: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
            value,
            text,
        };
        self.place(hash, slot);
        self.len += 1;
    }

    fn place(&mut self, hash: u64, slot: Slot) {
        let mask = self.mask();
        let mut at = hash as usize & mask;
        while self.slots[at].len != 0 {
            at = (at + 1) & mask;
        }
        self.slots[at] = slot;
    }

    fn grow(&mut self) {
        let bigger = large_vec(self.slots.len() * 2, Slot::default());
        let old = std::mem::replace(&mut self.slots, bigger);
        for s in old.into_iter().filter(|s| s.len != 0) {
            let hash = hash_long(self.text_of(&s));
            self.place(hash, s);
        }
    }

    /// The bytes of the ref a full slot holds.
    fn text_of<'s>(&'s self, s: &'s Slot) -> &'s [u8] {
        let len = s.len as usize;
        if len <= INLINE {
            return &s.text[..len];
        }
        let mut off = [0u8; 8];
        off.copy_from_slice(&s.text[..8]);
        let off = u64::from_le_bytes(off) as usize;
        self.long
            .get(off..off.saturating_add(len))
            .unwrap_or_default()
    }

    /// The ref `type:id` prepared for [`PrincipalTable::get`].
    pub fn key<'r>(&self, ty: &'r str, id: &'r str) -> RefKey<'r> {
        RefKey::new(ty, id)
    }

    /// Reads the home slot of `key`, so that a later [`PrincipalTable::get`] finds it in
    /// cache; returns a word of it, which the caller passes to [`std::hint::black_box`] (or
    /// the read may be left out).
    #[inline]
    pub fn touch(&self, key: &RefKey<'_>) -> u32 {
        let at = key.hash as usize & self.mask();
        self.slots.get(at).map_or(0, |s| s.tag)
    }

    /// The slot holding the ref of `len` bytes with this hash whose first bytes are `head`
    /// and, when it is longer than [`INLINE`] bytes, whose bytes `long` accepts.
    #[inline]
    fn probe(
        &self,
        hash: u64,
        len: usize,
        head: [u8; INLINE],
        long: impl Fn(&[u8]) -> bool,
    ) -> Option<usize> {
        let mask = self.mask();
        let tag = (hash >> 32) as u32;
        let mut at = hash as usize & mask;
        loop {
            let s = self.slots.get(at)?;
            if s.len == 0 {
                return None;
            }
            if s.tag == tag && s.len as usize == len {
                if len <= INLINE {
                    if s.text == head {
                        return Some(at);
                    }
                } else if long(self.text_of(s)) {
                    return Some(at);
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// What `key` maps to.
    #[inline]
    pub fn get(&self, key: &RefKey<'_>) -> Option<[u32; 2]> {
        self.probe(key.hash, key.len, key.head, |b| key.is(b))
            .map(|at| self.slots[at].value)
    }

    /// What the ref `type:id` maps to.
    pub fn lookup(&self, ty: &str, id: &str) -> Option<[u32; 2]> {
        self.get(&self.key(ty, id))
    }
}

/// `n` copies of `value` in memory that the kernel is asked, when it is large, to back with
/// huge pages: lookups at random places in a table of many MiB then miss the TLB far less
/// often (with 4 KiB pages, nearly every lookup would walk the page tables).
pub(crate) fn large_vec<T: Clone>(n: usize, value: T) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    // (advised before the first write, so that the pages are faulted in huge)
    advise_huge_pages(
        v.as_ptr() as usize,
        v.capacity().saturating_mul(std::mem::size_of::<T>()),
    );
    v.resize(n, value);
    v
}

/// Asks the kernel to back the whole 4 KiB pages of `addr..addr + len` with huge pages; only
/// a hint: if it is refused (no transparent huge pages, other page sizes) nothing changes.
#[cfg(target_os = "linux")]
fn advise_huge_pages(addr: usize, len: usize) {
    const PAGE: usize = 4096;
    const HUGE: usize = 2 << 20;
    if len < HUGE {
        return;
    }
    let start = addr.saturating_add(PAGE - 1) & !(PAGE - 1);
    let end = addr.saturating_add(len) & !(PAGE - 1);
    if end <= start {
        return;
    }
    // SAFETY: `start..end` lies inside one live allocation of ours, and MADV_HUGEPAGE only
    // sets a hint on those pages: it neither frees nor changes their contents. The result is
    // ignored on purpose (a refusal leaves the pages as they were).
    unsafe {
        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_addr: usize, _len: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_short_and_long_refs_and_nothing_else() {
        let long = "x".repeat(40);
        let huge = "y".repeat(100);
        let mut t = PrincipalTable::with_capacity(2);
        for i in 0..1000u32 {
            t.insert(&format!("user:u{i}"), [i, 1]);
            t.insert(&format!("agent:{long}{i}"), [i, 2]);
            t.insert(&format!("svc:{huge}{i}"), [i, 3]);
        }
        assert_eq!(t.len(), 3000);
        for i in 0..1000u32 {
            assert_eq!(t.lookup("user", &format!("u{i}")), Some([i, 1]));
            assert_eq!(t.lookup("agent", &format!("{long}{i}")), Some([i, 2]));
            assert_eq!(t.lookup("svc", &format!("{huge}{i}")), Some([i, 3]));
        }
        assert_eq!(t.lookup("user", "u1000"), None);
        assert_eq!(t.lookup("agent", "u1"), None);
        assert_eq!(t.lookup("user:u", "1"), None);
        assert_eq!(t.lookup("use", "u1"), None);
        assert_eq!(t.lookup("user", "u1\0"), None);
        assert_eq!(t.lookup("agent", &format!("{long}1x")), None);
    }

    #[test]
    fn insert_replaces_and_empty_table_finds_nothing() {
        let mut t = PrincipalTable::default();
        assert!(t.is_empty());
        assert_eq!(t.lookup("user", "alice"), None);
        t.insert("user:alice", [1, 2]);
        t.insert("user:alice", [3, 4]);
        assert_eq!(t.len(), 1);
        assert_eq!(t.lookup("user", "alice"), Some([3, 4]));
    }

    #[test]
    fn large_vec_holds_n_copies() {
        let big = large_vec(300_000, [7u32; 4]);
        assert_eq!(big.len(), 300_000);
        assert!(big.iter().all(|x| *x == [7; 4]));
        assert!(large_vec(0, 1u8).is_empty());
    }
}
