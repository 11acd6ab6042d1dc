//! `Solver::Svd` in memory: the SVD of the centred design, minimum norm. The rank is decided
//! on the column-scaled design, as `Qr` does, so that it does not depend on the features'
//! units (LAPACK's `gelsd` decides on the design itself, where a column in other units can
//! fall below the tolerance). Tall data take the SVD of the streamed QR's `R` instead
//! (`streamed_qr`).
//!
//! With `Z = Zs D` (`D` the centred column norms): the thin SVD `Zs = Us Ss Vs^T` gives the
//! rank; a full-rank solution (unique) is `w = D^-1 Vs Ss^-1 Us^T y`, accurate whatever the
//! columns' scales; a rank-deficient one is the minimum-norm solution in the data's units,
//! through the SVD of the small `Ss Vs^T D = U2 S V^T` (so `Z = (Us U2) S V^T`).

use faer::Mat;
use faer::linalg::solvers::Svd;

use super::double_double as dd;
use super::host::HostData;
use super::solution::{Solution, max_rank, min_norm_weights, numerical_rank, scaled_min_eig};
use crate::{Error, Result};

/// Minimum-norm solution through the SVD (rank revealing).
pub(crate) fn svd_solve(host: &HostData, intercept: bool, rcond: Option<f64>) -> Result<Solution> {
    let (n, m, k) = (host.n, host.m, host.k);
    let (x_mean, y_mean) = host.means(intercept);
    let norms = host.centred_norms(&x_mean);
    let mut solution = if norms.iter().all(|&d| d == 0.0) {
        Solution::rank_zero((x_mean, y_mean), intercept)
    } else {
        let scale: Vec<f64> = norms
            .into_iter()
            .map(|d| if d > 0.0 { d } else { 1.0 })
            .collect();
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
        // The design's own SVD, from the small factor Ss Vs^T D.
        let small = Mat::from_fn(scaled_sv.len(), m, |c, j| {
            scaled_sv[c] * vs[(j, c)] * scale[j]
        });
        let svd = Svd::new_thin(small.as_ref()).map_err(svd_err)?;
        let sv: Vec<f64> = (0..svd.S().column_vector().nrows())
            .map(|i| svd.S().column_vector()[i])
            .collect();
        let mut weights = vec![vec![0.0; k]; m];
        for t in 0..k {
            // Us^T (y - mean(y)), in double-double.
            let uty: Vec<f64> = (0..scaled_sv.len())
                .map(|c| {
                    dd::dot(
                        (0..n).map(|i| us[(i, c)]),
                        (0..n).map(|i| host.y(i, t) - y_mean[t]),
                    )
                })
                .collect();
            let w = if rank == m {
                (0..m)
                    .map(|j| {
                        let s: f64 = (0..rank).map(|c| vs[(j, c)] * uty[c] / scaled_sv[c]).sum();
                        s / scale[j]
                    })
                    .collect()
            } else {
                min_norm_weights(svd.U(), svd.V(), &sv, rank, &uty)
            };
            for (j, row) in weights.iter_mut().enumerate() {
                row[t] = w[j];
            }
        }
        let scaled_min_eig = scaled_min_eig(small.as_ref(), m);
        Solution::assemble(
            weights,
            (x_mean, y_mean),
            intercept,
            svd.V(),
            sv,
            rank,
            scaled_min_eig,
        )
    };
    solution.sums_of_squares = Some(host.sums_of_squares(
        &solution.weights,
        solution.intercepts.as_deref(),
        &solution.y_mean,
    ));
    solution.scaling = host.scaling.clone();
    Ok(solution)
}
