//! The solvers: column-pivoted QR with refinement, SVD, and normal equations on the device.
//!
//! Every solver works on the centred design `Z = X - 1 mean(X)` when there is an intercept (so
//! that the intercept is left out of the minimum norm, scikit-learn's convention) and on `X`
//! otherwise, and returns the weights; the intercept is then `mean(y) - mean(X) w`.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::householder;
use faer::linalg::solvers::Svd;
use faer::{Conj, Mat, MatRef, Par};

use super::dd::{self, Dd};
use crate::data::Dataset;
use crate::device::read_f64;
use crate::{Error, Result};

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
    /// `(Z^T Z)^+`, `[m][m]`, for the standard errors.
    pub gram_pinv: Vec<Vec<f64>>,
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
}

/// Smallest eigenvalue of `D^-1 F^T F D^-1`, `D` the column norms of `F` (`F^T F = Z^T Z`).
pub(super) fn scaled_min_eig(f: MatRef<'_, f64>, m: usize) -> f64 {
    if f.nrows() < m {
        return 0.0;
    }
    let norms: Vec<f64> = (0..m)
        .map(|j| {
            (0..f.nrows())
                .map(|i| f[(i, j)] * f[(i, j)])
                .sum::<f64>()
                .sqrt()
        })
        .collect();
    if norms.contains(&0.0) {
        return 0.0;
    }
    let scaled = Mat::from_fn(f.nrows(), m, |i, j| f[(i, j)] / norms[j]);
    match Svd::new_thin(scaled.as_ref()) {
        Ok(svd) => {
            let s = svd.S().column_vector();
            let smin = (0..s.nrows()).map(|i| s[i]).fold(f64::INFINITY, f64::min);
            smin * smin
        }
        Err(_) => f64::NAN,
    }
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
        let m = x_mean.len();
        Solution {
            intercepts: intercept.then(|| intercepts_for(&weights, &x_mean, &y_mean)),
            null_weights: null_basis(v, &sv, rank, m),
            gram_pinv: pinv_gram(v, &sv, rank, m),
            singular_values: full_spectrum(sv, m),
            weights,
            rank,
            x_mean,
            y_mean,
            scaled_min_eig,
            sums_of_squares: None,
        }
    }
}

/// The data on the host: row-major features `[n][m]` and targets `[n][k]`.
pub(crate) struct HostData {
    pub n: usize,
    pub m: usize,
    pub k: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
}

impl HostData {
    pub(crate) fn read(data: &Dataset) -> Result<Self> {
        Ok(Self {
            n: data.n_samples(),
            m: data.n_features(),
            k: data.n_targets(),
            x: read_f64(data.features())?,
            y: read_f64(data.targets())?,
        })
    }

    fn x(&self, i: usize, j: usize) -> f64 {
        self.x[i * self.m + j]
    }

    fn y(&self, i: usize, t: usize) -> f64 {
        self.y[i * self.k + t]
    }

    /// Column means of the features and targets, in double-double, in one row-major pass.
    fn means(&self) -> (Vec<f64>, Vec<f64>) {
        let column_means = |values: &[f64], width: usize| -> Vec<f64> {
            let mut acc = vec![Dd::default(); width];
            for row in values.chunks_exact(width) {
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a = a.add(v);
                }
            }
            acc.iter().map(|a| a.value() / self.n as f64).collect()
        };
        (column_means(&self.x, self.m), column_means(&self.y, self.k))
    }

    /// The design the solver sees, column-major: `(x - mean) / scale`, transposed in blocks of
    /// rows so that both the row-major source and the column-major copy are read sequentially.
    fn design(&self, x_mean: &[f64], scale: &[f64]) -> Mat<f64> {
        let (n, m) = (self.n, self.m);
        let mut z = Mat::<f64>::zeros(n, m);
        const BLOCK: usize = 256;
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            for j in 0..m {
                let (mean, s) = (x_mean[j], scale[j]);
                let col = z
                    .col_mut(j)
                    .try_as_col_major_mut()
                    .map(|c| c.as_slice_mut());
                if let Some(col) = col {
                    for (i, out) in col[start..end].iter_mut().enumerate() {
                        *out = (self.x[(start + i) * m + j] - mean) / s;
                    }
                }
            }
        }
        z
    }

    /// Euclidean norms of the centred feature columns, in double-double, one row-major pass.
    fn centred_norms(&self, x_mean: &[f64]) -> Vec<f64> {
        let mut acc = vec![Dd::default(); self.m];
        for row in self.x.chunks_exact(self.m) {
            for ((a, &v), mean) in acc.iter_mut().zip(row).zip(x_mean) {
                let c = v - mean;
                *a = a.add_prod(c, c);
            }
        }
        acc.iter().map(|a| a.value().sqrt()).collect()
    }
}

/// Default rank tolerance, relative to the largest singular value: `eps * max(n, m)` (numpy's
/// `matrix_rank` and LAPACK's `gelsd` with `rcond=None`).
pub(super) fn default_rcond(n: usize, m: usize) -> f64 {
    f64::EPSILON * n.max(m) as f64
}

/// Minimum-norm solution through the SVD `Z = U S V^T` (rank revealing).
pub(crate) fn svd_solve(host: &HostData, intercept: bool, rcond: Option<f64>) -> Result<Solution> {
    let (x_mean, y_mean) = means_for(host, intercept);
    let z = host.design(&x_mean, &vec![1.0; host.m]);
    let svd = Svd::new_thin(z.as_ref())
        .map_err(|e| Error::Numerical(format!("SVD did not converge: {e:?}")))?;
    drop(z);
    let (u, s, v) = (svd.U(), svd.S().column_vector(), svd.V());
    let sv: Vec<f64> = (0..s.nrows()).map(|i| s[i]).collect();
    let tol =
        rcond.unwrap_or_else(|| default_rcond(host.n, host.m)) * sv.first().copied().unwrap_or(0.0);
    let rank = sv
        .iter()
        .filter(|&&s| s > tol)
        .count()
        .min(max_rank(host, intercept));
    let mut weights = vec![vec![0.0; host.k]; host.m];
    for t in 0..host.k {
        for (c, &s) in sv.iter().enumerate().take(rank) {
            let uty = dd::dot(
                (0..host.n).map(|i| u[(i, c)]),
                (0..host.n).map(|i| host.y(i, t) - y_mean[t]),
            );
            for (j, row) in weights.iter_mut().enumerate() {
                row[t] += v[(j, c)] * uty / s;
            }
        }
    }
    let svt = Mat::from_fn(sv.len(), host.m, |c, j| sv[c] * v[(j, c)]);
    let scaled_min_eig = scaled_min_eig(svt.as_ref(), host.m);
    Ok(Solution::assemble(
        weights,
        (x_mean, y_mean),
        intercept,
        v,
        sv,
        rank,
        scaled_min_eig,
    ))
}

/// In memory (up to 2^20 design entries): column-pivoted Householder QR of the column-scaled
/// design `Z D^-1 P = Q R` (`D` the column
/// norms, so the rank decision does not depend on the units of the features), then:
/// full rank, back substitution and iterative refinement of the least-squares problem with
/// residuals in double-double (Björck's refinement of the augmented system, with the QR as
/// preconditioner); rank deficient, the minimum-norm solution from the SVD of `R D_P`
/// (`Z = Q U S (P V)^T`).
pub(crate) fn qr_solve(host: &HostData, intercept: bool, rcond: Option<f64>) -> Result<Solution> {
    let (n, m) = (host.n, host.m);
    let (x_mean, y_mean) = means_for(host, intercept);
    let scale: Vec<f64> = host
        .centred_norms(&x_mean)
        .into_iter()
        .map(|d| if d > 0.0 { d } else { 1.0 })
        .collect();
    let qr = faer::linalg::solvers::ColPivQr::new(host.design(&x_mean, &scale).as_ref());
    let size = n.min(m);
    let r = qr.R();
    let perm = qr.P().arrays().0.to_vec(); // column j of Z P is column perm[j] of Z
    // The rank from the scaled R; the singular values, null space and minimum-norm solution from
    // the unscaled R D_P, whose singular values are those of Z.
    let r_scaled = Mat::from_fn(size, m, |i, j| if j >= i { r[(i, j)] } else { 0.0 });
    let RSpectrum {
        rank,
        scaled_sv,
        r_unscaled,
        svd,
        sv,
    } = r_spectrum(
        r_scaled,
        |j| scale[perm[j]],
        n,
        rcond,
        max_rank(host, intercept),
    )?;
    // Right singular vectors of Z: rows of V permuted back, P V.
    let mut v = Mat::<f64>::zeros(m, svd.V().ncols());
    for (j, &orig) in perm.iter().enumerate() {
        for c in 0..svd.V().ncols() {
            v[(orig, c)] = svd.V()[(j, c)];
        }
    }

    // Refinement costs a few passes over the data; it pays when the scaled design is not
    // well conditioned (the plain QR solution may then have lost digits), and always on small
    // problems, where it is cheap.
    let scaled_cond =
        scaled_sv.first().copied().unwrap_or(0.0) / scaled_sv.last().copied().unwrap_or(0.0);
    let needs_refinement =
        n * m <= REFINE_ALWAYS_BELOW || scaled_cond.is_nan() || scaled_cond > REFINE_ABOVE_COND;
    let mut weights = vec![vec![0.0; host.k]; m];
    for t in 0..host.k {
        let mut qty = Mat::from_fn(n, 1, |i, _| host.y(i, t) - y_mean[t]);
        apply_q(&qr, &mut qty, true);
        let w = if rank == m {
            let psi = back_substitute(r, &(0..m).map(|i| qty[(i, 0)]).collect::<Vec<_>>());
            let mut w = vec![0.0; m];
            for (j, &orig) in perm.iter().enumerate() {
                w[orig] = psi[j] / scale[orig];
            }
            if needs_refinement {
                refine(host, (&qr, &perm, &scale), t, intercept, &x_mean, w)
            } else {
                w
            }
        } else {
            // w = P V S^+ U^T (Q^T y)[..size]
            let qty: Vec<f64> = (0..size).map(|i| qty[(i, 0)]).collect();
            min_norm_weights(svd.U(), v.as_ref(), &sv, rank, &qty)
        };
        for (j, row) in weights.iter_mut().enumerate() {
            row[t] = w[j];
        }
    }
    let scaled_min_eig = scaled_min_eig(r_unscaled.as_ref(), m);
    Ok(Solution::assemble(
        weights,
        (x_mean, y_mean),
        intercept,
        v.as_ref(),
        sv,
        rank,
        scaled_min_eig,
    ))
}

/// Problems up to this many design entries are always refined.
pub(super) const REFINE_ALWAYS_BELOW: usize = 1 << 20;
/// Larger problems are refined when the column-scaled design's condition number exceeds this.
pub(super) const REFINE_ABOVE_COND: f64 = 1e4;

/// Minimum-norm weights `V S^+ U^T qty` over the first `rank` singular triplets of a QR's `R`
/// (`U`, `S`, `V` its SVD with `V`'s rows in feature order, `qty` the leading part of `Q^T y`).
pub(super) fn min_norm_weights(
    u: MatRef<'_, f64>,
    v: MatRef<'_, f64>,
    sv: &[f64],
    rank: usize,
    qty: &[f64],
) -> Vec<f64> {
    let mut w = vec![0.0; v.nrows()];
    for (c, &s) in sv.iter().enumerate().take(rank) {
        let coef = dd::dot((0..qty.len()).map(|i| u[(i, c)]), qty.iter().copied()) / s;
        for (j, wj) in w.iter_mut().enumerate() {
            *wj += v[(j, c)] * coef;
        }
    }
    w
}

/// What the SVDs of a QR's `R` tell about the design.
pub(super) struct RSpectrum {
    pub rank: usize,
    /// Singular values of the column-scaled design (for the rank and the refinement decision).
    pub scaled_sv: Vec<f64>,
    /// `R D` in the factor's column order: the R factor of the unscaled design.
    pub r_unscaled: Mat<f64>,
    /// Its SVD: singular values and right singular vectors of the design.
    pub svd: Svd<f64>,
    pub sv: Vec<f64>,
}

fn singular_values(svd: &Svd<f64>) -> Vec<f64> {
    let s = svd.S().column_vector();
    (0..s.nrows()).map(|i| s[i]).collect()
}

/// The rank (from the scaled `R`, relative tolerance `rcond` or `eps * max(n, m)`, capped at
/// `max_rank`) and the SVD of the unscaled `R D`, `col_scale(j)` the scale of factor column `j`.
pub(super) fn r_spectrum(
    r_scaled: Mat<f64>,
    col_scale: impl Fn(usize) -> f64,
    n: usize,
    rcond: Option<f64>,
    max_rank: usize,
) -> Result<RSpectrum> {
    let m = r_scaled.ncols();
    let svd_err = |e| Error::Numerical(format!("SVD of R did not converge: {e:?}"));
    let scaled_sv = singular_values(&Svd::new_thin(r_scaled.as_ref()).map_err(svd_err)?);
    let tol =
        rcond.unwrap_or_else(|| default_rcond(n, m)) * scaled_sv.first().copied().unwrap_or(0.0);
    let rank = scaled_sv.iter().filter(|&&s| s > tol).count().min(max_rank);
    let r_unscaled = Mat::from_fn(r_scaled.nrows(), m, |i, j| r_scaled[(i, j)] * col_scale(j));
    let svd = Svd::new_thin(r_unscaled.as_ref()).map_err(svd_err)?;
    let sv = singular_values(&svd);
    Ok(RSpectrum {
        rank,
        scaled_sv,
        r_unscaled,
        svd,
        sv,
    })
}

/// Applies `Q^T` (or `Q`) of the QR to a column vector, in place.
fn apply_q(qr: &faer::linalg::solvers::ColPivQr<f64>, vec: &mut Mat<f64>, transpose: bool) {
    let (basis, coeff) = (qr.Q_basis(), qr.Q_coeff());
    let block = coeff.nrows();
    let n = basis.nrows();
    let mut mem = MemBuffer::new(if transpose {
        householder::apply_block_householder_sequence_transpose_on_the_left_in_place_scratch::<f64>(
            n, block, 1,
        )
    } else {
        householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<f64>(
            n, block, 1,
        )
    });
    let stack = MemStack::new(&mut mem);
    if transpose {
        householder::apply_block_householder_sequence_transpose_on_the_left_in_place_with_conj(
            basis,
            coeff,
            Conj::No,
            vec.as_mut(),
            Par::Seq,
            stack,
        );
    } else {
        householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
            basis,
            coeff,
            Conj::No,
            vec.as_mut(),
            Par::Seq,
            stack,
        );
    }
}

/// Solves `R x = b` for the leading `b.len()` columns of upper-triangular `R`.
pub(super) fn back_substitute(r: MatRef<'_, f64>, b: &[f64]) -> Vec<f64> {
    let m = b.len();
    let mut x = vec![0.0; m];
    for i in (0..m).rev() {
        let s = dd::dot((i + 1..m).map(|j| r[(i, j)]), (i + 1..m).map(|j| x[j]));
        x[i] = (b[i] - s) / r[(i, i)];
    }
    x
}

/// Solves `R^T x = b` (forward substitution).
pub(super) fn forward_substitute_t(r: MatRef<'_, f64>, b: &[f64]) -> Vec<f64> {
    let m = b.len();
    let mut x = vec![0.0; m];
    for i in 0..m {
        let s = dd::dot((0..i).map(|j| r[(j, i)]), (0..i).map(|j| x[j]));
        x[i] = (b[i] - s) / r[(i, i)];
    }
    x
}

/// Björck's iterative refinement of `min ||y - b 1 - X w||` for target `t`, with the residuals of
/// the augmented system `[I D; D^T 0] [r; theta] = [y; 0]` (D = [1 X]) computed in double-double
/// from the original data, and each correction solved with the QR of the centred design.
/// Stops when the correction no longer shrinks the weights' change, after at most 12 rounds.
fn refine(
    host: &HostData,
    (qr, perm, scale): (&faer::linalg::solvers::ColPivQr<f64>, &[usize], &[f64]),
    t: usize,
    intercept: bool,
    x_mean: &[f64],
    mut w: Vec<f64>,
) -> Vec<f64> {
    let (n, m) = (host.n, host.m);
    let r_fac = qr.R();
    let row_pred = |i: usize, b: f64, w: &[f64]| -> Dd {
        (0..m).fold(Dd::new(b), |acc, j| acc.add_prod(host.x(i, j), w[j]))
    };
    let mut b = if intercept {
        let y_mean = dd::sum((0..n).map(|i| host.y(i, t))) / n as f64;
        y_mean - dd::dot(x_mean.iter().copied(), w.iter().copied())
    } else {
        0.0
    };
    let mut r: Vec<f64> = (0..n)
        .map(|i| {
            Dd::new(host.y(i, t))
                .add(-row_pred(i, b, &w).value())
                .value()
        })
        .collect();
    let mut last_change = f64::INFINITY;
    for _ in 0..12 {
        // f = y - r - D theta, g = -D^T r, all in double-double.
        let f: Vec<f64> = (0..n)
            .map(|i| {
                let p = row_pred(i, b, &w);
                let (hi, lo) = p.parts();
                Dd::new(host.y(i, t)).add(-r[i]).add(-hi).add(-lo).value()
            })
            .collect();
        let g0 = if intercept {
            -dd::sum(r.iter().copied())
        } else {
            0.0
        };
        let gw: Vec<f64> = (0..m)
            .map(|j| -dd::dot((0..n).map(|i| host.x(i, j)), r.iter().copied()))
            .collect();
        // Change of variables to the centred design E = [1 Z]: g~w = gw - mean(x) g0.
        let gw_t: Vec<f64> = (0..m).map(|j| gw[j] - x_mean[j] * g0).collect();
        let phi0 = if intercept {
            (dd::sum(f.iter().copied()) - g0) / n as f64
        } else {
            0.0
        };
        // R psi = (Q^T f)[..m] - R^{-T} P^T g~w
        let mut qtf = Mat::from_fn(n, 1, |i, _| f[i]);
        apply_q(qr, &mut qtf, true);
        // Scaled variables: Z_s = Z D^-1, so the right-hand side is P^T D^-1 g~w.
        let pg: Vec<f64> = perm.iter().map(|&orig| gw_t[orig] / scale[orig]).collect();
        let h = forward_substitute_t(r_fac, &pg);
        let rhs: Vec<f64> = (0..m).map(|i| qtf[(i, 0)] - h[i]).collect();
        let psi = back_substitute(r_fac, &rhs);
        // delta r = f - 1 phi0 - Q [d1 - h; 0]
        let mut u = Mat::from_fn(n, 1, |i, _| if i < m { rhs[i] } else { 0.0 });
        apply_q(qr, &mut u, false);
        let mut dw = vec![0.0; m];
        for (j, &orig) in perm.iter().enumerate() {
            dw[orig] = psi[j] / scale[orig];
        }
        let db = if intercept {
            phi0 - dd::dot(x_mean.iter().copied(), dw.iter().copied())
        } else {
            0.0
        };
        let change = dw.iter().map(|d| d * d).sum::<f64>().sqrt();
        let size = w.iter().map(|d| d * d).sum::<f64>().sqrt();
        if !change.is_finite() || change >= last_change {
            break; // no longer converging: keep the current solution
        }
        for (wj, d) in w.iter_mut().zip(&dw) {
            *wj += d;
        }
        b += db;
        for i in 0..n {
            r[i] += f[i] - phi0 - u[(i, 0)];
        }
        last_change = change;
        if change <= f64::EPSILON * size {
            break;
        }
    }
    let _ = b;
    w
}

/// A centred design has rank at most `n - 1`.
fn max_rank(host: &HostData, intercept: bool) -> usize {
    host.n.saturating_sub(usize::from(intercept)).min(host.m)
}

fn means_for(host: &HostData, intercept: bool) -> (Vec<f64>, Vec<f64>) {
    if intercept {
        host.means()
    } else {
        (vec![0.0; host.m], vec![0.0; host.k])
    }
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

/// The normal equations, accumulated on the data's device with Burn's matmul in chunks of rows
/// (`X^T X`, `X^T Y`, column sums), then solved on the host through the eigen-decomposition of
/// the small centred Gram matrix `G = Z^T Z` (minimum norm when singular). Returns the solution
/// and the condition number of `G` (the square of the design's).
pub(crate) fn normal_equations(
    data: &Dataset,
    intercept: bool,
    rcond: Option<f64>,
) -> Result<(Solution, f64)> {
    let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
    let super::passes::Moments {
        gram,
        cross,
        x_sum: xsum,
        y_sum: ysum,
    } = super::passes::moments(data)?;
    let nf = n as f64;
    let (x_mean, y_mean): (Vec<f64>, Vec<f64>) = if intercept {
        (
            xsum.iter().map(|s| s / nf).collect(),
            ysum.iter().map(|s| s / nf).collect(),
        )
    } else {
        (vec![0.0; m], vec![0.0; k])
    };
    // Centred: G - n xbar xbar^T, c - n xbar ybar^T.
    let g = Mat::from_fn(m, m, |a, b| gram[a * m + b] - nf * x_mean[a] * x_mean[b]);
    let c = Mat::from_fn(m, k, |a, t| cross[a * k + t] - nf * x_mean[a] * y_mean[t]);
    let svd = Svd::new(g.as_ref()).map_err(|e| {
        Error::Numerical(format!(
            "eigen-decomposition of the Gram matrix did not converge: {e:?}"
        ))
    })?;
    // Forming G - n xbar xbar^T from the raw sums cancels: its entries carry errors of about
    // eps * n * max|raw G|, so eigenvalues below that are noise, whatever rcond says.
    let raw_max = gram.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let noise = f64::EPSILON * (n.max(m) as f64) * raw_max;
    let eig: Vec<f64> = (0..m)
        .map(|i| svd.S().column_vector()[i].max(0.0))
        .collect();
    let sv: Vec<f64> = eig.iter().map(|e| e.sqrt()).collect();
    let tol = rcond.unwrap_or_else(|| default_rcond(n, m)) * sv.first().copied().unwrap_or(0.0);
    let max_rank = if intercept { n - 1 } else { n }.min(m);
    let rank = eig
        .iter()
        .zip(&sv)
        .filter(|&(&e, &s)| s > tol && e > noise)
        .count()
        .min(max_rank);
    let v = svd.V();
    let mut weights = vec![vec![0.0; k]; m];
    for t in 0..k {
        for (col, &e) in eig.iter().enumerate().take(rank) {
            let coef = (0..m).map(|a| v[(a, col)] * c[(a, t)]).sum::<f64>() / e;
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
    let diag: Vec<f64> = (0..m).map(|a| g[(a, a)].max(0.0).sqrt()).collect();
    let scaled_min_eig = if diag.contains(&0.0) {
        0.0
    } else {
        let scaled = Mat::from_fn(m, m, |a, b| g[(a, b)] / (diag[a] * diag[b]));
        Svd::new(scaled.as_ref()).map_or(f64::NAN, |s| {
            let s = s.S().column_vector();
            (0..s.nrows()).map(|i| s[i]).fold(f64::INFINITY, f64::min)
        })
    };
    let solution = Solution::assemble(
        weights,
        (x_mean, y_mean),
        intercept,
        v,
        sv,
        rank,
        scaled_min_eig,
    );
    Ok((solution, cond_gram))
}
