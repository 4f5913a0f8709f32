//! Interned values. Every string, int and bool a program or its data mentions becomes a
//! [`Sym`]; equal values get equal symbols, so equality is symbol equality. Ordering
//! comparisons decode the values ([`Interner::compare`]).

use std::cmp::Ordering;
use std::fmt;

/// An interned value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sym(pub u32);

/// A constant value.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
}

impl fmt::Display for Value {
    /// Source syntax: strings quoted, ints and bools bare.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Bool(b) => write!(f, "{b}"),
        }
    }
}

impl Value {
    /// The TSV form: strings unquoted.
    pub fn to_tsv(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Bool(b) => b.to_string(),
        }
    }

    fn key(&self) -> Key<'_> {
        match self {
            Value::Str(s) => Key::Str(s.as_bytes()),
            Value::Int(i) => Key::Int(*i),
            Value::Bool(b) => Key::Bool(*b),
        }
    }
}

/// A value by reference: what the interner's table hashes and compares, so that a string can
/// be looked up without building a [`Value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key<'a> {
    /// The bytes of a string.
    Str(&'a [u8]),
    Int(i64),
    Bool(bool),
}

const HASH_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// Folds one word into the hash with a 64x64->128 bit multiply whose halves are xored, which
/// mixes every input bit into every output bit.
#[inline]
fn fold(h: u64, word: u64) -> u64 {
    let m = u128::from(h ^ word) * u128::from(HASH_SEED);
    (m as u64) ^ ((m >> 64) as u64)
}

/// Eight bytes as a word (little-endian); `bytes` holds exactly eight.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(bytes);
    u64::from_le_bytes(w)
}

/// Four bytes as a word (little-endian); `bytes` holds exactly four.
#[inline]
fn half(bytes: &[u8]) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(bytes);
    u32::from_le_bytes(w)
}

impl Key<'_> {
    /// A fast hash, eight bytes at a time. Values come from policies and their data files,
    /// which the organisation writes, not from requests; the table is bounded by the data size.
    #[inline]
    fn hash(self) -> u64 {
        match self {
            Key::Str(bytes) => {
                // The length keeps "a" and "a\0" apart; the first word (1, 2 or 3) keeps strings,
                // ints and bools apart.
                let mut h = fold(1, bytes.len() as u64);
                let mut chunks = bytes.chunks_exact(8);
                for chunk in &mut chunks {
                    h = fold(h, word(chunk));
                }
                let rest = chunks.remainder();
                if !rest.is_empty() {
                    // The last eight bytes (overlapping the chunks before) when the string
                    // has that many, else a word made of the few bytes there are.
                    let last = match bytes.len() {
                        8.. => word(&bytes[bytes.len() - 8..]),
                        4..=7 => {
                            let n = rest.len();
                            u64::from(half(&rest[..4])) | u64::from(half(&rest[n - 4..])) << 32
                        }
                        _ => {
                            let n = rest.len();
                            u64::from(rest[0])
                                | u64::from(rest[n / 2]) << 8
                                | u64::from(rest[n - 1]) << 16
                        }
                    };
                    h = fold(h, last);
                }
                h
            }
            Key::Int(i) => fold(fold(2, i as u64), 0),
            Key::Bool(b) => fold(fold(3, u64::from(b)), 0),
        }
    }
}

/// The interner: the values by symbol, and an open-addressing table (linear probing) from
/// values to symbols. The table holds only symbols, so a value is stored once, and a lookup
/// by `&str` builds nothing.
#[derive(Debug, Clone, Default)]
pub struct Interner {
    values: Vec<Value>,
    /// A power-of-two number of slots, at most half full; each empty (0) or the low 32 bits
    /// of the value's hash (its tag) above its symbol plus one. The slot index comes from the
    /// hash's high bits, so the tag tells apart most values that meet in a run of slots.
    slots: Vec<u64>,
}

/// The bytes of a string and their hash ([`Interner::hashed`]).
#[derive(Debug, Clone, Copy)]
pub struct Hashed<'s> {
    s: &'s [u8],
    h: u64,
}

impl<'s> Hashed<'s> {
    /// The string's bytes.
    pub fn bytes(&self) -> &'s [u8] {
        self.s
    }
}

/// Where a key was found, or the empty slot where it would go.
enum Probe {
    Found(Sym),
    Vacant(usize),
}

impl Interner {
    pub fn new() -> Self {
        Self::default()
    }

    /// The slot index of hash `h` in a table of `len` slots (a power of two): its high bits.
    #[inline]
    fn home(h: u64, len: usize) -> usize {
        // The high bits of a multiply-fold hash are its best mixed; `len` is at least 2.
        (h >> (64 - len.trailing_zeros())) as usize
    }

    #[inline]
    fn probe(&self, key: Key<'_>, h: u64) -> Probe {
        let mask = self.slots.len() - 1;
        let tag = h & 0xffff_ffff;
        let mut i = Self::home(h, self.slots.len());
        loop {
            let slot = self.slots[i];
            if slot == 0 {
                return Probe::Vacant(i);
            }
            if slot >> 32 == tag {
                let sym = (slot as u32) - 1;
                if self.values[sym as usize].key() == key {
                    return Probe::Found(Sym(sym));
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// The symbol of `key`, or the slot where it goes and its hash (after growing the table
    /// to hold one more value).
    #[inline]
    fn find(&mut self, key: Key<'_>) -> Result<Sym, (usize, u64)> {
        if (self.values.len() + 1) * 2 > self.slots.len() {
            self.grow(self.values.len() + 1);
        }
        let h = key.hash();
        match self.probe(key, h) {
            Probe::Found(sym) => Ok(sym),
            Probe::Vacant(i) => Err((i, h)),
        }
    }

    /// Adds `value` in the empty slot `i` that [`Interner::find`] gave for its hash `h`.
    #[inline]
    fn insert(&mut self, i: usize, h: u64, value: Value) -> Sym {
        // Symbols are 32 bits, as they were before this table: memory runs out long before
        // 2^32 values (32 bytes each, plus their text).
        let sym = self.values.len() as u32;
        self.values.push(value);
        self.slots[i] = h << 32 | u64::from(sym + 1);
        Sym(sym)
    }

    /// Rebuilds the table with room for `wanted` values at most half full.
    fn grow(&mut self, wanted: usize) {
        let len = (wanted * 2).next_power_of_two().max(16);
        if len <= self.slots.len() {
            return;
        }
        self.slots = crate::mem::large_vec(len, 0);
        let mask = len - 1;
        for (sym, value) in self.values.iter().enumerate() {
            let h = value.key().hash();
            let mut i = Self::home(h, len);
            while self.slots[i] != 0 {
                i = (i + 1) & mask;
            }
            self.slots[i] = h << 32 | (sym as u64 + 1);
        }
    }

    /// Interns a value, moving it in if new.
    pub fn intern(&mut self, value: Value) -> Sym {
        match self.find(value.key()) {
            Ok(sym) => sym,
            Err((i, h)) => self.insert(i, h, value),
        }
    }

    /// Makes room for `additional` new values (a hint: bulk loaders call it before interning
    /// many values, to spare the table its rehashing as it grows).
    pub fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional);
        self.grow(self.values.len() + additional);
    }

    /// Interns a string, copying it only if new.
    pub fn intern_str(&mut self, s: &str) -> Sym {
        match self.find(Key::Str(s.as_bytes())) {
            Ok(sym) => sym,
            Err((i, h)) => self.insert(i, h, Value::Str(s.to_string())),
        }
    }

    /// Reads, all at once, the table slots and stored strings that interning `strs` will read
    /// first, so that their memory latencies overlap instead of adding up. A bulk loader calls
    /// it on a batch of strings before interning them one by one: on a large table nearly
    /// every lookup misses the cache. Changes nothing.
    pub fn prefetch_strs<'s>(&self, strs: impl IntoIterator<Item = &'s str>) {
        const CHUNK: usize = 32;
        if self.slots.is_empty() {
            return;
        }
        let mut strs = strs.into_iter().peekable();
        let mut seen = 0u64;
        while strs.peek().is_some() {
            // Each stage's loads are independent of one another, so the processor issues
            // them together; a stage only waits for the one before it.
            let mut hashes = [0u64; CHUNK];
            let mut n = 0;
            for s in strs.by_ref().take(CHUNK) {
                hashes[n] = Key::Str(s.as_bytes()).hash();
                n += 1;
            }
            let mut slots = [0u64; CHUNK];
            for (slot, &h) in slots.iter_mut().zip(&hashes[..n]) {
                *slot = self.slots[Self::home(h, self.slots.len())];
            }
            for (slot, &h) in slots.iter_mut().zip(&hashes[..n]) {
                if *slot >> 32 != h & 0xffff_ffff {
                    *slot = 0;
                }
            }
            let mut texts: [&[u8]; CHUNK] = [&[]; CHUNK];
            for (text, &slot) in texts.iter_mut().zip(&slots[..n]) {
                if slot != 0 {
                    if let Value::Str(s) = &self.values[(slot as u32 - 1) as usize] {
                        *text = s.as_bytes();
                    }
                }
            }
            for text in &texts[..n] {
                seen ^= text.first().map_or(0, |&b| u64::from(b));
            }
        }
        // Keeps the loads: their results are otherwise unused.
        std::hint::black_box(seen);
    }

    fn lookup_key(&self, key: Key<'_>) -> Option<Sym> {
        if self.slots.is_empty() {
            return None;
        }
        match self.probe(key, key.hash()) {
            Probe::Found(sym) => Some(sym),
            Probe::Vacant(_) => None,
        }
    }

    /// The bytes of a string with their hash, for [`Interner::touch`] and
    /// [`Interner::candidates`].
    pub fn hashed(s: &[u8]) -> Hashed<'_> {
        Hashed {
            s,
            h: Key::Str(s).hash(),
        }
    }

    /// Reads the slot where a lookup of `key` starts, so that a later
    /// [`Interner::candidates`] finds it in cache; returns its contents, for the caller to
    /// pass to [`std::hint::black_box`] (or the read may be left out). A caller looking up
    /// several strings touches them all first, and their memory latencies overlap.
    #[inline]
    pub fn touch(&self, key: Hashed<'_>) -> u64 {
        self.slots.get(self.home_slot(key)).copied().unwrap_or(0)
    }

    /// The slot where a lookup of `key` starts (see [`Interner::candidates`]).
    #[inline]
    pub fn home_slot(&self, key: Hashed<'_>) -> usize {
        if self.slots.is_empty() {
            return 0;
        }
        Self::home(key.h, self.slots.len())
    }

    /// The slots that may hold the string `key`, in probe order, with their symbols: those
    /// whose hash tag is `key`'s, up to the first empty slot. If `key` was interned it is in
    /// one of them ([`Interner::is_str`] tells which). Values never move between slots until
    /// the table grows, which changes [`Interner::slot_count`]: an array indexed by slot,
    /// made from [`Interner::slot_symbols`], stays aligned with the table while the count is
    /// the same (values interned since then are in slots that were empty).
    #[inline]
    pub fn candidates<'i>(&'i self, key: Hashed<'_>) -> impl Iterator<Item = (usize, Sym)> + 'i {
        let len = self.slots.len();
        let tag = key.h & 0xffff_ffff;
        let mut i = self.home_slot(key);
        // (a table is never full: the probe meets an empty slot)
        std::iter::from_fn(move || loop {
            let slot = *self.slots.get(i)?;
            if slot == 0 {
                return None;
            }
            let at = i;
            i = (i + 1) & (len - 1);
            if slot >> 32 == tag {
                return Some((at, Sym((slot as u32) - 1)));
            }
        })
    }

    /// Whether the value of `sym` is the string `key`.
    #[inline]
    pub fn is_str(&self, sym: Sym, key: Hashed<'_>) -> bool {
        self.values
            .get(sym.0 as usize)
            .is_some_and(|v| v.key() == Key::Str(key.s))
    }

    /// The number of slots of the table.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The symbol each slot holds (`None`: empty), in slot order.
    pub fn slot_symbols(&self) -> impl ExactSizeIterator<Item = Option<Sym>> + '_ {
        self.slots
            .iter()
            .map(|&slot| (slot != 0).then(|| Sym((slot as u32).wrapping_sub(1))))
    }

    /// The symbol of a value, if it was interned.
    pub fn lookup(&self, value: &Value) -> Option<Sym> {
        self.lookup_key(value.key())
    }

    /// The symbol of the string `s`, if it was interned.
    pub fn lookup_str(&self, s: &str) -> Option<Sym> {
        self.lookup_key(Key::Str(s.as_bytes()))
    }

    /// The value of a symbol. Symbols come only from this interner, so the index is valid.
    pub fn value(&self, sym: Sym) -> &Value {
        &self.values[sym.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Orders two tuples column by column, each column by [`Interner::compare`].
    pub fn compare_rows(&self, a: &[Sym], b: &[Sym]) -> Ordering {
        a.iter()
            .zip(b)
            .map(|(x, y)| self.compare(*x, *y))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }

    /// Orders two symbols by their values: strings by text, ints numerically, `false < true`.
    /// Values of different types (which the checker rules out) order by type.
    pub fn compare(&self, a: Sym, b: Sym) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        self.value(a).cmp(self.value(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Value {
        Value::Str(text.to_string())
    }

    #[test]
    fn equal_values_share_a_symbol_and_types_stay_apart() {
        let mut i = Interner::new();
        let values = [
            s(""),
            s("a"),
            s("a\0"),
            s("1"),
            s("true"),
            s("12345678"),
            s("123456789"),
            Value::Int(1),
            Value::Int(0),
            Value::Int(-1),
            Value::Bool(true),
            Value::Bool(false),
        ];
        let syms: Vec<Sym> = values.iter().map(|v| i.intern(v.clone())).collect();
        for (k, v) in values.iter().enumerate() {
            assert_eq!(syms[k], Sym(k as u32), "{v} is new");
            assert_eq!(i.intern(v.clone()), syms[k], "{v} again");
            assert_eq!(i.lookup(v), Some(syms[k]));
            assert_eq!(i.value(syms[k]), v);
        }
        assert_eq!(i.intern_str("a\0"), syms[2]);
        assert_eq!(i.lookup_str("123456789"), Some(syms[6]));
        assert_eq!(i.lookup_str("b"), None);
        assert_eq!(i.lookup(&Value::Int(2)), None);
        assert_eq!(i.len(), values.len());
    }

    #[test]
    fn a_growing_table_keeps_every_symbol() {
        let mut i = Interner::new();
        assert_eq!(
            i.lookup_str("user:u0"),
            None,
            "an empty interner finds nothing"
        );
        let n = 50_000u32;
        for k in 0..n {
            assert_eq!(i.intern_str(&format!("user:u{k}")), Sym(2 * k));
            assert_eq!(i.intern(Value::Int(i64::from(k))), Sym(2 * k + 1));
        }
        let copy = i.clone();
        for k in (0..n).rev() {
            let text = format!("user:u{k}");
            assert_eq!(copy.lookup_str(&text), Some(Sym(2 * k)));
            assert_eq!(i.intern(Value::Str(text)), Sym(2 * k));
            assert_eq!(i.lookup(&Value::Int(i64::from(k))), Some(Sym(2 * k + 1)));
        }
        assert_eq!(i.lookup_str(&format!("user:u{n}")), None);
        assert_eq!(i.len(), 2 * n as usize);
    }

    #[test]
    fn reserving_and_prefetching_change_no_symbol() {
        let words: Vec<String> = (0..5_000)
            .map(|k| format!("agent:a{k}-{}", k % 2))
            .collect();
        let mut plain = Interner::new();
        let mut hinted = Interner::new();
        hinted.prefetch_strs(words.iter().map(String::as_str));
        hinted.reserve(3);
        for chunk in words.chunks(100) {
            hinted.prefetch_strs(chunk.iter().map(String::as_str));
            hinted.reserve(chunk.len());
            for w in chunk.iter().chain(chunk) {
                assert_eq!(hinted.intern_str(w), plain.intern_str(w));
            }
        }
        assert_eq!(hinted.len(), words.len());
        for (k, w) in words.iter().enumerate() {
            assert_eq!(hinted.lookup_str(w), Some(Sym(k as u32)));
            assert_eq!(hinted.value(Sym(k as u32)), &Value::Str(w.clone()));
        }
    }
}
