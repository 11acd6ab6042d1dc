//! `Solver::NormalEquations`: `X^T X`, `X^T Y` and the column sums accumulated on the data's
//! device (`row_passes::moments`), then solved on the host through the eigen-decomposition of
//! the small centred Gram matrix `G = Z^T Z` (minimum norm when singular). Accuracy degrades as
//! `cond(X)^2`; `Solver::Auto` falls back to QR when that matters.

use faer::Mat;
use faer::linalg::solvers::Svd;

use super::row_passes::{Moments, moments};
use super::solution::{ScaledSvd, Solution, max_rank, numerical_rank};
use crate::data::Dataset;
use crate::device::Precision;
use crate::float::{exponent, scale2};
use crate::{Error, Result};

/// The normal-equations solution of `data`, the condition number of the equilibrated `G`
/// (the square of the equilibrated design's), and whether the rounding of `G` (not `rcond`)
/// cut the rank: then the solution has lost directions the design has, and `Solver::Auto`
/// takes QR instead.
///
/// The moments are equilibrated first: column `j` divided by `d_j`, the power of two nearest
/// below its root sum of squares (exact), so that the rank is decided on columns of one
/// magnitude whatever their units (a column 1e100 times another is no longer below the
/// other's rounding), as QR decides it on unit columns.
pub(crate) fn normal_equations(
    data: &Dataset,
    intercept: bool,
    rcond: Option<f64>,
) -> Result<(Solution, f64, bool)> {
    let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
    let moments = moments(data)?;
    check_range(&moments, m, data.precision())?;
    let (scaled, scale) = equilibrated(&moments, m, k);
    let centred = Centred::new(&scaled, n, (m, k), intercept);
    let eigen = |g: &Mat<f64>| {
        Svd::new(g.as_ref()).map_err(|e| {
            Error::Numerical(format!(
                "eigen-decomposition of the Gram matrix did not converge: {e:?}"
            ))
        })
    };
    let svd = eigen(&centred.gram)?;
    let eig: Vec<f64> = (0..m)
        .map(|i| svd.S().column_vector()[i].max(0.0))
        .collect();
    let sv: Vec<f64> = eig.iter().map(|e| e.sqrt()).collect();
    // Forming G - n xbar xbar^T from the raw sums cancels: its entries carry errors of about
    // eps * n * max|raw G|, so eigenvalues below that are noise, whatever rcond says.
    let raw_max = scaled.gram.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let noise = f64::EPSILON * (n.max(m) as f64) * raw_max;
    let above_noise = eig.iter().filter(|&&e| e > noise).count();
    let by_values = numerical_rank(&sv, rcond, (n, m), max_rank(n, m, intercept));
    let rank = by_values.min(above_noise);
    let noise_limited = above_noise < by_values;
    let v = svd.V();
    let rhs = svd_rhs(v, &sv, &centred.cross, k);
    let cond_gram = if eig.last().copied().unwrap_or(0.0) > 0.0 {
        eig[0] / eig[m - 1]
    } else {
        f64::INFINITY
    };
    let scaled_min_eig = scaled_min_eig_of_gram(&centred.gram);
    // The singular values of the design in its own units, for the report.
    let unscaled = Mat::from_fn(m, m, |a, b| centred.gram[(a, b)] * scale[a] * scale[b]);
    let reported: Vec<f64> = {
        let s = eigen(&unscaled)?;
        (0..m)
            .map(|i| s.S().column_vector()[i].max(0.0).sqrt())
            .collect()
    };
    let x_mean: Vec<f64> = centred
        .x_mean
        .iter()
        .zip(&scale)
        .map(|(v, d)| v * d)
        .collect();
    let mut solution = Solution::from_scaled_svd(
        None,
        (x_mean, centred.y_mean.clone()),
        intercept,
        ScaledSvd {
            v,
            s: &sv,
            scale: &scale,
            rank,
        },
        &rhs,
        reported,
    );
    solution.scaled_min_eig = scaled_min_eig;
    Ok((solution, cond_gram, noise_limited))
}

/// `Us^T (y - ybar)` of the equilibrated design, `Ss^-1 Vs^T Zs^T y`, per target (0 for a
/// zero singular value).
fn svd_rhs(v: faer::MatRef<'_, f64>, sv: &[f64], cross: &Mat<f64>, k: usize) -> Vec<Vec<f64>> {
    let m = sv.len();
    (0..k)
        .map(|t| {
            (0..m)
                .map(|c| match sv[c] {
                    s if s > 0.0 => (0..m).map(|a| v[(a, c)] * cross[(a, t)]).sum::<f64>() / s,
                    _ => 0.0,
                })
                .collect()
        })
        .collect()
}

/// The moments of the columns divided by `d_j = 2^h_j`, `h_j = floor(log2(sum x_j^2) / 2)`
/// (1 for a zero column), and the `d_j`: exact, as only exponents change.
fn equilibrated(moments: &Moments, m: usize, k: usize) -> (Moments, Vec<f64>) {
    let h: Vec<i32> = (0..m)
        .map(|j| match moments.gram[j * m + j] {
            s if s > 0.0 => exponent(s).div_euclid(2),
            _ => 0,
        })
        .collect();
    let scaled = Moments {
        gram: (0..m * m)
            .map(|i| scale2(moments.gram[i], -(h[i / m] + h[i % m])))
            .collect(),
        cross: (0..m * k)
            .map(|i| scale2(moments.cross[i], -h[i / k]))
            .collect(),
        x_sum: (0..m).map(|j| scale2(moments.x_sum[j], -h[j])).collect(),
        y_sum: moments.y_sum.clone(),
    };
    (scaled, h.iter().map(|&e| scale2(1.0, e)).collect())
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
