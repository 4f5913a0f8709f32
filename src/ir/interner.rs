//! Interned values. Every string, int and bool a program or its data mentions becomes a
//! [`Sym`]; equal values get equal symbols, so equality is symbol equality. Ordering
//! comparisons decode the values ([`Interner::compare`]).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};

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

/// The interner's table hasher: a word-at-a-time multiplicative hash (values come from the
/// program and its data, which are trusted; requests only look up).
#[derive(Debug, Clone, Copy, Default)]
pub struct BuildValueHasher;

impl BuildHasher for BuildValueHasher {
    type Hasher = ValueHasher;
    fn build_hasher(&self) -> ValueHasher {
        ValueHasher(0)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ValueHasher(u64);

const MUL: u64 = 0xf135_7aea_2e62_a9c5;

impl ValueHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0 ^ word).wrapping_mul(MUL).rotate_left(23);
    }
}

impl Hasher for ValueHasher {
    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(MUL);
        h ^ (h >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            // The length keeps `ab` + `\0` apart from `ab`.
            self.add(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn write_isize(&mut self, n: isize) {
        self.add(n as u64);
    }

    fn write_i64(&mut self, n: i64) {
        self.add(n as u64);
    }
}

#[derive(Debug, Clone, Default)]
pub struct Interner {
    values: Vec<Value>,
    map: HashMap<Value, Sym, BuildValueHasher>,
}

impl Interner {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn intern(&mut self, value: Value) -> Sym {
        if let Some(&s) = self.map.get(&value) {
            return s;
        }
        let s = Sym(self.values.len() as u32);
        self.values.push(value.clone());
        self.map.insert(value, s);
        s
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
