//! `Solver::NormalEquations`: `X^T X`, `X^T Y` and the column sums accumulated on the data's
//! device (`row_passes::moments`), then solved on the host through the eigen-decomposition of
//! the small centred Gram matrix `G = Z^T Z` (minimum norm when singular). Accuracy degrades as
//! `cond(X)^2`; `Solver::Auto` falls back to QR when that matters.

use faer::Mat;
use faer::linalg::solvers::Svd;

use super::row_passes::{Moments, moments};
use super::solution::{Solution, max_rank, numerical_rank};
use crate::data::Dataset;
use crate::device::Precision;
use crate::{Error, Result};

/// The normal-equations solution of `data`, the condition number of `G` (the square of the
/// design's), and whether the rounding of `G` (not `rcond`) cut the rank: then the solution
/// has lost directions the design has, and `Solver::Auto` takes QR instead.
pub(crate) fn normal_equations(
    data: &Dataset,
    intercept: bool,
    rcond: Option<f64>,
) -> Result<(Solution, f64, bool)> {
    let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
    let moments = moments(data)?;
    check_range(&moments, m, data.precision())?;
    let centred = Centred::new(&moments, n, (m, k), intercept);
    let svd = Svd::new(centred.gram.as_ref()).map_err(|e| {
        Error::Numerical(format!(
            "eigen-decomposition of the Gram matrix did not converge: {e:?}"
        ))
    })?;
    let eig: Vec<f64> = (0..m)
        .map(|i| svd.S().column_vector()[i].max(0.0))
        .collect();
    let sv: Vec<f64> = eig.iter().map(|e| e.sqrt()).collect();
    // Forming G - n xbar xbar^T from the raw sums cancels: its entries carry errors of about
    // eps * n * max|raw G|, so eigenvalues below that are noise, whatever rcond says.
    let raw_max = moments.gram.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let noise = f64::EPSILON * (n.max(m) as f64) * raw_max;
    let above_noise = eig.iter().filter(|&&e| e > noise).count();
    let by_values = numerical_rank(&sv, rcond, (n, m), max_rank(n, m, intercept));
    let rank = by_values.min(above_noise);
    let noise_limited = above_noise < by_values;
    let v = svd.V();
    let mut weights = vec![vec![0.0; k]; m];
    for t in 0..k {
        for (col, &e) in eig.iter().enumerate().take(rank) {
            let coef = (0..m)
                .map(|a| v[(a, col)] * centred.cross[(a, t)])
                .sum::<f64>()
                / e;
            for (j, row) in weights.iter_mut().enumerate() {
                row[t] += v[(j, col)] * coef;
            }
        }
    }
    let cond_gram = if eig.last().copied().unwrap_or(0.0) > 0.0 {
        eig[0] / eig[m - 1]
    } else {
        f64::INFINITY
    };
    let scaled_min_eig = scaled_min_eig_of_gram(&centred.gram);
    let Centred { x_mean, y_mean, .. } = centred;
    let solution = Solution::assemble(
        weights,
        (x_mean, y_mean),
        intercept,
        v,
        sv,
        rank,
        scaled_min_eig,
    );
    Ok((solution, cond_gram, noise_limited))
}

/// Sums of squares below this (in the device's precision) lose digits as subnormals, or
/// vanish.
fn tiny_squares(precision: Precision) -> f64 {
    match precision {
        Precision::F64 => 1e-270,
        Precision::F32 => 1e-30,
    }
}

/// The normal equations square the data: refuse data whose squares overflow or underflow
/// (columns beyond ~1e154 or below ~1e-135 in magnitude), naming the column, rather than
/// return the wrong answer (the QR solver scales such data exactly and answers).
fn check_range(moments: &Moments, m: usize, precision: Precision) -> Result<()> {
    let out_of_range = |what: String, value: f64| Error::OutOfRange {
        what,
        value: format!("{value:e}"),
        rule: "the normal equations square the data, and these squares leave f64's range; \
               use Solver::Qr (or Svd), which scale the data exactly, or rescale it"
            .into(),
    };
    let sums = [
        &moments.gram,
        &moments.cross,
        &moments.x_sum,
        &moments.y_sum,
    ];
    if let Some(v) = sums.iter().flat_map(|s| s.iter()).find(|v| !v.is_finite()) {
        return Err(out_of_range("the sums of products of the data".into(), *v));
    }
    for j in 0..m {
        let squares = moments.gram[j * m + j];
        if squares < tiny_squares(precision) && (squares > 0.0 || moments.x_sum[j] != 0.0) {
            return Err(out_of_range(
                format!("the sum of squares of feature column {j}"),
                squares,
            ));
        }
    }
    Ok(())
}

/// The moments about the means (with an intercept) or about zero (without).
struct Centred {
    /// `G = X^T X - n xbar xbar^T`, `m x m`.
    gram: Mat<f64>,
    /// `X^T Y - n xbar ybar^T`, `m x k`.
    cross: Mat<f64>,
    x_mean: Vec<f64>,
    y_mean: Vec<f64>,
}

impl Centred {
    fn new(moments: &Moments, n: usize, (m, k): (usize, usize), intercept: bool) -> Self {
        let nf = n as f64;
        let (x_mean, y_mean): (Vec<f64>, Vec<f64>) = if intercept {
            (
                moments.x_sum.iter().map(|s| s / nf).collect(),
                moments.y_sum.iter().map(|s| s / nf).collect(),
            )
        } else {
            (vec![0.0; m], vec![0.0; k])
        };
        let gram = Mat::from_fn(m, m, |a, b| {
            moments.gram[a * m + b] - nf * x_mean[a] * x_mean[b]
        });
        let cross = Mat::from_fn(m, k, |a, t| {
            moments.cross[a * k + t] - nf * x_mean[a] * y_mean[t]
        });
        Self {
            gram,
            cross,
            x_mean,
            y_mean,
        }
    }
}

/// Smallest eigenvalue of the Gram matrix with unit diagonal, `D^-1 G D^-1` (statsmodels'
/// collinearity measure); 0 for a constant column.
fn scaled_min_eig_of_gram(g: &Mat<f64>) -> f64 {
    let m = g.nrows();
    let diag: Vec<f64> = (0..m).map(|a| g[(a, a)].max(0.0).sqrt()).collect();
    if diag.contains(&0.0) {
        return 0.0;
    }
    let scaled = Mat::from_fn(m, m, |a, b| g[(a, b)] / (diag[a] * diag[b]));
    Svd::new(scaled.as_ref()).map_or(f64::NAN, |s| {
        let s = s.S().column_vector();
        (0..s.nrows()).map(|i| s[i]).fold(f64::INFINITY, f64::min)
    })
}
