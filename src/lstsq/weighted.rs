//! Weighted least squares (sample weights) and ridge (`alpha`), by a transformation of the data
//! that the ordinary solvers then fit without an intercept.
//!
//! With weights `w_i` (ones without weights), weighted means `xbar = sum w x / sum w` and
//! `ybar` (zeros without an intercept), the weighted, centred rows
//! `x~_i = sqrt(w_i) (x_i - xbar)`, `y~_i = sqrt(w_i) (y_i - ybar)`, and for ridge `m` more rows
//! `sqrt(alpha) e_j` with target 0:
//!
//! `min_w ||y~ - X~ w||^2 (+ alpha ||w||^2)`, then `b = ybar - xbar w`,
//!
//! is `min_{b,w} sum_i w_i (y_i - b - x_i w)^2 + alpha ||w||^2`: the intercept drops out at
//! its optimum, unpenalised. This is statsmodels' `WLS` (and scikit-learn's `Ridge`, which
//! centres with the same weighted means and rescales rows by `sqrt(sample_weight)`). The
//! solver's rank, null space and `(X~^T X~)^+` are those of the weighted, centred design, so
//! the statistics carry over with `sum w` in place of `n` where the constant column enters
//! (see `Weighting`); the sums of squares are recomputed on the rows (weighted, and without
//! the penalty rows).
//!
//! Rows of weight zero are left out (they change nothing); the statistics count the rows of
//! positive weight as the observations (statsmodels counts every row, and its log-likelihood
//! is `-inf` with a zero weight). The weights are divided by the largest before use (only
//! their ratios matter to the estimates; `Weighting::scale` puts the sums of squares and the
//! log-likelihood back in the weights' own units). On an f32 device the weighted, centred copy of the data is
//! held in f32, so these fits lose the digits that f32 rounding costs, where ordinary least
//! squares reads f32 data exactly into f64.

use super::double_double as dd;
use super::{About, LeastSquares, LeastSquaresFit, Weighting, host};
use crate::data::Dataset;
use crate::device::read_f64;
use crate::float::scale2;
use crate::{Error, Result};

pub(super) fn fit(ls: &LeastSquares, data: &Dataset) -> Result<LeastSquaresFit> {
    let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
    let mut x = read_f64(data.features())?;
    let mut y = read_f64(data.targets())?;
    let given = data.weight_values_or_ones();
    let w = &given[..];
    let rows: Vec<usize> = (0..n).filter(|&i| w[i] > 0.0).collect();
    // Columns far from zero shifted exactly first, as in memory without weights (`HostData`).
    let (cx, cy) = if ls.intercept {
        (
            host::exact_shifts(&x, m, rows.iter().copied()),
            host::exact_shifts(&y, k, rows.iter().copied()),
        )
    } else {
        (vec![0.0; m], vec![0.0; k])
    };
    host::subtract_shifts(&mut x, &cx);
    host::subtract_shifts(&mut y, &cy);
    let log_sum: f64 = rows.iter().map(|&i| w[i].ln()).sum();
    // Only the weights' ratios matter to the estimates: divided by a power of two above the
    // largest (exact: the crate's one normalisation), they can neither overflow in their sum
    // nor underflow in the means (1e300 or 1e-300 weights).
    let e = crate::data::normalising_exponent(w.iter().copied());
    let relative: Vec<f64> = w.iter().map(|&v| scale2(v, -e)).collect();
    let w = &relative[..];
    let total = dd::sum(rows.iter().map(|&i| w[i]));
    let weighted_mean = |values: &[f64], width: usize, col: usize| -> f64 {
        let first = rows.first().map(|&i| values[i * width + col]);
        if !ls.intercept {
            0.0
        } else if rows.iter().all(|&i| Some(values[i * width + col]) == first) {
            // A constant column: its mean exactly, so that it centres to exact zeros (a mean
            // off by an ulp left a column proportional to sqrt(w), which the rank decision's
            // column scaling took for a direction of its own).
            first.unwrap_or(0.0)
        } else {
            dd::dot(
                rows.iter().map(|&i| w[i]),
                rows.iter().map(|&i| values[i * width + col]),
            ) / total
        }
    };
    let x_mean: Vec<f64> = (0..m).map(|j| weighted_mean(&x, m, j)).collect();
    let y_mean: Vec<f64> = (0..k).map(|t| weighted_mean(&y, k, t)).collect();

    let extra = if ls.alpha > 0.0 { m } else { 0 };
    let n_rows = rows.len() + extra;
    let mut xt = Vec::with_capacity(n_rows * m);
    let mut yt = Vec::with_capacity(n_rows * k);
    for &i in &rows {
        let s = w[i].sqrt();
        xt.extend((0..m).map(|j| s * (x[i * m + j] - x_mean[j])));
        yt.extend((0..k).map(|t| s * (y[i * k + t] - y_mean[t])));
    }
    // With the weights divided by `2^e`, the penalty is too: the same minimiser.
    let root_alpha = scale2(ls.alpha, -e).sqrt();
    for j in 0..extra {
        xt.extend((0..m).map(|c| if c == j { root_alpha } else { 0.0 }));
        yt.extend(std::iter::repeat_n(0.0, k));
    }
    let transformed =
        Dataset::from_flat(xt, yt, [n_rows, m], k, &data.device()).map_err(|e| match e {
            Error::OutOfRange { .. } | Error::NonFinite { .. } => Error::OutOfRange {
                what: "the weighted, centred data".into(),
                value: e.to_string(),
                rule: "scaled by the square roots of the weights (and of alpha, for ridge) they \
                       leave the float type's range; rescale the data, or lower alpha"
                    .into(),
            },
            e => e,
        })?;
    let (mut solution, used) = ls.solve(&transformed, false)?;

    // Back to a fit with its intercept, in the solver's scaled units (see `Scaling`).
    let sc = solution.scaling.clone();
    let real_weights: Vec<Vec<f64>> = solution
        .weights
        .iter()
        .map(|row| {
            row.iter()
                .zip(&sc.y)
                .map(|(v, ey)| scale2(*v, sc.x - ey))
                .collect()
        })
        .collect();
    let intercepts: Vec<f64> = (0..k)
        .map(|t| y_mean[t] - dd::dot(x_mean.iter().copied(), real_weights.iter().map(|r| r[t])))
        .collect();
    let mut sse = vec![0.0; k];
    let mut sst = vec![0.0; k];
    for t in 0..k {
        let residual = |i: usize| {
            let fitted = dd::dot(
                x[i * m..(i + 1) * m].iter().copied(),
                real_weights.iter().map(|r| r[t]),
            );
            y[i * k + t] - intercepts[t] - fitted
        };
        sse[t] = dd::dot(
            rows.iter().map(|&i| w[i]),
            rows.iter().map(|&i| residual(i) * residual(i)),
        );
        sst[t] = dd::dot(
            rows.iter().map(|&i| w[i]),
            rows.iter().map(|&i| (y[i * k + t] - y_mean[t]).powi(2)),
        );
    }
    solution.intercepts = ls.intercept.then(|| {
        intercepts
            .iter()
            .zip(&sc.y)
            .map(|(b, ey)| scale2(*b, *ey))
            .collect()
    });
    solution.x_mean = x_mean.iter().map(|v| scale2(*v, sc.x)).collect();
    solution.y_mean = y_mean
        .iter()
        .zip(&sc.y)
        .map(|(v, ey)| scale2(*v, *ey))
        .collect();
    let scale_sums = |v: &[f64]| -> Vec<f64> {
        v.iter()
            .zip(&sc.y)
            .map(|(s, ey)| scale2(*s, 2 * ey))
            .collect()
    };
    solution.sums_of_squares = Some((scale_sums(&sse), scale_sums(&sst)));
    let cx: Vec<f64> = cx.iter().map(|c| scale2(*c, sc.x)).collect();
    let cy: Vec<f64> = cy
        .iter()
        .zip(&sc.y)
        .map(|(c, ey)| scale2(*c, *ey))
        .collect();
    host::unshift(&mut solution, &cx, &cy);

    let (features, targets) = data.names();
    let about = About {
        n: rows.len(),
        device: data.device(),
        names: (features.clone(), targets.clone()),
        data: None,
        weighting: Weighting {
            total,
            log_sum,
            scale: scale2(1.0, e),
        },
        alpha: ls.alpha,
    };
    LeastSquaresFit::from_solution(solution, used, ls.intercept, about)
}
