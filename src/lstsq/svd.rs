//! `Solver::Svd` in memory: the SVD of the centred design, minimum norm, rank from the design's
//! own singular values (LAPACK's `gelsd` rule). Tall data take the SVD of the streamed QR's `R`
//! instead (`streamed_qr`).

use faer::Mat;
use faer::linalg::solvers::Svd;

use super::double_double as dd;
use super::host::HostData;
use super::solution::{Solution, max_rank, numerical_rank, scaled_min_eig};
use crate::{Error, Result};

/// Minimum-norm solution through the SVD `Z = U S V^T` (rank revealing).
pub(crate) fn svd_solve(host: &HostData, intercept: bool, rcond: Option<f64>) -> Result<Solution> {
    let (x_mean, y_mean) = host.means(intercept);
    let z = host.design(&x_mean, &vec![1.0; host.m]);
    let svd = Svd::new_thin(z.as_ref())
        .map_err(|e| Error::Numerical(format!("SVD did not converge: {e:?}")))?;
    drop(z);
    let (u, s, v) = (svd.U(), svd.S().column_vector(), svd.V());
    let sv: Vec<f64> = (0..s.nrows()).map(|i| s[i]).collect();
    let rank = numerical_rank(
        &sv,
        rcond,
        (host.n, host.m),
        max_rank(host.n, host.m, intercept),
    );
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
