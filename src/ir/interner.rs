//! Interned values. Every string, int and bool a program or its data mentions becomes a
//! [`Sym`]; equal values get equal symbols, so equality is symbol equality. Ordering
//! comparisons decode the values ([`Interner::compare`]).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hash, Hasher};

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
}

/// A value by reference: what the interner's table hashes and compares, so that a string can
/// be looked up without building a [`Value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Key<'a> {
    Str(&'a str),
    Int(i64),
    Bool(bool),
}

trait AsKey {
    fn key(&self) -> Key<'_>;
}

impl AsKey for Value {
    fn key(&self) -> Key<'_> {
        match self {
            Value::Str(s) => Key::Str(s),
            Value::Int(i) => Key::Int(*i),
            Value::Bool(b) => Key::Bool(*b),
        }
    }
}

impl AsKey for Key<'_> {
    fn key(&self) -> Key<'_> {
        *self
    }
}

impl<'a> Borrow<dyn AsKey + 'a> for Value {
    fn borrow(&self) -> &(dyn AsKey + 'a) {
        self
    }
}

impl Hash for dyn AsKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

impl PartialEq for dyn AsKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for dyn AsKey + '_ {}

impl Hash for Value {
    /// As its [`Key`], so that values and keys hash alike.
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Interner {
    values: Vec<Value>,
    map: HashMap<Value, Sym, BuildHasherDefault<ValueHasher>>,
}

/// A fast hasher for interned values: eight bytes at a time, each folded in with a 64x64->128
/// bit multiply whose halves are xored, which mixes every input bit into every output bit.
/// Values come from policies and their data files, which the organisation writes, not from
/// requests; the table is bounded by the data size.
#[derive(Debug, Default, Clone, Copy)]
struct ValueHasher(u64);

const VALUE_HASH_SEED: u64 = 0x9e37_79b9_7f4a_7c15;

impl ValueHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        let m = u128::from(self.0 ^ word) * u128::from(VALUE_HASH_SEED);
        self.0 = (m as u64) ^ ((m >> 64) as u64);
    }
}

impl Hasher for ValueHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length keeps "a" and "a\0" apart.
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Interner {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn intern(&mut self, value: Value) -> Sym {
        let next = Sym(self.values.len() as u32);
        // One hash and one probe, whether the value is new or not.
        match self.map.entry(value) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => {
                self.values.push(e.key().clone());
                e.insert(next);
                next
            }
        }
    }

    /// Makes room for `additional` new values (a hint: bulk loaders call it before interning
    /// many values, to spare the table its rehashing as it grows).
    pub fn reserve(&mut self, additional: usize) {
        self.values.reserve(additional);
        self.map.reserve(additional);
    }

    pub fn intern_str(&mut self, s: &str) -> Sym {
        self.intern(Value::Str(s.to_string()))
    }

    /// The symbol of a value, if it was interned.
    pub fn lookup(&self, value: &Value) -> Option<Sym> {
        self.map.get(value).copied()
    }

    /// The symbol of the string `s`, if it was interned.
    pub fn lookup_str(&self, s: &str) -> Option<Sym> {
        self.map.get(&Key::Str(s) as &dyn AsKey).copied()
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

    /// Orders two symbols by their values: strings by text, ints numerically, `false < true`.
    /// Values of different types (which the checker rules out) order by type.
    pub fn compare(&self, a: Sym, b: Sym) -> Ordering {
        if a == b {
            return Ordering::Equal;
        }
        self.value(a).cmp(self.value(b))
    }
}
