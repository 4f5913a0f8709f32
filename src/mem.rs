//! Memory: large tables read at random places, prefetching, and comparing short byte strings.

/// `n` copies of `value` in memory that the kernel is asked, when it is large, to back with
/// huge pages: lookups at random places in a table of many MiB then miss the TLB far less
/// often (with 4 KiB pages, nearly every lookup would walk the page tables).
pub(crate) fn large_vec<T: Clone>(n: usize, value: T) -> Vec<T> {
    let mut v = large_capacity(n);
    v.resize(n, value);
    v
}

/// An empty vector with room for `n` elements, in memory advised as [`large_vec`]'s is.
pub(crate) fn large_capacity<T>(n: usize) -> Vec<T> {
    let v = Vec::with_capacity(n);
    // (advised before the first write, so that the pages are faulted in huge)
    advise_huge_pages(
        v.as_ptr() as usize,
        v.capacity().saturating_mul(std::mem::size_of::<T>()),
    );
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

/// Asks the processor to start fetching the cache line that holds `value`, so that a read of
/// it a little later does not wait for memory; only a hint, with no effect on the program.
#[inline(always)]
pub(crate) fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch neither reads nor writes memory as far as the program is concerned
    // and never faults; `value` is a live reference in any case.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// Whether two byte strings are equal. Short ones (most refs, kinds and keys are) are compared
/// a word at a time in place, rather than by a call to the library's comparison.
#[inline]
pub fn same(a: &[u8], b: &[u8]) -> bool {
    /// The `N` bytes of `s` from `at`, as a word.
    #[inline]
    fn word<const N: usize>(s: &[u8], at: usize) -> Option<[u8; N]> {
        s.get(at..at + N).and_then(|w| w.try_into().ok())
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0 => true,
        1..=3 => a.iter().zip(b).all(|(x, y)| x == y),
        // Two words that overlap when `n` is less than twice a word.
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_vec_holds_n_copies() {
        let big = large_vec(300_000, [7u32; 4]);
        assert_eq!(big.len(), 300_000);
        assert!(big.iter().all(|x| *x == [7; 4]));
        assert!(large_vec(0, 1u8).is_empty());
    }

    #[test]
    fn same_agrees_with_slice_equality() {
        let base: Vec<u8> = (0..40u8).map(|b| b'a' + b % 26).collect();
        let mut checked = 0;
        for n in 0..base.len() {
            let a = &base[..n];
            // Equal, each byte changed in turn, and every other length.
            assert!(same(a, a), "{n}");
            for k in 0..n {
                let mut b = a.to_vec();
                b[k] ^= 0x20;
                assert!(!same(a, &b), "{n} {k}");
                checked += 1;
            }
            for m in 0..base.len() {
                assert_eq!(same(a, &base[..m]), n == m, "{n} {m}");
            }
        }
        assert!(checked > 700);
    }
}
