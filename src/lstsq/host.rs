//! [`HostData`]: the data read back to the host once, for the in-memory QR and SVD solvers,
//! brought into a safe range by an exact power-of-two [`Scaling`].

use faer::Mat;

use super::double_double::{Dd, column_means};
use super::solution::Solution;
use crate::data::Dataset;
use crate::device::read_f64;
use crate::float::{exact_shift, exponent, scale2};
use crate::{Error, Result};

/// Data whose largest magnitude lies in `[2^-SAFE, 2^SAFE]` are left as they are: their squares
/// and sums over any realistic number of rows stay far from overflow and underflow.
const SAFE: i32 = 100;

/// Feature columns whose magnitudes span up to `2^SPAN` can share one scaling: centred, each
/// column's largest value lies within `2^(SPAN/2)` of 1, representable with room below it for
/// the column's smaller values (every square the solvers form is taken on a column divided by
/// its own scale, or on residuals).
const SPAN: i32 = 1600;

/// The exact power-of-two scaling of the data a solver saw: `x' = 2^x x` (one exponent for all
/// features, so that minimum-norm solutions keep their meaning) and `y'_t = 2^y[t] y_t`. Zero
/// exponents (data in a safe range) leave every number as it was.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scaling {
    pub x: i32,
    pub y: Vec<i32>,
}

impl Scaling {
    /// No scaling, for `k` targets.
    pub(crate) fn identity(k: usize) -> Self {
        Self {
            x: 0,
            y: vec![0; k],
        }
    }

    /// The one exponent for every feature column (`largest[j]` the largest magnitude of column
    /// `j`): 0 when every non-zero column is in the safe range, else the one that centres the
    /// columns' magnitudes on 1, so that a column of 1e200 and one of 1e-200 both stay far from
    /// overflow and underflow.
    ///
    /// # Errors
    /// [`Error::OutOfRange`] when the columns' magnitudes span more than any single exponent
    /// can keep representable (about 1e570).
    pub(crate) fn exponent_for_columns(largest: &[f64]) -> Result<i32> {
        let exponents: Vec<i32> = largest
            .iter()
            .filter(|a| **a > 0.0 && a.is_finite())
            .map(|a| exponent(*a))
            .collect();
        let (Some(&low), Some(&high)) = (exponents.iter().min(), exponents.iter().max()) else {
            return Ok(0);
        };
        if low >= -SAFE && high <= SAFE {
            return Ok(0);
        }
        if high - low > SPAN {
            return Err(Error::OutOfRange {
                what: "the magnitudes of the feature columns".into(),
                value: format!("from 2^{low} to 2^{high}"),
                rule: format!(
                    "they span more than 2^{SPAN}: no common scaling keeps every column's squares \
                     representable; rescale the columns"
                ),
            });
        }
        Ok(-(low + high) / 2)
    }

    /// Weights `[m][k]` of the scaled data in the data's units: `w' 2^(ex - ey_t)`.
    pub(crate) fn weights_to_data(&self, w: &[Vec<f64>]) -> Vec<Vec<f64>> {
        w.iter()
            .map(|row| {
                row.iter()
                    .zip(&self.y)
                    .map(|(w, ey)| scale2(*w, self.x - ey))
                    .collect()
            })
            .collect()
    }

    /// One value per target in the data's units, `v_t 2^(-power ey_t)` (power 1: intercepts
    /// and means of the targets; 2: sums of squares).
    pub(crate) fn targets_to_data(&self, v: &[f64], power: i32) -> Vec<f64> {
        v.iter()
            .zip(&self.y)
            .map(|(v, ey)| scale2(*v, -power * ey))
            .collect()
    }

    /// [`targets_to_data`](Self::targets_to_data)'s inverse: `v_t 2^(power ey_t)`.
    pub(crate) fn targets_to_solver(&self, v: &[f64], power: i32) -> Vec<f64> {
        v.iter()
            .zip(&self.y)
            .map(|(v, ey)| scale2(*v, power * ey))
            .collect()
    }

    /// Values of the features' units in the data's units, `v 2^(-power ex)` (power 1: means,
    /// singular values; 2: Gram entries).
    pub(crate) fn features_to_data(&self, v: &[f64], power: i32) -> Vec<f64> {
        v.iter().map(|v| scale2(*v, -power * self.x)).collect()
    }

    /// [`features_to_data`](Self::features_to_data)'s inverse: `v 2^(power ex)`.
    pub(crate) fn features_to_solver(&self, v: &[f64], power: i32) -> Vec<f64> {
        v.iter().map(|v| scale2(*v, power * self.x)).collect()
    }

    /// The exponent that brings a largest magnitude `a` near 1, or 0 when `a` is already safe.
    pub(crate) fn exponent_for(a: f64) -> i32 {
        if a == 0.0 || !a.is_finite() || (-SAFE..=SAFE).contains(&exponent(a)) {
            0
        } else {
            -exponent(a)
        }
    }
}

/// The data on the host: row-major features `[n][m]` and targets `[n][k]`, scaled by
/// [`HostData::scaling`].
pub(crate) struct HostData {
    pub n: usize,
    pub m: usize,
    pub k: usize,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub scaling: Scaling,
    /// The exact shift subtracted from each feature and target column (see
    /// [`with_exact_shifts`](Self::with_exact_shifts)); empty when none was.
    shift: (Vec<f64>, Vec<f64>),
}

impl HostData {
    pub(crate) fn read(data: &Dataset) -> Result<Self> {
        let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
        let mut x = read_f64(data.features())?;
        let mut y = read_f64(data.targets())?;
        let mut largest_x = vec![0.0f64; m];
        for row in x.chunks_exact(m) {
            for (a, v) in largest_x.iter_mut().zip(row) {
                *a = a.max(v.abs());
            }
        }
        let mut largest_y = vec![0.0f64; k];
        for row in y.chunks_exact(k) {
            for (a, v) in largest_y.iter_mut().zip(row) {
                *a = a.max(v.abs());
            }
        }
        let scaling = Scaling {
            x: Scaling::exponent_for_columns(&largest_x)?,
            y: largest_y.into_iter().map(Scaling::exponent_for).collect(),
        };
        if scaling.x != 0 {
            x.iter_mut().for_each(|v| *v = scale2(*v, scaling.x));
        }
        for (t, &e) in scaling.y.iter().enumerate() {
            if e != 0 {
                y.iter_mut()
                    .skip(t)
                    .step_by(k)
                    .for_each(|v| *v = scale2(*v, e));
            }
        }
        Ok(Self {
            n,
            m,
            k,
            x,
            y,
            scaling,
            shift: (Vec::new(), Vec::new()),
        })
    }

    /// For a fit with an intercept: each column that lies within a factor of two of its end
    /// nearest zero (years, timestamps, 1e12 + a fraction) shifted by that end, exactly
    /// ([`exact_shift`]), so that centring subtracts a mean of the column's spread, not of its
    /// offset (whose rounding, an ulp of 1e12, would cost `(ulp / sd)^2` of the slopes). The
    /// shifts change only the intercepts and means, which [`finish`](Self::finish) moves
    /// back.
    pub(super) fn with_exact_shifts(mut self) -> Self {
        let (cx, cy) = (
            exact_shifts(&self.x, self.m, 0..self.n),
            exact_shifts(&self.y, self.k, 0..self.n),
        );
        subtract_shifts(&mut self.x, &cx);
        subtract_shifts(&mut self.y, &cy);
        self.shift = (cx, cy);
        self
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

    /// Euclidean norms of the centred feature columns, in double-double, each column divided
    /// by a power of two near its largest centred magnitude first (exact), so that a column of
    /// 1e200 next to one of 1e-200 has neither its squares overflow nor underflow. Two
    /// row-major passes.
    pub(super) fn centred_norms(&self, x_mean: &[f64]) -> Vec<f64> {
        let mut largest = vec![0.0f64; self.m];
        for row in self.x.chunks_exact(self.m) {
            for ((a, &v), mean) in largest.iter_mut().zip(row).zip(x_mean) {
                *a = a.max((v - mean).abs());
            }
        }
        let shift: Vec<i32> = largest
            .iter()
            .map(|&a| if a > 0.0 { -exponent(a) } else { 0 })
            .collect();
        let mut acc = vec![Dd::default(); self.m];
        for row in self.x.chunks_exact(self.m) {
            for (((a, &v), mean), &e) in acc.iter_mut().zip(row).zip(x_mean).zip(&shift) {
                let c = scale2(v - mean, e);
                *a = a.add_prod(c, c);
            }
        }
        acc.iter()
            .zip(&shift)
            .map(|(a, &e)| scale2(a.value().sqrt(), -e))
            .collect()
    }

    /// The common end of the host solvers: the solution's sums of squares, computed here
    /// exactly, and the scaling it is expressed in.
    pub(super) fn finish(&self, mut solution: Solution) -> Solution {
        solution.sums_of_squares = Some(self.sums_of_squares(
            &solution.weights,
            solution.intercepts.as_deref(),
            &solution.y_mean,
        ));
        solution.scaling = self.scaling.clone();
        self.unshift(solution)
    }

    /// The solution of the shifted data as one of the data: the same slopes, the means plus
    /// the shifts, and `b = b_s + c_y - c_x w` (in double-double).
    fn unshift(&self, mut solution: Solution) -> Solution {
        let (cx, cy) = &self.shift;
        unshift(&mut solution, cx, cy);
        solution
    }

    /// Residual and total sums of squares per target of `y = b + x w` (`weights[j][t]`), about
    /// `y_mean` (centred) with an intercept and about 0 without, in double-double, in the
    /// scaled units of the data.
    pub(super) fn sums_of_squares(
        &self,
        weights: &[Vec<f64>],
        intercepts: Option<&[f64]>,
        y_mean: &[f64],
    ) -> (Vec<f64>, Vec<f64>) {
        let (mut sse, mut sst) = (vec![Dd::default(); self.k], vec![Dd::default(); self.k]);
        for i in 0..self.n {
            for t in 0..self.k {
                let b = intercepts.map_or(0.0, |b| b[t]);
                let pred = (0..self.m).fold(Dd::new(b), |acc, j| {
                    acc.add_prod(self.x(i, j), weights[j][t])
                });
                let (hi, lo) = pred.parts();
                let r = Dd::new(self.y(i, t)).add(-hi).add(-lo).value();
                sse[t] = sse[t].add_prod(r, r);
                let d = self.y(i, t) - y_mean[t];
                sst[t] = sst[t].add_prod(d, d);
            }
        }
        (
            sse.iter().map(|a| a.value()).collect(),
            sst.iter().map(|a| a.value()).collect(),
        )
    }
}

/// Per column of `values` (row-major, `width` wide), over the rows `rows`: its exact shift
/// ([`exact_shift`]: its end nearest zero when all its values lie within a factor of two of
/// it, else 0).
pub(super) fn exact_shifts(
    values: &[f64],
    width: usize,
    rows: impl Iterator<Item = usize> + Clone,
) -> Vec<f64> {
    (0..width)
        .map(|j| {
            let (low, high) = rows
                .clone()
                .map(|i| values[i * width + j])
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
                    (l.min(v), h.max(v))
                });
            exact_shift(low, high)
        })
        .collect()
}

/// `values - c` per column (exact where `c` comes from [`exact_shifts`]).
pub(super) fn subtract_shifts(values: &mut [f64], c: &[f64]) {
    if c.iter().any(|&c| c != 0.0) {
        for row in values.chunks_exact_mut(c.len()) {
            row.iter_mut().zip(c).for_each(|(v, c)| *v -= c);
        }
    }
}

/// The solution of data shifted by `cx` (features) and `cy` (targets) as one of the data: the
/// same slopes, the means plus the shifts, and `b = b_s + c_y - c_x w` (in double-double).
pub(super) fn unshift(solution: &mut Solution, cx: &[f64], cy: &[f64]) {
    if cx.iter().chain(cy).all(|&c| c == 0.0) {
        return;
    }
    solution
        .x_mean
        .iter_mut()
        .zip(cx)
        .for_each(|(v, c)| *v += c);
    solution
        .y_mean
        .iter_mut()
        .zip(cy)
        .for_each(|(v, c)| *v += c);
    if let Some(b) = &mut solution.intercepts {
        for (t, b) in b.iter_mut().enumerate() {
            let moved = cx
                .iter()
                .zip(&solution.weights)
                .fold(Dd::new(*b).add(cy[t]), |acc, (c, w)| acc.add_prod(-c, w[t]));
            *b = moved.value();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_moves_values_between_the_units_exactly() {
        let s = Scaling {
            x: 3,
            y: vec![-2, 5],
        };
        // w = w' 2^(ex - ey): weights [m = 1][k = 2].
        assert_eq!(s.weights_to_data(&[vec![1.0, 1.0]]), vec![vec![32.0, 0.25]]);
        assert_eq!(s.targets_to_data(&[1.0, 1.0], 1), vec![4.0, 2f64.powi(-5)]);
        assert_eq!(
            s.targets_to_data(&[1.0, 1.0], 2),
            vec![16.0, 2f64.powi(-10)]
        );
        assert_eq!(s.features_to_data(&[8.0], 1), vec![1.0]);
        assert_eq!(s.features_to_data(&[64.0], 2), vec![1.0]);
        let v = [0.1, 3.7];
        assert_eq!(s.targets_to_solver(&s.targets_to_data(&v, 2), 2), v);
        assert_eq!(s.features_to_solver(&s.features_to_data(&v, 1), 1), v);
    }
}
