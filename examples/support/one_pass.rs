//! The memory limit of a training step, shared by the `training_timing` example and the
//! benches: one read of the features.

use rayon::prelude::*;

/// `sum(x w)` over the rows of `x` (row-major, `w.len()` columns): eight accumulators per
/// thread, so that the loop runs at the speed of reading; rows split over rayon's threads, as
/// linfit's kernel. What numpy's `X @ w` costs.
pub fn one_pass<T: Copy + Into<f64> + Sync>(x: &[T], w: &[f64]) -> f64 {
    let m = w.len();
    x.par_chunks(4096 * m)
        .map(|rows| {
            let mut acc = [0.0f64; 8];
            for row in rows.chunks_exact(m) {
                for (xs, ws) in row.chunks_exact(8).zip(w.chunks_exact(8)) {
                    for l in 0..8 {
                        acc[l] += xs[l].into() * ws[l];
                    }
                }
                let tail = m - m % 8;
                for (a, b) in row[tail..].iter().zip(&w[tail..]) {
                    acc[0] += (*a).into() * b;
                }
            }
            acc.iter().sum::<f64>()
        })
        .sum()
}
