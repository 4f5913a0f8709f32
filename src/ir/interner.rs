//! Interned values. Every string, int and bool a program or its data mentions becomes a
//! [`Sym`]; equal values get equal symbols, so equality is symbol equality. Ordering
//! comparisons decode the values ([`Interner::compare`]).

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;

/// An interned value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Sym(pub u32);

/// A constant value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

#[derive(Debug, Clone, Default)]
pub struct Interner {
    values: Vec<Value>,
    map: HashMap<Value, Sym>,
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
