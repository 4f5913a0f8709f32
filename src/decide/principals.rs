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

/// A ref prepared for lookup: its bytes and hash.
#[derive(Debug, Clone)]
pub struct RefKey {
    hash: u64,
    len: usize,
    /// The ref, zero-padded, when it is at most [`STACK`] bytes.
    stack: [u8; STACK],
    /// The ref, when it is longer.
    heap: Vec<u8>,
}

impl RefKey {
    fn new(ty: &str, id: &str) -> RefKey {
        RefKey::of_parts(&[ty.as_bytes(), b":", id.as_bytes()])
    }

    /// The key of the concatenation of `parts`.
    fn of_parts(parts: &[&[u8]]) -> RefKey {
        let len = parts.iter().map(|p| p.len()).sum();
        let mut key = RefKey {
            hash: 0,
            len,
            stack: [0; STACK],
            heap: Vec::new(),
        };
        if len <= STACK {
            let mut at = 0;
            for p in parts {
                key.stack[at..at + p.len()].copy_from_slice(p);
                at += p.len();
            }
        } else {
            key.heap.reserve_exact(len);
            for p in parts {
                key.heap.extend_from_slice(p);
            }
        }
        key.hash = hash(key.bytes());
        key
    }

    fn bytes(&self) -> &[u8] {
        if self.len <= STACK {
            &self.stack[..self.len]
        } else {
            &self.heap
        }
    }

    /// The first [`INLINE`] bytes, zero-padded (the whole ref when it is inline).
    fn head(&self) -> [u8; INLINE] {
        let mut head = [0; INLINE];
        let b = self.bytes();
        let n = b.len().min(INLINE);
        head[..n].copy_from_slice(&b[..n]);
        head
    }
}

/// Word-at-a-time multiply-fold hash; the length seeds it, so that `a` and `a\0` differ.
fn hash(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let fold = |h: u64, w: u64| {
        let m = u128::from(h ^ w) * u128::from(K);
        (m as u64) ^ ((m >> 64) as u64)
    };
    let mut h = (bytes.len() as u64).wrapping_mul(0x2545_f491_4f6c_dd1d);
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
            slots: vec![Slot::default(); slots],
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
        let key = RefKey::of_parts(&[reference.as_bytes()]);
        if let Some(at) = self.find(&key) {
            self.slots[at].value = value;
            return;
        }
        if (self.len + 1) * 8 > self.slots.len() * 5 {
            self.grow();
        }
        let text = if key.len <= INLINE {
            key.head()
        } else {
            let mut text = [0; INLINE];
            text[..8].copy_from_slice(&(self.long.len() as u64).to_le_bytes());
            self.long.extend_from_slice(key.bytes());
            text
        };
        let slot = Slot {
            tag: (key.hash >> 32) as u32,
            // (a ref longer than 4 GiB cannot be compared: its length is stored saturated,
            // and it is never found; nothing that long is a principal ref)
            len: u32::try_from(key.len).unwrap_or(u32::MAX),
            value,
            text,
        };
        self.place(key.hash, slot);
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
        let bigger = vec![Slot::default(); self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        for s in old.into_iter().filter(|s| s.len != 0) {
            let hash = hash(self.text_of(&s));
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
    pub fn key(&self, ty: &str, id: &str) -> RefKey {
        RefKey::new(ty, id)
    }

    /// Reads the home slot of `key`, so that a later [`PrincipalTable::get`] finds it in
    /// cache; returns a word of it, which the caller passes to [`std::hint::black_box`] (or
    /// the read may be left out).
    #[inline]
    pub fn touch(&self, key: &RefKey) -> u32 {
        let at = key.hash as usize & self.mask();
        self.slots.get(at).map_or(0, |s| s.tag)
    }

    /// The slot index of `key`, if it is in the table.
    #[inline]
    fn find(&self, key: &RefKey) -> Option<usize> {
        let mask = self.mask();
        let tag = (key.hash >> 32) as u32;
        let mut at = key.hash as usize & mask;
        if key.len <= INLINE {
            let text = key.head();
            loop {
                let s = self.slots.get(at)?;
                if s.len == 0 {
                    return None;
                }
                if s.tag == tag && s.len as usize == key.len && s.text == text {
                    return Some(at);
                }
                at = (at + 1) & mask;
            }
        }
        loop {
            let s = self.slots.get(at)?;
            if s.len == 0 {
                return None;
            }
            if s.tag == tag && s.len as usize == key.len && self.text_of(s) == key.bytes() {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// What `key` maps to.
    #[inline]
    pub fn get(&self, key: &RefKey) -> Option<[u32; 2]> {
        self.find(key).map(|at| self.slots[at].value)
    }

    /// What the ref `type:id` maps to.
    pub fn lookup(&self, ty: &str, id: &str) -> Option<[u32; 2]> {
        self.get(&self.key(ty, id))
    }
}

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
}
