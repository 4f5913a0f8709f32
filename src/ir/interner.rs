//! Interned values. Every string, int and bool a program or its data mentions becomes a
//! [`Sym`]; equal values get equal symbols, so equality is symbol equality. Ordering
//! comparisons decode the values ([`Interner::compare`]).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};

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
    /// Values come from policies and their data files, not from requests: a fast fixed-seed
    /// hash serves.
    map: HashMap<Value, Sym, foldhash::fast::FixedState>,
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
