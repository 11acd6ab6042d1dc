//! The kernel's arithmetic: the float elements it reads ([`Real`], f32 and f64 widened to f64),
//! the multiply-add, and the dot product of a row with a target's weights, portable or with
//! AVX2 and FMA intrinsics.

/// A float element the kernel reads, widened to f64.
pub(crate) trait Real: Copy + Send + Sync {
    /// What the gradient's row terms `r x` are summed in over a block of
    /// [`BLOCK`](super::BLOCK) rows before they join the f64 sums: f64 for f64 data; f32 for
    /// f32 data, which saves widening every element twice (the residual `r` itself is computed
    /// in f64).
    type Block: Copy;
    const ZERO: Self::Block;
    fn wide(self) -> f64;
    fn narrow(r: f64) -> Self::Block;
    fn block_madd<const FMA: bool>(r: Self::Block, x: Self, acc: Self::Block) -> Self::Block;
    fn block_wide(sum: Self::Block) -> f64;
    /// `x . w` with AVX2 and FMA instructions.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA (the caller checked it at run time).
    #[cfg(target_arch = "x86_64")]
    unsafe fn dot_avx2(x: &[Self], w: &[f64]) -> f64;
}
impl Real for f64 {
    type Block = f64;
    const ZERO: f64 = 0.0;
    #[inline(always)]
    fn wide(self) -> f64 {
        self
    }
    #[inline(always)]
    fn narrow(r: f64) -> f64 {
        r
    }
    #[inline(always)]
    fn block_madd<const FMA: bool>(r: f64, x: f64, acc: f64) -> f64 {
        madd::<FMA>(r, x, acc)
    }
    #[inline(always)]
    fn block_wide(sum: f64) -> f64 {
        sum
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx2(x: &[f64], w: &[f64]) -> f64 {
        // SAFETY: the loads read 4 elements at j < len - 3 of both slices; the caller
        // guarantees the CPU features.
        unsafe { avx2::dot(x, w, |x, j| avx2::load_f64(x, j)) }
    }
}
impl Real for f32 {
    type Block = f32;
    const ZERO: f32 = 0.0;
    #[inline(always)]
    fn wide(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn narrow(r: f64) -> f32 {
        r as f32
    }
    #[inline(always)]
    fn block_madd<const FMA: bool>(r: f32, x: f32, acc: f32) -> f32 {
        if FMA { r.mul_add(x, acc) } else { r * x + acc }
    }
    #[inline(always)]
    fn block_wide(sum: f32) -> f64 {
        sum as f64
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn dot_avx2(x: &[f32], w: &[f64]) -> f64 {
        // SAFETY: as for f64.
        unsafe { avx2::dot(x, w, |x, j| avx2::load_f32(x, j)) }
    }
}

/// The dot product with AVX2 intrinsics: autovectorization left it scalar.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Four f64 of `x` from `j`, widened from f32.
    ///
    /// # Safety
    /// `j + 4 <= x.len()`; AVX.
    #[inline(always)]
    pub(super) unsafe fn load_f32(x: &[f32], j: usize) -> __m256d {
        unsafe { _mm256_cvtps_pd(_mm_loadu_ps(x.as_ptr().add(j))) }
    }

    /// Four f64 of `x` from `j`.
    ///
    /// # Safety
    /// `j + 4 <= x.len()`; AVX.
    #[inline(always)]
    pub(super) unsafe fn load_f64(x: &[f64], j: usize) -> __m256d {
        unsafe { _mm256_loadu_pd(x.as_ptr().add(j)) }
    }

    /// `x . w` over their common length: four 4-lane accumulators.
    ///
    /// # Safety
    /// AVX2 and FMA; `load(x, j)` reads 4 elements of `x` from `j`.
    #[inline(always)]
    pub(super) unsafe fn dot<T: Copy + Into<f64>>(
        x: &[T],
        w: &[f64],
        load: impl Fn(&[T], usize) -> __m256d,
    ) -> f64 {
        let n = x.len().min(w.len());
        let wp = w.as_ptr();
        // SAFETY: every load below reads 4 elements at j with j + 4 <= n.
        unsafe {
            let mut acc = [_mm256_setzero_pd(); 4];
            let mut j = 0;
            while j + 16 <= n {
                for (a, acc) in acc.iter_mut().enumerate() {
                    let o = j + 4 * a;
                    *acc = _mm256_fmadd_pd(load(x, o), _mm256_loadu_pd(wp.add(o)), *acc);
                }
                j += 16;
            }
            while j + 4 <= n {
                acc[0] = _mm256_fmadd_pd(load(x, j), _mm256_loadu_pd(wp.add(j)), acc[0]);
                j += 4;
            }
            let sum = _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
            let mut lanes = [0.0f64; 4];
            _mm256_storeu_pd(lanes.as_mut_ptr(), sum);
            let mut total = (lanes[0] + lanes[2]) + (lanes[1] + lanes[3]);
            for jj in j..n {
                total = x[jj].into().mul_add(w[jj], total);
            }
            total
        }
    }
}

#[inline(always)]
pub(super) fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}

/// Independent accumulators of a dot product (vector lanes, and no single dependency chain).
const LANES: usize = 8;

#[inline(always)]
pub(super) fn dot<T: Real, const FMA: bool>(x: &[T], w: &[f64]) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if FMA {
        // SAFETY: FMA = true is instantiated only in `rows_pass_avx2`, which runs after the
        // run-time check for AVX2 and FMA.
        return unsafe { T::dot_avx2(x, w) };
    }
    let mut acc = [0.0f64; LANES];
    let mut xc = x.chunks_exact(LANES);
    let mut wc = w.chunks_exact(LANES);
    for (xs, ws) in (&mut xc).zip(&mut wc) {
        for l in 0..LANES {
            acc[l] = madd::<FMA>(xs[l].wide(), ws[l], acc[l]);
        }
    }
    for (xv, wv) in xc.remainder().iter().zip(wc.remainder()) {
        acc[0] = madd::<FMA>(xv.wide(), *wv, acc[0]);
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}
