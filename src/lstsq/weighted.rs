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
    let w = Weighted::read(ls, data)?;
    let (mut solution, used) = ls.solve(&w.transformed(ls, data)?, false)?;

    // Back to a fit with its intercept, in the solver's scaled units (see `Scaling`).
    let sc = solution.scaling.clone();
    let real_weights = sc.weights_to_data(&solution.weights);
    let k = w.y_mean.len();
    let intercepts: Vec<f64> = (0..k)
        .map(|t| {
            let wt = real_weights.iter().map(|r| r[t]);
            w.y_mean[t] - dd::dot(w.x_mean.iter().copied(), wt)
        })
        .collect();
    let (sse, sst) = w.sums_of_squares(&real_weights, &intercepts);
    solution.intercepts = ls.intercept.then(|| sc.targets_to_solver(&intercepts, 1));
    solution.x_mean = sc.features_to_solver(&w.x_mean, 1);
    solution.y_mean = sc.targets_to_solver(&w.y_mean, 1);
    solution.sums_of_squares = Some((sc.targets_to_solver(&sse, 2), sc.targets_to_solver(&sst, 2)));
    let (cx, cy) = (
        sc.features_to_solver(&w.cx, 1),
        sc.targets_to_solver(&w.cy, 1),
    );
    host::unshift(&mut solution, &cx, &cy);

    let (features, targets) = data.names();
    let about = About {
        n: w.rows.len(),
        device: data.device(),
        names: (features.clone(), targets.clone()),
        data: None,
        weighting: Weighting {
            total: w.total,
            log_sum: w.log_sum,
            scale: scale2(1.0, w.e),
        },
        alpha: ls.alpha,
    };
    LeastSquaresFit::from_solution(solution, used, ls.intercept, about)
}

/// Weighted data on the host, shifted and with their weighted means.
struct Weighted {
    /// Row-major features and targets, less the exact shifts `cx`, `cy`.
    x: Vec<f64>,
    y: Vec<f64>,
    cx: Vec<f64>,
    cy: Vec<f64>,
    /// The weights divided by `2^e`.
    w: Vec<f64>,
    e: i32,
    /// The rows of positive weight.
    rows: Vec<usize>,
    /// `sum w` (of the divided weights) and `sum ln w` (of the given ones).
    total: f64,
    log_sum: f64,
    /// The weighted means of the shifted columns (0 without an intercept).
    x_mean: Vec<f64>,
    y_mean: Vec<f64>,
}

impl Weighted {
    fn read(ls: &LeastSquares, data: &Dataset) -> Result<Self> {
        let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
        let mut x = read_f64(data.features())?;
        let mut y = read_f64(data.targets())?;
        let given = data.weight_values_or_ones();
        let w = &given[..];
        let rows: Vec<usize> = (0..n).filter(|&i| w[i] > 0.0).collect();
        // Columns far from zero shifted exactly first, as in memory without weights
        // (`HostData`).
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
        // largest (exact: the crate's one normalisation), they can neither overflow in their
        // sum nor underflow in the means (1e300 or 1e-300 weights).
        let e = crate::data::normalising_exponent(w.iter().copied());
        let relative: Vec<f64> = w.iter().map(|&v| scale2(v, -e)).collect();
        let total = dd::sum(rows.iter().map(|&i| relative[i]));
        let mut weighted = Weighted {
            x,
            y,
            cx,
            cy,
            w: relative,
            e,
            rows,
            total,
            log_sum,
            x_mean: Vec::new(),
            y_mean: Vec::new(),
        };
        if ls.intercept {
            weighted.x_mean = (0..m).map(|j| weighted.mean(&weighted.x, m, j)).collect();
            weighted.y_mean = (0..k).map(|t| weighted.mean(&weighted.y, k, t)).collect();
        } else {
            (weighted.x_mean, weighted.y_mean) = (vec![0.0; m], vec![0.0; k]);
        }
        Ok(weighted)
    }

    /// The weighted mean of column `col` of `values` (`width` per row).
    fn mean(&self, values: &[f64], width: usize, col: usize) -> f64 {
        let rows = &self.rows;
        let first = rows.first().map(|&i| values[i * width + col]);
        if rows.iter().all(|&i| Some(values[i * width + col]) == first) {
            // A constant column: its mean exactly, so that it centres to exact zeros (a mean
            // off by an ulp left a column proportional to sqrt(w), which the rank decision's
            // column scaling took for a direction of its own).
            first.unwrap_or(0.0)
        } else {
            dd::dot(
                rows.iter().map(|&i| self.w[i]),
                rows.iter().map(|&i| values[i * width + col]),
            ) / self.total
        }
    }

    /// The centred rows scaled by `sqrt(w)`, with ridge's `sqrt(alpha) e_j` rows, on the data's
    /// device.
    fn transformed(&self, ls: &LeastSquares, data: &Dataset) -> Result<Dataset> {
        let (m, k) = (self.x_mean.len(), self.y_mean.len());
        let extra = if ls.alpha > 0.0 { m } else { 0 };
        let n_rows = self.rows.len() + extra;
        let mut xt = Vec::with_capacity(n_rows * m);
        let mut yt = Vec::with_capacity(n_rows * k);
        for &i in &self.rows {
            let s = self.w[i].sqrt();
            xt.extend((0..m).map(|j| s * (self.x[i * m + j] - self.x_mean[j])));
            yt.extend((0..k).map(|t| s * (self.y[i * k + t] - self.y_mean[t])));
        }
        // With the weights divided by `2^e`, the penalty is too: the same minimiser.
        let root_alpha = scale2(ls.alpha, -self.e).sqrt();
        for j in 0..extra {
            xt.extend((0..m).map(|c| if c == j { root_alpha } else { 0.0 }));
            yt.extend(std::iter::repeat_n(0.0, k));
        }
        Dataset::from_flat(xt, yt, [n_rows, m], k, &data.device()).map_err(|e| match e {
            Error::OutOfRange { .. } | Error::NonFinite { .. } => Error::OutOfRange {
                what: "the weighted, centred data".into(),
                value: e.to_string(),
                rule: "scaled by the square roots of the weights (and of alpha, for ridge) they \
                       leave the float type's range; rescale the data, or lower alpha"
                    .into(),
            },
            e => e,
        })
    }

    /// The weighted residual and total sums of squares per target, in double-double, for the
    /// weights `[m][k]` and intercepts in the shifted data's units.
    fn sums_of_squares(&self, weights: &[Vec<f64>], intercepts: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (m, k) = (self.x_mean.len(), self.y_mean.len());
        let (x, y, w, rows) = (&self.x, &self.y, &self.w, &self.rows);
        let mut sse = vec![0.0; k];
        let mut sst = vec![0.0; k];
        for t in 0..k {
            let residual = |i: usize| {
                let fitted = dd::dot(
                    x[i * m..(i + 1) * m].iter().copied(),
                    weights.iter().map(|r| r[t]),
                );
                y[i * k + t] - intercepts[t] - fitted
            };
            sse[t] = dd::dot(
                rows.iter().map(|&i| w[i]),
                rows.iter().map(|&i| residual(i) * residual(i)),
            );
            sst[t] = dd::dot(
                rows.iter().map(|&i| w[i]),
                rows.iter()
                    .map(|&i| (y[i * k + t] - self.y_mean[t]).powi(2)),
            );
        }
        (sse, sst)
    }
}
