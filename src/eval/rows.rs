//! Relation contents as flat, sorted, deduplicated tuple arrays.

use crate::ir::{RelId, Sym};

/// The tuples of one relation: `len` tuples of `arity` symbols each, stored flat in `data`,
/// sorted lexicographically and without duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rows {
    arity: usize,
    len: usize,
    data: Vec<Sym>,
}

impl Rows {
    pub fn empty(arity: usize) -> Rows {
        Rows {
            arity,
            len: 0,
            data: Vec::new(),
        }
    }

    /// Builds rows from `count` tuples stored flat in any order, possibly repeated.
    /// `data.len()` must be `count * arity`.
    pub fn from_unsorted(arity: usize, count: usize, data: Vec<Sym>) -> Rows {
        assert_eq!(
            data.len(),
            count * arity,
            "flat tuple data must be count * arity long"
        );
        if arity == 0 {
            return Rows {
                arity,
                len: usize::from(count > 0),
                data,
            };
        }
        // Data files often list rows in the order their symbols were first interned, that is
        // already sorted: one pass finds out.
        if data
            .chunks_exact(arity)
            .zip(data.chunks_exact(arity).skip(1))
            .all(|(a, b)| a < b)
        {
            return Rows {
                arity,
                len: count,
                data,
            };
        }
        let data = match arity {
            1 => {
                let mut data = data;
                data.sort_unstable();
                data.dedup();
                data
            }
            // Pairs sort as single words: the first symbol in the high half.
            2 => {
                let mut pairs: Vec<u64> = data
                    .chunks_exact(2)
                    .map(|t| (u64::from(t[0].0) << 32) | u64::from(t[1].0))
                    .collect();
                pairs.sort_unstable();
                pairs.dedup();
                pairs
                    .iter()
                    .flat_map(|&p| [Sym((p >> 32) as u32), Sym(p as u32)])
                    .collect()
            }
            _ => {
                let mut tuples: Vec<&[Sym]> = data.chunks_exact(arity).collect();
                tuples.sort_unstable();
                tuples.dedup();
                tuples.concat()
            }
        };
        Rows {
            arity,
            len: data.len() / arity,
            data,
        }
    }

    /// Builds rows from `data` that already holds `count` tuples sorted and without duplicates
    /// (the engines' own output).
    pub(crate) fn from_sorted(arity: usize, count: usize, data: Vec<Sym>) -> Rows {
        debug_assert_eq!(data.len(), count * arity);
        debug_assert!(arity == 0 || data.chunks_exact(arity).is_sorted_by(|a, b| a < b));
        Rows {
            arity,
            len: if arity == 0 { count.min(1) } else { count },
            data,
        }
    }

    /// The tuples stored flat, `arity` symbols each, in sorted order.
    pub(crate) fn flat(&self) -> &[Sym] {
        &self.data
    }

    /// Builds rows from tuples in any order.
    pub fn from_tuples<'a>(arity: usize, tuples: impl IntoIterator<Item = &'a [Sym]>) -> Rows {
        let mut data = Vec::new();
        let mut n = 0;
        for t in tuples {
            assert_eq!(t.len(), arity, "tuple arity must match the relation");
            data.extend_from_slice(t);
            n += 1;
        }
        Rows::from_unsorted(arity, n, data)
    }

    pub fn arity(&self) -> usize {
        self.arity
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The tuples in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &[Sym]> + '_ {
        let arity = self.arity;
        (0..self.len).map(move |i| &self.data[i * arity..(i + 1) * arity])
    }

    pub fn contains(&self, tuple: &[Sym]) -> bool {
        if self.arity == 0 {
            return self.len > 0;
        }
        let (mut lo, mut hi) = (0, self.len);
        while lo < hi {
            let mid = (lo + hi) / 2;
            let t = &self.data[mid * self.arity..(mid + 1) * self.arity];
            match t.cmp(tuple) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// The tuples whose first `prefix.len()` columns equal `prefix` (a binary-searched range).
    pub fn with_prefix<'a>(&'a self, prefix: &'a [Sym]) -> impl Iterator<Item = &'a [Sym]> + 'a {
        let (start, end) = self.prefix_range(prefix);
        (start..end).map(move |i| &self.data[i * self.arity..(i + 1) * self.arity])
    }

    /// The same tuples, as one flat slice (`arity` symbols a tuple); empty for arity 0.
    pub fn with_prefix_flat(&self, prefix: &[Sym]) -> &[Sym] {
        let (start, end) = self.prefix_range(prefix);
        &self.data[start * self.arity..end * self.arity]
    }

    /// The range of tuple indices whose first columns equal `prefix`.
    fn prefix_range(&self, prefix: &[Sym]) -> (usize, usize) {
        let k = prefix.len().min(self.arity);
        let prefix = &prefix[..k];
        let key = |i: usize| &self.data[i * self.arity..i * self.arity + k];
        let start = partition_point(self.len, |i| key(i) < prefix);
        let end = start + partition_point(self.len - start, |i| key(start + i) <= prefix);
        (start, end)
    }
}

fn partition_point(len: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The contents of every relation of a program, indexed by [`RelId`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Model {
    pub rows: Vec<Rows>,
}

impl Model {
    pub fn get(&self, rel: RelId) -> &Rows {
        &self.rows[rel.index()]
    }

    /// Total number of tuples.
    pub fn total(&self) -> usize {
        self.rows.iter().map(Rows::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// `from_unsorted` against a set of tuples, for every shape it treats apart: sorted input,
    /// repeats, arities 0 to 3.
    #[test]
    fn unsorted_rows_become_sorted_distinct_tuples() {
        let mut x = 7u32;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            Sym(x % 40)
        };
        for arity in 0..4 {
            for count in [0, 1, 2, 5, 300] {
                let random: Vec<Sym> = (0..count * arity).map(|_| next()).collect();
                let want: BTreeSet<Vec<Sym>> = random
                    .chunks_exact(arity.max(1))
                    .map(<[Sym]>::to_vec)
                    .collect();
                let sorted: Vec<Sym> = want.iter().flatten().copied().collect();
                for data in [random.clone(), sorted.clone()] {
                    let n = data.len().checked_div(arity).unwrap_or(count);
                    let rows = Rows::from_unsorted(arity, n, data);
                    if arity == 0 {
                        assert_eq!(rows.len(), usize::from(count > 0));
                        continue;
                    }
                    let got: Vec<Vec<Sym>> = rows.iter().map(<[Sym]>::to_vec).collect();
                    let want: Vec<Vec<Sym>> = want.iter().cloned().collect();
                    assert_eq!(got, want, "arity {arity}, {count} tuples");
                    assert_eq!(rows.len(), want.len());
                }
            }
        }
    }
}
