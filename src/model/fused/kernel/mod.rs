//! The host kernel: one pass over the rows of `X`, in fixed chunks of rows over rayon's threads.

mod rows;
mod simd;

use rayon::prelude::*;

use rows::{Contiguous, Gathered, PREFETCH_AHEAD, Rows};
use simd::{Real, dot, madd};

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
    let weights = Weights {
        wt: &wt,
        b: &b,
        m,
        k,
    };
    let chunk = |start: usize| {
        let end = (start + per_chunk).min(count);
        chunk_pass(x, y, rows, &weights, [start, end], grads)
    };
    if count <= per_chunk {
        return chunk(0);
    }
    let parts: Vec<Pass> = (0..count.div_ceil(per_chunk))
        .into_par_iter()
        .map(|c| chunk(c * per_chunk))
        .collect();
    sum_parts(parts, [m, k], grads)
}

/// The sums of the rows `start..end` of a pass: of `x` and `y`, or of the list `rows` when
/// given.
fn chunk_pass<T: Real>(
    x: &[T],
    y: &[T],
    rows: Option<&[i64]>,
    weights: &Weights,
    [start, end]: [usize; 2],
    grads: bool,
) -> Pass {
    let Weights { m, k, .. } = *weights;
    let mut part = Pass {
        loss: 0.0,
        gw: if grads { vec![0.0; k * m] } else { Vec::new() },
        gb: if grads { vec![0.0; k] } else { Vec::new() },
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
            weights,
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
            weights,
            &mut part,
            grads,
        ),
    }
    part
}

/// The chunks' sums added up, in chunk order (so that the result does not depend on the
/// number of threads).
fn sum_parts(parts: Vec<Pass>, [m, k]: [usize; 2], grads: bool) -> Pass {
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
fn rows_pass_avx2<T: Real, R: Rows<T>>(rows: &R, weights: &Weights, acc: &mut Pass, grads: bool) {
    rows_pass_generic::<T, R, true>(rows, weights, acc, grads);
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
