//! `Solver::Svd` in memory: the SVD of the centred design, minimum norm. The rank is decided
//! on the column-scaled design, as `Qr` does, so that it does not depend on the features'
//! units (LAPACK's `gelsd` decides on the design itself, where a column in other units can
//! fall below the tolerance). Tall data take the SVD of the streamed QR's `R` instead
//! (`streamed_qr`).
//!
//! With `Z = Zs D` (`D` the centred column norms): the thin SVD `Zs = Us Ss Vs^T` gives the
//! rank and, truncated there, the solution: `D^-1 Vs_r Ss_r^-1 Us_r^T y` with its component in
//! the null space of `Z` (`D^-1` times that of `Zs`) removed, the minimum-norm solution in the
//! data's units (`Solution::from_scaled_svd`), accurate whatever the columns' scales. The
//! design's own singular values, reported, are those of the small `Ss Vs^T D`.

use faer::Mat;
use faer::linalg::solvers::Svd;

use super::double_double as dd;
use super::host::HostData;
use super::solution::{ScaledSvd, Solution, max_rank, numerical_rank};
use crate::{Error, Result};

/// Minimum-norm solution through the SVD (rank revealing).
pub(crate) fn svd_solve(host: &HostData, intercept: bool, rcond: Option<f64>) -> Result<Solution> {
    let (n, m, k) = (host.n, host.m, host.k);
    let (x_mean, y_mean) = host.means(intercept);
    let norms = host.centred_norms(&x_mean);
    let solution = if norms.iter().all(|&d| d == 0.0) {
        Solution::rank_zero((x_mean, y_mean), intercept)
    } else {
        let scale = super::solution::column_scale(&norms);
        let svd_err = |e| {
            Error::Numerical(format!(
                "the SVD of the {n} x {m} centred, column-scaled design did not converge \
                 ({e:?}); try Solver::Qr"
            ))
        };
        let zs = host.design(&x_mean, &scale);
        let scaled = Svd::new_thin(zs.as_ref()).map_err(svd_err)?;
        drop(zs);
        let (us, ss, vs) = (scaled.U(), scaled.S().column_vector(), scaled.V());
        let scaled_sv: Vec<f64> = (0..ss.nrows()).map(|i| ss[i]).collect();
        let rank = numerical_rank(&scaled_sv, rcond, (n, m), max_rank(n, m, intercept));
        // The design's own singular values, for reporting: those of the small Ss Vs^T D.
        let small = Mat::from_fn(scaled_sv.len(), m, |c, j| {
            scaled_sv[c] * vs[(j, c)] * scale[j]
        });
        let sv = Svd::new_thin(small.as_ref()).map_err(svd_err)?;
        let sv: Vec<f64> = (0..sv.S().column_vector().nrows())
            .map(|i| sv.S().column_vector()[i])
            .collect();
        // Us^T (y - mean(y)) per target, in double-double.
        let rhs: Vec<Vec<f64>> = (0..k)
            .map(|t| {
                (0..scaled_sv.len())
                    .map(|c| {
                        dd::dot(
                            (0..n).map(|i| us[(i, c)]),
                            (0..n).map(|i| host.y(i, t) - y_mean[t]),
                        )
                    })
                    .collect()
            })
            .collect();
        Solution::from_scaled_svd(
            None,
            (x_mean, y_mean),
            intercept,
            ScaledSvd {
                v: vs,
                s: &scaled_sv,
                scale: &scale,
                rank,
            },
            &rhs,
            sv,
        )
    };
    Ok(host.finish(solution))
}
