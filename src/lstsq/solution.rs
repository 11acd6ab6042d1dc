//! [`Solution`]: what every solver hands back, and the algebra they share: the rank decision,
//! the minimum-norm weights, the null space and `(Z^T Z)^+` from the right singular vectors `V`
//! and singular values `S` of the design the solver saw (`Z`, centred when there is an
//! intercept), and the intercepts.

use faer::{Mat, MatRef};

use super::double_double as dd;
use super::host::Scaling;

/// What a solver learned: the weights per target and what it saw of the design.
pub(crate) struct Solution {
    /// `[n_features][n_targets]`.
    pub weights: Vec<Vec<f64>>,
    /// Per target; `None` without intercept.
    pub intercepts: Option<Vec<f64>>,
    pub rank: usize,
    /// Singular values of the (centred) design, descending.
    pub singular_values: Vec<f64>,
    /// Orthonormal basis of the null space of the (centred) design, in feature coordinates.
    pub null_weights: Vec<Vec<f64>>,
    /// `(Zs^T Zs)^+` over the rank, `[m][m]`, for the standard errors, in the coordinates of
    /// the column-scaled design `Zs = Z D^-1` (`D` = [`column_scale`](Self::column_scale)), so
    /// that columns of very different magnitudes do not overflow it.
    pub gram_pinv: Vec<Vec<f64>>,
    /// `D`: the column scales of `Zs` (ones for solvers that do not scale columns).
    pub column_scale: Vec<f64>,
    /// `Z^T Z = V S^2 V^T`, `[m][m]`, for the loss of other parameters (`explain`).
    pub gram: Vec<Vec<f64>>,
    /// `F = S V^T` (times `D` for the scaled SVD), one row per singular triplet, with
    /// `F^T F = Z^T Z`: a square root of the Gram matrix without squaring the data, for the
    /// condition number of the design with its constant column.
    pub root_gram: Vec<Vec<f64>>,
    /// Feature means (zeros without intercept).
    pub x_mean: Vec<f64>,
    /// Target means (zeros without intercept).
    pub y_mean: Vec<f64>,
    /// Smallest eigenvalue of the (centred) design's Gram matrix with columns scaled to unit
    /// norm: near 0 means near-collinear columns (statsmodels' warning rule).
    pub scaled_min_eig: f64,
    /// Residual and total sums of squares per target, when the solver has them exactly
    /// (otherwise the fit computes them on the device).
    pub sums_of_squares: Option<(Vec<f64>, Vec<f64>)>,
    /// The power-of-two scaling of the data this solution is expressed in (every field above
    /// is in the scaled units; `LeastSquaresFit` converts back).
    pub scaling: Scaling,
}

impl Solution {
    /// The common end of every solver: the null space and `(Z^T Z)^+` from the right singular
    /// vectors `v` and singular values `sv` of the design, and the intercepts
    /// `mean(y) - mean(x) w` in double-double (none without intercept).
    pub(super) fn assemble(
        weights: Vec<Vec<f64>>,
        (x_mean, y_mean): (Vec<f64>, Vec<f64>),
        intercept: bool,
        v: MatRef<'_, f64>,
        sv: Vec<f64>,
        rank: usize,
        scaled_min_eig: f64,
    ) -> Self {
        let (m, k) = (x_mean.len(), y_mean.len());
        Solution {
            intercepts: intercept.then(|| intercepts_for(&weights, &x_mean, &y_mean)),
            null_weights: null_basis(v, &sv, rank, m),
            gram_pinv: pinv_gram(v, &sv, rank, m),
            column_scale: vec![1.0; m],
            gram: gram(v, &sv, m),
            root_gram: root_gram(v, &sv, &vec![1.0; m]),
            singular_values: full_spectrum(sv, m),
            weights,
            rank,
            x_mean,
            y_mean,
            scaled_min_eig,
            sums_of_squares: None,
            scaling: Scaling::identity(k),
        }
    }
}

/// The SVD `Zs = Us Ss Vs^T` of the column-scaled design `Zs = Z D^-1`, truncated at the rank
/// decided on it.
pub(super) struct ScaledSvd<'a> {
    /// `Vs`, rows in feature order.
    pub v: MatRef<'a, f64>,
    /// `Ss`, descending.
    pub s: &'a [f64],
    /// `D`, the column scales.
    pub scale: &'a [f64],
    pub rank: usize,
}

impl Solution {
    /// The solution from the SVD of the column-scaled design (QR and SVD solvers): the null
    /// space of `Z` is `D^-1` times that of `Zs`; the weights are `weights` when the caller has
    /// them (full rank: back substitution and refinement), else the minimum-norm weights in the
    /// data's units, the particular solution `D^-1 Vs_r Ss_r^-1 (Us_r^T y)` (`rhs[t]` holds
    /// `Us^T (y - mean(y))`) with its component in that null space removed. Deciding and
    /// truncating on `Zs` keeps both independent of the features' units.
    pub(super) fn from_scaled_svd(
        weights: Option<Vec<Vec<f64>>>,
        (x_mean, y_mean): (Vec<f64>, Vec<f64>),
        intercept: bool,
        scaled: ScaledSvd<'_>,
        rhs: &[Vec<f64>],
        singular_values: Vec<f64>,
    ) -> Self {
        let (m, k) = (x_mean.len(), y_mean.len());
        let ScaledSvd { v, s, scale, rank } = scaled;
        let null_unit = null_basis(v, s, rank, m);
        let null_weights = orthonormalize(
            null_unit
                .iter()
                .map(|u| u.iter().zip(scale).map(|(a, d)| a / d).collect())
                .collect(),
        );
        let weights = weights.unwrap_or_else(|| {
            let mut weights = vec![vec![0.0; k]; m];
            for (t, rhs) in rhs.iter().enumerate() {
                let mut w: Vec<f64> = (0..m)
                    .map(|j| {
                        let unit: f64 = (0..rank).map(|c| v[(j, c)] * rhs[c] / s[c]).sum();
                        unit / scale[j]
                    })
                    .collect();
                for q in &null_weights {
                    let along: f64 = q.iter().zip(&w).map(|(a, b)| a * b).sum();
                    w.iter_mut().zip(q).for_each(|(wj, qj)| *wj -= along * qj);
                }
                for (j, row) in weights.iter_mut().enumerate() {
                    row[t] = w[j];
                }
            }
            weights
        });
        let gram_unit = gram(v, s, m);
        let scaled_min_eig = if s.len() >= m && m > 0 {
            s[m - 1] * s[m - 1]
        } else {
            0.0
        };
        Solution {
            intercepts: intercept.then(|| intercepts_for(&weights, &x_mean, &y_mean)),
            null_weights,
            gram_pinv: pinv_gram(v, s, rank, m),
            column_scale: scale.to_vec(),
            root_gram: root_gram(v, s, scale),
            gram: (0..m)
                .map(|a| {
                    (0..m)
                        .map(|b| gram_unit[a][b] * scale[a] * scale[b])
                        .collect()
                })
                .collect(),
            singular_values: full_spectrum(singular_values, m),
            weights,
            rank,
            x_mean,
            y_mean,
            scaled_min_eig,
            sums_of_squares: None,
            scaling: Scaling::identity(k),
        }
    }

    /// The solution of a design with no variation at all (every centred column zero, or every
    /// column zero without intercept): weights 0, intercepts `mean(y)`, rank 0, every
    /// direction in the null space.
    pub(super) fn rank_zero((x_mean, y_mean): (Vec<f64>, Vec<f64>), intercept: bool) -> Self {
        let (m, k) = (x_mean.len(), y_mean.len());
        let identity = Mat::<f64>::identity(m, m);
        Solution::assemble(
            vec![vec![0.0; k]; m],
            (x_mean, y_mean),
            intercept,
            identity.as_ref(),
            vec![0.0; m],
            0,
            0.0,
        )
    }
}

/// Default rank tolerance, relative to the largest singular value: `eps * max(n, m)` (numpy's
/// `matrix_rank` and LAPACK's `gelsd` with `rcond=None`).
fn default_rcond(n: usize, m: usize) -> f64 {
    f64::EPSILON * n.max(m) as f64
}

/// The numerical rank: the singular values `sv` (descending) above `rcond` (or `eps * max(n, m)`)
/// times the largest, at most `max_rank`. The one rank rule of every solver.
pub(super) fn numerical_rank(
    sv: &[f64],
    rcond: Option<f64>,
    (n, m): (usize, usize),
    max_rank: usize,
) -> usize {
    let tol = rcond.unwrap_or_else(|| default_rcond(n, m)) * sv.first().copied().unwrap_or(0.0);
    sv.iter().filter(|&&s| s > tol).count().min(max_rank)
}

/// The largest rank `n` rows of `m` features can have: `min(n, m)`, and `min(n - 1, m)` once
/// centred for an intercept.
pub(super) fn max_rank(n: usize, m: usize, intercept: bool) -> usize {
    n.saturating_sub(usize::from(intercept)).min(m)
}

/// Problems up to this many design entries are always refined (it is cheap there).
/// The column scaling of every solver's rank decision: each centred column divided by its
/// norm, a column of zeros (constant, or all zero) by 1.
pub(super) fn column_scale(norms: &[f64]) -> Vec<f64> {
    norms
        .iter()
        .map(|&d| if d > 0.0 { d } else { 1.0 })
        .collect()
}

pub(super) const REFINE_ALWAYS_BELOW: usize = 1 << 20;
/// Larger problems are refined when the column-scaled design's condition number exceeds this.
const REFINE_ABOVE_COND: f64 = 1e4;

/// Whether a full-rank QR solution is worth refining: refinement costs a few passes over the
/// data and pays when the column-scaled design (singular values `scaled_sv`, descending) is not
/// well conditioned, where the plain solution may have lost digits; small problems always.
pub(super) fn needs_refinement(n: usize, m: usize, scaled_sv: &[f64]) -> bool {
    let scaled_cond =
        scaled_sv.first().copied().unwrap_or(0.0) / scaled_sv.last().copied().unwrap_or(0.0);
    n * m <= REFINE_ALWAYS_BELOW || scaled_cond.is_nan() || scaled_cond > REFINE_ABOVE_COND
}

fn intercepts_for(weights: &[Vec<f64>], x_mean: &[f64], y_mean: &[f64]) -> Vec<f64> {
    (0..y_mean.len())
        .map(|t| y_mean[t] - dd::dot(x_mean.iter().copied(), weights.iter().map(|row| row[t])))
        .collect()
}

/// The `m` singular values, zeros appended when the design has fewer rows than columns.
fn full_spectrum(mut sv: Vec<f64>, m: usize) -> Vec<f64> {
    sv.resize(m, 0.0);
    sv
}

/// Orthonormal null-space basis: the right singular vectors beyond the rank, completed to `m`.
fn null_basis(v: MatRef<'_, f64>, sv: &[f64], rank: usize, m: usize) -> Vec<Vec<f64>> {
    let mut basis: Vec<Vec<f64>> = (rank..sv.len().min(v.ncols()))
        .map(|c| (0..m).map(|j| v[(j, c)]).collect())
        .collect();
    // With fewer rows than features, the thin SVD has fewer than m columns: complete the basis
    // with the orthogonal complement of all of V's columns (Gram-Schmidt on unit vectors).
    let mut known: Vec<Vec<f64>> = (0..v.ncols())
        .map(|c| (0..m).map(|j| v[(j, c)]).collect())
        .collect();
    for e in 0..m {
        if known.len() >= m {
            break;
        }
        let mut cand: Vec<f64> = (0..m).map(|j| if j == e { 1.0 } else { 0.0 }).collect();
        for _ in 0..2 {
            for q in &known {
                let d: f64 = q.iter().zip(&cand).map(|(a, b)| a * b).sum();
                for (c, qv) in cand.iter_mut().zip(q) {
                    *c -= d * qv;
                }
            }
        }
        let norm = cand.iter().map(|c| c * c).sum::<f64>().sqrt();
        if norm > 1e-8 {
            cand.iter_mut().for_each(|c| *c /= norm);
            known.push(cand.clone());
            basis.push(cand);
        }
    }
    basis
}

/// `Z^T Z = V S^2 V^T` over every singular triplet the solver has.
fn gram(v: MatRef<'_, f64>, sv: &[f64], m: usize) -> Vec<Vec<f64>> {
    let mut g = vec![vec![0.0; m]; m];
    for (c, &s) in sv.iter().enumerate().take(v.ncols()) {
        for a in 0..m {
            for b in 0..m {
                g[a][b] += v[(a, c)] * v[(b, c)] * (s * s);
            }
        }
    }
    g
}

/// `S V^T D` over every singular triplet (`D` = `scale`): rows are triplets, columns features.
fn root_gram(v: MatRef<'_, f64>, sv: &[f64], scale: &[f64]) -> Vec<Vec<f64>> {
    sv.iter()
        .enumerate()
        .take(v.ncols())
        .map(|(c, &s)| (0..scale.len()).map(|a| s * v[(a, c)] * scale[a]).collect())
        .collect()
}

/// `(Z^T Z)^+ = V S^-2 V^T` over the first `rank` singular triplets.
fn pinv_gram(v: MatRef<'_, f64>, sv: &[f64], rank: usize, m: usize) -> Vec<Vec<f64>> {
    let mut g = vec![vec![0.0; m]; m];
    for (c, &s) in sv.iter().enumerate().take(rank) {
        for a in 0..m {
            for b in 0..m {
                g[a][b] += v[(a, c)] * v[(b, c)] / (s * s);
            }
        }
    }
    g
}

/// Gram-Schmidt, twice for stability; drops vectors that vanish. Each vector is first divided
/// by its largest entry, so that entries near f64's limits do not overflow the norms.
pub(super) fn orthonormalize(vectors: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let mut basis: Vec<Vec<f64>> = Vec::new();
    for mut v in vectors {
        let largest = v.iter().fold(0.0f64, |a, x| a.max(x.abs()));
        if largest > 0.0 && largest.is_finite() {
            v.iter_mut().for_each(|x| *x /= largest);
        }
        for _ in 0..2 {
            for q in &basis {
                let d: f64 = q.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(q).for_each(|(x, qv)| *x -= d * qv);
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-12 {
            v.iter_mut().for_each(|x| *x /= norm);
            basis.push(v);
        }
    }
    basis
}
