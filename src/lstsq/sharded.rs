//! [`LeastSquares::fit_sharded`]: the closed form of rows spread over devices, from exact
//! Gram blocks computed where the rows live.
//!
//! The normal equations are usually the inaccurate way to least squares: forming `X^T X` in
//! floating point rounds it, and the rounding is amplified by `cond(X)^2`. Here the Gram
//! matrix of `D = [1 | X | Y]` is formed *exactly* with the shards' own matmul, by the Ozaki
//! scheme: on each shard every column `j` is cut into 3 slices of 21 bits,
//! `D[:, j] = sum_s S_s[:, j] 2^(e_j - 21 (s + 1))` with integer-valued `S_s`, `|S_s| <= 2^21`
//! (`2^e_j` bounds the column, a power of two, so the cuts are exact). Over a block of 1024
//! rows every product of two slices and every partial sum of a matmul is an integer below
//! `2^53`, so Burn's `f64` matmul computes the block's `S_s^T S_t` without rounding, in any
//! order, on any backend; each block product is then split exactly at `2^26` and the halves
//! summed over the blocks, which stays exact up to `2^36` rows per shard. The client reads the
//! 6 products (`12 p^2` numbers per shard), scales them by powers of two and sums them in
//! double-double: `D^T D` to about 32 digits. The slices hold 63 bits of each column below its
//! largest value (all of its values near the top, and the rest to `2^-63` of the largest), a
//! backward error far below Householder QR's.
//!
//! The Cholesky factor of that Gram matrix, computed in double-double, is the `R` factor of `D`
//! to double-double accuracy where `cond(X)^2` stays well inside 32 digits (the NIST designs
//! do), and the rest is the streamed QR's: the rank, singular values and null space from the
//! SVD of the column-scaled `R` rounded to `f64`, the sums of squares from its target columns;
//! a full-rank `Qr` solution is the back substitution in double-double (where the in-memory
//! path refines with residuals: here no residual pass is needed, the equations are exact).
//!
//! With an intercept, a column whose values lie within a factor of two of each other (a year,
//! a timestamp, `1e12 +` a fraction) is first shifted, exactly, by its end nearest zero, so
//! that the factor's centring never subtracts a large mean from itself (the exact Gram matrix
//! of unshifted data would still lose `(mean / sd)^2` of the double-double digits there).
//!
//! Per fit, two rounds of jobs: each shard sends its columns' minima and maxima (`2 (m + k)`
//! numbers), then receives the shifts and sends `m + k` maxima and `12 p^2` integers; the data
//! never move. The work on a shard is about 6 times a plain `X^T X` (the slice products) and a
//! dozen elementwise passes.

use burn::tensor::{Tensor, TensorData};

use super::double_double::Dd;
use super::host::Scaling;
use super::row_passes::par_row_ranges;
use super::streamed_qr::{Factor, RankRule, Refinable, solve_factor};
use super::{About, LeastSquares, LeastSquaresFit, Solver, Weighting};
use crate::data::{Dataset, ShardWorkers, ShardedDataset};
use crate::float::{exact_shift, exponent_above, scale2, times_pow2};
use crate::{Error, Precision, Result};

/// Rows per chunk of a shard's passes: a chunk's slices are a few copies of it on the device,
/// and its block products `rows / 1024` matrices of `p x p`, kept to about 32 MiB. 2^16 rows
/// measured best on the CPU, locally and through a worker (2^18 took 1.7x as long there).
fn chunk_rows(p: usize) -> usize {
    let blocks = ((1usize << 22) / (p * p).max(1)).max(1);
    (1usize << 16).min(blocks * BLOCK)
}

/// Rows per block of the products: each block's product of two slices is exact on its own
/// (`BLOCK 2^(2 beta) <= 2^53` with [`BETA`]), then split in two halves whose sums over
/// the blocks are exact too.
const BLOCK: usize = 1024;
/// Bits per slice: `(53 - 11) / 2`, as `BLOCK = 2^10` rows need 11 bits.
const BETA: i32 = 21;
/// Slices per column: 63 bits of each column below its largest value.
const LEVELS: usize = 3;
/// The split of a block product `v = hi 2^SPLIT + lo` (`|v| <= 2^52`): `|hi| <= 2^26` and
/// `|lo| <= 2^25`, so that up to `2^26` blocks (`2^36` rows per shard) add up exactly.
const SPLIT: i32 = 26;
/// Rows per shard the exact sums allow.
const MAX_SHARD_ROWS: usize = BLOCK << 26;

/// The slice pairs `(s, t)`, `s <= t`, whose products are formed.
fn pairs() -> impl Iterator<Item = (usize, usize)> {
    (0..LEVELS).flat_map(|s| (s..LEVELS).map(move |t| (s, t)))
}

/// A job for a shard's thread: its columns' ranges, or its Gram blocks of the data shifted by
/// one value per feature and target.
enum ShardJob {
    Ranges,
    Gram(std::sync::Arc<Vec<f64>>),
}

/// A shard's answer to a [`ShardJob`].
enum ShardAnswer {
    Ranges(Vec<(f64, f64)>),
    Gram(ShardGram),
}

/// What a shard sends back for its Gram blocks.
struct ShardGram {
    /// Per column of `D`: every value has magnitude below `2^e`.
    exponents: Vec<i32>,
    /// The largest magnitude of each shifted (and weighted) feature and target column.
    largest: Vec<f64>,
    /// Per pair of [`pairs`]: `S_s^T S_t` as its two exact halves (`p x p` row-major each).
    products: Vec<(Vec<f64>, Vec<f64>)>,
}

/// Rounds values below `2^51` in magnitude to integers (ties to even). On this machine's
/// CPU backends, which run each operation as written, by adding and subtracting `1.5 2^52`
/// (two vectorised passes, faster than flex's `round`); elsewhere (a GPU's fused
/// kernels, a worker's unknown backend) by `round`.
fn round(v: Tensor<2>, host: bool) -> Tensor<2> {
    if host {
        let magic = 1.5 * scale2(1.0, 52);
        v.add_scalar(magic).sub_scalar(magic)
    } else {
        v.round()
    }
}

/// `a^T b` over the rows of two slices as exact halves `(hi, lo)`, each `[1, p, p]`: the rows
/// in blocks of [`BLOCK`] multiplied as one batch (the rows left over as one more product),
/// each block's product split at `2^SPLIT` and the halves summed over the blocks.
fn exact_product(a: &Tensor<2>, b: &Tensor<2>) -> (Tensor<3>, Tensor<3>) {
    let [rows, p] = a.dims();
    let blocks = rows / BLOCK;
    let main = blocks * BLOCK;
    let mut products = Vec::with_capacity(2);
    if blocks > 0 {
        let a3 = a.clone().slice(0..main).reshape([blocks, BLOCK, p]);
        let b3 = b.clone().slice(0..main).reshape([blocks, BLOCK, p]);
        products.push(a3.swap_dims(1, 2).matmul(b3));
    }
    if main < rows {
        let rest = a
            .clone()
            .slice(main..rows)
            .transpose()
            .matmul(b.clone().slice(main..rows));
        products.push(rest.reshape([1, p, p]));
    }
    let v = Tensor::cat(products, 0);
    let hi = v.clone().mul_scalar(scale2(1.0, -SPLIT)).round();
    let lo = v - hi.clone().mul_scalar(scale2(1.0, SPLIT));
    (hi.sum_dim(0), lo.sum_dim(0))
}

/// The rows' factors `sqrt(w 2^e)` of rows `rows` of `shard`, as a column (`None` without
/// weights).
fn root_weights(
    shard: &Dataset,
    weight_exponent: Option<i32>,
    rows: std::ops::Range<usize>,
) -> Option<Tensor<2>> {
    let e = weight_exponent?;
    let count = rows.len();
    // The shard's weights on its device are `w 2^-e_s` (its own normalisation).
    let w = shard.device_weights()?;
    Some(
        times_pow2(w.tensor.slice(rows), e + w.exponent)
            .sqrt()
            .reshape([count, 1]),
    )
}

/// The smallest and largest value of each feature and target column of the shard, over its
/// rows of positive weight (`(+inf, -inf)` where there is none).
fn shard_ranges(shard: &Dataset, weight_exponent: Option<i32>) -> Result<Vec<(f64, f64)>> {
    let (m, k) = (shard.n_features(), shard.n_targets());
    let chunk = chunk_rows(1 + m + k);
    let parts = par_row_ranges(
        shard,
        chunk,
        || None,
        |acc: &mut Option<(Tensor<2>, Tensor<2>)>, rows, x, y| {
            let both = Tensor::cat(vec![x, y], 1);
            // Rows of weight zero do not count (as in memory, where they are left out).
            let (low, high) = match root_weights(shard, weight_exponent, rows) {
                Some(r) => {
                    let dropped = r.equal_elem(0.0).expand(both.dims());
                    (
                        both.clone()
                            .mask_fill(dropped.clone(), f64::INFINITY)
                            .min_dim(0),
                        both.mask_fill(dropped, f64::NEG_INFINITY).max_dim(0),
                    )
                }
                None => (both.clone().min_dim(0), both.max_dim(0)),
            };
            *acc = Some(match acc.take() {
                None => (low, high),
                Some((l, h)) => (l.min_pair(low), h.max_pair(high)),
            });
            Ok(())
        },
    )?;
    let mut range = vec![(f64::INFINITY, f64::NEG_INFINITY); m + k];
    for (low, high) in parts.into_iter().flatten() {
        let (low, high) = (
            crate::device::read_f64(low)?,
            crate::device::read_f64(high)?,
        );
        for (j, r) in range.iter_mut().enumerate() {
            *r = (r.0.min(low[j]), r.1.max(high[j]));
        }
    }
    Ok(range)
}

/// The shard's exact Gram blocks of `[1 | X - c | Y - c]` (`c` = `shift`, one per feature and
/// target; see the module documentation): one pass for the column maxima, one for the slices
/// and their products, both on the shard's device. With sample weights, `weight_exponent`
/// (`-e`, `2^e` above the largest weight of all shards) gives the rows' factors
/// `sqrt(w 2^-e)`: the Gram matrix of the weighted rows, whose leading column is those factors
/// (below 1, or below sqrt(2) for weights from 2^1023) instead of ones.
fn shard_gram(
    shard: &Dataset,
    intercept: bool,
    weight_exponent: Option<i32>,
    shift: &[f64],
) -> Result<ShardGram> {
    let (m, k) = (shard.n_features(), shard.n_targets());
    let lead = usize::from(intercept);
    let p = lead + m + k;
    let chunk = chunk_rows(p);
    let device = shard.device();
    let dtype = shard.features().dtype();
    let row = |values: Vec<f64>, width: usize| {
        Tensor::<2>::from_data(TensorData::new(values, [1, width]), (&device, dtype))
    };
    let shift_row = shift
        .iter()
        .any(|&c| c != 0.0)
        .then(|| row(shift.to_vec(), m + k));
    // The chunk's features and targets, shifted and weighted.
    let prepared = |rows: std::ops::Range<usize>, x: Tensor<2>, y: Tensor<2>| {
        let root = root_weights(shard, weight_exponent, rows);
        let mut both = Tensor::cat(vec![x, y], 1);
        if let Some(c) = &shift_row {
            both = both - c.clone();
        }
        if let Some(r) = &root {
            both = both * r.clone();
        }
        (both, root)
    };
    let maxima = par_row_ranges(
        shard,
        chunk,
        || None,
        |acc: &mut Option<Tensor<2>>, rows, x, y| {
            let big = prepared(rows, x, y).0.abs().max_dim(0);
            *acc = Some(match acc.take() {
                None => big,
                Some(a) => a.max_pair(big),
            });
            Ok(())
        },
    )?;
    let mut largest = vec![0.0f64; m + k];
    for part in maxima.into_iter().flatten() {
        for (a, b) in largest.iter_mut().zip(crate::device::read_f64(part)?) {
            *a = a.max(b);
        }
    }
    let exponents: Vec<i32> = (0..lead)
        .map(|_| 1)
        .chain(largest.iter().map(|&v| exponent_above(v)))
        .collect();
    // The scaling to slice units, 2^(BETA - e_j), as one row of factors, or two where a column
    // of tiny values needs more than a float holds (below 2^-979).
    let halves: Vec<(i32, i32)> = exponents
        .iter()
        .map(|&e| {
            let d = BETA - e;
            if d.abs() > 1000 {
                (d / 2, d - d / 2)
            } else {
                (d, 0)
            }
        })
        .collect();
    let to_slice_units = row(halves.iter().map(|h| scale2(1.0, h.0)).collect(), p);
    let second_step = halves
        .iter()
        .any(|h| h.1 != 0)
        .then(|| row(halves.iter().map(|h| scale2(1.0, h.1)).collect(), p));
    let step = scale2(1.0, BETA);
    let host = crate::device::is_host_cpu(&device);
    let n_pairs = pairs().count();
    let parts = par_row_ranges(
        shard,
        chunk,
        || vec![(None, None); n_pairs],
        |acc: &mut Vec<(Option<Tensor<3>>, Option<Tensor<3>>)>, rows, x, y| {
            let ones = || Tensor::<2>::ones([x.dims()[0], 1], (&x.device(), x.dtype()));
            let lead_column = intercept.then(ones);
            let (both, root) = prepared(rows, x, y);
            let columns = match lead_column {
                Some(ones) => vec![root.unwrap_or(ones), both],
                None => vec![both],
            };
            // Exact: a power-of-two scaling, then rounding and exact differences.
            let mut rest = Tensor::cat(columns, 1) * to_slice_units.clone();
            if let Some(second) = &second_step {
                rest = rest * second.clone();
            }
            let mut slices = Vec::with_capacity(LEVELS);
            for s in 0..LEVELS {
                let slice = round(rest.clone(), host);
                if s + 1 < LEVELS {
                    rest = (rest - slice.clone()).mul_scalar(step);
                }
                slices.push(slice);
            }
            for ((s, t), (hi_acc, lo_acc)) in pairs().zip(acc.iter_mut()) {
                let (hi, lo) = exact_product(&slices[s], &slices[t]);
                *hi_acc = Some(match hi_acc.take() {
                    None => hi,
                    Some(a) => a + hi,
                });
                *lo_acc = Some(match lo_acc.take() {
                    None => lo,
                    Some(a) => a + lo,
                });
            }
            Ok(())
        },
    )?;
    let mut products = vec![(vec![0.0; p * p], vec![0.0; p * p]); n_pairs];
    for part in parts {
        for ((hi, lo), (hi_sum, lo_sum)) in part.into_iter().zip(products.iter_mut()) {
            // Integers below 2^53 in total: these sums are exact too.
            if let Some(hi) = hi {
                let values = crate::device::read_f64(hi)?;
                hi_sum.iter_mut().zip(values).for_each(|(a, b)| *a += b);
            }
            if let Some(lo) = lo {
                let values = crate::device::read_f64(lo)?;
                lo_sum.iter_mut().zip(values).for_each(|(a, b)| *a += b);
            }
        }
    }
    Ok(ShardGram {
        exponents,
        largest,
        products,
    })
}

/// `D'^T D'` (`p x p`, row-major) in double-double from every shard's products, `D'` the
/// columns of `D` scaled by `2^column_scaling[j]`:
/// `sum_{s, t} S_s^T S_t 2^(e_j + e_l - (s + t + 2) beta)` (the scaling added to `e`), every
/// term exact.
fn combine(grams: &[ShardGram], p: usize, column_scaling: &[i32]) -> Vec<Dd> {
    let mut g = vec![Dd::default(); p * p];
    for shard in grams {
        // The column bounds with the data's power-of-two scaling (exact) folded in.
        let e: Vec<i32> = shard
            .exponents
            .iter()
            .zip(column_scaling)
            .map(|(e, s)| e + s)
            .collect();
        for ((s, t), (hi, lo)) in pairs().zip(&shard.products) {
            let shift = (s + t + 2) as i32 * BETA;
            for j in 0..p {
                for l in 0..p {
                    let (h, w) = (hi[j * p + l], lo[j * p + l]);
                    if h == 0.0 && w == 0.0 {
                        continue;
                    }
                    let term = Dd::new(w).add(scale2(h, SPLIT)).scale2(e[j] + e[l] - shift);
                    g[j * p + l] = g[j * p + l].add_dd(term);
                    if s != t {
                        // The (t, s) pair: S_t^T S_s = (S_s^T S_t)^T.
                        g[l * p + j] = g[l * p + j].add_dd(term);
                    }
                }
            }
        }
    }
    g
}

/// The upper Cholesky factor of a symmetric positive semidefinite `g` (`p x p`), in
/// double-double. A pivot at or below `p 2^-104` of its diagonal entry (a column the earlier
/// ones determine to the data's own rounding, or a zero column) leaves a zero row.
fn cholesky(g: &[Dd], p: usize) -> Vec<Dd> {
    let mut r = vec![Dd::default(); p * p];
    for j in 0..p {
        let mut d = g[j * p + j];
        for i in 0..j {
            d = d.sub_dd(r[i * p + j].mul_dd(r[i * p + j]));
        }
        let floor = g[j * p + j].value() * p as f64 * 2f64.powi(-104);
        if d.value().is_nan() || d.value() <= floor {
            continue;
        }
        let root = d.sqrt();
        r[j * p + j] = root;
        for l in j + 1..p {
            let mut v = g[j * p + l];
            for i in 0..j {
                v = v.sub_dd(r[i * p + j].mul_dd(r[i * p + l]));
            }
            r[j * p + l] = v.div_dd(root);
        }
    }
    r
}

/// `sum_i (R[i, y] - sum_j R[i, lead + j] w_j)^2` over the rows `i >= lead` of the factor
/// `r` (`p x p`) of `[1 | X | Y]`: the residual sum of squares of weights `w` for the target
/// in column `y` (the constant's row is the intercept's, fitted exactly), in double-double.
fn residual_sum_of_squares(r: &[Dd], p: usize, lead: usize, w: &[f64], y: usize) -> f64 {
    (lead..=y)
        .map(|i| {
            let e = w.iter().enumerate().fold(r[i * p + y], |acc, (j, wj)| {
                acc.sub_dd(r[i * p + lead + j].mul(*wj))
            });
            e.mul_dd(e)
        })
        .fold(Dd::default(), Dd::add_dd)
        .value()
}

/// The full-rank solution of target `t` by back substitution in double-double with `r`
/// (`p x p`, the factor of `[1 | X | Y]` or `[X | Y]`): the weights, then (with the leading
/// column of ones) the intercept from the factor's first row, without the cancellation of
/// `mean(y) - mean(x) w` in `f64`. `None` on a zero pivot.
fn solve_dd(r: &[Dd], p: usize, lead: usize, m: usize, t: usize) -> Option<(Vec<f64>, f64)> {
    let at = |i: usize, j: usize| r[i * p + j];
    let y = lead + m + t;
    let mut w = vec![Dd::default(); m];
    for i in (0..m).rev() {
        let mut v = at(lead + i, y);
        for (l, wl) in w.iter().enumerate().skip(i + 1) {
            v = v.sub_dd(at(lead + i, lead + l).mul_dd(*wl));
        }
        let pivot = at(lead + i, lead + i);
        if pivot.value() == 0.0 {
            return None;
        }
        w[i] = v.div_dd(pivot);
    }
    let b = if lead == 1 {
        let mut v = at(0, y);
        for (j, wj) in w.iter().enumerate() {
            v = v.sub_dd(at(0, 1 + j).mul_dd(*wj));
        }
        v.div_dd(at(0, 0)).value()
    } else {
        0.0
    };
    Some((w.iter().map(|v| v.value()).collect(), b))
}

/// `(Z^T Z)^-1` of the centred design from the factor's `m x m` block at `lead` (full rank),
/// in double-double: `R^-1 R^-T`, `R^-1` by back substitution column by column.
fn inverse_gram_dd(r: &[Dd], p: usize, lead: usize, m: usize) -> Vec<Vec<Dd>> {
    let at = |i: usize, j: usize| r[(lead + i) * p + lead + j];
    // Column c of R^-1, stored as rows: inv[c][i] = (R^-1)[i][c].
    let inv: Vec<Vec<Dd>> = (0..m)
        .map(|c| {
            let mut x = vec![Dd::default(); m];
            for i in (0..=c).rev() {
                let mut v = if i == c { Dd::new(1.0) } else { Dd::default() };
                for (l, xl) in x.iter().enumerate().take(c + 1).skip(i + 1) {
                    v = v.sub_dd(at(i, l).mul_dd(*xl));
                }
                x[i] = v.div_dd(at(i, i));
            }
            x
        })
        .collect();
    (0..m)
        .map(|i| {
            (0..m)
                .map(|j| {
                    inv.iter()
                        .fold(Dd::default(), |acc, col| acc.add_dd(col[i].mul_dd(col[j])))
                })
                .collect()
        })
        .collect()
}

/// The rows of positive weight and the weights' effect on the statistics (as weighted least
/// squares in memory), or `None` without sample weights.
fn sample_weights(data: &ShardedDataset) -> Option<(usize, Weighting, i32)> {
    let shards = data.shards();
    if shards.iter().all(|s| s.weight_values().is_none()) {
        return None;
    }
    let all = || {
        shards
            .iter()
            .flat_map(|s| s.weight_values_or_ones().into_owned())
            .filter(|&w| w > 0.0)
    };
    // Divided by a power of two just above the largest (exact on the shards, and
    // representable for subnormal weights too): the crate's one normalisation.
    let e = crate::data::normalising_exponent(all());
    let positive = all().count();
    let log_sum = all().map(f64::ln).sum();
    let total = super::double_double::sum(all().map(|w| scale2(w, -e)));
    Some((
        positive,
        Weighting {
            total,
            log_sum,
            scale: scale2(1.0, e),
        },
        -e,
    ))
}

impl LeastSquares {
    /// The closed form of rows spread over devices ([`ShardedDataset`]): each shard computes
    /// exact integer Gram blocks of its rows on its own device (a `linfit-worker`'s, or
    /// local), this process combines them in double-double into the Gram matrix of
    /// `[1 | X | Y]` and solves from its Cholesky factor (the module's documentation explains
    /// why that is exact). The data never move; each shard sends `O(p^2)` numbers
    /// (`p = 1 + m + k`).
    ///
    /// Accuracy: that of the in-memory QR path or better (the NIST StRD datasets split over
    /// two shards meet the floors of the in-memory tests). `Solver::Svd` decides the rank and
    /// solves from the SVD of the factor; every other solver decides the rank the same way and
    /// solves full-rank designs by back substitution in double-double, and reports
    /// [`Solver::Qr`]. The statistics, rank and null space are those of [`fit`](Self::fit).
    /// Sample weights ([`Dataset::with_weights`](crate::Dataset::with_weights) before the
    /// split) give weighted least squares, as `fit` does: each shard weights its rows by
    /// `sqrt(w 2^-e)` (`2^e` a power of two above the largest weight) before the exact products. A ridge penalty (`alpha`) is added to the
    /// Gram matrix's feature diagonal, exactly, as the in-memory fit's penalty rows. The model is on this machine's CPU
    /// ([`crate::device::cpu`]) in `f64`, or in `f32` when this process has locked that
    /// device to `f32` (the model's values then rounded to f32).
    ///
    /// # Errors
    /// [`Error::Worker`] naming the shard when its device fails, its worker dies or is
    /// unreachable, or it does not answer within the data's
    /// [`timeout`](ShardedDataset::timeout) (which bounds each shard's whole pass here: raise
    /// it with `with_timeout` for shards of many millions of rows on slow devices; about 0.5 s
    /// per million rows of 32 features on a CPU core); [`Error::InvalidHyperparameter`] for
    /// more than 2^36 rows in one shard, shards in
    /// `f32` (the exact products need `f64`: start the workers with `--precision f64`) or an
    /// invalid `alpha` or `rcond`; [`Error::OutOfRange`] for data whose squares leave
    /// `f64`'s range; as [`fit`](Self::fit).
    pub fn fit_sharded(&self, data: &ShardedDataset) -> Result<LeastSquaresFit> {
        self.check_rcond()?;
        self.check_alpha()?;
        self.check_nonrobust("fit_sharded")?;
        if let Some(shard) = data
            .shards()
            .iter()
            .find(|s| s.precision() != Precision::F64)
        {
            return Err(Error::InvalidHyperparameter {
                name: "shard precision",
                value: format!("{:?} on {:?}", shard.precision(), shard.device()),
                rule: "the sharded closed form forms exact f64 products on each shard: load \
                       the shards in f64 (linfit-worker --precision f64)",
            });
        }
        let intercept = self.intercept;
        let (m, k) = (data.n_features(), data.n_targets());
        let lead = usize::from(intercept);
        let p = lead + m + k;
        if let Some(shard) = data
            .shards()
            .iter()
            .find(|s| s.n_samples() > MAX_SHARD_ROWS)
        {
            return Err(Error::InvalidHyperparameter {
                name: "rows per shard",
                value: format!("{} on {:?}", shard.n_samples(), shard.device()),
                rule: "the sharded closed form sums at most 2^36 rows per shard exactly: use \
                       more shards",
            });
        }
        // Sample weights, from the copy every shard keeps here: divided by a power of two at
        // their largest, rows of weight zero count for nothing.
        let (n, weighting, weight_exponent) = match sample_weights(data) {
            None => (data.n_samples(), Weighting::none(data.n_samples()), None),
            Some((positive, weighting, e)) => (positive, weighting, Some(e)),
        };
        let workers = ShardWorkers::start(data, move |shard, job: ShardJob| match job {
            ShardJob::Ranges => shard_ranges(shard, weight_exponent).map(ShardAnswer::Ranges),
            ShardJob::Gram(shift) => {
                shard_gram(shard, intercept, weight_exponent, &shift).map(ShardAnswer::Gram)
            }
        })?;
        let shards = data.shards().len();
        // With an intercept, a column whose values lie within a factor of two of each other is
        // shifted by its end nearest zero first (exactly: see `exact_shift`), so that the
        // double-double factor never subtracts a large mean from itself.
        let shift = if intercept {
            for i in 0..shards {
                workers.send(i, ShardJob::Ranges);
            }
            let mut range = vec![(f64::INFINITY, f64::NEG_INFINITY); m + k];
            for answer in workers.answers("the column ranges of the closed form")? {
                let ShardAnswer::Ranges(part) = answer else {
                    unreachable!("a range job answers with ranges")
                };
                for (a, b) in range.iter_mut().zip(part) {
                    *a = (a.0.min(b.0), a.1.max(b.1));
                }
            }
            range
                .iter()
                .map(|&(low, high)| exact_shift(low, high))
                .collect()
        } else {
            vec![0.0; m + k]
        };
        let shift_job = std::sync::Arc::new(shift.clone());
        for i in 0..shards {
            workers.send(i, ShardJob::Gram(shift_job.clone()));
        }
        let grams: Vec<ShardGram> = workers
            .answers("the Gram blocks of the closed form")?
            .into_iter()
            .map(|answer| match answer {
                ShardAnswer::Gram(g) => g,
                ShardAnswer::Ranges(_) => unreachable!("a Gram job answers with blocks"),
            })
            .collect();
        let mut largest = vec![0.0f64; m + k];
        for g in &grams {
            for (a, b) in largest.iter_mut().zip(&g.largest) {
                *a = a.max(*b);
            }
        }
        // Ridge: the penalty rows sqrt(alpha) e_j (in the weights' units) are part of the
        // feature columns the scaling must keep in range, as in memory.
        let alpha = self.alpha / weighting.scale;
        if alpha > 0.0 {
            for a in &mut largest[..m] {
                *a = a.max(alpha.sqrt());
            }
        }
        // The data's power-of-two scaling, as in memory (none for data in the safe range): one
        // exponent for the features, one per target, so that the squares stay in f64's range.
        let scaling = Scaling {
            x: Scaling::exponent_for_columns(&largest[..m])?,
            y: largest[m..]
                .iter()
                .map(|&a| Scaling::exponent_for(a))
                .collect(),
        };
        let column_scaling: Vec<i32> = (0..lead)
            .map(|_| 0)
            .chain(std::iter::repeat_n(scaling.x, m))
            .chain(scaling.y.iter().copied())
            .collect();
        for (a, s) in largest.iter_mut().zip(&column_scaling[lead..]) {
            *a = scale2(*a, *s);
        }
        let shift: Vec<f64> = shift
            .iter()
            .zip(&column_scaling[lead..])
            .map(|(c, s)| scale2(*c, *s))
            .collect();
        let mut gram = combine(&grams, p, &column_scaling);
        if let Some(v) = gram.iter().find(|v| !v.value().is_finite()) {
            return Err(Error::OutOfRange {
                what: "the Gram matrix of the sharded data".into(),
                value: v.value().to_string(),
                rule: "the squares of the data leave f64's range even scaled by one power of two \
                       for the features and one per target; rescale the columns"
                    .into(),
            });
        }
        // Ridge: the Gram matrix of the rows plus `sqrt(alpha) e_j` rows (target 0, no
        // constant), alpha in the scaled units; the rows' own factor is kept for the sums of
        // squares.
        let alpha = scale2(alpha, 2 * scaling.x);
        let unpenalised = (alpha > 0.0).then(|| cholesky(&gram, p));
        if alpha > 0.0 {
            if !alpha.is_finite() {
                return Err(Error::OutOfRange {
                    what: "alpha in the units of the scaled data".into(),
                    value: alpha.to_string(),
                    rule: "alpha and the features' magnitudes are too far apart; rescale the \
                           features"
                        .into(),
                });
            }
            for j in lead..lead + m {
                gram[j * p + j] = gram[j * p + j].add(alpha);
            }
        }
        let r_dd = cholesky(&gram, p);
        // Features whose pivot the factor zeroed are dependent, whatever rcond says.
        let rank_cap = (lead..lead + m)
            .filter(|&j| r_dd[j * p + j].value() != 0.0)
            .count();
        // The means: the shift plus the shifted columns' means.
        let means = |offset: usize, count: usize| -> Vec<f64> {
            (0..count)
                .map(|j| {
                    if intercept {
                        gram[offset + j]
                            .div_dd(gram[0])
                            .add(shift[offset - lead + j])
                            .value()
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let (x_mean, y_mean) = (means(lead, m), means(lead + m, k));
        let r: Vec<f64> = r_dd.iter().map(|v| v.value()).collect();
        let factor = Factor::new(r, intercept, (x_mean, y_mean), largest, rank_cap);
        let rule = match self.solver {
            Solver::Svd => RankRule::Unscaled,
            _ => RankRule::Scaled,
        };
        let exact: Vec<Option<(Vec<f64>, f64)>> = (0..k)
            .map(|t| {
                // The intercept of the shifted data, moved back: b = b_s + c_y - c_x w.
                solve_dd(&r_dd, p, lead, m, t).map(|(w, b)| {
                    let b = if intercept {
                        w.iter()
                            .zip(&shift[..m])
                            .fold(Dd::new(b).add(shift[m + t]), |acc, (wj, cj)| {
                                acc.sub_dd(Dd::new(*wj).mul(*cj))
                            })
                            .value()
                    } else {
                        b
                    };
                    (w, b)
                })
            })
            .collect();
        let mut refined = vec![false; k];
        // Ridge solves the rows and the m penalty rows: its rank may reach m with fewer rows.
        let rows_solved = if alpha > 0.0 { n + m } else { n };
        let mut solution = solve_factor(
            factor,
            rows_solved,
            self.rcond,
            rule,
            |t, at: Refinable<'_>| {
                Ok(match &exact[t] {
                    Some((w, _)) => {
                        refined[t] = true;
                        w.clone()
                    }
                    None => at.w,
                })
            },
        )?;
        solution.scaling = scaling;
        if refined.iter().any(|&r| r) && solution.rank == m {
            // The standard errors' (Z^T Z)^-1 in double-double too, in the solution's
            // column-scaled coordinates.
            let inverse = inverse_gram_dd(&r_dd, p, lead, m);
            let d = &solution.column_scale;
            solution.gram_pinv = (0..m)
                .map(|i| {
                    (0..m)
                        .map(|j| inverse[i][j].value() * d[i] * d[j])
                        .collect()
                })
                .collect();
        }
        if let Some(intercepts) = solution.intercepts.as_mut() {
            for (t, b) in intercepts.iter_mut().enumerate() {
                if let (true, Some((_, exact_b))) = (refined[t], &exact[t]) {
                    *b = *exact_b;
                }
            }
        }
        if let (Some(r0), Some((sse, _))) = (&unpenalised, solution.sums_of_squares.as_mut()) {
            // The penalised factor's residual includes alpha |w|^2; the rows' own sum of
            // squares, |R0 (-w; e_t)|^2 over the rows below the constant's, from the factor
            // without the penalty (a sum of squares, no cancellation).
            for (t, sse) in sse.iter_mut().enumerate() {
                let w: Vec<f64> = solution.weights.iter().map(|row| row[t]).collect();
                *sse = residual_sum_of_squares(r0, p, lead, &w, lead + m + t);
            }
        }
        let (features, targets) = data.names();
        let about = About {
            n,
            // The CPU in f64, or in f32 where this process has locked it to f32 already.
            device: crate::device::cpu(Precision::F64)
                .or_else(|_| crate::device::cpu(Precision::F32))?,
            names: (features.clone(), targets.clone()),
            data: None,
            weighting,
            alpha: self.alpha,
        };
        let used = match rule {
            RankRule::Unscaled => Solver::Svd,
            RankRule::Scaled => Solver::Qr,
        };
        LeastSquaresFit::from_solution(solution, used, intercept, about)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_widths_keep_every_sum_exact() {
        // A block's product of two slices, each at most 2^BETA in magnitude, stays below 2^53.
        assert!((BLOCK as f64) * scale2(1.0, 2 * BETA) <= scale2(1.0, 53));
        // The halves: hi * 2^SPLIT + lo covers 2^52; their sums over 2^26 blocks stay exact.
        assert!(scale2(1.0, 52 - SPLIT) * (MAX_SHARD_ROWS / BLOCK) as f64 <= scale2(1.0, 53));
        assert!(BETA * LEVELS as i32 >= 60);
    }

    /// A rank-deficient Gram matrix: the dependent column gets a zero row, the rest is the
    /// plain factor (checked against `R^T R = G`).
    #[test]
    fn cholesky_leaves_a_zero_row_for_a_dependent_column() {
        // Columns a = (1, 2, 3), b = 2 a, c = (1, 0, 1).
        let cols = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]];
        let p = 3;
        let g: Vec<Dd> = (0..p * p)
            .map(|i| {
                let (j, l) = (i / p, i % p);
                Dd::new((0..3).map(|r| cols[j][r] * cols[l][r]).sum())
            })
            .collect();
        let r = cholesky(&g, p);
        assert!((1..p).all(|l| r[p + l].value() == 0.0), "row 1 is zero");
        for j in 0..p {
            for l in 0..p {
                let rtr: f64 = (0..p)
                    .map(|i| r[i * p + j].value() * r[i * p + l].value())
                    .sum();
                assert!((rtr - g[j * p + l].value()).abs() < 1e-12, "({j}, {l})");
            }
        }
    }
}
