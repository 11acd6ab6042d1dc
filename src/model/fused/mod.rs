//! The linear model's squared-error loss as one Burn operation: from `X`, `Y`, `W` and `b` it
//! computes `s * sum((X W + b - Y)^2)` together with its gradients `2 s X^T r` and `2 s sum_rows r`
//! (`r` the residuals, `s` the loss's scale: 1 for the sum, `1 / (n k)` for the mean), reading
//! `X` once.
//!
//! It is a Burn backend extension ([`LinearLossBackend`]) with a hand-written backward pass on
//! Burn's autodiff: the forward pass keeps the two gradients, the backward pass scales them by
//! the incoming gradient. Backends:
//! - flex: a one-pass host kernel (rows in fixed chunks over rayon's threads, AVX2/FMA where the
//!   CPU has them, f64 accumulation for f32 and f64 data);
//! - ndarray and the cubecl backends (wgpu, cuda): the trait's default bodies, built from Burn's
//!   primitives (two reads of `X`, no autodiff graph).
//!
//! `X` and `Y` are constants of the operation: [`LinearModel::loss`](super::LinearModel::loss)
//! takes the plain autodiff graph when either carries one.

// Burn deprecates ndarray in favour of flex; linfit keeps supporting it.
#![cfg_attr(feature = "ndarray", allow(deprecated))]

use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Backend, Dispatch, TensorMetadata, backend_extension};
use burn::tensor::{Int, Shape, Tensor};

/// The fused loss: a Burn backend extension. Implemented for every backend linfit compiles in.
#[backend_extension(
    Flex: cfg(feature = "flex"),
    NdArray: cfg(feature = "ndarray"),
    Cube: cfg(any(feature = "wgpu", feature = "cuda")),
    Remote: cfg(feature = "distributed"),
    Autodiff
)]
pub trait LinearLossBackend: Backend {
    /// `scale * sum((x w + b - y)^2)`, shape `[1]`; differentiable in `w` and `b` on autodiff
    /// devices. `x` `[n, m]`, `y` `[n, k]`, `w` `[m, k]`, `b` `[k]`.
    fn linear_loss(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        scale: f64,
    ) -> FloatTensor<Self> {
        let r = residuals::<Self>(x, y, w, b);
        Self::float_mul_scalar(Self::float_sum(Self::float_mul(r.clone(), r)), scale.into())
    }

    /// The loss (`[1]`) and its gradients in `w` (`[m, k]`) and `b` (`[k]`), with no autodiff
    /// graph.
    fn linear_loss_grads(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        unfused_loss_grads::<Self>(x, y, w, b, scale)
    }

    /// [`linear_loss_grads`](Self::linear_loss_grads) on the rows of `x` and `y` listed in
    /// `rows` (`[batch]`, a shuffled mini-batch), read where they lie instead of gathered first.
    fn linear_loss_grads_rows(
        x: FloatTensor<Self>,
        y: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        rows: IntTensor<Self>,
        scale: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        let x = Self::float_select(x, 0, rows.clone());
        let y = Self::float_select(y, 0, rows);
        Self::linear_loss_grads(x, y, w, b, scale)
    }
}

/// `x w + b - y`, `[n, k]`, from Burn's primitives.
fn residuals<B: Backend>(
    x: FloatTensor<B>,
    y: FloatTensor<B>,
    w: FloatTensor<B>,
    b: FloatTensor<B>,
) -> FloatTensor<B> {
    let xw = B::float_matmul(x, w);
    let shape = xw.shape();
    let k = shape[1];
    let b = B::float_expand(B::float_reshape(b, Shape::new([1, k])), shape);
    B::float_sub(B::float_add(xw, b), y)
}

/// The portable loss and gradients: two reads of `x`.
fn unfused_loss_grads<B: Backend>(
    x: FloatTensor<B>,
    y: FloatTensor<B>,
    w: FloatTensor<B>,
    b: FloatTensor<B>,
    scale: f64,
) -> (FloatTensor<B>, FloatTensor<B>, FloatTensor<B>) {
    let k = w.shape()[1];
    let r = residuals::<B>(x.clone(), y, w, b);
    let loss = B::float_mul_scalar(
        B::float_sum(B::float_mul(r.clone(), r.clone())),
        scale.into(),
    );
    let r = B::float_mul_scalar(r, (2.0 * scale).into());
    let gw = B::float_matmul(B::float_transpose(x), r.clone());
    let gb = B::float_reshape(B::float_sum_dim(r, 0), Shape::new([k]));
    (loss, gw, gb)
}

#[cfg(feature = "ndarray")]
impl LinearLossBackend for burn::backend::NdArray {}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
impl LinearLossBackend for burn::backend::Cube {}

/// A remote device (a `linfit-worker`): the default bodies, plain tensor operations that the
/// worker runs.
#[cfg(feature = "distributed")]
impl LinearLossBackend for burn::backend::Remote {}

#[cfg(feature = "flex")]
mod flex {
    use burn::backend::Flex;
    use burn::backend::TensorMetadata;
    use burn::backend::flex::FlexTensor;
    use burn::backend::ops::FloatTensorOps;
    use burn::backend::tensor::{FloatTensor, IntTensor};
    use burn::tensor::{DType, Shape, TensorData};

    use std::borrow::Cow;

    use super::{LinearLossBackend, host_slice, unfused_loss_grads};
    use crate::model::fused::kernel::{self, Pass};

    impl LinearLossBackend for Flex {
        fn linear_loss(
            x: FloatTensor<Self>,
            y: FloatTensor<Self>,
            w: FloatTensor<Self>,
            b: FloatTensor<Self>,
            scale: f64,
        ) -> FloatTensor<Self> {
            match run(&x, &y, &w, &b, None, false) {
                Some(pass) => scalar(pass.loss * scale, x.dtype()),
                None => unfused_loss_grads::<Self>(x, y, w, b, scale).0,
            }
        }

        fn linear_loss_grads(
            x: FloatTensor<Self>,
            y: FloatTensor<Self>,
            w: FloatTensor<Self>,
            b: FloatTensor<Self>,
            scale: f64,
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            match run(&x, &y, &w, &b, None, true) {
                Some(pass) => gradients(pass, &w, scale),
                None => unfused_loss_grads::<Self>(x, y, w, b, scale),
            }
        }

        fn linear_loss_grads_rows(
            x: FloatTensor<Self>,
            y: FloatTensor<Self>,
            w: FloatTensor<Self>,
            b: FloatTensor<Self>,
            rows: IntTensor<Self>,
            scale: f64,
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            match run(&x, &y, &w, &b, Some(&rows), true) {
                Some(pass) => gradients(pass, &w, scale),
                None => {
                    let x = Self::float_select(x, 0, rows.clone());
                    let y = Self::float_select(y, 0, rows);
                    unfused_loss_grads::<Self>(x, y, w, b, scale)
                }
            }
        }
    }

    /// The loss and gradient tensors from a pass's sums.
    fn gradients(pass: Pass, w: &FlexTensor, scale: f64) -> (FlexTensor, FlexTensor, FlexTensor) {
        {
            let dtype = w.dtype();
            let [m, k] = w.shape().dims::<2>();
            let two_s = 2.0 * scale;
            // The kernel keeps W's gradient transposed ([k, m]); W is [m, k].
            let mut gw = vec![0.0; m * k];
            for t in 0..k {
                for j in 0..m {
                    gw[j * k + t] = two_s * pass.gw[t * m + j];
                }
            }
            let gb: Vec<f64> = pass.gb.iter().map(|g| two_s * g).collect();
            (
                scalar(pass.loss * scale, dtype),
                tensor(gw, [m, k], dtype),
                tensor(gb, [k], dtype),
            )
        }
    }

    /// The one-pass kernel on f32 or f64 data, over `rows` (i64 or i32 indices) if given;
    /// `None` for other types (the caller then takes the portable path).
    fn run(
        x: &FlexTensor,
        y: &FlexTensor,
        w: &FlexTensor,
        b: &FlexTensor,
        rows: Option<&FlexTensor>,
        grads: bool,
    ) -> Option<Pass> {
        let rows: Option<Cow<'_, [i64]>> = match rows {
            None => None,
            Some(r) => Some(match r.dtype() {
                DType::I64 => host_slice!(r, i64),
                DType::I32 => {
                    Cow::Owned(host_slice!(r, i32).iter().map(|&i| i64::from(i)).collect())
                }
                _ => return None,
            }),
        };
        let rows = rows.as_deref();
        let dtype = x.dtype();
        assert!(
            [y.dtype(), w.dtype(), b.dtype()]
                .iter()
                .all(|d| *d == dtype),
            "linear loss: mixed float types (x {dtype:?}, y {:?}, w {:?}, b {:?})",
            y.dtype(),
            w.dtype(),
            b.dtype()
        );
        let [n, m] = x.shape().dims::<2>();
        let [wm, k] = w.shape().dims::<2>();
        assert!(
            wm == m && y.shape().dims::<2>() == [n, k] && b.shape().num_elements() == k,
            "linear loss: shapes x {:?}, y {:?}, w {:?}, b {:?} do not fit x w + b - y",
            x.shape(),
            y.shape(),
            w.shape(),
            b.shape()
        );
        Some(match dtype {
            DType::F64 => kernel::pass(
                &host_slice!(x, f64),
                &host_slice!(y, f64),
                &host_slice!(w, f64),
                &host_slice!(b, f64),
                [n, m, k],
                rows,
                grads,
            ),
            DType::F32 => kernel::pass(
                &host_slice!(x, f32),
                &host_slice!(y, f32),
                &host_slice!(w, f32),
                &host_slice!(b, f32),
                [n, m, k],
                rows,
                grads,
            ),
            _ => return None,
        })
    }

    fn scalar(value: f64, dtype: DType) -> FlexTensor {
        tensor(vec![value], [1], dtype)
    }

    fn tensor<const D: usize>(values: Vec<f64>, shape: [usize; D], dtype: DType) -> FlexTensor {
        let data = TensorData::new(values, Shape::new(shape));
        FlexTensor::from_data(match dtype {
            DType::F64 => data,
            _ => data.convert_dtype(dtype),
        })
    }
}

/// A flex tensor's elements as a row-major host slice of `$ty` (a copy only for a strided
/// view). The caller has checked the float type.
#[cfg(feature = "flex")]
macro_rules! host_slice {
    ($t:expr, $ty:ty) => {
        match $t.as_slice::<$ty>() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(
                $t.to_contiguous()
                    .as_slice::<$ty>()
                    .expect("a contiguous tensor of the checked float type")
                    .to_vec(),
            ),
        }
    };
}
#[cfg(feature = "flex")]
use host_slice;

/// The host kernel: one pass over the rows of `X`.
#[cfg_attr(not(feature = "flex"), allow(dead_code))]
pub(crate) mod kernel {
    use rayon::prelude::*;

    /// Elements of `X` per chunk of rows (1 MiB of f64): chunks are the unit of parallel work
    /// and of summation, so results do not depend on the number of threads.
    const CHUNK_ELEMENTS: usize = 1 << 17;

    /// Rows per chunk for `m` columns.
    fn chunk_rows(m: usize) -> usize {
        (CHUNK_ELEMENTS / m.max(1)).max(16)
    }

    /// What one pass returns: the sum of squared residuals, and (when asked for) `X^T r`
    /// transposed (`[k, m]`) and the column sums of the residuals `[k]`.
    pub(crate) struct Pass {
        pub(crate) loss: f64,
        pub(crate) gw: Vec<f64>,
        pub(crate) gb: Vec<f64>,
    }

    /// A float element the kernel reads, widened to f64.
    pub(crate) trait Real: Copy + Send + Sync {
        /// What the gradient's row terms `r x` are summed in over a block of [`BLOCK`] rows
        /// before they join the f64 sums: f64 for f64 data; f32 for f32 data, which saves
        /// widening every element twice (the residual `r` itself is computed in f64).
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
                let sum =
                    _mm256_add_pd(_mm256_add_pd(acc[0], acc[1]), _mm256_add_pd(acc[2], acc[3]));
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

    /// Rows whose gradient terms are summed in [`Real::Block`] before joining the f64 sums
    /// (for f32 data: the block sums' rounding, ~1e-6 relative, stays below the data's own).
    const BLOCK: usize = 64;

    /// One pass over `x` `[n, m]`, `y` `[n, k]` with `w` `[m, k]`, `b` `[k]`, all row-major;
    /// over the rows listed in `rows` (in that order) when given, else over all of them.
    ///
    /// # Panics
    /// When an entry of `rows` is not a row of `x` (as Burn's `select`).
    pub(crate) fn pass<T: Real>(
        x: &[T],
        y: &[T],
        w: &[T],
        b: &[T],
        [n, m, k]: [usize; 3],
        rows: Option<&[i64]>,
        grads: bool,
    ) -> Pass {
        if let Some(&bad) = rows.and_then(|r| r.iter().find(|&&i| i < 0 || i as usize >= n)) {
            panic!("linear loss: row index {bad} out of range for {n} rows");
        }
        // W transposed, [k, m], so each target's weights are contiguous.
        let mut wt = vec![0.0; k * m];
        for j in 0..m {
            for t in 0..k {
                wt[t * m + j] = w[j * k + t].wide();
            }
        }
        let b: Vec<f64> = b.iter().map(|v| v.wide()).collect();
        let count = rows.map_or(n, <[i64]>::len);
        // Scattered rows cost a memory latency each: smaller chunks, so that a mini-batch is
        // spread over the cores.
        let per_chunk = if rows.is_some() {
            (chunk_rows(m) / 32).max(16)
        } else {
            chunk_rows(m)
        };
        let chunk = |start: usize| {
            let end = (start + per_chunk).min(count);
            let mut part = Pass {
                loss: 0.0,
                gw: if grads { vec![0.0; k * m] } else { Vec::new() },
                gb: if grads { vec![0.0; k] } else { Vec::new() },
            };
            let weights = Weights {
                wt: &wt,
                b: &b,
                m,
                k,
            };
            match rows {
                Some(rows) => rows_pass(
                    &Gathered {
                        x,
                        y,
                        rows: &rows[start..end],
                        m,
                        k,
                    },
                    &weights,
                    &mut part,
                    grads,
                ),
                None => rows_pass(
                    &Contiguous {
                        x: &x[start * m..end * m],
                        y: &y[start * k..end * k],
                        m,
                        k,
                    },
                    &weights,
                    &mut part,
                    grads,
                ),
            }
            part
        };
        if count <= per_chunk {
            return chunk(0);
        }
        let parts: Vec<Pass> = (0..count.div_ceil(per_chunk))
            .into_par_iter()
            .map(|c| chunk(c * per_chunk))
            .collect();
        let mut total = Pass {
            loss: 0.0,
            gw: vec![0.0; if grads { k * m } else { 0 }],
            gb: vec![0.0; if grads { k } else { 0 }],
        };
        for part in parts {
            total.loss += part.loss;
            total.gw.iter_mut().zip(&part.gw).for_each(|(a, v)| *a += v);
            total.gb.iter_mut().zip(&part.gb).for_each(|(a, v)| *a += v);
        }
        total
    }

    /// The parameters as the kernel reads them: `W` transposed (`[k, m]`), `b`, in f64.
    struct Weights<'a> {
        wt: &'a [f64],
        b: &'a [f64],
        m: usize,
        k: usize,
    }

    /// Where the rows of a pass come from.
    trait Rows<T> {
        fn len(&self) -> usize;
        /// Row `i`'s features and targets.
        fn row(&self, i: usize) -> (&[T], &[T]);
        /// Asks the CPU to start loading row `i`, needed soon.
        fn prefetch(&self, _i: usize) {}
    }

    /// Consecutive rows.
    struct Contiguous<'a, T> {
        x: &'a [T],
        y: &'a [T],
        m: usize,
        k: usize,
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
    struct Gathered<'a, T> {
        x: &'a [T],
        y: &'a [T],
        rows: &'a [i64],
        m: usize,
        k: usize,
    }

    /// Rows ahead of the current one whose loads are started: random rows come from memory,
    /// and a few in flight hide most of its latency.
    const PREFETCH_AHEAD: usize = 32;

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

    /// Adds the rows' squared residuals and gradient terms to `acc`.
    fn rows_pass<T: Real, R: Rows<T>>(rows: &R, weights: &Weights, acc: &mut Pass, grads: bool) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            // No AVX-512 build: at 10^6 x 32 it was 10-15% slower than AVX2 on this machine.
            if has!("avx2") && has!("fma") {
                // SAFETY: the CPU has the features this build of the kernel was compiled for.
                unsafe { rows_pass_avx2(rows, weights, acc, grads) };
                return;
            }
        }
        rows_pass_generic::<T, R, false>(rows, weights, acc, grads);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn rows_pass_avx2<T: Real, R: Rows<T>>(
        rows: &R,
        weights: &Weights,
        acc: &mut Pass,
        grads: bool,
    ) {
        rows_pass_generic::<T, R, true>(rows, weights, acc, grads);
    }

    #[inline(always)]
    fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
        if FMA { a.mul_add(b, c) } else { a * b + c }
    }

    /// Independent accumulators of a dot product (vector lanes, and no single dependency chain).
    const LANES: usize = 8;

    #[inline(always)]
    fn dot<T: Real, const FMA: bool>(x: &[T], w: &[f64]) -> f64 {
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

    #[inline(always)]
    fn rows_pass_generic<T: Real, R: Rows<T>, const FMA: bool>(
        rows: &R,
        weights: &Weights,
        acc: &mut Pass,
        grads: bool,
    ) {
        let Weights { wt, b, m, k } = *weights;
        let mut loss = 0.0;
        let mut block = vec![T::ZERO; if grads { k * m } else { 0 }];
        let flush = |block: &mut [T::Block], gw: &mut [f64]| {
            for (g, s) in gw.iter_mut().zip(block.iter_mut()) {
                *g += T::block_wide(*s);
                *s = T::ZERO;
            }
        };
        for i in 0..rows.len() {
            rows.prefetch(i + PREFETCH_AHEAD);
            let (row, targets) = rows.row(i);
            for t in 0..k {
                let r = dot::<T, FMA>(row, &wt[t * m..(t + 1) * m]) + b[t] - targets[t].wide();
                loss = madd::<FMA>(r, r, loss);
                if grads {
                    acc.gb[t] += r;
                    let r = T::narrow(r);
                    for (g, xv) in block[t * m..(t + 1) * m].iter_mut().zip(row) {
                        *g = T::block_madd::<FMA>(r, *xv, *g);
                    }
                }
            }
            if grads && (i + 1) % BLOCK == 0 {
                flush(&mut block, &mut acc.gw);
            }
        }
        if grads {
            flush(&mut block, &mut acc.gw);
        }
        acc.loss += loss;
    }
}

/// The fused loss of `x w + b` against `y`, scaled by `scale`: one autodiff node whose parents
/// are `w` and `b` (`x` and `y` are constants).
pub(crate) fn linear_loss(
    x: Tensor<2>,
    y: Tensor<2>,
    w: Tensor<2>,
    b: Tensor<1>,
    scale: f64,
) -> Tensor<1> {
    Tensor::from_dispatch(<Dispatch as LinearLossBackend>::linear_loss(
        x.into_dispatch(),
        y.into_dispatch(),
        w.into_dispatch(),
        b.into_dispatch(),
        scale,
    ))
}

/// The fused loss and its gradients in `w` and `b`, with no autodiff graph: on the tensors'
/// plain device.
pub(crate) fn linear_loss_grads(
    x: Tensor<2>,
    y: Tensor<2>,
    w: Tensor<2>,
    b: Tensor<1>,
    scale: f64,
) -> (Tensor<1>, Tensor<2>, Tensor<1>) {
    from_dispatch(<Dispatch as LinearLossBackend>::linear_loss_grads(
        x.into_dispatch(),
        y.into_dispatch(),
        w.into_dispatch(),
        b.into_dispatch(),
        scale,
    ))
}

/// The loss and gradients an extension call returns, as tensors.
fn from_dispatch(
    (loss, gw, gb): (
        FloatTensor<Dispatch>,
        FloatTensor<Dispatch>,
        FloatTensor<Dispatch>,
    ),
) -> (Tensor<1>, Tensor<2>, Tensor<1>) {
    (
        Tensor::from_dispatch(loss),
        Tensor::from_dispatch(gw),
        Tensor::from_dispatch(gb),
    )
}

/// [`linear_loss_grads`] on the rows of `x` and `y` listed in `rows`.
pub(crate) fn linear_loss_grads_rows(
    x: Tensor<2>,
    y: Tensor<2>,
    w: Tensor<2>,
    b: Tensor<1>,
    rows: Tensor<1, Int>,
    scale: f64,
) -> (Tensor<1>, Tensor<2>, Tensor<1>) {
    from_dispatch(<Dispatch as LinearLossBackend>::linear_loss_grads_rows(
        x.into_dispatch(),
        y.into_dispatch(),
        w.into_dispatch(),
        b.into_dispatch(),
        rows.into_dispatch(),
        scale,
    ))
}

mod autodiff {
    use burn::backend::autodiff::{
        Autodiff,
        checkpoint::{base::Checkpointer, strategy::CheckpointStrategy},
        grads::Gradients,
        ops::{Backward, Ops, OpsKind},
    };
    use burn::backend::tensor::{FloatTensor, IntTensor};
    use burn::backend::{AutodiffBackend, Backend, TensorMetadata};
    use burn::tensor::Shape;

    use super::LinearLossBackend;

    impl<B: LinearLossBackend, C: CheckpointStrategy> LinearLossBackend for Autodiff<B, C> {
        fn linear_loss(
            x: FloatTensor<Self>,
            y: FloatTensor<Self>,
            w: FloatTensor<Self>,
            b: FloatTensor<Self>,
            scale: f64,
        ) -> FloatTensor<Self> {
            /// The backward pass: the gradients the forward pass computed, times the
            /// incoming gradient.
            #[derive(Debug)]
            struct LinearLossBackward;

            impl<B: Backend> Backward<B, 2> for LinearLossBackward {
                /// The gradients of the loss in `w` and `b`.
                type State = (FloatTensor<B>, FloatTensor<B>);

                fn backward(
                    self,
                    ops: Ops<Self::State, 2>,
                    grads: &mut Gradients,
                    _: &mut Checkpointer,
                ) {
                    let [node_w, node_b] = ops.parents;
                    let grad = grads.consume::<B>(&ops.node);
                    let (gw, gb) = ops.state;
                    if let Some(node) = node_w {
                        let g = B::float_reshape(grad.clone(), Shape::new([1, 1]));
                        let g = B::float_expand(g, gw.shape());
                        grads.register::<B>(node.id, B::float_mul(gw, g));
                    }
                    if let Some(node) = node_b {
                        let g = B::float_expand(grad, gb.shape());
                        grads.register::<B>(node.id, B::float_mul(gb, g));
                    }
                }
            }

            match LinearLossBackward
                .prepare::<C>([w.node(), b.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    let (loss, gw, gb) = B::linear_loss_grads(
                        x.into_primitive(),
                        y.into_primitive(),
                        w.into_primitive(),
                        b.into_primitive(),
                        scale,
                    );
                    prep.finish((gw, gb), loss)
                }
                OpsKind::UnTracked(prep) => prep.finish(B::linear_loss(
                    x.into_primitive(),
                    y.into_primitive(),
                    w.into_primitive(),
                    b.into_primitive(),
                    scale,
                )),
            }
        }

        fn linear_loss_grads(
            x: FloatTensor<Self>,
            y: FloatTensor<Self>,
            w: FloatTensor<Self>,
            b: FloatTensor<Self>,
            scale: f64,
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            let (loss, gw, gb) = B::linear_loss_grads(
                x.into_primitive(),
                y.into_primitive(),
                w.into_primitive(),
                b.into_primitive(),
                scale,
            );
            (
                Self::from_inner(loss),
                Self::from_inner(gw),
                Self::from_inner(gb),
            )
        }

        fn linear_loss_grads_rows(
            x: FloatTensor<Self>,
            y: FloatTensor<Self>,
            w: FloatTensor<Self>,
            b: FloatTensor<Self>,
            rows: IntTensor<Self>,
            scale: f64,
        ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
            let (loss, gw, gb) = B::linear_loss_grads_rows(
                x.into_primitive(),
                y.into_primitive(),
                w.into_primitive(),
                b.into_primitive(),
                rows,
                scale,
            );
            (
                Self::from_inner(loss),
                Self::from_inner(gw),
                Self::from_inner(gb),
            )
        }
    }
}
