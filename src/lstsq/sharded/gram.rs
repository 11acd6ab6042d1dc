//! A shard's exact Gram blocks (the Ozaki scheme of the module's documentation): its columns'
//! ranges, the integer slices of its columns and their exact products, and their combination
//! here into the Gram matrix in double-double.

use burn::tensor::{Tensor, TensorData};

use crate::Result;
use crate::data::Dataset;
use crate::float::{exponent_above, scale2, times_pow2};
use crate::lstsq::double_double::Dd;
use crate::lstsq::row_passes::par_row_ranges;

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
pub(super) const MAX_SHARD_ROWS: usize = BLOCK << 26;

/// The slice pairs `(s, t)`, `s <= t`, whose products are formed.
fn pairs() -> impl Iterator<Item = (usize, usize)> {
    (0..LEVELS).flat_map(|s| (s..LEVELS).map(move |t| (s, t)))
}

/// What a shard sends back for its Gram blocks.
pub(super) struct ShardGram {
    /// Per column of `D`: every value has magnitude below `2^e`.
    exponents: Vec<i32>,
    /// The largest magnitude of each shifted (and weighted) feature and target column.
    pub(super) largest: Vec<f64>,
    /// Per pair of [`pairs`]: `S_s^T S_t` as its two exact halves (`p x p` row-major each).
    products: Vec<(Vec<f64>, Vec<f64>)>,
}

/// A chunk's running sums of the block products, per pair of [`pairs`]: `(hi, lo)`, each
/// `[1, p, p]` (`None` before the first chunk).
type BlockSums = Vec<(Option<Tensor<3>>, Option<Tensor<3>>)>;

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
pub(super) fn shard_ranges(
    shard: &Dataset,
    weight_exponent: Option<i32>,
) -> Result<Vec<(f64, f64)>> {
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

/// How a shard's passes prepare each chunk of its rows: the shift of its feature and target
/// columns and the rows' weights.
struct Prepare<'a> {
    shard: &'a Dataset,
    weight_exponent: Option<i32>,
    /// The shift of each feature and target column as a row (`None` where every one is zero).
    shift_row: Option<Tensor<2>>,
}

impl Prepare<'_> {
    /// The chunk's features and targets, shifted and weighted, and the rows' factors.
    fn chunk(
        &self,
        rows: std::ops::Range<usize>,
        x: Tensor<2>,
        y: Tensor<2>,
    ) -> (Tensor<2>, Option<Tensor<2>>) {
        let root = root_weights(self.shard, self.weight_exponent, rows);
        let mut both = Tensor::cat(vec![x, y], 1);
        if let Some(c) = &self.shift_row {
            both = both - c.clone();
        }
        if let Some(r) = &root {
            both = both * r.clone();
        }
        (both, root)
    }
}

/// The scaling of the columns of `D` to slice units, `2^(BETA - e_j)`: one row of factors,
/// and a second where a column of tiny values needs more than a float holds.
struct SliceUnits {
    first: Tensor<2>,
    second: Option<Tensor<2>>,
}

/// The shard's exact Gram blocks of `[1 | X - c | Y - c]` (`c` = `shift`, one per feature and
/// target; see the module documentation): one pass for the column maxima, one for the slices
/// and their products, both on the shard's device. With sample weights, `weight_exponent`
/// (`-e`, `2^e` above the largest weight of all shards) gives the rows' factors
/// `sqrt(w 2^-e)`: the Gram matrix of the weighted rows, whose leading column is those factors
/// (below 1, or below sqrt(2) for weights from 2^1023) instead of ones.
pub(super) fn shard_gram(
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
    let prepare = Prepare {
        shard,
        weight_exponent,
        shift_row,
    };
    let largest = column_maxima(&prepare, chunk, m + k)?;
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
    let units = SliceUnits {
        first: row(halves.iter().map(|h| scale2(1.0, h.0)).collect(), p),
        second: halves
            .iter()
            .any(|h| h.1 != 0)
            .then(|| row(halves.iter().map(|h| scale2(1.0, h.1)).collect(), p)),
    };
    let host = crate::device::is_host_cpu(&device);
    let products = slice_products(&prepare, chunk, intercept, &units, host, p)?;
    Ok(ShardGram {
        exponents,
        largest,
        products,
    })
}

/// The first pass of [`shard_gram`]: the largest magnitude of each of the `columns` shifted
/// (and weighted) feature and target columns.
fn column_maxima(prepare: &Prepare<'_>, chunk: usize, columns: usize) -> Result<Vec<f64>> {
    let maxima = par_row_ranges(
        prepare.shard,
        chunk,
        || None,
        |acc: &mut Option<Tensor<2>>, rows, x, y| {
            let big = prepare.chunk(rows, x, y).0.abs().max_dim(0);
            *acc = Some(match acc.take() {
                None => big,
                Some(a) => a.max_pair(big),
            });
            Ok(())
        },
    )?;
    let mut largest = vec![0.0f64; columns];
    for part in maxima.into_iter().flatten() {
        for (a, b) in largest.iter_mut().zip(crate::device::read_f64(part)?) {
            *a = a.max(b);
        }
    }
    Ok(largest)
}

/// The second pass of [`shard_gram`]: every chunk of `D` (`p` columns) cut into its slices,
/// the exact products of every pair of [`pairs`] summed over the chunks on the device, then
/// read and summed here.
fn slice_products(
    prepare: &Prepare<'_>,
    chunk: usize,
    intercept: bool,
    units: &SliceUnits,
    host: bool,
    p: usize,
) -> Result<Vec<(Vec<f64>, Vec<f64>)>> {
    let n_pairs = pairs().count();
    let parts = par_row_ranges(
        prepare.shard,
        chunk,
        || vec![(None, None); n_pairs],
        |acc: &mut BlockSums, rows, x, y| {
            let ones = || Tensor::<2>::ones([x.dims()[0], 1], (&x.device(), x.dtype()));
            let lead_column = intercept.then(ones);
            let (both, root) = prepare.chunk(rows, x, y);
            let columns = match lead_column {
                Some(ones) => vec![root.unwrap_or(ones), both],
                None => vec![both],
            };
            let slices = cut_into_slices(Tensor::cat(columns, 1), units, host);
            add_products(acc, &slices);
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
    Ok(products)
}

/// The [`LEVELS`] integer slices of a chunk of `D`, each at most `2^BETA` in magnitude.
fn cut_into_slices(columns: Tensor<2>, units: &SliceUnits, host: bool) -> Vec<Tensor<2>> {
    let step = scale2(1.0, BETA);
    // Exact: a power-of-two scaling, then rounding and exact differences.
    let mut rest = columns * units.first.clone();
    if let Some(second) = &units.second {
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
    slices
}

/// Adds a chunk's exact products of every pair of [`pairs`] of its `slices` to `acc`.
fn add_products(acc: &mut BlockSums, slices: &[Tensor<2>]) {
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
}

/// `D'^T D'` (`p x p`, row-major) in double-double from every shard's products, `D'` the
/// columns of `D` scaled by `2^column_scaling[j]`:
/// `sum_{s, t} S_s^T S_t 2^(e_j + e_l - (s + t + 2) beta)` (the scaling added to `e`), every
/// term exact.
pub(super) fn combine(grams: &[ShardGram], p: usize, column_scaling: &[i32]) -> Vec<Dd> {
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
}
