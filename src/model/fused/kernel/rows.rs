//! Where the rows of a pass come from: consecutive rows, or the rows of a shuffled mini-batch
//! read where they lie (with their loads started ahead).

/// Where the rows of a pass come from.
pub(super) trait Rows<T> {
    fn len(&self) -> usize;
    /// Row `i`'s features and targets.
    fn row(&self, i: usize) -> (&[T], &[T]);
    /// Asks the CPU to start loading row `i`, needed soon.
    fn prefetch(&self, _i: usize) {}
}

/// Consecutive rows.
pub(super) struct Contiguous<'a, T> {
    pub(super) x: &'a [T],
    pub(super) y: &'a [T],
    pub(super) m: usize,
    pub(super) k: usize,
}

impl<T> Rows<T> for Contiguous<'_, T> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.y.len() / self.k
    }
    #[inline(always)]
    fn row(&self, i: usize) -> (&[T], &[T]) {
        (
            &self.x[i * self.m..(i + 1) * self.m],
            &self.y[i * self.k..(i + 1) * self.k],
        )
    }
}

/// The rows listed in `rows` (a shuffled mini-batch), read where they lie.
pub(super) struct Gathered<'a, T> {
    pub(super) x: &'a [T],
    pub(super) y: &'a [T],
    pub(super) rows: &'a [i64],
    pub(super) m: usize,
    pub(super) k: usize,
}

/// Rows ahead of the current one whose loads are started: random rows come from memory,
/// and a few in flight hide most of its latency.
pub(super) const PREFETCH_AHEAD: usize = 32;

impl<T> Rows<T> for Gathered<'_, T> {
    #[inline(always)]
    fn len(&self) -> usize {
        self.rows.len()
    }
    #[inline(always)]
    fn row(&self, i: usize) -> (&[T], &[T]) {
        let r = self.rows[i] as usize;
        (
            &self.x[r * self.m..(r + 1) * self.m],
            &self.y[r * self.k..(r + 1) * self.k],
        )
    }
    #[inline(always)]
    fn prefetch(&self, i: usize) {
        #[cfg(target_arch = "x86_64")]
        if let Some(&r) = self.rows.get(i) {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            let r = r as usize;
            let row = &self.x[r * self.m..(r + 1) * self.m];
            let bytes = std::mem::size_of_val(row);
            let start = row.as_ptr().cast::<i8>();
            // Every cache line of the row, and the target.
            for offset in (0..bytes).step_by(64) {
                // SAFETY: prefetching is a hint with no effect on memory; the address is
                // inside the row (in bounds of `x`).
                unsafe { _mm_prefetch::<_MM_HINT_T0>(start.add(offset)) };
            }
            // SAFETY: as above, an element of `y`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(self.y[r * self.k..].as_ptr().cast::<i8>()) };
        }
    }
}
