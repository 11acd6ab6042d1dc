//! [`HostData`]: the data read back to the host once, for the in-memory QR and SVD solvers.

use faer::Mat;

use super::double_double::{Dd, column_means};
use crate::Result;
use crate::data::Dataset;
use crate::device::read_f64;

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

    pub(super) fn x(&self, i: usize, j: usize) -> f64 {
        self.x[i * self.m + j]
    }

    pub(super) fn y(&self, i: usize, t: usize) -> f64 {
        self.y[i * self.k + t]
    }

    /// Column means of the features and targets (double-double sums) with an intercept, zeros
    /// without: the centre of the design the solvers see.
    pub(super) fn means(&self, intercept: bool) -> (Vec<f64>, Vec<f64>) {
        if intercept {
            (column_means(&self.x, self.m), column_means(&self.y, self.k))
        } else {
            (vec![0.0; self.m], vec![0.0; self.k])
        }
    }

    /// The design the solver sees, column-major: `(x - mean) / scale`, transposed in blocks of
    /// rows so that both the row-major source and the column-major copy are read sequentially.
    pub(super) fn design(&self, x_mean: &[f64], scale: &[f64]) -> Mat<f64> {
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
    pub(super) fn centred_norms(&self, x_mean: &[f64]) -> Vec<f64> {
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
