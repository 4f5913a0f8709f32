//! The tuple type a stratum is evaluated with.
//!
//! A stratum stores its relations' tuples as fixed-width inline arrays, `[Sym; W]` with `W` the
//! widest relation the stratum derives or reads incrementally, zero-padded to `W`. Padding is
//! the same for every tuple of a relation, so array order is the relations' lexicographic
//! order and tuples cost no heap allocation. Strata wider than [`MAX_INLINE`] columns fall back
//! to boxed slices.

use crate::ir::Sym;

/// The widest stratum stored inline.
pub(super) const MAX_INLINE: usize = 16;

/// A stored tuple: at least as many columns as its relation's arity.
pub(super) trait Tup: Clone + Ord + std::hash::Hash + 'static {
    /// The tuple holding `cols` (padded as the representation needs).
    fn from_cols(cols: &[Sym]) -> Self;
    /// The columns (the first `arity` are the relation's; the rest is padding).
    fn cols(&self) -> &[Sym];
    /// Appends the first `arity` columns to `out`.
    fn push_cols(&self, arity: usize, out: &mut Vec<Sym>) {
        out.extend_from_slice(&self.cols()[..arity]);
    }
}

impl<const N: usize> Tup for [Sym; N] {
    #[inline]
    fn from_cols(cols: &[Sym]) -> Self {
        let mut t = [Sym(0); N];
        // The stratum's width is the maximum arity it stores, so `cols` fits. A full-width
        // tuple is copied with a constant size, inline rather than by a call to `memcpy`.
        if cols.len() == N {
            t.copy_from_slice(cols);
        } else {
            t[..cols.len()].copy_from_slice(cols);
        }
        t
    }

    #[inline]
    fn cols(&self) -> &[Sym] {
        self
    }

    #[inline]
    fn push_cols(&self, arity: usize, out: &mut Vec<Sym>) {
        // As in `from_cols`: full width copies with a constant size.
        if arity == N {
            out.extend_from_slice(self);
        } else {
            out.extend_from_slice(&self[..arity]);
        }
    }
}

impl Tup for Box<[Sym]> {
    fn from_cols(cols: &[Sym]) -> Self {
        cols.into()
    }

    fn cols(&self) -> &[Sym] {
        self
    }
}

/// The width to monomorphise a stratum on: the smallest supported width of at least `arity`.
pub(super) fn width_class(arity: usize) -> usize {
    match arity {
        0..=4 => arity.max(1),
        5..=6 => 6,
        7..=8 => 8,
        9..=12 => 12,
        13..=MAX_INLINE => MAX_INLINE,
        _ => usize::MAX,
    }
}
