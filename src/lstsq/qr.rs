//! `Solver::Qr` in memory, and what every QR path shares: the rank and spectrum of `R`, and the
//! triangular solves.
//!
//! In memory (up to 2^20 design entries, or wide data): column-pivoted Householder QR (faer) of
//! the column-scaled centred design, then back substitution and Björck's iterative refinement
//! with double-double residuals; rank-deficient designs get the minimum-norm solution from the
//! SVD of `R`. Tall data go through `streamed_qr`, which uses [`r_spectrum`] and the solves here.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::householder;
use faer::linalg::solvers::{ColPivQr, Svd};
use faer::{Conj, Mat, MatRef, Par};

use super::double_double::{self as dd, Dd};
use super::host::HostData;
use super::refine::Refinement;
use super::solution::{
    ScaledSvd, Solution, column_scale, max_rank, needs_refinement, numerical_rank,
};
use crate::{Error, Result};

/// In memory (up to 2^20 design entries): column-pivoted Householder QR of the column-scaled
/// design `Z D^-1 P = Q R` (`D` the column
/// norms, so the rank decision does not depend on the units of the features), then:
/// full rank, back substitution and iterative refinement of the least-squares problem with
/// residuals in double-double (Björck's refinement of the augmented system, with the QR as
/// preconditioner); rank deficient, the minimum-norm solution from the SVD of `R D_P`
/// (`Z = Q U S (P V)^T`).
pub(crate) fn qr_solve(host: &HostData, intercept: bool, rcond: Option<f64>) -> Result<Solution> {
    let (n, m) = (host.n, host.m);
    let (x_mean, y_mean) = host.means(intercept);
    let norms = host.centred_norms(&x_mean);
    if norms.iter().all(|&d| d == 0.0) {
        // Nothing varies: no direction is identified (and Householder QR of a zero matrix
        // has no reflectors to build).
        let solution = Solution::rank_zero((x_mean, y_mean), intercept);
        return Ok(host.finish(solution));
    }
    let scale = column_scale(&norms);
    let qr = faer::linalg::solvers::ColPivQr::new(host.design(&x_mean, &scale).as_ref());
    let size = n.min(m);
    let r = qr.R();
    let perm = qr.P().arrays().0.to_vec(); // column j of Z P is column perm[j] of Z
    // Rank, null space and minimum-norm solution from the SVD of the scaled R (Z D^-1 P =
    // Q U S V^T); the reported singular values are those of the unscaled R D_P, i.e. of Z.
    let r_scaled = Mat::from_fn(size, m, |i, j| if j >= i { r[(i, j)] } else { 0.0 });
    let RSpectrum {
        rank,
        scaled_sv,
        scaled,
        sv,
    } = r_spectrum(
        r_scaled,
        |j| scale[perm[j]],
        n,
        rcond,
        max_rank(n, m, intercept),
    )?;
    // Right singular vectors of the scaled design in feature order: rows of V permuted back.
    let v = unpermute_rows(scaled.V(), &perm);

    let refine_full_rank = needs_refinement(n, m, &scaled_sv);
    let mut weights = vec![vec![0.0; host.k]; m];
    let mut rhs = Vec::with_capacity(host.k);
    for t in 0..host.k {
        let mut qty = Mat::from_fn(n, 1, |i, _| host.y(i, t) - y_mean[t]);
        apply_q(&qr, &mut qty, true);
        // U^T (Q^T y)[..size]: the right-hand side in the scaled SVD's coordinates.
        let u = scaled.U();
        rhs.push(
            (0..u.ncols())
                .map(|c| dd::dot((0..size).map(|i| u[(i, c)]), (0..size).map(|i| qty[(i, 0)])))
                .collect::<Vec<f64>>(),
        );
        if rank == m {
            let psi = back_substitute(r, &(0..m).map(|i| qty[(i, 0)]).collect::<Vec<_>>());
            let w = unpermute_weights(&psi, &perm, &scale);
            let w = if refine_full_rank {
                let preconditioner = Preconditioner {
                    qr: &qr,
                    perm: &perm,
                    scale: &scale,
                };
                refine(host, &preconditioner, t, intercept, &x_mean, w)
            } else {
                w
            };
            for (j, row) in weights.iter_mut().enumerate() {
                row[t] = w[j];
            }
        }
    }
    let solution = Solution::from_scaled_svd(
        (rank == m).then_some(weights),
        (x_mean, y_mean),
        intercept,
        ScaledSvd {
            v: v.as_ref(),
            s: &scaled_sv,
            scale: &scale,
            rank,
        },
        &rhs,
        sv,
    );
    Ok(host.finish(solution))
}

/// Weights in feature order from the solution `psi` of the permuted, column-scaled system.
fn unpermute_weights(psi: &[f64], perm: &[usize], scale: &[f64]) -> Vec<f64> {
    let mut w = vec![0.0; psi.len()];
    for (j, &orig) in perm.iter().enumerate() {
        w[orig] = psi[j] / scale[orig];
    }
    w
}

/// The rows of `v` in the original order: row `j` of `v` is row `perm[j]` of the result.
fn unpermute_rows(v: faer::MatRef<'_, f64>, perm: &[usize]) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(v.nrows(), v.ncols());
    for (j, &orig) in perm.iter().enumerate() {
        for c in 0..v.ncols() {
            out[(orig, c)] = v[(j, c)];
        }
    }
    out
}

/// What the SVDs of a QR's `R` tell about the design.
pub(super) struct RSpectrum {
    pub rank: usize,
    /// Singular values of the column-scaled design (the rank, the refinement decision).
    pub scaled_sv: Vec<f64>,
    /// The SVD of the scaled `R` (columns in the factor's order): null space and
    /// minimum-norm solution.
    pub scaled: Svd<f64>,
    /// Singular values of the unscaled `R D`, i.e. of the design, for reporting.
    pub sv: Vec<f64>,
}

fn singular_values(svd: &Svd<f64>) -> Vec<f64> {
    let s = svd.S().column_vector();
    (0..s.nrows()).map(|i| s[i]).collect()
}

/// The SVD of the scaled `R` and the rank from it (relative tolerance `rcond` or
/// `eps * max(n, m)`, capped at `max_rank`), and the singular values of the unscaled `R D`,
/// `col_scale(j)` the scale of factor column `j`.
pub(super) fn r_spectrum(
    r_scaled: Mat<f64>,
    col_scale: impl Fn(usize) -> f64,
    n: usize,
    rcond: Option<f64>,
    max_rank: usize,
) -> Result<RSpectrum> {
    let m = r_scaled.ncols();
    let svd_err = |e| {
        Error::Numerical(format!(
            "the SVD of the QR factor R ({m} features, column-scaled) did not converge ({e:?}); \
             the features are finite and scaled, so this is a failure of the factorisation \
             itself: try Solver::Svd or Solver::NormalEquations"
        ))
    };
    let scaled = Svd::new_thin(r_scaled.as_ref()).map_err(svd_err)?;
    let scaled_sv = singular_values(&scaled);
    let rank = numerical_rank(&scaled_sv, rcond, (n, m), max_rank);
    let r_unscaled = Mat::from_fn(r_scaled.nrows(), m, |i, j| r_scaled[(i, j)] * col_scale(j));
    let sv = singular_values(&Svd::new_thin(r_unscaled.as_ref()).map_err(svd_err)?);
    Ok(RSpectrum {
        rank,
        scaled_sv,
        scaled,
        sv,
    })
}

/// Applies `Q^T` (or `Q`) of the QR to a column vector, in place.
fn apply_q(qr: &ColPivQr<f64>, vec: &mut Mat<f64>, transpose: bool) {
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

/// The column-pivoted QR of the scaled centred design, `Z D^-1 P = Q R`, used to solve for
/// corrections.
struct Preconditioner<'a> {
    qr: &'a ColPivQr<f64>,
    /// Column `j` of `Z P` is column `perm[j]` of `Z`.
    perm: &'a [usize],
    /// The column scales `D`.
    scale: &'a [f64],
}

/// The defects of the augmented system `[I D; D^T 0] [r; theta] = [y; 0]` (`D = [1 X]`) at the
/// current `r` and `theta = (b, w)`, in double-double from the original data: `f = y - r - D
/// theta` and `g = -D^T r`, the latter in the centred design's coordinates (`g~w = gw - mean(x)
/// g0`).
struct Defects {
    f: Vec<f64>,
    g0: f64,
    gw: Vec<f64>,
}

/// A correction of the residuals, weights and intercept.
struct Correction {
    dr: Vec<f64>,
    dw: Vec<f64>,
    db: f64,
}

/// Rounds of refinement at most.
const MAX_REFINE_ROUNDS: usize = 12;

/// Björck's iterative refinement of `min ||y - b 1 - X w||` for target `t`, with the residuals of
/// the augmented system computed in double-double from the original data ([`Defects`]), and each
/// correction solved with the QR of the centred design ([`Preconditioner::correct`]).
/// Stops when the correction no longer shrinks, after at most [`MAX_REFINE_ROUNDS`].
fn refine(
    host: &HostData,
    preconditioner: &Preconditioner<'_>,
    t: usize,
    intercept: bool,
    x_mean: &[f64],
    mut w: Vec<f64>,
) -> Vec<f64> {
    let n = host.n;
    let mut b = if intercept {
        let y_mean = dd::sum((0..n).map(|i| host.y(i, t))) / n as f64;
        y_mean - dd::dot(x_mean.iter().copied(), w.iter().copied())
    } else {
        0.0
    };
    let mut r: Vec<f64> = (0..n)
        .map(|i| {
            Dd::new(host.y(i, t))
                .add(-prediction(host, i, b, &w).value())
                .value()
        })
        .collect();
    let mut rule = Refinement::default();
    for _ in 0..MAX_REFINE_ROUNDS {
        let defects = defects(host, t, intercept, x_mean, (&r, b, &w));
        let Correction { dr, dw, db } = preconditioner.correct(&defects, intercept, x_mean);
        let change = dw.iter().map(|d| d * d).sum::<f64>().sqrt();
        let size = w.iter().map(|d| d * d).sum::<f64>().sqrt();
        if !rule.accepts(change) {
            break;
        }
        w.iter_mut().zip(&dw).for_each(|(wj, d)| *wj += d);
        b += db;
        r.iter_mut().zip(&dr).for_each(|(ri, d)| *ri += d);
        if Refinement::converged(change, size) {
            break;
        }
    }
    w
}

/// `b + x_i w` in double-double.
fn prediction(host: &HostData, i: usize, b: f64, w: &[f64]) -> Dd {
    (0..host.m).fold(Dd::new(b), |acc, j| acc.add_prod(host.x(i, j), w[j]))
}

/// The [`Defects`] of target `t` at residuals `r` and parameters `(b, w)`.
fn defects(
    host: &HostData,
    t: usize,
    intercept: bool,
    x_mean: &[f64],
    (r, b, w): (&[f64], f64, &[f64]),
) -> Defects {
    let (n, m) = (host.n, host.m);
    let f: Vec<f64> = (0..n)
        .map(|i| {
            let (hi, lo) = prediction(host, i, b, w).parts();
            Dd::new(host.y(i, t)).add(-r[i]).add(-hi).add(-lo).value()
        })
        .collect();
    let g0 = if intercept {
        -dd::sum(r.iter().copied())
    } else {
        0.0
    };
    let gw = (0..m)
        .map(|j| -dd::dot((0..n).map(|i| host.x(i, j)), r.iter().copied()) - x_mean[j] * g0)
        .collect();
    Defects { f, g0, gw }
}

impl Preconditioner<'_> {
    /// Solves the augmented system for a correction, with the intercept eliminated (`phi0`) and
    /// the rest through `R`: `R psi = (Q^T f)[..m] - R^-T P^T D^-1 g~w`,
    /// `dr = f - 1 phi0 - Q [R psi; 0]`.
    fn correct(&self, defects: &Defects, intercept: bool, x_mean: &[f64]) -> Correction {
        let Defects { f, g0, gw } = defects;
        let (n, m) = (f.len(), gw.len());
        let r_fac = self.qr.R();
        let phi0 = if intercept {
            (dd::sum(f.iter().copied()) - g0) / n as f64
        } else {
            0.0
        };
        let mut qtf = Mat::from_fn(n, 1, |i, _| f[i]);
        apply_q(self.qr, &mut qtf, true);
        // Scaled variables: Z_s = Z D^-1, so the right-hand side is P^T D^-1 g~w.
        let pg: Vec<f64> = self
            .perm
            .iter()
            .map(|&orig| gw[orig] / self.scale[orig])
            .collect();
        let h = forward_substitute_t(r_fac, &pg);
        let rhs: Vec<f64> = (0..m).map(|i| qtf[(i, 0)] - h[i]).collect();
        let psi = back_substitute(r_fac, &rhs);
        let mut u = Mat::from_fn(n, 1, |i, _| if i < m { rhs[i] } else { 0.0 });
        apply_q(self.qr, &mut u, false);
        let mut dw = vec![0.0; m];
        for (j, &orig) in self.perm.iter().enumerate() {
            dw[orig] = psi[j] / self.scale[orig];
        }
        let db = if intercept {
            phi0 - dd::dot(x_mean.iter().copied(), dw.iter().copied())
        } else {
            0.0
        };
        let dr = (0..n).map(|i| f[i] - phi0 - u[(i, 0)]).collect();
        Correction { dr, dw, db }
    }
}
