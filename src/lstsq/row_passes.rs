//! Passes over the rows of a dataset, in parallel: one thread per core, each over a contiguous
//! range of rows taken in chunks, either as tensors on the data's device (sums accumulated
//! there with Burn's matmul) or read back to the host chunk by chunk. Nothing the size of the
//! data is ever allocated.

use burn::tensor::Tensor;

use crate::Result;
use crate::data::Dataset;
use crate::device::read_f64;

/// Rows per chunk for the device-side passes: on the host CPU a chunk is one plain product per
/// thread (2^16 rows measured best); on a GPU a chunk is one batch of split products, the
/// larger the busier (2^20 rows are 1024 blocks).
pub(super) fn device_chunk_rows(data: &Dataset) -> usize {
    if crate::device::is_host_cpu(&data.device()) {
        1 << 16
    } else {
        1 << 20
    }
}
/// Rows per chunk of the per-row results (influence, prediction frames): on the host CPU a
/// chunk whose temporaries stay in cache ([`HOST_CHUNK_ROWS`]: 1e6 x 32 f64 influence tables
/// took 0.25-0.31 s in chunks of 4096-16384 rows, 0.37-0.43 s in chunks of 65536), on a GPU
/// [`device_chunk_rows`].
pub(super) fn table_chunk_rows(device: &burn::tensor::Device) -> usize {
    if crate::device::is_host_cpu(device) {
        HOST_CHUNK_ROWS
    } else {
        1 << 20
    }
}

/// Rows per block of the split products ([`t_matmul`]).
const BLOCK_ROWS: usize = 1024;
/// Rows per chunk read back to the host (2 MiB at 32 f64 features).
pub(crate) const HOST_CHUNK_ROWS: usize = 8192;

/// Runs `work` on every chunk of at most `chunk` rows, `(features, targets)` as tensors on the
/// data's device; one thread per core, each over a contiguous range of rows with its own state.
/// Returns the states in row order.
pub(crate) fn par_rows<T: Send>(
    data: &Dataset,
    chunk: usize,
    init: impl Fn() -> T + Sync,
    work: impl Fn(&mut T, Tensor<2>, Tensor<2>) -> Result<()> + Sync,
) -> Result<Vec<T>> {
    par_row_ranges(data, chunk, init, |state, _, x, y| work(state, x, y))
}

/// [`par_rows`], `work` also told each chunk's rows (`start..end`).
pub(crate) fn par_row_ranges<T: Send>(
    data: &Dataset,
    chunk: usize,
    init: impl Fn() -> T + Sync,
    work: impl Fn(&mut T, std::ops::Range<usize>, Tensor<2>, Tensor<2>) -> Result<()> + Sync,
) -> Result<Vec<T>> {
    par_ranges(data.n_samples(), chunk, init, |state, range| {
        let (x, y) = data.rows(range.start, range.end);
        work(state, range, x, y)
    })
}

/// Runs `work` on every chunk `start..end` of at most `chunk` of `n` rows; one thread per core,
/// each over a contiguous range of rows with its own state. Returns the states in row order.
pub(crate) fn par_ranges<T: Send>(
    n: usize,
    chunk: usize,
    init: impl Fn() -> T + Sync,
    work: impl Fn(&mut T, std::ops::Range<usize>) -> Result<()> + Sync,
) -> Result<Vec<T>> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 16)
        .min(n.div_ceil(chunk));
    let per = n.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| (t * per, ((t + 1) * per).min(n)))
            .filter(|(a, b)| a < b)
            .map(|(a, b)| {
                let (init, work) = (&init, &work);
                scope.spawn(move || -> Result<T> {
                    let mut state = init();
                    for start in (a..b).step_by(chunk) {
                        let end = (start + chunk).min(b);
                        work(&mut state, start..end)?;
                    }
                    Ok(state)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// [`par_rows`] with each chunk read back to the host: row-major features and targets.
pub(crate) fn par_host_rows<T: Send>(
    data: &Dataset,
    init: impl Fn() -> T + Sync,
    work: impl Fn(&mut T, &[f64], &[f64]) + Sync,
) -> Result<Vec<T>> {
    par_rows(data, HOST_CHUNK_ROWS, init, |state, x, y| {
        work(state, &read_f64(x)?, &read_f64(y)?);
        Ok(())
    })
}

/// Adds the per-thread tensors of a device pass and reads the sum back.
fn total(parts: Vec<Option<Tensor<2>>>) -> Result<Vec<f64>> {
    match parts.into_iter().flatten().reduce(|a, b| a + b) {
        Some(t) => read_f64(t),
        None => Ok(Vec::new()),
    }
}

/// `A^T B` over the rows of `a` and `b`, as a split-K product: the rows are cut into blocks of
/// [`BLOCK_ROWS`], the blocks multiplied as one batch and the products summed (the rows left
/// over are multiplied directly). A plain `a^T b` with thousands of rows and a small result
/// leaves a GPU almost idle (its matmul parallelises over the output: the normal equations of
/// 10^6 x 32 took 0.8 s in f32 on an H100 through wgpu); the batch spreads it. On flex and
/// ndarray the plain product is kept: with one thread per core already, the batched form made
/// the normal equations of that size slower (0.09 vs 0.067 s here).
fn t_matmul(a: Tensor<2>, b: Tensor<2>) -> Tensor<2> {
    let ([rows, p], q) = (a.dims(), b.dims()[1]);
    let (device, dtype) = (b.device(), b.dtype());
    let blocks = if crate::device::is_host_cpu(&device) {
        0
    } else {
        rows / BLOCK_ROWS
    };
    let main = blocks * BLOCK_ROWS;
    let mut out = None;
    if blocks > 0 {
        let a3 = a.clone().slice(0..main).reshape([blocks, BLOCK_ROWS, p]);
        let b3 = b.clone().slice(0..main).reshape([blocks, BLOCK_ROWS, q]);
        let product = a3.swap_dims(1, 2).matmul(b3).sum_dim(0).reshape([p, q]);
        out = Some(product);
    }
    if main < rows {
        let rest = a.slice(main..rows).transpose().matmul(b.slice(main..rows));
        add(&mut out, rest);
    }
    out.unwrap_or_else(|| Tensor::zeros([p, q], (&device, dtype)))
}

/// A column of ones as tall as `x`, in its float type.
fn ones_for(x: &Tensor<2>) -> Tensor<2> {
    Tensor::<2>::ones([x.dims()[0], 1], (&x.device(), x.dtype()))
}

fn add(acc: &mut Option<Tensor<2>>, t: Tensor<2>) {
    *acc = Some(match acc.take() {
        None => t,
        Some(a) => a + t,
    });
}

/// The moments of the normal equations, summed on the device: `X^T X` (`[m][m]` row-major),
/// `X^T Y` (`[m][k]`), and the column sums of `X` and `Y` (as `1^T X`: on flex, Burn's matmul is
/// much faster than its column reductions, 13 vs 130 ms for 10^6 x 33 f64).
pub(crate) struct Moments {
    pub gram: Vec<f64>,
    pub cross: Vec<f64>,
    pub x_sum: Vec<f64>,
    pub y_sum: Vec<f64>,
}

pub(crate) fn moments(data: &Dataset) -> Result<Moments> {
    let parts = par_rows(
        data,
        device_chunk_rows(data),
        <[Option<Tensor<2>>; 4]>::default,
        |acc, x, y| {
            let ones = ones_for(&x);
            add(&mut acc[0], t_matmul(x.clone(), x.clone()));
            add(&mut acc[1], t_matmul(x.clone(), y.clone()));
            add(&mut acc[2], t_matmul(ones.clone(), x));
            add(&mut acc[3], t_matmul(ones, y));
            Ok(())
        },
    )?;
    let mut columns: [Vec<Option<Tensor<2>>>; 4] = Default::default();
    for part in parts {
        for (column, t) in columns.iter_mut().zip(part) {
            column.push(t);
        }
    }
    let [gram, cross, x_sum, y_sum] = columns.map(total);
    Ok(Moments {
        gram: gram?,
        cross: cross?,
        x_sum: x_sum?,
        y_sum: y_sum?,
    })
}

/// Residual and total sums of squares per target of the model `y = b + x w` (`weights`
/// row-major `[m][k]`), on the device in one pass. The total sum of squares is centred when
/// there is an intercept (about `y_shift`, close to the mean, then corrected exactly:
/// `sum (y - s)^2 - n (mean(y) - s)^2`) and uncentred otherwise.
pub(crate) fn sums_of_squares(
    data: &Dataset,
    weights: &[f64],
    bias: Option<&[f64]>,
    y_shift: &[f64],
) -> Result<(Vec<f64>, Vec<f64>)> {
    let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
    let device = data.device();
    let dtype = data.features().dtype();
    let row = |v: Vec<f64>, rows: usize, cols: usize| {
        Tensor::<2>::from_data(
            burn::tensor::TensorData::new(v, [rows, cols]),
            (&device, dtype),
        )
    };
    let w = row(weights.to_vec(), m, k);
    let b = row(bias.map_or_else(|| vec![0.0; k], <[f64]>::to_vec), 1, k);
    let shift = row(y_shift.to_vec(), 1, k);
    let parts = par_rows(
        data,
        device_chunk_rows(data),
        || None,
        |acc, x, y| {
            let ones = ones_for(&x);
            let r = x.matmul(w.clone()) + b.clone() - y.clone();
            let d = y - shift.clone();
            let stacked = Tensor::cat(vec![r.clone() * r, d.clone() * d.clone(), d], 1);
            add(acc, t_matmul(ones, stacked));
            Ok(())
        },
    )?;
    let s = total(parts)?;
    let sse = s[..k].to_vec();
    let sst = (0..k)
        .map(|t| {
            let (sq, sum) = (s[k + t], s[2 * k + t]);
            if bias.is_some() {
                sq - sum * sum / n as f64
            } else {
                sq
            }
        })
        .collect();
    Ok((sse, sst))
}
