//! Passes over the rows of a dataset, in parallel: one thread per core, each over a contiguous
//! range of rows taken in chunks, either as tensors on the data's device (sums accumulated
//! there with Burn's matmul) or read back to the host chunk by chunk. Nothing the size of the
//! data is ever allocated.

use burn::tensor::Tensor;

use crate::Result;
use crate::data::{Dataset, read_f64};

/// Rows per chunk for the device-side passes.
pub(crate) const DEVICE_CHUNK_ROWS: usize = 1 << 16;
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
    let n = data.n_samples();
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
                        let (x, y) = data.rows(start, (start + chunk).min(b));
                        work(&mut state, x, y)?;
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

fn add(acc: &mut Option<Tensor<2>>, t: Tensor<2>) {
    *acc = Some(match acc.take() {
        None => t,
        Some(a) => a + t,
    });
}

/// The moments of the normal equations, summed on the device: `X^T X` (`[m][m]` row-major),
/// `X^T Y` (`[m][k]`), and the column sums of `X` and `Y` (as `1^T X`: Burn's matmul is much
/// faster than its column reductions).
pub(crate) struct Moments {
    pub gram: Vec<f64>,
    pub cross: Vec<f64>,
    pub x_sum: Vec<f64>,
    pub y_sum: Vec<f64>,
}

pub(crate) fn moments(data: &Dataset) -> Result<Moments> {
    let parts = par_rows(
        data,
        DEVICE_CHUNK_ROWS,
        <[Option<Tensor<2>>; 4]>::default,
        |acc, x, y| {
            let rows = x.dims()[0];
            let ones = Tensor::<2>::ones([1, rows], (&x.device(), x.dtype()));
            let xt = x.clone().transpose();
            add(&mut acc[0], xt.clone().matmul(x.clone()));
            add(&mut acc[1], xt.matmul(y.clone()));
            add(&mut acc[2], ones.clone().matmul(x));
            add(&mut acc[3], ones.matmul(y));
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
        DEVICE_CHUNK_ROWS,
        || None,
        |acc, x, y| {
            let rows = x.dims()[0];
            let ones = Tensor::<2>::ones([1, rows], (&x.device(), x.dtype()));
            let r = x.matmul(w.clone()) + b.clone() - y.clone();
            let d = y - shift.clone();
            let stacked = Tensor::cat(vec![r.clone() * r, d.clone() * d.clone(), d], 1);
            add(acc, ones.matmul(stacked));
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
